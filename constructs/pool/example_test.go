package pool_test

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/constructs/function"
	"github.com/lambdards/lambdards/constructs/network"
	"github.com/lambdards/lambdards/constructs/pool"
	"github.com/lambdards/lambdards/constructs/users"
	"github.com/lambdards/lambdards/dbspec"
)

// Example embeds lambdards's constructs in another CDK app: an isolated VPC, an Aurora
// Serverless v2 PostgreSQL cluster of up to 8 ACU, an RDS Proxy sized by the connection
// budget, a Go function built by package function and a Node.js function attached to the
// pool, sharing it 2:1.
func Example() {
	app := awscdk.NewApp(&awscdk.AppProps{
		// Skip compiling the handlers here; `cdk synth` would build them with go build.
		Context: &map[string]any{function.SkipBundlingContext: true},
		// And skip aws-cdk-lib's template validation, which costs this test 2-4 s. Keep
		// it on in an app you deploy.
		BuiltinCloudFormationValidation: jsii.Bool(false),
	})
	stack := awscdk.NewStack(app, jsii.String("Orders"), nil)

	// The Secrets Manager endpoint gives the master secret's rotation function, in the
	// isolated database subnets, its way to Secrets Manager.
	net := network.New(stack, jsii.String("Network"), &network.Props{
		InterfaceEndpoints: []awsec2.InterfaceVpcEndpointAwsService{awsec2.InterfaceVpcEndpointAwsService_SECRETS_MANAGER()},
	})
	db := database.NewServerless(stack, jsii.String("Database"), &database.ServerlessProps{
		Props: database.Props{
			Vpc: net.Vpc, VpcSubnets: net.DatabaseSubnets, SecretsManagerEndpoint: net.Endpoints["secretsmanager"],
		},
		MaxCapacity: 8,
	})
	// The provisioner gives every function a database user of its own at deploy.
	provisioner := users.New(stack, jsii.String("Users"), &users.Props{
		Database: db, Vpc: net.Vpc, VpcSubnets: net.FunctionSubnets, SecretsManagerEndpoint: net.Endpoints["secretsmanager"],
	})
	pl := pool.New(stack, jsii.String("Pool"), &pool.Props{Database: db, Vpc: net.Vpc, ClientSubnets: net.FunctionSubnets, Users: provisioner})
	function.New(stack, jsii.String("Api"), &function.Props{Pool: pl, Entry: "../../functions/items",
		AttachOptions: pool.AttachOptions{Weight: 2, Access: dbspec.Write}})
	// A function of any runtime joins with Attach.
	search := awslambda.NewFunction(stack, jsii.String("Search"), &awslambda.FunctionProps{
		Runtime: awslambda.Runtime_NODEJS_22_X(), Handler: jsii.String("index.handler"),
		Code: awslambda.Code_FromInline(jsii.String("exports.handler = async () => ({})")),
		Vpc:  net.Vpc, VpcSubnets: net.FunctionSubnets, Timeout: awscdk.Duration_Seconds(jsii.Number(20)),
	})
	pl.Attach(search, &pool.AttachOptions{Access: dbspec.Read})
	app.Synth(nil)

	budget, err := pl.Budget()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("max_connections %d, proxy %d%%\n", budget.MaxConnections, budget.ProxyMaxConnectionsPercent)
	for _, f := range budget.Functions {
		fmt.Printf("%s: reserved concurrency %d (limited by %s)\n", f.Name, f.ReservedConcurrency, f.LimitedBy)
	}
	// Output:
	// max_connections 1669, proxy 89%
	// Orders/Api: reserved concurrency 600 (limited by account concurrency)
	// Orders/Search: reserved concurrency 300 (limited by account concurrency)
}

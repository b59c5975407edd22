package pool_test

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/budget"
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

// ExampleNewQueueConsumer budgets the three other ways a function reaches the database: a
// function that reads from the cluster's reader (through the proxy's read-only endpoint),
// with two environments of provisioned concurrency, and a worker fed by a queue, whose
// event source mapping takes the worker's share as its MaximumConcurrency.
func ExampleNewQueueConsumer() {
	app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{function.SkipBundlingContext: true},
		BuiltinCloudFormationValidation: jsii.Bool(false)})
	stack := awscdk.NewStack(app, jsii.String("Orders"), nil)
	net := network.New(stack, jsii.String("Network"), &network.Props{
		InterfaceEndpoints: []awsec2.InterfaceVpcEndpointAwsService{awsec2.InterfaceVpcEndpointAwsService_SECRETS_MANAGER()},
	})
	endpoint := net.Endpoints["secretsmanager"]
	db := database.NewServerless(stack, jsii.String("Database"), &database.ServerlessProps{
		Props:       database.Props{Vpc: net.Vpc, VpcSubnets: net.DatabaseSubnets, SecretsManagerEndpoint: endpoint},
		MaxCapacity: 4, Reader: true,
	})
	provisioner := users.New(stack, jsii.String("Users"), &users.Props{Database: db, Vpc: net.Vpc, VpcSubnets: net.FunctionSubnets,
		SecretsManagerEndpoint: endpoint})
	pl := pool.New(stack, jsii.String("Pool"), &pool.Props{Database: db, Vpc: net.Vpc, ClientSubnets: net.FunctionSubnets, Users: provisioner})
	function.New(stack, jsii.String("Reports"), &function.Props{Pool: pl, Entry: "../../functions/items",
		AttachOptions: pool.AttachOptions{Reader: true, ProvisionedConcurrency: 2}})
	worker := function.New(stack, jsii.String("Worker"), &function.Props{Pool: pl, Entry: "../../functions/items",
		AttachOptions: pool.AttachOptions{Access: dbspec.Write}})
	pool.NewQueueConsumer(worker, jsii.String("Queue"), &pool.QueueConsumerProps{Member: worker.Member})
	app.Synth(nil)

	writer, _ := pl.Budget()
	reader, _ := pl.ReaderBudget()
	for _, r := range []*budget.Result{writer, reader} {
		for _, f := range r.Functions {
			fmt.Printf("%s: %d of %d connections, provisioned %d (%.2f USD a month), queue maximum concurrency %d\n",
				f.Name, f.Connections, r.Available, f.ProvisionedConcurrency, f.ProvisionedMonthlyUSD, f.QueueMaximumConcurrency)
		}
	}
	// Writer and reader have 724 connections each through the proxy; the account's 900
	// reservable concurrency, which both functions share, gives each 450.

	// Output:
	// Orders/Worker: 450 of 724 connections, provisioned 0 (0.00 USD a month), queue maximum concurrency 450
	// Orders/Reports: 450 of 724 connections, provisioned 2 (4.38 USD a month), queue maximum concurrency 0
}

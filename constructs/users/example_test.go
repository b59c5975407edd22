package users_test

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/constructs/function"
	"github.com/lambdards/lambdards/constructs/network"
	"github.com/lambdards/lambdards/constructs/pool"
	"github.com/lambdards/lambdards/constructs/users"
	"github.com/lambdards/lambdards/dbspec"
)

// Example gives a pool's functions database users of their own, created at deploy.
func Example() {
	app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{function.SkipBundlingContext: true}})
	stack := awscdk.NewStack(app, jsii.String("Orders"), nil)
	n := network.New(stack, jsii.String("Network"), &network.Props{
		InterfaceEndpoints: []awsec2.InterfaceVpcEndpointAwsService{awsec2.InterfaceVpcEndpointAwsService_SECRETS_MANAGER()},
	})
	endpoint := n.Endpoints["secretsmanager"]
	db := database.NewInstance(stack, jsii.String("Database"), &database.InstanceProps{
		Props: database.Props{Vpc: n.Vpc, VpcSubnets: n.DatabaseSubnets, SecretsManagerEndpoint: endpoint},
	})
	provisioner := users.New(stack, jsii.String("Users"), &users.Props{
		Database: db, Vpc: n.Vpc, VpcSubnets: n.FunctionSubnets, SecretsManagerEndpoint: endpoint,
	})
	pl := pool.New(stack, jsii.String("Pool"), &pool.Props{Database: db, Vpc: n.Vpc, ClientSubnets: n.FunctionSubnets, Users: provisioner})
	fn := function.New(stack, jsii.String("Reports"), &function.Props{
		Pool: pl, Entry: "../../functions/items", AttachOptions: pool.AttachOptions{Access: dbspec.Read, Tables: []string{"orders"}},
	})
	fmt.Println(fn.Member.DatabaseUser, *fn.Member.User.Node().Path())
	// Output:
	// reports Orders/Reports/DatabaseUser
}

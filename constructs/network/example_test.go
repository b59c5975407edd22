package network_test

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/network"
)

// Example builds an isolated VPC for a database and its functions, with a Secrets Manager
// endpoint for the master secret's rotation.
func Example() {
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Network"), nil)
	n := network.New(stack, jsii.String("Network"), &network.Props{
		InterfaceEndpoints: []awsec2.InterfaceVpcEndpointAwsService{awsec2.InterfaceVpcEndpointAwsService_SECRETS_MANAGER()},
	})
	fmt.Println(network.Tiers(n.Vpc))
	fmt.Println(*n.DatabaseSubnets.SubnetGroupName, *n.FunctionSubnets.SubnetGroupName, len(n.Endpoints))
	// Output:
	// 0 public, 0 private with egress and 4 isolated subnets
	// Database Functions 1
}

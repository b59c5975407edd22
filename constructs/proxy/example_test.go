package proxy_test

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/constructs/network"
	"github.com/lambdards/lambdards/constructs/proxy"
)

// Example puts an RDS Proxy in front of a database; a pool (package pool) does it with
// MaxConnectionsPercent from the connection budget.
func Example() {
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Data"), nil)
	n := network.New(stack, jsii.String("Network"), nil)
	db := database.NewInstance(stack, jsii.String("Database"), &database.InstanceProps{
		Props: database.Props{Vpc: n.Vpc, VpcSubnets: n.DatabaseSubnets, RotationDays: new(int)},
	})
	px := proxy.New(stack, jsii.String("Proxy"), &proxy.Props{Database: db, Vpc: n.Vpc, MaxConnectionsPercent: 82})
	fmt.Printf("%+v\n", px.Settings)
	// Output:
	// {MaxConnectionsPercent:82 MaxIdleConnectionsPercent:41 BorrowTimeoutSeconds:120 IdleClientTimeoutSeconds:1800}
}

// ExampleFromAttributes takes an RDS Proxy that exists already, with its own settings.
func ExampleFromAttributes() {
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Data"), nil)
	px := proxy.FromAttributes(stack, jsii.String("Proxy"), &proxy.Attributes{
		ProxyName: "orders", ProxyArn: "arn:aws:rds:us-east-1:123456789012:db-proxy:prx-0abc",
		Endpoint: "orders.proxy-abc.us-east-1.rds.amazonaws.com", Port: 5432, MaxConnectionsPercent: 60,
		SecurityGroups: []awsec2.ISecurityGroup{awsec2.SecurityGroup_FromSecurityGroupId(stack, jsii.String("Sg"), jsii.String("sg-1"), nil)},
	})
	fmt.Println(px.Imported, px.Settings.MaxConnectionsPercent, px.Settings.BorrowTimeoutSeconds, px.Port())
	// Output:
	// true 60 120 5432
}

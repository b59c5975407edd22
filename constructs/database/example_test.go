package database_test

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/constructs/network"
	"github.com/lambdards/lambdards/dbspec"
)

// ExampleNewServerless builds an Aurora Serverless v2 PostgreSQL cluster of up to 8 ACU;
// its max_connections, pinned in its parameter group, is what the connection budget
// shares.
func ExampleNewServerless() {
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Data"), nil)
	n := network.New(stack, jsii.String("Network"), nil)
	db := database.NewServerless(stack, jsii.String("Database"), &database.ServerlessProps{
		Props:       database.Props{Vpc: n.Vpc, VpcSubnets: n.DatabaseSubnets, RotationDays: new(int)},
		MaxCapacity: 8,
	})
	fmt.Println(db.Description())
	fmt.Println(db.MaxConnections(), db.ReservedConnections())
	// Output:
	// Aurora postgres 17.7 Serverless v2 0.5-8 ACU
	// 1669 8
}

// ExampleFromInstanceAttributes budgets an RDS instance that exists already.
func ExampleFromInstanceAttributes() {
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Data"), nil)
	db := database.FromInstanceAttributes(stack, jsii.String("Billing"), &database.InstanceAttributes{
		Attributes: database.Attributes{
			Engine: dbspec.Postgres, Identifier: "billing", Endpoint: "billing.example.us-east-1.rds.amazonaws.com",
			ResourceID: "db-ABC", DatabaseName: "billing",
			SecurityGroups: []awsec2.ISecurityGroup{awsec2.SecurityGroup_FromSecurityGroupId(stack, jsii.String("Sg"), jsii.String("sg-1"), nil)},
		},
		InstanceClass: "r6g.large",
	})
	fmt.Println(db.Description())
	// Output:
	// existing RDS postgres billing (max_connections 1594 derived from r6g.large: assumed, not pinned by lambdards)
}

package pool_test

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/constructs/network"
	"github.com/lambdards/lambdards/constructs/pool"
	"github.com/lambdards/lambdards/constructs/proxy"
	"github.com/lambdards/lambdards/internal/panictest"
)

func stack() (awscdk.Stack, *network.Network) {
	app := awscdk.NewApp(&awscdk.AppProps{BuiltinCloudFormationValidation: jsii.Bool(false)})
	s := awscdk.NewStack(app, jsii.String("Data"), nil)
	return s, network.New(s, jsii.String("Network"), nil)
}

var noRotation = 0

func TestAutoPauseWithProxy(t *testing.T) {
	s, n := stack()
	zero := 0.0
	db := database.NewServerless(s, jsii.String("Database"), &database.ServerlessProps{
		Props:       database.Props{Vpc: n.Vpc, VpcSubnets: n.DatabaseSubnets, RotationDays: &noRotation},
		MinCapacity: &zero,
	})
	panictest.Contains(t, func() { pool.New(s, jsii.String("Pool"), &pool.Props{Database: db, Vpc: n.Vpc}) },
		"Data/Pool: invalid pool: the database pauses when idle (MinCapacity 0 ACU), but an RDS Proxy keeps connections open",
		"set MinCapacity to 0.5 ACU or more, or set Mode direct or Mode dataapi to do without a proxy")
}

func TestIdleAboveMax(t *testing.T) {
	s, n := stack()
	db := database.NewInstance(s, jsii.String("Database"), &database.InstanceProps{
		Props: database.Props{Vpc: n.Vpc, VpcSubnets: n.DatabaseSubnets, RotationDays: &noRotation},
	})
	idle := 90
	panictest.Contains(t, func() {
		pool.New(s, jsii.String("Pool"), &pool.Props{Database: db, Vpc: n.Vpc, Proxy: &proxy.Props{MaxIdleConnectionsPercent: &idle}})
	}, "Data/Pool: invalid connection budget:", "proxy max idle connections percent 90 exceeds max connections percent 82",
		"set MaxIdleConnectionsPercent to at most 82")
}

// TestGrantConnectRefusesFunctions: a Lambda function given rds-db:connect without
// joining the pool would hold connections the budget does not count.
func TestGrantConnectRefusesFunctions(t *testing.T) {
	s, n := stack()
	db := database.NewInstance(s, jsii.String("Database"), &database.InstanceProps{
		Props: database.Props{Vpc: n.Vpc, VpcSubnets: n.DatabaseSubnets, RotationDays: &noRotation},
	})
	p := pool.New(s, jsii.String("Pool"), &pool.Props{Database: db, Vpc: n.Vpc})
	fn := awslambda.NewFunction(s, jsii.String("Outside"), &awslambda.FunctionProps{
		Runtime: awslambda.Runtime_NODEJS_22_X(),
		Handler: jsii.String("index.handler"),
		Code:    awslambda.Code_FromInline(jsii.String("exports.handler = async () => {}")),
	})
	panictest.Contains(t, func() { p.GrantConnect(fn, "app") },
		"Data/Pool: GrantConnect: Data/Outside is a Lambda function, whose connections the budget must count",
		"attach it with Attach")
	// A role that is not a function's may connect: its connections come out of the headroom.
	role := awsiam.NewRole(s, jsii.String("Admin"), &awsiam.RoleProps{AssumedBy: awsiam.NewAccountRootPrincipal()})
	p.GrantConnect(role, "admin")
}

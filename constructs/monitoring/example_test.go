package monitoring_test

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/constructs/function"
	"github.com/lambdards/lambdards/constructs/monitoring"
	"github.com/lambdards/lambdards/constructs/network"
	"github.com/lambdards/lambdards/constructs/pool"
)

// Example watches a pool once its functions have joined it: alarms whose thresholds are
// the budget's figures, notifying a KMS-encrypted topic, and a dashboard of the budget.
func Example() {
	app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{function.SkipBundlingContext: true}})
	stack := awscdk.NewStack(app, jsii.String("Orders"), nil)
	n := network.New(stack, jsii.String("Network"), nil)
	db := database.NewInstance(stack, jsii.String("Database"), &database.InstanceProps{
		Props: database.Props{Vpc: n.Vpc, VpcSubnets: n.DatabaseSubnets, RotationDays: new(int)},
	})
	pl := pool.New(stack, jsii.String("Pool"), &pool.Props{Database: db, Vpc: n.Vpc, ClientSubnets: n.FunctionSubnets})
	function.New(stack, jsii.String("Api"), &function.Props{
		Pool: pl, Entry: "../../functions/items", AttachOptions: pool.AttachOptions{DatabaseUser: "api"},
	})
	m := monitoring.New(stack, jsii.String("Monitoring"), &monitoring.Props{Pool: pl})
	t := m.Thresholds
	fmt.Printf("%d alarms; database connections above %d (available %d + %d), the function near its cap at %d of %d\n",
		len(m.Alarms), t.DatabaseConnections, m.Budget.Available, t.HalfHeadroom,
		t.Functions[0].NearConcurrency, t.Functions[0].ReservedConcurrency)
	// Output:
	// 7 alarms; database connections above 63 (available 59 + 4), the function near its cap at 54 of 59
}

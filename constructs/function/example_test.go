package function_test

import (
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/constructs/function"
	"github.com/lambdards/lambdards/constructs/network"
	"github.com/lambdards/lambdards/constructs/pool"
)

// Example builds a Go function on a pool: compiled locally for arm64, in the pool's
// subnets and client security group, told where to connect, and capped by the budget.
func Example() {
	app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{function.SkipBundlingContext: true}})
	stack := awscdk.NewStack(app, jsii.String("Orders"), nil)
	n := network.New(stack, jsii.String("Network"), nil)
	db := database.NewInstance(stack, jsii.String("Database"), &database.InstanceProps{
		Props: database.Props{Vpc: n.Vpc, VpcSubnets: n.DatabaseSubnets, RotationDays: new(int)},
	})
	pl := pool.New(stack, jsii.String("Pool"), &pool.Props{Database: db, Vpc: n.Vpc, ClientSubnets: n.FunctionSubnets})
	fn := function.New(stack, jsii.String("Api"), &function.Props{
		Pool: pl, Entry: "../../functions/items", AttachOptions: pool.AttachOptions{DatabaseUser: "api"},
	})
	fmt.Println(fn.Member.Name, fn.Member.DatabaseUser)
	fmt.Println(slices.Sorted(maps.Keys(fn.Member.Environment)))
	// Output:
	// Orders/Api api
	// [LAMBDARDS_DB_AUTH LAMBDARDS_DB_ENGINE LAMBDARDS_DB_HOST LAMBDARDS_DB_MAX_CONNS LAMBDARDS_DB_NAME LAMBDARDS_DB_PORT LAMBDARDS_DB_TLS LAMBDARDS_DB_USER]
}

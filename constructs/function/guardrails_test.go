package function_test

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/constructs/function"
	"github.com/lambdards/lambdards/constructs/network"
	"github.com/lambdards/lambdards/constructs/pool"
	"github.com/lambdards/lambdards/functions/dbenv"
	"github.com/lambdards/lambdards/internal/panictest"
)

// TestEnvironmentGuardrails checks that a function's environment cannot redirect or
// weaken its database connection, which the construct derives from the pool.
func TestEnvironmentGuardrails(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{dbenv.TLS: "disable"}, `Environment LAMBDARDS_DB_TLS = "disable": the function signs in with an IAM authentication token, ` +
			"a bearer credential valid for 15 minutes that must only travel over TLS; remove it (the pool sets LAMBDARDS_DB_TLS)"},
		{map[string]string{dbenv.Host: "db.example.com"}, "Environment LAMBDARDS_DB_HOST: set by the pool, " +
			"so that the function connects where and as its grant allows; remove it (set DatabaseUser for the user)"},
	}
	for _, tt := range tests {
		app := awscdk.NewApp(&awscdk.AppProps{
			BuiltinCloudFormationValidation: jsii.Bool(false),
			Context:                         &map[string]any{function.SkipBundlingContext: true},
		})
		data := awscdk.NewStack(app, jsii.String("Data"), nil)
		n := network.New(data, jsii.String("Network"), nil)
		rotation := 0
		db := database.NewInstance(data, jsii.String("Database"), &database.InstanceProps{
			Props: database.Props{Vpc: n.Vpc, VpcSubnets: n.DatabaseSubnets, RotationDays: &rotation},
		})
		p := pool.New(data, jsii.String("Pool"), &pool.Props{Database: db, Vpc: n.Vpc})
		fns := awscdk.NewStack(app, jsii.String("Functions"), nil)
		panictest.Contains(t, func() {
			function.New(fns, jsii.String("items"), &function.Props{Pool: p, Entry: t.TempDir(), Environment: tt.env})
		}, "Functions/items: invalid function:", tt.want)
	}
}

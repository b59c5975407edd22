package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/constructs/function"
	"github.com/lambdards/lambdards/constructs/pool"
	"github.com/lambdards/lambdards/runner"
)

// scenario names a mistake a team could make, run through runner.Main in a child process
// (TestMain), as the team's program would run it.
const scenario = "EMBED_SCENARIO"

// scenarios are the mistakes: each changes the team's app after Build.
var scenarios = map[string]func(app awscdk.App, t *Team){
	// Another pool's fixed reservation takes the account's reservable concurrency.
	"overreserve": func(app awscdk.App, t *Team) {
		fn := awslambda.NewFunction(t.Functions, jsii.String("Batch"), &awslambda.FunctionProps{
			Runtime: awslambda.Runtime_NODEJS_22_X(), Handler: jsii.String("index.handler"),
			Code: awslambda.Code_FromInline(jsii.String("exports.handler = async () => ({})")), Vpc: t.Vpc,
			Timeout: awscdk.Duration_Seconds(jsii.Number(30)),
		})
		t.Billing.Attach(fn, &pool.AttachOptions{DatabaseUser: "batch", ReservedConcurrency: 890})
	},
	// A Serverless v2 capacity that Aurora does not take.
	"badprop": func(app awscdk.App, t *Team) {
		database.NewServerless(t.Data, jsii.String("Analytics"), &database.ServerlessProps{
			Props: database.Props{Vpc: t.Vpc, RotationDays: new(int)}, MaxCapacity: 0.3,
		})
	},
	// A function given rds-db:connect without joining the pool.
	"grantonly": func(app awscdk.App, t *Team) {
		fn := awslambda.NewFunction(t.Functions, jsii.String("Sneaky"), &awslambda.FunctionProps{
			Runtime: awslambda.Runtime_NODEJS_22_X(), Handler: jsii.String("index.handler"),
			Code: awslambda.Code_FromInline(jsii.String("exports.handler = async () => ({})")), Vpc: t.Vpc,
		})
		t.Orders.GrantConnect(fn, "sneaky")
	},
}

func TestMain(m *testing.M) {
	if name := os.Getenv(scenario); name != "" {
		runner.Main(&runner.Options{AppProps: appProps()}, func(app awscdk.App) error {
			t, err := Build(app)
			if err == nil {
				scenarios[name](app, t)
			}
			return err
		})
		os.Exit(0)
	}
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}

// appProps skips compiling the Go handler and aws-cdk-lib's template validation: both
// cost seconds and prove nothing here.
func appProps() *awscdk.AppProps {
	return &awscdk.AppProps{
		Context:                         &map[string]any{function.SkipBundlingContext: true},
		BuiltinCloudFormationValidation: jsii.Bool(false),
	}
}

// TestReservedConcurrency builds the team's app and checks every function's reserved
// concurrency against the budget's arithmetic.
func TestReservedConcurrency(t *testing.T) {
	app := awscdk.NewApp(appProps())
	team, err := Build(app)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := assertions.Template_FromStack(team.Functions, nil)
	got := map[string]float64{}
	for id, r := range *tmpl.FindResources(jsii.String("AWS::Lambda::Function"), nil) {
		props := (*r)["Properties"].(map[string]any)
		got[id[:strings.IndexAny(id[1:], "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")+1]] = props["ReservedConcurrentExecutions"].(float64)
	}
	// Orders: Aurora PostgreSQL at 8 ACU, max_connections 1669, 8 reserved, headroom 167:
	// 1494 usable, proxy 89 % = 1485. Billing: 400 given, 5 reserved, headroom 40: 355
	// usable, proxy 88 % = 352, of which Invoices holds its fixed 20.
	// The account: 1000 - 100 unreserved - 20 fixed = 880, shared by weight over Orders
	// (2), Search (1) and Reports (1): 440, 220, 220, each below its connection share
	// (Orders 1485*2/4 = 742, Search 371, Reports 371/2 = 185 by connections).
	want := map[string]float64{"Orders": 440, "Search": 220, "Reports": 185, "Invoices": 20}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("reserved concurrency = %v, want %v", got, want)
	}
	accounts := pool.Accounts(app)
	if len(accounts) != 1 || len(accounts[0].Pools) != 2 {
		t.Fatalf("Accounts = %d, want one account with both pools", len(accounts))
	}
	if a := accounts[0]; a.TotalReservedConcurrency != 865 || a.UnreservedConcurrency != 135 {
		t.Errorf("account reserves %d, leaves %d; want 865, 135", a.TotalReservedConcurrency, a.UnreservedConcurrency)
	}
}

// TestFunctionsAreL2 passes the Go function where aws-cdk-lib takes an IGrantable and an
// IConnectable, as a team would.
func TestFunctionsAreL2(t *testing.T) {
	app := awscdk.NewApp(appProps())
	team, err := Build(app)
	if err != nil {
		t.Fatal(err)
	}
	role := awsiam.NewRole(team.Functions, jsii.String("Reader"), &awsiam.RoleProps{AssumedBy: awsiam.NewAccountRootPrincipal()})
	role.GrantAssumeRole(team.Go.GrantPrincipal())
	team.Go.Connections().AllowToAnyIpv4(awscdkPort(443), jsii.String("HTTPS out"))
	team.Orders.Connections().AllowDefaultPortFrom(team.Go, jsii.String("same as the client group"))
	app.Synth(nil)
}

// TestMistakes runs each scenario as the team's program and checks its message: the
// construct path, the figures, the fix, no stack trace, exit status 1.
func TestMistakes(t *testing.T) {
	tests := []struct {
		scenario string
		want     []string
	}{
		{"overreserve", []string{"account concurrency, shared by the pools Data/OrdersPool, Data/BillingPool:",
			"total reserved concurrency", "exceeds the 900 the account may reserve",
			`pool Data/BillingPool (existing RDS postgres billing (max_connections 400 given: assumed, not pinned by lambdards)) reserves 910 (fixed: "Functions/Invoices" 20, "Functions/Batch" 890)`,
			"lower a ReservedConcurrency or raise AccountConcurrency"}},
		{"badprop", []string{"Data/Analytics: invalid database:", "MaxCapacity 0.3 is out of range"}},
		{"grantonly", []string{"Data/OrdersPool: GrantConnect: Functions/Sneaky is a Lambda function, whose connections the budget must count",
			"attach it with Attach"}},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), scenario+"="+tt.scenario, "CDK_OUTDIR="+t.TempDir())
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("%s: exit %v, want status 1\n%s", tt.scenario, err, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("%s: output does not contain %q:\n%s", tt.scenario, w, out)
				}
			}
			for _, trace := range []string{"goroutine ", "panic(", "    at ", ".go:"} {
				if strings.Contains(string(out), trace) {
					t.Errorf("%s: output holds a stack trace (%q):\n%s", tt.scenario, trace, out)
				}
			}
		})
	}
}

func awscdkPort(n float64) awsec2.Port { return awsec2.Port_Tcp(jsii.Number(n)) }

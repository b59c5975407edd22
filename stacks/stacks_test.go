package stacks

import (
	"path/filepath"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/function"
	"github.com/lambdards/lambdards/internal/cdktest"
)

// build synthesizes the app for the given context and returns both templates.
func build(t *testing.T, ctx mapContext) (*App, assertions.Template, assertions.Template) {
	t.Helper()
	cfg, err := Configure(ctx)
	if err != nil {
		t.Fatalf("Configure(%v) = %v", ctx, err)
	}
	cfg.Root = cdktest.Root()
	a := New(cdktest.NewApp(nil), cfg)
	return a, assertions.Template_FromStack(a.Data, nil), assertions.Template_FromStack(a.Functions, nil)
}

// TestCapacityDrivesTheBudget is the connection budget's contract: one context value (the
// instance class or the maximum ACU) moves max_connections in the parameter group, the
// proxy's MaxConnectionsPercent and every function's reserved concurrency.
func TestCapacityDrivesTheBudget(t *testing.T) {
	fns := `{"api":{"entry":"functions/items","weight":3},"jobs":{"entry":"functions/items"}}`
	for _, tc := range []struct {
		name     string
		ctx      mapContext
		maxConns string
		percent  float64
		api      float64
		jobs     float64
	}{
		// DBInstanceClassMemory estimated at 90 % of 1 GiB - 256 MiB, / 9531392 = 73; 5
		// reserved; headroom 8: 60 usable, 82 % = 59; 3:1.
		{"t4g.micro", mapContext{"instanceClass": "t4g.micro"}, "73", 82, 44, 14},
		// 90 % of 8 GiB - 256 MiB, / 9531392 = 782; headroom 79: 698 usable, 89 % = 695; 3:1.
		{"t4g.large", mapContext{"instanceClass": "t4g.large"}, "782", 89, 521, 173},
		// Aurora PostgreSQL 4 ACU = 823; 8 reserved; headroom 83: 732 usable, 88 % = 724.
		{"4 ACU", mapContext{"database": "serverless", "maxAcu": "4"}, "823", 88, 543, 181},
		// 8 ACU = 1669; 8 reserved; headroom 167: 1494, 89 % = 1485: the account's 900 bind.
		{"8 ACU", mapContext{"database": "serverless", "maxAcu": "8"}, "1669", 89, 675, 225},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.ctx["functions"] = fns
			_, data, functions := build(t, tc.ctx)
			data.HasResourceProperties(jsii.String("AWS::RDS::DBParameterGroup"), &map[string]any{
				"Parameters": assertions.Match_ObjectLike(&map[string]any{"max_connections": tc.maxConns}),
			})
			data.HasResourceProperties(jsii.String("AWS::RDS::DBProxyTargetGroup"), &map[string]any{
				"ConnectionPoolConfigurationInfo": assertions.Match_ObjectLike(&map[string]any{"MaxConnectionsPercent": tc.percent}),
			})
			got := map[string]float64{}
			for id, fn := range cdktest.Resources(functions, "AWS::Lambda::Function") {
				got[id[:3]] = cdktest.Props(fn)["ReservedConcurrentExecutions"].(float64)
			}
			if got["api"] != tc.api || got["job"] != tc.jobs {
				t.Errorf("reserved concurrency = api %v, jobs %v; want %v, %v", got["api"], got["job"], tc.api, tc.jobs)
			}
		})
	}
}

// TestENIsCountSecurityGroups gives one function a security group of its own: it costs a
// Hyperplane ENI in each function subnet.
func TestENIsCountSecurityGroups(t *testing.T) {
	cfg, err := Configure(mapContext{"functions": `{"a":{"entry":"functions/items"},"b":{"entry":"functions/items"}}`})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Root = cdktest.Root()
	a := New(cdktest.NewApp(nil), cfg) // not synthesized: a function joins below
	if got := a.ENIs(); got.Count != 4 || got.SecurityGroups != 2 || got.Functions != 3 {
		t.Fatalf("ENIs() = %+v, want 4 ENIs of 2 security groups for 3 functions", got)
	}
	own := awsec2.NewSecurityGroup(a.Functions, jsii.String("Own"), &awsec2.SecurityGroupProps{Vpc: a.Network.Vpc})
	a.Handlers = append(a.Handlers, function.New(a.Functions, jsii.String("c"), &function.Props{
		Pool: a.Pool, Entry: filepath.Join(cdktest.Root(), "functions", "items"), SecurityGroup: own,
	}))
	if got, want := a.ENIs(), (ENIs{Count: 6, Subnets: 2, SecurityGroups: 3, Functions: 4}); got != want {
		t.Errorf("ENIs() = %+v, want %+v", got, want)
	}
}

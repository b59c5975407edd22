package pool_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/constructs/function"
	"github.com/lambdards/lambdards/constructs/network"
	"github.com/lambdards/lambdards/constructs/pool"
	"github.com/lambdards/lambdards/functions/dbenv"
	"github.com/lambdards/lambdards/internal/cdktest"
	"github.com/lambdards/lambdards/internal/fixture"
	"github.com/lambdards/lambdards/internal/panictest"
)

// nodeFunction is a team's Node.js function in scope, in vpc's function subnets unless vpc
// is nil.
func nodeFunction(scope awscdk.Stack, id string, n *network.Network, timeout float64) awslambda.Function {
	props := &awslambda.FunctionProps{
		Runtime: awslambda.Runtime_NODEJS_22_X(),
		Handler: jsii.String("index.handler"),
		Code:    awslambda.Code_FromInline(jsii.String("exports.handler = async () => ({})")),
		Timeout: awscdk.Duration_Seconds(jsii.Number(timeout)),
	}
	if n != nil {
		props.Vpc, props.VpcSubnets = n.Vpc, n.FunctionSubnets
	}
	return awslambda.NewFunction(scope, jsii.String(id), props)
}

// TestAttach puts a Node.js function from another stack under the pool beside a Go
// function, and checks everything Attach gives it.
func TestAttach(t *testing.T) {
	f := fixture.NewProvisioned(nil)
	team := awscdk.NewStack(f.App, jsii.String("Team"), nil)
	node := nodeFunction(team, "Api", f.Network, 20)
	m := f.Pool.Attach(node, &pool.AttachOptions{Weight: 2, Access: "write"})
	function.New(f.Functions, jsii.String("Jobs"), &function.Props{Pool: f.Pool, Entry: fixture.SampleEntry()})
	if m.Name != "Team/Api" || m.DatabaseUser != "api" {
		t.Errorf("Attach: Name %q, DatabaseUser %q; want Team/Api, api", m.Name, m.DatabaseUser)
	}
	res, err := f.Pool.Budget()
	if err != nil {
		t.Fatalf("Budget() error = %v", err)
	}
	// 59 proxy connections, weights 2 and 1: 39 and 19.
	got := map[string]int{}
	for _, a := range res.Functions {
		got[a.Name] = a.ReservedConcurrency
	}
	if want := map[string]int{"Team/Api": 39, "Functions/Jobs": 19}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("budget = %v, want %v", got, want)
	}
	tmpl := assertions.Template_FromStack(team, nil)
	fns := cdktest.Resources(tmpl, "AWS::Lambda::Function")
	if len(fns) != 1 {
		t.Fatalf("Team functions = %d, want 1", len(fns))
	}
	for _, fn := range fns {
		p := cdktest.Props(fn)
		if p["ReservedConcurrentExecutions"] != 39.0 {
			t.Errorf("ReservedConcurrentExecutions = %v, want 39", p["ReservedConcurrentExecutions"])
		}
		vars := p["Environment"].(map[string]any)["Variables"].(map[string]any)
		for k, want := range map[string]string{dbenv.Engine: "postgres", dbenv.User: "api", dbenv.Auth: "iam", dbenv.TLS: "verify-full", dbenv.MaxConns: "1"} {
			if vars[k] != want {
				t.Errorf("environment %s = %v, want %q", k, vars[k], want)
			}
		}
		sgs, _ := json.Marshal(p["VpcConfig"].(map[string]any)["SecurityGroupIds"])
		if n := strings.Count(string(sgs), "Fn::"); n != 2 || !strings.Contains(string(sgs), "PoolClientSecurityGroup") {
			t.Errorf("SecurityGroupIds = %s, want its own group and the pool's client group", sgs)
		}
		deps, _ := json.Marshal(fn["DependsOn"])
		if !strings.Contains(string(deps), "ApiLambdardsConnectPolicy") || !strings.Contains(string(deps), "ApiLambdardsDatabaseUser") {
			t.Errorf("DependsOn = %s, want its grant and its user", deps)
		}
	}
	// rds-db:connect for its own user, in a customer-managed policy on its role.
	tmpl.HasResourceProperties(jsii.String("AWS::IAM::ManagedPolicy"), &map[string]any{
		"PolicyDocument": map[string]any{"Statement": []any{map[string]any{
			"Action": "rds-db:connect", "Effect": "Allow",
			"Resource": map[string]any{"Fn::Join": []any{"", assertions.Match_ArrayWith(&[]any{":dbuser:"})}},
		}}},
		"Roles": []any{map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("ApiServiceRole"))}},
	})
	tmpl.HasResourceProperties(jsii.String("Custom::LambdardsDatabaseUser"), &map[string]any{
		"User": `{"name":"api","access":"write"}`,
	})
}

func TestAttachRefuses(t *testing.T) {
	tests := []struct {
		name   string
		attach func(f *fixture.Fixture, team awscdk.Stack)
		want   []string
	}{
		{"outside any VPC", func(f *fixture.Fixture, team awscdk.Stack) {
			f.Pool.Attach(nodeFunction(team, "Api", nil, 20), &pool.AttachOptions{DatabaseUser: "api"})
		}, []string{"Team/Api: cannot attach to pool Data/Pool", "is not in a VPC", "give it Vpc: the pool's Vpc"}},
		{"in another VPC", func(f *fixture.Fixture, team awscdk.Stack) {
			other := network.New(team, jsii.String("Other"), nil)
			f.Pool.Attach(nodeFunction(team, "Api", other, 20), &pool.AttachOptions{DatabaseUser: "api"})
		}, []string{"runs in 2 subnets that are not the pool's VPC's"}},
		{"its own reserved concurrency", func(f *fixture.Fixture, team awscdk.Stack) {
			fn := nodeFunction(team, "Api", f.Network, 20)
			fn.Node().DefaultChild().(awslambda.CfnFunction).SetReservedConcurrentExecutions(jsii.Number(5))
			f.Pool.Attach(fn, &pool.AttachOptions{DatabaseUser: "api"})
		}, []string{"sets ReservedConcurrentExecutions 5 itself", "give ReservedConcurrency 5"}},
		{"twice", func(f *fixture.Fixture, team awscdk.Stack) {
			fn := nodeFunction(team, "Api", f.Network, 20)
			f.Pool.Attach(fn, &pool.AttachOptions{DatabaseUser: "api"})
			f.Pool.Attach(fn, &pool.AttachOptions{DatabaseUser: "api2"})
		}, []string{"is attached to pool Data/Pool already"}},
		{"a bad option", func(f *fixture.Fixture, team awscdk.Stack) {
			f.Pool.Attach(nodeFunction(team, "Api", f.Network, 20), &pool.AttachOptions{Weight: -1})
		}, []string{"Team/Api: invalid function in pool Data/Pool", "DatabaseUser: required", "Weight -1: must be 1 or more"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fixture.New(nil, nil)
			team := awscdk.NewStack(f.App, jsii.String("Team"), nil)
			panictest.Contains(t, func() { tt.attach(f, team) }, tt.want...)
		})
	}
}

// TestAttachedTimeoutIsChecked: the function's own timeout, not a default, meets the
// proxy's borrow timeout.
func TestAttachedTimeoutIsChecked(t *testing.T) {
	f := fixture.New(nil, nil)
	team := awscdk.NewStack(f.App, jsii.String("Team"), nil)
	f.Pool.Attach(nodeFunction(team, "Api", f.Network, 5), &pool.AttachOptions{DatabaseUser: "api"})
	panictest.Contains(t, func() { f.App.Synth(nil) },
		`function "Team/Api": timeout 5s is not longer than the proxy borrow timeout 10s`)
}

// secondPool builds another database and pool in their own stack of app.
func secondPool(app awscdk.App, props *pool.Props) *pool.Pool {
	s := awscdk.NewStack(app, jsii.String("Data2"), nil)
	n := network.New(s, jsii.String("Network"), nil)
	rotation := 0
	db := database.NewInstance(s, jsii.String("Database"), &database.InstanceProps{
		Props: database.Props{Vpc: n.Vpc, VpcSubnets: n.DatabaseSubnets, RotationDays: &rotation}, InstanceClass: "r6g.large",
	})
	p := pool.Props{}
	if props != nil {
		p = *props
	}
	p.Database, p.Vpc, p.ClientSubnets = db, n.Vpc, n.FunctionSubnets
	return pool.New(s, jsii.String("Pool"), &p)
}

// TestLedgerSharesTheAccount: two pools of one app share the account's concurrency.
func TestLedgerSharesTheAccount(t *testing.T) {
	f := fixture.New(nil, nil)
	other := secondPool(f.App, nil)
	for _, pl := range []*pool.Pool{f.Pool, other} {
		for _, id := range []string{"A", "B"} {
			function.New(pl, jsii.String(id), &function.Props{Pool: pl, Entry: fixture.SampleEntry(),
				AttachOptions: pool.AttachOptions{DatabaseUser: strings.ToLower(id)}})
		}
	}
	accounts := pool.Accounts(f.App)
	if len(accounts) != 1 || len(accounts[0].Pools) != 2 {
		t.Fatalf("Accounts = %d accounts, want 1 with 2 pools", len(accounts))
	}
	// The r6g.large pool alone would take 900 over its two functions; together the four
	// share 900 by weight: 225 each, and the small pool's are limited by its 59 connections.
	a := accounts[0]
	if a.TotalReservedConcurrency > 900 || a.UnreservedConcurrency < 100 {
		t.Errorf("account reserves %d, leaves %d unreserved; want at most 900 and at least 100", a.TotalReservedConcurrency, a.UnreservedConcurrency)
	}
	res, _ := other.Budget()
	for _, fn := range res.Functions {
		if fn.ReservedConcurrency != 225 || fn.LimitedBy != "account concurrency" {
			t.Errorf("%s: reserved %d by %s, want 225 by account concurrency", fn.Name, fn.ReservedConcurrency, fn.LimitedBy)
		}
	}
	f.App.Synth(nil)
}

// TestLedgerRefusesOverReservation: fixed reservations of two pools, and one made outside
// lambdards, that leave fewer than 100 unreserved fail synth, naming each.
func TestLedgerRefusesOverReservation(t *testing.T) {
	f := fixture.New(nil, nil)
	other := secondPool(f.App, nil)
	function.New(f.Functions, jsii.String("A"), &function.Props{Pool: f.Pool, Entry: fixture.SampleEntry(),
		AttachOptions: pool.AttachOptions{DatabaseUser: "a", ReservedConcurrency: 50}})
	function.New(other, jsii.String("B"), &function.Props{Pool: other, Entry: fixture.SampleEntry(),
		AttachOptions: pool.AttachOptions{DatabaseUser: "b", ReservedConcurrency: 600}})
	legacy := nodeFunction(awscdk.NewStack(f.App, jsii.String("Legacy"), nil), "Old", nil, 20)
	legacy.Node().DefaultChild().(awslambda.CfnFunction).SetReservedConcurrentExecutions(jsii.Number(300))
	panictest.Contains(t, func() { f.App.Synth(nil) },
		"account concurrency (the app's environment-agnostic stacks; pools Data/Pool, Data2/Pool): total reserved concurrency 950 exceeds the 900",
		`pool Data/Pool (RDS postgres 17.7 t4g.micro) reserves 50 (fixed: "Functions/A" 50)`,
		`pool Data2/Pool (RDS postgres 17.7 r6g.large) reserves 600 (fixed: "Data2/Pool/B" 600)`,
		`"Legacy/Old" reserves 300 outside the budget`)
}

// TestAllowFromAnotherStack lets a team's security group in a stack that uses the pool
// into it, and the app synthesizes: the rules live in the team's stack, so there is no
// dependency cycle.
func TestAllowFromAnotherStack(t *testing.T) {
	f := fixture.New(nil, nil)
	team := awscdk.NewStack(f.App, jsii.String("Team"), nil)
	sg := awsec2.NewSecurityGroup(team, jsii.String("Tasks"), &awsec2.SecurityGroupProps{Vpc: f.Network.Vpc, AllowAllOutbound: jsii.Bool(false)})
	f.Pool.AllowFrom(sg, "from the team's tasks")
	// The team's stack uses the pool (as its functions would), so it depends on the Data stack.
	awscdk.NewCfnOutput(team, jsii.String("Host"), &awscdk.CfnOutputProps{Value: f.Pool.Host()})
	f.App.Synth(nil)
	tmpl := assertions.Template_FromStack(team, nil)
	tmpl.ResourceCountIs(jsii.String("AWS::EC2::SecurityGroupIngress"), jsii.Number(1))
	tmpl.ResourceCountIs(jsii.String("AWS::EC2::SecurityGroupEgress"), jsii.Number(1))
}

// TestPoolIsConnectable passes the pool itself where aws-cdk-lib takes an IConnectable.
func TestPoolIsConnectable(t *testing.T) {
	f := fixture.New(nil, nil)
	admin := awsec2.NewSecurityGroup(f.Data, jsii.String("Admin"), &awsec2.SecurityGroupProps{Vpc: f.Network.Vpc})
	admin.Connections().AllowTo(f.Pool, awsec2.Port_Tcp(jsii.Number(5432)), jsii.String("admin sessions"))
	tmpl := assertions.Template_FromStack(f.Data, nil)
	tmpl.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroupIngress"), &map[string]any{
		"Description":           "admin sessions",
		"GroupId":               map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("PoolProxySecurityGroup")), "GroupId"}},
		"SourceSecurityGroupId": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("Admin")), "GroupId"}},
	})
}

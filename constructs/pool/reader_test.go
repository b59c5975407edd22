package pool_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/constructs/function"
	"github.com/lambdards/lambdards/constructs/pool"
	"github.com/lambdards/lambdards/constructs/proxy"
	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/functions/dbenv"
	"github.com/lambdards/lambdards/internal/cdktest"
	"github.com/lambdards/lambdards/internal/fixture"
	"github.com/lambdards/lambdards/internal/panictest"
)

// withReader is a fixture of an Aurora PostgreSQL cluster (0.5-4 ACU) with a reader.
func withReader(props *pool.Props) *fixture.Fixture {
	return fixture.NewProvisionedServerless(props, &database.ServerlessProps{Reader: true})
}

// fn builds a Go function of the sample in f's Functions stack.
func fn(f *fixture.Fixture, id string, o pool.AttachOptions) *function.Function {
	return function.New(f.Functions, jsii.String(id), &function.Props{Pool: f.Pool, Entry: fixture.SampleEntry(), AttachOptions: o})
}

// resolved renders v, a value of stack's template, as JSON.
func resolved(t *testing.T, stack awscdk.Stack, v any) string {
	t.Helper()
	b, err := json.Marshal(stack.Resolve(v))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReaderThroughProxy checks a pool in front of a cluster with a reader: the proxy's
// read-only endpoint, two budgets (the writer's and the reader's, one MaxConnectionsPercent),
// reader functions sharing the reader's connections and the account's concurrency, their
// environment and grant, and the reader's outputs.
func TestReaderThroughProxy(t *testing.T) {
	f := withReader(nil)
	writers := []*function.Function{fn(f, "Api", pool.AttachOptions{}), fn(f, "Jobs", pool.AttachOptions{})}
	reports := fn(f, "Reports", pool.AttachOptions{Reader: true})
	team := awscdk.NewStack(f.App, jsii.String("Team"), nil)
	search := f.Pool.Attach(nodeFunction(team, "Search", f.Network, 20), &pool.AttachOptions{Reader: true, Weight: 3})

	// Equal weight and connections, other targets: other tokens.
	if writers[0].Member.ReservedConcurrency != writers[1].Member.ReservedConcurrency {
		t.Error("two writer functions of one class got different tokens, want one")
	}
	if writers[0].Member.ReservedConcurrency == reports.Member.ReservedConcurrency {
		t.Error("a reader function shares the token of a writer function of the same weight, want one per target")
	}
	w, err := f.Pool.Budget()
	if err != nil {
		t.Fatalf("Budget() = %v", err)
	}
	r, err := f.Pool.ReaderBudget()
	if err != nil || r == nil {
		t.Fatalf("ReaderBudget() = %v, %v", r, err)
	}
	// 823 max_connections on each, 8 reserved, 83 headroom: 88 % = 724 through the proxy.
	if w.MaxConnections != 823 || r.MaxConnections != 823 || r.ProxyMaxConnectionsPercent != 88 || r.Available != 724 ||
		w.Available != 724 || f.Pool.Proxy.Settings.MaxConnectionsPercent != 88 {
		t.Errorf("writer %d/%d, reader %d %d%%/%d, proxy %d%%; want 823/724 each at 88%%", w.MaxConnections, w.Available,
			r.MaxConnections, r.ProxyMaxConnectionsPercent, r.Available, f.Pool.Proxy.Settings.MaxConnectionsPercent)
	}
	got := map[string]int{}
	for _, a := range w.Functions {
		got["writer "+a.Name] = a.ReservedConcurrency
	}
	for _, a := range r.Functions {
		got["reader "+a.Name] = a.ReservedConcurrency
	}
	// Writer: 724 / 2 = 362 each. Reader: weights 1 and 3 of 724: 181 and 543. The
	// account's 900 are shared by weight over all four (weights 1, 1, 1, 3 of 6): 150,
	// 150, 150 and 450 bound them.
	want := map[string]int{"writer Functions/Api": 150, "writer Functions/Jobs": 150, "reader Functions/Reports": 150, "reader Team/Search": 450}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: reserved concurrency %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
	if search.Name != "Team/Search" || !search.Reader || !reports.Member.Reader {
		t.Errorf("members: %q reader %v, reports reader %v", search.Name, search.Reader, reports.Member.Reader)
	}

	data := assertions.Template_FromStack(f.Data, nil)
	data.HasResourceProperties(jsii.String("AWS::RDS::DBProxyEndpoint"), &map[string]any{"TargetRole": "READ_ONLY"})
	outputs := data.FindOutputs(jsii.String("*"), nil)
	for _, id := range []string{"MaxConnections", "ReservedConnections", "Headroom", "AvailableToFunctions"} {
		found := false
		for name := range *outputs {
			found = found || strings.HasPrefix(name, "PoolBudgetReader"+id)
		}
		if !found {
			t.Errorf("no output PoolBudgetReader%s", id)
		}
	}
	fns := assertions.Template_FromStack(f.Functions, nil)
	for id, res := range cdktest.Resources(fns, "AWS::Lambda::Function") {
		p := cdktest.Props(res)
		vars := p["Environment"].(map[string]any)["Variables"].(map[string]any)
		host, _ := json.Marshal(vars[dbenv.Host])
		switch {
		case strings.HasPrefix(id, "Reports"):
			if vars[dbenv.Target] != dbenv.TargetReader || !strings.Contains(string(host), "ReaderEndpoint") {
				t.Errorf("Reports: %s = %v, %s = %s; want reader and the proxy's read-only endpoint", dbenv.Target, vars[dbenv.Target], dbenv.Host, host)
			}
			if p["ReservedConcurrentExecutions"] != 150.0 {
				t.Errorf("Reports: ReservedConcurrentExecutions %v, want 150", p["ReservedConcurrentExecutions"])
			}
		case strings.HasPrefix(id, "Api"):
			if _, ok := vars[dbenv.Target]; ok || strings.Contains(string(host), "ReaderEndpoint") {
				t.Errorf("Api: environment %v, want the writer's proxy endpoint and no %s", vars, dbenv.Target)
			}
		}
	}
	// The reader function signs in through the proxy as its own user, with read access.
	fns.HasResourceProperties(jsii.String("Custom::LambdardsDatabaseUser"), &map[string]any{"User": `{"name":"reports"}`}) // access read, the default
	if arn := resolved(t, f.Functions, reports.Member.ConnectArn); !strings.Contains(arn, "dbuser:") || !strings.Contains(arn, "PoolProxy") {
		t.Errorf("ConnectArn = %s, want the proxy's dbuser resource", arn)
	}
}

// TestReaderDirect: without a proxy, reader functions connect to the cluster's reader
// endpoint, under the reader's budget of its usable connections.
func TestReaderDirect(t *testing.T) {
	f := withReader(&pool.Props{Mode: pool.ModeDirect})
	reports := fn(f, "Reports", pool.AttachOptions{Reader: true})
	if host := resolved(t, f.Data, f.Pool.ReaderHost()); !strings.Contains(host, "ReadEndpoint.Address") {
		t.Errorf("ReaderHost() = %s, want the cluster's reader endpoint", host)
	}
	r, err := f.Pool.ReaderBudget()
	// 823 - 8 - 83 = 732 usable, all of it available without a proxy.
	if err != nil || r.Proxy || r.Available != 732 || r.Functions[0].ReservedConcurrency != 732 {
		t.Fatalf("ReaderBudget() = %+v, %v; want 732 available and taken", r, err)
	}
	assertions.Template_FromStack(f.Data, nil).ResourceCountIs(jsii.String("AWS::RDS::DBProxyEndpoint"), jsii.Number(0))
	if arn := resolved(t, f.Functions, reports.Member.ConnectArn); !strings.Contains(arn, "DBClusterResourceId") {
		t.Errorf("ConnectArn = %s, want the cluster's resource ID, which covers its reader", arn)
	}
}

// TestReaderProblems checks what a reader function is refused for, at construction and
// in the budget.
func TestReaderProblems(t *testing.T) {
	t.Run("no reader", func(t *testing.T) {
		f := fixture.New(nil, nil)
		panictest.Contains(t, func() { fn(f, "Reports", pool.AttachOptions{DatabaseUser: "reports", Reader: true}) },
			"Functions/Reports: invalid function", "Reader: the function reads from the database's reader, but the database has none")
	})
	t.Run("writes", func(t *testing.T) {
		f := withReader(nil)
		panictest.Contains(t, func() { fn(f, "Reports", pool.AttachOptions{Reader: true, Access: dbspec.Write}) },
			"Access write with Reader: the reader refuses every write")
	})
	t.Run("reader's budget fails the pool's", func(t *testing.T) {
		f := withReader(nil)
		fn(f, "Reports", pool.AttachOptions{Reader: true, ReservedConcurrency: 800})
		_, err := f.Pool.Budget()
		if err == nil || !strings.Contains(err.Error(), `reader: fixed functions need 800 connections ("Functions/Reports"`) {
			t.Errorf("Budget() = %v, want the reader's problem, prefixed", err)
		}
		_, rerr := f.Pool.ReaderBudget()
		if rerr == nil || strings.HasPrefix(rerr.Error(), "reader: ") {
			t.Errorf("ReaderBudget() = %v, want the problem without prefix", rerr)
		}
		msg := panictest.Message(t, func() { f.App.Synth(nil) })
		if !strings.Contains(msg, "connection budget: reader: fixed functions need 800") {
			t.Errorf("Synth() = %q, want the reader's problem", msg)
		}
	})
}

// TestReaderOfExistingCluster budgets the reader of a cluster the team runs, whose
// max_connections is lower than its writer's: the proxy's one percentage is the lower of
// the two, so that it reaches into neither headroom.
func TestReaderOfExistingCluster(t *testing.T) {
	_, stack, vpc, sg := teamApp()
	db := database.FromClusterAttributes(stack, jsii.String("Orders"), &database.ClusterAttributes{
		Attributes: database.Attributes{Engine: dbspec.Postgres, Identifier: "orders", Endpoint: "orders.cluster-abc.us-east-1.rds.amazonaws.com",
			ResourceID: "cluster-ABC", SecurityGroups: []awsec2.ISecurityGroup{sg}, DatabaseName: "orders", MaxConnections: 1000},
		ReaderEndpoint: "orders.cluster-ro-abc.us-east-1.rds.amazonaws.com", ReaderMaxConnections: 100,
	})
	pl := pool.New(stack, jsii.String("Pool"), &pool.Props{Database: db, Vpc: vpc})
	pl.Attach(teamFunction(stack, "Search", vpc), &pool.AttachOptions{DatabaseUser: "search", Reader: true})
	w, err := pl.Budget()
	if err != nil {
		t.Fatal(err)
	}
	r, err := pl.ReaderBudget()
	if err != nil {
		t.Fatal(err)
	}
	// Writer alone: (1000 - 8 - 100) / 1000 = 89 %. Reader: (100 - 8 - 10) / 100 = 82 %.
	// Both take 82 %: 820 and 82 connections.
	if w.ProxyMaxConnectionsPercent != 82 || r.ProxyMaxConnectionsPercent != 82 || pl.Proxy.Settings.MaxConnectionsPercent != 82 ||
		w.Available != 820 || r.Available != 82 || r.Functions[0].ReservedConcurrency != 82 {
		t.Errorf("writer %d%% = %d, reader %d%% = %d (search %d), proxy %d%%; want 82%% of each: 820, 82",
			w.ProxyMaxConnectionsPercent, w.Available, r.ProxyMaxConnectionsPercent, r.Available, r.Functions[0].ReservedConcurrency,
			pl.Proxy.Settings.MaxConnectionsPercent)
	}
	if !strings.Contains(r.Database, "its reader (max_connections 100 given") {
		t.Errorf("reader budget database = %q", r.Database)
	}
}

// teamFunction is a Node.js function of the team's in its VPC's private subnets.
func teamFunction(stack awscdk.Stack, id string, vpc awsec2.IVpc) awslambda.Function {
	return awslambda.NewFunction(stack, jsii.String(id), &awslambda.FunctionProps{
		Runtime: awslambda.Runtime_NODEJS_22_X(), Handler: jsii.String("index.handler"),
		Code: awslambda.Code_FromInline(jsii.String("exports.handler = async () => ({})")), Vpc: vpc,
		Timeout: awscdk.Duration_Seconds(jsii.Number(20)),
	})
}

// TestExistingProxyWithoutReaderEndpoint refuses a reader function behind a proxy the team
// runs that has no read-only endpoint.
func TestExistingProxyWithoutReaderEndpoint(t *testing.T) {
	_, stack, vpc, sg := teamApp()
	db := database.FromClusterAttributes(stack, jsii.String("Orders"), &database.ClusterAttributes{
		Attributes: database.Attributes{Engine: dbspec.Postgres, Identifier: "orders", Endpoint: "orders.cluster-abc.us-east-1.rds.amazonaws.com",
			ResourceID: "cluster-ABC", SecurityGroups: []awsec2.ISecurityGroup{sg}, DatabaseName: "orders", MaxConnections: 1000},
		ReaderEndpoint: "orders.cluster-ro-abc.us-east-1.rds.amazonaws.com",
	})
	px := proxy.FromAttributes(stack, jsii.String("Proxy"), &proxy.Attributes{ProxyName: "orders", ProxyArn: "arn:aws:rds:us-east-1:1:db-proxy:prx-1",
		Endpoint: "orders.proxy-1.us-east-1.rds.amazonaws.com", Port: 5432, SecurityGroups: []awsec2.ISecurityGroup{sg}, MaxConnectionsPercent: 80})
	pl := pool.New(stack, jsii.String("Pool"), &pool.Props{Database: db, Vpc: vpc, ExistingProxy: px})
	panictest.Contains(t, func() {
		pl.Attach(teamFunction(stack, "Search", vpc), &pool.AttachOptions{DatabaseUser: "search", Reader: true})
	}, "Reader: the pool's existing proxy Team/Proxy has no read-only endpoint", "ReaderEndpoint attribute")
}

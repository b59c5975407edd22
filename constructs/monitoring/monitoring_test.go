package monitoring_test

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/budget"
	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/constructs/function"
	"github.com/lambdards/lambdards/constructs/monitoring"
	"github.com/lambdards/lambdards/constructs/pool"
	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/internal/cdktest"
	"github.com/lambdards/lambdards/internal/fixture"
	"github.com/lambdards/lambdards/internal/panictest"
)

func TestMain(m *testing.M) { os.Exit(cdktest.Run(m)) }

// alarms returns the template's alarms by their construct ID under Budget/Alarms.
func alarms(t *testing.T, tmpl assertions.Template) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	id := regexp.MustCompile(`^BudgetAlarms([A-Za-z]+[0-9]*?)[0-9A-F]{8}$`)
	for logical, r := range cdktest.Resources(tmpl, "AWS::CloudWatch::Alarm") {
		m := id.FindStringSubmatch(logical)
		if m == nil {
			t.Fatalf("alarm %s: not under Budget/Alarms", logical)
		}
		out[m[1]] = cdktest.Props(r)
	}
	return out
}

func ids(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// expressions returns an alarm's math expressions by ID.
func expressions(alarm map[string]any) map[string]string {
	out := map[string]string{}
	for _, q := range alarm["Metrics"].([]any) {
		q := q.(map[string]any)
		if e, ok := q["Expression"].(string); ok {
			out[q["Id"].(string)] = e
		}
	}
	return out
}

func threshold(t *testing.T, alarms map[string]map[string]any, id string, want float64, comparison string) {
	t.Helper()
	a, ok := alarms[id]
	if !ok {
		t.Errorf("no alarm %s", id)
		return
	}
	if a["Threshold"] != want || a["ComparisonOperator"] != comparison || a["TreatMissingData"] != "notBreaching" {
		t.Errorf("%s: %v %v, missing data %v; want %s %v, notBreaching", id, a["ComparisonOperator"], a["Threshold"],
			a["TreatMissingData"], comparison, want)
	}
	if a["EvaluationPeriods"] != a["DatapointsToAlarm"] || len(a["AlarmActions"].([]any)) != 1 || len(a["OKActions"].([]any)) != 1 {
		t.Errorf("%s: %v of %v periods, actions %v / %v; want every period, one alarm and one OK action", id,
			a["DatapointsToAlarm"], a["EvaluationPeriods"], a["AlarmActions"], a["OKActions"])
	}
}

// TestInstanceBehindProxy checks every alarm of a pool with a proxy in front of an RDS
// instance against the thresholds package budget computes.
func TestInstanceBehindProxy(t *testing.T) {
	f := fixture.New(nil, nil)
	function.New(f.Functions, jsii.String("Api"), &function.Props{Pool: f.Pool, Entry: fixture.SampleEntry(),
		AttachOptions: pool.AttachOptions{DatabaseUser: "api", Weight: 3}})
	function.New(f.Functions, jsii.String("Report"), &function.Props{Pool: f.Pool, Entry: fixture.SampleEntry(),
		AttachOptions: pool.AttachOptions{DatabaseUser: "report", ReservedConcurrency: 2}})
	stack := awscdk.NewStack(f.App, jsii.String("Monitoring"), nil)
	m := monitoring.New(stack, jsii.String("Budget"), &monitoring.Props{Pool: f.Pool})
	res, err := f.Pool.Budget()
	if err != nil {
		t.Fatal(err)
	}
	want := res.Thresholds(pool.DefaultBorrowTimeoutSeconds)
	tmpl := assertions.Template_FromStack(stack, nil)
	got := alarms(t, tmpl)
	if g, w := strings.Join(ids(got), " "), "BorrowLatency DatabaseConnections FunctionsNearCap1 FunctionsThrottled1 NewConnections ProxyClientConnections SessionPinning"; g != w {
		t.Errorf("alarms = %s, want %s", g, w)
	}
	threshold(t, got, "DatabaseConnections", float64(want.DatabaseConnections), "GreaterThanThreshold")
	threshold(t, got, "ProxyClientConnections", float64(want.ProxyClientConnections), "GreaterThanOrEqualToThreshold")
	threshold(t, got, "BorrowLatency", want.BorrowLatencyMicroseconds, "GreaterThanOrEqualToThreshold")
	threshold(t, got, "SessionPinning", float64(want.PinnedConnections), "GreaterThanOrEqualToThreshold")
	threshold(t, got, "NewConnections", want.NewConnectionsPerSecond, "GreaterThanOrEqualToThreshold")
	threshold(t, got, "FunctionsNearCap1", budget.NearPercent, "GreaterThanOrEqualToThreshold")
	threshold(t, got, "FunctionsThrottled1", 0, "GreaterThanThreshold")
	// A t4g.micro PostgreSQL: 59 available to the functions, headroom 8.
	if want.DatabaseConnections != 59+4 || want.BorrowLatencyMicroseconds != 5e6 || want.NewConnectionsPerSecond != 160 {
		t.Errorf("thresholds = %+v, want database connections 63, borrow latency 5 s, 160 new connections a second", want)
	}
	db := got["DatabaseConnections"]
	if db["MetricName"] != "DatabaseConnections" || db["Namespace"] != "AWS/RDS" || db["Statistic"] != "Maximum" || db["Period"] != float64(60) ||
		db["Dimensions"].([]any)[0].(map[string]any)["Name"] != "DBInstanceIdentifier" {
		t.Errorf("DatabaseConnections alarm = %v", db)
	}
	// Each function's concurrency is divided by its reserved concurrency from the budget.
	e := expressions(got["FunctionsNearCap1"])
	for i, a := range res.Functions {
		if w := fmt.Sprintf("100 * m%d / %d", i, a.ReservedConcurrency); e[fmt.Sprintf("e%d", i)] != w {
			t.Errorf("expression e%d = %q, want %q", i, e[fmt.Sprintf("e%d", i)], w)
		}
	}
	if e["highest"] != "MAX([e0, e1])" {
		t.Errorf("expression highest = %q, want MAX([e0, e1])", e["highest"])
	}
	if d := got["DatabaseConnections"]["AlarmDescription"].(string); !strings.Contains(d, "available to functions 59 + half the headroom ⌈8 ÷ 2⌉ = 4") ||
		!strings.Contains(d, "hold more than 4 of the 8 connections kept for admins") ||
		!strings.Contains(d, "raise Headroom or max_connections (a larger InstanceClass)") {
		t.Errorf("DatabaseConnections description = %q, want the figures and what to do", d)
	}
	// The topic: KMS-encrypted, TLS only, published to by this account's CloudWatch alarms.
	tmpl.HasResourceProperties(jsii.String("AWS::SNS::Topic"), &map[string]any{"KmsMasterKeyId": assertions.Match_AnyValue()})
	tmpl.HasResourceProperties(jsii.String("AWS::KMS::Key"), &map[string]any{"EnableKeyRotation": true})
	tmpl.HasResourceProperties(jsii.String("AWS::SNS::TopicPolicy"), &map[string]any{"PolicyDocument": map[string]any{
		"Statement": assertions.Match_ArrayWith(&[]any{
			assertions.Match_ObjectLike(&map[string]any{"Effect": "Deny", "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}}),
			assertions.Match_ObjectLike(&map[string]any{"Effect": "Allow", "Action": "sns:Publish",
				"Principal": map[string]any{"Service": "cloudwatch.amazonaws.com"}}),
		}),
	}})
	if m.Topic == nil || m.Dashboard == nil || len(m.Alarms) != 7 {
		t.Errorf("Monitoring = topic %v, dashboard %v, %d alarms; want a topic, a dashboard and 7 alarms", m.Topic, m.Dashboard, len(m.Alarms))
	}
	checkDashboard(t, tmpl, res, want)
}

// TestServerlessDirect checks a pool without a proxy in front of Aurora Serverless v2
// that pauses at 0 ACU: no proxy alarm, and one on the maximum capacity.
func TestServerlessDirect(t *testing.T) {
	zero := 0.0
	f := fixture.New(&pool.Props{Mode: pool.ModeDirect}, &database.ServerlessProps{MinCapacity: &zero, MaxCapacity: 8})
	function.New(f.Functions, jsii.String("Api"), &function.Props{Pool: f.Pool, Entry: fixture.SampleEntry(),
		AttachOptions: pool.AttachOptions{DatabaseUser: "api"}})
	stack := awscdk.NewStack(f.App, jsii.String("Monitoring"), nil)
	monitoring.New(stack, jsii.String("Budget"), &monitoring.Props{Pool: f.Pool, Names: strings.ToLower})
	res, _ := f.Pool.Budget()
	want := res.Thresholds(0)
	tmpl := assertions.Template_FromStack(stack, nil)
	got := alarms(t, tmpl)
	if g, w := strings.Join(ids(got), " "), "CapacityAtMaximum DatabaseConnections FunctionsNearCap1 FunctionsThrottled1"; g != w {
		t.Errorf("alarms = %s, want %s", g, w)
	}
	threshold(t, got, "DatabaseConnections", float64(want.DatabaseConnections), "GreaterThanThreshold")
	threshold(t, got, "CapacityAtMaximum", 8, "GreaterThanOrEqualToThreshold")
	acu := got["CapacityAtMaximum"]
	if acu["MetricName"] != "ServerlessDatabaseCapacity" || acu["Statistic"] != "Minimum" || acu["Period"] != float64(300) {
		t.Errorf("CapacityAtMaximum = %v %v %v, want ServerlessDatabaseCapacity Minimum 300", acu["MetricName"], acu["Statistic"], acu["Period"])
	}
	dims := got["DatabaseConnections"]["Dimensions"].([]any)
	if len(dims) != 2 || dims[1].(map[string]any)["Value"] != "WRITER" {
		t.Errorf("DatabaseConnections dimensions = %v, want the cluster and Role WRITER", dims)
	}
	// Names renders the settings a description names.
	if d := acu["AlarmDescription"].(string); !strings.Contains(d, "raise maxcapacity") || !strings.Contains(d, fmt.Sprint(res.MaxConnections)) {
		t.Errorf("CapacityAtMaximum description = %q, want max_connections and maxcapacity", d)
	}
	checkDashboard(t, tmpl, res, want)
}

// TestFunctionGroups checks that functions share alarms in groups that stay within
// CloudWatch's 10 metrics and 10 expressions per alarm.
func TestFunctionGroups(t *testing.T) {
	f := fixture.New(nil, &database.ServerlessProps{MaxCapacity: 16})
	var defs []function.Definition
	for i := range 10 {
		defs = append(defs, function.Definition{ID: fmt.Sprintf("F%02d", i), Props: &function.Props{Pool: f.Pool,
			Entry: fixture.SampleEntry(), AttachOptions: pool.AttachOptions{DatabaseUser: fmt.Sprintf("f%02d", i)}}})
	}
	function.NewGroup(f.Functions, defs)
	stack := awscdk.NewStack(f.App, jsii.String("Monitoring"), nil)
	topic := awssns.Topic_FromTopicArn(stack, jsii.String("Ops"), jsii.String("arn:aws:sns:us-east-1:123456789012:ops"))
	monitoring.New(stack, jsii.String("Budget"), &monitoring.Props{Pool: f.Pool, Topic: topic, Dashboard: jsii.Bool(false)})
	tmpl := assertions.Template_FromStack(stack, nil)
	tmpl.ResourceCountIs(jsii.String("AWS::SNS::Topic"), jsii.Number(0))
	tmpl.ResourceCountIs(jsii.String("AWS::CloudWatch::Dashboard"), jsii.Number(0))
	got := alarms(t, tmpl)
	for id, sizes := range map[string][2]int{"FunctionsNearCap1": {9, 10}, "FunctionsNearCap2": {1, 2}, "FunctionsThrottled1": {9, 1}, "FunctionsThrottled2": {1, 1}} {
		a, ok := got[id]
		if !ok {
			t.Errorf("no alarm %s", id)
			continue
		}
		var metrics, exprs int
		for _, q := range a["Metrics"].([]any) {
			if _, ok := q.(map[string]any)["MetricStat"]; ok {
				metrics++
			} else {
				exprs++
			}
		}
		if metrics != sizes[0] || exprs != sizes[1] {
			t.Errorf("%s: %d metrics, %d expressions; want %d and %d", id, metrics, exprs, sizes[0], sizes[1])
		}
		if a["AlarmActions"].([]any)[0] != "arn:aws:sns:us-east-1:123456789012:ops" {
			t.Errorf("%s notifies %v, want the given topic", id, a["AlarmActions"])
		}
	}
}

// checkDashboard checks the dashboard's horizontal annotations against the budget: every
// figure of the budget it draws, and each alarm's threshold.
func checkDashboard(t *testing.T, tmpl assertions.Template, res *budget.Result, want budget.Thresholds) {
	t.Helper()
	body := DashboardBody(t, tmpl)
	values := map[string]float64{}
	for _, w := range body.Widgets {
		for _, a := range w.Properties.Annotations.Horizontal {
			values[a.Label] = a.Value
		}
	}
	expect := map[string]float64{
		fmt.Sprintf("max_connections %d", res.MaxConnections):                         float64(res.MaxConnections),
		fmt.Sprintf("usable %d", res.Usable):                                          float64(res.Usable),
		fmt.Sprintf("alarm: more than %d", want.DatabaseConnections):                  float64(want.DatabaseConnections),
		fmt.Sprintf("reserved concurrency %d", want.Functions[0].ReservedConcurrency): float64(want.Functions[0].ReservedConcurrency),
	}
	if res.Proxy {
		expect[fmt.Sprintf("RDS Proxy's share %d (%d %%)", res.ProxyConnections, res.ProxyMaxConnectionsPercent)] = float64(res.ProxyConnections)
		expect[fmt.Sprintf("alarm: %d or more pinned", want.PinnedConnections)] = float64(want.PinnedConnections)
	}
	for label, v := range expect {
		if got, ok := values[label]; !ok || got != v {
			t.Errorf("dashboard annotation %q = %v (present %v), want %v; annotations: %v", label, got, ok, v, values)
		}
	}
}

// Dashboard is the part of a dashboard body the tests read.
type Dashboard struct {
	Widgets []struct {
		Type       string
		Properties struct {
			Title       string
			Annotations struct {
				Horizontal []struct {
					Label string
					Value float64
				}
			}
			YAxis struct {
				Left struct{ Max float64 }
			}
		}
	}
}

// DashboardBody returns the template's dashboard body, its tokens replaced by a placeholder.
func DashboardBody(t *testing.T, tmpl assertions.Template) Dashboard {
	t.Helper()
	var body Dashboard
	for _, r := range cdktest.Resources(tmpl, "AWS::CloudWatch::Dashboard") {
		var parts []string
		switch b := cdktest.Props(r)["DashboardBody"].(type) {
		case string:
			parts = []string{b}
		case map[string]any:
			for _, p := range b["Fn::Join"].([]any)[1].([]any) {
				if s, ok := p.(string); ok {
					parts = append(parts, s)
				} else {
					parts = append(parts, "token")
				}
			}
		}
		if err := json.Unmarshal([]byte(strings.Join(parts, "")), &body); err != nil {
			t.Fatalf("dashboard body: %v", err)
		}
		return body
	}
	t.Fatal("no dashboard")
	return body
}

func TestInvalidProps(t *testing.T) {
	f := fixture.New(nil, nil)
	stack := awscdk.NewStack(f.App, jsii.String("Monitoring"), nil)
	panictest.Contains(t, func() { monitoring.New(stack, jsii.String("None"), nil) }, "Monitoring/None: invalid monitoring:", "Pool: required")
	topic := awssns.Topic_FromTopicArn(stack, jsii.String("Ops"), jsii.String("arn:aws:sns:us-east-1:123456789012:ops"))
	panictest.Contains(t, func() {
		monitoring.New(stack, jsii.String("Off"), &monitoring.Props{Pool: f.Pool, Alarms: jsii.Bool(false), Dashboard: jsii.Bool(false), Topic: topic})
	}, "Alarms and Dashboard are both false", "Topic: set, but Alarms is false")
}

// TestFunctionAfterMonitoring: the alarms are sized from the budget when they are built,
// so a function that joins later fails synth.
func TestFunctionAfterMonitoring(t *testing.T) {
	f := fixture.New(nil, nil)
	function.New(f.Functions, jsii.String("Api"), &function.Props{Pool: f.Pool, Entry: fixture.SampleEntry(),
		AttachOptions: pool.AttachOptions{DatabaseUser: "api"}})
	stack := awscdk.NewStack(f.App, jsii.String("Monitoring"), nil)
	monitoring.New(stack, jsii.String("Budget"), &monitoring.Props{Pool: f.Pool})
	function.New(f.Functions, jsii.String("Late"), &function.Props{Pool: f.Pool, Entry: fixture.SampleEntry(),
		AttachOptions: pool.AttachOptions{DatabaseUser: "late"}})
	panictest.Contains(t, func() { f.App.Synth(nil) },
		"Monitoring/Budget", "sized from the budget of pool Data/Pool with 1 function, but 2 have joined it; build the monitoring after every function")
}

// TestDataAPI: a pool whose functions use the RDS Data API has no proxy and no
// connection of the functions' own; the budget counts their statements in flight as
// connections, and the database's alarm and the functions' still apply.
func TestDataAPI(t *testing.T) {
	f := fixture.NewDataAPI()
	function.New(f.Functions, jsii.String("Jobs"), &function.Props{Pool: f.Pool, Entry: fixture.SampleEntry()})
	stack := awscdk.NewStack(f.App, jsii.String("Monitoring"), nil)
	monitoring.New(stack, jsii.String("Budget"), &monitoring.Props{Pool: f.Pool})
	res, _ := f.Pool.Budget()
	want := res.Thresholds(0)
	tmpl := assertions.Template_FromStack(stack, nil)
	got := alarms(t, tmpl)
	if g, w := strings.Join(ids(got), " "), "CapacityAtMaximum DatabaseConnections FunctionsNearCap1 FunctionsThrottled1"; g != w {
		t.Errorf("alarms = %s, want %s", g, w)
	}
	threshold(t, got, "DatabaseConnections", float64(want.DatabaseConnections), "GreaterThanThreshold")
	checkDashboard(t, tmpl, res, want)
}

// TestExistingCluster watches a team's existing Aurora Serverless v2 cluster by its
// identifier: its writer's connections, and its capacity when the pool knows its range.
func TestExistingCluster(t *testing.T) {
	app := cdktest.NewApp(nil)
	team := awscdk.NewStack(app, jsii.String("Team"), nil)
	vpc := awsec2.NewVpc(team, jsii.String("Vpc"), nil)
	sg := awsec2.NewSecurityGroup(team, jsii.String("Db"), &awsec2.SecurityGroupProps{Vpc: vpc})
	db := database.FromClusterAttributes(team, jsii.String("Orders"), &database.ClusterAttributes{
		Attributes: database.Attributes{Engine: dbspec.Postgres, Identifier: "orders", Endpoint: "orders.cluster-x.us-east-1.rds.amazonaws.com",
			ResourceID: "cluster-ABC", SecurityGroups: []awsec2.ISecurityGroup{sg}, DatabaseName: "orders"},
		MaxCapacity: 8,
	})
	pl := pool.New(team, jsii.String("Pool"), &pool.Props{Database: db, Vpc: vpc, Mode: pool.ModeDirect})
	fn := awslambda.NewFunction(team, jsii.String("Api"), &awslambda.FunctionProps{
		Runtime: awslambda.Runtime_NODEJS_22_X(), Handler: jsii.String("index.handler"),
		Code: awslambda.Code_FromInline(jsii.String("exports.handler = async () => ({})")), Vpc: vpc,
	})
	pl.Attach(fn, &pool.AttachOptions{DatabaseUser: "api"})
	stack := awscdk.NewStack(app, jsii.String("Monitoring"), nil)
	monitoring.New(stack, jsii.String("Budget"), &monitoring.Props{Pool: pl})
	res, _ := pl.Budget()
	want := res.Thresholds(0)
	got := alarms(t, assertions.Template_FromStack(stack, nil))
	if g, w := strings.Join(ids(got), " "), "CapacityAtMaximum DatabaseConnections FunctionsNearCap1 FunctionsThrottled1"; g != w {
		t.Errorf("alarms = %s, want %s", g, w)
	}
	threshold(t, got, "DatabaseConnections", float64(want.DatabaseConnections), "GreaterThanThreshold")
	threshold(t, got, "CapacityAtMaximum", 8, "GreaterThanOrEqualToThreshold")
	dims, _ := json.Marshal(got["DatabaseConnections"]["Dimensions"])
	if string(dims) != `[{"Name":"DBClusterIdentifier","Value":"orders"},{"Name":"Role","Value":"WRITER"}]` {
		t.Errorf("DatabaseConnections dimensions = %s, want the cluster orders and Role WRITER", dims)
	}
}

package pool_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/constructs/function"
	"github.com/lambdards/lambdards/constructs/pool"
	"github.com/lambdards/lambdards/constructs/proxy"
	"github.com/lambdards/lambdards/internal/cdktest"
	"github.com/lambdards/lambdards/internal/fixture"
	"github.com/lambdards/lambdards/internal/panictest"
)

// rule is one security-group rule, with groups named by the construct that owns them.
type rule struct{ dir, group, peer, port string }

func (r rule) String() string { return fmt.Sprintf("%s %s %s %s", r.group, r.dir, r.peer, r.port) }

// groupName maps a security group's logical ID to a short name.
func groupName(logicalID string) string {
	for _, n := range []string{"ClientSecurityGroup", "ProxySecurityGroup", "DatabaseSecurityGroup", "DatabaseRotationSecurityGroup", "SecretsmanagerEndpointSecurityGroup"} {
		if strings.Contains(logicalID, n) {
			return strings.TrimSuffix(n, "SecurityGroup")
		}
	}
	return logicalID
}

// ref names the security group a GroupId or peer value points at, or a CIDR.
func ref(v any) string {
	switch x := v.(type) {
	case string:
		return "cidr:" + x
	case map[string]any:
		if ga, ok := x["Fn::GetAtt"].([]any); ok {
			return groupName(ga[0].(string))
		}
		if r, ok := x["Ref"].(string); ok {
			return groupName(r)
		}
	}
	return fmt.Sprint(v)
}

func port(r map[string]any) string {
	from, to := r["FromPort"], r["ToPort"]
	if ga, ok := from.(map[string]any); ok && fmt.Sprint(ga) == fmt.Sprint(to) {
		return "db-port" // Fn::GetAtt Endpoint.Port of the database
	}
	if fmt.Sprint(from) == fmt.Sprint(to) && (fmt.Sprint(from) == "5432" || fmt.Sprint(from) == "3306") {
		return "db-port"
	}
	return fmt.Sprintf("%v-%v/%v", from, to, r["IpProtocol"])
}

// rules lists every security-group rule in the template: standalone resources and the
// rules written inline in security groups (less CDK's deny-all egress placeholder).
func rules(t *testing.T, tmpl assertions.Template) []string {
	t.Helper()
	var out []string
	for _, r := range cdktest.Resources(tmpl, "AWS::EC2::SecurityGroupIngress") {
		p := cdktest.Props(r)
		peer := ref(p["SourceSecurityGroupId"])
		if p["CidrIp"] != nil {
			peer = ref(p["CidrIp"])
		}
		out = append(out, rule{"ingress-from", ref(p["GroupId"]), peer, port(p)}.String())
	}
	for _, r := range cdktest.Resources(tmpl, "AWS::EC2::SecurityGroupEgress") {
		p := cdktest.Props(r)
		peer := ref(p["DestinationSecurityGroupId"])
		if p["CidrIp"] != nil {
			peer = ref(p["CidrIp"])
		}
		out = append(out, rule{"egress-to", ref(p["GroupId"]), peer, port(p)}.String())
	}
	for id, sg := range cdktest.Resources(tmpl, "AWS::EC2::SecurityGroup") {
		p := cdktest.Props(sg)
		for _, in := range asList(p["SecurityGroupIngress"]) {
			out = append(out, rule{"ingress-from", groupName(id), ref(firstOf(in, "SourceSecurityGroupId", "CidrIp")), port(in)}.String())
		}
		for _, e := range asList(p["SecurityGroupEgress"]) {
			if e["CidrIp"] == "255.255.255.255/32" && e["IpProtocol"] == "icmp" {
				continue // matches no traffic: CDK's way to write "no egress"
			}
			out = append(out, rule{"egress-to", groupName(id), ref(firstOf(e, "DestinationSecurityGroupId", "CidrIp")), port(e)}.String())
		}
	}
	sort.Strings(out)
	return out
}

func asList(v any) []map[string]any {
	var out []map[string]any
	l, _ := v.([]any)
	for _, e := range l {
		out = append(out, e.(map[string]any))
	}
	return out
}

func firstOf(m map[string]any, keys ...string) any {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			return v
		}
	}
	return nil
}

// rotation are the rules of the master secret's rotation function: into the database, and
// into the Secrets Manager endpoint, which admits no one else.
var rotation = []string{
	"Database ingress-from DatabaseRotation db-port",
	"DatabaseRotation egress-to Database db-port",
	"DatabaseRotation egress-to SecretsmanagerEndpoint 443-443/tcp",
	"SecretsmanagerEndpoint ingress-from DatabaseRotation 443-443/tcp",
}

func TestSecurityGroupRules(t *testing.T) {
	for _, tc := range []struct {
		name   string
		direct bool
		want   []string
	}{
		{"proxy", false, append(rotation,
			"Client egress-to Proxy db-port",
			"Database ingress-from Proxy db-port",
			"Proxy egress-to Database db-port",
			"Proxy ingress-from Client db-port",
		)},
		{"direct", true, append(rotation,
			"Client egress-to Database db-port",
			"Database ingress-from Client db-port",
		)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mode := pool.ModeProxy
			if tc.direct {
				mode = pool.ModeDirect
			}
			f := fixture.New(&pool.Props{Mode: mode}, nil)
			function.New(f.Functions, jsii.String("Items"), &function.Props{Pool: f.Pool, Entry: fixture.SampleEntry(), AttachOptions: pool.AttachOptions{DatabaseUser: "items"}})
			got := rules(t, assertions.Template_FromStack(f.Data, nil))
			sort.Strings(tc.want)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("security-group rules:\n%s\nwant exactly:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			// The functions' stack adds no rule of its own: one shared group, set up once.
			if fr := rules(t, assertions.Template_FromStack(f.Functions, nil)); len(fr) != 0 {
				t.Errorf("functions stack rules = %v, want none", fr)
			}
		})
	}
}

func TestProxy(t *testing.T) {
	f := fixture.New(nil, nil)
	tmpl := assertions.Template_FromStack(f.Data, nil)
	tmpl.HasResourceProperties(jsii.String("AWS::RDS::DBProxy"), &map[string]any{
		"DefaultAuthScheme": "IAM_AUTH",
		"RequireTLS":        true,
		"EngineFamily":      "POSTGRESQL",
		"IdleClientTimeout": 1800,
		"DebugLogging":      false,
	})
	// The budget of an RDS PostgreSQL t4g.micro: max_connections 73, 5 reserved,
	// headroom max(5, ceil(7.3)) = 8, usable 60: floor(100*60/73) = 82 %.
	tmpl.HasResourceProperties(jsii.String("AWS::RDS::DBProxyTargetGroup"), &map[string]any{
		"ConnectionPoolConfigurationInfo": map[string]any{
			"MaxConnectionsPercent":     82,
			"MaxIdleConnectionsPercent": 41,
			"ConnectionBorrowTimeout":   pool.DefaultBorrowTimeoutSeconds,
		},
	})
	// End-to-end IAM: the proxy role may connect to this database, and holds no secret.
	tmpl.HasResourceProperties(jsii.String("AWS::IAM::ManagedPolicy"), &map[string]any{
		"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{map[string]any{
			"Action": "rds-db:connect", "Effect": "Allow",
			"Resource": map[string]any{"Fn::Join": []any{"", assertions.Match_ArrayWith(&[]any{
				map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("DatabaseInstance")), "DbiResourceId"}},
				"/*",
			})}},
		}})},
	})
	if f.Pool.Proxy.Settings.MaxConnectionsPercent != 82 {
		t.Errorf("Proxy.Settings.MaxConnectionsPercent = %d, want 82", f.Pool.Proxy.Settings.MaxConnectionsPercent)
	}
}

func TestBudgetSetsReservedConcurrency(t *testing.T) {
	f := fixture.New(nil, nil)
	function.New(f.Functions, jsii.String("Reader"), &function.Props{Pool: f.Pool, Entry: fixture.SampleEntry(), AttachOptions: pool.AttachOptions{DatabaseUser: "reader", Weight: 3}})
	function.New(f.Functions, jsii.String("Writer"), &function.Props{Pool: f.Pool, Entry: fixture.SampleEntry(), AttachOptions: pool.AttachOptions{DatabaseUser: "writer"}})
	function.New(f.Functions, jsii.String("Cron"), &function.Props{Pool: f.Pool, Entry: fixture.SampleEntry(), AttachOptions: pool.AttachOptions{DatabaseUser: "cron", ReservedConcurrency: 2}})
	tmpl := assertions.Template_FromStack(f.Functions, nil)
	// 82 % of 73 = 59 proxy connections; Cron takes 2; 57 left, weights 3:1 → 42 and 14 (1 spare).
	want := map[string]float64{"Reader": 42, "Writer": 14, "Cron": 2}
	got := map[string]float64{}
	for id, fn := range cdktest.Resources(tmpl, "AWS::Lambda::Function") {
		for name := range want {
			if strings.HasPrefix(id, name) {
				got[name] = cdktest.Props(fn)["ReservedConcurrentExecutions"].(float64)
			}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ReservedConcurrentExecutions = %v, want %v", got, want)
	}
	res, err := f.Pool.Budget()
	if err != nil || res.Spare != 1 || res.TotalConnections != 58 {
		t.Errorf("Budget() = spare %d, total %d, %v; want 1, 58, nil", res.Spare, res.TotalConnections, err)
	}
}

// TestEqualFunctionsShareOneToken checks the wiring's cost: weighted functions with equal
// weight and connections per environment get one shared token (one round trip to node
// for all of them), a fixed function its number, and synth resolves each to the budget's.
func TestEqualFunctionsShareOneToken(t *testing.T) {
	f := fixture.New(nil, nil)
	var fns []*function.Function
	for _, id := range []string{"A", "B", "C"} {
		fns = append(fns, function.New(f.Functions, jsii.String(id), &function.Props{Pool: f.Pool, Entry: fixture.SampleEntry(),
			AttachOptions: pool.AttachOptions{DatabaseUser: strings.ToLower(id)}}))
	}
	heavy := function.New(f.Functions, jsii.String("Heavy"), &function.Props{Pool: f.Pool, Entry: fixture.SampleEntry(),
		AttachOptions: pool.AttachOptions{DatabaseUser: "heavy", Weight: 2}})
	fixed := function.New(f.Functions, jsii.String("Fixed"), &function.Props{Pool: f.Pool, Entry: fixture.SampleEntry(),
		AttachOptions: pool.AttachOptions{DatabaseUser: "fixed", ReservedConcurrency: 3}})
	if fns[0].Member.ReservedConcurrency != fns[1].Member.ReservedConcurrency || fns[1].Member.ReservedConcurrency != fns[2].Member.ReservedConcurrency {
		t.Errorf("equal functions got different reserved concurrency tokens, want one shared")
	}
	if heavy.Member.ReservedConcurrency == fns[0].Member.ReservedConcurrency {
		t.Errorf("a function of weight 2 shares the token of weight 1")
	}
	if r := fixed.Member.ReservedConcurrency; *awscdk.Token_IsUnresolved(r) || *r != 3 {
		t.Errorf("fixed function's reserved concurrency = %v, want the number 3", *r)
	}
	// 59 proxy connections; Fixed takes 3; 56 left over weights 1+1+1+2: 11, 11, 11, 22.
	want := map[string]float64{"A": 11, "B": 11, "C": 11, "Heavy": 22, "Fixed": 3}
	got := map[string]float64{}
	tmpl := assertions.Template_FromStack(f.Functions, nil)
	for id, fn := range cdktest.Resources(tmpl, "AWS::Lambda::Function") {
		for name := range want {
			if strings.HasPrefix(id, name+"Function") {
				got[name] = cdktest.Props(fn)["ReservedConcurrentExecutions"].(float64)
			}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ReservedConcurrentExecutions = %v, want %v", got, want)
	}
}

// TestJoiningAfterSynthIsRefused: the budget is final once synth has computed it, so a
// function that joins later would hold a number the budget never counted.
func TestJoiningAfterSynthIsRefused(t *testing.T) {
	f := fixture.New(nil, nil)
	function.New(f.Functions, jsii.String("A"), &function.Props{Pool: f.Pool, Entry: fixture.SampleEntry(), AttachOptions: pool.AttachOptions{DatabaseUser: "a"}})
	f.App.Synth(nil)
	panictest.Contains(t, func() {
		function.New(f.Functions, jsii.String("Late"), &function.Props{Pool: f.Pool, Entry: fixture.SampleEntry(), AttachOptions: pool.AttachOptions{DatabaseUser: "late"}})
	}, "Functions/Late: invalid function:", "joins the pool after synth has begun computing the budget")
}

func TestBudgetFailsSynth(t *testing.T) {
	f := fixture.New(nil, nil)
	function.New(f.Functions, jsii.String("Greedy"), &function.Props{Pool: f.Pool, Entry: fixture.SampleEntry(), AttachOptions: pool.AttachOptions{DatabaseUser: "greedy", ReservedConcurrency: 500}})
	msg := panictest.Message(t, func() { f.App.Synth(nil) })
	for _, want := range []string{"Validation failed", "connection budget:", "Functions/Greedy", "500"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Synth() failed with %q, want it to mention %q", msg, want)
		}
	}
}

func TestInvalidProps(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func()
		want string
	}{
		{"auto-pause with a proxy", func() {
			zero := 0.0
			fixture.New(nil, &database.ServerlessProps{MinCapacity: &zero})
		}, "but an RDS Proxy keeps connections open, so it would never pause"},
		{"percent set by hand", func() {
			fixture.New(&pool.Props{Proxy: &proxy.Props{MaxConnectionsPercent: 90}}, nil)
		}, "Proxy.MaxConnectionsPercent 90: the connection budget sets it"},
		{"proxy and direct", func() { fixture.New(&pool.Props{Mode: pool.ModeDirect, Proxy: &proxy.Props{}}, nil) }, "Mode direct with Proxy or ExistingProxy: the pool has no proxy in this mode"},
		{"unknown mode", func() { fixture.New(&pool.Props{Mode: "bridge"}, nil) }, `Mode "bridge": must be one of ["proxy" "direct" "dataapi"]`},
		{"idle above max", func() {
			idle := 95
			fixture.New(&pool.Props{Proxy: &proxy.Props{MaxIdleConnectionsPercent: &idle}}, nil)
		}, "95"},
		{"negative headroom", func() {
			h := -1
			fixture.New(&pool.Props{Headroom: &h}, nil)
		}, "Headroom -1: must be 0 or more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if msg := panictest.Message(t, tc.run); !strings.Contains(msg, tc.want) {
				t.Errorf("panicked with %q, want it to contain %q", msg, tc.want)
			}
		})
	}
}

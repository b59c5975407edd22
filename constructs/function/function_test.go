package function_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/function"
	"github.com/lambdards/lambdards/constructs/pool"
	"github.com/lambdards/lambdards/functions/dbenv"
	"github.com/lambdards/lambdards/internal/cdktest"
	"github.com/lambdards/lambdards/internal/fixture"
	"github.com/lambdards/lambdards/internal/panictest"
)

func TestFunction(t *testing.T) {
	f := fixture.New(nil, nil)
	fn := function.New(f.Functions, jsii.String("Items"), &function.Props{
		Pool:           f.Pool,
		Entry:          fixture.SampleEntry(),
		MemorySize:     512,
		TimeoutSeconds: 20,
		Environment:    map[string]string{"LOG_LEVEL": "debug"},
		AttachOptions:  pool.AttachOptions{DatabaseUser: "items_rw", ConnectionsPerEnvironment: 2},
	})
	if fn.Member.Name != "Functions/Items" {
		t.Errorf("Member.Name = %q, want Functions/Items", fn.Member.Name)
	}
	tmpl := assertions.Template_FromStack(f.Functions, nil)
	tmpl.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(1))
	// A t4g.micro PostgreSQL: max_connections 73, the proxy's 82 % = 59 connections / 2 per
	// environment = 29 environments.
	tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), &map[string]any{
		"Runtime":                      "provided.al2023",
		"Architectures":                []any{"arm64"},
		"Handler":                      "bootstrap",
		"MemorySize":                   512,
		"Timeout":                      20,
		"ReservedConcurrentExecutions": 29,
		"LoggingConfig":                map[string]any{"LogGroup": assertions.Match_AnyValue()},
		"VpcConfig": map[string]any{
			"SecurityGroupIds": []any{stackOutput("PoolClientSecurityGroup")},
			"SubnetIds":        []any{stackOutput("FunctionsSubnet1"), stackOutput("FunctionsSubnet2")},
		},
		"Environment": map[string]any{"Variables": map[string]any{
			dbenv.Engine:   "postgres",
			dbenv.Host:     stackOutput("PoolProxy"),
			dbenv.Port:     "5432",
			dbenv.User:     "items_rw",
			dbenv.Name:     "app",
			dbenv.Auth:     "iam",
			dbenv.TLS:      "verify-full",
			dbenv.MaxConns: "2",
			"LOG_LEVEL":    "debug",
		}},
	})
	// rds-db:connect through the proxy, for this function's user only.
	tmpl.HasResourceProperties(jsii.String("AWS::IAM::ManagedPolicy"), &map[string]any{
		"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{map[string]any{
			"Action": "rds-db:connect", "Effect": "Allow",
			"Resource": map[string]any{"Fn::Join": []any{"", assertions.Match_ArrayWith(&[]any{":dbuser:", "/items_rw"})}},
		}})},
	})
	tmpl.HasResourceProperties(jsii.String("AWS::Logs::LogGroup"), &map[string]any{"RetentionInDays": 365})
}

// stackOutput matches a weak cross-stack reference to an output of the Data stack.
func stackOutput(contains string) any {
	return map[string]any{"Fn::GetStackOutput": assertions.Match_ObjectLike(&map[string]any{
		"StackName":  "Data",
		"OutputName": assertions.Match_StringLikeRegexp(jsii.String(contains)),
	})}
}

func TestDirectConnectionsAreEncryptedAndGrantedOnTheDatabase(t *testing.T) {
	f := fixture.New(&pool.Props{Mode: pool.ModeDirect}, nil)
	function.New(f.Functions, jsii.String("Items"), &function.Props{Pool: f.Pool, Entry: fixture.SampleEntry(), AttachOptions: pool.AttachOptions{DatabaseUser: "items"}})
	tmpl := assertions.Template_FromStack(f.Functions, nil)
	tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), &map[string]any{
		"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{
			dbenv.TLS: "require", dbenv.Host: stackOutput("DatabaseInstance"), dbenv.User: "items",
		})},
	})
	tmpl.HasResourceProperties(jsii.String("AWS::IAM::ManagedPolicy"), &map[string]any{
		"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{map[string]any{
			"Action": "rds-db:connect", "Effect": "Allow",
			"Resource": map[string]any{"Fn::Join": []any{"", assertions.Match_ArrayWith(&[]any{
				stackOutput("DbiResourceId"), "/items",
			})}},
		}})},
	})
}

func TestBundlesTheGoBinary(t *testing.T) {
	ctx := cdktest.ProjectContext()
	app := awscdk.NewApp(&awscdk.AppProps{BuiltinCloudFormationValidation: jsii.Bool(false), Outdir: jsii.String(t.TempDir()), Context: &ctx})
	g := fixture.NewIn(app, nil, nil)
	function.New(g.Functions, jsii.String("Items"), &function.Props{Pool: g.Pool, Entry: fixture.SampleEntry(), AttachOptions: pool.AttachOptions{DatabaseUser: "items"}})
	asm := app.Synth(nil)
	manifest, err := os.ReadFile(filepath.Join(*asm.Directory(), "Functions.assets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var assets struct {
		Files map[string]struct {
			Source struct{ Path, Packaging string }
		}
	}
	if err := json.Unmarshal(manifest, &assets); err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, a := range assets.Files {
		bin := filepath.Join(*asm.Directory(), a.Source.Path, "bootstrap")
		if b, err := os.ReadFile(bin); err == nil {
			found = append(found, fmt.Sprintf("%s %d bytes", a.Source.Packaging, len(b)))
			if !strings.HasPrefix(string(b), "\x7fELF") {
				t.Errorf("%s is not an ELF binary", bin)
			}
		}
	}
	if len(found) != 1 {
		t.Errorf("assets with a bootstrap binary = %v, want exactly one", found)
	}
}

func TestInvalidProps(t *testing.T) {
	f := fixture.New(nil, nil)
	for _, tc := range []struct {
		name  string
		props function.Props
		want  []string
	}{
		{"no pool", function.Props{Entry: "x"}, []string{"Pool: required"}},
		{"no entry", function.Props{Pool: f.Pool, AttachOptions: pool.AttachOptions{DatabaseUser: "items"}}, []string{"Entry: required"}},
		{"no user and no provisioner", function.Props{Pool: f.Pool, Entry: fixture.SampleEntry()}, []string{"DatabaseUser: required when the pool provisions no users"}},
		{"the master user", function.Props{Pool: f.Pool, Entry: fixture.SampleEntry(), AttachOptions: pool.AttachOptions{DatabaseUser: "lambdards"}}, []string{`DatabaseUser "lambdards" is the master user`}},
		{"all at once", function.Props{
			Pool:           f.Pool,
			Entry:          fixture.SampleEntry(),
			MemorySize:     64,
			TimeoutSeconds: 901,
			AttachOptions:  pool.AttachOptions{DatabaseUser: "bad-user", Weight: -1, ConnectionsPerEnvironment: -2, ReservedConcurrency: -3},
		},
			[]string{`DatabaseUser "bad-user"`, "MemorySize 64: must be 128 to 10240", "TimeoutSeconds 901: must be 1 to 900",
				"Weight -1", "ConnectionsPerEnvironment -2", "ReservedConcurrency -3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := panictest.Message(t, func() {
				props := tc.props
				function.New(f.Functions, jsii.String(strings.ReplaceAll(tc.name, " ", "")), &props)
			})
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("panicked with %q, want it to contain %q", msg, w)
				}
			}
		})
	}
}

func TestFunctionsDoNotShareUsers(t *testing.T) {
	f := fixture.NewProvisioned(nil)
	function.New(f.Functions, jsii.String("Orders"), &function.Props{Pool: f.Pool, Entry: fixture.SampleEntry()})
	panictest.Contains(t, func() {
		// "orders" is also the user the construct ID Orders derives.
		function.New(f.Functions, jsii.String("Billing"), &function.Props{Pool: f.Pool, Entry: fixture.SampleEntry(), AttachOptions: pool.AttachOptions{DatabaseUser: "orders"}})
	}, `DatabaseUser "orders": Functions/Orders signs in as it already`)
}

// TestFunctionsOfAStackShare checks what a stack's functions share: one policy for the VPC
// network interfaces, which each role names beside its own, and one asset for one binary.
// Each role's own policy holds only its log group and its database user.
func TestFunctionsOfAStackShare(t *testing.T) {
	f := fixture.New(nil, nil)
	for _, id := range []string{"A", "B", "C"} {
		function.New(f.Functions, jsii.String(id), &function.Props{Pool: f.Pool, Entry: fixture.SampleEntry(), AttachOptions: pool.AttachOptions{DatabaseUser: strings.ToLower(id)}})
	}
	tmpl := assertions.Template_FromStack(f.Functions, nil)
	policies := cdktest.Resources(tmpl, "AWS::IAM::ManagedPolicy")
	if len(policies) != 4 {
		t.Fatalf("managed policies = %d, want 4: one shared, one per function", len(policies))
	}
	var shared string
	for id, p := range policies {
		doc, _ := json.Marshal(cdktest.Props(p)["PolicyDocument"])
		if strings.Contains(string(doc), "ec2:CreateNetworkInterface") {
			if shared != "" {
				t.Errorf("policies %s and %s both grant the VPC network interface actions", shared, id)
			}
			shared = id
		} else if !strings.Contains(string(doc), "rds-db:connect") || !strings.Contains(string(doc), "logs:PutLogEvents") {
			t.Errorf("function policy %s = %s, want its logs and rds-db:connect", id, doc)
		}
	}
	if !strings.HasPrefix(shared, "LambdardsFunctionVpcAccess") {
		t.Fatalf("shared VPC access policy = %q, want LambdardsFunctionVpcAccess…", shared)
	}
	codes := map[string]bool{}
	for id, fn := range cdktest.Resources(tmpl, "AWS::Lambda::Function") {
		codes[fmt.Sprint(cdktest.Props(fn)["Code"])] = true
		role := fmt.Sprint(cdktest.Props(fn)["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0])
		var arns []map[string]string
		raw, _ := json.Marshal(cdktest.Props(cdktest.Resources(tmpl, "AWS::IAM::Role")[role])["ManagedPolicyArns"])
		json.Unmarshal(raw, &arns)
		own := id[:strings.Index(id, "Function")] + "Policy" // the function's own policy: A → APolicy…
		refs := map[string]bool{}
		for _, a := range arns {
			if a["Ref"] == shared || strings.HasPrefix(a["Ref"], own) {
				refs[a["Ref"]] = true
			}
		}
		if len(arns) != 2 || len(refs) != 2 {
			t.Errorf("function %s: role %s ManagedPolicyArns = %s, want the shared %s and its own %s…", id, role, raw, shared, own)
		}
	}
	if len(codes) != 1 {
		t.Errorf("functions of one binary have %d code locations, want 1: %v", len(codes), codes)
	}
}

package pool_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/constructs/function"
	"github.com/lambdards/lambdards/constructs/pool"
	"github.com/lambdards/lambdards/constructs/proxy"
	"github.com/lambdards/lambdards/constructs/users"
	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/functions/dbenv"
	"github.com/lambdards/lambdards/internal/cdktest"
	"github.com/lambdards/lambdards/internal/fixture"
	"github.com/lambdards/lambdards/internal/panictest"
)

// TestDataAPI checks what a pool in ModeDataAPI gives a Go function and an attached
// Node.js one: no VPC, a secret of their own, the Data API on this cluster with that
// secret only, a user with the secret's password, and reserved concurrency from a budget
// with no proxy.
func TestDataAPI(t *testing.T) {
	f := fixture.NewDataAPI()
	team := awscdk.NewStack(f.App, jsii.String("Team"), nil)
	node := nodeFunction(team, "Api", nil, 20)
	f.Pool.Attach(node, &pool.AttachOptions{Access: dbspec.Write})
	function.New(f.Functions, jsii.String("Jobs"), &function.Props{Pool: f.Pool, Entry: fixture.SampleEntry()})

	res, err := f.Pool.Budget()
	if err != nil {
		t.Fatalf("Budget() error = %v", err)
	}
	if res.Proxy || !res.DataAPI || res.Available != res.Usable || res.TotalConnections > res.Available {
		t.Errorf("budget: Proxy %v, DataAPI %v, Available %d of Usable %d, TotalConnections %d; want the Data API, "+
			"every usable connection available, and no more taken", res.Proxy, res.DataAPI, res.Available, res.Usable, res.TotalConnections)
	}
	reserved := map[string]float64{}
	for _, a := range res.Functions {
		reserved[a.Name] = float64(a.ReservedConcurrency)
	}

	for _, stack := range []awscdk.Stack{team, f.Functions} {
		tmpl := assertions.Template_FromStack(stack, nil)
		fns := cdktest.Resources(tmpl, "AWS::Lambda::Function")
		if len(fns) != 1 {
			t.Fatalf("%s functions = %d, want 1", *stack.StackName(), len(fns))
		}
		secrets := cdktest.Resources(tmpl, "AWS::SecretsManager::Secret")
		if len(secrets) != 1 {
			t.Fatalf("%s secrets = %d, want the function's own", *stack.StackName(), len(secrets))
		}
		var secretID string
		for id, s := range secrets {
			secretID = id
			p := cdktest.Props(s)
			name, _ := p["Name"].(string)
			if !strings.HasPrefix(name, "ldr/") || len(name) > 28 {
				t.Errorf("secret Name = %q, want ldr/POOL/USER of at most 28 characters", name)
			}
			if _, ok := p["KmsKeyId"]; !ok {
				t.Errorf("secret has no KmsKeyId, want the database's key")
			}
		}
		for id, fn := range fns {
			p := cdktest.Props(fn)
			if _, ok := p["VpcConfig"]; ok {
				t.Errorf("%s has a VpcConfig, want none", id)
			}
			name := map[awscdk.Stack]string{team: "Team/Api", f.Functions: "Functions/Jobs"}[stack]
			if p["ReservedConcurrentExecutions"] != reserved[name] || reserved[name] < 1 {
				t.Errorf("%s ReservedConcurrentExecutions = %v, want the budget's %v", name, p["ReservedConcurrentExecutions"], reserved[name])
			}
			vars := p["Environment"].(map[string]any)["Variables"].(map[string]any)
			if vars[dbenv.Mode] != "dataapi" || vars[dbenv.Engine] != "postgres" || vars[dbenv.Name] != "app" {
				t.Errorf("%s environment %v, want dataapi mode on postgres database app", name, vars)
			}
			for _, k := range []string{dbenv.Host, dbenv.Port, dbenv.User, dbenv.Auth, dbenv.TLS} {
				if v, ok := vars[k]; ok {
					t.Errorf("%s environment %s = %v, want it unset in dataapi mode", name, k, v)
				}
			}
			if ref, _ := json.Marshal(vars[dbenv.SecretARN]); string(ref) != `{"Ref":"`+secretID+`"}` {
				t.Errorf("%s %s = %s, want its own secret %s", name, dbenv.SecretARN, ref, secretID)
			}
			if arn, _ := json.Marshal(vars[dbenv.ClusterARN]); !strings.Contains(string(arn), "DatabaseCluster") {
				t.Errorf("%s %s = %s, want the cluster's ARN", name, dbenv.ClusterARN, arn)
			}
			if deps, _ := json.Marshal(fn["DependsOn"]); !strings.Contains(string(deps), "LambdardsDatabaseUser") &&
				!strings.Contains(string(deps), "JobsDatabaseUser") {
				t.Errorf("%s DependsOn = %s, want its database user", name, deps)
			}
		}
		// The Data API on this cluster; its own secret, and the key for that secret only.
		policy := map[string]any{"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
			map[string]any{"Action": assertions.Match_ArrayWith(&[]any{"rds-data:BatchExecuteStatement", "rds-data:ExecuteStatement"}),
				"Effect": "Allow", "Resource": assertions.Match_AnyValue()},
			map[string]any{"Action": "secretsmanager:GetSecretValue", "Effect": "Allow", "Resource": map[string]any{"Ref": secretID}},
			map[string]any{"Action": "kms:Decrypt", "Effect": "Allow", "Resource": assertions.Match_AnyValue(),
				"Condition": map[string]any{"StringEquals": map[string]any{
					"kms:ViaService":                  assertions.Match_AnyValue(),
					"kms:EncryptionContext:SecretARN": map[string]any{"Ref": secretID},
				}}},
		})}}
		tmpl.HasResourceProperties(jsii.String("AWS::IAM::ManagedPolicy"), &policy)
		tmpl.HasResourceProperties(jsii.String("Custom::LambdardsDatabaseUser"), &map[string]any{
			"PasswordSecretArn": map[string]any{"Ref": secretID},
			"ClusterArn":        assertions.Match_AnyValue(),
		})
		for id, p := range cdktest.Resources(tmpl, "AWS::IAM::ManagedPolicy") {
			doc, _ := json.Marshal(cdktest.Props(p))
			if strings.Contains(string(doc), "rds-db:connect") {
				t.Errorf("%s grants rds-db:connect, want the Data API only", id)
			}
		}
	}

	data := assertions.Template_FromStack(f.Data, nil)
	data.HasResourceProperties(jsii.String("AWS::RDS::DBCluster"), &map[string]any{"EnableHttpEndpoint": true})
	if n := len(cdktest.Resources(data, "AWS::RDS::DBProxy")); n != 0 {
		t.Errorf("proxies = %d, want none", n)
	}
	// The provisioner runs outside the VPC and may read the pool's secrets by their prefix.
	for id, fn := range cdktest.Resources(data, "AWS::Lambda::Function") {
		if _, ok := cdktest.Props(fn)["VpcConfig"]; ok {
			t.Errorf("%s has a VpcConfig, want none (the provisioner uses the Data API)", id)
		}
	}
	data.HasResourceProperties(jsii.String("AWS::IAM::ManagedPolicy"), &map[string]any{
		"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
			map[string]any{"Action": "secretsmanager:GetSecretValue", "Effect": "Allow",
				"Resource": map[string]any{"Fn::Join": []any{"", assertions.Match_ArrayWith(&[]any{assertions.Match_StringLikeRegexp(jsii.String(`:secret:ldr/[0-9a-f]{8}/\*$`))})}}},
		})},
	})
}

// TestDataAPIRefuses checks what a pool in ModeDataAPI and its provisioner refuse.
func TestDataAPIRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func()
		want string
	}{
		{"an RDS instance", func() { fixture.New(&pool.Props{Mode: pool.ModeDataAPI}, nil) },
			"Mode dataapi: the database's RDS Data API is off"},
		{"a cluster without the Data API", func() { fixture.New(&pool.Props{Mode: pool.ModeDataAPI}, &database.ServerlessProps{}) },
			"turn it on (database.ServerlessProps.DataAPI"},
		{"a proxy", func() {
			fixture.New(&pool.Props{Mode: pool.ModeDataAPI, Proxy: &proxy.Props{}}, &database.ServerlessProps{DataAPI: true})
		}, "Mode dataapi with Proxy or ExistingProxy: the pool has no proxy in this mode"},
		{"client subnets", func() {
			f := fixture.New(&pool.Props{Mode: pool.ModeDirect}, nil)
			pool.New(f.Data, jsii.String("Other"), &pool.Props{Mode: pool.ModeDataAPI, Database: f.Database, ClientSubnets: f.Network.FunctionSubnets})
		}, "ClientSubnets with Mode dataapi"},
		{"a function's security group", func() {
			f := fixture.NewDataAPI()
			other := fixture.New(nil, nil)
			function.New(f.Functions, jsii.String("Fn"), &function.Props{Pool: f.Pool, Entry: fixture.SampleEntry(),
				SecurityGroup: other.Pool.ClientSecurityGroup})
		}, "SecurityGroup, VpcSubnets: set, but the pool's functions query the RDS Data API from outside any VPC"},
		{"a Data API provisioner on MySQL", func() {
			f := fixture.New(&pool.Props{Mode: pool.ModeDirect}, &database.ServerlessProps{Props: database.Props{Engine: dbspec.MySQL}, DataAPI: true})
			users.New(f.Data, jsii.String("Users"), &users.Props{Database: f.Database, DataAPI: true})
		}, "DataAPI on MySQL: the provisioner orders its changes with GET_LOCK"},
		{"an old engine version", func() {
			fixture.New(&pool.Props{Mode: pool.ModeDataAPI}, &database.ServerlessProps{Props: database.Props{EngineVersion: "14.6"}, DataAPI: true})
		}, "the RDS Data API needs Aurora PostgreSQL 14.8 or later"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if msg := panictest.Message(t, tc.run); !strings.Contains(msg, tc.want) {
				t.Errorf("panicked with %q, want it to contain %q", msg, tc.want)
			}
		})
	}
}

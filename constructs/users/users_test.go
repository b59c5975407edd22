package users_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/function"
	"github.com/lambdards/lambdards/constructs/pool"
	"github.com/lambdards/lambdards/constructs/users"
	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/internal/cdktest"
	"github.com/lambdards/lambdards/internal/fixture"
	"github.com/lambdards/lambdards/internal/panictest"
)

// TestOneUserPerFunction declares three functions' users and checks that the template
// holds exactly one database user each, as declared, that each function may sign in as
// its own user only, and that each function waits for its user.
func TestOneUserPerFunction(t *testing.T) {
	f := fixture.NewProvisioned(nil)
	for _, fn := range []struct {
		id    string
		props function.Props
	}{
		{"Reports", function.Props{AttachOptions: pool.AttachOptions{Access: dbspec.Read}}},
		{"Orders", function.Props{AttachOptions: pool.AttachOptions{DatabaseUser: "orders_rw", Access: dbspec.Write, Tables: []string{"orders", "order_lines"}}}},
		{"Migrator", function.Props{AttachOptions: pool.AttachOptions{Access: dbspec.DDL, Schema: "app"}}},
	} {
		fn.props.Pool, fn.props.Entry = f.Pool, fixture.SampleEntry()
		function.New(f.Functions, jsii.String(fn.id), &fn.props)
	}
	tmpl := assertions.Template_FromStack(f.Functions, nil)

	got := map[string]string{}
	for id, r := range cdktest.Resources(tmpl, users.ResourceType) {
		p := cdktest.Props(r)
		got[id[:strings.Index(id, "DatabaseUser")]] = p["User"].(string)
		for _, key := range []string{"ServiceToken", "Host", "SecretArn"} {
			if ref, _ := json.Marshal(p[key]); !strings.Contains(string(ref), "Fn::GetStackOutput") {
				t.Errorf("%s.%s = %s, want a reference to the Data stack", id, key, ref)
			}
		}
		if p["Engine"] != "postgres" || p["Port"] != "5432" || p["DatabaseName"] != "app" {
			t.Errorf("%s = %v, want engine postgres, port 5432, database app", id, p)
		}
	}
	want := map[string]string{
		"Reports":  `{"name":"reports","access":"read"}`,
		"Orders":   `{"name":"orders_rw","access":"write","tables":["orders","order_lines"]}`,
		"Migrator": `{"name":"migrator","access":"ddl","schema":"app"}`,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("database users = %v, want %v", got, want)
	}

	// Each function's policy lets it sign in as its own user, through the proxy, and no
	// other: the grant names the user its custom resource reports (Username), which also
	// makes CloudFormation create the user before the policy, the policy before the role
	// and the role before the function.
	users := cdktest.Resources(tmpl, users.ResourceType)
	var connects []string
	policyOf := map[string]string{} // function name → its policy's logical ID
	for id, r := range cdktest.Resources(tmpl, "AWS::IAM::ManagedPolicy") {
		doc, _ := json.Marshal(cdktest.Props(r)["PolicyDocument"])
		for userID, u := range users {
			if !strings.Contains(string(doc), `{"Fn::GetAtt":["`+userID+`","Username"]}`) {
				continue
			}
			var spec struct{ Name string }
			json.Unmarshal([]byte(cdktest.Props(u)["User"].(string)), &spec)
			fn := userID[:strings.Index(userID, "DatabaseUser")]
			connects = append(connects, fn+"→"+spec.Name)
			if !strings.HasPrefix(id, fn+"Policy") {
				t.Errorf("policy %s grants rds-db:connect as %s, which is %s's user", id, spec.Name, fn)
			}
			policyOf[fn] = id
		}
	}
	sort.Strings(connects)
	if strings.Join(connects, " ") != "Migrator→migrator Orders→orders_rw Reports→reports" {
		t.Errorf("rds-db:connect grants = %v, want one per function, for its own user", connects)
	}
	roles := cdktest.Resources(tmpl, "AWS::IAM::Role")
	for id, r := range cdktest.Resources(tmpl, "AWS::Lambda::Function") {
		name := id[:strings.Index(id, "Function")]
		role := cdktest.Props(r)["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
		arns, _ := json.Marshal(cdktest.Props(roles[role])["ManagedPolicyArns"])
		if policyOf[name] == "" || !strings.Contains(string(arns), `{"Ref":"`+policyOf[name]+`"}`) {
			t.Errorf("function %s: role %s names policies %s, want its own policy %q (which waits for its user)", id, role, arns, policyOf[name])
		}
	}
}

// TestProvisionerReachesOnlyTheDatabaseAndSecretsManager checks the provisioner's
// network and IAM reach: the database port, the Secrets Manager endpoint, the master
// secret and its key.
func TestProvisionerReachesOnlyTheDatabaseAndSecretsManager(t *testing.T) {
	f := fixture.NewProvisioned(nil)
	tmpl := assertions.Template_FromStack(f.Data, nil)
	var rules []string
	for _, typ := range []string{"AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"} {
		for _, r := range cdktest.Resources(tmpl, typ) {
			p, _ := json.Marshal(cdktest.Props(r))
			if strings.Contains(string(p), "UsersSecurityGroup") {
				rules = append(rules, fmt.Sprintf("%s %v-%v", typ[len("AWS::EC2::SecurityGroup"):], cdktest.Props(r)["FromPort"], cdktest.Props(r)["ToPort"]))
			}
		}
	}
	sort.Strings(rules)
	if want := "Egress 443-443 Egress 5432-5432 Ingress 443-443 Ingress 5432-5432"; strings.Join(rules, " ") != want {
		t.Errorf("provisioner rules = %v, want %s", rules, want)
	}
	tmpl.HasResourceProperties(jsii.String("AWS::IAM::ManagedPolicy"), &map[string]any{
		"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
			map[string]any{"Action": []any{"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"}, "Effect": "Allow",
				"Resource": map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("DatabaseInstanceSecretAttachment"))}},
			// Only through Secrets Manager in the stack's Region.
			map[string]any{"Action": "kms:Decrypt", "Effect": "Allow",
				"Resource": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("DatabaseKey")), "Arn"}},
				// For the master secret only, when Secrets Manager asks.
				"Condition": map[string]any{"StringEquals": map[string]any{
					"kms:ViaService": map[string]any{"Fn::Join": []any{"", []any{
						"secretsmanager.", map[string]any{"Ref": "AWS::Region"}, ".", map[string]any{"Ref": "AWS::URLSuffix"},
					}}},
					"kms:EncryptionContext:SecretARN": map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("SecretAttachment"))},
				}}},
		})},
	})
	tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), &map[string]any{
		"Runtime": "provided.al2023", "Timeout": 120,
		"VpcConfig": assertions.Match_ObjectLike(&map[string]any{"SecurityGroupIds": assertions.Match_AnyValue()}),
	})
}

func TestInvalidUsers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		props function.Props
		want  string
	}{
		{"unknown access", function.Props{AttachOptions: pool.AttachOptions{Access: "admin"}}, `"admin" is not an access level, want read, write or ddl`},
		{"the master user", function.Props{AttachOptions: pool.AttachOptions{DatabaseUser: "lambdards"}}, "lambdards"},
		{"a reserved name", function.Props{AttachOptions: pool.AttachOptions{DatabaseUser: "rdsadmin"}}, "rdsadmin"},
		{"ddl on named tables", function.Props{AttachOptions: pool.AttachOptions{Access: dbspec.DDL, Tables: []string{"t"}}}, "ddl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := fixture.NewProvisioned(nil)
			p := tc.props
			p.Pool, p.Entry = f.Pool, fixture.SampleEntry()
			panictest.Contains(t, func() { function.New(f.Functions, jsii.String("Fn"), &p) }, tc.want)
		})
	}
	f := fixture.New(nil, nil)
	panictest.Contains(t, func() {
		function.New(f.Functions, jsii.String("Fn"), &function.Props{Pool: f.Pool, Entry: fixture.SampleEntry(), AttachOptions: pool.AttachOptions{Access: dbspec.Write}})
	}, "the pool provisions no users")
	panictest.Contains(t, func() {
		users.New(f.Data, jsii.String("Users"), &users.Props{Database: f.Database, Vpc: f.Network.Vpc})
	},
		"SecretsManagerEndpoint: required in isolated subnets")
}

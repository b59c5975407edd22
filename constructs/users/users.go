// Package users gives every function its own least-privilege database user, created,
// changed and dropped by `cdk deploy` itself.
//
// A Provisioner is a Go Lambda function (functions/provision) in the VPC that reaches the
// database directly, not through the proxy, with its own security-group rule (or, with
// Props.DataAPI, one outside the VPC that reaches Aurora PostgreSQL through the RDS Data
// API), signs in as the master user with the master secret, and applies each declared user idempotently:
// PostgreSQL CREATE ROLE ... LOGIN, GRANT rds_iam and the declared grants; MySQL CREATE
// USER ... IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' and the declared grants (see
// package functions/provision/dbuser). The custom-resource Provider framework invokes it
// from outside the VPC, so the function needs no path to CloudFormation's response URL.
// On delete it drops only the users it created, and never data.
package users

import (
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"runtime"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/customresources"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/constructs/network"
	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/internal/fields"
	"github.com/lambdards/lambdards/internal/golambda"
	"github.com/lambdards/lambdards/internal/nag"
)

// ResourceType is the CloudFormation type of a database user.
const ResourceType = "Custom::LambdardsDatabaseUser"

// Props configures a Provisioner.
type Props struct {
	// Database is the database whose users it manages. Required.
	Database database.Database
	// Vpc is the database's VPC. Required.
	Vpc awsec2.IVpc
	// SecretsManagerEndpoint is the VPC's Secrets Manager interface endpoint: the
	// provisioner reads the master secret through it. Required when VpcSubnets are
	// isolated; in subnets with a NAT gateway the provisioner may reach Secrets Manager
	// through the NAT instead.
	// Default: none.
	SecretsManagerEndpoint awsec2.IInterfaceVpcEndpoint
	// VpcSubnets selects the provisioner's subnets; they must not be public.
	// Default: aws-cdk-lib's default selection: the VPC's private subnets with egress, or
	// else its isolated subnets.
	VpcSubnets *awsec2.SubnetSelection
	// LogKey encrypts the provisioner's log groups.
	// Default: CloudWatch Logs' own encryption.
	LogKey awskms.IKey
	// LogRemovalPolicy applies to the provisioner's log groups: RETAIN or DESTROY.
	// Default: awscdk.RemovalPolicy_RETAIN.
	LogRemovalPolicy awscdk.RemovalPolicy
	// DataAPI makes the provisioner sign in through the database's RDS Data API
	// (Database.DataAPIArn) with the master secret, from outside the VPC: it then needs no
	// path into the VPC, no Secrets Manager interface endpoint and no NAT gateway, and Vpc,
	// VpcSubnets and SecretsManagerEndpoint stay unset. Aurora PostgreSQL only: on MySQL the
	// provisioner orders its changes with GET_LOCK, a session's lock, and the Data API may
	// run each statement on another session.
	// Default: false, connections from inside the VPC.
	DataAPI bool
	// Entry is the directory of the provisioner's Go main package.
	// Default: lambdards's functions/provision, found beside this package's source (set it
	// when the app is built with -trimpath).
	Entry string
}

// Provisioner creates the database users that functions declare.
type Provisioner struct {
	constructs.Construct
	// Function is the Lambda function that runs the SQL.
	Function *golambda.Function
	// SecurityGroup lets the function reach the database port and the Secrets Manager
	// endpoint, and nothing else; nil with Props.DataAPI, outside the VPC.
	SecurityGroup awsec2.SecurityGroup
	// Provider invokes Function for CloudFormation.
	Provider customresources.Provider

	db           database.Database
	serviceToken *string
	props        map[string]any  // the properties every user shares
	granted      map[string]bool // the secret ARN patterns GrantReadPasswords has granted
}

// New builds a Provisioner. It panics with one error listing every invalid setting.
func New(scope constructs.Construct, id *string, props *Props) *Provisioner {
	p := fields.Of(props)
	var errs fields.Problems
	errs.Require("Database", p.Database != nil)
	errs.Require("Vpc", p.Vpc != nil || p.DataAPI)
	if p.Database != nil && p.Database.Secret() == nil {
		errs.Add("{Database}: has no master secret (an imported database given without a Secret); the provisioner " +
			"signs in as the master user with it: give the database its Secret, or create the functions' users yourself")
	}
	if p.DataAPI {
		checkDataAPI(&errs, p)
	} else {
		checkVPC(&errs, p)
	}
	errs.Fail(*scope.Node().Path()+"/"+*id, "users provisioner")
	return newProvisioner(scope, id, p)
}

// checkVPC reports what a provisioner in the VPC cannot take: subnets it cannot use, or no
// way to Secrets Manager.
func checkVPC(errs *fields.Problems, p Props) {
	// Isolated subnets reach Secrets Manager only through an interface endpoint; subnets
	// with a NAT gateway reach it through the NAT (internetEgress).
	internetEgress := false
	if p.Vpc != nil {
		if _, err := network.Select(p.Vpc, p.VpcSubnets, "{VpcSubnets}"); err != nil {
			errs.Add("%s", fields.In(err, fields.Raw))
		} else if routes, _ := network.InternetRoutes(p.Vpc, p.VpcSubnets); len(routes) > 0 {
			internetEgress = true
		}
	}
	if p.SecretsManagerEndpoint == nil && p.Vpc != nil && !internetEgress {
		errs.Add("{SecretsManagerEndpoint}: required in isolated subnets: the provisioner reads the master secret, " +
			"and isolated subnets reach Secrets Manager only through an interface endpoint (add one, for example with " +
			"network.Props.InterfaceEndpoints), or select subnets with a NAT gateway in {VpcSubnets}")
	}
}

// checkDataAPI reports what a provisioner that signs in through the Data API cannot take.
func checkDataAPI(errs *fields.Problems, p Props) {
	if set := fields.Set(map[string]bool{"Vpc": p.Vpc != nil, "VpcSubnets": p.VpcSubnets != nil,
		"SecretsManagerEndpoint": p.SecretsManagerEndpoint != nil}); set != "" {
		errs.Add("%s with {DataAPI}: the provisioner then runs outside the VPC and reaches Secrets Manager and the Data API "+
			"over their public endpoints; remove them, or turn {DataAPI} off", set)
	}
	if p.Database == nil {
		return
	}
	if p.Database.DataAPIArn() == nil {
		errs.Add("{DataAPI}: the database's RDS Data API is off; turn it on (database.ServerlessProps.DataAPI, or " +
			"ClusterAttributes.DataAPI for a cluster whose Data API is on; an RDS instance has none), or turn {DataAPI} off to " +
			"connect from inside the VPC")
	}
	if p.Database.Engine() == dbspec.MySQL {
		errs.Add("{DataAPI} on MySQL: the provisioner orders its changes with GET_LOCK, which holds only within one session, and the " +
			"Data API may run each statement on another; turn {DataAPI} off, so that the provisioner connects from inside the VPC")
	}
}

// newProvisioner builds a provisioner whose props are valid.
func newProvisioner(scope constructs.Construct, id *string, p Props) *Provisioner {
	if p.LogRemovalPolicy == "" {
		p.LogRemovalPolicy = awscdk.RemovalPolicy_RETAIN
	}
	if p.Entry == "" {
		_, file, _, _ := runtime.Caller(0)
		p.Entry = filepath.Join(filepath.Dir(file), "..", "..", "functions", "provision")
	}
	this := constructs.NewConstruct(scope, id)
	secret := p.Database.Secret()
	secretArn := secret.SecretArn()
	statements := []golambda.Statement{{
		Actions:   []string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"},
		Resources: []string{*secretArn},
	}}
	var sg awsec2.SecurityGroup
	where, dataAPI := "attach to the VPC", ""
	if p.DataAPI {
		where, dataAPI = "query the Data API", ", query the Data API"
		// The calls the provisioner makes, on this cluster only (Amazon Aurora User Guide,
		// "Authorizing access to the Amazon RDS Data API"): statements in a transaction.
		statements = append(statements, golambda.Statement{
			Actions: []string{"rds-data:ExecuteStatement", "rds-data:BeginTransaction", "rds-data:CommitTransaction",
				"rds-data:RollbackTransaction"},
			Resources: []string{*p.Database.DataAPIArn()},
		})
	} else {
		sg = newSecurityGroup(this, p)
	}
	fn, err := golambda.New(this, golambda.Props{
		Entry:             p.Entry,
		Kit:               golambda.KitOf(scope),
		Vpc:               p.Vpc,
		VpcSubnets:        p.VpcSubnets,
		SecurityGroup:     sg,
		MemorySize:        256,
		TimeoutSeconds:    120,
		LogRetention:      awslogs.RetentionDays_ONE_YEAR,
		LogRemovalPolicy:  p.LogRemovalPolicy,
		LogKey:            p.LogKey,
		Description:       "lambdards: creates, changes and drops the functions' database users",
		RoleDescription:   "lambdards users provisioner: write its logs, " + where + ", read the master secret",
		PolicyDescription: "lambdards users provisioner: write its logs, read the master secret" + dataAPI,
		Statements:        statements,
	})
	if err != nil {
		panic(fmt.Errorf("%s/%s: %v", *scope.Node().Path(), *id, err))
	}
	pv := &Provisioner{Construct: this, Function: fn, SecurityGroup: sg, db: p.Database, granted: map[string]bool{}}
	pv.grantDecrypt("StringEquals", secretArn)
	rules := append(nag.NISTAndHIPAA("LambdaDLQ"), nag.NISTAndHIPAA("LambdaConcurrency")...)
	reason := "CloudFormation invokes the provisioner, through the custom-resource framework, only while it deploys; its " +
		"errors fail the deploy, which is where they must show, and it needs no reserved concurrency of its own (its SQL is " +
		"serialized by an advisory lock)."
	if p.DataAPI {
		rules = append(rules, nag.NISTAndHIPAA("LambdaInsideVPC")...)
		reason += " It runs outside the VPC on purpose: it reaches the database only through the RDS Data API, whose " +
			"requests IAM signs and authorizes, so a VPC would add an interface endpoint and nothing the Data API does not enforce."
	}
	nag.Suppress(fn.Function, reason, rules...)

	provider := newProvider(this, fn, p.LogKey, p.LogRemovalPolicy)
	// What every user's custom resource refers to, kept: each lookup is a round trip to node.
	shared := map[string]any{
		"Engine":       string(p.Database.Engine()),
		"Host":         p.Database.Endpoint(),
		"Port":         fmt.Sprint(p.Database.Port()),
		"DatabaseName": p.Database.DatabaseName(),
		"SecretArn":    secretArn,
	}
	if p.DataAPI {
		shared["ClusterArn"] = p.Database.DataAPIArn()
	}
	pv.Provider, pv.serviceToken, pv.props = provider, provider.ServiceToken(), shared
	return pv
}

// grantDecrypt lets the provisioner decrypt, with the master secret's key, the secrets
// whose ARN matches secretArn under operator (golambda.DecryptSecrets).
func (p *Provisioner) grantDecrypt(operator string, secretArn *string) {
	key := p.db.Secret().EncryptionKey()
	if key == nil {
		return // Secrets Manager's AWS managed key, which its own key policy governs
	}
	service := golambda.SecretsManagerService(awscdk.Stack_Of(p.Construct))
	p.Function.Policy.AddStatements(golambda.DecryptSecrets(service, *key.KeyArn(), operator, *secretArn).PolicyStatement())
}

// newSecurityGroup is the security group of a provisioner in the VPC: the database port,
// and HTTPS to the Secrets Manager endpoint (or through the NAT gateway), only.
func newSecurityGroup(this constructs.Construct, p Props) awsec2.SecurityGroup {
	sg := awsec2.NewSecurityGroup(this, jsii.String("SecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              p.Vpc,
		Description:      jsii.String("lambdards users provisioner: the database port and the Secrets Manager endpoint only"),
		AllowAllOutbound: jsii.Bool(false),
	})
	// The provisioner's rules (AllowTo) land in its own stack, whichever stack holds the
	// database and the endpoint: a stack of the team's does not come to depend on this one.
	sg.Connections().AllowTo(p.Database.Connections(), awsec2.Port_Tcp(jsii.Number(p.Database.Port())), jsii.String("from the lambdards users provisioner"))
	if p.SecretsManagerEndpoint != nil {
		sg.Connections().AllowTo(p.SecretsManagerEndpoint, p.SecretsManagerEndpoint.Connections().DefaultPort(), jsii.String("HTTPS from the lambdards users provisioner"))
	} else {
		// Secrets Manager's public endpoint, through the subnets' NAT gateway.
		sg.AddEgressRule(awsec2.Peer_AnyIpv4(), awsec2.Port_Tcp(jsii.Number(443)),
			jsii.String("HTTPS to Secrets Manager through the NAT gateway"), nil)
	}
	return sg
}

// newProvider builds the custom-resource framework that invokes fn for CloudFormation,
// with a role of its own whose permissions are one customer-managed policy.
func newProvider(scope constructs.Construct, fn *golambda.Function, key awskms.IKey, removal awscdk.RemovalPolicy) customresources.Provider {
	logs := awslogs.NewLogGroup(scope, jsii.String("ProviderLogs"), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays_ONE_YEAR,
		RemovalPolicy: removal,
		EncryptionKey: key,
	})
	role := awsiam.NewRole(scope, jsii.String("ProviderRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("lambdards users provisioner framework: invoke the provisioner, write its logs"),
	})
	arn := fn.Function.FunctionArn()
	policy := awsiam.NewManagedPolicy(scope, jsii.String("ProviderPolicy"), &awsiam.ManagedPolicyProps{
		Description: jsii.String("lambdards users provisioner framework: invoke the provisioner, write its logs"),
		Roles:       &[]awsiam.IRole{role},
		Statements: &[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("lambda:InvokeFunction"),
				Resources: jsii.Strings(*arn, *arn+":*"),
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
				Resources: jsii.Strings(*logs.LogGroupArn()),
			}),
		},
	})
	cfn := fn.Function.Node().DefaultChild().(awscdk.CfnResource)
	finding := fmt.Sprintf("Resource::<%s.Arn>:*", *awscdk.Stack_Of(scope).GetLogicalId(cfn))
	nag.SuppressFindings(policy.Node().DefaultChild(), "Invoking a qualified version or alias of the provisioner needs the "+
		"function ARN with \":*\"; it grants no other function.", []string{finding}, "AwsSolutions-IAM5")
	provider := customresources.NewProvider(scope, jsii.String("Provider"), &customresources.ProviderProps{
		OnEventHandler:       fn.Function,
		FrameworkOnEventRole: role.WithoutPolicyUpdates(nil),
		LogGroup:             logs,
	})
	provider.Node().AddDependency(policy)
	framework := provider.Node().FindChild(jsii.String("framework-onEvent")).Node().DefaultChild()
	nag.Suppress(framework, "aws-cdk-lib's custom-resource framework function: it runs outside the VPC because it sends "+
		"CloudFormation's response to a pre-signed S3 URL, which the isolated subnets cannot reach, and holds no database "+
		"access (it only invokes the provisioner); CloudFormation calls it only while deploying, so a failure fails the deploy "+
		"(no dead-letter queue) and it needs no reserved concurrency.",
		append(append(nag.NISTAndHIPAA("LambdaInsideVPC"), nag.NISTAndHIPAA("LambdaDLQ")...), nag.NISTAndHIPAA("LambdaConcurrency")...)...)
	return provider
}

// User declares u in the database: a custom resource in scope, with construct ID id,
// that creates the user at deploy, changes it when the declaration changes, and drops it
// when removed. The user signs in with IAM database authentication, or, given password,
// with the password that secret holds (for the RDS Data API), which the provisioner must
// be allowed to read (GrantReadPasswords). It panics when u is not valid.
func (p *Provisioner) User(scope constructs.Construct, id string, u dbspec.User, password awssecretsmanager.ISecret) awscdk.CustomResource {
	if err := u.ValidateFor(p.db.MasterUsername()); err != nil {
		panic(fields.Errorf("%s/%s: %v", *scope.Node().Path(), id, err))
	}
	spec, _ := json.Marshal(u)
	props := maps.Clone(p.props)
	props["User"] = string(spec)
	if password != nil {
		props["PasswordSecretArn"] = password.SecretArn()
	}
	return awscdk.NewCustomResource(scope, jsii.String(id), &awscdk.CustomResourceProps{
		ServiceToken: p.serviceToken,
		ResourceType: jsii.String(ResourceType),
		Properties:   &props,
	})
}

// GrantReadPasswords lets the provisioner read the secrets whose names begin with prefix:
// the passwords of the users it gives a password (User). The secrets are encrypted with
// the master secret's key, which the provisioner may already decrypt through Secrets
// Manager.
func (p *Provisioner) GrantReadPasswords(prefix string) {
	if p.granted[prefix] {
		return
	}
	p.granted[prefix] = true
	stack := awscdk.Stack_Of(p.Construct)
	arn := stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("secretsmanager"),
		Resource:     jsii.String("secret"),
		ResourceName: jsii.String(prefix + "*"),
		ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
	p.Function.Policy.AddStatements(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("secretsmanager:GetSecretValue"),
		Resources: jsii.Strings(*arn),
	}))
	p.grantDecrypt("StringLike", arn)
	nag.SuppressFindings(p.Function.Policy, "The provisioner reads the password of every function user it creates; each "+
		"function's secret is created with the user, so the policy names them by the prefix that the pool gives them all.",
		[]string{"Resource::" + nagArn(stack, "secretsmanager", "secret:"+prefix+"*")}, "AwsSolutions-IAM5")
}

// nagArn is an ARN as cdk-nag writes it in a finding: the stack's pseudo parameters, when
// its environment is not given, as <AWS::Partition>, <AWS::Region> and <AWS::AccountId>.
func nagArn(stack awscdk.Stack, service, resource string) string {
	pseudo := func(v *string, name string) string {
		if *awscdk.Token_IsUnresolved(v) {
			return "<AWS::" + name + ">"
		}
		return *v
	}
	return fmt.Sprintf("arn:<AWS::Partition>:%s:%s:%s:%s", service, pseudo(stack.Region(), "Region"),
		pseudo(stack.Account(), "AccountId"), resource)
}

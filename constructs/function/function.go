// Package function builds a VPC-attached Go Lambda function that reaches a lambdards
// database through a pool: provided.al2023 on arm64, compiled from Go source at synth by a
// local `go build` (package gobuild), in the pool's shared client security group, granted
// rds-db:connect for its database user only, told where to connect by environment
// variables, and capped by the reserved concurrency that the pool's connection budget
// gives it. Its role's permissions (logs, VPC network interfaces, rds-db:connect) are one
// customer-managed policy: no AWS-managed and no inline policies.
package function

import (
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/budget"
	"github.com/lambdards/lambdards/constructs/network"
	"github.com/lambdards/lambdards/constructs/pool"
	"github.com/lambdards/lambdards/functions/dbenv"
	"github.com/lambdards/lambdards/internal/gobuild"
	"github.com/lambdards/lambdards/internal/nag"
)

// SkipBundlingContext is the context key that, when true, replaces every function's
// compiled binary with a placeholder: synth gets faster and asset hashes stop depending
// on the code, while every logical ID stays the same. For snapshot tests, not deploys.
const SkipBundlingContext = "lambdards:skipBundling"

// Props configures a Function.
type Props struct {
	// Pool is the way into the database. Required.
	Pool *pool.Pool
	// Entry is the directory of the function's Go main package, absolute or relative to
	// the working directory. Required.
	Entry string
	// DatabaseUser is the database user the function connects as, with IAM authentication.
	// Default: the database's master user name.
	DatabaseUser string
	// ConnectionsPerEnvironment is how many database connections one execution environment
	// holds at most (the handler's pool size). Under RDS Proxy session pinning each
	// connection costs one database connection.
	// Default: 1.
	ConnectionsPerEnvironment int
	// Weight is the function's share of the budget relative to other weighted functions.
	// Default: 1.
	Weight int
	// ReservedConcurrency fixes the function's reserved concurrency instead of weighting it.
	// Default: 0 (weighted).
	ReservedConcurrency int
	// MemorySize in MiB (128-10,240).
	// Default: 256.
	MemorySize int
	// TimeoutSeconds is the function timeout (1-900); with a proxy it must exceed the
	// proxy's borrow timeout.
	// Default: 30.
	TimeoutSeconds int
	// Environment adds environment variables.
	// Default: none.
	Environment map[string]string
	// SecurityGroup overrides the pool's shared client security group. A separate group
	// costs a Hyperplane ENI per subnet; it must be allowed into the pool's endpoint.
	// Default: Pool.ClientSecurityGroup.
	SecurityGroup awsec2.ISecurityGroup
	// VpcSubnets selects the function's subnets.
	// Default: the "Functions" subnet group of package network.
	VpcSubnets *awsec2.SubnetSelection
	// LogRetention is how long the function's logs are kept.
	// Default: awslogs.RetentionDays_ONE_YEAR.
	LogRetention awslogs.RetentionDays
	// LogKey encrypts the function's log group, for example network.Network.LogKey; its key
	// policy must let CloudWatch Logs use it for the group.
	// Default: none, CloudWatch Logs' own encryption.
	LogKey awskms.IKey
}

// Function is a VPC-attached Go Lambda function with a reserved concurrency from its
// pool's connection budget.
type Function struct {
	constructs.Construct
	// Function is the underlying Lambda function.
	Function awslambda.Function
	// Role is the function's execution role.
	Role awsiam.Role
	// Policy holds every permission of Role.
	Policy awsiam.ManagedPolicy
	// LogGroup receives the function's logs.
	LogGroup awslogs.LogGroup
	// Name is the function's name in the connection budget: its construct path.
	Name string
}

var userPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,62}$`)

// New builds a Function. It panics with one error listing every invalid setting.
func New(scope constructs.Construct, id *string, props *Props) *Function {
	var p Props
	if props != nil {
		p = *props
	}
	p, errs := withDefaults(p)
	if len(errs) > 0 {
		panic(fmt.Errorf("%s/%s: invalid function:\n  - %s", *scope.Node().Path(), *id, strings.Join(errs, "\n  - ")))
	}
	code, err := bundle(skips(p.Pool), p.Entry)
	if err != nil {
		panic(fmt.Errorf("%s/%s: %v", *scope.Node().Path(), *id, err))
	}
	this := constructs.NewConstruct(scope, id)
	name := *this.Node().Path()

	logs := awslogs.NewLogGroup(this, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention:     p.LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		EncryptionKey: p.LogKey,
	})
	role, policy := newRole(this, logs, p)
	env := map[string]*string{
		dbenv.Engine:   jsii.String(string(p.Pool.Database.Engine())),
		dbenv.Host:     p.Pool.Host(),
		dbenv.Port:     jsii.Sprintf("%d", p.Pool.Port()),
		dbenv.User:     jsii.String(p.DatabaseUser),
		dbenv.Name:     jsii.String(p.Pool.Database.DatabaseName()),
		dbenv.Auth:     jsii.String("iam"),
		dbenv.TLS:      jsii.String(tlsMode(p.Pool)),
		dbenv.MaxConns: jsii.Sprintf("%d", p.ConnectionsPerEnvironment),
	}
	for k, v := range p.Environment {
		env[k] = jsii.String(v)
	}
	reserved := p.Pool.Register(budget.Function{
		Name:                      name,
		ConnectionsPerEnvironment: p.ConnectionsPerEnvironment,
		Weight:                    p.Weight,
		ReservedConcurrency:       p.ReservedConcurrency,
		TimeoutSeconds:            float64(p.TimeoutSeconds),
	})
	fn := awslambda.NewFunction(this, jsii.String("Function"), &awslambda.FunctionProps{
		Runtime:                      statics().runtime,
		Architecture:                 statics().arch,
		Handler:                      jsii.String(gobuild.Binary),
		Code:                         code,
		MemorySize:                   jsii.Number(p.MemorySize),
		Timeout:                      awscdk.Duration_Seconds(jsii.Number(p.TimeoutSeconds)),
		Vpc:                          p.Pool.Vpc,
		VpcSubnets:                   p.VpcSubnets,
		SecurityGroups:               &[]awsec2.ISecurityGroup{p.SecurityGroup},
		Environment:                  &env,
		ReservedConcurrentExecutions: reserved,
		LogGroup:                     logs,
		Role:                         role,
		Description:                  jsii.Sprintf("lambdards function %s", filepath.Base(p.Entry)),
	})
	// Lambda checks at creation that the role may manage VPC network interfaces.
	fn.Node().AddDependency(policy)
	nag.Suppress(fn.Node().DefaultChild(), "The function is invoked synchronously: a failed call returns its error to the caller, "+
		"and a dead-letter queue only receives failed asynchronous events.",
		nag.NISTAndHIPAA("LambdaDLQ")...)
	awscdk.NewCfnOutput(this, jsii.String("ReservedConcurrency"), &awscdk.CfnOutputProps{
		Description: jsii.Sprintf("lambdards connection budget: reserved concurrency of %s", name),
		Value:       awscdk.Token_AsString(reserved, nil),
	})
	return &Function{Construct: this, Function: fn, Role: role, Policy: policy, LogGroup: logs, Name: name}
}

// newRole builds the function's execution role and its one customer-managed policy: what
// AWSLambdaBasicExecutionRole allows, for the function's own log group only; what
// AWSLambdaVPCAccessExecutionRole allows (AWS Lambda Developer Guide, "Giving Lambda
// functions access to resources in an Amazon VPC", execution role permissions); and
// rds-db:connect as the function's database user.
func newRole(scope constructs.Construct, logs awslogs.ILogGroup, p Props) (awsiam.Role, awsiam.ManagedPolicy) {
	role := awsiam.NewRole(scope, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("lambdards function: logs, VPC network interfaces, database sign-in"),
	})
	policy := awsiam.NewManagedPolicy(scope, jsii.String("Policy"), &awsiam.ManagedPolicyProps{
		Description: jsii.String("lambdards function: write its logs, attach to the VPC, sign in to the database as its user"),
		Roles:       &[]awsiam.IRole{role},
		Statements: &[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
				Resources: jsii.Strings(*logs.LogGroupArn()),
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions: jsii.Strings("ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
					"ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"),
				Resources: jsii.Strings("*"),
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("rds-db:connect"),
				Resources: jsii.Strings(*p.Pool.ConnectArn(p.DatabaseUser)),
			}),
		},
	})
	nag.SuppressFindings(policy.Node().DefaultChild(), "Lambda manages the function's VPC network interfaces with these EC2 actions, "+
		"which AWS documents on resource \"*\" (the Describe actions support no narrower resource); they create no access to data.",
		[]string{"Resource::*"}, "AwsSolutions-IAM5")
	return role, policy
}

func withDefaults(p Props) (Props, []string) {
	var errs []string
	if p.Pool == nil {
		errs = append(errs, "pool: required")
		return p, errs
	}
	if p.Entry == "" {
		errs = append(errs, "entry: required, the directory of the function's Go main package")
	}
	if p.DatabaseUser == "" {
		p.DatabaseUser = p.Pool.Database.MasterUsername()
	}
	if !userPattern.MatchString(p.DatabaseUser) {
		errs = append(errs, fmt.Sprintf("databaseUser %q: must start with a letter and hold only letters, digits and underscores (at most 63)", p.DatabaseUser))
	}
	if p.ConnectionsPerEnvironment == 0 {
		p.ConnectionsPerEnvironment = 1
	}
	if p.ConnectionsPerEnvironment < 1 {
		errs = append(errs, fmt.Sprintf("connectionsPerEnvironment %d: must be 1 or more", p.ConnectionsPerEnvironment))
	}
	if p.Weight == 0 {
		p.Weight = 1
	}
	if p.Weight < 1 {
		errs = append(errs, fmt.Sprintf("weight %d: must be 1 or more", p.Weight))
	}
	if p.ReservedConcurrency < 0 {
		errs = append(errs, fmt.Sprintf("reservedConcurrency %d: must be 0 (weighted) or 1 or more (fixed)", p.ReservedConcurrency))
	}
	if p.MemorySize == 0 {
		p.MemorySize = 256
	}
	// Memory 128-10,240 MB and timeout 1-900 s: AWS Lambda Developer Guide, "Lambda quotas".
	if p.MemorySize < 128 || p.MemorySize > 10240 {
		errs = append(errs, fmt.Sprintf("memorySize %d: must be 128 to 10240 (MiB)", p.MemorySize))
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 30
	}
	if p.TimeoutSeconds < 1 || p.TimeoutSeconds > 900 {
		errs = append(errs, fmt.Sprintf("timeoutSeconds %d: must be 1 to 900", p.TimeoutSeconds))
	}
	if p.SecurityGroup == nil {
		p.SecurityGroup = p.Pool.ClientSecurityGroup
	}
	if p.VpcSubnets == nil {
		p.VpcSubnets = &awsec2.SubnetSelection{SubnetGroupName: jsii.String(network.FunctionSubnets)}
	}
	if p.LogRetention == "" {
		p.LogRetention = awslogs.RetentionDays_ONE_YEAR
	}
	for _, k := range slices.Sorted(maps.Keys(p.Environment)) {
		if !strings.HasPrefix(k, "LAMBDARDS_DB_") {
			continue
		}
		if k == dbenv.TLS && !strings.HasPrefix(p.Environment[k], "verify") && p.Environment[k] != "require" {
			errs = append(errs, fmt.Sprintf("environment %s = %q: the function signs in with an IAM authentication token, "+
				"a bearer credential valid for 15 minutes that must only travel over TLS; remove it (the construct sets %s from the pool)",
				k, p.Environment[k], k))
			continue
		}
		errs = append(errs, fmt.Sprintf("environment %s: set by the construct from the pool, so that the function "+
			"connects where and as its grant allows; remove it (set databaseUser for the user)", k))
	}
	return p, errs
}

// tlsMode is how the handler checks the server's certificate. RDS Proxy presents a
// certificate from Amazon's public CA, which the runtime's system roots verify; a database
// presents one from the RDS CA, which they do not hold, so direct connections are encrypted
// without verification unless the handler is given the RDS CA bundle.
func tlsMode(p *pool.Pool) string {
	if p.Proxy != nil {
		return "verify-full"
	}
	return "require"
}

// statics are aws-cdk-lib's static values a function uses, fetched once per process:
// each fetch is a round trip to node.
var statics = sync.OnceValue(func() struct {
	runtime awslambda.Runtime
	arch    awslambda.Architecture
} {
	return struct {
		runtime awslambda.Runtime
		arch    awslambda.Architecture
	}{awslambda.Runtime_PROVIDED_AL2023(), awslambda.Architecture_ARM_64()}
})

// skipBundling remembers, per pool, whether SkipBundlingContext is true: context is
// app-wide and a pool belongs to one app, so it is read once for all its functions.
var skipBundling sync.Map // *pool.Pool → bool

func skips(p *pool.Pool) bool {
	if v, ok := skipBundling.Load(p); ok {
		return v.(bool)
	}
	v := p.Node().TryGetContext(jsii.String(SkipBundlingContext))
	skip := v == true || v == "true"
	skipBundling.Store(p, skip)
	return skip
}

// bundle compiles entry, or stands in a placeholder when skip is true.
func bundle(skip bool, entry string) (awslambda.Code, error) {
	if skip {
		dir, err := placeholder()
		if err != nil {
			return nil, err
		}
		return awslambda.Code_FromAsset(jsii.String(dir), nil), nil
	}
	dir, err := gobuild.Build(entry)
	if err != nil {
		return nil, err
	}
	return awslambda.Code_FromAsset(jsii.String(dir), nil), nil
}

// placeholder stores the stand-in bootstrap that skipped bundling deploys.
var placeholder = sync.OnceValues(func() (string, error) {
	return gobuild.StoreBinary([]byte("#!/bin/sh\necho 'lambdards: bundling was skipped; this asset is a placeholder' >&2\nexit 1\n"))
})

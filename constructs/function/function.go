// Package function builds a VPC-attached Go Lambda function that reaches a lambdards
// database through a pool: provided.al2023 on arm64, compiled from Go source at synth by a
// local `go build` (package gobuild), in the pool's shared client security group, granted
// rds-db:connect for its database user only, told where to connect by environment
// variables, and capped by the reserved concurrency that the pool's connection budget
// gives it. Its role's permissions are customer-managed policies, no AWS-managed and no
// inline ones: its own (its log group, rds-db:connect as its user) and one for the VPC
// network interfaces that the functions of its stack share.
//
// A Go app that builds many functions on one pool can declare them first (Planned and
// pool.Plan): each then gets its reserved concurrency as a number at construction instead
// of a token, which saves the round trips to node a lazy value costs.
package function

import (
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

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
	"github.com/lambdards/lambdards/functions/provision/dbuser"
	"github.com/lambdards/lambdards/internal/golambda"
	"github.com/lambdards/lambdards/internal/nag"
)

// SkipBundlingContext is the context key that, when true, replaces every function's
// compiled binary with a placeholder: synth gets faster and asset hashes stop depending
// on the code, while every logical ID stays the same. For snapshot tests, not deploys.
const SkipBundlingContext = golambda.SkipBundlingContext

// Props configures a Function.
type Props struct {
	// Pool is the way into the database. Required.
	Pool *pool.Pool
	// Entry is the directory of the function's Go main package, absolute or relative to
	// the working directory. Required.
	Entry string
	// DatabaseUser is the database user the function connects as, with IAM authentication.
	// When the pool provisions users (pool.Props.Users), the user is created at deploy
	// with Access, Schema and Tables; otherwise it must exist already.
	// Never the master user.
	// Default: the function's construct ID in lower case, with characters other than
	// letters, digits and underscores replaced by underscores, when the pool provisions
	// users; otherwise required.
	DatabaseUser string
	// Access is what the function's user may do in Schema: read (SELECT), write (read and
	// INSERT, UPDATE, DELETE) or ddl (write and CREATE). Only with a provisioning pool.
	// Default: read.
	Access dbuser.Access
	// Schema is where the user's access applies.
	// Default: "public" on PostgreSQL, the database on MySQL.
	Schema string
	// Tables narrows the access to these tables of Schema (not with ddl).
	// Default: every table of Schema, including ones created later.
	Tables []string
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
	// Policy holds the permissions of Role that are the function's own: writing to its log
	// group and rds-db:connect as its user. Role also names the stack's shared VPC access
	// policy (construct ID LambdardsFunctionVpcAccess in the stack).
	Policy awsiam.ManagedPolicy
	// LogGroup receives the function's logs.
	LogGroup awslogs.LogGroup
	// Name is the function's name in the connection budget: its construct path.
	Name string
	// SecurityGroup is the function's one security group: the pool's shared client group
	// unless Props.SecurityGroup gave another.
	SecurityGroup awsec2.ISecurityGroup
}

var userPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,62}$`)

// New builds a Function. It panics with one error listing every invalid setting.
func New(scope constructs.Construct, id *string, props *Props) *Function {
	return NewGroup(scope, []Definition{{ID: *id, Props: props}})[0]
}

// Definition is one function of a group: its construct ID and props.
type Definition struct {
	ID    string
	Props *Props
}

// NewGroup builds the functions defs in scope, as New builds each, with what they share
// sent to node once (every jsii call is a round trip to node): an app with hundreds of
// functions builds them a group per stack. It panics like New, at the first invalid
// function.
func NewGroup(scope constructs.Construct, defs []Definition) []*Function {
	out := make([]*Function, len(defs))
	lambdas := make([]constructs.IConstruct, len(defs))
	for i, d := range defs {
		out[i] = build(scope, d.ID, d.Props)
		lambdas[i] = out[i].Function
	}
	if len(lambdas) > 0 {
		nag.SuppressAll(lambdas, "The function is invoked synchronously: a failed call returns its error to the caller, "+
			"and a dead-letter queue only receives failed asynchronous events.",
			nag.NISTAndHIPAA("LambdaDLQ")...)
	}
	return out
}

func build(scope constructs.Construct, id string, props *Props) *Function {
	p, errs := withDefaults(props, id)
	if len(errs) > 0 {
		panic(fmt.Errorf("%s/%s: invalid function:\n  - %s", *scope.Node().Path(), id, strings.Join(errs, "\n  - ")))
	}
	where := golambda.ScopeOf(scope)
	this := constructs.NewConstruct(scope, jsii.String(id))
	entry := entryOf(p, where.Path, id)
	name := entry.Name
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
	if err := p.Pool.Claim(p.DatabaseUser, name); err != nil {
		panic(fmt.Errorf("%s/%s: %v", where.Path, id, err))
	}
	reserved := p.Pool.Register(entry)
	connectAs := p.DatabaseUser
	if users := p.Pool.Users; users != nil {
		user := users.User(this, "DatabaseUser", dbuser.User{Name: p.DatabaseUser, Access: p.Access, Schema: p.Schema, Tables: p.Tables})
		// The grant names the user as the provisioner reports it created: CloudFormation
		// then creates the user before the policy, the policy before the role, and the
		// role before the function, so the function never runs before its user exists.
		connectAs = *user.GetAttString(jsii.String("Username"))
	}
	built, err := golambda.New(this, golambda.Props{
		Entry:               p.Entry,
		SkipBundling:        golambda.SkipsBundling(p.Pool),
		Stack:               where.Stack,
		Vpc:                 p.Pool.Vpc,
		VpcSubnets:          p.VpcSubnets,
		SecurityGroup:       p.SecurityGroup,
		MemorySize:          p.MemorySize,
		TimeoutSeconds:      p.TimeoutSeconds,
		Environment:         env,
		ReservedConcurrency: reserved,
		LogRetention:        p.LogRetention,
		LogKey:              p.LogKey,
		Description:         fmt.Sprintf("lambdards function %s", filepath.Base(p.Entry)),
		RoleDescription:     "lambdards function: write its logs, attach to the VPC, sign in to the database as its user",
		PolicyDescription:   "lambdards function: write its logs, sign in to the database as its user",
		Statements: []golambda.Statement{{
			Actions:   []string{"rds-db:connect"},
			Resources: []string{*p.Pool.ConnectArn(connectAs)},
		}},
	})
	if err != nil {
		panic(fmt.Errorf("%s/%s: %v", where.Path, id, err))
	}
	fn, role, policy, logs := built.Function, built.Role, built.Policy, built.LogGroup
	return &Function{Construct: this, Function: fn, Role: role, Policy: policy, LogGroup: logs, Name: name, SecurityGroup: p.SecurityGroup}
}

// Planned is what New registers with props.Pool's connection budget for a function id in
// scope, for pool.Plan: declaring every function before building them lets each get its
// reserved concurrency as a number. ok is false when props are invalid (New says why).
func Planned(scope constructs.Construct, id string, props *Props) (f budget.Function, ok bool) {
	p, errs := withDefaults(props, id)
	if len(errs) > 0 {
		return budget.Function{}, false
	}
	return entryOf(p, golambda.ScopeOf(scope).Path, id), true
}

// entryOf is the function's entry in the budget; p has its defaults.
func entryOf(p Props, scopePath, id string) budget.Function {
	name := id
	if scopePath != "" {
		name = scopePath + "/" + id
	}
	return budget.Function{
		Name:                      name,
		ConnectionsPerEnvironment: p.ConnectionsPerEnvironment,
		Weight:                    p.Weight,
		ReservedConcurrency:       p.ReservedConcurrency,
		TimeoutSeconds:            float64(p.TimeoutSeconds),
	}
}

// userName derives a database user name from a construct ID: lower case, characters
// other than letters, digits and underscores replaced, a letter first, at most 32
// characters (MySQL's limit on user names: MySQL Reference Manual, "Account Names").
func userName(id string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(id) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	name := b.String()
	if name == "" || name[0] < 'a' || name[0] > 'z' {
		name = "fn_" + name
	}
	return name[:min(len(name), 32)]
}

// withDefaults returns props (nil means all defaults) with defaults applied, and every
// invalid setting.
func withDefaults(props *Props, id string) (Props, []string) {
	var p Props
	if props != nil {
		p = *props
	}
	var errs []string
	if p.Pool == nil {
		errs = append(errs, "pool: required")
		return p, errs
	}
	if p.Entry == "" {
		errs = append(errs, "entry: required, the directory of the function's Go main package")
	}
	switch {
	case p.DatabaseUser == "" && p.Pool.Users != nil:
		p.DatabaseUser = userName(id)
	case p.DatabaseUser == "":
		errs = append(errs, "databaseUser: required when the pool provisions no users (pool.Props.Users): "+
			"name the user the function signs in as, which must exist with IAM login rights")
	case p.DatabaseUser == p.Pool.Database.MasterUsername():
		errs = append(errs, fmt.Sprintf("databaseUser %q: is the master user; give the function a user of its own "+
			"(a function that signs in as the master user can do anything, and IAM login rights would end the master's password login)", p.DatabaseUser))
	}
	if p.Pool.Users == nil && (p.Access != "" || p.Schema != "" || len(p.Tables) > 0) {
		errs = append(errs, "access, schema, tables: set, but the pool provisions no users (pool.Props.Users); "+
			"create the user yourself and leave them unset, or give the pool a users provisioner")
	}
	if db := p.Pool.Database; p.Schema != "" && db.Engine() == budget.MySQL && p.Schema != db.DatabaseName() {
		// MySQL has no schemas within a database: a schema is a database (MySQL Reference
		// Manual, "CREATE SCHEMA is a synonym for CREATE DATABASE"), and the function's
		// connection names the pool's database.
		errs = append(errs, fmt.Sprintf("schema %q: on MySQL a schema is a database, and the function connects to the "+
			"database %q, so it would get no rights on the database it uses; remove schema, or set it to %q",
			p.Schema, db.DatabaseName(), db.DatabaseName()))
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
		if !strings.HasPrefix(k, dbenv.Prefix) {
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

// Package function builds a VPC-attached Go Lambda function that reaches a lambdards
// database through a pool: provided.al2023 on arm64, compiled from Go source at synth by a
// local `go build` (package gobuild), in the pool's shared client security group, granted
// rds-db:connect for its database user only, told where to connect by environment
// variables, and capped by the reserved concurrency that the pool's connection budget
// gives it. Its role's permissions are customer-managed policies, no AWS-managed and no
// inline ones: its own (its log group, rds-db:connect as its user) and one for the VPC
// network interfaces that the functions of its stack share.
//
// A function joins its pool through pool.Pool.Build, the path pool.Pool.Attach takes for
// functions of any runtime, with everything set at construction.
package function

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/pool"
	"github.com/lambdards/lambdards/functions/dbenv"
	"github.com/lambdards/lambdards/internal/fields"
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
	// AttachOptions are the function's database user and its share of the budget.
	pool.AttachOptions
	// Entry is the directory of the function's Go main package, absolute or relative to
	// the working directory. Required.
	Entry string
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
	// costs a Hyperplane ENI per subnet; allow it into the pool with Pool.AllowFrom.
	// Not with a pool in ModeDataAPI, whose functions run outside any VPC.
	// Default: the pool's ClientSecurityGroup.
	SecurityGroup awsec2.ISecurityGroup
	// VpcSubnets selects the function's subnets. Not with a pool in ModeDataAPI.
	// Default: the pool's ClientSubnets.
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
// pool's connection budget. It is an awsiam.IGrantable and an awsec2.IConnectable (its
// role and its security groups), so it passes to aws-cdk-lib's grant* methods and
// Connections as it is; its Function field is the awslambda.Function, for what takes an
// awslambda.IFunction (an API integration, an event source).
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
	// Member is the function's place in its pool: its name in the budget (its construct
	// path), its database user, its reserved concurrency and its environment.
	Member *pool.Member
	// SecurityGroup is the function's one security group: the pool's shared client group
	// unless Props.SecurityGroup gave another.
	SecurityGroup awsec2.ISecurityGroup
}

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
	kit := golambda.KitOf(scope)
	path := kit.Path(scope)
	for i, d := range defs {
		out[i] = build(scope, kit, path, d.ID, d.Props)
		lambdas[i] = out[i].Function
	}
	if len(lambdas) > 0 {
		nag.SuppressAll(lambdas, "The function is invoked synchronously: a failed call returns its error to the caller, "+
			"and a dead-letter queue only receives failed asynchronous events.",
			nag.NISTAndHIPAA("LambdaDLQ")...)
	}
	return out
}

func build(scope constructs.Construct, kit *golambda.Kit, path, id string, props *Props) *Function {
	name := id
	if path != "" {
		name = path + "/" + id
	}
	p, errs := withDefaults(props)
	if p.Pool != nil {
		errs = append(errs, p.Pool.Check(name, &p.AttachOptions)...)
		if set := fields.Set(map[string]bool{"SecurityGroup": p.SecurityGroup != nil, "VpcSubnets": p.VpcSubnets != nil}); set != "" &&
			p.Pool.Mode == pool.ModeDataAPI {
			errs = append(errs, set+": set, but the pool's functions query the RDS Data API from outside any VPC; remove them")
		}
	}
	fields.Problems(errs).Fail(name, "function")
	f := &Function{}
	// Built as a Go construct of its own, so that the function itself passes to aws-cdk-lib
	// as an IGrantable and an IConnectable.
	constructs.NewConstruct_Override(f, scope, jsii.String(id))
	this := f.Construct
	f.Member = p.Pool.Build(this, name, float64(p.TimeoutSeconds), &p.AttachOptions, func(m *pool.Member) awslambda.Function {
		env := maps.Clone(m.Environment)
		for k, v := range p.Environment {
			env[k] = jsii.String(v)
		}
		subnets := m.VpcSubnets
		f.SecurityGroup = m.SecurityGroup
		if p.SecurityGroup != nil {
			f.SecurityGroup = p.SecurityGroup
		}
		if p.VpcSubnets != nil {
			subnets = p.VpcSubnets
		}
		vpc, access := "attach to the VPC, ", "sign in to the database as its user"
		if m.Secret != nil {
			vpc, access = "", "query the database through the RDS Data API as its user"
		}
		built, err := golambda.New(this, golambda.Props{
			Entry:               p.Entry,
			Kit:                 kit,
			Vpc:                 m.Vpc,
			VpcSubnets:          subnets,
			SecurityGroup:       f.SecurityGroup,
			MemorySize:          p.MemorySize,
			TimeoutSeconds:      p.TimeoutSeconds,
			Environment:         env,
			ReservedConcurrency: m.ReservedConcurrency,
			LogRetention:        p.LogRetention,
			LogKey:              p.LogKey,
			Description:         fmt.Sprintf("lambdards function %s", filepath.Base(p.Entry)),
			RoleDescription:     "lambdards function: write its logs, " + vpc + access,
			PolicyDescription:   "lambdards function: write its logs, " + access,
			Statements:          m.Permissions,
		})
		if err != nil {
			panic(fmt.Errorf("%s: %v", name, err))
		}
		if m.Secret != nil {
			nag.Suppress(built.Function, "The function queries the database through the RDS Data API, an HTTPS endpoint whose "+
				"requests IAM signs and authorizes; it holds no network path to the database, so a VPC would add network "+
				"interfaces and an interface endpoint or NAT gateway, and nothing the Data API does not enforce.",
				nag.NISTAndHIPAA("LambdaInsideVPC")...)
			// Nothing else orders them: the function's policy and environment name its
			// secret, and the user must exist with the secret's password before a request.
			built.Function.Node().AddDependency(m.User)
		}
		f.Function, f.Role, f.Policy, f.LogGroup = built.Function, built.Role, built.Policy, built.LogGroup
		return built.Function
	})
	return f
}

// GrantPrincipal is the function's role: grants to the function go to it.
func (f *Function) GrantPrincipal() awsiam.IPrincipal { return f.Function.GrantPrincipal() }

// Connections are the function's security groups.
func (f *Function) Connections() awsec2.Connections { return f.Function.Connections() }

var (
	_ awsiam.IGrantable   = (*Function)(nil)
	_ awsec2.IConnectable = (*Function)(nil)
)

// withDefaults returns props (nil means all defaults) with the function's own defaults
// applied (the pool applies AttachOptions'), and every invalid setting.
func withDefaults(props *Props) (Props, []string) {
	p := fields.Of(props)
	var errs []string
	if p.Pool == nil {
		errs = append(errs, "{Pool}: required")
	}
	if p.Entry == "" {
		errs = append(errs, "{Entry}: required, the directory of the function's Go main package")
	}
	if p.MemorySize == 0 {
		p.MemorySize = 256
	}
	// Memory 128-10,240 MB and timeout 1-900 s: AWS Lambda Developer Guide, "Lambda quotas".
	if p.MemorySize < 128 || p.MemorySize > 10240 {
		errs = append(errs, fmt.Sprintf("{MemorySize} %d: must be 128 to 10240 (MiB)", p.MemorySize))
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 30
	}
	if p.TimeoutSeconds < 1 || p.TimeoutSeconds > 900 {
		errs = append(errs, fmt.Sprintf("{TimeoutSeconds} %d: must be 1 to 900", p.TimeoutSeconds))
	}
	if p.LogRetention == "" {
		p.LogRetention = awslogs.RetentionDays_ONE_YEAR
	}
	for _, k := range slices.Sorted(maps.Keys(p.Environment)) {
		if !strings.HasPrefix(k, dbenv.Prefix) {
			continue
		}
		if k == dbenv.TLS && !strings.HasPrefix(p.Environment[k], "verify") && p.Environment[k] != "require" {
			errs = append(errs, fmt.Sprintf("{Environment} %s = %q: the function signs in with an IAM authentication token, "+
				"a bearer credential valid for 15 minutes that must only travel over TLS; remove it (the pool sets %s)",
				k, p.Environment[k], k))
			continue
		}
		errs = append(errs, fmt.Sprintf("{Environment} %s: set by the pool, so that the function "+
			"connects where and as its grant allows; remove it (set {DatabaseUser} for the user)", k))
	}
	return p, errs
}

// Package pool is the shared way into one lambdards database: the RDS Proxy in front of it
// (or direct connections), the security group its functions share, and the connection
// budget that sizes the proxy and every function's reserved concurrency.
//
// Functions register with a Pool (package function does it for them). At synth the pool
// computes the budget once over all of them (package budget), sets each function's
// ReservedConcurrentExecutions from it, and fails validation with every problem found when
// the configuration cannot hold.
package pool

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/budget"
	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/constructs/proxy"
	"github.com/lambdards/lambdards/constructs/users"
)

// Props configures a Pool.
type Props struct {
	// Database is the database the pool leads to. Required.
	Database database.Database
	// Vpc is the database's VPC. Required.
	Vpc awsec2.IVpc
	// Direct leaves out the RDS Proxy: functions connect to the database directly, and the
	// budget caps their direct connections. Aurora Serverless v2 can then pause at 0 ACU.
	// Default: false (a proxy).
	Direct bool
	// Proxy configures the proxy. Its MaxConnectionsPercent comes from the budget and must
	// be left 0; raise Headroom to keep more connections out of the proxy's reach.
	// Default: proxy defaults, with a borrow timeout of DefaultBorrowTimeoutSeconds.
	Proxy *proxy.Props
	// Headroom is the number of connections kept out of the functions' reach for admin
	// sessions, migrations, secret rotation and monitoring.
	// Default: budget.DefaultHeadroom(max_connections).
	Headroom *int
	// AccountConcurrency is the account's Lambda concurrency limit in this Region.
	// Default: 1000 (AWS Lambda Developer Guide, "Lambda quotas").
	AccountConcurrency int
	// Users provisions each function's database user at deploy (package users).
	// Default: none; functions connect as users that exist already.
	Users *users.Provisioner
	// UnreservedMinimum is the concurrency Lambda keeps unreserved for the account's other
	// functions.
	// Default: 100 (AWS Lambda Developer Guide, "Configuring reserved concurrency").
	UnreservedMinimum int
}

// DefaultBorrowTimeoutSeconds is the pool's default proxy borrow timeout. RDS Proxy's own
// default (120 s) outlasts most Lambda timeouts, so a function would be killed while it
// waits for a connection instead of getting the proxy's error; 10 s sits well below the
// function construct's default timeout of 30 s.
const DefaultBorrowTimeoutSeconds = 10

// Pool is the shared way into one database.
type Pool struct {
	constructs.Construct
	// Database is the database behind the pool.
	Database database.Database
	// Vpc is the database's VPC, where functions attach.
	Vpc awsec2.IVpc
	// Users provisions the functions' database users, or is nil.
	Users *users.Provisioner
	// Proxy is the RDS Proxy, or nil for direct connections.
	Proxy *proxy.Proxy
	// ClientSecurityGroup is the security group that functions share by default (one
	// Hyperplane ENI per subnet and security group): egress to the pool's endpoint on the
	// database port only.
	ClientSecurityGroup awsec2.SecurityGroup

	host    *string
	users   map[string]string // database user → the function that signs in as it
	config  budget.Config
	members []budget.Function
	result  *budget.Result
	err     error
	fresh   bool
	planned map[string]planned // by function name, from Plan
	given   map[string]int     // reserved concurrency handed out as a number, by function name
}

// planned is a function declared to Plan and the reserved concurrency the plan gives it.
type planned struct {
	function budget.Function
	reserved int
}

// New builds a Pool. It panics with one error listing every invalid setting.
func New(scope constructs.Construct, id *string, props *Props) *Pool {
	var p Props
	if props != nil {
		p = *props
	}
	var errs []string
	if p.Database == nil {
		errs = append(errs, "database: required")
	}
	if p.Vpc == nil {
		errs = append(errs, "vpc: required")
	}
	if p.Direct && p.Proxy != nil {
		errs = append(errs, "proxy: set, but direct is true; give proxy settings or direct, not both")
	}
	var proxyProps proxy.Props
	if p.Proxy != nil {
		proxyProps = *p.Proxy
	}
	if proxyProps.MaxConnectionsPercent != 0 {
		errs = append(errs, fmt.Sprintf("proxy.maxConnectionsPercent %d: the connection budget sets it; leave it 0 and raise headroom to keep connections from the proxy", proxyProps.MaxConnectionsPercent))
	}
	if p.Headroom != nil && *p.Headroom < 0 {
		errs = append(errs, fmt.Sprintf("headroom %d: must be 0 or more", *p.Headroom))
	}
	if len(errs) > 0 {
		panic(fmt.Errorf("%s/%s: invalid pool:\n  - %s", *scope.Node().Path(), *id, strings.Join(errs, "\n  - ")))
	}
	// Auto-pause does not work with an RDS Proxy attached (Amazon Aurora User Guide,
	// "Scaling to Zero ACUs with automatic pause and resume for Aurora Serverless v2").
	if p.Database.AutoPause() && !p.Direct {
		panic(fmt.Errorf("%s/%s: invalid pool: the database pauses when idle (minimum capacity 0 ACU), but an RDS Proxy keeps "+
			"connections open, so it would never pause; set the minimum capacity to 0.5 ACU or more, or set direct to connect without a proxy",
			*scope.Node().Path(), *id))
	}

	cfg := budget.Config{
		Database:            p.Database.Description(),
		Engine:              p.Database.Engine(),
		MaxConnections:      p.Database.MaxConnections(),
		ReservedConnections: p.Database.ReservedConnections(),
		Headroom:            budget.DefaultHeadroom(p.Database.MaxConnections()),
		Proxy:               !p.Direct,
		AccountConcurrency:  p.AccountConcurrency,
		UnreservedMinimum:   p.UnreservedMinimum,
	}
	if p.Headroom != nil {
		cfg.Headroom = *p.Headroom
	}
	if proxyProps.BorrowTimeoutSeconds == nil {
		d := DefaultBorrowTimeoutSeconds
		proxyProps.BorrowTimeoutSeconds = &d
	}
	if !p.Direct {
		cfg.BorrowTimeoutSeconds = float64(*proxyProps.BorrowTimeoutSeconds)
		cfg.MaxIdleConnectionsPercent = proxyProps.MaxIdleConnectionsPercent
	}
	// The database-wide figures (the proxy's share) need no functions.
	base, err := budget.Compute(cfg)
	if err != nil {
		panic(fmt.Errorf("%s/%s: invalid connection budget:\n%v", *scope.Node().Path(), *id, err))
	}

	this := constructs.NewConstruct(scope, id)
	pl := &Pool{Construct: this, Database: p.Database, Vpc: p.Vpc, Users: p.Users, config: cfg}
	pl.ClientSecurityGroup = awsec2.NewSecurityGroup(this, jsii.String("ClientSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              p.Vpc,
		Description:      jsii.String("lambdards functions: egress to the database endpoint on its port only"),
		AllowAllOutbound: jsii.Bool(false),
	})
	port := awsec2.Port_Tcp(jsii.Number(p.Database.Port()))
	if p.Direct {
		p.Database.Connections().AllowFrom(pl.ClientSecurityGroup, port, jsii.String("from lambdards functions"))
	} else {
		proxyProps.Database = p.Database
		proxyProps.Vpc = p.Vpc
		proxyProps.MaxConnectionsPercent = base.ProxyMaxConnectionsPercent
		idle := base.ProxyMaxIdleConnectionsPercent
		proxyProps.MaxIdleConnectionsPercent = &idle
		pl.Proxy = proxy.New(this, jsii.String("Proxy"), &proxyProps)
		pl.Proxy.Connections().AllowFrom(pl.ClientSecurityGroup, port, jsii.String("from lambdards functions"))
	}
	// Kept, not looked up per function: every jsii call costs a round trip to node.
	pl.host = p.Database.Endpoint()
	if pl.Proxy != nil {
		pl.host = pl.Proxy.Endpoint()
	}
	this.Node().AddValidation(&validation{pl})
	pl.addOutputs()
	return pl
}

// figure is one number of the budget shown as a stack output.
type figure struct {
	id, description string
	value           func(*budget.Result) int
}

// addOutputs shows the budget in the deployed stack's outputs: the figures that depend on
// the database alone, so that adding or removing a function never changes this stack
// (each function's stack shows its own reserved concurrency).
func (pl *Pool) addOutputs() {
	figures := []figure{
		{"MaxConnections", "max_connections written into the database's parameter group", func(r *budget.Result) int { return r.MaxConnections }},
		{"ReservedConnections", "connections the engine keeps for superusers and AWS automation", func(r *budget.Result) int { return r.ReservedConnections }},
		{"Headroom", "connections kept from functions for admins, migrations and monitoring", func(r *budget.Result) int { return r.Headroom }},
		{"AvailableToFunctions", "connections the functions share", func(r *budget.Result) int { return r.Available }},
	}
	if pl.Proxy != nil {
		figures = append(figures, figure{"ProxyMaxConnectionsPercent", "share of max_connections RDS Proxy may open",
			func(r *budget.Result) int { return r.ProxyMaxConnectionsPercent }})
	}
	for _, f := range figures {
		awscdk.NewCfnOutput(pl.Construct, jsii.String("Budget"+f.id), &awscdk.CfnOutputProps{
			Description: jsii.String("lambdards connection budget: " + f.description),
			Value:       awscdk.Lazy_String(&budgetFigure{pool: pl, value: f.value}, nil),
		})
	}
}

type budgetFigure struct {
	pool  *Pool
	value func(*budget.Result) int
}

// Produce renders one figure of the budget; an invalid budget fails validation first.
func (b *budgetFigure) Produce() *string {
	res, err := b.pool.Budget()
	if err != nil || res == nil {
		return jsii.String("invalid")
	}
	return jsii.Sprintf("%d", b.value(res))
}

// Host is the endpoint functions connect to: the proxy's, or the database's when direct.
func (pl *Pool) Host() *string { return pl.host }

// Port is the database port.
func (pl *Pool) Port() int { return pl.Database.Port() }

// GrantConnect lets grantee connect as user with IAM database authentication, through the
// proxy or directly. It panics when grantee is a Lambda function outside a VPC: it could
// sign in, but never reach the pool's endpoint.
func (pl *Pool) GrantConnect(grantee awsiam.IGrantable, user string) awsiam.Grant {
	if fn, ok := grantee.(awslambda.IFunction); ok && !*fn.IsBoundToVpc() {
		panic(fmt.Errorf("%s: grantConnect: function %s is not in a VPC, so it could never reach the database; "+
			"give it vpc (the pool's Vpc) and the pool's ClientSecurityGroup, or build it with package function",
			*pl.Node().Path(), *fn.Node().Path()))
	}
	if pl.Proxy != nil {
		return pl.Proxy.GrantConnect(grantee, user)
	}
	return pl.Database.GrantConnect(grantee, user)
}

// ConnectArn is the resource of rds-db:connect for connecting as user, through the proxy
// or directly, for policies that GrantConnect cannot write to (customer-managed ones).
func (pl *Pool) ConnectArn(user string) *string {
	if pl.Proxy != nil {
		return pl.Proxy.ConnectArn(user)
	}
	return pl.Database.ConnectArn(user)
}

// Claim records that function signs in as the database user. Two functions may not share
// a user: each function's user is provisioned, changed and dropped with the function.
func (pl *Pool) Claim(user, function string) error {
	if other, ok := pl.users[user]; ok {
		return fmt.Errorf("databaseUser %q: %s signs in as it already; give every function a user of its own", user, other)
	}
	if pl.users == nil {
		pl.users = map[string]string{}
	}
	pl.users[user] = function
	return nil
}

// Plan declares, before they are built, the functions that will register, so that each
// gets its reserved concurrency as a number when it registers instead of a token that
// resolves at synth. The result is the same; a Go app saves the round trips to node that
// every lazy value costs, which add up over hundreds of functions. Synth fails if a number
// handed out from the plan differs from the budget over the functions that did register,
// so a plan that misses or adds a function cannot go unnoticed. Package function's Planned
// gives a function's entry. A plan whose budget does not hold is ignored: registering
// functions get tokens, and validation reports the problems.
func (pl *Pool) Plan(fns ...budget.Function) {
	cfg := pl.config
	cfg.Functions = fns
	res, err := budget.Compute(cfg)
	if err != nil {
		return
	}
	pl.planned = make(map[string]planned, len(fns))
	for i, a := range res.Functions {
		pl.planned[a.Name] = planned{function: fns[i], reserved: a.ReservedConcurrency}
	}
}

// Register adds a function to the budget and returns its reserved concurrency: a number
// if the function was planned (Plan) as it registers, otherwise a token that resolves at
// synth, once every function is known.
func (pl *Pool) Register(f budget.Function) *float64 {
	pl.members = append(pl.members, f)
	pl.fresh = false
	if p, ok := pl.planned[f.Name]; ok && p.function == f {
		if pl.given == nil {
			pl.given = map[string]int{}
		}
		pl.given[f.Name] = p.reserved
		return jsii.Number(p.reserved)
	}
	return awscdk.Lazy_Number(&reservedConcurrency{pool: pl, name: f.Name})
}

// Budget computes the connection budget over every registered function. The result is
// computed once and kept until another function registers.
func (pl *Pool) Budget() (*budget.Result, error) {
	if !pl.fresh {
		cfg := pl.config
		cfg.Functions = append([]budget.Function(nil), pl.members...)
		pl.result, pl.err = budget.Compute(cfg)
		pl.fresh = true
	}
	return pl.result, pl.err
}

type reservedConcurrency struct {
	pool *Pool
	name string
}

// Produce returns the function's reserved concurrency. Validation has failed synth already
// if the budget does not hold; 0 here would only be seen by a caller that skips validation.
func (r *reservedConcurrency) Produce() *float64 {
	res, err := r.pool.Budget()
	if err != nil || res == nil {
		return jsii.Number(0)
	}
	for _, a := range res.Functions {
		if a.Name == r.name {
			return jsii.Number(a.ReservedConcurrency)
		}
	}
	return jsii.Number(0)
}

type validation struct{ pool *Pool }

// Validate reports every way the budget fails, one line each, and every reserved
// concurrency handed out from a plan that the budget does not confirm.
func (v *validation) Validate() *[]*string {
	res, err := v.pool.Budget()
	var problems []string
	if err != nil {
		problems = []string{err.Error()}
		var be *budget.Error
		if errors.As(err, &be) {
			problems = be.Problems
		}
	} else {
		problems = v.pool.unconfirmed(res)
	}
	out := []*string{}
	for _, p := range problems {
		out = append(out, jsii.String("connection budget: "+p))
	}
	return &out
}

// unconfirmed lists the functions given a planned reserved concurrency that res, the
// budget over the functions that registered, does not give them.
func (pl *Pool) unconfirmed(res *budget.Result) []string {
	if len(pl.given) == 0 {
		return nil
	}
	final := make(map[string]int, len(res.Functions))
	for _, a := range res.Functions {
		final[a.Name] = a.ReservedConcurrency
	}
	var unplanned []string // registered, but not as planned
	for _, f := range pl.members {
		if p, ok := pl.planned[f.Name]; !ok || p.function != f {
			unplanned = append(unplanned, f.Name)
		}
	}
	var missing []string
	for name := range pl.planned {
		if _, ok := final[name]; !ok {
			missing = append(missing, name)
		}
	}
	slices.Sort(missing)
	var problems []string
	for _, name := range slices.Sorted(maps.Keys(pl.given)) {
		if got, want := pl.given[name], final[name]; got != want {
			problems = append(problems, fmt.Sprintf("function %q: the pool's plan gave it reserved concurrency %d, but the "+
				"functions that registered give it %d (planned but not built: %s; built but not as planned: %s); "+
				"plan exactly the functions that register (pool.Plan), or none", name, got, want, orNone(missing), orNone(unplanned)))
		}
	}
	return problems
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

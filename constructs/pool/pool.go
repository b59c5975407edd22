// Package pool is the shared way into one lambdards database: the RDS Proxy in front of it
// (or direct connections, or Aurora's RDS Data API), the security group its functions
// share, and the connection budget that sizes the proxy and every function's reserved
// concurrency.
//
// Any Lambda function joins a pool with Attach (package function's Go functions join as
// they are built, through Build). Each gets its reserved concurrency from the budget, the
// pool's client security group, rds-db:connect for its own database user only, that user
// (from the pool's users provisioner) and the environment its handler reads; in
// ModeDataAPI, no VPC, a secret of its own that its user signs in with, and the Data API on
// this cluster with that secret only. Every pool
// of an app shares one account-wide ledger of Lambda concurrency: the pools' functions
// and any reserved concurrency set outside lambdards must leave the 100 that Lambda keeps
// unreserved. At synth the budget is computed once, and validation fails with every
// problem found when the configuration cannot hold.
package pool

import (
	"fmt"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/budget"
	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/constructs/network"
	"github.com/lambdards/lambdards/constructs/proxy"
	"github.com/lambdards/lambdards/constructs/users"
	"github.com/lambdards/lambdards/internal/fields"
)

// Props configures a Pool.
type Props struct {
	// Database is the database the pool leads to. Required.
	Database database.Database
	// Vpc is the database's VPC. Required, but not with ModeDataAPI, whose functions run
	// outside any VPC.
	Vpc awsec2.IVpc
	// ClientSubnets selects the subnets the pool's functions run in. They must not be
	// public.
	// Default: aws-cdk-lib's default selection: the VPC's private subnets with egress, or
	// else its isolated subnets.
	ClientSubnets *awsec2.SubnetSelection
	// Mode is how the functions reach the database: ModeProxy through an RDS Proxy,
	// ModeDirect straight to the database, the budget capping their direct connections
	// (Aurora Serverless v2 can then pause at 0 ACU), or ModeDataAPI over HTTPS through
	// the RDS Data API of an Aurora cluster that has it on (database.ServerlessProps.DataAPI),
	// from outside the VPC, each function signing in with a secret of its own.
	// Default: ModeProxy.
	Mode Mode
	// Proxy configures the proxy the pool builds. Its MaxConnectionsPercent comes from the
	// budget and must be left 0; raise Headroom to keep more connections out of the
	// proxy's reach. Not with ExistingProxy.
	// Default: proxy defaults, with a borrow timeout of DefaultBorrowTimeoutSeconds.
	Proxy *proxy.Props
	// ExistingProxy is an RDS Proxy in front of Database that exists already
	// (proxy.FromAttributes): the pool builds none, and the budget takes the proxy's
	// MaxConnectionsPercent and borrow timeout as they are, refusing a share that reaches
	// into the headroom. Not with Proxy or Direct.
	// Default: none; the pool builds a proxy unless Direct.
	ExistingProxy *proxy.Proxy
	// Headroom is the number of connections kept out of the functions' reach for admin
	// sessions, migrations, secret rotation and monitoring.
	// Default: budget.DefaultHeadroom(max_connections).
	Headroom *int
	// AccountConcurrency is the account's Lambda concurrency limit in this Region. Every
	// pool of the app shares it: give each the same value, or leave it 0.
	// Default: 1000 (AWS Lambda Developer Guide, "Lambda quotas").
	AccountConcurrency int
	// Users provisions each function's database user at deploy (package users). Required
	// with ModeDataAPI, where it gives each user the password of the function's secret.
	// Default: none; functions connect as users that exist already.
	Users *users.Provisioner
	// UnreservedMinimum is the concurrency Lambda keeps unreserved for the account's other
	// functions. Every pool of the app shares it.
	// Default: 100 (AWS Lambda Developer Guide, "Configuring reserved concurrency").
	UnreservedMinimum int
}

// CheckAutoPause reports a database that pauses when idle behind a proxy, which would never
// let it pause, or "": Auto-pause does not work with an RDS Proxy attached (Amazon Aurora
// User Guide, "Scaling to Zero ACUs with automatic pause and resume for Aurora Serverless
// v2"). Its settings are named {GoName}.
func CheckAutoPause(autoPause, direct bool) string {
	if autoPause && !direct {
		return "the database pauses when idle ({MinCapacity} 0 ACU), but an RDS Proxy keeps connections open, so it would " +
			"never pause; set {MinCapacity} to 0.5 ACU or more, or set {Mode=direct} or {Mode=dataapi} to do without a proxy"
	}
	return ""
}

// Mode is how a pool's functions reach its database.
type Mode string

// The modes.
const (
	// ModeProxy: through RDS Proxy, the pool's own or Props.ExistingProxy.
	ModeProxy Mode = "proxy"
	// ModeDirect: straight to the database.
	ModeDirect Mode = "direct"
	// ModeDataAPI: through the RDS Data API, from outside the VPC.
	ModeDataAPI Mode = "dataapi"
)

// Modes lists the modes, for messages.
var Modes = []Mode{ModeProxy, ModeDirect, ModeDataAPI}

// DefaultBorrowTimeoutSeconds is the pool's default proxy borrow timeout. RDS Proxy's own
// default (120 s) outlasts most Lambda timeouts, so a function would be killed while it
// waits for a connection instead of getting the proxy's error; 10 s sits well below the
// function construct's default timeout of 30 s.
const DefaultBorrowTimeoutSeconds = 10

// Pool is the shared way into one database. It is an awsec2.IConnectable: its
// Connections are the endpoint's (the proxy's, or the database's when direct).
type Pool struct {
	constructs.Construct
	// Database is the database behind the pool.
	Database database.Database
	// Vpc is the database's VPC, where functions attach.
	Vpc awsec2.IVpc
	// ClientSubnets selects the subnets the pool's functions run in.
	ClientSubnets *awsec2.SubnetSelection
	// Users provisions the functions' database users, or is nil.
	Users *users.Provisioner
	// Proxy is the RDS Proxy, or nil for direct connections.
	Proxy *proxy.Proxy
	// ClientSecurityGroup is the security group that the pool's functions share (one
	// Hyperplane ENI per subnet and security group): egress to the pool's endpoint on the
	// database port only. Nil in ModeDataAPI, whose functions are in no VPC.
	ClientSecurityGroup awsec2.SecurityGroup
	// Mode is how the pool's functions reach the database.
	Mode Mode

	stack      awscdk.Stack
	host       *string       // the endpoint functions connect to, nil in ModeDataAPI
	dataAPIArn *string       // the cluster the functions query in ModeDataAPI
	reader     *readerTarget // the database's reader, or nil (reader.go)
	path       string        // the pool's construct path, for messages
	account    envKey        // the account and Region it deploys to
	config     budget.Config
	ledger     *ledger
	members    []*Member
	users      map[string]string  // database user → the function that signs in as it
	functions  map[any]*Member    // the attached functions, by their L2 function
	classes    map[class]*float64 // reserved concurrency tokens shared by equal members
	subnetsErr error              // ClientSubnets that select nothing usable, reported when a function joins
}

var _ awsec2.IConnectable = (*Pool)(nil)

// New builds a Pool. It panics with one error listing every invalid setting.
func New(scope constructs.Construct, id *string, props *Props) *Pool {
	p := fields.Of(props)
	var errs fields.Problems
	errs.Require("Database", p.Database != nil)
	if p.Mode == "" {
		p.Mode = ModeProxy
	}
	if !slices.Contains(Modes, p.Mode) {
		errs.Add("{Mode} %q: must be one of %q", p.Mode, Modes)
	}
	proxied, dataAPI := p.Mode == ModeProxy, p.Mode == ModeDataAPI
	errs.Require("Vpc", p.Vpc != nil || dataAPI)
	if !proxied && (p.Proxy != nil || p.ExistingProxy != nil) {
		errs.Add("{Mode=%s} with {Proxy} or {ExistingProxy}: the pool has no proxy in this mode; remove them, or use {Mode=proxy}", p.Mode)
	}
	if dataAPI {
		if p.Users == nil {
			errs.Add("{Users}: required with {Mode=dataapi}: each function's secret holds a password generated at deploy, which " +
				"only the pool's users provisioner gives its database user; give the pool a users.Provisioner, or use {Mode=direct}")
		}
		if p.Vpc != nil {
			errs.Add("{Vpc} with {Mode=dataapi}: the functions query the Data API over HTTPS from outside any VPC; remove {Vpc}")
		}
		if p.ClientSubnets != nil {
			errs.Add("{ClientSubnets} with {Mode=dataapi}: the functions query the Data API over HTTPS from outside any VPC; remove {ClientSubnets}")
		}
		if p.Database != nil && p.Database.DataAPIArn() == nil {
			errs.Add("{Mode=dataapi}: the database's RDS Data API is off; turn it on (database.ServerlessProps.DataAPI, or " +
				"ClusterAttributes.DataAPI for a cluster whose Data API is on), or use {Mode=proxy} or {Mode=direct}: an RDS " +
				"instance has no Data API, which Aurora alone offers")
		}
	}
	if p.ExistingProxy != nil && p.Proxy != nil {
		errs.Add("{ExistingProxy} with {Proxy}: give an existing proxy or settings for a new one, not both")
	}
	var proxyProps proxy.Props
	if p.Proxy != nil {
		proxyProps = *p.Proxy
	}
	if proxyProps.MaxConnectionsPercent != 0 {
		errs.Add("{Proxy.MaxConnectionsPercent} %d: the connection budget sets it; leave it 0 and raise {Headroom} to keep connections from the proxy", proxyProps.MaxConnectionsPercent)
	}
	if p.Headroom != nil && *p.Headroom < 0 {
		errs.Add("{Headroom} %d: must be 0 or more", *p.Headroom)
	}
	var subnetsErr error
	if p.Vpc != nil && !dataAPI {
		if _, err := network.Select(p.Vpc, p.ClientSubnets, "{ClientSubnets}"); err != nil {
			subnetsErr = err
			if p.ClientSubnets != nil {
				errs.Add("%s", fields.In(err, fields.Raw))
			}
		}
	}
	errs.Fail(*scope.Node().Path()+"/"+*id, "pool")
	if problem := CheckAutoPause(p.Database.AutoPause(), !proxied); problem != "" {
		panic(fields.Errorf("%s/%s: invalid pool: %s", *scope.Node().Path(), *id, problem))
	}

	cfg := budget.Config{
		Database:            p.Database.Description(),
		Engine:              p.Database.Engine(),
		MaxConnections:      p.Database.MaxConnections(),
		ReservedConnections: p.Database.ReservedConnections(),
		Headroom:            budget.DefaultHeadroom(p.Database.MaxConnections()),
		Proxy:               proxied,
		DataAPI:             dataAPI,
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
	if proxied {
		cfg.BorrowTimeoutSeconds = float64(*proxyProps.BorrowTimeoutSeconds)
		cfg.MaxIdleConnectionsPercent = proxyProps.MaxIdleConnectionsPercent
	}
	if x := p.ExistingProxy; x != nil {
		idle := x.Settings.MaxIdleConnectionsPercent
		cfg.ProxyMaxConnectionsPercent, cfg.MaxIdleConnectionsPercent = x.Settings.MaxConnectionsPercent, &idle
		cfg.BorrowTimeoutSeconds = float64(x.Settings.BorrowTimeoutSeconds)
		cfg.Database += fmt.Sprintf(", behind the existing proxy %s (MaxConnectionsPercent %d, its own)",
			*x.Node().Path(), x.Settings.MaxConnectionsPercent)
	}
	// The database-wide figures (the proxy's share) need no functions; a reader's share
	// of the one proxy comes with them (reader.go).
	reader := newReaderTarget(p.Database, cfg, p.Headroom)
	base, err := reader.bases(&cfg)
	if err != nil {
		panic(fields.Errorf("%s/%s: invalid connection budget:\n%v", *scope.Node().Path(), *id, err))
	}

	pl := &Pool{Database: p.Database, Vpc: p.Vpc, ClientSubnets: p.ClientSubnets, Users: p.Users, Mode: p.Mode,
		config: cfg, reader: reader, subnetsErr: subnetsErr}
	// Built as a Go construct of its own (not a plain Construct beside a Go struct), so
	// that the pool itself passes to aws-cdk-lib wherever it takes an IConnectable.
	constructs.NewConstruct_Override(pl, scope, id)
	this := pl.Construct
	if !dataAPI {
		pl.ClientSecurityGroup = awsec2.NewSecurityGroup(this, jsii.String("ClientSecurityGroup"), &awsec2.SecurityGroupProps{
			Vpc:              p.Vpc,
			Description:      jsii.String("lambdards functions: egress to the database endpoint on its port only"),
			AllowAllOutbound: jsii.Bool(false),
		})
	}
	// The client group's rules are written as its own (AllowTo), so they land in the pool's
	// stack even when the database or the proxy is in a stack of the team's.
	port := awsec2.Port_Tcp(jsii.Number(p.Database.Port()))
	switch {
	case dataAPI:
		// No network path: the functions call the Data API's public HTTPS endpoint.
	case !proxied:
		pl.ClientSecurityGroup.Connections().AllowTo(p.Database.Connections(), port, jsii.String("from lambdards functions"))
	case p.ExistingProxy != nil:
		pl.Proxy = p.ExistingProxy
		pl.ClientSecurityGroup.Connections().AllowTo(pl.Proxy.Connections(), port, jsii.String("from lambdards functions"))
	default:
		proxyProps.Database = p.Database
		proxyProps.Vpc = p.Vpc
		proxyProps.MaxConnectionsPercent = base.ProxyMaxConnectionsPercent
		idle := base.ProxyMaxIdleConnectionsPercent
		proxyProps.MaxIdleConnectionsPercent = &idle
		proxyProps.ReaderEndpoint = reader != nil
		pl.Proxy = proxy.New(this, jsii.String("Proxy"), &proxyProps)
		pl.ClientSecurityGroup.Connections().AllowTo(pl.Proxy.Connections(), port, jsii.String("from lambdards functions"))
	}
	// Kept, not looked up per function: every jsii call costs a round trip to node.
	switch {
	case dataAPI:
		pl.dataAPIArn = p.Database.DataAPIArn()
	case pl.Proxy != nil:
		pl.host = pl.Proxy.Endpoint()
	default:
		pl.host = p.Database.Endpoint()
	}
	reader.connect(pl)
	pl.ledger = ledgerOf(this)
	pl.ledger.add(pl)
	if dataAPI {
		p.Users.GrantReadPasswords(pl.secretPrefix())
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
	pl.addReaderOutputs(figures[:4])
}

type budgetFigure struct {
	pool   *Pool
	value  func(*budget.Result) int
	reader bool // a figure of the reader's budget
}

// Produce renders one figure of the budget; an invalid budget fails validation first.
func (b *budgetFigure) Produce() *string {
	res, _ := b.pool.ledger.final().target(b.pool, b.reader)
	if res == nil {
		return jsii.String("invalid")
	}
	return jsii.Sprintf("%d", b.value(res))
}

// Host is the endpoint functions connect to: the proxy's, or the database's when direct;
// nil in ModeDataAPI.
func (pl *Pool) Host() *string { return pl.host }

// Stack is the stack the pool is in.
func (pl *Pool) Stack() awscdk.Stack { return pl.stack }

// Port is the database port.
func (pl *Pool) Port() int { return pl.Database.Port() }

// Connections controls who may connect to the pool's endpoint: the proxy's security
// group, or the database's when direct. A peer in another stack is better allowed in
// with AllowFrom, which makes no dependency cycle.
func (pl *Pool) Connections() awsec2.Connections {
	if pl.Proxy != nil {
		return pl.Proxy.Connections()
	}
	return pl.Database.Connections()
}

// AllowFrom lets peer's security groups connect to the pool's endpoint on the database
// port. Both rules (the endpoint's ingress, the peer's egress) are created in the peer's
// stack when it is another than the pool's, so that a peer in a stack that uses the pool
// (a functions stack, which already depends on the pool's stack for the endpoint) makes
// no dependency cycle. Connections().AllowFrom would write the ingress rule into the
// pool's stack, making it depend on the peer's.
func (pl *Pool) AllowFrom(peer awsec2.IConnectable, description string) {
	port := awsec2.Port_Tcp(jsii.Number(pl.Port()))
	desc := jsii.String(description)
	for _, sg := range *peer.Connections().SecurityGroups() {
		for _, endpoint := range *pl.Connections().SecurityGroups() {
			// remoteRule true: aws-cdk-lib puts the rule in sg's stack when it is another.
			endpoint.AddIngressRule(sg, port, desc, jsii.Bool(true))
			sg.AddEgressRule(endpoint, port, desc, nil)
		}
	}
}

// GrantConnect lets grantee connect as user with IAM database authentication, through the
// proxy or directly: for callers that are not Lambda functions (an ECS task's role, an
// administrator's role), whose connections come out of the headroom. A Lambda function is
// refused: its connections must be budgeted, so it joins with Attach, which grants it
// rds-db:connect for its own user.
func (pl *Pool) GrantConnect(grantee awsiam.IGrantable, user string) awsiam.Grant {
	if fn, ok := grantee.(awslambda.IFunction); ok {
		panic(fmt.Errorf("%s: GrantConnect: %s is a Lambda function, whose connections the budget must count; "+
			"attach it with Attach (its reserved concurrency then comes from the budget, and Attach grants rds-db:connect "+
			"for its own user)", *pl.Node().Path(), *fn.Node().Path()))
	}
	return awsiam.Grant_AddToPrincipal(&awsiam.GrantOnPrincipalOptions{
		Grantee:      grantee,
		Actions:      jsii.Strings("rds-db:connect"),
		ResourceArns: jsii.Strings(*pl.ConnectArn(user)),
	})
}

// ConnectArn is the resource of rds-db:connect for connecting as user, through the proxy
// or directly, for policies that GrantConnect cannot write to (customer-managed ones).
func (pl *Pool) ConnectArn(user string) *string {
	if pl.Proxy != nil {
		return pl.Proxy.ConnectArn(user)
	}
	return pl.Database.ConnectArn(user)
}

// Budget computes the connection budget of the pool's database over every function that
// has joined it, within the account's concurrency that every pool of the app shares
// (Account). Once synth has begun the budget is final. The Result is the writer's (the
// reader's is ReaderBudget's); the error holds every problem of the pool, its reader's
// included, each of those beginning "reader: ".
func (pl *Pool) Budget() (*budget.Result, error) {
	return pl.ledger.current().pool(pl)
}

// Members returns the functions that have joined the pool, in the order they joined.
func (pl *Pool) Members() []*Member { return slices.Clone(pl.members) }

type validation struct{ pool *Pool }

// Validate reports every way the pool's budget fails, one line each.
func (v *validation) Validate() *[]*string {
	_, err := v.pool.ledger.final().pool(v.pool)
	out := []*string{}
	if err == nil {
		return &out
	}
	problems := []string{err.Error()}
	if be, ok := err.(*budget.Error); ok {
		problems = be.Problems // Go names: validation messages reach the caller as text
	}
	for _, p := range problems {
		out = append(out, jsii.String("connection budget: "+p))
	}
	return &out
}

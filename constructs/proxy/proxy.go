// Package proxy puts an RDS Proxy in front of a lambdards database.
//
// The proxy requires TLS and IAM authentication from clients and authenticates to the
// database with IAM too (end-to-end IAM, DefaultAuthScheme IAM_AUTH), so it needs no
// Secrets Manager secret and no network path to Secrets Manager from its isolated subnets.
// Its pool settings are exposed with the defaults RDS Proxy itself uses.
package proxy

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsrds"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/constructs/network"
	"github.com/lambdards/lambdards/internal/fields"
	"github.com/lambdards/lambdards/internal/nag"
)

// Props configures a Proxy.
type Props struct {
	// Database is the proxy's one target. Required.
	Database database.Database
	// Vpc is the database's VPC; a proxy must be in the same VPC. Required.
	Vpc awsec2.IVpc
	// VpcSubnets selects the proxy's subnets; they must not route to the internet.
	// Default: the VPC's isolated subnets.
	VpcSubnets *awsec2.SubnetSelection
	// MaxConnectionsPercent is the share of the database's max_connections the proxy may
	// open (1-100). Package pool sets it from the connection budget.
	// Default: 100 (RDS API Reference, ConnectionPoolConfiguration).
	MaxConnectionsPercent int
	// MaxIdleConnectionsPercent is the share of max_connections the proxy keeps open while
	// idle (0-MaxConnectionsPercent).
	// Default: half of MaxConnectionsPercent (RDS API Reference, ConnectionPoolConfiguration).
	MaxIdleConnectionsPercent *int
	// BorrowTimeoutSeconds is how long a client waits for a pooled connection before the
	// proxy returns an error; keep it below the functions' timeouts so a function gets that
	// error instead of being killed while it waits.
	// MinBorrowTimeoutSeconds to MaxBorrowTimeoutSeconds.
	// Default: 120 (RDS API Reference, ConnectionPoolConfiguration).
	BorrowTimeoutSeconds *int
	// IdleClientTimeoutSeconds is how long an idle client connection stays open (1-28,800).
	// Default: 1800 (RDS API Reference, CreateDBProxy).
	IdleClientTimeoutSeconds int
	// InitQuery runs on every new database connection the proxy opens, for example
	// "SET TIME ZONE 'UTC'".
	// Default: none.
	InitQuery string
	// DebugLogging logs SQL statements; it may log sensitive data.
	// Default: false.
	DebugLogging bool
	// RequireTLS makes clients connect with TLS. Clients always authenticate with IAM,
	// whose tokens must travel only over TLS, so false is rejected.
	// Default: true.
	RequireTLS *bool
	// ReaderEndpoint adds a read-only endpoint, which routes to the readers of an Aurora
	// cluster (see reader.go). The database must have a reader.
	// Default: false.
	ReaderEndpoint bool
}

// Proxy is an RDS Proxy that requires TLS and IAM authentication: one New builds, or one
// that exists already (FromAttributes).
type Proxy struct {
	constructs.Construct
	// Proxy is the underlying RDS Proxy.
	Proxy awsrds.IDatabaseProxy
	// SecurityGroup is the security group New gives the proxy: ingress only from clients
	// that the caller allows, egress only to the database port. Nil for a proxy from
	// FromAttributes.
	SecurityGroup awsec2.SecurityGroup
	// Settings are the pool settings in effect, defaults applied.
	Settings Settings
	// Imported says the proxy exists already: its settings are its owner's, and lambdards
	// changes nothing on it but the security-group rules that let clients in.
	Imported bool

	// ReadOnlyEndpoint is the proxy's read-only endpoint (Props.ReaderEndpoint), or nil.
	ReadOnlyEndpoint awsrds.IDatabaseProxyEndpoint

	port          int
	connections   awsec2.Connections
	connectPrefix *string // ConnectArn without the user
	readerHost    *string // the read-only endpoint's host, or nil
}

// Attributes describe an RDS Proxy that exists already, for FromAttributes: one whose
// clients authenticate with IAM over TLS.
type Attributes struct {
	// ProxyName is the proxy's name. Required.
	ProxyName string
	// ProxyArn is the proxy's ARN (arn:aws:rds:REGION:ACCOUNT:db-proxy:prx-...), which names
	// it in rds-db:connect policies. Required.
	ProxyArn string
	// Endpoint is the proxy's host name. Required.
	Endpoint string
	// Port is the port clients connect to: the database's. Required.
	Port int
	// SecurityGroups are the proxy's security groups; a pool allows its clients in
	// through them. Required.
	SecurityGroups []awsec2.ISecurityGroup
	// MaxConnectionsPercent is the proxy's target group setting (1-100), which the
	// connection budget takes as it is: the share of max_connections the proxy may open.
	// Required.
	MaxConnectionsPercent int
	// MaxIdleConnectionsPercent is the proxy's target group setting.
	// Default: half of MaxConnectionsPercent, RDS Proxy's own default.
	MaxIdleConnectionsPercent *int
	// BorrowTimeoutSeconds is the proxy's ConnectionBorrowTimeout, checked against each
	// function's timeout.
	// Default: 120, RDS Proxy's own default (RDS API Reference, ConnectionPoolConfiguration).
	BorrowTimeoutSeconds *int
	// ReaderEndpoint is the host name of the proxy's read-only endpoint, for functions that
	// read from the cluster's readers.
	// Default: none; functions may not read from a reader through this proxy.
	ReaderEndpoint string
}

// FromAttributes represents an RDS Proxy that exists already, as
// awsrds.DatabaseProxy_FromDatabaseProxyAttributes does, with the settings the connection
// budget needs. It panics with every missing or invalid attribute.
func FromAttributes(scope constructs.Construct, id *string, attrs *Attributes) *Proxy {
	a := fields.Of(attrs)
	var errs []string
	for _, f := range []struct{ name, value string }{{"ProxyName", a.ProxyName}, {"ProxyArn", a.ProxyArn}, {"Endpoint", a.Endpoint}} {
		if f.value == "" {
			errs = append(errs, "{"+f.name+"}: required")
		}
	}
	if a.Port < 1 || a.Port > 65535 {
		errs = append(errs, fmt.Sprintf("{Port} %d: must be the database's port, 1 to 65535", a.Port))
	}
	if len(a.SecurityGroups) == 0 {
		errs = append(errs, "{SecurityGroups}: required, the proxy's security groups (clients are let in through them)")
	}
	s, problems := settings(Props{MaxConnectionsPercent: a.MaxConnectionsPercent, MaxIdleConnectionsPercent: a.MaxIdleConnectionsPercent,
		BorrowTimeoutSeconds: a.BorrowTimeoutSeconds})
	if a.MaxConnectionsPercent == 0 {
		problems = append([]string{"{MaxConnectionsPercent}: required, the proxy's own setting (the connection budget takes it as it is)"}, problems...)
	}
	errs = append(errs, problems...)
	fields.Problems(errs).Fail(*scope.Node().Path()+"/"+*id, "proxy attributes")
	this := constructs.NewConstruct(scope, id)
	px := awsrds.DatabaseProxy_FromDatabaseProxyAttributes(this, jsii.String("Proxy"), &awsrds.DatabaseProxyAttributes{
		DbProxyName: jsii.String(a.ProxyName), DbProxyArn: jsii.String(a.ProxyArn), Endpoint: jsii.String(a.Endpoint),
		SecurityGroups: &a.SecurityGroups,
	})
	out := &Proxy{Construct: this, Proxy: px, Settings: s, Imported: true, port: a.Port,
		connections: awsec2.NewConnections(&awsec2.ConnectionsProps{
			SecurityGroups: &a.SecurityGroups, DefaultPort: awsec2.Port_Tcp(jsii.Number(a.Port)),
		})}
	if a.ReaderEndpoint != "" {
		out.readerHost = jsii.String(a.ReaderEndpoint)
	}
	return out
}

// The borrow timeouts a proxy takes. RDS accepts 0 to 300, and 0 means no limit (Amazon
// RDS API Reference, ConnectionPoolConfiguration, ConnectionBorrowTimeout: "Must be between
// 0 and 300"; AWS CloudFormation, AWS::RDS::DBProxyTargetGroup
// ConnectionPoolConfigurationInfoFormat: "For an unlimited wait time, specify 0"). An
// unlimited wait outlasts every Lambda function's timeout (at most 900 s), so lambdards
// refuses 0: a function would be killed while it waits instead of getting the proxy's
// error.
const (
	MinBorrowTimeoutSeconds = 1
	MaxBorrowTimeoutSeconds = 300
)

// Settings are a proxy's pool settings after defaults.
type Settings struct {
	MaxConnectionsPercent     int
	MaxIdleConnectionsPercent int
	BorrowTimeoutSeconds      int
	IdleClientTimeoutSeconds  int
}

// New builds a Proxy. It panics with one error listing every invalid setting.
func New(scope constructs.Construct, id *string, props *Props) *Proxy {
	p := fields.Of(props)
	s, errs := settings(p)
	if p.Database == nil {
		errs = append(errs, "{Database}: required")
	}
	if p.Vpc == nil {
		errs = append(errs, "{Vpc}: required")
	}
	if p.ReaderEndpoint && p.Database != nil {
		errs = append(errs, checkReaderEndpoint(p.Database)...)
	}
	// Client-to-proxy IAM authentication needs TLS (Amazon RDS User Guide, "Connecting to a
	// database through RDS Proxy", connecting with IAM authentication; shared/docs/aws-facts.md).
	if p.RequireTLS != nil && !*p.RequireTLS {
		errs = append(errs, "{RequireTLS} false: clients sign in to the proxy with IAM authentication tokens, "+
			"bearer credentials valid for 15 minutes that must only travel over TLS; leave {RequireTLS} unset (true)")
	}
	subnets := p.VpcSubnets
	if subnets == nil {
		subnets = &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED}
	}
	if p.Vpc != nil {
		routes, err := network.InternetRoutes(p.Vpc, subnets)
		if err != nil {
			errs = append(errs, fmt.Sprintf("{VpcSubnets}: %v: select isolated subnets of the VPC, or add an isolated tier to it (aws-cdk-lib's SubnetType PRIVATE_ISOLATED)", err))
		}
		if len(routes) > 0 {
			errs = append(errs, fmt.Sprintf("{VpcSubnets}: an RDS Proxy must not be reachable from, or reach, the internet, but %s; "+
				"select isolated subnets of the VPC (subnets without a route to an internet or NAT gateway), the database's", strings.Join(routes, "; ")))
		}
	}
	fields.Problems(errs).Fail(*scope.Node().Path()+"/"+*id, "proxy")
	this := constructs.NewConstruct(scope, id)
	sg := awsec2.NewSecurityGroup(this, jsii.String("SecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              p.Vpc,
		Description:      jsii.String("lambdards proxy: ingress from its clients, egress to the database port"),
		AllowAllOutbound: jsii.Bool(false),
	})
	// With end-to-end IAM the proxy itself signs in to the database as each client's user.
	// It may become any IAM-enabled user: a client still needs rds-db:connect on the proxy
	// for its own user, so the per-user control stays with the clients' grants, and adding
	// a function never changes this stack.
	role := awsiam.NewRole(this, jsii.String("Role"), &awsiam.RoleProps{
		// Only RDS acting for this account may assume the role (Amazon RDS User Guide,
		// "Preventing cross-service confused deputy problems": aws:SourceArn and
		// aws:SourceAccount in the trust policies of roles RDS assumes). aws:SourceAccount
		// alone: the proxy's own ARN would be a circular dependency (the proxy names the
		// role), and AWS's RDS Proxy pages document no source ARN pattern for its role.
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("rds.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Stack_Of(this).Account()}},
		}),
		Description: jsii.String("lambdards proxy: end-to-end IAM authentication to its database"),
	})
	policy := awsiam.NewManagedPolicy(this, jsii.String("Policy"), &awsiam.ManagedPolicyProps{
		Description: jsii.String("lambdards proxy: sign in to its database as any IAM-enabled user"),
		Roles:       &[]awsiam.IRole{role},
		Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("rds-db:connect"),
			Resources: jsii.Strings(*p.Database.ConnectArn("*")),
		})},
	})
	nag.SuppressFindings(policy.Node().DefaultChild(),
		"With end-to-end IAM the proxy signs in to its one database as whichever user a client signs in as; "+
			"which users a client may be is decided by the client's own rds-db:connect grant on the proxy.",
		[]string{`/^Resource::arn:<AWS::Partition>:rds-db:<AWS::Region>:<AWS::AccountId>:dbuser:<[A-Za-z0-9]+\.[A-Za-z]+>\/\*$/`},
		"AwsSolutions-IAM5")
	var initQuery *string
	if p.InitQuery != "" {
		initQuery = jsii.String(p.InitQuery)
	}
	px := awsrds.NewDatabaseProxy(this, jsii.String("Proxy"), &awsrds.DatabaseProxyProps{
		ProxyTarget:               p.Database.ProxyTarget(),
		Vpc:                       p.Vpc,
		VpcSubnets:                subnets,
		SecurityGroups:            &[]awsec2.ISecurityGroup{sg},
		Role:                      role,
		DbProxyName:               name(this),
		DefaultAuthScheme:         awsrds.DefaultAuthScheme_IAM_AUTH,
		IamAuth:                   jsii.Bool(true),
		RequireTLS:                jsii.Bool(true), // see Props.RequireTLS
		MaxConnectionsPercent:     jsii.Number(s.MaxConnectionsPercent),
		MaxIdleConnectionsPercent: jsii.Number(s.MaxIdleConnectionsPercent),
		BorrowTimeout:             awscdk.Duration_Seconds(jsii.Number(s.BorrowTimeoutSeconds)),
		IdleClientTimeout:         awscdk.Duration_Seconds(jsii.Number(s.IdleClientTimeoutSeconds)),
		InitQuery:                 initQuery,
		DebugLogging:              jsii.Bool(p.DebugLogging),
	})
	// The proxy registers its target with its role's permissions.
	px.Node().AddDependency(policy)
	// awsrds.DatabaseProxy itself allows the proxy's security group into the database's on
	// the database port, and nothing else.
	// aws-cdk-lib's DatabaseProxy knows no default port: give its clients the database's.
	conns := awsec2.NewConnections(&awsec2.ConnectionsProps{
		SecurityGroups: &[]awsec2.ISecurityGroup{sg}, DefaultPort: awsec2.Port_Tcp(jsii.Number(p.Database.Port())),
	})
	out := &Proxy{Construct: this, Proxy: px, SecurityGroup: sg, Settings: s, port: p.Database.Port(), connections: conns}
	if p.ReaderEndpoint {
		out.addReaderEndpoint(p.Vpc, subnets)
	}
	return out
}

// Endpoint is the proxy's host name.
func (x *Proxy) Endpoint() *string { return x.Proxy.Endpoint() }

// Port is the port clients connect to: the database's.
func (x *Proxy) Port() int { return x.port }

// Connections controls the proxy's network access; its default port is the database's.
func (x *Proxy) Connections() awsec2.Connections { return x.connections }

// ConnectArn is the resource of rds-db:connect for connecting through the proxy as user:
// arn:aws:rds-db:REGION:ACCOUNT:dbuser:prx-ID/USER, where prx-ID ends the proxy's ARN
// (Amazon RDS User Guide, "Creating an IAM policy for IAM authentication with RDS Proxy").
func (x *Proxy) ConnectArn(user string) *string {
	if x.connectPrefix == nil {
		// Built once: each call below is a round trip to node, and a user name is plain text.
		stack := awscdk.Stack_Of(x.Construct)
		id := stack.SplitArn(x.Proxy.DbProxyArn(), awscdk.ArnFormat_COLON_RESOURCE_NAME).ResourceName
		x.connectPrefix = stack.FormatArn(&awscdk.ArnComponents{
			Service:      jsii.String("rds-db"),
			Resource:     jsii.String("dbuser"),
			ResourceName: jsii.String(*id + "/"),
			ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
		})
	}
	return jsii.String(*x.connectPrefix + user)
}

// name is a proxy name unique to the construct's path within its account and Region: a
// letter, then letters, digits and single hyphens, at most 60 (RDS API Reference,
// CreateDBProxy, DBProxyName).
func name(scope constructs.Construct) *string {
	return awscdk.Names_UniqueResourceName(scope, &awscdk.UniqueResourceNameOptions{
		MaxLength: jsii.Number(60), Separator: jsii.String("-"),
	})
}

func settings(p Props) (Settings, []string) {
	var errs []string
	s := Settings{
		MaxConnectionsPercent:    p.MaxConnectionsPercent,
		BorrowTimeoutSeconds:     120,
		IdleClientTimeoutSeconds: p.IdleClientTimeoutSeconds,
	}
	if s.MaxConnectionsPercent == 0 {
		s.MaxConnectionsPercent = 100
	}
	if s.MaxConnectionsPercent < 1 || s.MaxConnectionsPercent > 100 {
		errs = append(errs, fmt.Sprintf("{MaxConnectionsPercent} %d: must be 1 to 100", s.MaxConnectionsPercent))
	}
	s.MaxIdleConnectionsPercent = s.MaxConnectionsPercent / 2
	if p.MaxIdleConnectionsPercent != nil {
		s.MaxIdleConnectionsPercent = *p.MaxIdleConnectionsPercent
	}
	if s.MaxIdleConnectionsPercent < 0 || s.MaxIdleConnectionsPercent > s.MaxConnectionsPercent {
		errs = append(errs, fmt.Sprintf("{MaxIdleConnectionsPercent} %d: must be 0 to {MaxConnectionsPercent} (%d): "+
			"the proxy cannot keep more connections idle than it may open; lower it, or leave it unset for half of {MaxConnectionsPercent}",
			s.MaxIdleConnectionsPercent, s.MaxConnectionsPercent))
	}
	if p.BorrowTimeoutSeconds != nil {
		s.BorrowTimeoutSeconds = *p.BorrowTimeoutSeconds
	}
	if s.BorrowTimeoutSeconds < MinBorrowTimeoutSeconds || s.BorrowTimeoutSeconds > MaxBorrowTimeoutSeconds {
		errs = append(errs, fmt.Sprintf("{BorrowTimeoutSeconds} %d: must be %d to %d (RDS Proxy's limit is %d; 0 would make a "+
			"client wait without limit, past every function's timeout)", s.BorrowTimeoutSeconds, MinBorrowTimeoutSeconds,
			MaxBorrowTimeoutSeconds, MaxBorrowTimeoutSeconds))
	}
	if s.IdleClientTimeoutSeconds == 0 {
		s.IdleClientTimeoutSeconds = 1800
	}
	// IdleClientTimeout 1-28,800 s: RDS API Reference, CreateDBProxy.
	if s.IdleClientTimeoutSeconds < 1 || s.IdleClientTimeoutSeconds > 28800 {
		errs = append(errs, fmt.Sprintf("{IdleClientTimeoutSeconds} %d: must be 1 to 28800", s.IdleClientTimeoutSeconds))
	}
	return s, errs
}

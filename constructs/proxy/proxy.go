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
	// Default: 120 (RDS API Reference, ConnectionPoolConfiguration; CloudFormation accepts 0-3600).
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
}

// Proxy is an RDS Proxy that requires TLS and IAM authentication.
type Proxy struct {
	constructs.Construct
	// Proxy is the underlying RDS Proxy.
	Proxy awsrds.DatabaseProxy
	// SecurityGroup is the proxy's security group: ingress only from clients that the
	// caller allows, egress only to the database port.
	SecurityGroup awsec2.SecurityGroup
	// Settings are the pool settings in effect, defaults applied.
	Settings Settings
	db       database.Database
}

// Settings are a proxy's pool settings after defaults.
type Settings struct {
	MaxConnectionsPercent     int
	MaxIdleConnectionsPercent int
	BorrowTimeoutSeconds      int
	IdleClientTimeoutSeconds  int
}

// New builds a Proxy. It panics with one error listing every invalid setting.
func New(scope constructs.Construct, id *string, props *Props) *Proxy {
	var p Props
	if props != nil {
		p = *props
	}
	s, errs := settings(p)
	if p.Database == nil {
		errs = append(errs, "database: required")
	}
	if p.Vpc == nil {
		errs = append(errs, "vpc: required")
	}
	if len(errs) > 0 {
		panic(fmt.Errorf("%s/%s: invalid proxy:\n  - %s", *scope.Node().Path(), *id, strings.Join(errs, "\n  - ")))
	}
	subnets := p.VpcSubnets
	if subnets == nil {
		subnets = &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED}
	}
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
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("rds.amazonaws.com"), nil),
		Description: jsii.String("lambdards proxy: end-to-end IAM authentication to its database"),
	})
	p.Database.GrantConnect(role, "*")
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
		RequireTLS:                jsii.Bool(true),
		MaxConnectionsPercent:     jsii.Number(s.MaxConnectionsPercent),
		MaxIdleConnectionsPercent: jsii.Number(s.MaxIdleConnectionsPercent),
		BorrowTimeout:             awscdk.Duration_Seconds(jsii.Number(s.BorrowTimeoutSeconds)),
		IdleClientTimeout:         awscdk.Duration_Seconds(jsii.Number(s.IdleClientTimeoutSeconds)),
		InitQuery:                 initQuery,
		DebugLogging:              jsii.Bool(p.DebugLogging),
	})
	// awsrds.DatabaseProxy itself allows the proxy's security group into the database's on
	// the database port, and nothing else.
	return &Proxy{Construct: this, Proxy: px, SecurityGroup: sg, Settings: s, db: p.Database}
}

// Endpoint is the proxy's host name.
func (x *Proxy) Endpoint() *string { return x.Proxy.Endpoint() }

// Port is the port clients connect to: the database's.
func (x *Proxy) Port() int { return x.db.Port() }

// Connections controls the proxy's network access.
func (x *Proxy) Connections() awsec2.Connections { return x.Proxy.Connections() }

// GrantConnect lets grantee connect through the proxy as user with IAM authentication.
func (x *Proxy) GrantConnect(grantee awsiam.IGrantable, user string) awsiam.Grant {
	return x.Proxy.GrantConnect(grantee, jsii.String(user))
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
		errs = append(errs, fmt.Sprintf("maxConnectionsPercent %d: must be 1 to 100", s.MaxConnectionsPercent))
	}
	s.MaxIdleConnectionsPercent = s.MaxConnectionsPercent / 2
	if p.MaxIdleConnectionsPercent != nil {
		s.MaxIdleConnectionsPercent = *p.MaxIdleConnectionsPercent
	}
	if s.MaxIdleConnectionsPercent < 0 || s.MaxIdleConnectionsPercent > s.MaxConnectionsPercent {
		errs = append(errs, fmt.Sprintf("maxIdleConnectionsPercent %d: must be 0 to maxConnectionsPercent (%d)",
			s.MaxIdleConnectionsPercent, s.MaxConnectionsPercent))
	}
	if p.BorrowTimeoutSeconds != nil {
		s.BorrowTimeoutSeconds = *p.BorrowTimeoutSeconds
	}
	// CloudFormation accepts ConnectionBorrowTimeout 0-3600 (AWS::RDS::DBProxyTargetGroup
	// ConnectionPoolConfigurationInfoFormat); the RDS API documents 0-300.
	if s.BorrowTimeoutSeconds < 0 || s.BorrowTimeoutSeconds > 3600 {
		errs = append(errs, fmt.Sprintf("borrowTimeoutSeconds %d: must be 0 to 3600", s.BorrowTimeoutSeconds))
	}
	if s.IdleClientTimeoutSeconds == 0 {
		s.IdleClientTimeoutSeconds = 1800
	}
	// IdleClientTimeout 1-28,800 s: RDS API Reference, CreateDBProxy.
	if s.IdleClientTimeoutSeconds < 1 || s.IdleClientTimeoutSeconds > 28800 {
		errs = append(errs, fmt.Sprintf("idleClientTimeoutSeconds %d: must be 1 to 28800", s.IdleClientTimeoutSeconds))
	}
	return s, errs
}

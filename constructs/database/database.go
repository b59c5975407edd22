// Package database builds the relational database behind lambdards: an RDS instance or an
// Aurora Serverless v2 cluster, PostgreSQL or MySQL, behind one Database interface that the
// proxy and function constructs depend on.
//
// Every variant encrypts its storage with a key it owns, keeps generated master credentials
// in Secrets Manager and rotates them, turns on IAM database authentication, requires TLS,
// exports its logs (with an audit log for MySQL), turns on Enhanced Monitoring, and owns the
// parameter group that fixes max_connections, so that the deployed database and the
// connection budget (package budget) agree exactly. It refuses subnets that route to the
// internet.
package database

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsrds"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/network"
	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/internal/fields"
	"github.com/lambdards/lambdards/internal/metric"
)

// Database is what the rest of the toolkit needs from a database, whichever variant built it.
type Database interface {
	constructs.IConstruct
	awsec2.IConnectable
	// Engine is the engine family.
	Engine() dbspec.Engine
	// Port is the port the database listens on.
	Port() int
	// DatabaseName is the database created at launch.
	DatabaseName() string
	// MasterUsername is the master user's name; its password is in Secret.
	MasterUsername() string
	// Endpoint is the writer's host name.
	Endpoint() *string
	// Secret holds the master credentials.
	Secret() awssecretsmanager.ISecret
	// ProxyTarget is the target an RDS Proxy connects to.
	ProxyTarget() awsrds.ProxyTarget
	// MaxConnections is the max_connections value written into the database's parameter group.
	MaxConnections() int
	// ReservedConnections are the connections the engine keeps for superusers and AWS
	// automation, which ordinary users can never use.
	ReservedConnections() int
	// AutoPause reports whether the database pauses when idle (Aurora Serverless v2 at 0 ACU).
	AutoPause() bool
	// Description names the database for reports, for example "RDS postgres 17.7 t4g.micro".
	Description() string
	// ConnectArn is the resource of rds-db:connect for connecting directly as user ("*" for
	// any user). Lambda functions get it by joining a pool (package pool), which counts
	// their connections.
	ConnectArn(user string) *string
	// DataAPIArn is the cluster's ARN when its RDS Data API is on (ServerlessProps.DataAPI,
	// ClusterAttributes.DataAPI), the resource that rds-data calls name; nil otherwise.
	DataAPIArn() *string
}

// Props holds the settings every variant shares.
type Props struct {
	// Vpc is the VPC to place the database in. Required.
	Vpc awsec2.IVpc
	// VpcSubnets selects the database's subnets; they must not route to the internet.
	// Default: the VPC's isolated subnets.
	VpcSubnets *awsec2.SubnetSelection
	// Engine is the engine family.
	// Default: Postgres.
	Engine dbspec.Engine
	// EngineVersion overrides the engine version, for example "16.9" (RDS PostgreSQL),
	// "8.4.8" (RDS MySQL), "16.9" (Aurora PostgreSQL) or "3.10.0" (Aurora MySQL).
	// Default: the version DefaultVersion returns for the variant and engine.
	EngineVersion string
	// DatabaseName is the database created at launch.
	// Default: "app".
	DatabaseName string
	// MasterUsername is the master user, whose generated password goes to Secrets Manager.
	// Default: "lambdards".
	MasterUsername string
	// MaxConnections sets max_connections explicitly instead of deriving it from the
	// instance class or maximum capacity.
	// Default: 0, derived (see package budget).
	MaxConnections int
	// BackupRetentionDays is how long automated backups are kept (1-35).
	// Default: 7.
	BackupRetentionDays int
	// RemovalPolicy decides what happens to the database, its key and its secret when the
	// stack deletes them. SNAPSHOT keeps a final snapshot (and the key and secret that
	// open it); RETAIN keeps everything; DESTROY deletes everything.
	// Default: awscdk.RemovalPolicy_SNAPSHOT.
	RemovalPolicy awscdk.RemovalPolicy
	// DeletionProtection stops the database from being deleted. It cannot be combined with
	// RemovalPolicy DESTROY.
	// Default: true when RemovalPolicy is RETAIN, else false (SNAPSHOT keeps the data in a
	// final snapshot).
	DeletionProtection *bool
	// RotationDays rotates the master password every this many days (1-1000) with Secrets
	// Manager's single-user rotation function, which runs in VpcSubnets and reaches Secrets
	// Manager through SecretsManagerEndpoint. 0 turns rotation off.
	// Default: 30.
	RotationDays *int
	// SecretsManagerEndpoint is the VPC's Secrets Manager interface endpoint (package
	// network, InterfaceEndpoints). The rotation function runs in the database's subnets,
	// which never route to the internet, so rotation needs it.
	// Default: none; required when RotationDays is not 0.
	SecretsManagerEndpoint awsec2.IInterfaceVpcEndpoint
	// MonitoringIntervalSeconds is the Enhanced Monitoring (OS metrics) interval: 0 (off),
	// 1, 5, 10, 15, 30 or 60.
	// Default: 60.
	MonitoringIntervalSeconds *int
}

// versions are the default engine versions, chosen as recent minor versions that every
// feature lambdards uses supports (IAM auth, RDS Proxy, end-to-end IAM through the proxy,
// and for Aurora Serverless v2 auto-pause, which needs Aurora PostgreSQL 16.3+ or
// Aurora MySQL 3.08.0+: Amazon Aurora User Guide, "Scaling to Zero ACUs with automatic
// pause and resume for Aurora Serverless v2").
var versions = map[bool]map[dbspec.Engine]string{
	false: {dbspec.Postgres: "17.7", dbspec.MySQL: "8.4.8"},
	true:  {dbspec.Postgres: "17.7", dbspec.MySQL: "3.10.0"},
}

// DefaultVersion returns the engine version a variant uses when Props.EngineVersion is empty.
func DefaultVersion(aurora bool, e dbspec.Engine) string { return versions[aurora][e] }

// defaultPort returns the engine's default port.
func defaultPort(e dbspec.Engine) int {
	if e == dbspec.MySQL {
		return 3306
	}
	return 5432
}

// tlsParameters are the parameters that make the engine refuse unencrypted connections:
// rds.force_ssl for PostgreSQL and require_secure_transport for MySQL (Amazon RDS User
// Guide, "Using SSL with a PostgreSQL DB instance" and "SSL/TLS support for MySQL DB
// instances").
func tlsParameters(e dbspec.Engine) map[string]*string {
	if e == dbspec.MySQL {
		return map[string]*string{"require_secure_transport": jsii.String("ON")}
	}
	return map[string]*string{"rds.force_ssl": jsii.String("1")}
}

// logExports are the engine logs sent to CloudWatch Logs: every log the engine offers
// except MySQL's general log (Amazon RDS User Guide, "Publishing database logs to Amazon
// CloudWatch Logs"; Amazon Aurora User Guide, the same for Aurora). RDS PostgreSQL's
// upgrade log has no Aurora counterpart.
func logExports(aurora bool, e dbspec.Engine) *[]*string {
	switch {
	case e == dbspec.MySQL:
		return jsii.Strings("audit", "error", "slowquery")
	case aurora:
		return jsii.Strings("postgresql")
	}
	return jsii.Strings("postgresql", "upgrade")
}

// auditEvents are the database events the MySQL audit log records: sign-ins, and statements
// that change the schema or privileges, not every query.
const auditEvents = "CONNECT,QUERY_DDL,QUERY_DCL"

// auditOptions is the option group that turns on the MariaDB Audit Plugin, which writes
// RDS for MySQL's audit log (Amazon RDS User Guide, "MariaDB Audit Plugin support for
// MySQL": option MARIADB_AUDIT_PLUGIN, setting SERVER_AUDIT_EVENTS; all MySQL 8.4 and
// 8.0.28+ versions). It is nil for PostgreSQL. A snapshot stays tied to its option group,
// so the group is kept as long as the key.
func auditOptions(scope constructs.Construct, engine awsrds.IInstanceEngine, p Props) awsrds.IOptionGroup {
	if p.Engine != dbspec.MySQL {
		return nil
	}
	og := awsrds.NewOptionGroup(scope, jsii.String("Options"), &awsrds.OptionGroupProps{
		Engine:      engine,
		Description: jsii.String("lambdards: MySQL audit log (sign-ins, DDL, DCL)"),
		Configurations: &[]*awsrds.OptionConfiguration{{
			Name:     jsii.String("MARIADB_AUDIT_PLUGIN"),
			Settings: &map[string]*string{"SERVER_AUDIT_EVENTS": jsii.String(auditEvents)},
		}},
	})
	og.ApplyRemovalPolicy(keptWithData(p.RemovalPolicy))
	return og
}

// auroraAuditParameters turn on Aurora MySQL's Advanced Auditing, which writes its audit
// log (Amazon Aurora User Guide, "Using Advanced Auditing with an Amazon Aurora MySQL DB
// cluster": server_audit_logging and server_audit_events, cluster parameters).
func auroraAuditParameters(e dbspec.Engine) map[string]*string {
	if e != dbspec.MySQL {
		return nil
	}
	return map[string]*string{"server_audit_logging": jsii.String("1"), "server_audit_events": jsii.String(auditEvents)}
}

func (p Props) withDefaults() Props {
	if p.Engine == "" {
		p.Engine = dbspec.Postgres
	}
	if p.DatabaseName == "" {
		p.DatabaseName = "app"
	}
	if p.MasterUsername == "" {
		p.MasterUsername = "lambdards"
	}
	if p.BackupRetentionDays == 0 {
		p.BackupRetentionDays = 7
	}
	if p.RemovalPolicy == "" {
		p.RemovalPolicy = awscdk.RemovalPolicy_SNAPSHOT
	}
	if p.DeletionProtection == nil {
		p.DeletionProtection = jsii.Bool(p.RemovalPolicy == awscdk.RemovalPolicy_RETAIN)
	}
	if p.VpcSubnets == nil {
		p.VpcSubnets = &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED}
	}
	if p.RotationDays == nil {
		p.RotationDays = intPtr(30)
	}
	if p.MonitoringIntervalSeconds == nil {
		p.MonitoringIntervalSeconds = intPtr(60)
	}
	return p
}

// CheckRemoval reports a deletion protection that a removal policy cannot honour (""
// when they agree), as the constructs refuse it, naming its settings as {GoName}.
func CheckRemoval(removal awscdk.RemovalPolicy, deletionProtection bool) string {
	if removal == awscdk.RemovalPolicy_DESTROY && deletionProtection {
		return "{DeletionProtection} true with {RemovalPolicy} destroy: deleting the stack would fail on the protected database; " +
			"to keep the data use {RemovalPolicy} snapshot or retain, to throw it away turn {DeletionProtection} off"
	}
	return ""
}

func (p Props) validate() []string {
	var errs []string
	if p.Vpc == nil {
		errs = append(errs, "{Vpc}: required")
	}
	if p.Engine != dbspec.Postgres && p.Engine != dbspec.MySQL {
		errs = append(errs, fmt.Sprintf("{Engine} %q: must be one of %q", p.Engine, dbspec.Engines))
	}
	if !identifier(p.DatabaseName) {
		errs = append(errs, fmt.Sprintf("{DatabaseName} %q: must start with a letter and hold only letters, digits and underscores (at most 63)", p.DatabaseName))
	}
	if !identifier(p.MasterUsername) || len(p.MasterUsername) > 16 {
		errs = append(errs, fmt.Sprintf("{MasterUsername} %q: must start with a letter and hold only letters, digits and underscores (at most 16)", p.MasterUsername))
	}
	if p.MaxConnections < 0 {
		errs = append(errs, fmt.Sprintf("{MaxConnections} %d: must be 0 (derived) or positive", p.MaxConnections))
	}
	if p.BackupRetentionDays < MinBackupRetentionDays || p.BackupRetentionDays > MaxBackupRetentionDays {
		errs = append(errs, fmt.Sprintf("{BackupRetentionDays} %d: must be %d to %d", p.BackupRetentionDays, MinBackupRetentionDays, MaxBackupRetentionDays))
	}
	switch p.RemovalPolicy {
	case awscdk.RemovalPolicy_SNAPSHOT, awscdk.RemovalPolicy_RETAIN, awscdk.RemovalPolicy_DESTROY:
	default:
		errs = append(errs, fmt.Sprintf("{RemovalPolicy} %q: must be snapshot, retain or destroy", p.RemovalPolicy))
	}
	if problem := CheckRemoval(p.RemovalPolicy, *p.DeletionProtection); problem != "" {
		errs = append(errs, problem)
	}
	if d := *p.RotationDays; d < 0 || d > MaxRotationDays {
		errs = append(errs, fmt.Sprintf("{RotationDays} %d: must be 0 (no rotation) or 1 to %d", d, MaxRotationDays))
	} else if d > 0 && p.SecretsManagerEndpoint == nil {
		errs = append(errs, fmt.Sprintf("{RotationDays} %d: the rotation function runs in the database's subnets, which have no route to Secrets Manager; "+
			"give {SecretsManagerEndpoint} (a Secrets Manager interface endpoint in the VPC, for example network.Props.InterfaceEndpoints) or set {RotationDays} 0", d))
	}
	if m := *p.MonitoringIntervalSeconds; !slices.Contains(MonitoringIntervals, m) {
		errs = append(errs, fmt.Sprintf("{MonitoringIntervalSeconds} %d: must be one of %v (0 turns Enhanced Monitoring off)", m, MonitoringIntervals))
	}
	if p.Vpc != nil {
		routes, err := network.InternetRoutes(p.Vpc, p.VpcSubnets)
		if err != nil {
			errs = append(errs, fmt.Sprintf("{VpcSubnets}: %v: select isolated subnets of the VPC, or add an isolated tier to it (aws-cdk-lib's SubnetType PRIVATE_ISOLATED)", err))
		}
		if len(routes) > 0 {
			errs = append(errs, fmt.Sprintf("{VpcSubnets}: a database must not be reachable from, or reach, the internet, but %s; "+
				"select isolated subnets, with no route to an internet or NAT gateway (aws-cdk-lib's SubnetType PRIVATE_ISOLATED); "+
				"the VPC has %s, so add an isolated tier if it has none", strings.Join(routes, "; "), network.Tiers(p.Vpc)))
		}
	}
	return errs
}

// Limits of the settings every variant shares, which the app's context keys take too.
const (
	// Backup retention 1-35 days: Amazon RDS User Guide, "Backup retention period".
	MinBackupRetentionDays = 1
	MaxBackupRetentionDays = 35
	// Rotation every 1-1000 days: AWS Secrets Manager API Reference, RotationRulesType,
	// AutomaticallyAfterDays.
	MaxRotationDays = 1000
)

// MonitoringIntervals are the Enhanced Monitoring intervals in seconds, 0 for off (Amazon
// RDS API Reference, CreateDBInstance, MonitoringInterval).
var MonitoringIntervals = []int{0, 1, 5, 10, 15, 30, 60}

func intPtr(n int) *int { return &n }

// identifier reports whether s is a plain SQL identifier that both engines accept unquoted.
func identifier(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i, r := range s {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || !(r >= '0' && r <= '9' || r == '_')) {
			return false
		}
	}
	return true
}

// fail panics with every problem found, prefixed with the construct's path.
func fail(scope constructs.Construct, id *string, errs []string) {
	fields.Problems(errs).Fail(*scope.Node().Path()+"/"+*id, "database")
}

// base holds what both variants build and expose.
type base struct {
	constructs.Construct
	props          Props
	port           int
	connections    awsec2.Connections
	secret         awssecretsmanager.ISecret
	maxConnections int
	reserved       int
	description    string
	endpoint       *string
	resourceID     *string
	connectPrefix  *string // ConnectArn without the user
	dataAPIArn     *string
	spec           func(metricName string) metric.Spec // the definition of one of its CloudWatch metrics
}

func (b *base) Engine() dbspec.Engine             { return b.props.Engine }
func (b *base) Port() int                         { return b.port }
func (b *base) DatabaseName() string              { return b.props.DatabaseName }
func (b *base) MasterUsername() string            { return b.props.MasterUsername }
func (b *base) Endpoint() *string                 { return b.endpoint }
func (b *base) Secret() awssecretsmanager.ISecret { return b.secret }
func (b *base) Connections() awsec2.Connections   { return b.connections }
func (b *base) MaxConnections() int               { return b.maxConnections }
func (b *base) ReservedConnections() int          { return b.reserved }
func (b *base) Description() string               { return b.description }
func (b *base) DataAPIArn() *string               { return b.dataAPIArn }

// ConnectArn is arn:aws:rds-db:REGION:ACCOUNT:dbuser:RESOURCE-ID/USER (same source).
func (b *base) ConnectArn(user string) *string {
	if b.connectPrefix == nil {
		// Built once: formatting an ARN is a round trip to node, and a user name is plain text.
		b.connectPrefix = awscdk.Stack_Of(b.Construct).FormatArn(&awscdk.ArnComponents{
			Service:      jsii.String("rds-db"),
			Resource:     jsii.String("dbuser"),
			ResourceName: jsii.Sprintf("%s/", *b.resourceID),
			ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
		})
	}
	return jsii.String(*b.connectPrefix + user)
}

// newShared builds the parts both variants share: the security group, the encryption key,
// the subnet group and the generated credentials. Their construct IDs are public contract:
// changing one replaces a stateful resource.
func newShared(this constructs.Construct, p Props) (awsec2.SecurityGroup, awskms.Key, awsrds.SubnetGroup, awsrds.Credentials) {
	sg := awsec2.NewSecurityGroup(this, jsii.String("SecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              p.Vpc,
		Description:      jsii.String("lambdards database: ingress only from its proxy or clients, on the database port"),
		AllowAllOutbound: jsii.Bool(false),
	})
	// A snapshot is encrypted with this key: it must outlive the database unless
	// everything is destroyed.
	keyPolicy := keptWithData(p.RemovalPolicy)
	key := awskms.NewKey(this, jsii.String("Key"), &awskms.KeyProps{
		Description:       jsii.String("lambdards database storage and master secret"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     keyPolicy,
	})
	subnets := awsrds.NewSubnetGroup(this, jsii.String("Subnets"), &awsrds.SubnetGroupProps{
		Vpc:           p.Vpc,
		VpcSubnets:    p.VpcSubnets,
		Description:   jsii.String("lambdards database subnets"),
		RemovalPolicy: keyPolicy,
	})
	creds := awsrds.Credentials_FromGeneratedSecret(jsii.String(p.MasterUsername), &awsrds.CredentialsBaseOptions{
		EncryptionKey: key,
	})
	return sg, key, subnets, creds
}

// keptWithData is the removal policy of what a snapshot or a retained database still
// needs (its key, secret, subnet group and option group): RETAIN, unless everything is
// destroyed.
func keptWithData(r awscdk.RemovalPolicy) awscdk.RemovalPolicy {
	if r == awscdk.RemovalPolicy_DESTROY {
		return r
	}
	return awscdk.RemovalPolicy_RETAIN
}

// masterSecret is the generated master secret's resource (AWS::SecretsManager::Secret),
// which awsrds builds as the child "Secret" of the instance or cluster. Their Secret()
// method returns the secret's attachment to the database instead.
func masterSecret(db constructs.IConstruct) awscdk.CfnResource {
	secret := db.Node().TryFindChild(jsii.String("Secret"))
	if secret == nil {
		panic(fmt.Errorf("%s: no generated master secret", *db.Node().Path()))
	}
	return secret.Node().DefaultChild().(awscdk.CfnResource)
}

func itoa(n int) *string { return jsii.Sprintf("%d", n) }

package database

import (
	"fmt"
	"math"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsrds"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/budget"
	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/internal/fields"
	"github.com/lambdards/lambdards/internal/metric"
	"github.com/lambdards/lambdards/internal/nag"
)

// defaultMinCapacity is ServerlessProps.MinCapacity's default, in ACUs.
const defaultMinCapacity = 0.5

// ServerlessProps configures an Aurora Serverless v2 cluster.
type ServerlessProps struct {
	Props
	// MinCapacity is the minimum capacity in ACUs, in steps of 0.5; 0 lets the cluster
	// pause when idle (not with an RDS Proxy, which keeps connections open).
	// Default: 0.5.
	MinCapacity *float64
	// MaxCapacity is the maximum capacity in ACUs (1-256, in steps of 0.5; above 128 needs
	// Aurora PostgreSQL 14.10, 15.5 or 16.1 and later, or Aurora MySQL 3.06.0 and later).
	// max_connections derives from it.
	// Default: 4.
	MaxCapacity float64
	// Reader adds a Serverless v2 reader in another Availability Zone that scales with the
	// writer and takes over on failover.
	// Default: false.
	Reader bool
	// AutoPauseSeconds is how long the cluster stays idle before it pauses, when
	// MinCapacity is 0 (300-86,400).
	// Default: 300.
	AutoPauseSeconds int
	// DataAPI turns on the RDS Data API (the cluster's HTTP endpoint), through which the
	// functions of a pool in pool.ModeDataAPI query it over HTTPS, from outside the VPC
	// (see CheckDataAPI for the engine versions that offer it).
	// Default: false.
	DataAPI bool
}

// Serverless is an Aurora Serverless v2 cluster, PostgreSQL- or MySQL-compatible.
type Serverless struct {
	base
	minCapacity float64
	hasReader   bool
	reader      *Reader // built when first asked for (reader.go)
	// Cluster is the underlying Aurora cluster.
	Cluster awsrds.DatabaseCluster
	// ClusterParameterGroup holds the cluster-level parameters (TLS).
	ClusterParameterGroup awsrds.ParameterGroup
	// ParameterGroup holds the instance-level parameters (max_connections) of every instance.
	ParameterGroup awsrds.ParameterGroup
}

var _ Database = (*Serverless)(nil)

// NewServerless builds an Aurora Serverless v2 cluster. It panics with one error listing
// every invalid setting.
func NewServerless(scope constructs.Construct, id *string, props *ServerlessProps) *Serverless {
	p := fields.Of(props)
	p.Props = p.Props.withDefaults()
	if p.MinCapacity == nil {
		min := defaultMinCapacity
		p.MinCapacity = &min
	}
	if p.MaxCapacity == 0 {
		p.MaxCapacity = 4
	}
	if p.AutoPauseSeconds == 0 {
		p.AutoPauseSeconds = 300
	}
	errs := p.Props.validate()
	// Auto-pause after 300-86,400 idle seconds: Amazon Aurora User Guide, "Scaling to Zero
	// ACUs with automatic pause and resume for Aurora Serverless v2".
	if *p.MinCapacity == 0 && (p.AutoPauseSeconds < 300 || p.AutoPauseSeconds > 86400) {
		errs = append(errs, fmt.Sprintf("{AutoPauseSeconds} %d: must be 300 to 86400", p.AutoPauseSeconds))
	}
	version := p.EngineVersion
	if version == "" {
		version = DefaultVersion(true, p.Engine)
	}
	// CheckServerless is exported so that the app's context layer reports the same
	// problems before synthesis.
	problems := CheckServerless(p.Engine, version, *p.MinCapacity, p.MaxCapacity)
	if p.DataAPI {
		problems = append(problems, CheckDataAPI(p.Engine, version)...)
	}
	for _, problem := range problems {
		errs = append(errs, problem.raw())
	}
	maxConns := p.MaxConnections
	n, err := budget.ServerlessMaxConnections(p.Engine, *p.MinCapacity, p.MaxCapacity)
	if err != nil {
		errs = append(errs, fields.In(err, fields.Raw))
	}
	if maxConns == 0 {
		maxConns = n
	} else if err == nil {
		// An explicit value is held to the same limits as the derived one (the 2000 cap
		// at a minimum of 0 or 0.5 ACU, Aurora MySQL's 16000, the capacity's memory);
		// the rule lives in package budget.
		if err := budget.CheckServerlessMaxConnections(p.Engine, *p.MinCapacity, p.MaxCapacity, maxConns); err != nil {
			errs = append(errs, fields.In(err, fields.Raw))
		}
	}
	fail(scope, id, errs)

	this := constructs.NewConstruct(scope, id)
	engine := clusterEngine(p.Engine, version)
	clusterParams := tlsParameters(p.Engine)
	for k, v := range auroraAuditParameters(p.Engine) {
		clusterParams[k] = v
	}
	clusterPG := awsrds.NewParameterGroup(this, jsii.String("ClusterParameters"), &awsrds.ParameterGroupProps{
		Engine:      engine,
		Description: jsii.String("lambdards: TLS required"),
		Parameters:  &clusterParams,
	})
	instanceParams := map[string]*string{"max_connections": itoa(maxConns)}
	instancePG := awsrds.NewParameterGroup(this, jsii.String("Parameters"), &awsrds.ParameterGroupProps{
		Engine:      engine,
		Description: jsii.String("lambdards: max_connections fixed by the connection budget"),
		Parameters:  &instanceParams,
	})
	sg, key, subnets, creds := newShared(this, p.Props)
	monitor := newMonitoring(this, p.Props)

	var readers *[]awsrds.IClusterInstance
	if p.Reader {
		readers = &[]awsrds.IClusterInstance{awsrds.ClusterInstance_ServerlessV2(jsii.String("Reader"), &awsrds.ServerlessV2ClusterInstanceProps{
			ScaleWithWriter:         jsii.Bool(true),
			ParameterGroup:          instancePG,
			PubliclyAccessible:      jsii.Bool(false),
			AutoMinorVersionUpgrade: jsii.Bool(true),
			CaCertificate:           awsrds.CaCertificate_RDS_CA_RSA2048_G1(),
		})}
	}
	// Left out unless on, so that the templates of clusters without it stay as they were.
	var dataAPI *bool
	if p.DataAPI {
		dataAPI = jsii.Bool(true)
	}
	var autoPause awscdk.Duration
	if *p.MinCapacity == 0 {
		autoPause = awscdk.Duration_Seconds(jsii.Number(p.AutoPauseSeconds))
	}
	cluster := awsrds.NewDatabaseCluster(this, jsii.String("Cluster"), &awsrds.DatabaseClusterProps{
		Engine:              engine,
		Vpc:                 p.Vpc,
		SubnetGroup:         subnets,
		SecurityGroups:      &[]awsec2.ISecurityGroup{sg},
		Credentials:         creds,
		DefaultDatabaseName: jsii.String(p.DatabaseName),
		ParameterGroup:      clusterPG,
		Writer: awsrds.ClusterInstance_ServerlessV2(jsii.String("Writer"), &awsrds.ServerlessV2ClusterInstanceProps{
			ParameterGroup:          instancePG,
			PubliclyAccessible:      jsii.Bool(false),
			AutoMinorVersionUpgrade: jsii.Bool(true),
			CaCertificate:           awsrds.CaCertificate_RDS_CA_RSA2048_G1(),
		}),
		Readers:                       readers,
		ServerlessV2MinCapacity:       p.MinCapacity,
		ServerlessV2MaxCapacity:       jsii.Number(p.MaxCapacity),
		ServerlessV2AutoPauseDuration: autoPause,
		StorageEncrypted:              jsii.Bool(true),
		StorageEncryptionKey:          key,
		IamAuthentication:             jsii.Bool(true),
		Backup:                        &awsrds.BackupProps{Retention: awscdk.Duration_Days(jsii.Number(p.BackupRetentionDays))},
		CopyTagsToSnapshot:            jsii.Bool(true),
		DeletionProtection:            p.DeletionProtection,
		RemovalPolicy:                 p.RemovalPolicy,
		CloudwatchLogsExports:         logExports(true, p.Engine),
		Port:                          jsii.Number(defaultPort(p.Engine)),
		MonitoringInterval:            monitor.interval,
		MonitoringRole:                monitor.role,
		EnableDataApi:                 dataAPI,
	})
	secure(this, p.Props, cluster, sg, monitor,
		func(o *awsrds.RotationSingleUserOptions) { cluster.AddRotationSingleUser(o) }, dbInstances(cluster))
	if p.Engine == dbspec.MySQL {
		nag.Suppress(cluster.Node().DefaultChild(), "Backtrack is off: it is not offered in every Region, can only be chosen when the cluster is "+
			"created, and bills for change records; point-in-time restore from automated backups undoes the same mistakes, more slowly.",
			"AwsSolutions-RDS14")
	}

	reader := ""
	if p.Reader {
		reader = " + reader"
	}
	var dataAPIArn *string
	if p.DataAPI {
		dataAPIArn = cluster.ClusterArn()
		reader += ", Data API on"
	}
	return &Serverless{
		base: base{
			Construct:      this,
			props:          p.Props,
			port:           defaultPort(p.Engine),
			connections:    cluster.Connections(),
			secret:         cluster.Secret(),
			maxConnections: maxConns,
			reserved:       budget.ReservedConnections(p.Engine, true),
			description:    fmt.Sprintf("Aurora %s %s Serverless v2 %s-%s ACU%s", p.Engine, version, acu(*p.MinCapacity), acu(p.MaxCapacity), reader),
			endpoint:       cluster.ClusterEndpoint().Hostname(),
			resourceID:     cluster.ClusterResourceIdentifier(),
			dataAPIArn:     dataAPIArn,
			spec:           func(name string) metric.Spec { return metric.Writer(cluster.ClusterIdentifier(), name) },
		},
		minCapacity:           *p.MinCapacity,
		hasReader:             p.Reader,
		Cluster:               cluster,
		ClusterParameterGroup: clusterPG,
		ParameterGroup:        instancePG,
	}
}

// ProxyTarget returns the cluster as an RDS Proxy target.
func (s *Serverless) ProxyTarget() awsrds.ProxyTarget {
	return awsrds.ProxyTarget_FromCluster(s.Cluster)
}

// AutoPause reports whether the cluster pauses when idle: its minimum capacity is 0 ACU.
func (s *Serverless) AutoPause() bool { return s.minCapacity == 0 }

func acu(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func clusterEngine(e dbspec.Engine, version string) awsrds.IClusterEngine {
	if e == dbspec.MySQL {
		// Aurora MySQL 3 versions are written "8.0.mysql_aurora.3.10.0" in the RDS API.
		full := "8.0.mysql_aurora." + version
		return awsrds.DatabaseClusterEngine_AuroraMysql(&awsrds.AuroraMysqlClusterEngineProps{
			Version: awsrds.AuroraMysqlEngineVersion_Of(jsii.String(full), jsii.String("8.0")),
		})
	}
	return awsrds.DatabaseClusterEngine_AuroraPostgres(&awsrds.AuroraPostgresClusterEngineProps{
		Version: awsrds.AuroraPostgresEngineVersion_Of(jsii.String(version), jsii.String(majorVersion(e, version)), nil),
	})
}

package database

import (
	"fmt"
	"strings"

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

// InstanceProps configures an RDS database instance.
type InstanceProps struct {
	Props
	// InstanceClass is the DB instance class as CDK writes it, for example "t4g.micro" or
	// "r6g.large" (without the "db." prefix), of a family InstanceFamilies lists and that
	// RDS runs the engine version on.
	// Default: "t4g.micro".
	InstanceClass string
	// MultiAz adds a synchronous standby in a second Availability Zone.
	// Default: false.
	MultiAz bool
	// AllocatedStorageGiB is the initial gp3 storage.
	// Default: 20.
	AllocatedStorageGiB int
	// MaxAllocatedStorageGiB turns on storage autoscaling up to this size; 0 turns it off.
	// Default: 100.
	MaxAllocatedStorageGiB *int
}

// Instance is an RDS for PostgreSQL or MySQL database instance.
type Instance struct {
	base
	// Instance is the underlying RDS instance.
	Instance awsrds.DatabaseInstance
	// ParameterGroup is the parameter group the instance owns.
	ParameterGroup awsrds.ParameterGroup
}

var _ Database = (*Instance)(nil)

// NewInstance builds an RDS database instance. It panics with one error listing every
// invalid setting.
func NewInstance(scope constructs.Construct, id *string, props *InstanceProps) *Instance {
	p := fields.Of(props)
	p.Props = p.Props.withDefaults()
	if p.InstanceClass == "" {
		p.InstanceClass = "t4g.micro"
	}
	p.InstanceClass = strings.TrimPrefix(p.InstanceClass, "db.")
	if p.AllocatedStorageGiB == 0 {
		p.AllocatedStorageGiB = 20
	}
	if p.MaxAllocatedStorageGiB == nil {
		hundred := 100
		p.MaxAllocatedStorageGiB = &hundred
	}
	errs := p.Props.validate()
	// gp3 storage is 20-65,536 GiB for PostgreSQL and MySQL: Amazon RDS User Guide,
	// "Amazon RDS DB instance storage".
	if p.AllocatedStorageGiB < 20 || p.AllocatedStorageGiB > 65536 {
		errs = append(errs, fmt.Sprintf("{AllocatedStorageGiB} %d: must be 20 to 65536", p.AllocatedStorageGiB))
	}
	if m := *p.MaxAllocatedStorageGiB; m != 0 && (m < p.AllocatedStorageGiB || m > 65536) {
		errs = append(errs, fmt.Sprintf("{MaxAllocatedStorageGiB} %d: must be 0 (no autoscaling) or %d to 65536", m, p.AllocatedStorageGiB))
	}
	version := p.EngineVersion
	if version == "" {
		version = DefaultVersion(false, p.Engine)
	}
	// The engine version and the class are judged whether max_connections is derived or
	// given: AWS refuses what does not exist either way. CheckInstance is exported so that
	// the app's context layer reports the same problems before synthesis.
	classOK := true
	for _, problem := range CheckInstance(p.Engine, version, p.InstanceClass) {
		errs = append(errs, problem.raw())
		classOK = classOK && problem.Setting != "InstanceClass"
	}
	maxConns := p.MaxConnections
	if maxConns > 0 && classOK {
		// The rule lives in package budget, so that the app's context layer can apply
		// it before synthesis and both report the same message.
		if err := budget.CheckInstanceMaxConnections(p.Engine, p.InstanceClass, maxConns); err != nil {
			errs = append(errs, fields.In(err, fields.Raw))
		}
	}
	if len(errs) == 0 && maxConns == 0 {
		n, err := budget.InstanceMaxConnections(p.Engine, p.InstanceClass)
		if err != nil {
			errs = append(errs, fields.Errorf("{InstanceClass} %q: %v", p.InstanceClass, err).In(fields.Raw))
		}
		maxConns = n
	}
	fail(scope, id, errs)

	this := constructs.NewConstruct(scope, id)
	engine := instanceEngine(p.Engine, version)
	params := tlsParameters(p.Engine)
	params["max_connections"] = itoa(maxConns)
	pg := awsrds.NewParameterGroup(this, jsii.String("Parameters"), &awsrds.ParameterGroupProps{
		Engine:      engine,
		Description: jsii.String("lambdards: max_connections fixed by the connection budget, TLS required"),
		Parameters:  &params,
	})
	sg, key, subnets, creds := newShared(this, p.Props)
	options := auditOptions(this, engine, p.Props)
	monitor := newMonitoring(this, p.Props)

	var maxStorage *float64
	if m := *p.MaxAllocatedStorageGiB; m > 0 {
		maxStorage = jsii.Number(m)
	}
	instance := awsrds.NewDatabaseInstance(this, jsii.String("Instance"), &awsrds.DatabaseInstanceProps{
		Engine:                  engine,
		InstanceType:            awsec2.NewInstanceType(jsii.String(p.InstanceClass)),
		Vpc:                     p.Vpc,
		SubnetGroup:             subnets,
		SecurityGroups:          &[]awsec2.ISecurityGroup{sg},
		Credentials:             creds,
		DatabaseName:            jsii.String(p.DatabaseName),
		ParameterGroup:          pg,
		MultiAz:                 jsii.Bool(p.MultiAz),
		AllocatedStorage:        jsii.Number(p.AllocatedStorageGiB),
		MaxAllocatedStorage:     maxStorage,
		StorageType:             awsrds.StorageType_GP3,
		StorageEncrypted:        jsii.Bool(true),
		StorageEncryptionKey:    key,
		IamAuthentication:       jsii.Bool(true),
		PubliclyAccessible:      jsii.Bool(false),
		BackupRetention:         awscdk.Duration_Days(jsii.Number(p.BackupRetentionDays)),
		CopyTagsToSnapshot:      jsii.Bool(true),
		AutoMinorVersionUpgrade: jsii.Bool(true),
		DeletionProtection:      p.DeletionProtection,
		RemovalPolicy:           p.RemovalPolicy,
		CloudwatchLogsExports:   logExports(false, p.Engine),
		OptionGroup:             options,
		CaCertificate:           awsrds.CaCertificate_RDS_CA_RSA2048_G1(),
		DeleteAutomatedBackups:  jsii.Bool(p.RemovalPolicy == awscdk.RemovalPolicy_DESTROY),
		Port:                    jsii.Number(defaultPort(p.Engine)),
		MonitoringInterval:      monitor.interval,
		MonitoringRole:          monitor.role,
	})
	cfn := instance.Node().DefaultChild().(awscdk.CfnResource)
	secure(this, p.Props, instance, sg, monitor,
		func(o *awsrds.RotationSingleUserOptions) { instance.AddRotationSingleUser(o) }, []awscdk.CfnResource{cfn})
	if !p.MultiAz {
		nag.Suppress(cfn, "Single-AZ by configuration (multiAz false): a standby in a second Availability Zone doubles the cost; "+
			"set multiAz true for one. Backups and the final snapshot keep the data either way.",
			append([]string{"AwsSolutions-RDS3"}, nag.NISTAndHIPAA("RDSMultiAZSupport")...)...)
	}

	multi := ""
	if p.MultiAz {
		multi = " Multi-AZ"
	}
	return &Instance{
		base: base{
			Construct:      this,
			props:          p.Props,
			port:           defaultPort(p.Engine),
			connections:    instance.Connections(),
			secret:         instance.Secret(),
			maxConnections: maxConns,
			reserved:       budget.ReservedConnections(p.Engine, false),
			description:    fmt.Sprintf("RDS %s %s %s%s", p.Engine, version, p.InstanceClass, multi),
			endpoint:       instance.DbInstanceEndpointAddress(),
			resourceID:     instance.InstanceResourceId(),
			spec:           func(name string) metric.Spec { return metric.Instance(instance.InstanceIdentifier(), name) },
		},
		Instance:       instance,
		ParameterGroup: pg,
	}
}

// ProxyTarget returns the instance as an RDS Proxy target.
func (i *Instance) ProxyTarget() awsrds.ProxyTarget {
	return awsrds.ProxyTarget_FromInstance(i.Instance)
}

// AutoPause is always false: RDS instances do not pause.
func (i *Instance) AutoPause() bool { return false }

func instanceEngine(e dbspec.Engine, version string) awsrds.IInstanceEngine {
	major := majorVersion(e, version)
	if e == dbspec.MySQL {
		return awsrds.DatabaseInstanceEngine_Mysql(&awsrds.MySqlInstanceEngineProps{
			Version: awsrds.MysqlEngineVersion_Of(jsii.String(version), jsii.String(major)),
		})
	}
	return awsrds.DatabaseInstanceEngine_Postgres(&awsrds.PostgresInstanceEngineProps{
		Version: awsrds.PostgresEngineVersion_Of(jsii.String(version), jsii.String(major), nil),
	})
}

// majorVersion is "17" for PostgreSQL 17.7 and "8.4" for MySQL 8.4.8.
func majorVersion(e dbspec.Engine, version string) string {
	parts := strings.Split(version, ".")
	if e == dbspec.MySQL && len(parts) > 1 {
		return parts[0] + "." + parts[1]
	}
	return parts[0]
}

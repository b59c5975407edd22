package database

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsrds"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/budget"
	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/internal/fields"
	"github.com/lambdards/lambdards/internal/metric"
)

// Attributes describe a database that exists already: what a pool, its functions and the
// users provisioner need to know of it. InstanceAttributes and ClusterAttributes add how
// its max_connections is known.
type Attributes struct {
	// Engine is the database's engine family. Required.
	Engine dbspec.Engine
	// Identifier is the DB instance or DB cluster identifier. Required.
	Identifier string
	// Endpoint is the instance's or the cluster's (writer) host name. Required.
	Endpoint string
	// Port is the port the database listens on.
	// Default: the engine's default port (5432, 3306).
	Port int
	// ResourceID is the instance's DbiResourceId ("db-...") or the cluster's
	// DbClusterResourceId ("cluster-..."), which names it in rds-db:connect policies.
	// Required.
	ResourceID string
	// SecurityGroups are the database's security groups: a pool lets its clients (or its
	// proxy) in through them, on Port. Required.
	SecurityGroups []awsec2.ISecurityGroup
	// DatabaseName is the database the functions connect to. Required.
	DatabaseName string
	// MasterUsername is the master user; a function may not sign in as it.
	// Default: none; only the engines' own reserved names are refused.
	MasterUsername string
	// Secret holds the master credentials, for a users provisioner (package users).
	// Default: none; the functions' database users must exist already.
	Secret awssecretsmanager.ISecret
	// MaxConnections is the database's max_connections, as its parameter group sets it.
	// lambdards does not own that parameter group, so the budget rests on this value:
	// give it whenever the parameter group sets max_connections.
	// Default: derived, as lambdards would pin it (InstanceAttributes.InstanceClass,
	// ClusterAttributes.MaxCapacity); at or below AWS's default for the size, so it errs
	// low when the parameter group keeps the default, and overruns the database when the
	// group sets a lower value.
	MaxConnections int
}

// InstanceAttributes describe an RDS instance that exists already.
type InstanceAttributes struct {
	Attributes
	// InstanceClass is the instance class, such as "r6g.large", from which
	// max_connections is derived when MaxConnections is 0. One of the two is required.
	InstanceClass string
}

// ClusterAttributes describe an Aurora cluster that exists already.
type ClusterAttributes struct {
	Attributes
	// MinCapacity and MaxCapacity are an Aurora Serverless v2 cluster's capacity range in
	// ACUs, from which max_connections is derived when MaxConnections is 0 (a provisioned
	// Aurora cluster gives MaxConnections). MinCapacity 0 means the cluster pauses when
	// idle.
	// Default: MinCapacity 0.5 (the lower max_connections, where Aurora PostgreSQL caps it
	// at 2,000), MaxCapacity none.
	MinCapacity *float64
	MaxCapacity float64
	// ReaderEndpoint is the cluster's reader endpoint (mycluster.cluster-ro-...), for
	// functions that read from a reader (pool.AttachOptions.Reader). The cluster must have
	// a reader; Aurora points the endpoint at the writer while it has none.
	// Default: none; functions may not read from a reader.
	ReaderEndpoint string
	// ReaderMaxConnections is the reader's max_connections, when it differs from the
	// writer's (a provisioned reader of another instance class, or a parameter group of
	// its own); with several readers, the lowest.
	// Default: the writer's (MaxConnections, or as derived), as for Serverless v2 readers
	// that share the writer's parameter group.
	ReaderMaxConnections int
	// DataAPI says that the cluster's RDS Data API is on, so that a pool in
	// pool.ModeDataAPI may use it; lambdards does not turn it on.
	// Default: false.
	DataAPI bool
}

// Imported is a database that exists already, as a pool and the users provisioner see
// it. lambdards changes nothing on it but the security-group rules that let its clients
// in.
type Imported struct {
	base
	identifier     string
	aurora         bool
	autoPause      bool
	reader         *Reader
	minACU, maxACU float64 // an Aurora Serverless v2 cluster's capacity, when given
	target         func() awsrds.ProxyTarget
}

var _ Database = (*Imported)(nil)

// FromInstanceAttributes represents an RDS instance that exists already, as
// awsrds.DatabaseInstance_FromDatabaseInstanceAttributes does, with what the connection
// budget needs. It panics with every missing or invalid attribute.
func FromInstanceAttributes(scope constructs.Construct, id *string, attrs *InstanceAttributes) *Imported {
	a := fields.Of(attrs)
	errs := a.Attributes.check()
	maxConns, how := a.MaxConnections, "given"
	switch {
	case maxConns == 0 && a.InstanceClass == "":
		errs = append(errs, "{MaxConnections}, {InstanceClass}: give the instance's max_connections, or its class to derive it from")
	case maxConns == 0 && slices.Contains(dbspec.Engines, a.Engine):
		n, err := budget.InstanceMaxConnections(a.Engine, a.InstanceClass)
		if err != nil {
			errs = append(errs, fields.In(err, fields.Raw))
		}
		maxConns, how = n, "derived from "+strings.TrimPrefix(a.InstanceClass, "db.")
	}
	fail(scope, id, errs)
	this := constructs.NewConstruct(scope, id)
	im := a.Attributes.imported(this, false, maxConns, how)
	im.spec = func(name string) metric.Spec { return metric.Instance(jsii.String(a.Identifier), name) }
	im.target = func() awsrds.ProxyTarget {
		return awsrds.ProxyTarget_FromInstance(awsrds.DatabaseInstance_FromDatabaseInstanceAttributes(this, jsii.String("Instance"),
			&awsrds.DatabaseInstanceAttributes{
				InstanceIdentifier:      jsii.String(a.Identifier),
				InstanceEndpointAddress: jsii.String(a.Endpoint),
				InstanceResourceId:      jsii.String(a.ResourceID),
				Port:                    jsii.Number(im.Port()),
				SecurityGroups:          &a.SecurityGroups,
				Engine:                  instanceEngineFamily(a.Engine),
			}))
	}
	return im
}

// FromClusterAttributes represents an Aurora cluster that exists already, as
// awsrds.DatabaseCluster_FromDatabaseClusterAttributes does, with what the connection
// budget needs. It panics with every missing or invalid attribute.
func FromClusterAttributes(scope constructs.Construct, id *string, attrs *ClusterAttributes) *Imported {
	a := fields.Of(attrs)
	errs := append(a.Attributes.check(), a.checkReader()...)
	maxConns, how := a.MaxConnections, "given"
	minACU := defaultMinCapacity
	if a.MinCapacity != nil {
		minACU = *a.MinCapacity
	}
	switch {
	case maxConns == 0 && a.MaxCapacity == 0:
		errs = append(errs, "{MaxConnections}, {MaxCapacity}: give the cluster's max_connections, or its Serverless v2 capacity to derive it from")
	case maxConns == 0 && slices.Contains(dbspec.Engines, a.Engine):
		n, err := budget.ServerlessMaxConnections(a.Engine, minACU, a.MaxCapacity)
		if err != nil {
			errs = append(errs, fields.In(err, fields.Raw))
		}
		maxConns, how = n, fmt.Sprintf("derived from %v-%v ACU", minACU, a.MaxCapacity)
	}
	fail(scope, id, errs)
	this := constructs.NewConstruct(scope, id)
	im := a.Attributes.imported(this, true, maxConns, how)
	im.spec = func(name string) metric.Spec { return metric.Writer(jsii.String(a.Identifier), name) }
	im.autoPause = a.MinCapacity != nil && *a.MinCapacity == 0
	im.reader = a.importedReader(im)
	im.minACU, im.maxACU = minACU, a.MaxCapacity
	if a.DataAPI {
		// arn:PARTITION:rds:REGION:ACCOUNT:cluster:IDENTIFIER (Service Authorization
		// Reference, "Actions, resources, and condition keys for Amazon RDS Data API",
		// resource type cluster).
		im.dataAPIArn = awscdk.Stack_Of(this).FormatArn(&awscdk.ArnComponents{
			Service:      jsii.String("rds"),
			Resource:     jsii.String("cluster"),
			ResourceName: jsii.String(a.Identifier),
			ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
		})
	}
	im.target = func() awsrds.ProxyTarget {
		return awsrds.ProxyTarget_FromCluster(awsrds.DatabaseCluster_FromDatabaseClusterAttributes(this, jsii.String("Cluster"),
			&awsrds.DatabaseClusterAttributes{
				ClusterIdentifier:         jsii.String(a.Identifier),
				ClusterEndpointAddress:    jsii.String(a.Endpoint),
				ClusterResourceIdentifier: jsii.String(a.ResourceID),
				Port:                      jsii.Number(im.Port()),
				SecurityGroups:            &a.SecurityGroups,
				Engine:                    clusterEngineFamily(a.Engine),
			}))
	}
	return im
}

// check reports every missing or invalid attribute.
func (a Attributes) check() []string {
	var errs []string
	if !slices.Contains(dbspec.Engines, a.Engine) {
		errs = append(errs, fmt.Sprintf("{Engine} %q: must be one of %q", a.Engine, dbspec.Engines))
	}
	for _, f := range []struct{ name, value string }{{"Identifier", a.Identifier}, {"Endpoint", a.Endpoint}, {"ResourceID", a.ResourceID}} {
		if f.value == "" {
			errs = append(errs, "{"+f.name+"}: required")
		}
	}
	if len(a.SecurityGroups) == 0 {
		errs = append(errs, "{SecurityGroups}: required, the database's security groups (a pool lets its clients in through them)")
	}
	if !identifier(a.DatabaseName) {
		errs = append(errs, fmt.Sprintf("{DatabaseName} %q: required, the database the functions connect to (a letter, then letters, digits and underscores)", a.DatabaseName))
	}
	if a.Port < 0 || a.Port > 65535 {
		errs = append(errs, fmt.Sprintf("{Port} %d: must be 1 to 65535, or 0 for the engine's default", a.Port))
	}
	if a.MaxConnections < 0 {
		errs = append(errs, fmt.Sprintf("{MaxConnections} %d: must be 0 (derived) or positive", a.MaxConnections))
	}
	return errs
}

// imported builds the Imported that a's attributes describe, in this.
func (a Attributes) imported(this constructs.Construct, aurora bool, maxConns int, how string) *Imported {
	p := Props{Engine: a.Engine, DatabaseName: a.DatabaseName, MasterUsername: a.MasterUsername}
	port := a.Port
	if port == 0 {
		port = defaultPort(a.Engine)
	}
	kind := "RDS"
	if aurora {
		kind = "Aurora"
	}
	return &Imported{
		identifier: a.Identifier,
		aurora:     aurora,
		base: base{
			Construct:      this,
			props:          p,
			port:           port,
			connections:    awsec2.NewConnections(&awsec2.ConnectionsProps{SecurityGroups: &a.SecurityGroups, DefaultPort: awsec2.Port_Tcp(jsii.Number(port))}),
			secret:         a.Secret,
			maxConnections: maxConns,
			reserved:       budget.ReservedConnections(a.Engine, aurora),
			// The report says that the figure is the team's, not pinned in a parameter group.
			description: fmt.Sprintf("existing %s %s %s (max_connections %d %s: assumed, not pinned by lambdards)",
				kind, a.Engine, a.Identifier, maxConns, how),
			endpoint:   jsii.String(a.Endpoint),
			resourceID: jsii.String(a.ResourceID),
		},
	}
}

// ProxyTarget is the existing database as an RDS Proxy target, for a proxy the pool
// builds in front of it.
func (im *Imported) ProxyTarget() awsrds.ProxyTarget { return im.target() }

// AutoPause reports whether the cluster pauses when idle (MinCapacity 0).
func (im *Imported) AutoPause() bool { return im.autoPause }

func instanceEngineFamily(e dbspec.Engine) awsrds.IInstanceEngine {
	if e == dbspec.MySQL {
		return awsrds.DatabaseInstanceEngine_MYSQL()
	}
	return awsrds.DatabaseInstanceEngine_POSTGRES()
}

func clusterEngineFamily(e dbspec.Engine) awsrds.IClusterEngine {
	if e == dbspec.MySQL {
		return awsrds.DatabaseClusterEngine_AURORA_MYSQL()
	}
	return awsrds.DatabaseClusterEngine_AURORA_POSTGRESQL()
}

// Package stacks composes lambdards's constructs into the deployable stacks of the
// default app.
//
// The Data stack (NewData) holds the network, the database and its pool (proxy, client
// security group, connection budget); the functions stacks (NewFunctions) hold the
// functions. Each is usable alone: a team's functions may join a Data stack's pool, and a
// functions stack may join a team's pool. Functions deploy
// without touching the Data stack, and every value they take from it is exported
// explicitly, so adding, removing or renaming a function never removes an export that
// another stack still imports.
package stacks

import (
	"fmt"
	"path/filepath"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/constructs/function"
	"github.com/lambdards/lambdards/constructs/monitoring"
	"github.com/lambdards/lambdards/constructs/network"
	"github.com/lambdards/lambdards/constructs/pool"
	"github.com/lambdards/lambdards/constructs/proxy"
	"github.com/lambdards/lambdards/constructs/users"
	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/internal/fields"
)

// App is the default app's stacks and the constructs in them.
type App struct {
	Data awscdk.Stack
	// Functions is the first functions stack, the only one up to FunctionsPerStack functions.
	Functions awscdk.Stack
	// FunctionStacks are all the functions stacks.
	FunctionStacks []awscdk.Stack
	Network        *network.Network
	Database       database.Database
	Pool           *pool.Pool
	Users          *users.Provisioner
	Handlers       []*function.Function
	// Queues feed the functions configured with queue = true.
	Queues []*pool.QueueConsumer
	// Monitoring is the stack of the alarms and the dashboard, and Monitor what it holds;
	// both nil unless the alarms or the dashboard are on.
	Monitoring awscdk.Stack
	Monitor    *monitoring.Monitoring
}

// New builds the stacks for cfg in scope (usually the app): a Data stack (NewData), the
// functions in as many functions stacks as FunctionsPerStack asks (NewFunctions), and the
// Monitoring stack when the alarms or the dashboard are on. It panics with a clear error
// on invalid settings (see Configure for reading them from context).
func New(scope constructs.Construct, cfg Config) *App {
	data := NewData(scope, jsii.String(cfg.Prefix+"Data"), &DataProps{Config: cfg})
	a := &App{Data: data.Stack, Network: data.Network, Database: data.Database, Pool: data.Pool, Users: data.Users}
	shards := Shard(functionNames(cfg.Functions), FunctionsPerStack)
	byShard := make([][]FunctionConfig, len(shards))
	for _, f := range cfg.Functions {
		i := ShardOf(f.Name, len(shards))
		byShard[i] = append(byShard[i], f)
	}
	for i, fns := range byShard {
		id := cfg.Prefix + "Functions"
		if i > 0 {
			id = fmt.Sprintf("%sFunctions%d", cfg.Prefix, i+1)
		}
		f := NewFunctions(scope, jsii.String(id), &FunctionsProps{Pool: data.Pool, Functions: fns, Root: cfg.Root,
			LogKey: data.Network.LogKey})
		a.FunctionStacks = append(a.FunctionStacks, f.Stack)
		a.Handlers = append(a.Handlers, f.Handlers...)
		a.Queues = append(a.Queues, f.Queues...)
	}
	a.Functions = a.FunctionStacks[0]
	a.monitor(scope, cfg)
	return a
}

// DataProps configures a Data stack.
type DataProps struct {
	// StackProps are the stack's own.
	// Default: the description "lambdards: VPC, database, RDS Proxy and connection budget".
	awscdk.StackProps
	// Config holds the network, database and pool settings, as Configure reads them from
	// context (its Functions, Alarms, Dashboard and AlarmTopicArn are not read here).
	Config Config
}

// Data is a Data stack: the network, the database, its users provisioner and its pool
// (proxy, client security group, connection budget).
type Data struct {
	Stack    awscdk.Stack
	Network  *network.Network
	Database database.Database
	Users    *users.Provisioner
	Pool     *pool.Pool
}

// NewData builds a Data stack for a team that brings its own functions (Pool.Attach), or
// for NewFunctions. It panics with a clear error on invalid settings.
func NewData(scope constructs.Construct, id *string, props *DataProps) *Data {
	p := fields.Of(props)
	cfg := p.Config
	if p.Description == nil {
		p.Description = jsii.String("lambdards: VPC, database, RDS Proxy and connection budget")
	}
	d := &Data{Stack: awscdk.NewStack(scope, id, &p.StackProps)}
	removal := removalPolicy(cfg.RemovalPolicy)
	mode := pool.Mode(cfg.Connection)
	// The users provisioner queries through the Data API when the functions do, except on
	// MySQL (see users.Props.DataAPI); else it runs in the isolated subnets, like secret
	// rotation, and both then reach Secrets Manager through an interface endpoint.
	provisionerDataAPI := mode == pool.ModeDataAPI && cfg.Engine == string(dbspec.Postgres)
	var endpoints []awsec2.InterfaceVpcEndpointAwsService
	names := cfg.InterfaceEndpoints
	if (cfg.RotationDays > 0 || !provisionerDataAPI) && !slices.Contains(names, secretsManager) {
		names = append(slices.Clone(names), secretsManager)
	}
	for _, name := range names {
		endpoints = append(endpoints, awsec2.NewInterfaceVpcEndpointAwsService(jsii.String(name), nil, nil, nil))
	}
	d.Network = network.New(d.Stack, jsii.String("Network"), &network.Props{
		MaxAzs:             cfg.MaxAzs,
		AvailabilityZones:  cfg.AvailabilityZones,
		NatGateways:        cfg.NatGateways,
		InterfaceEndpoints: endpoints,
		FlowLogRetention:   awslogs.RetentionDays_ONE_YEAR,
		RemovalPolicy:      logRemovalPolicy(removal),
	})
	rotation, monitoring := cfg.RotationDays, cfg.MonitoringInterval
	common := database.Props{
		Vpc:                       d.Network.Vpc,
		VpcSubnets:                d.Network.DatabaseSubnets,
		Engine:                    dbspec.Engine(cfg.Engine),
		EngineVersion:             cfg.EngineVersion,
		MaxConnections:            cfg.MaxConnections,
		BackupRetentionDays:       cfg.BackupRetentionDays,
		RemovalPolicy:             removal,
		DeletionProtection:        cfg.DeletionProtection,
		RotationDays:              &rotation,
		SecretsManagerEndpoint:    d.Network.Endpoints[secretsManager],
		MonitoringIntervalSeconds: &monitoring,
	}
	if cfg.Database == "serverless" {
		min := cfg.MinAcu
		d.Database = database.NewServerless(d.Stack, jsii.String("Database"), &database.ServerlessProps{
			Props: common, MinCapacity: &min, MaxCapacity: cfg.MaxAcu, Reader: cfg.Reader, DataAPI: mode == pool.ModeDataAPI,
		})
	} else {
		d.Database = database.NewInstance(d.Stack, jsii.String("Database"), &database.InstanceProps{
			Props: common, InstanceClass: cfg.InstanceClass, MultiAz: cfg.MultiAz,
		})
	}
	var proxyProps *proxy.Props
	if mode == pool.ModeProxy {
		borrow := cfg.BorrowTimeoutSeconds
		proxyProps = &proxy.Props{VpcSubnets: d.Network.DatabaseSubnets, BorrowTimeoutSeconds: &borrow,
			MaxIdleConnectionsPercent: cfg.MaxIdlePercent}
	}
	usersProps := &users.Props{
		Database:         d.Database,
		DataAPI:          provisionerDataAPI,
		LogKey:           d.Network.LogKey,
		LogRemovalPolicy: logRemovalPolicy(removal),
		Entry:            filepath.Join(cfg.Root, "functions", "provision"),
	}
	if !provisionerDataAPI {
		usersProps.Vpc, usersProps.VpcSubnets = d.Network.Vpc, d.Network.FunctionSubnets
		usersProps.SecretsManagerEndpoint = d.Network.Endpoints[secretsManager]
	}
	d.Users = users.New(d.Stack, jsii.String("Users"), usersProps)
	poolProps := &pool.Props{
		Users:              d.Users,
		Database:           d.Database,
		Vpc:                d.Network.Vpc,
		ClientSubnets:      d.Network.FunctionSubnets,
		Mode:               mode,
		Proxy:              proxyProps,
		Headroom:           cfg.Headroom,
		AccountConcurrency: cfg.AccountConcurrency,
	}
	if mode == pool.ModeDataAPI {
		poolProps.Vpc, poolProps.ClientSubnets = nil, nil // the functions run outside the VPC
	}
	d.Pool = pool.New(d.Stack, jsii.String("Pool"), poolProps)

	// Functions may reach the interface endpoints the user asked for; the Secrets Manager
	// endpoint added for rotation and the provisioner is not theirs.
	for _, name := range slices.Sorted(slices.Values(cfg.InterfaceEndpoints)) {
		d.Pool.ClientSecurityGroup.Connections().AllowTo(d.Network.Endpoints[name], d.Network.Endpoints[name].Connections().DefaultPort(), jsii.String("HTTPS from lambdards functions"))
	}
	return d
}

// FunctionsProps configures a functions stack.
type FunctionsProps struct {
	// StackProps are the stack's own.
	// Default: the description "lambdards: functions, each capped by the connection budget".
	awscdk.StackProps
	// Pool is the pool the functions join, in another stack (a Data stack, or a team's),
	// which the functions stack then depends on. Required.
	Pool *pool.Pool
	// Functions are the functions, as the functions context key describes them.
	// Default: none.
	Functions []FunctionConfig
	// Root is the directory that relative entries are relative to.
	// Default: the working directory.
	Root string
	// LogKey encrypts the functions' log groups, for example network.Network.LogKey.
	// Default: CloudWatch Logs' own encryption.
	LogKey awskms.IKey
}

// Functions is a functions stack: the functions and the queues that feed some of them.
type Functions struct {
	Stack    awscdk.Stack
	Handlers []*function.Function
	Queues   []*pool.QueueConsumer
}

// NewFunctions builds a functions stack whose functions join props.Pool, built as one
// group (fewer round trips to node). It panics with a clear error on invalid settings.
func NewFunctions(scope constructs.Construct, id *string, props *FunctionsProps) *Functions {
	p := fields.Of(props)
	if p.Pool == nil {
		// The path is looked up only then: each lookup is a round trip to node.
		fields.Problems{"{Pool}: required"}.Fail(*scope.Node().Path()+"/"+*id, "functions stack")
	}
	if p.Description == nil {
		p.Description = jsii.String("lambdards: functions, each capped by the connection budget")
	}
	f := &Functions{Stack: awscdk.NewStack(scope, id, &p.StackProps)}
	f.Stack.AddStackDependency(p.Pool.Stack(), jsii.String("functions connect to the pool"))
	defs := make([]function.Definition, 0, len(p.Functions))
	for _, fn := range p.Functions {
		entry := fn.Entry
		if !filepath.IsAbs(entry) {
			entry = filepath.Join(p.Root, entry)
		}
		defs = append(defs, function.Definition{ID: fn.Name, Props: &function.Props{
			Pool: p.Pool,
			AttachOptions: fn.attachOptions(pool.AttachOptions{
				DatabaseUser:              fn.DatabaseUser,
				Access:                    dbspec.Access(fn.Access),
				Schema:                    fn.Schema,
				Tables:                    fn.Tables,
				Weight:                    fn.Weight,
				ReservedConcurrency:       fn.ReservedConcurrency,
				ConnectionsPerEnvironment: fn.ConnectionsPerEnvironment,
			}),
			Entry:          entry,
			MemorySize:     fn.MemorySize,
			TimeoutSeconds: fn.TimeoutSeconds,
			LogKey:         p.LogKey,
		}})
	}
	f.Handlers = function.NewGroup(f.Stack, defs)
	f.Queues = feedQueues(f.Handlers, p.Functions)
	return f
}

func functionNames(fns []FunctionConfig) []string {
	out := make([]string, len(fns))
	for i, f := range fns {
		out[i] = f.Name
	}
	return out
}

// secretsManager is the Secrets Manager interface endpoint's service short name.
const secretsManager = "secretsmanager"

func removalPolicy(name string) awscdk.RemovalPolicy {
	switch name {
	case "retain":
		return awscdk.RemovalPolicy_RETAIN
	case "destroy":
		return awscdk.RemovalPolicy_DESTROY
	}
	return awscdk.RemovalPolicy_SNAPSHOT
}

// logRemovalPolicy keeps logs unless everything is destroyed: log groups cannot snapshot.
func logRemovalPolicy(p awscdk.RemovalPolicy) awscdk.RemovalPolicy {
	if p == awscdk.RemovalPolicy_DESTROY {
		return p
	}
	return awscdk.RemovalPolicy_RETAIN
}

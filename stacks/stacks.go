// Package stacks composes lambdards's constructs into the deployable stacks of the
// default app.
//
// The Data stack holds the network, the database and its pool (proxy, client security
// group, connection budget); the Functions stack holds the functions. Functions deploy
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

// New builds the stacks for cfg in scope (usually the app). It panics with a clear error
// on invalid settings (see Configure for reading them from context).
func New(scope constructs.Construct, cfg Config) *App {
	a := &App{}
	a.Data = awscdk.NewStack(scope, jsii.String(cfg.Prefix+"Data"), &awscdk.StackProps{
		Description: jsii.String("lambdards: VPC, database, RDS Proxy and connection budget"),
	})
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
	a.Network = network.New(a.Data, jsii.String("Network"), &network.Props{
		MaxAzs:             cfg.MaxAzs,
		AvailabilityZones:  cfg.AvailabilityZones,
		NatGateways:        cfg.NatGateways,
		InterfaceEndpoints: endpoints,
		FlowLogRetention:   awslogs.RetentionDays_ONE_YEAR,
		RemovalPolicy:      logRemovalPolicy(removal),
	})
	rotation, monitoring := cfg.RotationDays, cfg.MonitoringInterval
	common := database.Props{
		Vpc:                       a.Network.Vpc,
		VpcSubnets:                a.Network.DatabaseSubnets,
		Engine:                    dbspec.Engine(cfg.Engine),
		EngineVersion:             cfg.EngineVersion,
		MaxConnections:            cfg.MaxConnections,
		BackupRetentionDays:       cfg.BackupRetentionDays,
		RemovalPolicy:             removal,
		DeletionProtection:        cfg.DeletionProtection,
		RotationDays:              &rotation,
		SecretsManagerEndpoint:    a.Network.Endpoints[secretsManager],
		MonitoringIntervalSeconds: &monitoring,
	}
	if cfg.Database == "serverless" {
		min := cfg.MinAcu
		a.Database = database.NewServerless(a.Data, jsii.String("Database"), &database.ServerlessProps{
			Props: common, MinCapacity: &min, MaxCapacity: cfg.MaxAcu, Reader: cfg.Reader, DataAPI: mode == pool.ModeDataAPI,
		})
	} else {
		a.Database = database.NewInstance(a.Data, jsii.String("Database"), &database.InstanceProps{
			Props: common, InstanceClass: cfg.InstanceClass, MultiAz: cfg.MultiAz,
		})
	}
	var proxyProps *proxy.Props
	if mode == pool.ModeProxy {
		borrow := cfg.BorrowTimeoutSeconds
		proxyProps = &proxy.Props{VpcSubnets: a.Network.DatabaseSubnets, BorrowTimeoutSeconds: &borrow,
			MaxIdleConnectionsPercent: cfg.MaxIdlePercent}
	}
	usersProps := &users.Props{
		Database:         a.Database,
		DataAPI:          provisionerDataAPI,
		LogKey:           a.Network.LogKey,
		LogRemovalPolicy: logRemovalPolicy(removal),
		Entry:            filepath.Join(cfg.Root, "functions", "provision"),
	}
	if !provisionerDataAPI {
		usersProps.Vpc, usersProps.VpcSubnets = a.Network.Vpc, a.Network.FunctionSubnets
		usersProps.SecretsManagerEndpoint = a.Network.Endpoints[secretsManager]
	}
	a.Users = users.New(a.Data, jsii.String("Users"), usersProps)
	poolProps := &pool.Props{
		Users:              a.Users,
		Database:           a.Database,
		Vpc:                a.Network.Vpc,
		ClientSubnets:      a.Network.FunctionSubnets,
		Mode:               mode,
		Proxy:              proxyProps,
		Headroom:           cfg.Headroom,
		AccountConcurrency: cfg.AccountConcurrency,
	}
	if mode == pool.ModeDataAPI {
		poolProps.Vpc, poolProps.ClientSubnets = nil, nil // the functions run outside the VPC
	}
	a.Pool = pool.New(a.Data, jsii.String("Pool"), poolProps)

	// Functions may reach the interface endpoints the user asked for; the Secrets Manager
	// endpoint added for rotation and the provisioner is not theirs.
	for _, name := range slices.Sorted(slices.Values(cfg.InterfaceEndpoints)) {
		a.Pool.ClientSecurityGroup.Connections().AllowTo(a.Network.Endpoints[name], a.Network.Endpoints[name].Connections().DefaultPort(), jsii.String("HTTPS from lambdards functions"))
	}

	shards := Shard(functionNames(cfg.Functions), FunctionsPerStack)
	for i := range shards {
		id := cfg.Prefix + "Functions"
		if i > 0 {
			id = fmt.Sprintf("%sFunctions%d", cfg.Prefix, i+1)
		}
		stack := awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
			Description: jsii.String("lambdards: functions, each capped by the connection budget"),
		})
		stack.AddStackDependency(a.Data, jsii.String("functions connect to the pool"))
		a.FunctionStacks = append(a.FunctionStacks, stack)
	}
	a.Functions = a.FunctionStacks[0]
	// Each stack's functions are built as one group: fewer round trips to node.
	groups := make([][]function.Definition, len(a.FunctionStacks))
	for _, f := range cfg.Functions {
		entry := f.Entry
		if !filepath.IsAbs(entry) {
			entry = filepath.Join(cfg.Root, entry)
		}
		shard := ShardOf(f.Name, len(shards))
		props := &function.Props{
			Pool: a.Pool,
			AttachOptions: f.attachOptions(pool.AttachOptions{
				DatabaseUser:              f.DatabaseUser,
				Access:                    dbspec.Access(f.Access),
				Schema:                    f.Schema,
				Tables:                    f.Tables,
				Weight:                    f.Weight,
				ReservedConcurrency:       f.ReservedConcurrency,
				ConnectionsPerEnvironment: f.ConnectionsPerEnvironment,
			}),
			Entry:          entry,
			MemorySize:     f.MemorySize,
			TimeoutSeconds: f.TimeoutSeconds,
			LogKey:         a.Network.LogKey,
		}
		groups[shard] = append(groups[shard], function.Definition{ID: f.Name, Props: props})
	}
	for i, defs := range groups {
		a.Handlers = append(a.Handlers, function.NewGroup(a.FunctionStacks[i], defs)...)
	}
	a.Queues = feedQueues(a.Handlers, cfg.Functions)
	a.monitor(scope, cfg)
	return a
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

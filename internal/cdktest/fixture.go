package cdktest

import (
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/constructs/network"
	"github.com/lambdards/lambdards/constructs/pool"
	"github.com/lambdards/lambdards/constructs/users"
)

// Fixture is a Data stack (network, database, pool) and an empty Functions stack, the
// layout package stacks uses, for tests of the constructs that go in them.
type Fixture struct {
	App       awscdk.App
	Data      awscdk.Stack
	Functions awscdk.Stack
	Network   *network.Network
	Database  database.Database
	Pool      *pool.Pool
	// Users provisions the functions' database users, when the fixture was built with one.
	Users *users.Provisioner
}

// NewFixture builds a Fixture with an RDS PostgreSQL t4g.micro unless serverless props
// are given. props may be nil.
func NewFixture(props *pool.Props, serverless *database.ServerlessProps) *Fixture {
	return NewFixtureIn(NewApp(nil), props, serverless)
}

// NewProvisionedFixture builds a Fixture whose pool provisions database users.
func NewProvisionedFixture(props *pool.Props) *Fixture {
	return newFixture(NewApp(nil), props, nil, true)
}

// NewFixtureIn builds a Fixture in app.
func NewFixtureIn(app awscdk.App, props *pool.Props, serverless *database.ServerlessProps) *Fixture {
	return newFixture(app, props, serverless, false)
}

func newFixture(app awscdk.App, props *pool.Props, serverless *database.ServerlessProps, provision bool) *Fixture {
	f := &Fixture{App: app}
	f.Data = awscdk.NewStack(f.App, jsii.String("Data"), nil)
	f.Network = network.New(f.Data, jsii.String("Network"), &network.Props{
		InterfaceEndpoints: []awsec2.InterfaceVpcEndpointAwsService{awsec2.InterfaceVpcEndpointAwsService_SECRETS_MANAGER()},
	})
	common := DatabaseProps(f.Network)
	if serverless != nil {
		s := *serverless
		s.Props.Vpc, s.Props.VpcSubnets, s.Props.SecretsManagerEndpoint = common.Vpc, common.VpcSubnets, common.SecretsManagerEndpoint
		f.Database = database.NewServerless(f.Data, jsii.String("Database"), &s)
	} else {
		f.Database = database.NewInstance(f.Data, jsii.String("Database"), &database.InstanceProps{Props: common})
	}
	var p pool.Props
	if props != nil {
		p = *props
	}
	p.Database, p.Vpc = f.Database, f.Network.Vpc
	if p.ClientSubnets == nil {
		p.ClientSubnets = f.Network.FunctionSubnets
	}
	if provision {
		f.Users = users.New(f.Data, jsii.String("Users"), &users.Props{
			Database: f.Database, Vpc: f.Network.Vpc, SecretsManagerEndpoint: f.Network.Endpoints["secretsmanager"],
			VpcSubnets: f.Network.FunctionSubnets,
		})
		p.Users = f.Users
	}
	f.Pool = pool.New(f.Data, jsii.String("Pool"), &p)
	f.Functions = awscdk.NewStack(f.App, jsii.String("Functions"), nil)
	return f
}

// SampleEntry is the directory of the sample function, functions/items.
func SampleEntry() string {
	return filepath.Join(Root(), "functions", "items")
}

// DatabaseProps are the database props every test fixture starts from: the network's VPC,
// its database subnets and its Secrets Manager endpoint, which the default secret
// rotation needs.
func DatabaseProps(n *network.Network) database.Props {
	return database.Props{Vpc: n.Vpc, VpcSubnets: n.DatabaseSubnets, SecretsManagerEndpoint: n.Endpoints["secretsmanager"]}
}

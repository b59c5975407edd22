package database_test

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/constructs/network"
	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/internal/panictest"
)

// guardrailNetwork is a network with every kind of subnet: isolated (Database), private
// with egress (Functions) and public, plus a Secrets Manager endpoint.
func guardrailNetwork() (awscdk.Stack, *network.Network) {
	app := awscdk.NewApp(&awscdk.AppProps{BuiltinCloudFormationValidation: jsii.Bool(false)})
	stack := awscdk.NewStack(app, jsii.String("Data"), nil)
	n := network.New(stack, jsii.String("Network"), &network.Props{
		NatGateways:        1,
		InterfaceEndpoints: []awsec2.InterfaceVpcEndpointAwsService{awsec2.InterfaceVpcEndpointAwsService_SECRETS_MANAGER()},
	})
	return stack, n
}

func intp(n int) *int { return &n }

func f64(v float64) *float64 { return &v }

// TestGuardrails checks that each unsafe or impossible database setting fails with a
// message that names the setting and the fix.
func TestGuardrails(t *testing.T) {
	tests := []struct {
		name       string
		serverless *database.ServerlessProps // else an instance
		instance   func(database.Props) *database.InstanceProps
		noEndpoint bool // no Secrets Manager endpoint
		props      func(n *network.Network) database.Props
		want       []string
	}{
		{
			name: "deletion protection with removal policy destroy",
			props: func(n *network.Network) database.Props {
				return database.Props{RemovalPolicy: awscdk.RemovalPolicy_DESTROY, DeletionProtection: jsii.Bool(true)}
			},
			want: []string{"DeletionProtection true with RemovalPolicy destroy", "use RemovalPolicy snapshot or retain", "turn DeletionProtection off"},
		},
		{
			name:       "rotation without a way to Secrets Manager",
			noEndpoint: true,
			props:      func(n *network.Network) database.Props { return database.Props{} },
			want:       []string{"RotationDays 30: the rotation function runs in the database's subnets, which have no route to Secrets Manager", "give SecretsManagerEndpoint", "or set RotationDays 0"},
		},
		{
			name:  "rotation period out of range",
			props: func(n *network.Network) database.Props { return database.Props{RotationDays: intp(1001)} },
			want:  []string{"RotationDays 1001: must be 0 (no rotation) or 1 to 1000"},
		},
		{
			name:  "monitoring interval RDS does not offer",
			props: func(n *network.Network) database.Props { return database.Props{MonitoringIntervalSeconds: intp(7)} },
			want:  []string{"MonitoringIntervalSeconds 7: must be one of [0 1 5 10 15 30 60]"},
		},
		{
			name: "public subnets",
			props: func(n *network.Network) database.Props {
				return database.Props{VpcSubnets: &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PUBLIC}}
			},
			want: []string{"VpcSubnets: a database must not be reachable from, or reach, the internet, but subnet Data/Network/Vpc/PublicSubnet1 is public", "select isolated subnets"},
		},
		{
			name: "subnets with a NAT route",
			props: func(n *network.Network) database.Props {
				return database.Props{VpcSubnets: n.FunctionSubnets}
			},
			want: []string{"subnet Data/Network/Vpc/FunctionsSubnet1 routes to a NAT gateway"},
		},
		{
			name: "isolated subnets given a default route",
			props: func(n *network.Network) database.Props {
				for i, s := range *n.Vpc.IsolatedSubnets() {
					s.(awsec2.Subnet).AddRoute(jsii.String("Out"), &awsec2.AddRouteOptions{
						RouterId:             jsii.Sprintf("nat-%d", i),
						RouterType:           awsec2.RouterType_NAT_GATEWAY,
						DestinationCidrBlock: jsii.String("0.0.0.0/0"),
					})
				}
				return database.Props{}
			},
			want: []string{"subnet Data/Network/Vpc/DatabaseSubnet1 has a default route to a NAT gateway"},
		},
		{
			name:  "RDS version in the wrong form",
			props: func(n *network.Network) database.Props { return database.Props{EngineVersion: "16"} },
			want:  []string{`EngineVersion "16": RDS PostgreSQL versions are written like "17.7"`},
		},
		{
			name:       "Aurora MySQL version in the RDS MySQL form",
			serverless: &database.ServerlessProps{},
			props: func(n *network.Network) database.Props {
				return database.Props{Engine: dbspec.MySQL, EngineVersion: "8.0.39"}
			},
			want: []string{`EngineVersion "8.0.39": Aurora MySQL versions are written like "3.10.0"`},
		},
		{
			name:  "RDS PostgreSQL out of standard support",
			props: func(n *network.Network) database.Props { return database.Props{EngineVersion: "12.9"} },
			want: []string{`EngineVersion "12.9": RDS PostgreSQL 12 left standard support on 2025-02-28`,
				"in paid RDS Extended Support", `use 14 or later, e.g. "17.7"`},
		},
		{
			name:       "Aurora PostgreSQL out of standard support",
			serverless: &database.ServerlessProps{},
			props:      func(n *network.Network) database.Props { return database.Props{EngineVersion: "13.4"} },
			want:       []string{`EngineVersion "13.4": Aurora PostgreSQL 13 left standard support on 2026-02-28`},
		},
		{
			name:       "Aurora PostgreSQL too old to pause",
			serverless: &database.ServerlessProps{MinCapacity: f64(0)},
			props:      func(n *network.Network) database.Props { return database.Props{EngineVersion: "14.6"} },
			want: []string{`EngineVersion "14.6": auto-pause (minimum capacity 0 ACU) needs Aurora PostgreSQL 14.12 or later`,
				"choose a later EngineVersion or a MinCapacity of 0.5 ACU or more"},
		},
		{
			name:       "Aurora PostgreSQL too old for more than 128 ACU",
			serverless: &database.ServerlessProps{MaxCapacity: 256},
			props:      func(n *network.Network) database.Props { return database.Props{EngineVersion: "14.9"} },
			want: []string{"MaxCapacity 256: Aurora PostgreSQL 14.9 scales Aurora Serverless v2 to at most 128 ACU, and more needs 14.10 or later",
				`lower MaxCapacity to 128, or choose EngineVersion "14.10" or later`},
		},
		{
			name: "instance class lambdards does not know, with MaxConnections given",
			instance: func(p database.Props) *database.InstanceProps {
				p.MaxConnections = 50
				return &database.InstanceProps{Props: p, InstanceClass: "db.x9.huge"}
			},
			props: func(n *network.Network) database.Props { return database.Props{} },
			want:  []string{`InstanceClass "x9.huge": lambdards does not know the instance class family "x9"`, `e.g. "t4g.micro"`},
		},
		{
			name:  "explicit MaxConnections above what the instance class holds",
			props: func(n *network.Network) database.Props { return database.Props{MaxConnections: 500} },
			want: []string{"MaxConnections 500 exceeds 112, the most an RDS postgres instance of class t4g.micro (1 GiB)",
				"lower MaxConnections to at most 112 or choose an InstanceClass with more memory"},
		},
		{
			name:       "explicit MaxConnections above the Aurora PostgreSQL low-minimum cap",
			serverless: &database.ServerlessProps{MaxCapacity: 64},
			props:      func(n *network.Network) database.Props { return database.Props{MaxConnections: 3000} },
			want: []string{"MaxConnections 3000 exceeds 2000, the most Aurora PostgreSQL Serverless v2 takes with a minimum capacity of 0.5 ACU",
				"lower MaxConnections to at most 2000 or raise MinCapacity to 1 ACU"},
		},
		{
			name:       "explicit MaxConnections above Aurora MySQL's limit",
			serverless: &database.ServerlessProps{MaxCapacity: 256},
			props: func(n *network.Network) database.Props {
				return database.Props{Engine: dbspec.MySQL, MaxConnections: 20000}
			},
			want: []string{"MaxConnections 20000 exceeds 16000, the most Aurora MySQL accepts"},
		},
		{
			name:       "Aurora MySQL too old to pause",
			serverless: &database.ServerlessProps{MinCapacity: f64(0)},
			props: func(n *network.Network) database.Props {
				return database.Props{Engine: dbspec.MySQL, EngineVersion: "3.07.1"}
			},
			want: []string{`EngineVersion "3.07.1": auto-pause (minimum capacity 0 ACU) needs Aurora MySQL 3.08.0 or later`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stack, n := guardrailNetwork()
			p := tt.props(n)
			p.Vpc = n.Vpc
			if p.VpcSubnets == nil {
				p.VpcSubnets = n.DatabaseSubnets
			}
			if !tt.noEndpoint {
				p.SecretsManagerEndpoint = n.Endpoints["secretsmanager"]
			}
			panictest.Contains(t, func() {
				if tt.serverless != nil {
					sp := *tt.serverless
					sp.Props = p
					database.NewServerless(stack, jsii.String("Database"), &sp)
					return
				}
				ip := &database.InstanceProps{Props: p}
				if tt.instance != nil {
					ip = tt.instance(p)
				}
				database.NewInstance(stack, jsii.String("Database"), ip)
			}, append([]string{"Data/Database: invalid database:"}, tt.want...)...)
		})
	}
}

// TestGuardrailsPassMaxConnections checks explicit max_connections at their limits.
func TestGuardrailsPassMaxConnections(t *testing.T) {
	stack, n := guardrailNetwork()
	p := database.Props{Vpc: n.Vpc, VpcSubnets: n.DatabaseSubnets, SecretsManagerEndpoint: n.Endpoints["secretsmanager"], MaxConnections: 2000}
	database.NewServerless(stack, jsii.String("Serverless"), &database.ServerlessProps{Props: p, MaxCapacity: 64})
	p.MaxConnections = 112
	database.NewInstance(stack, jsii.String("Instance"), &database.InstanceProps{Props: p})
}

// TestGuardrailsPass checks the versions and instance classes the guardrails accept at
// their limits, and that rotation with the endpoint and isolated subnets builds.
func TestGuardrailsPass(t *testing.T) {
	for _, v := range []struct {
		engine  dbspec.Engine
		version string
	}{{dbspec.Postgres, "14.12"}, {dbspec.Postgres, "16.4"}, {dbspec.Postgres, "17.4"}, {dbspec.MySQL, "3.08.0"}} {
		stack, n := guardrailNetwork()
		database.NewServerless(stack, jsii.String("Database"), &database.ServerlessProps{
			Props: database.Props{
				Vpc: n.Vpc, VpcSubnets: n.DatabaseSubnets, Engine: v.engine, EngineVersion: v.version,
				SecretsManagerEndpoint: n.Endpoints["secretsmanager"],
			},
			MinCapacity: f64(0),
			MaxCapacity: 256,
		})
	}
	// The Graviton4 families on the oldest RDS versions that run them.
	stack, n := guardrailNetwork()
	p := database.Props{Vpc: n.Vpc, VpcSubnets: n.DatabaseSubnets, SecretsManagerEndpoint: n.Endpoints["secretsmanager"]}
	p.Engine, p.EngineVersion = dbspec.MySQL, "8.4.3"
	database.NewInstance(stack, jsii.String("MySQL"), &database.InstanceProps{Props: p, InstanceClass: "r8g.large"})
	p.Engine, p.EngineVersion = dbspec.Postgres, "14.15"
	database.NewInstance(stack, jsii.String("Postgres"), &database.InstanceProps{Props: p, InstanceClass: "db.m8g.48xlarge"})
}

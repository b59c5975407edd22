package proxy_test

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/constructs/network"
	"github.com/lambdards/lambdards/constructs/proxy"
	"github.com/lambdards/lambdards/internal/panictest"
)

// target builds a network with public, NAT-routed and isolated subnets and a database.
func target() (awscdk.Stack, *network.Network, database.Database) {
	app := awscdk.NewApp(&awscdk.AppProps{BuiltinCloudFormationValidation: jsii.Bool(false)})
	stack := awscdk.NewStack(app, jsii.String("Data"), nil)
	n := network.New(stack, jsii.String("Network"), &network.Props{NatGateways: 1})
	rotation := 0
	db := database.NewInstance(stack, jsii.String("Database"), &database.InstanceProps{Props: database.Props{
		Vpc: n.Vpc, VpcSubnets: n.DatabaseSubnets, RotationDays: &rotation,
	}})
	return stack, n, db
}

// TestGuardrails checks that each unsafe proxy setting fails with a message that names
// the setting and the fix.
func TestGuardrails(t *testing.T) {
	fifty, sixty := 50, 60
	tests := []struct {
		name  string
		props func(n *network.Network) proxy.Props
		want  []string
	}{
		{
			name:  "IAM authentication without TLS",
			props: func(n *network.Network) proxy.Props { return proxy.Props{RequireTLS: jsii.Bool(false)} },
			want:  []string{"RequireTLS false: clients sign in to the proxy with IAM authentication tokens", "leave RequireTLS unset (true)"},
		},
		{
			name: "public subnets",
			props: func(n *network.Network) proxy.Props {
				return proxy.Props{VpcSubnets: &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PUBLIC}}
			},
			want: []string{"VpcSubnets: an RDS Proxy must not be reachable from, or reach, the internet, but subnet Data/Network/Vpc/PublicSubnet1 is public",
				"select isolated subnets of the VPC"},
		},
		{
			name:  "subnets with a NAT route",
			props: func(n *network.Network) proxy.Props { return proxy.Props{VpcSubnets: n.FunctionSubnets} },
			want:  []string{"subnet Data/Network/Vpc/FunctionsSubnet2 routes to a NAT gateway"},
		},
		{
			name: "subnet group the VPC does not have",
			props: func(n *network.Network) proxy.Props {
				return proxy.Props{VpcSubnets: &awsec2.SubnetSelection{SubnetGroupName: jsii.String("Nope")}}
			},
			want: []string{"VpcSubnets: ", "Nope"},
		},
		{
			name: "more idle connections than connections",
			props: func(n *network.Network) proxy.Props {
				return proxy.Props{MaxConnectionsPercent: fifty, MaxIdleConnectionsPercent: &sixty}
			},
			want: []string{"MaxIdleConnectionsPercent 60: must be 0 to MaxConnectionsPercent (50)", "lower it, or leave it unset"},
		},
		{
			name:  "read-only endpoint for a database without readers",
			props: func(n *network.Network) proxy.Props { return proxy.Props{ReaderEndpoint: true} },
			want:  []string{"ReaderEndpoint: a read-only endpoint routes to an Aurora cluster's readers, and the database has none"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stack, n, db := target()
			p := tt.props(n)
			p.Database, p.Vpc = db, n.Vpc
			if p.VpcSubnets == nil {
				p.VpcSubnets = n.DatabaseSubnets
			}
			panictest.Contains(t, func() { proxy.New(stack, jsii.String("Proxy"), &p) },
				append([]string{"Data/Proxy: invalid proxy:"}, tt.want...)...)
		})
	}
}

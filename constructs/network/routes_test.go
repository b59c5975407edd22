package network_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/network"
)

func TestInternetRoutes(t *testing.T) {
	app := awscdk.NewApp(&awscdk.AppProps{BuiltinCloudFormationValidation: jsii.Bool(false)})
	stack := awscdk.NewStack(app, jsii.String("Data"), nil)
	isolated := network.New(stack, jsii.String("Isolated"), nil)
	nat := network.New(stack, jsii.String("Nat"), &network.Props{NatGateways: 1})

	tests := []struct {
		name string
		n    *network.Network
		sel  *awsec2.SubnetSelection
		want string // "" for no route; each selected subnet gives one line
		err  string
	}{
		{"isolated database subnets", isolated, isolated.DatabaseSubnets, "", ""},
		{"isolated function subnets", isolated, isolated.FunctionSubnets, "", ""},
		{"database subnets beside NAT", nat, nat.DatabaseSubnets, "", ""},
		{"function subnets with NAT", nat, nat.FunctionSubnets,
			"subnet Data/Nat/Vpc/FunctionsSubnet1 routes to a NAT gateway\nsubnet Data/Nat/Vpc/FunctionsSubnet2 routes to a NAT gateway", ""},
		{"public subnets", nat, &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PUBLIC},
			"subnet Data/Nat/Vpc/PublicSubnet1 is public\nsubnet Data/Nat/Vpc/PublicSubnet2 is public", ""},
		{"a group the VPC lacks", isolated, &awsec2.SubnetSelection{SubnetGroupName: jsii.String("Public")}, "", "Public"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := network.InternetRoutes(tt.n.Vpc, tt.sel)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("InternetRoutes() error = %v, want one naming %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g := strings.Join(got, "\n"); g != tt.want {
				t.Errorf("InternetRoutes() =\n%s\nwant\n%s", g, tt.want)
			}
		})
	}
}

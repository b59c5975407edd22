package network_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/network"
	"github.com/lambdards/lambdards/internal/cdktest"
	"github.com/lambdards/lambdards/internal/panictest"
)

func synth(t *testing.T, props *network.Props) assertions.Template {
	t.Helper()
	stack := awscdk.NewStack(cdktest.NewApp(nil), jsii.String("Net"), nil)
	network.New(stack, jsii.String("Network"), props)
	return assertions.Template_FromStack(stack, nil)
}

func TestDefaultIsIsolated(t *testing.T) {
	tmpl := synth(t, nil)
	for typ, want := range map[string]int{
		"AWS::EC2::InternetGateway":      0,
		"AWS::EC2::NatGateway":           0,
		"AWS::EC2::EIP":                  0,
		"AWS::EC2::VPCGatewayAttachment": 0,
		"AWS::EC2::Subnet":               4, // Database and Functions groups in 2 AZs
		"AWS::EC2::FlowLog":              1,
		"AWS::EC2::Route":                0, // isolated subnets: local route only
		"AWS::EC2::VPCEndpoint":          0,
	} {
		tmpl.ResourceCountIs(jsii.String(typ), jsii.Number(want))
	}
	for id, s := range cdktest.Resources(tmpl, "AWS::EC2::Subnet") {
		if p := cdktest.Props(s); p["MapPublicIpOnLaunch"] != false {
			t.Errorf("subnet %s: MapPublicIpOnLaunch = %v, want false", id, p["MapPublicIpOnLaunch"])
		}
	}
	tmpl.HasResourceProperties(jsii.String("AWS::EC2::FlowLog"), &map[string]any{
		"TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs", "ResourceType": "VPC",
	})
	tmpl.HasResource(jsii.String("AWS::Logs::LogGroup"), &map[string]any{
		"Properties":     map[string]any{"RetentionInDays": 365},
		"DeletionPolicy": "Retain",
	})
}

func TestNatIsOptIn(t *testing.T) {
	tmpl := synth(t, &network.Props{NatGateways: 1, InterfaceEndpoints: []awsec2.InterfaceVpcEndpointAwsService{
		awsec2.InterfaceVpcEndpointAwsService_SECRETS_MANAGER(),
	}})
	tmpl.ResourceCountIs(jsii.String("AWS::EC2::InternetGateway"), jsii.Number(1))
	tmpl.ResourceCountIs(jsii.String("AWS::EC2::NatGateway"), jsii.Number(1))
	tmpl.ResourceCountIs(jsii.String("AWS::EC2::Subnet"), jsii.Number(6))
	tmpl.HasResourceProperties(jsii.String("AWS::EC2::VPCEndpoint"), &map[string]any{
		"VpcEndpointType": "Interface", "PrivateDnsEnabled": true,
	})
	// Public subnets hold only the NAT gateways: nothing launched there gets a public IP.
	for id, s := range cdktest.Resources(tmpl, "AWS::EC2::Subnet") {
		if p := cdktest.Props(s); p["MapPublicIpOnLaunch"] != false {
			t.Errorf("subnet %s: MapPublicIpOnLaunch = %v, want false", id, p["MapPublicIpOnLaunch"])
		}
	}
}

func TestInvalidProps(t *testing.T) {
	for _, tc := range []struct {
		name  string
		props network.Props
		want  []string
	}{
		{"one AZ", network.Props{MaxAzs: 1}, []string{"MaxAzs 1: must be 2 to 6"}},
		{"one named AZ", network.Props{AvailabilityZones: []string{"us-east-1a"}}, []string{"AvailabilityZones names 1 zones: the VPC spans 2 to 6"}},
		{"too many NATs", network.Props{NatGateways: 3}, []string{"NatGateways 3 with 2 Availability Zones: at most one NAT gateway per zone; lower NatGateways or raise MaxAzs (above 2, naming that many zones in AvailabilityZones if the stack has no account and Region)"}},
		{"snapshot logs", network.Props{RemovalPolicy: awscdk.RemovalPolicy_SNAPSHOT}, []string{`RemovalPolicy "SNAPSHOT"`}},
		{"all at once", network.Props{MaxAzs: 9, NatGateways: -1}, []string{"MaxAzs 9", "NatGateways -1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := panictest.Message(t, func() {
				stack := awscdk.NewStack(cdktest.NewApp(nil), jsii.String("Net"), nil)
				network.New(stack, jsii.String("Network"), &tc.props)
			})
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("network.New(%+v) panicked with %q, want it to contain %q", tc.props, msg, w)
				}
			}
			if !strings.HasPrefix(msg, "Net/Network: invalid network") {
				t.Errorf("message %q does not start with the construct path", msg)
			}
		})
	}
}

// TestRestrictDefaultSGProviderSuppressed checks that the role and handler of
// aws-cdk-lib's Custom::VpcRestrictDefaultSG provider carry their suppressions in the
// template, once each when two networks share the provider.
func TestRestrictDefaultSGProviderSuppressed(t *testing.T) {
	stack := awscdk.NewStack(cdktest.NewApp(nil), jsii.String("Net"), nil)
	network.New(stack, jsii.String("Network"), nil)
	network.New(stack, jsii.String("Other"), &network.Props{Cidr: "10.1.0.0/16"})
	tmpl := assertions.Template_FromStack(stack, nil)
	for typ, want := range map[string][]string{
		"AWS::IAM::Role": {"AwsSolutions-IAM4", "NIST.800.53.R5-IAMNoInlinePolicy", "HIPAA.Security-IAMNoInlinePolicy"},
		"AWS::Lambda::Function": {"NIST.800.53.R5-LambdaInsideVPC", "HIPAA.Security-LambdaInsideVPC", "NIST.800.53.R5-LambdaDLQ",
			"HIPAA.Security-LambdaDLQ", "NIST.800.53.R5-LambdaConcurrency", "HIPAA.Security-LambdaConcurrency"},
	} {
		var found bool
		for id, r := range cdktest.Resources(tmpl, typ) {
			if !strings.HasPrefix(id, "CustomVpcRestrictDefaultSGCustomResourceProvider") {
				continue
			}
			found = true
			md, _ := r["Metadata"].(map[string]any)
			nag, _ := md["cdk_nag"].(map[string]any)
			list, _ := nag["rules_to_suppress"].([]any)
			var got []string
			for _, s := range list {
				s := s.(map[string]any)
				if s["reason"] == "" {
					t.Errorf("%s: suppression of %v has no reason", id, s["id"])
				}
				got = append(got, s["id"].(string))
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("%s suppresses %v, want %v", id, got, want)
			}
		}
		if !found {
			t.Errorf("no %s of the Custom::VpcRestrictDefaultSG provider", typ)
		}
	}
}

// TestCheck is the zone rules, which Check applies without aws-cdk-lib: a compliant and a
// refused case each.
func TestCheck(t *testing.T) {
	tests := []struct {
		props network.Props
		want  string // "" for none
	}{
		{network.Props{AvailabilityZones: []string{"us-east-1a", "us-east-1b", "us-east-1c"}}, ""},
		{network.Props{AvailabilityZones: []string{"us-east-1", "us-east-1b"}}, `{AvailabilityZones} "us-east-1" is not an Availability Zone name`},
		{network.Props{AvailabilityZones: []string{"us-east-1a", "us-east-1a"}}, "{AvailabilityZones} names us-east-1a twice"},
		{network.Props{AvailabilityZones: []string{"us-east-1a", "us-west-2b"}}, "names zones of 2 Regions (us-east-1, us-west-2)"},
		{network.Props{AvailabilityZones: []string{"a1a", "b1b", "c1c", "d1d", "e1e", "f1f", "g1g"}}, "names 7 zones: the VPC spans 2 to 6"},
		{network.Props{MaxAzs: 6, NatGateways: 6}, ""},
		{network.Props{AvailabilityZones: []string{"us-east-1a", "us-east-1b"}, NatGateways: 3}, "lower {NatGateways} or name more {AvailabilityZones}"},
	}
	for _, tt := range tests {
		got := strings.Join(network.Check(&tt.props), "; ")
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("Check(%+v) = %q, want %q", tt.props, got, tt.want)
		}
	}
}

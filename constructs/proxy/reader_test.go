package proxy_test

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/constructs/network"
	"github.com/lambdards/lambdards/constructs/proxy"
)

// TestReaderEndpoint checks the read-only endpoint of a proxy in front of a cluster with a
// reader: READ_ONLY, in the proxy's subnets and security group, and its host name.
func TestReaderEndpoint(t *testing.T) {
	app := awscdk.NewApp(&awscdk.AppProps{BuiltinCloudFormationValidation: jsii.Bool(false)})
	stack := awscdk.NewStack(app, jsii.String("Data"), nil)
	n := network.New(stack, jsii.String("Network"), nil)
	rotation := 0
	db := database.NewServerless(stack, jsii.String("Database"), &database.ServerlessProps{Reader: true,
		Props: database.Props{Vpc: n.Vpc, VpcSubnets: n.DatabaseSubnets, RotationDays: &rotation}})
	px := proxy.New(stack, jsii.String("Proxy"), &proxy.Props{Database: db, Vpc: n.Vpc, VpcSubnets: n.DatabaseSubnets, ReaderEndpoint: true})
	if px.ReaderEndpoint() == nil || px.ReadOnlyEndpoint == nil {
		t.Fatal("ReaderEndpoint() = nil, want the read-only endpoint's host")
	}
	tmpl := assertions.Template_FromStack(stack, nil)
	tmpl.ResourceCountIs(jsii.String("AWS::RDS::DBProxyEndpoint"), jsii.Number(1))
	tmpl.HasResourceProperties(jsii.String("AWS::RDS::DBProxyEndpoint"), &map[string]any{
		"TargetRole":          "READ_ONLY",
		"DBProxyName":         map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^Proxy"))},
		"VpcSecurityGroupIds": []any{map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^ProxySecurityGroup")), "GroupId"}}},
		"VpcSubnetIds":        assertions.Match_AnyValue(),
	})
	got := stack.Resolve(px.ReaderEndpoint())
	if m, ok := got.(map[string]any); !ok || m["Fn::GetAtt"] == nil {
		t.Errorf("ReaderEndpoint() = %v, want the endpoint's Endpoint attribute", got)
	}

	without := proxy.New(stack, jsii.String("Plain"), &proxy.Props{Database: db, Vpc: n.Vpc, VpcSubnets: n.DatabaseSubnets})
	if without.ReaderEndpoint() != nil {
		t.Error("ReaderEndpoint() without Props.ReaderEndpoint != nil")
	}
	sg := awsec2.SecurityGroup_FromSecurityGroupId(stack, jsii.String("Sg"), jsii.String("sg-1"), nil)
	imported := proxy.FromAttributes(stack, jsii.String("Existing"), &proxy.Attributes{ProxyName: "p", ProxyArn: "arn:aws:rds:us-east-1:1:db-proxy:prx-1",
		Endpoint: "p.proxy-1.us-east-1.rds.amazonaws.com", Port: 5432, SecurityGroups: []awsec2.ISecurityGroup{sg}, MaxConnectionsPercent: 80,
		ReaderEndpoint: "ro.endpoint.proxy-1.us-east-1.rds.amazonaws.com"})
	if h := imported.ReaderEndpoint(); h == nil || *h != "ro.endpoint.proxy-1.us-east-1.rds.amazonaws.com" {
		t.Errorf("imported ReaderEndpoint() = %v, want the given host", h)
	}
}

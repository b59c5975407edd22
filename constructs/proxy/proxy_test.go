package proxy_test

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/proxy"
)

// TestRoleTrustsOnlyThisAccount checks that only RDS acting for the stack's account may
// assume the proxy's role.
func TestRoleTrustsOnlyThisAccount(t *testing.T) {
	stack, n, db := target()
	proxy.New(stack, jsii.String("Proxy"), &proxy.Props{Database: db, Vpc: n.Vpc, VpcSubnets: n.DatabaseSubnets})
	assertions.Template_FromStack(stack, nil).HasResourceProperties(jsii.String("AWS::IAM::Role"), &map[string]any{
		"AssumeRolePolicyDocument": map[string]any{"Statement": []any{map[string]any{
			"Action": "sts:AssumeRole", "Effect": "Allow",
			"Principal": map[string]any{"Service": "rds.amazonaws.com"},
			"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": map[string]any{"Ref": "AWS::AccountId"}}},
		}}},
	})
}

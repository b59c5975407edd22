// Package cdktest holds what the project's CDK tests share: an App set up for fast unit
// tests, and the stack-building scaffolding they repeat.
package cdktest

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// NewApp returns an App for unit tests: no built-in CloudFormation validation (2-4 s per
// synth; the tests that check deployability keep it on), function bundling skipped, and
// the given context added.
func NewApp(context map[string]any) awscdk.App {
	ctx := map[string]any{"lambdards:skipBundling": true}
	for k, v := range context {
		ctx[k] = v
	}
	return awscdk.NewApp(&awscdk.AppProps{
		BuiltinCloudFormationValidation: jsii.Bool(false),
		Context:                         &ctx,
	})
}

// Resources returns the template's resources of one type, by logical ID.
func Resources(t assertions.Template, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range *t.FindResources(jsii.String(typ), nil) {
		out[id] = *r
	}
	return out
}

// Props returns a resource's Properties.
func Props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

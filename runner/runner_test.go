package runner_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/internal/cdktest"
	"github.com/lambdards/lambdards/runner"
)

func TestMain(m *testing.M) { os.Exit(cdktest.Run(m)) }

// TestCheckTemplates refuses a template with more outputs than CloudFormation takes, and
// one larger than it takes, naming the stack, and passes one within both.
func TestCheckTemplates(t *testing.T) {
	app := cdktest.NewApp(nil)
	outputs := awscdk.NewStack(app, jsii.String("Outputs"), nil)
	for i := range runner.MaxTemplateOutputs + 1 {
		awscdk.NewCfnOutput(outputs, jsii.String(fmt.Sprintf("O%d", i)), &awscdk.CfnOutputProps{Value: jsii.String("v")})
	}
	big := awscdk.NewStack(app, jsii.String("Big"), nil)
	awscdk.NewCfnOutput(big, jsii.String("Big"), &awscdk.CfnOutputProps{Value: jsii.String(strings.Repeat("x", runner.MaxTemplateBytes))})
	awscdk.NewCfnOutput(awscdk.NewStack(app, jsii.String("Fine"), nil), jsii.String("O"), &awscdk.CfnOutputProps{Value: jsii.String("v")})
	err := runner.CheckTemplates(app.Synth(nil))
	if err == nil {
		t.Fatal("CheckTemplates = nil, want the Outputs and Big stacks refused")
	}
	msg := err.Error()
	for _, want := range []string{"stack Outputs: 201 outputs, more than the 200", "stack Big: its template is ", "bytes, more than the 1000000 CloudFormation takes"} {
		if !strings.Contains(msg, want) {
			t.Errorf("CheckTemplates = %q, want it to contain %q", msg, want)
		}
	}
	if strings.Contains(msg, "stack Fine") {
		t.Errorf("CheckTemplates = %q, want the Fine stack left alone", msg)
	}
}

package stacks

import (
	"path/filepath"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/function"
	"github.com/lambdards/lambdards/constructs/pool"
	"github.com/lambdards/lambdards/internal/cdktest"
	"github.com/lambdards/lambdards/internal/panictest"
)

// TestDataWithoutFunctions reuses the Data stack alone: a team attaches a function of its
// own to its pool, and a functions stack of the app's joins the same pool.
func TestDataWithoutFunctions(t *testing.T) {
	cfg, err := Configure(mapContext{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Root, err = filepath.Abs(".."); err != nil {
		t.Fatal(err)
	}
	app := cdktest.NewApp(map[string]any{function.SkipBundlingContext: true})
	data := NewData(app, jsii.String("Data"), &DataProps{Config: cfg,
		StackProps: awscdk.StackProps{Description: jsii.String("the team's data")}})
	team := awscdk.NewStack(app, jsii.String("Team"), nil)
	own := awslambda.NewFunction(team, jsii.String("Api"), &awslambda.FunctionProps{
		Runtime: awslambda.Runtime_NODEJS_22_X(), Handler: jsii.String("index.handler"),
		Code: awslambda.Code_FromInline(jsii.String("exports.handler = async () => ({})")),
		Vpc:  data.Network.Vpc, VpcSubnets: data.Network.FunctionSubnets, Timeout: awscdk.Duration_Seconds(jsii.Number(20)),
	})
	data.Pool.Attach(own, &pool.AttachOptions{Weight: 3})
	fns := NewFunctions(app, jsii.String("Jobs"), &FunctionsProps{Pool: data.Pool, Root: cfg.Root, Functions: cfg.Functions})
	if len(fns.Handlers) != 1 {
		t.Fatalf("functions stack built %d functions, want the sample", len(fns.Handlers))
	}
	res, err := data.Pool.Budget()
	if err != nil {
		t.Fatal(err)
	}
	// 59 connections, weights 3 and 1: 44 and 14.
	got := map[string]int{}
	for _, a := range res.Functions {
		got[a.Name] = a.ReservedConcurrency
	}
	if got["Team/Api"] != 44 || got["Jobs/items"] != 14 {
		t.Errorf("reserved concurrency %v, want Team/Api 44 and Jobs/items 14", got)
	}
	assertions.Template_FromStack(data.Stack, nil).TemplateMatches(&map[string]any{"Description": "the team's data"})
	deps := *fns.Stack.Dependencies()
	if len(deps) != 1 || *deps[0].StackName() != "Data" {
		t.Errorf("functions stack depends on %d stacks, want the Data stack alone", len(deps))
	}
}

// TestFunctionsNeedAPool checks NewFunctions' one required prop.
func TestFunctionsNeedAPool(t *testing.T) {
	app := cdktest.NewApp(nil)
	panictest.Contains(t, func() { NewFunctions(app, jsii.String("Jobs"), &FunctionsProps{}) },
		"Jobs: invalid functions stack", "Pool: required")
}

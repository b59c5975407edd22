// Command lambdards synthesizes the default lambdards app: a VPC, a database, an RDS
// Proxy and VPC-attached Go Lambda functions whose reserved concurrency comes from the
// database's connection budget. Its configuration comes from CDK context (cdk.json and
// `cdk synth -c key=value`); see README.md.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/internal/golambda"
	"github.com/lambdards/lambdards/runner"
	"github.com/lambdards/lambdards/stacks"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "lambdards: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	var cfg stacks.Config
	var built *stacks.App
	_, err := runner.Run(&runner.Options{
		Names: stacks.KeyName, // messages name settings by the context keys the app's users set
		// The configuration is checked before Node.js starts, so that a mistake is
		// reported at once; the App reads the same context.
		BeforeApp: func() error {
			ctx, err := stacks.ProcessContext()
			if err != nil {
				return err
			}
			if cfg, err = stacks.Configure(ctx); err != nil {
				return err
			}
			if cfg.Root, err = os.Getwd(); err != nil {
				return err
			}
			// Entries are compiled at synth unless bundling is skipped (snapshot tests).
			if skip := ctx.TryGetContext(jsii.String(golambda.SkipBundlingContext)); skip != true && skip != "true" {
				return cfg.CheckEntries()
			}
			return nil
		},
		AfterSynth: func(asm cxapi.CloudAssembly) error {
			return built.Report(*asm.Directory(), os.Stdout)
		},
	}, func(app awscdk.App) error {
		built = stacks.New(app, cfg)
		if nag := app.Node().TryGetContext(jsii.String(stacks.NagContext)); nag == true || nag == "true" {
			stacks.Nag(app)
		}
		return nil
	})
	return err
}

// Command lambdards synthesizes the default lambdards app: a VPC, a database, an RDS
// Proxy and VPC-attached Go Lambda functions whose reserved concurrency comes from the
// database's connection budget. Its configuration comes from CDK context (cdk.json and
// `cdk synth -c key=value`); see README.md.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/internal/golambda"
	"github.com/lambdards/lambdards/stacks"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "lambdards: %v\n", err)
		os.Exit(1)
	}
}

func run() (err error) {
	defer jsii.Close()
	outdir := os.Getenv("CDK_OUTDIR") // where the CLI wants the assembly; the App's Outdir once it runs
	defer func() {
		if r := recover(); r != nil {
			err = clean(r)
		}
		// A failed run leaves no manifest.json, from this run (synth writes the assembly
		// before policy validation fails it) or an earlier one, so that nothing in the
		// output directory passes for a cloud assembly of this configuration.
		if err != nil && outdir != "" {
			if rmErr := os.Remove(filepath.Join(outdir, "manifest.json")); rmErr != nil && !os.IsNotExist(rmErr) {
				err = fmt.Errorf("%v (and removing the stale manifest: %v)", err, rmErr)
			}
		}
	}()
	// The configuration is checked before Node.js starts, so that a mistake is reported
	// at once; the App reads the same context.
	ctx, err := stacks.ProcessContext()
	if err != nil {
		return err
	}
	cfg, err := stacks.Configure(ctx)
	if err != nil {
		return err
	}
	if cfg.Root, err = os.Getwd(); err != nil {
		return err
	}
	// Entries are compiled at synth unless bundling is skipped (snapshot tests).
	if skip := ctx.TryGetContext(jsii.String(golambda.SkipBundlingContext)); skip != true && skip != "true" {
		if err := cfg.CheckEntries(); err != nil {
			return err
		}
	}
	defaults := golambda.AppContext()
	app := awscdk.NewApp(&awscdk.AppProps{Context: &defaults})
	outdir = *app.Outdir()
	built := stacks.New(app, cfg)
	if nag := app.Node().TryGetContext(jsii.String(stacks.NagContext)); nag == true || nag == "true" {
		stacks.Nag(app)
	}
	asm := app.Synth(nil)
	return built.Report(*asm.Directory(), os.Stdout)
}

// clean turns a panic from construction or synth into an error without a stack trace:
// jsii reports a failed validation as "ValidationFailedWithErrors: ...".
func clean(r any) error {
	var msg string
	switch v := r.(type) {
	case error:
		msg = v.Error()
	default:
		msg = fmt.Sprint(v)
	}
	if i := strings.Index(msg, "Validation failed with the following errors:"); i >= 0 {
		msg = "synth failed: " + msg[i:]
	}
	if i := strings.Index(msg, "\n    at "); i >= 0 { // a JavaScript stack
		msg = msg[:i]
	}
	return errors.New(strings.TrimSpace(msg))
}

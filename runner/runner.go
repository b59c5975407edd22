// Package runner runs a CDK app that uses lambdards's constructs so that a mistake reads as
// a message: every invalid prop and every failed validation is printed with its construct
// path, and no Go or JavaScript stack trace, as one error. The default app runs through it,
// and so can a team's own:
//
//	func main() {
//		runner.Main(nil, func(app awscdk.App) error {
//			stack := awscdk.NewStack(app, jsii.String("Orders"), nil)
//			// ... network, database, pool, functions ...
//			return nil
//		})
//	}
//
// Before it synthesizes, Run checks every pool's connection budget (package pool), so a
// budget that cannot hold is reported at once, in the words of Options.Names, rather than
// by CDK validation after the templates are written; after, it checks every template
// against the CloudFormation quotas that aws-cdk-lib does not (CheckTemplates).
package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/pool"
	"github.com/lambdards/lambdards/internal/fields"
	"github.com/lambdards/lambdards/internal/golambda"
)

// Options configures Run. A nil *Options means all defaults.
type Options struct {
	// AppProps are the App's props; Run adds lambdards's default context
	// (golambda.AppContext: no creation stack traces) under any the props give.
	// Default: none.
	AppProps *awscdk.AppProps
	// Names renders the settings that messages name, given each setting's Go field (for
	// example "MaxCapacity"): an app whose users set context keys renders them as its keys.
	// Default: the Go field names.
	Names func(goName string) string
	// BeforeApp runs before the App is made, that is before Node.js starts: a check of the
	// app's own configuration that needs no construct, reported at once.
	// Default: none.
	BeforeApp func() error
	// AfterSynth runs with the cloud assembly once synth succeeds, while the constructs
	// can still be asked (before Run stops the jsii runtime): to report on the app.
	// Default: none.
	AfterSynth func(asm cxapi.CloudAssembly) error
}

// Run makes an App, calls build to fill it, checks every pool's budget and synthesizes. It
// returns the cloud assembly, or an error whose message is what went wrong and where:
// construction errors (lambdards's invalid props, aws-cdk-lib's errors) and validation
// errors, with construct paths and without stack traces. A failed run leaves no
// manifest.json in the output directory, from this run or an earlier one, so that nothing
// there passes for a cloud assembly of this app. Run stops the jsii runtime when it ends,
// so it runs once per process.
func Run(opts *Options, build func(app awscdk.App) error) (asm cxapi.CloudAssembly, err error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Names == nil {
		o.Names = fields.Go
	}
	defer jsii.Close()
	outdir := os.Getenv("CDK_OUTDIR") // where the CLI wants the assembly; the App's Outdir once it runs
	defer func() {
		if r := recover(); r != nil {
			asm, err = nil, Clean(r, o.Names)
		}
		if err != nil && outdir != "" {
			if rmErr := os.Remove(filepath.Join(outdir, "manifest.json")); rmErr != nil && !os.IsNotExist(rmErr) {
				err = fmt.Errorf("%v (and removing the stale manifest: %v)", err, rmErr)
			}
		}
	}()
	if o.BeforeApp != nil {
		if err := o.BeforeApp(); err != nil {
			return nil, err
		}
	}
	props := awscdk.AppProps{}
	if o.AppProps != nil {
		props = *o.AppProps
	}
	ctx := golambda.AppContext()
	if props.Context != nil {
		for k, v := range *props.Context {
			ctx[k] = v
		}
	}
	props.Context = &ctx
	app := awscdk.NewApp(&props)
	outdir = *app.Outdir()
	if err := build(app); err != nil {
		return nil, errors.New(fields.In(err, o.Names))
	}
	if err := CheckBudgets(app, o.Names); err != nil {
		return nil, err
	}
	asm = app.Synth(nil)
	if err := CheckTemplates(asm); err != nil {
		return nil, err
	}
	if o.AfterSynth != nil {
		if err := o.AfterSynth(asm); err != nil {
			return nil, err
		}
	}
	return asm, nil
}

// Main runs Run for a program's main function: it prints the error, prefixed with the
// program's name, to standard error and exits with status 1. It returns the assembly
// otherwise.
func Main(opts *Options, build func(app awscdk.App) error) cxapi.CloudAssembly {
	asm, err := Run(opts, build)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", filepath.Base(os.Args[0]), err)
		os.Exit(1)
	}
	return asm
}

// CheckBudgets returns every problem of the connection budgets of app's pools and of the
// accounts they share, in one error whose messages name settings with names, or nil.
func CheckBudgets(app awscdk.App, names func(goName string) string) error {
	var lines []string
	for _, acct := range pool.Accounts(app) {
		for _, pl := range acct.Pools {
			_, err := pl.Budget()
			if err == nil {
				continue
			}
			lines = append(lines, fmt.Sprintf("%s: connection budget:", *pl.Node().Path()))
			for _, p := range strings.Split(fields.In(err, names), "\n") {
				lines = append(lines, "  - "+p)
			}
		}
		if acct.Err != nil {
			lines = append(lines, "account concurrency, shared by the pools "+poolPaths(acct.Pools)+":")
			for _, p := range strings.Split(fields.In(acct.Err, names), "\n") {
				lines = append(lines, "  - "+p)
			}
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return errors.New(strings.Join(lines, "\n"))
}

func poolPaths(pools []*pool.Pool) string {
	paths := make([]string, len(pools))
	for i, pl := range pools {
		paths[i] = *pl.Node().Path()
	}
	return strings.Join(paths, ", ")
}

// Clean turns a panic from construction or synth into an error without a stack trace,
// naming settings with names: a lambdards construct's invalid props (an error naming them
// as {GoName}), a failed CDK validation (which jsii raises as "ValidationFailedWithErrors:
// ..."), or an aws-cdk-lib error with its JavaScript stack.
func Clean(r any, names func(goName string) string) error {
	msg := fields.In(r, names)
	if i := strings.Index(msg, "Validation failed with the following errors:"); i >= 0 {
		msg = "synth failed: " + msg[i:]
	}
	if i := strings.Index(msg, "\n    at "); i >= 0 { // a JavaScript stack
		msg = msg[:i]
	}
	return errors.New(strings.TrimSpace(msg))
}

// CloudFormation's quotas on one template that aws-cdk-lib does not check at synth (it
// refuses more than 500 resources itself): AWS CloudFormation User Guide, "CloudFormation
// quotas": outputs, 200 per template; template body size in an Amazon S3 object (where
// the CDK CLI uploads templates), 1 MB, taken here as 1,000,000 bytes.
const (
	MaxTemplateOutputs = 200
	MaxTemplateBytes   = 1_000_000
)

// CheckTemplates returns every template of asm that CloudFormation would refuse for its
// size or its number of outputs, naming the stack, or nil.
func CheckTemplates(asm cxapi.CloudAssembly) error {
	var problems []string
	for _, st := range *asm.Stacks() {
		path := *st.TemplateFullPath()
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var tmpl struct{ Outputs map[string]any }
		if err := json.Unmarshal(raw, &tmpl); err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
		name := *st.HierarchicalId()
		if len(raw) > MaxTemplateBytes {
			problems = append(problems, fmt.Sprintf("stack %s: its template is %d bytes, more than the %d CloudFormation "+
				"takes, so it would not deploy; move resources to another stack (for the default app's Monitoring stack, a pool "+
				"of very many functions: turn the dashboard or the alarms off)", name, len(raw), MaxTemplateBytes))
		}
		if n := len(tmpl.Outputs); n > MaxTemplateOutputs {
			problems = append(problems, fmt.Sprintf("stack %s: %d outputs, more than the %d CloudFormation takes, so it "+
				"would not deploy; move resources that export values to another stack", name, n, MaxTemplateOutputs))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("templates CloudFormation would refuse:\n  - %s", strings.Join(problems, "\n  - "))
	}
	return nil
}

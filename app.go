// Command lambdards synthesizes the default lambdards app: a VPC, a database, an RDS
// Proxy and VPC-attached Go Lambda functions whose reserved concurrency comes from the
// database's connection budget. Its configuration comes from CDK context (cdk.json and
// `cdk synth -c key=value`); see README.md.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

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
	defer func() {
		if r := recover(); r != nil {
			err = clean(r)
		}
	}()
	app := awscdk.NewApp(nil)
	cfg, err := stacks.Configure(app.Node())
	if err != nil {
		return err
	}
	if cfg.Root, err = os.Getwd(); err != nil {
		return err
	}
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

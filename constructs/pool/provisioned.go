package pool

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/budget"
)

// AliasName is the name of the alias that carries a function's provisioned concurrency.
const AliasName = "live"

// provision gives m's function n environments of provisioned concurrency. Lambda keeps
// provisioned concurrency on a version or an alias, never on $LATEST (AWS Lambda API
// Reference, PutProvisionedConcurrencyConfig: "Adds a provisioned concurrency
// configuration to a function's alias or version"), so it lives on the alias "live" of
// the function's current version, which aws-cdk-lib publishes again whenever the
// function's code or configuration changes. The budget checks, at synth, that n fits in
// the function's reserved concurrency, and prices it from the function's memory and
// architecture: a few round trips to node, for functions with provisioned concurrency
// only.
func provision(m *Member, n int) {
	fn := m.Function
	if cfn, ok := fn.Node().DefaultChild().(awslambda.CfnFunction); ok && cfn.MemorySize() != nil {
		m.entry.MemoryMB = int(*cfn.MemorySize())
	}
	m.entry.Architecture = budget.ArchitectureX86
	if arch := fn.Architecture(); arch != nil && *arch.Name() == budget.ArchitectureArm64 {
		m.entry.Architecture = budget.ArchitectureArm64
	}
	m.Alias = fn.AddAlias(jsii.String(AliasName), &awslambda.AliasOptions{
		Description:                     jsii.String("lambdards: the function's provisioned concurrency; invoke this alias to use it"),
		ProvisionedConcurrentExecutions: jsii.Number(n),
	})
}

// checkScaling reports the settings that keep a function from reading from the reader or
// from having provisioned concurrency.
func (pl *Pool) checkScaling(o AttachOptions) []string {
	errs := pl.checkReader(o)
	if o.ProvisionedConcurrency < 0 {
		errs = append(errs, fmt.Sprintf("{ProvisionedConcurrency} %d: must be 0 (none) or more", o.ProvisionedConcurrency))
	}
	if r := o.ReservedConcurrency; r > 0 && o.ProvisionedConcurrency > r {
		errs = append(errs, fmt.Sprintf("{ProvisionedConcurrency} %d exceeds the function's fixed {ReservedConcurrency} %d: Lambda keeps "+
			"provisioned environments inside a function's reserved concurrency and refuses more; lower {ProvisionedConcurrency} to "+
			"at most %d, or raise {ReservedConcurrency}", o.ProvisionedConcurrency, r, r))
	}
	return errs
}

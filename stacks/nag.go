package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// NagContext is the context key that, when true, makes the app run the cdk-nag rule packs
// at synth (`make nag`).
const NagContext = "lambdards:nag"

// Nag adds the cdk-nag rule packs lambdards is held to (AwsSolutions, NIST 800-53 rev 5
// and HIPAA Security) to every stack under scope. Each pack reports an unsuppressed error
// as an error annotation, which makes `cdk synth` fail, and writes a CSV report per stack
// into the cloud assembly directory. A Stage does not inherit aspects from its parent, so
// call Nag on each Stage.
func Nag(scope constructs.IConstruct) {
	props := &cdknag.NagPackProps{Verbose: jsii.Bool(true), Reports: jsii.Bool(true)}
	// Read-only: the packs look at the template after every mutating aspect has run.
	last := &awscdk.AspectOptions{Priority: awscdk.AspectPriority_READONLY()}
	aspects := awscdk.Aspects_Of(scope)
	aspects.Add(cdknag.NewAwsSolutionsChecks(props), last)
	aspects.Add(cdknag.NewNIST80053R5Checks(props), last)
	aspects.Add(cdknag.NewHIPAASecurityChecks(props), last)
}

package golambda

import (
	"sync"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/internal/gobuild"
	"github.com/lambdards/lambdards/internal/nag"
)

// statics are the values of aws-cdk-lib that every function uses, the same in every app
// and stack (its static members, and a principal that is not a construct), asked of node
// once per process.
var statics = sync.OnceValue(func() kitStatics {
	return kitStatics{
		runtime: awslambda.Runtime_PROVIDED_AL2023(),
		arch:    awslambda.Architecture_ARM_64(),
		lambda:  awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
	}
})

type kitStatics struct {
	runtime awslambda.Runtime
	arch    awslambda.Architecture
	lambda  awsiam.IPrincipal
}

// KitID is the construct ID, in each stack with lambdards functions, of the Kit they
// share.
const KitID = "LambdardsFunctionKit"

// Kit is what the lambdards functions of one stack share, made once and found again in
// the stack's construct tree (no process-wide state but aws-cdk-lib's static values,
// statics): the policy for their VPC network interfaces, the asset of each binary, and
// the values of aws-cdk-lib they all use. Every question to node is a round trip, so each
// is asked once per stack, here.
type Kit struct {
	constructs.Construct
	// Stack is the kit's stack.
	Stack awscdk.Stack
	// SkipBundling is SkipBundlingContext as the app gives it.
	SkipBundling bool

	runtime   awslambda.Runtime
	arch      awslambda.Architecture
	lambda    awsiam.IPrincipal
	policy    awsiam.ManagedPolicy
	codes     map[string]awslambda.Code // the asset of each binary, by directory
	durations map[int]awscdk.Duration   // Durations are immutable: one per number of seconds
	paths     map[any]string            // the construct path of each scope asked about
}

// ToString names the kit. It is the method through which the kit, a Go value, becomes
// a construct of the tree (jsii needs one).
func (k *Kit) ToString() *string { return jsii.String("lambdards function kit") }

// KitOf finds scope's stack's Kit, or makes it. scope may be the stack itself, which
// saves a round trip.
func KitOf(scope constructs.IConstruct) *Kit {
	stack, ok := scope.(awscdk.Stack)
	if !ok {
		stack = awscdk.Stack_Of(scope)
	}
	node := stack.Node()
	if k, ok := node.TryFindChild(jsii.String(KitID)).(*Kit); ok {
		return k
	}
	skip := node.TryGetContext(jsii.String(SkipBundlingContext))
	st := statics()
	k := &Kit{
		Stack:        stack,
		SkipBundling: skip == true || skip == "true",
		runtime:      st.runtime,
		arch:         st.arch,
		lambda:       st.lambda,
		codes:        map[string]awslambda.Code{},
		durations:    map[int]awscdk.Duration{},
		paths:        map[any]string{},
	}
	constructs.NewConstruct_Override(k, stack, jsii.String(KitID))
	return k
}

// Path is scope's construct path, asked of node once per scope.
func (k *Kit) Path(scope constructs.IConstruct) string {
	p, ok := k.paths[scope]
	if !ok {
		p = *scope.Node().Path()
		k.paths[scope] = p
	}
	return p
}

func (k *Kit) seconds(n int) awscdk.Duration {
	d, ok := k.durations[n]
	if !ok {
		d = awscdk.Duration_Seconds(jsii.Number(n))
		k.durations[n] = d
	}
	return d
}

// bundle compiles entry, or stands in a placeholder when the app skips bundling. An asset
// is bound to its stack; the functions of the stack that run the same binary share it.
func (k *Kit) bundle(entry string) (awslambda.Code, error) {
	var dir string
	var err error
	if k.SkipBundling {
		dir, err = placeholder()
	} else {
		dir, err = gobuild.Build(entry)
	}
	if err != nil {
		return nil, err
	}
	code, ok := k.codes[dir]
	if !ok {
		code = awslambda.Code_FromAsset(jsii.String(dir), nil)
		k.codes[dir] = code
	}
	return code, nil
}

// vpcAccess is the stack's policy for the functions' VPC network interfaces (construct
// ID VpcAccessPolicyID in the stack, where it has always been: its logical ID is kept).
func (k *Kit) vpcAccess() awsiam.ManagedPolicy {
	if k.policy != nil {
		return k.policy
	}
	description := "lambdards functions: create, describe and delete the network interfaces that attach them to the VPC"
	p := awsiam.NewManagedPolicy(k.Stack, jsii.String(VpcAccessPolicyID), &awsiam.ManagedPolicyProps{
		Description: jsii.String(description),
		Document: Document([]Statement{{Actions: []string{"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces",
			"ec2:DescribeSubnets", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"},
			Resources: []string{"*"}}}),
	})
	nag.SuppressFindings(p, "Lambda manages its functions' VPC network interfaces with these EC2 actions, "+
		"which AWS documents on resource \"*\" (the Describe actions support no narrower resource); they create no access to data.",
		[]string{"Resource::*"}, "AwsSolutions-IAM5")
	k.policy = p
	return p
}

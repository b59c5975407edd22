// Package golambda builds what every lambdards Lambda function is made of: a Go binary
// compiled locally for provided.al2023 on arm64 (package gobuild), attached to the VPC,
// with an encrypted log group of its own and an execution role with two customer-managed
// policies: its own, and one for the VPC network interfaces that the functions of a stack
// share. Package function builds the database functions on it, package users the
// provisioner. It asks node as little as it can: every jsii call is a round trip.
package golambda

import (
	"encoding/json"
	"sync"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/internal/gobuild"
	"github.com/lambdards/lambdards/internal/nag"
)

// SkipBundlingContext is the context key that, when true, replaces every function's
// compiled binary with a placeholder: synth gets faster and asset hashes stop depending
// on the code, while every logical ID stays the same. For snapshot tests, not deploys.
const SkipBundlingContext = "lambdards:skipBundling"

// AppContext is the context an App of lambdards's is given as defaults (context from the
// CLI or cdk.json still wins): aws-cdk-lib otherwise records the JavaScript stack at every
// construct it creates, which in a Go app holds only aws-cdk-lib's and jsii's own frames,
// at about 0.3 to 0.8 ms of synth per function (docs/BENCHMARKS.md); `cdk synth --debug`
// records them regardless. It is not in cdk.json, where the CLI warns about every key
// under "aws:" at each synth.
func AppContext() map[string]any {
	return map[string]any{"aws:cdk:disable-creation-stack-traces": true}
}

// Props describes one function. Every field is required unless it says otherwise.
type Props struct {
	// Entry is the directory of the Go main package.
	Entry string
	// SkipBundling stands a placeholder in for the compiled binary.
	SkipBundling bool
	// Stack is scope's stack, if the caller knows it (each lookup is a round trip to node).
	// Default: looked up.
	Stack      awscdk.Stack
	Vpc        awsec2.IVpc
	VpcSubnets *awsec2.SubnetSelection
	// SecurityGroup is the function's one security group.
	SecurityGroup  awsec2.ISecurityGroup
	MemorySize     int
	TimeoutSeconds int
	// Environment may be nil.
	Environment map[string]*string
	// ReservedConcurrency may be nil (unreserved).
	ReservedConcurrency *float64
	LogRetention        awslogs.RetentionDays
	// LogRemovalPolicy applies to the log group.
	// Default: awscdk.RemovalPolicy_DESTROY.
	LogRemovalPolicy awscdk.RemovalPolicy
	// LogKey encrypts the log group; nil leaves it to CloudWatch Logs' own encryption.
	LogKey      awskms.IKey
	Description string
	// RoleDescription says what the role may do.
	RoleDescription string
	// PolicyDescription says what the function's own policy allows (the VPC network
	// interfaces are a shared policy's).
	PolicyDescription string
	// Statements are the permissions beyond logs and VPC network interfaces.
	Statements []Statement
}

// Statement allows Actions on Resources. Its strings may hold tokens. It is plain Go, not
// an awsiam.PolicyStatement, so that a function's whole policy document crosses to node in
// one round trip.
type Statement struct {
	Actions   []string
	Resources []string
}

// Function is what New builds.
type Function struct {
	Function awslambda.Function
	Role     awsiam.Role
	// Policy holds the permissions of Role that are the function's own; the VPC network
	// interface permissions every function needs are a policy its stack's functions share
	// (VpcAccessPolicyID).
	Policy   awsiam.ManagedPolicy
	LogGroup awslogs.LogGroup
}

// New builds a function as the children Logs, Role, Policy and Function of scope. These
// IDs are part of the caller's contract: they decide logical IDs.
func New(scope constructs.Construct, p Props) (*Function, error) {
	if p.LogRemovalPolicy == "" {
		p.LogRemovalPolicy = awscdk.RemovalPolicy_DESTROY
	}
	if p.Stack == nil {
		p.Stack = awscdk.Stack_Of(scope)
	}
	code, err := bundle(p.Stack, p.SkipBundling, p.Entry)
	if err != nil {
		return nil, err
	}
	logs := awslogs.NewLogGroup(scope, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention:     p.LogRetention,
		RemovalPolicy: p.LogRemovalPolicy,
		EncryptionKey: p.LogKey,
	})
	// What AWSLambdaBasicExecutionRole allows, for the function's own log group only (AWS
	// Lambda Developer Guide, "Defining Lambda function permissions with an execution role").
	statements := append([]Statement{
		{Actions: []string{"logs:CreateLogStream", "logs:PutLogEvents"}, Resources: []string{*logs.LogGroupArn()}},
	}, p.Statements...)
	policy := awsiam.NewManagedPolicy(scope, jsii.String("Policy"), &awsiam.ManagedPolicyProps{
		Description: jsii.String(p.PolicyDescription),
		Document:    document(statements),
	})
	shared := statics()
	// The role names its policies, so CloudFormation attaches them before it creates the
	// function, which refers to the role: Lambda checks at creation that the role may manage
	// VPC network interfaces.
	role := awsiam.NewRole(scope, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy:       shared.lambda,
		Description:     jsii.String(p.RoleDescription),
		ManagedPolicies: &[]awsiam.IManagedPolicy{vpcAccess(p.Stack), policy},
	})
	fn := awslambda.NewFunction(scope, jsii.String("Function"), &awslambda.FunctionProps{
		Runtime:                      shared.runtime,
		Architecture:                 shared.arch,
		Handler:                      jsii.String(gobuild.Binary),
		Code:                         code,
		MemorySize:                   jsii.Number(p.MemorySize),
		Timeout:                      seconds(p.TimeoutSeconds),
		Vpc:                          p.Vpc,
		VpcSubnets:                   p.VpcSubnets,
		SecurityGroups:               &[]awsec2.ISecurityGroup{p.SecurityGroup},
		Environment:                  &p.Environment,
		ReservedConcurrentExecutions: p.ReservedConcurrency,
		LogGroup:                     logs,
		Role:                         role,
		Description:                  jsii.String(p.Description),
	})
	return &Function{Function: fn, Role: role, Policy: policy, LogGroup: logs}, nil
}

// statics are aws-cdk-lib's immutable values every function uses, fetched once per
// process: each fetch is a round trip to node.
var statics = sync.OnceValue(func() struct {
	runtime awslambda.Runtime
	arch    awslambda.Architecture
	lambda  awsiam.IPrincipal
} {
	return struct {
		runtime awslambda.Runtime
		arch    awslambda.Architecture
		lambda  awsiam.IPrincipal
	}{awslambda.Runtime_PROVIDED_AL2023(), awslambda.Architecture_ARM_64(),
		awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil)}
})

// durations holds one awscdk.Duration per number of seconds: Durations are immutable, and
// each new one is a round trip to node.
var durations sync.Map // int → awscdk.Duration

func seconds(n int) awscdk.Duration {
	return memo(&durations, n, func() awscdk.Duration { return awscdk.Duration_Seconds(jsii.Number(n)) })
}

// memo returns cache's value for key, made by make on the first call: each cache below
// saves round trips to node.
func memo[V any](cache *sync.Map, key any, make func() V) V {
	if v, ok := cache.Load(key); ok {
		return v.(V)
	}
	v, _ := cache.LoadOrStore(key, make())
	return v.(V)
}

// document renders statements as one policy document, in a single round trip to node.
func document(statements []Statement) awsiam.PolicyDocument {
	type statement struct {
		Effect   string
		Action   []string
		Resource []string
	}
	doc := struct {
		Version   string
		Statement []statement
	}{Version: "2012-10-17"}
	for _, s := range statements {
		doc.Statement = append(doc.Statement, statement{"Allow", s.Actions, s.Resources})
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		panic(err) // strings only: cannot fail
	}
	var v any
	json.Unmarshal(raw, &v)
	return awsiam.PolicyDocument_FromJson(v)
}

var skipBundling sync.Map // constructs.IConstruct → bool

// SkipsBundling reports whether scope's app sets SkipBundlingContext, asking node once per
// scope: context is app-wide.
func SkipsBundling(scope constructs.IConstruct) bool {
	return memo(&skipBundling, scope, func() bool {
		v := scope.Node().TryGetContext(jsii.String(SkipBundlingContext))
		return v == true || v == "true"
	})
}

// The caches below are keyed by jsii objects and live as long as the process, which has
// one jsii runtime: an app is synthesized once per process, and a test binary that builds
// many apps keeps their small entries until it exits.

// codes holds the asset of each binary per stack: an asset is bound to the stack of its
// first function, and the functions of one stack that run the same binary share it.
var codes sync.Map // code{stack, dir} → awslambda.Code

type code struct {
	stack awscdk.Stack
	dir   string
}

// VpcAccessPolicyID is the construct ID, in each stack with lambdards functions, of the
// customer-managed policy they share: what AWSLambdaVPCAccessExecutionRole allows (AWS
// Lambda Developer Guide, "Giving Lambda functions access to resources in an Amazon VPC",
// execution role permissions). One per stack keeps the statement, and its cdk-nag
// exemption, out of every function's own policy.
const VpcAccessPolicyID = "LambdardsFunctionVpcAccess"

var vpcPolicies sync.Map // awscdk.Stack → awsiam.ManagedPolicy

func vpcAccess(stack awscdk.Stack) awsiam.ManagedPolicy {
	if p, ok := vpcPolicies.Load(stack); ok {
		return p.(awsiam.ManagedPolicy)
	}
	// Another view of the same stack may have made it (a Go value per jsii object is
	// not promised).
	if c, ok := stack.Node().TryFindChild(jsii.String(VpcAccessPolicyID)).(awsiam.ManagedPolicy); ok {
		vpcPolicies.Store(stack, c)
		return c
	}
	description := "lambdards functions: create, describe and delete the network interfaces that attach them to the VPC"
	p := awsiam.NewManagedPolicy(stack, jsii.String(VpcAccessPolicyID), &awsiam.ManagedPolicyProps{
		Description: jsii.String(description),
		Document: document([]Statement{{Actions: []string{"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces",
			"ec2:DescribeSubnets", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"},
			Resources: []string{"*"}}}),
	})
	nag.SuppressFindings(p, "Lambda manages its functions' VPC network interfaces with these EC2 actions, "+
		"which AWS documents on resource \"*\" (the Describe actions support no narrower resource); they create no access to data.",
		[]string{"Resource::*"}, "AwsSolutions-IAM5")
	vpcPolicies.Store(stack, p)
	return p
}

// bundle compiles entry, or stands in a placeholder when skip is true.
func bundle(stack awscdk.Stack, skip bool, entry string) (awslambda.Code, error) {
	var dir string
	var err error
	if skip {
		dir, err = placeholder()
	} else {
		dir, err = gobuild.Build(entry)
	}
	if err != nil {
		return nil, err
	}
	return memo(&codes, code{stack, dir}, func() awslambda.Code { return awslambda.Code_FromAsset(jsii.String(dir), nil) }), nil
}

// Scope is what a caller building many functions in one scope needs to know about it.
type Scope struct {
	// Stack is the scope's stack.
	Stack awscdk.Stack
	// Path is the scope's construct path.
	Path string
}

var scopes sync.Map // constructs.IConstruct → Scope

// ScopeOf returns scope's stack and path, asking node once per scope.
func ScopeOf(scope constructs.IConstruct) Scope {
	return memo(&scopes, scope, func() Scope { return Scope{Stack: awscdk.Stack_Of(scope), Path: *scope.Node().Path()} })
}

// placeholder stores the stand-in bootstrap that skipped bundling deploys.
var placeholder = sync.OnceValues(func() (string, error) {
	return gobuild.StoreBinary([]byte("#!/bin/sh\necho 'lambdards: bundling was skipped; this asset is a placeholder' >&2\nexit 1\n"))
})

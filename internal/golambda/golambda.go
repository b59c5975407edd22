// Package golambda builds what every lambdards Lambda function is made of: a Go binary
// compiled locally for provided.al2023 on arm64 (package gobuild), attached to the VPC,
// with an encrypted log group of its own and an execution role whose every permission
// sits in one customer-managed policy. Package function builds the database functions
// on it, package users the provisioner.
package golambda

import (
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

// Props describes one function. Every field is required unless it says otherwise.
type Props struct {
	// Entry is the directory of the Go main package.
	Entry string
	// SkipBundling stands a placeholder in for the compiled binary.
	SkipBundling bool
	Vpc          awsec2.IVpc
	VpcSubnets   *awsec2.SubnetSelection
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
	// PolicyDescription says what the role may do.
	PolicyDescription string
	// Statements are the permissions beyond logs and VPC network interfaces.
	Statements []awsiam.PolicyStatement
}

// Function is what New builds.
type Function struct {
	Function awslambda.Function
	Role     awsiam.Role
	// Policy holds every permission of Role.
	Policy   awsiam.ManagedPolicy
	LogGroup awslogs.LogGroup
}

// New builds a function as the children Logs, Role, Policy and Function of scope. These
// IDs are part of the caller's contract: they decide logical IDs.
func New(scope constructs.Construct, p Props) (*Function, error) {
	if p.LogRemovalPolicy == "" {
		p.LogRemovalPolicy = awscdk.RemovalPolicy_DESTROY
	}
	code, err := bundle(p.SkipBundling, p.Entry)
	if err != nil {
		return nil, err
	}
	logs := awslogs.NewLogGroup(scope, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention:     p.LogRetention,
		RemovalPolicy: p.LogRemovalPolicy,
		EncryptionKey: p.LogKey,
	})
	role := awsiam.NewRole(scope, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String(p.PolicyDescription),
	})
	// What AWSLambdaBasicExecutionRole allows, for the function's own log group only, and
	// what AWSLambdaVPCAccessExecutionRole allows (AWS Lambda Developer Guide, "Giving
	// Lambda functions access to resources in an Amazon VPC", execution role permissions).
	statements := append([]awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
			Resources: jsii.Strings(*logs.LogGroupArn()),
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions: jsii.Strings("ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
				"ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"),
			Resources: jsii.Strings("*"),
		}),
	}, p.Statements...)
	policy := awsiam.NewManagedPolicy(scope, jsii.String("Policy"), &awsiam.ManagedPolicyProps{
		Description: jsii.String(p.PolicyDescription),
		Roles:       &[]awsiam.IRole{role},
		Statements:  &statements,
	})
	nag.SuppressFindings(policy.Node().DefaultChild(), "Lambda manages the function's VPC network interfaces with these EC2 actions, "+
		"which AWS documents on resource \"*\" (the Describe actions support no narrower resource); they create no access to data.",
		[]string{"Resource::*"}, "AwsSolutions-IAM5")
	fn := awslambda.NewFunction(scope, jsii.String("Function"), &awslambda.FunctionProps{
		Runtime:                      statics().runtime,
		Architecture:                 statics().arch,
		Handler:                      jsii.String(gobuild.Binary),
		Code:                         code,
		MemorySize:                   jsii.Number(p.MemorySize),
		Timeout:                      awscdk.Duration_Seconds(jsii.Number(p.TimeoutSeconds)),
		Vpc:                          p.Vpc,
		VpcSubnets:                   p.VpcSubnets,
		SecurityGroups:               &[]awsec2.ISecurityGroup{p.SecurityGroup},
		Environment:                  &p.Environment,
		ReservedConcurrentExecutions: p.ReservedConcurrency,
		LogGroup:                     logs,
		Role:                         role,
		Description:                  jsii.String(p.Description),
	})
	// Lambda checks at creation that the role may manage VPC network interfaces.
	fn.Node().AddDependency(policy)
	return &Function{Function: fn, Role: role, Policy: policy, LogGroup: logs}, nil
}

// statics are aws-cdk-lib's static values a function uses, fetched once per process:
// each fetch is a round trip to node.
var statics = sync.OnceValue(func() struct {
	runtime awslambda.Runtime
	arch    awslambda.Architecture
} {
	return struct {
		runtime awslambda.Runtime
		arch    awslambda.Architecture
	}{awslambda.Runtime_PROVIDED_AL2023(), awslambda.Architecture_ARM_64()}
})

// SkipsBundling reports whether scope's app sets SkipBundlingContext. Callers with many
// functions in one app should read it once.
func SkipsBundling(scope constructs.Construct) bool {
	v := scope.Node().TryGetContext(jsii.String(SkipBundlingContext))
	return v == true || v == "true"
}

// bundle compiles entry, or stands in a placeholder when skip is true.
func bundle(skip bool, entry string) (awslambda.Code, error) {
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
	return awslambda.Code_FromAsset(jsii.String(dir), nil), nil
}

// placeholder stores the stand-in bootstrap that skipped bundling deploys.
var placeholder = sync.OnceValues(func() (string, error) {
	return gobuild.StoreBinary([]byte("#!/bin/sh\necho 'lambdards: bundling was skipped; this asset is a placeholder' >&2\nexit 1\n"))
})

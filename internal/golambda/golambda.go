// Package golambda builds what every lambdards Lambda function is made of: a Go binary
// compiled locally for provided.al2023 on arm64 (package gobuild), attached to the VPC,
// with an encrypted log group of its own and an execution role with two customer-managed
// policies: its own, and one for the VPC network interfaces that the functions of a stack
// share. Package function builds the database functions on it, package users the
// provisioner. It asks node as little as it can: every jsii call is a round trip.
package golambda

import (
	"encoding/json"
	"fmt"
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
)

// SkipBundlingContext is gobuild.SkipContext: the context key that replaces every
// function's binary with a placeholder.
const SkipBundlingContext = gobuild.SkipContext

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
	// Kit is what the functions of scope's stack share (KitOf).
	Kit *Kit
	// Vpc, VpcSubnets and SecurityGroup (the function's one security group) attach the
	// function to a VPC; all nil leaves it outside any VPC.
	Vpc            awsec2.IVpc
	VpcSubnets     *awsec2.SubnetSelection
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

// Statement allows Actions on Resources, under Conditions when it has any (operator →
// condition key → value, as in a policy document). Its strings may hold tokens. It is
// plain Go, not an awsiam.PolicyStatement, so that a function's whole policy document
// crosses to node in one round trip.
type Statement struct {
	Actions    []string
	Resources  []string
	Conditions map[string]map[string]string
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
	k := p.Kit
	code, err := k.bundle(p.Entry)
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
		Document:    Document(statements),
	})
	// The role names its policies, so CloudFormation attaches them before it creates the
	// function, which refers to the role: Lambda checks at creation that the role may manage
	// VPC network interfaces.
	policies := []awsiam.IManagedPolicy{policy}
	var groups *[]awsec2.ISecurityGroup
	if p.Vpc != nil {
		policies = []awsiam.IManagedPolicy{k.vpcAccess(), policy}
		groups = &[]awsec2.ISecurityGroup{p.SecurityGroup}
	}
	role := awsiam.NewRole(scope, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy:       k.lambda,
		Description:     jsii.String(p.RoleDescription),
		ManagedPolicies: &policies,
	})
	fn := awslambda.NewFunction(scope, jsii.String("Function"), &awslambda.FunctionProps{
		Runtime:                      k.runtime,
		Architecture:                 k.arch,
		Handler:                      jsii.String(gobuild.Binary),
		Code:                         code,
		MemorySize:                   jsii.Number(p.MemorySize),
		Timeout:                      k.seconds(p.TimeoutSeconds),
		Vpc:                          p.Vpc,
		VpcSubnets:                   p.VpcSubnets,
		SecurityGroups:               groups,
		Environment:                  &p.Environment,
		ReservedConcurrentExecutions: p.ReservedConcurrency,
		LogGroup:                     logs,
		Role:                         role,
		Description:                  jsii.String(p.Description),
	})
	return &Function{Function: fn, Role: role, Policy: policy, LogGroup: logs}, nil
}

// Document renders statements as one policy document, in a single round trip to node.
func Document(statements []Statement) awsiam.PolicyDocument {
	doc := map[string]any{"Version": "2012-10-17"}
	var all []any
	for _, st := range statements {
		all = append(all, st.json())
	}
	doc["Statement"] = all
	return awsiam.PolicyDocument_FromJson(plain(doc))
}

// PolicyStatement is s as an aws-cdk-lib policy statement, for a policy that takes its
// statements one by one.
func (s Statement) PolicyStatement() awsiam.PolicyStatement {
	return awsiam.PolicyStatement_FromJson(plain(s.json()))
}

// plain is v as encoding/json decodes it (maps of any, slices of any, strings): values
// of the types jsii passes to node as they are, in one round trip.
func plain(v any) any {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(err) // strings only: cannot fail
	}
	var out any
	json.Unmarshal(raw, &out)
	return out
}

// json is s as a policy document writes a statement.
func (s Statement) json() map[string]any {
	st := map[string]any{"Effect": "Allow", "Action": s.Actions, "Resource": s.Resources}
	if len(s.Conditions) > 0 {
		st["Condition"] = s.Conditions
	}
	return st
}

// SecretsManagerService is Secrets Manager's service name in stack's Region, as the
// condition key kms:ViaService takes it (AWS KMS Developer Guide, "AWS KMS condition
// keys", kms:ViaService: secretsmanager.<region>.amazonaws.com).
func SecretsManagerService(stack awscdk.Stack) string {
	return fmt.Sprintf("secretsmanager.%s.%s", *stack.Region(), *stack.UrlSuffix())
}

// DecryptSecrets allows kms:Decrypt with the key keyArn only when Secrets Manager, as
// service (SecretsManagerService) names it, asks on the principal's behalf, for the
// secrets whose ARN matches secretArn under operator: StringEquals for one secret,
// StringLike for a pattern. Secrets Manager encrypts a secret with the encryption context
// SecretARN (AWS Secrets Manager User Guide, "Secret encryption and decryption in AWS
// Secrets Manager"), and kms:ViaService names the service a request comes through (AWS
// KMS Developer Guide, "AWS KMS condition keys").
func DecryptSecrets(service, keyArn, operator, secretArn string) Statement {
	conditions := map[string]map[string]string{"StringEquals": {"kms:ViaService": service}}
	if conditions[operator] == nil {
		conditions[operator] = map[string]string{}
	}
	conditions[operator]["kms:EncryptionContext:SecretARN"] = secretArn
	return Statement{Actions: []string{"kms:Decrypt"}, Resources: []string{keyArn}, Conditions: conditions}
}

// VpcAccessPolicyID is the construct ID, in each stack with lambdards functions, of the
// customer-managed policy they share: what AWSLambdaVPCAccessExecutionRole allows (AWS
// Lambda Developer Guide, "Giving Lambda functions access to resources in an Amazon VPC",
// execution role permissions). One per stack keeps the statement, and its cdk-nag
// exemption, out of every function's own policy.
const VpcAccessPolicyID = "LambdardsFunctionVpcAccess"

// placeholder stores the stand-in bootstrap that skipped bundling deploys.
var placeholder = sync.OnceValues(func() (string, error) {
	return gobuild.StoreBinary([]byte("#!/bin/sh\necho 'lambdards: bundling was skipped; this asset is a placeholder' >&2\nexit 1\n"))
})

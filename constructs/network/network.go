// Package network builds the VPC that lambdards places a database, its RDS Proxy and
// VPC-attached Lambda functions in.
//
// The VPC has two isolated subnet groups by default, one for the database and proxy and
// one for functions, and no public subnet, internet gateway or NAT gateway: nothing in it
// can be reached from, or reach, the internet. NAT gateways (which add public subnets) and
// interface endpoints are opt-in. Flow logs go to a CloudWatch Logs group that the
// network owns, encrypted with a customer-managed key (LogKey) that other constructs' log
// groups can share, and written by a role whose permissions are a customer-managed policy.
package network

import (
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/internal/fields"
	"github.com/lambdards/lambdards/internal/nag"
)

// Subnet group names. They are part of the public contract: they name the subnets in the
// template and select them in other constructs.
const (
	DatabaseSubnets = "Database"
	FunctionSubnets = "Functions"
	PublicSubnets   = "Public"
)

// Props configures a Network. A nil *Props means all defaults.
type Props struct {
	// MaxAzs is the number of Availability Zones the VPC spans.
	// An RDS DB subnet group needs subnets in at least two AZs. A stack without an explicit
	// account and Region only knows two AZs, so more than two needs AvailabilityZones.
	// Default: 2.
	MaxAzs int
	// AvailabilityZones names the AZs explicitly (for example "us-east-1a"); it overrides MaxAzs.
	// Default: the first MaxAzs AZs of the stack's Region.
	AvailabilityZones []string
	// Cidr is the VPC's IPv4 range.
	// Default: "10.0.0.0/16".
	Cidr string
	// NatGateways adds public subnets, an internet gateway and this many NAT gateways, and
	// turns the function subnets into private subnets with egress. 0 keeps the VPC isolated.
	// Default: 0.
	NatGateways int
	// InterfaceEndpoints adds an interface VPC endpoint for each service, in a security group
	// that admits no one until allowed (Endpoints[name].Connections()), reachable from the
	// function and database subnets (for example Secrets Manager, for secret rotation).
	// Default: none.
	InterfaceEndpoints []awsec2.InterfaceVpcEndpointAwsService
	// FlowLogRetention is how long VPC flow logs are kept.
	// Default: awslogs.RetentionDays_ONE_YEAR.
	FlowLogRetention awslogs.RetentionDays
	// RemovalPolicy applies to the flow log group and the key that encrypts logs: RETAIN or
	// DESTROY.
	// Default: awscdk.RemovalPolicy_RETAIN.
	RemovalPolicy awscdk.RemovalPolicy
}

// Network is a VPC with isolated database subnets and function subnets.
type Network struct {
	constructs.Construct
	// Vpc is the VPC.
	Vpc awsec2.IVpc
	// FlowLogGroup receives the VPC's flow logs.
	FlowLogGroup awslogs.ILogGroup
	// LogKey encrypts the flow logs. CloudWatch Logs may use it for any log group of the
	// stack's account and Region, so functions' log groups can share it.
	LogKey awskms.IKey
	// Endpoints are the interface endpoints, by service short name (for example
	// "secretsmanager").
	Endpoints map[string]awsec2.IInterfaceVpcEndpoint
	// DatabaseSubnets selects the subnets for the database and the proxy.
	DatabaseSubnets *awsec2.SubnetSelection
	// FunctionSubnets selects the subnets for Lambda functions.
	FunctionSubnets *awsec2.SubnetSelection
}

// New builds a Network. It panics with one error listing every invalid setting.
func New(scope constructs.Construct, id *string, props *Props) *Network {
	p := withDefaults(props)
	fields.Problems(p.problems()).Fail(*scope.Node().Path()+"/"+*id, "network")
	this := constructs.NewConstruct(scope, id)

	functionSubnetType := awsec2.SubnetType_PRIVATE_ISOLATED
	subnets := []*awsec2.SubnetConfiguration{
		{Name: jsii.String(DatabaseSubnets), SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED, CidrMask: jsii.Number(24)},
	}
	if p.NatGateways > 0 {
		functionSubnetType = awsec2.SubnetType_PRIVATE_WITH_EGRESS
		subnets = append(subnets, &awsec2.SubnetConfiguration{
			Name: jsii.String(PublicSubnets), SubnetType: awsec2.SubnetType_PUBLIC, CidrMask: jsii.Number(24),
			MapPublicIpOnLaunch: jsii.Bool(false),
		})
	}
	// Functions get a /20 per AZ: every Hyperplane ENI and every function environment that
	// scales out needs addresses, and a proxy needs free IPs in its subnets too.
	subnets = append(subnets, &awsec2.SubnetConfiguration{
		Name: jsii.String(FunctionSubnets), SubnetType: functionSubnetType, CidrMask: jsii.Number(20),
	})

	logKey := newLogKey(this, p.RemovalPolicy)
	logGroup := awslogs.NewLogGroup(this, jsii.String("FlowLogs"), &awslogs.LogGroupProps{
		Retention:     p.FlowLogRetention,
		RemovalPolicy: p.RemovalPolicy,
		EncryptionKey: logKey,
	})
	vpcProps := &awsec2.VpcProps{
		IpAddresses:         awsec2.IpAddresses_Cidr(jsii.String(p.Cidr)),
		NatGateways:         jsii.Number(p.NatGateways),
		SubnetConfiguration: &subnets,
		EnableDnsHostnames:  jsii.Bool(true),
		EnableDnsSupport:    jsii.Bool(true),
	}
	if len(p.AvailabilityZones) > 0 {
		vpcProps.AvailabilityZones = jsii.Strings(p.AvailabilityZones...)
	} else {
		vpcProps.MaxAzs = jsii.Number(p.MaxAzs)
	}
	vpc := awsec2.NewVpc(this, jsii.String("Vpc"), vpcProps)
	flowLogRole, flowLogPolicy := newFlowLogRole(this, logGroup)
	flowLog := vpc.AddFlowLog(jsii.String("All"), &awsec2.FlowLogOptions{
		// Given without policy updates, so the flow log cannot add an inline policy.
		Destination: awsec2.FlowLogDestination_ToCloudWatchLogs(logGroup, flowLogRole.WithoutPolicyUpdates(nil)),
		TrafficType: awsec2.FlowLogTrafficType_ALL,
	})
	flowLog.Node().AddDependency(flowLogPolicy)
	suppressRestrictDefaultSG(this)
	// The rule finds the custom resource as a child of the L2 Vpc, so in the app it passes;
	// a scan of the template sees the VPC without that tree.
	nag.Suppress(vpc, "The default security group is closed at deploy: the Custom::VpcRestrictDefaultSG custom resource in "+
		"this template (aws-cdk-lib, feature flag @aws-cdk/aws-ec2:restrictDefaultSecurityGroup) removes its rules, which a scan of "+
		"the template cannot tell from the VPC resource alone.", nag.NISTAndHIPAA("VPCDefaultSecurityGroupClosed")...)
	for _, subnet := range *vpc.PublicSubnets() {
		nag.Suppress(subnet.Node().FindChild(jsii.String("DefaultRoute")), "natGateways is not 0 by configuration: "+
			"a NAT gateway needs a public subnet with a default route to the internet gateway. Only the NAT gateways live there "+
			"(no public IPs on launch); the database, the proxy and the functions use subnets without such a route.",
			nag.NISTAndHIPAA("VPCNoUnrestrictedRouteToIGW")...)
	}

	n := &Network{
		Construct:       this,
		Vpc:             vpc,
		FlowLogGroup:    logGroup,
		LogKey:          logKey,
		Endpoints:       map[string]awsec2.IInterfaceVpcEndpoint{},
		DatabaseSubnets: &awsec2.SubnetSelection{SubnetGroupName: jsii.String(DatabaseSubnets)},
		FunctionSubnets: &awsec2.SubnetSelection{SubnetGroupName: jsii.String(FunctionSubnets)},
	}
	for _, svc := range p.InterfaceEndpoints {
		id := endpointID(svc)
		// Closed by default: no CIDR ingress and no egress. Whoever needs the endpoint is
		// let in by security group (ep.Connections().AllowDefaultPortFrom).
		sg := awsec2.NewSecurityGroup(this, jsii.String(id+"SecurityGroup"), &awsec2.SecurityGroupProps{
			Vpc:              vpc,
			Description:      jsii.Sprintf("lambdards %s endpoint: HTTPS from the security groups allowed in", *svc.ShortName()),
			AllowAllOutbound: jsii.Bool(false),
		})
		ep := vpc.AddInterfaceEndpoint(jsii.String(id), &awsec2.InterfaceVpcEndpointOptions{
			Service:           svc,
			Subnets:           n.FunctionSubnets,
			PrivateDnsEnabled: jsii.Bool(true),
			SecurityGroups:    &[]awsec2.ISecurityGroup{sg},
			Open:              jsii.Bool(false),
		})
		n.Endpoints[*svc.ShortName()] = ep
	}
	return n
}

// newLogKey builds the key that encrypts log groups. CloudWatch Logs may use it for any log
// group of the stack's account and Region, so that adding a function's log group never
// changes the key policy (AWS CloudWatch Logs User Guide, "Encrypt log data in CloudWatch
// Logs using AWS Key Management Service", step 2: the key policy for CloudWatch Logs).
func newLogKey(scope constructs.Construct, removal awscdk.RemovalPolicy) awskms.Key {
	stack := awscdk.Stack_Of(scope)
	key := awskms.NewKey(scope, jsii.String("LogKey"), &awskms.KeyProps{
		Description:       jsii.String("lambdards CloudWatch Logs: VPC flow logs and function logs"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     removal,
	})
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("logs."+*stack.Region()+"."+*stack.UrlSuffix()), nil)},
		Actions:    jsii.Strings("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{"ArnLike": map[string]any{
			"kms:EncryptionContext:aws:logs:arn": stack.FormatArn(&awscdk.ArnComponents{
				Service: jsii.String("logs"), Resource: jsii.String("log-group"), ResourceName: jsii.String("*"),
				ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
			}),
		}},
	}), nil)
	return key
}

// newFlowLogRole builds the role VPC flow logs write with. Its permissions are a
// customer-managed policy rather than the inline policy CDK would attach, and only the
// flow logs of this account may assume it (Amazon VPC User Guide, "IAM role for publishing
// flow logs to CloudWatch Logs": the actions, and the confused-deputy conditions).
func newFlowLogRole(scope constructs.Construct, logGroup awslogs.ILogGroup) (awsiam.Role, awsiam.ManagedPolicy) {
	stack := awscdk.Stack_Of(scope)
	role := awsiam.NewRole(scope, jsii.String("FlowLogRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("vpc-flow-logs.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]any{
				"StringEquals": map[string]any{"aws:SourceAccount": stack.Account()},
				"ArnLike": map[string]any{"aws:SourceArn": stack.FormatArn(&awscdk.ArnComponents{
					Service: jsii.String("ec2"), Resource: jsii.String("vpc-flow-log"), ResourceName: jsii.String("*"),
				})},
			},
		}),
		Description: jsii.String("lambdards: VPC flow logs to CloudWatch Logs"),
	})
	policy := awsiam.NewManagedPolicy(scope, jsii.String("FlowLogPolicy"), &awsiam.ManagedPolicyProps{
		Description: jsii.String("lambdards: write VPC flow logs to their log group"),
		Roles:       &[]awsiam.IRole{role},
		Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"),
			Resources: jsii.Strings(*logGroup.LogGroupArn()),
		})},
	})
	return role, policy
}

// RestrictDefaultSGProviderID is the construct ID, in the stack, of the provider that
// aws-cdk-lib shares among a stack's VPCs to remove the default security group's rules
// (feature flag @aws-cdk/aws-ec2:restrictDefaultSecurityGroup, custom resource
// Custom::VpcRestrictDefaultSG).
const RestrictDefaultSGProviderID = "Custom::VpcRestrictDefaultSGCustomResourceProvider"

// suppressRestrictDefaultSG records, on the role and the handler of aws-cdk-lib's
// Custom::VpcRestrictDefaultSG provider, why they are exempt from the rules they fail.
// aws-cdk-lib builds both as plain CfnResource, which cdk-nag's aspect skips in the app,
// but a scan of the synthesized template types them and reads their Metadata.cdk_nag. The
// provider is a singleton of the stack (found in the tree, as aws-cdk-lib finds it), so a
// second Network in the same stack finds the suppressions already there.
func suppressRestrictDefaultSG(scope constructs.Construct) {
	provider := awscdk.Stack_Of(scope).Node().TryFindChild(jsii.String(RestrictDefaultSGProviderID))
	if provider == nil {
		return // the feature flag is off: no provider, nothing to exempt
	}
	role, handler := provider.Node().TryFindChild(jsii.String("Role")), provider.Node().TryFindChild(jsii.String("Handler"))
	if role == nil || handler == nil || role.(awscdk.CfnResource).GetMetadata(jsii.String("cdk_nag")) != nil {
		return
	}
	nag.SuppressFindings(role, "aws-cdk-lib's provider for Custom::VpcRestrictDefaultSG (feature flag "+
		"@aws-cdk/aws-ec2:restrictDefaultSecurityGroup): the AWS-managed AWSLambdaBasicExecutionRole lets its handler write "+
		"CloudWatch Logs and nothing else; aws-cdk-lib attaches it and offers no option to replace it.",
		[]string{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}, "AwsSolutions-IAM4")
	nag.Suppress(role, "aws-cdk-lib's provider for Custom::VpcRestrictDefaultSG: its inline policy allows only the four "+
		"security-group rule actions (authorize and revoke, ingress and egress) on this VPC's default security group, which "+
		"the custom resource empties; aws-cdk-lib writes it inline and offers no option to make it a managed policy.",
		nag.NISTAndHIPAA("IAMNoInlinePolicy")...)
	nag.Suppress(handler, "aws-cdk-lib's handler for Custom::VpcRestrictDefaultSG: CloudFormation invokes it only while it "+
		"deploys, to remove the default security group's rules, so a failure fails the deploy (no dead-letter queue) and it "+
		"needs no reserved concurrency; it runs outside the VPC because it answers CloudFormation at a pre-signed S3 URL, "+
		"which the isolated subnets cannot reach, and it holds no access to data.",
		append(append(nag.NISTAndHIPAA("LambdaInsideVPC"), nag.NISTAndHIPAA("LambdaDLQ")...), nag.NISTAndHIPAA("LambdaConcurrency")...)...)
}

// endpointID names an endpoint construct after its service ("secretsmanager" becomes
// "SecretsmanagerEndpoint"), so adding or removing one endpoint leaves the others' IDs alone.
func endpointID(svc awsec2.InterfaceVpcEndpointAwsService) string {
	name := *svc.ShortName()
	parts := strings.FieldsFunc(name, func(r rune) bool { return r == '.' || r == '-' })
	var b strings.Builder
	for _, part := range parts {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String() + "Endpoint"
}

func withDefaults(props *Props) Props {
	p := fields.Of(props)
	if p.MaxAzs == 0 {
		p.MaxAzs = 2
	}
	if p.Cidr == "" {
		p.Cidr = "10.0.0.0/16"
	}
	if p.FlowLogRetention == "" {
		p.FlowLogRetention = awslogs.RetentionDays_ONE_YEAR
	}
	if p.RemovalPolicy == "" {
		p.RemovalPolicy = awscdk.RemovalPolicy_RETAIN
	}
	return p
}

// Limits of the VPC's Availability Zones: an RDS DB subnet group needs subnets in at
// least two (Amazon RDS User Guide, "Working with a DB instance in a VPC": "Each DB
// subnet group should have subnets in at least two Availability Zones"), and lambdards
// spans at most six.
const (
	MinAzs = 2
	MaxAzs = 6
)

// zoneName is an Availability Zone's name: its Region's and a letter (Amazon EC2 User
// Guide, "Regions and Zones": us-east-1a is a zone of us-east-1).
var zoneName = regexp.MustCompile(`^([a-z]{2}(?:-[a-z]+)+-[0-9]+)[a-z]$`)

// Check reports every problem with props' zones and NAT gateways, as New refuses them,
// each naming its settings as {GoName} (package internal/fields); nil when there is none.
// It asks nothing of aws-cdk-lib, so a caller can check settings before the app starts.
func Check(props *Props) []string {
	return withDefaults(props).problems()
}

func (p Props) problems() []string {
	var errs fields.Problems
	var regions []string
	for i, z := range p.AvailabilityZones {
		m := zoneName.FindStringSubmatch(z)
		switch {
		case m == nil:
			errs.Add("{AvailabilityZones} %q is not an Availability Zone name (a Region's name and a letter, e.g. us-east-1a)", z)
		case slices.Contains(p.AvailabilityZones[:i], z):
			errs.Add("{AvailabilityZones} names %s twice", z)
		case !slices.Contains(regions, m[1]):
			regions = append(regions, m[1])
		}
	}
	if len(regions) > 1 {
		errs.Add("{AvailabilityZones} names zones of %d Regions (%s), but a VPC is in one Region; name zones of one",
			len(regions), strings.Join(regions, ", "))
	}
	if n := len(p.AvailabilityZones); n == 1 || n > MaxAzs {
		errs.Add("{AvailabilityZones} names %d zones: the VPC spans %d to %d (an RDS DB subnet group needs at least %d)", n, MinAzs, MaxAzs, MinAzs)
	}
	if len(p.AvailabilityZones) == 0 && (p.MaxAzs < MinAzs || p.MaxAzs > MaxAzs) {
		errs.Add("{MaxAzs} %d: must be %d to %d (an RDS DB subnet group needs at least %d)", p.MaxAzs, MinAzs, MaxAzs, MinAzs)
	}
	if p.NatGateways < 0 {
		errs.Add("{NatGateways} %d: must be 0 (isolated) or more", p.NatGateways)
	}
	azs := p.MaxAzs
	if len(p.AvailabilityZones) > 0 {
		azs = len(p.AvailabilityZones)
	}
	if p.NatGateways > azs {
		// An environment-agnostic stack knows only two zones (aws-cdk-lib Stack
		// availabilityZones), so more than two must be named.
		more := "raise {MaxAzs} (above 2, naming that many zones in {AvailabilityZones} if the stack has no account and Region)"
		if len(p.AvailabilityZones) > 0 {
			more = "name more {AvailabilityZones}"
		}
		errs.Add("{NatGateways} %d with %d Availability Zones: at most one NAT gateway per zone; lower {NatGateways} or %s",
			p.NatGateways, azs, more)
	}
	if p.RemovalPolicy != awscdk.RemovalPolicy_RETAIN && p.RemovalPolicy != awscdk.RemovalPolicy_DESTROY {
		errs.Add("{RemovalPolicy} %q: a log group can only be retained or destroyed", p.RemovalPolicy)
	}
	return errs
}

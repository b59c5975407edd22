package database

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsrds"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/internal/nag"
)

// monitoring is what Enhanced Monitoring needs: the interval and the role it publishes
// with, or neither when it is off.
type monitoring struct {
	interval awscdk.Duration
	role     awsiam.IRole
	policy   awsiam.ManagedPolicy
}

// newMonitoring builds the Enhanced Monitoring role. Its permissions are a customer-managed
// policy with those of the AWS-managed AmazonRDSEnhancedMonitoringRole, narrowed to the
// RDSOSMetrics log group of this account and Region (Amazon RDS User Guide, "Setting up and
// enabling Enhanced Monitoring": the role and the RDSOSMetrics log group).
func newMonitoring(scope constructs.Construct, p Props) monitoring {
	if *p.MonitoringIntervalSeconds == 0 {
		return monitoring{}
	}
	stack := awscdk.Stack_Of(scope)
	role := awsiam.NewRole(scope, jsii.String("MonitoringRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("monitoring.rds.amazonaws.com"), &awsiam.ServicePrincipalOpts{Conditions: monitoringTrust(stack)}),
		Description: jsii.String("lambdards database: Enhanced Monitoring OS metrics to CloudWatch Logs"),
	})
	group := func(name string) string {
		return *stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("logs"), Resource: jsii.String("log-group"), ResourceName: jsii.String(name),
			ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
		})
	}
	policy := awsiam.NewManagedPolicy(scope, jsii.String("MonitoringPolicy"), &awsiam.ManagedPolicyProps{
		Description: jsii.String("lambdards database: publish Enhanced Monitoring metrics"),
		Roles:       &[]awsiam.IRole{role},
		Statements: &[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("logs:CreateLogGroup", "logs:PutRetentionPolicy"),
				Resources: jsii.Strings(group("RDSOSMetrics")),
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams", "logs:GetLogEvents"),
				Resources: jsii.Strings(group("RDSOSMetrics:log-stream:*")),
			}),
		},
	})
	nag.SuppressFindings(policy.Node().DefaultChild(),
		"Enhanced Monitoring writes one log stream per DB instance, named after its resource ID, into the RDSOSMetrics log group; "+
			"the policy allows any stream of that one group, as AWS's AmazonRDSEnhancedMonitoringRole does for every RDS* group.",
		[]string{"Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:RDSOSMetrics:log-stream:*"},
		"AwsSolutions-IAM5")
	return monitoring{
		interval: awscdk.Duration_Seconds(jsii.Number(*p.MonitoringIntervalSeconds)),
		role:     role,
		policy:   policy,
	}
}

// monitoringTrust are the conditions under which Enhanced Monitoring may assume its role:
// only on behalf of a DB instance of this account and Region (Amazon RDS User Guide,
// "Setting up and enabling Enhanced Monitoring", "Protecting against the confused deputy
// problem": aws:SourceArn is the DB instance's ARN, arn:aws:rds:Region:account:db:name, and
// aws:SourceAccount its account). The DB instances (an RDS instance, or an Aurora cluster's
// writer and readers: Enhanced Monitoring is set on each) name the role, so naming their
// ARNs here would be a circular dependency in CloudFormation; the ARN pattern allows any
// DB instance of the account and Region instead.
func monitoringTrust(stack awscdk.Stack) *map[string]any {
	return &map[string]any{
		"StringEquals": map[string]any{"aws:SourceAccount": stack.Account()},
		"ArnLike": map[string]any{"aws:SourceArn": stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("rds"), Resource: jsii.String("db"), ResourceName: jsii.String("*"),
			ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
		})},
	}
}

// dependOn makes db wait for the monitoring policy: RDS checks the role when it turns
// Enhanced Monitoring on.
func (m monitoring) dependOn(db constructs.IConstruct) {
	if m.policy != nil {
		db.Node().AddDependency(m.policy)
	}
}

// rotate turns on single-user rotation of the master secret, if p asks for it. The rotation
// function runs in the database's subnets with a security group of its own that may reach
// only the database and the Secrets Manager endpoint.
func rotate(scope constructs.Construct, p Props, add func(*awsrds.RotationSingleUserOptions)) {
	if *p.RotationDays == 0 {
		return
	}
	sg := awsec2.NewSecurityGroup(scope, jsii.String("RotationSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              p.Vpc,
		Description:      jsii.String("lambdards database: master secret rotation function, to the database and Secrets Manager only"),
		AllowAllOutbound: jsii.Bool(false),
	})
	// Written as the rotation function's rule (AllowTo): both rules land in this stack, so
	// an endpoint of a VPC in another stack does not make that stack depend on this one.
	sg.Connections().AllowTo(p.SecretsManagerEndpoint, p.SecretsManagerEndpoint.Connections().DefaultPort(), jsii.String("from the lambdards database's rotation function"))
	add(&awsrds.RotationSingleUserOptions{
		AutomaticallyAfter: awscdk.Duration_Days(jsii.Number(*p.RotationDays)),
		VpcSubnets:         p.VpcSubnets,
		Endpoint:           p.SecretsManagerEndpoint,
		SecurityGroup:      sg,
	})
}

// fixedPort rewrites security group rules into and towards the database's security group
// whose port is the database's Endpoint.Port attribute (RDS Proxy and secret rotation allow
// themselves in that way) to the port the database is created with. The template then
// names the port, and policy checks that look for common ports open to the world can
// evaluate the rules.
type fixedPort struct {
	sg   awsec2.ISecurityGroup
	port int
}

// Visit implements awscdk.IAspect.
func (f *fixedPort) Visit(node constructs.IConstruct) {
	var peer *string
	var from *float64
	var set func(*float64)
	switch r := node.(type) {
	case awsec2.CfnSecurityGroupIngress:
		peer, from, set = r.GroupId(), r.FromPort(), func(p *float64) { r.SetFromPort(p); r.SetToPort(p) }
	case awsec2.CfnSecurityGroupEgress:
		peer, from, set = r.DestinationSecurityGroupId(), r.FromPort(), func(p *float64) { r.SetFromPort(p); r.SetToPort(p) }
	default:
		return
	}
	if peer != nil && *peer == *f.sg.SecurityGroupId() && from != nil && *awscdk.Token_IsUnresolved(from) {
		set(jsii.Number(f.port))
	}
}

// fixPorts applies fixedPort to the database's stack, where the proxy and the rotation
// function add their rules, before any read-only aspect (cdk-nag) runs.
func fixPorts(scope constructs.IConstruct, sg awsec2.ISecurityGroup, port int) {
	awscdk.Aspects_Of(awscdk.Stack_Of(scope)).Add(&fixedPort{sg: sg, port: port}, &awscdk.AspectOptions{Priority: awscdk.AspectPriority_MUTATING()})
}

// secure does what every variant does once its database exists: Enhanced Monitoring waits
// for its policy, the master secret is kept with the data, rotation is turned on, security
// group rules name the port, and the cdk-nag suppressions are recorded. db is the
// awsrds.DatabaseInstance or DatabaseCluster, instances its DB instances (L1).
func secure(scope constructs.Construct, p Props, db constructs.IConstruct, sg awsec2.ISecurityGroup, m monitoring,
	addRotation func(*awsrds.RotationSingleUserOptions), instances []awscdk.CfnResource) {
	m.dependOn(db)
	// The master secret lives as long as the key: a restored snapshot needs it.
	secret := masterSecret(db)
	secret.ApplyRemovalPolicy(keptWithData(p.RemovalPolicy), nil)
	rotate(scope, p, addRotation)
	fixPorts(scope, sg, defaultPort(p.Engine))
	suppressions(p, db.Node().DefaultChild().(awscdk.CfnResource), instances, secret)
}

// suppressions records, on the database's resources, why they are exempt from the cdk-nag
// rules that they fail by design or by configuration. db is the DB instance or cluster;
// instances are its DB instances (the instance itself, or the cluster's writer and readers).
func suppressions(p Props, db awscdk.CfnResource, instances []awscdk.CfnResource, secret awscdk.CfnResource) {
	nag.Suppress(db, "The engine's default port is kept: only the proxy's or the functions' security group may connect, "+
		"from inside isolated subnets, so another port would hide nothing, and clients and tools expect the default.",
		"AwsSolutions-RDS11")
	if !*p.DeletionProtection {
		nag.Suppress(db, deletionProtectionReason(p.RemovalPolicy),
			append([]string{"AwsSolutions-RDS10"}, nag.NISTAndHIPAA("RDSInstanceDeletionProtectionEnabled")...)...)
	}
	for _, i := range instances {
		nag.Suppress(i, "Automated backups (backupRetentionDays, with point-in-time restore) and the final snapshot keep the data; "+
			"an AWS Backup plan is an account-wide choice, usually made by organization backup policies, so lambdards does not create one.",
			nag.NISTAndHIPAA("RDSInBackupPlan")...)
		if *p.MonitoringIntervalSeconds == 0 {
			nag.Suppress(i, "Enhanced Monitoring is off by configuration (monitoringIntervalSeconds 0); CloudWatch still has the RDS metrics.",
				nag.NISTAndHIPAA("RDSEnhancedMonitoringEnabled")...)
		}
	}
	if p.Engine == dbspec.MySQL {
		nag.SuppressFindings(db, "The general log records every statement with its values, a copy of the data at a high cost; "+
			"connections, DDL and DCL go to the exported audit log, and errors and slow queries are exported too.",
			[]string{"LogExport::general"}, nag.NISTAndHIPAA("RDSLoggingEnabled")...)
	}
	if *p.RotationDays == 0 {
		nag.Suppress(secret, "Rotation of the master password is off by configuration (rotationDays 0).",
			append([]string{"AwsSolutions-SMG4"}, nag.NISTAndHIPAA("SecretsManagerRotationEnabled")...)...)
	}
}

func deletionProtectionReason(r awscdk.RemovalPolicy) string {
	switch r {
	case awscdk.RemovalPolicy_DESTROY:
		return "Deletion protection is off because removalPolicy is destroy: the database is disposable by configuration."
	case awscdk.RemovalPolicy_SNAPSHOT:
		return "Deletion protection is off because removalPolicy is snapshot: deleting the stack keeps a final snapshot, " +
			"and the key and secret that open it, so the data survives; removalPolicy retain turns deletion protection on."
	}
	return "Deletion protection is off by configuration (deletionProtection false with removalPolicy retain): " +
		"the database is still retained when the stack deletes it."
}

// dbInstances returns the DB instances (L1) under scope.
func dbInstances(scope constructs.IConstruct) []awscdk.CfnResource {
	var out []awscdk.CfnResource
	for _, c := range *scope.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		if i, ok := c.(awsrds.CfnDBInstance); ok {
			out = append(out, i)
		}
	}
	return out
}

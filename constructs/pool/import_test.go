package pool_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/constructs/pool"
	"github.com/lambdards/lambdards/constructs/proxy"
	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/functions/dbenv"
	"github.com/lambdards/lambdards/internal/cdktest"
	"github.com/lambdards/lambdards/internal/panictest"
)

// teamApp is a team's app: its own VPC with public, private (with a NAT gateway) and
// isolated tiers of its own names, and the security group of a database it runs.
func teamApp() (awscdk.App, awscdk.Stack, awsec2.Vpc, awsec2.ISecurityGroup) {
	app := cdktest.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Team"), nil)
	vpc := awsec2.NewVpc(stack, jsii.String("Vpc"), &awsec2.VpcProps{MaxAzs: jsii.Number(2), NatGateways: jsii.Number(1),
		SubnetConfiguration: &[]*awsec2.SubnetConfiguration{
			{Name: jsii.String("public"), SubnetType: awsec2.SubnetType_PUBLIC},
			{Name: jsii.String("app"), SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS},
			{Name: jsii.String("data"), SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED},
		}})
	return app, stack, vpc, awsec2.SecurityGroup_FromSecurityGroupId(stack, jsii.String("DbSg"), jsii.String("sg-0db"), nil)
}

// TestExistingInstance budgets an RDS instance the team runs, through a proxy the pool
// builds, with a Node.js function of the team's.
func TestExistingInstance(t *testing.T) {
	app, stack, vpc, sg := teamApp()
	db := database.FromInstanceAttributes(stack, jsii.String("Orders"), &database.InstanceAttributes{
		Attributes: database.Attributes{Engine: dbspec.Postgres, Identifier: "orders", Endpoint: "orders.abc.us-east-1.rds.amazonaws.com",
			ResourceID: "db-ABC", SecurityGroups: []awsec2.ISecurityGroup{sg}, DatabaseName: "orders", MaxConnections: 500},
	})
	pl := pool.New(stack, jsii.String("Pool"), &pool.Props{Database: db, Vpc: vpc})
	fn := awslambda.NewFunction(stack, jsii.String("Api"), &awslambda.FunctionProps{
		Runtime: awslambda.Runtime_NODEJS_22_X(), Handler: jsii.String("index.handler"),
		Code: awslambda.Code_FromInline(jsii.String("exports.handler = async () => ({})")), Vpc: vpc, Timeout: awscdk.Duration_Seconds(jsii.Number(20)),
	})
	pl.Attach(fn, &pool.AttachOptions{DatabaseUser: "api"})
	res, err := pl.Budget()
	if err != nil {
		t.Fatalf("Budget() error = %v", err)
	}
	// 500 - 5 reserved - 50 headroom = 445 usable: 89 % = 445 through the proxy.
	if res.MaxConnections != 500 || res.Available != 445 || res.Functions[0].ReservedConcurrency != 445 {
		t.Errorf("budget = max %d, available %d, api %d; want 500, 445, 445", res.MaxConnections, res.Available, res.Functions[0].ReservedConcurrency)
	}
	if !strings.Contains(res.Database, "max_connections 500 given: assumed, not pinned by lambdards") {
		t.Errorf("budget database = %q, want it to say max_connections is assumed", res.Database)
	}
	tmpl := assertions.Template_FromStack(stack, nil)
	tmpl.ResourceCountIs(jsii.String("AWS::RDS::DBInstance"), jsii.Number(0))
	tmpl.HasResourceProperties(jsii.String("AWS::RDS::DBProxyTargetGroup"), &map[string]any{"DBInstanceIdentifiers": []any{"orders"}})
	// The proxy may reach the team's database: a rule on the team's security group.
	tmpl.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroupIngress"), &map[string]any{
		"GroupId": "sg-0db", "FromPort": 5432, "ToPort": 5432,
	})
	// The function runs in the team's private subnets (aws-cdk-lib's default selection).
	tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), &map[string]any{
		"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{dbenv.Name: "orders", dbenv.User: "api"})},
	})
	app.Synth(nil)
}

// TestExistingClusterAndProxy budgets an Aurora cluster and the RDS Proxy the team runs in
// front of it: the budget takes the proxy's own share, and refuses one that reaches into
// the headroom.
func TestExistingClusterAndProxy(t *testing.T) {
	build := func(percent int) (*pool.Pool, awscdk.Stack) {
		_, stack, vpc, sg := teamApp()
		db := database.FromClusterAttributes(stack, jsii.String("Orders"), &database.ClusterAttributes{
			Attributes: database.Attributes{Engine: dbspec.MySQL, Identifier: "orders", Endpoint: "orders.cluster-abc.us-east-1.rds.amazonaws.com",
				ResourceID: "cluster-ABC", SecurityGroups: []awsec2.ISecurityGroup{sg}, DatabaseName: "orders"},
			MinCapacity: jsii.Number(1), MaxCapacity: 8,
		})
		px := proxy.FromAttributes(stack, jsii.String("Proxy"), &proxy.Attributes{ProxyName: "orders", ProxyArn: "arn:aws:rds:us-east-1:123456789012:db-proxy:prx-0abc",
			Endpoint: "orders.proxy-abc.us-east-1.rds.amazonaws.com", Port: 3306, MaxConnectionsPercent: percent,
			SecurityGroups: []awsec2.ISecurityGroup{awsec2.SecurityGroup_FromSecurityGroupId(stack, jsii.String("ProxySg"), jsii.String("sg-0px"), nil)}})
		return pool.New(stack, jsii.String("Pool"), &pool.Props{Database: db, Vpc: vpc, ExistingProxy: px}), stack
	}
	pl, stack := build(50)
	res, err := pl.Budget()
	// Aurora MySQL at 8 ACU: 1,000; 50 % = 500 through the proxy, within the 900 usable.
	if err != nil || res.MaxConnections != 1000 || res.ProxyMaxConnectionsPercent != 50 || res.Available != 500 {
		t.Fatalf("Budget() = max %d, percent %d, available %d, %v; want 1000, 50, 500, nil", res.MaxConnections, res.ProxyMaxConnectionsPercent, res.Available, err)
	}
	if want := "derived from 1-8 ACU: assumed"; !strings.Contains(res.Database, want) || !strings.Contains(res.Database, "behind the existing proxy Team/Proxy") {
		t.Errorf("budget database = %q, want it to name the derived figure and the existing proxy", res.Database)
	}
	if *pl.Host() != "orders.proxy-abc.us-east-1.rds.amazonaws.com" {
		t.Errorf("Host() = %s, want the existing proxy's endpoint", *pl.Host())
	}
	tmpl := assertions.Template_FromStack(stack, nil)
	tmpl.ResourceCountIs(jsii.String("AWS::RDS::DBProxy"), jsii.Number(0))
	tmpl.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroupIngress"), &map[string]any{"GroupId": "sg-0px", "FromPort": 3306})

	panictest.Contains(t, func() { build(95) }, "Team/Pool: invalid connection budget:",
		"the proxy's MaxConnectionsPercent 95 lets it open 950 connections, more than the max_connections 1000 - reserved 0 - headroom 100 = 900 usable",
		"lower the proxy's MaxConnectionsPercent to at most 90, or lower Headroom to at most 50")
}

func TestImportRefuses(t *testing.T) {
	_, stack, _, _ := teamApp()
	panictest.Contains(t, func() {
		database.FromInstanceAttributes(stack, jsii.String("Db"), &database.InstanceAttributes{Attributes: database.Attributes{Engine: "oracle"}})
	}, "Team/Db: invalid database:", `Engine "oracle"`, "Identifier: required", "Endpoint: required", "ResourceID: required",
		"SecurityGroups: required", `DatabaseName "": required`, "MaxConnections, InstanceClass: give the instance's max_connections, or its class")
	panictest.Contains(t, func() {
		proxy.FromAttributes(stack, jsii.String("Px"), &proxy.Attributes{})
	}, "Team/Px: invalid proxy attributes:", "ProxyName: required", "MaxConnectionsPercent: required, the proxy's own setting")
}

// TestDatabaseInTeamSubnetsWithEgress: a database the pool would build in subnets that
// reach the internet is refused in words that do not assume package network.
func TestDatabaseInTeamSubnetsWithEgress(t *testing.T) {
	_, stack, vpc, _ := teamApp()
	panictest.Contains(t, func() {
		database.NewInstance(stack, jsii.String("Db"), &database.InstanceProps{Props: database.Props{
			Vpc: vpc, VpcSubnets: &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS}, RotationDays: new(int)}})
	}, "VpcSubnets: a database must not be reachable from, or reach, the internet, but subnet Team/Vpc/appSubnet1 routes to a NAT gateway",
		"the VPC has 2 public, 2 private with egress and 2 isolated subnets, so add an isolated tier if it has none")
}

// TestPoolInVpcWithoutIsolatedTier: a pool whose proxy has nowhere isolated to go says
// what the VPC has and what to add, with no aws-cdk-lib error text around it.
func TestPoolInVpcWithoutIsolatedTier(t *testing.T) {
	app := cdktest.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Team"), nil)
	vpc := awsec2.NewVpc(stack, jsii.String("Vpc"), &awsec2.VpcProps{MaxAzs: jsii.Number(2), NatGateways: jsii.Number(1)})
	db := database.FromInstanceAttributes(stack, jsii.String("Orders"), &database.InstanceAttributes{
		Attributes: database.Attributes{Engine: dbspec.Postgres, Identifier: "orders", Endpoint: "orders.example", ResourceID: "db-ABC",
			SecurityGroups: []awsec2.ISecurityGroup{awsec2.SecurityGroup_FromSecurityGroupId(stack, jsii.String("Sg"), jsii.String("sg-1"), nil)},
			DatabaseName:   "orders", MaxConnections: 100},
	})
	msg := panictest.Message(t, func() { pool.New(stack, jsii.String("Pool"), &pool.Props{Database: db, Vpc: vpc}) })
	for _, want := range []string{"Team/Pool/Proxy: invalid proxy:", "VpcSubnets: There are no 'Isolated' subnet groups in this VPC",
		"the VPC has 2 public, 2 private with egress and 0 isolated subnets", "add an isolated tier to it (aws-cdk-lib's SubnetType PRIVATE_ISOLATED)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("pool.New panicked with %q, want it to contain %q", msg, want)
		}
	}
	if strings.Contains(msg, "    at ") || strings.Contains(msg, "ThereSubnetGroups") {
		t.Errorf("pool.New panicked with %q, want no aws-cdk-lib error name or JavaScript stack", msg)
	}
}

package database_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/constructs/network"
	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/internal/cdktest"
	"github.com/lambdards/lambdards/internal/fixture"
	"github.com/lambdards/lambdards/internal/panictest"
)

// build makes a stack with a network and whatever database newDB builds in it.
func build(t *testing.T, newDB func(awscdk.Stack, database.Props) database.Database) (database.Database, assertions.Template) {
	t.Helper()
	stack := awscdk.NewStack(cdktest.NewApp(nil), jsii.String("Db"), nil)
	net := network.New(stack, jsii.String("Network"), &network.Props{
		InterfaceEndpoints: []awsec2.InterfaceVpcEndpointAwsService{awsec2.InterfaceVpcEndpointAwsService_SECRETS_MANAGER()},
	})
	db := newDB(stack, fixture.DatabaseProps(net))
	return db, assertions.Template_FromStack(stack, nil)
}

func instance(engine dbspec.Engine, class string) func(awscdk.Stack, database.Props) database.Database {
	return func(s awscdk.Stack, p database.Props) database.Database {
		p.Engine = engine
		return database.NewInstance(s, jsii.String("Database"), &database.InstanceProps{Props: p, InstanceClass: class})
	}
}

func serverless(engine dbspec.Engine, min, max float64) func(awscdk.Stack, database.Props) database.Database {
	return func(s awscdk.Stack, p database.Props) database.Database {
		p.Engine = engine
		return database.NewServerless(s, jsii.String("Database"), &database.ServerlessProps{Props: p, MinCapacity: &min, MaxCapacity: max})
	}
}

func TestInstance(t *testing.T) {
	for _, tc := range []struct {
		engine   dbspec.Engine
		class    string
		family   string
		port     int
		maxConns string
		tls      map[string]any
	}{
		// budget.InstanceMaxConnections: (2 GiB*0.9 - 256 MiB) / 9531392 = 174;
		// (4 GiB*0.9 - 256 MiB) / 12582880 = 285.
		{dbspec.Postgres, "t4g.small", "postgres17", 5432, "174", map[string]any{"rds.force_ssl": "1"}},
		{dbspec.MySQL, "t4g.medium", "mysql8.4", 3306, "285", map[string]any{"require_secure_transport": "ON"}},
	} {
		t.Run(string(tc.engine), func(t *testing.T) {
			db, tmpl := build(t, instance(tc.engine, tc.class))
			if db.Port() != tc.port || db.Engine() != tc.engine {
				t.Errorf("Port(), Engine() = %d, %s, want %d, %s", db.Port(), db.Engine(), tc.port, tc.engine)
			}
			tmpl.HasResource(jsii.String("AWS::RDS::DBInstance"), &map[string]any{
				"Properties": map[string]any{
					"DBInstanceClass":                 "db." + tc.class,
					"StorageEncrypted":                true,
					"KmsKeyId":                        assertions.Match_AnyValue(),
					"EnableIAMDatabaseAuthentication": true,
					"PubliclyAccessible":              false,
					"MultiAZ":                         false,
					"BackupRetentionPeriod":           7,
					"DeletionProtection":              false,
					"DBName":                          "app",
					"StorageType":                     "gp3",
					"DBParameterGroupName":            assertions.Match_AnyValue(),
				},
				"DeletionPolicy":      "Snapshot",
				"UpdateReplacePolicy": "Snapshot",
			})
			params := map[string]any{"max_connections": tc.maxConns}
			for k, v := range tc.tls {
				params[k] = v
			}
			tmpl.HasResourceProperties(jsii.String("AWS::RDS::DBParameterGroup"), &map[string]any{
				"Family": tc.family, "Parameters": params,
			})
			checkShared(t, tmpl)
		})
	}
}

func TestServerless(t *testing.T) {
	for _, tc := range []struct {
		engine     dbspec.Engine
		min, max   float64
		family     string
		maxConns   string
		clusterTLS map[string]any
	}{
		// Aurora Serverless v2 published figures at 8 and 16 ACU (see package budget).
		{dbspec.Postgres, 0.5, 8, "aurora-postgresql17", "1669", map[string]any{"rds.force_ssl": "1"}},
		{dbspec.MySQL, 1, 16, "aurora-mysql8.0", "2000", map[string]any{"require_secure_transport": "ON"}},
	} {
		t.Run(string(tc.engine), func(t *testing.T) {
			db, tmpl := build(t, serverless(tc.engine, tc.min, tc.max))
			if db.AutoPause() {
				t.Errorf("AutoPause() = true with minimum %g ACU, want false", tc.min)
			}
			tmpl.HasResource(jsii.String("AWS::RDS::DBCluster"), &map[string]any{
				"Properties": map[string]any{
					"StorageEncrypted":                 true,
					"KmsKeyId":                         assertions.Match_AnyValue(),
					"EnableIAMDatabaseAuthentication":  true,
					"ServerlessV2ScalingConfiguration": map[string]any{"MinCapacity": tc.min, "MaxCapacity": tc.max},
					"BackupRetentionPeriod":            7,
					"DatabaseName":                     "app",
				},
				"DeletionPolicy": "Snapshot",
			})
			tmpl.HasResourceProperties(jsii.String("AWS::RDS::DBClusterParameterGroup"), &map[string]any{
				"Family": tc.family, "Parameters": tc.clusterTLS,
			})
			tmpl.HasResourceProperties(jsii.String("AWS::RDS::DBParameterGroup"), &map[string]any{
				"Family": tc.family, "Parameters": map[string]any{"max_connections": tc.maxConns},
			})
			tmpl.HasResourceProperties(jsii.String("AWS::RDS::DBInstance"), &map[string]any{
				"DBInstanceClass": "db.serverless", "PubliclyAccessible": false,
			})
			checkShared(t, tmpl)
		})
	}
}

// checkShared asserts what every variant must have: a rotating key that outlives the
// database, a master secret encrypted with it, a security group with no ingress and no
// egress of its own, and a subnet group on isolated subnets.
func checkShared(t *testing.T, tmpl assertions.Template) {
	t.Helper()
	// Only Enhanced Monitoring acting for a DB instance of this account and Region may
	// assume its role.
	tmpl.HasResourceProperties(jsii.String("AWS::IAM::Role"), &map[string]any{
		"AssumeRolePolicyDocument": map[string]any{"Statement": []any{map[string]any{
			"Action": "sts:AssumeRole", "Effect": "Allow",
			"Principal": map[string]any{"Service": "monitoring.rds.amazonaws.com"},
			"Condition": map[string]any{
				"StringEquals": map[string]any{"aws:SourceAccount": map[string]any{"Ref": "AWS::AccountId"}},
				"ArnLike": map[string]any{"aws:SourceArn": map[string]any{"Fn::Join": []any{"", []any{
					"arn:", map[string]any{"Ref": "AWS::Partition"}, ":rds:", map[string]any{"Ref": "AWS::Region"}, ":",
					map[string]any{"Ref": "AWS::AccountId"}, ":db:*",
				}}}},
			},
		}}},
	})
	tmpl.HasResource(jsii.String("AWS::KMS::Key"), &map[string]any{
		"Properties":     map[string]any{"EnableKeyRotation": true},
		"DeletionPolicy": "Retain",
	})
	tmpl.HasResource(jsii.String("AWS::SecretsManager::Secret"), &map[string]any{
		"Properties":     map[string]any{"KmsKeyId": assertions.Match_AnyValue()},
		"DeletionPolicy": "Retain",
	})
	// Until a proxy or client is allowed in, the only way into the database is the master
	// secret's rotation function, and no rule names an address range.
	for id, in := range cdktest.Resources(tmpl, "AWS::EC2::SecurityGroupIngress") {
		p := cdktest.Props(in)
		if p["CidrIp"] != nil || p["SourceSecurityGroupId"] == nil {
			t.Errorf("ingress %s = %v, want a security-group source and no CIDR", id, p)
		}
		source := fmt.Sprint(p["SourceSecurityGroupId"])
		if strings.Contains(fmt.Sprint(p["GroupId"]), "DatabaseSecurityGroup") && !strings.Contains(source, "RotationSecurityGroup") {
			t.Errorf("database ingress %s from %s, want only the rotation function", id, source)
		}
	}
	for id, sg := range cdktest.Resources(tmpl, "AWS::EC2::SecurityGroup") {
		p := cdktest.Props(sg)
		if p["SecurityGroupIngress"] != nil {
			t.Errorf("security group %s has inline ingress %v, want none", id, p["SecurityGroupIngress"])
		}
		// Egress is written as separate rules to security groups; inline there is at most
		// the rule CDK writes to match no traffic when a group may send nothing.
		egress, _ := p["SecurityGroupEgress"].([]any)
		if len(egress) > 1 || len(egress) == 1 && egress[0].(map[string]any)["CidrIp"] != "255.255.255.255/32" {
			t.Errorf("security group %s egress = %v, want none but CDK's deny-all placeholder", id, egress)
		}
	}
	for id, out := range cdktest.Resources(tmpl, "AWS::EC2::SecurityGroupEgress") {
		if p := cdktest.Props(out); p["CidrIp"] != nil || p["DestinationSecurityGroupId"] == nil {
			t.Errorf("egress %s = %v, want a security-group destination and no CIDR", id, p)
		}
	}
	subnets := cdktest.Resources(tmpl, "AWS::RDS::DBSubnetGroup")
	if len(subnets) != 1 {
		t.Fatalf("DB subnet groups = %d, want 1", len(subnets))
	}
	for _, sg := range subnets {
		for _, ref := range cdktest.Props(sg)["SubnetIds"].([]any) {
			if id := ref.(map[string]any)["Ref"].(string); !strings.Contains(id, "DatabaseSubnet") {
				t.Errorf("database subnet group holds %s, want only Database subnets", id)
			}
		}
	}
}

func TestRemovalPolicy(t *testing.T) {
	for _, tc := range []struct {
		policy     awscdk.RemovalPolicy
		deletion   string
		protection bool
		keyPolicy  string
	}{
		{awscdk.RemovalPolicy_SNAPSHOT, "Snapshot", false, "Retain"},
		{awscdk.RemovalPolicy_RETAIN, "Retain", true, "Retain"},
		{awscdk.RemovalPolicy_DESTROY, "Delete", false, "Delete"},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			_, tmpl := build(t, func(s awscdk.Stack, p database.Props) database.Database {
				p.RemovalPolicy = tc.policy
				return database.NewInstance(s, jsii.String("Database"), &database.InstanceProps{Props: p})
			})
			tmpl.HasResource(jsii.String("AWS::RDS::DBInstance"), &map[string]any{
				"Properties":     map[string]any{"DeletionProtection": tc.protection},
				"DeletionPolicy": tc.deletion,
			})
			tmpl.HasResource(jsii.String("AWS::KMS::Key"), &map[string]any{"DeletionPolicy": tc.keyPolicy})
		})
	}
}

func TestInvalidProps(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(awscdk.Stack, database.Props) database.Database
		want  []string
	}{
		{"unknown class", instance(dbspec.Postgres, "x9.huge"), []string{`InstanceClass "x9.huge"`, "t4g.micro"}},
		{"unknown engine", instance("oracle", "t4g.micro"), []string{`Engine "oracle": must be one of`}},
		{"max ACU too high", serverless(dbspec.Postgres, 0.5, 512), []string{"512", "256"}},
		{"min above max", serverless(dbspec.MySQL, 8, 4), []string{"8", "4"}},
		{"every problem at once", func(s awscdk.Stack, p database.Props) database.Database {
			p.DatabaseName, p.MasterUsername, p.BackupRetentionDays = "1app", "admin-user", 40
			return database.NewInstance(s, jsii.String("Database"), &database.InstanceProps{Props: p, AllocatedStorageGiB: 5})
		}, []string{`DatabaseName "1app"`, `MasterUsername "admin-user"`, "BackupRetentionDays 40: must be 1 to 35", "AllocatedStorageGiB 5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := panictest.Message(t, func() { build(t, tc.build) })
			if !strings.HasPrefix(msg, "Db/Database: invalid database") {
				t.Errorf("message %q does not start with the construct path", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not contain %q", msg, w)
				}
			}
		})
	}
}

func TestExplicitMaxConnections(t *testing.T) {
	db, tmpl := build(t, func(s awscdk.Stack, p database.Props) database.Database {
		p.MaxConnections = 300
		return database.NewInstance(s, jsii.String("Database"), &database.InstanceProps{Props: p, InstanceClass: "m7g.large"})
	})
	if db.MaxConnections() != 300 {
		t.Errorf("MaxConnections() = %d, want 300", db.MaxConnections())
	}
	tmpl.HasResourceProperties(jsii.String("AWS::RDS::DBParameterGroup"), &map[string]any{
		"Parameters": map[string]any{"max_connections": "300"},
	})
}

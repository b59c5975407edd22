package database_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/internal/cdktest"
	"github.com/lambdards/lambdards/internal/panictest"
)

// TestServerlessReader checks the reader a Serverless v2 cluster with a reader offers:
// the cluster's reader endpoint, and the writer's max_connections, which the instance
// parameter group they share pins.
func TestServerlessReader(t *testing.T) {
	min := 0.5
	db, _ := build(t, func(s awscdk.Stack, p database.Props) database.Database {
		return database.NewServerless(s, jsii.String("Database"), &database.ServerlessProps{Props: p, MinCapacity: &min, MaxCapacity: 4, Reader: true})
	})
	r := database.ReaderOf(db)
	if r == nil {
		t.Fatal("ReaderOf(a cluster with a reader) = nil")
	}
	if r.MaxConnections != 823 || r.MaxConnections != db.MaxConnections() || r.ReservedConnections != 8 {
		t.Errorf("reader max_connections %d, reserved %d; want the writer's 823 and 8", r.MaxConnections, r.ReservedConnections)
	}
	stack := awscdk.Stack_Of(db.(*database.Serverless).Cluster)
	if got, _ := json.Marshal(stack.Resolve(r.Endpoint)); !strings.Contains(string(got), "ReadEndpoint.Address") {
		t.Errorf("reader endpoint = %s, want the cluster's ReadEndpoint.Address", got)
	}
	if !strings.HasSuffix(r.Description, "0.5-4 ACU, its reader") {
		t.Errorf("reader description = %q", r.Description)
	}
	if database.ReaderOf(db) != r {
		t.Error("ReaderOf twice gives two readers, want one, asked of node once")
	}

	alone, _ := build(t, serverless(dbspec.Postgres, 0.5, 4))
	inst, _ := build(t, instance(dbspec.Postgres, "t4g.micro"))
	if database.ReaderOf(alone) != nil || database.ReaderOf(inst) != nil {
		t.Error("ReaderOf(a cluster without a reader, an instance) != nil")
	}
}

func TestImportedReader(t *testing.T) {
	stack := awscdk.NewStack(cdktest.NewApp(nil), jsii.String("Team"), nil)
	sg := awsec2.SecurityGroup_FromSecurityGroupId(stack, jsii.String("Sg"), jsii.String("sg-1"), nil)
	attrs := func(reader string, readerMax int) *database.ClusterAttributes {
		return &database.ClusterAttributes{
			Attributes: database.Attributes{Engine: dbspec.Postgres, Identifier: "orders", Endpoint: "orders.cluster-abc.us-east-1.rds.amazonaws.com",
				ResourceID: "cluster-ABC", SecurityGroups: []awsec2.ISecurityGroup{sg}, DatabaseName: "orders", MaxConnections: 1000},
			ReaderEndpoint: reader, ReaderMaxConnections: readerMax,
		}
	}
	same := database.FromClusterAttributes(stack, jsii.String("Same"), attrs("orders.cluster-ro-abc.us-east-1.rds.amazonaws.com", 0)).Reader()
	if same == nil || *same.Endpoint != "orders.cluster-ro-abc.us-east-1.rds.amazonaws.com" || same.MaxConnections != 1000 ||
		!strings.Contains(same.Description, "max_connections 1000 the writer's: assumed") {
		t.Errorf("reader = %+v, want the given endpoint with the writer's 1000", same)
	}
	own := database.FromClusterAttributes(stack, jsii.String("Own"), attrs("ro.example", 400)).Reader()
	if own == nil || own.MaxConnections != 400 || own.ReservedConnections != 8 {
		t.Errorf("reader = %+v, want its own 400 and Aurora PostgreSQL's 8 reserved", own)
	}
	if database.FromClusterAttributes(stack, jsii.String("None"), attrs("", 0)).Reader() != nil {
		t.Error("Reader() without ReaderEndpoint != nil")
	}
	panictest.Contains(t, func() { database.FromClusterAttributes(stack, jsii.String("Negative"), attrs("ro.example", -1)) },
		"ReaderMaxConnections -1: must be 0 (the writer's) or positive")
	panictest.Contains(t, func() { database.FromClusterAttributes(stack, jsii.String("Alone"), attrs("", 5)) },
		"ReaderMaxConnections: set without ReaderEndpoint")
}

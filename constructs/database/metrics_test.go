package database_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/internal/fixture"
)

// TestMetrics checks the metric methods of both variants: namespace, name, dimensions
// (the instance; the cluster's writer, or the cluster for its capacity), statistic and
// period, and that options override them.
func TestMetrics(t *testing.T) {
	instance := fixture.New(nil, nil)
	serverless := fixture.New(nil, &database.ServerlessProps{MaxCapacity: 8})
	i := instance.Database.(*database.Instance)
	s := serverless.Database.(*database.Serverless)
	id := fmt.Sprint(instance.Data.Resolve(i.Instance.InstanceIdentifier()))
	cluster := fmt.Sprint(serverless.Data.Resolve(s.Cluster.ClusterIdentifier()))
	tests := []struct {
		metric awscloudwatch.Metric
		stack  awscdk.Stack
		want   string
	}{
		{i.MetricDatabaseConnections(nil), instance.Data, "AWS/RDS DatabaseConnections Average 300 map[DBInstanceIdentifier:" + id + "]"},
		{i.MetricCPUUtilization(nil), instance.Data, "AWS/RDS CPUUtilization Average 300 map[DBInstanceIdentifier:" + id + "]"},
		{i.MetricFreeableMemory(&awscloudwatch.MetricOptions{Statistic: jsii.String("Minimum"), Period: awscdk.Duration_Minutes(jsii.Number(1))}),
			instance.Data, "AWS/RDS FreeableMemory Minimum 60 map[DBInstanceIdentifier:" + id + "]"},
		{s.MetricDatabaseConnections(nil), serverless.Data, "AWS/RDS DatabaseConnections Average 300 map[DBClusterIdentifier:" + cluster + " Role:WRITER]"},
		{s.MetricServerlessDatabaseCapacity(nil), serverless.Data, "AWS/RDS ServerlessDatabaseCapacity Average 300 map[DBClusterIdentifier:" + cluster + "]"},
		{s.MetricACUUtilization(nil), serverless.Data, "AWS/RDS ACUUtilization Average 300 map[DBClusterIdentifier:" + cluster + "]"},
	}
	for _, tt := range tests {
		m := tt.metric
		got := fmt.Sprintf("%s %s %s %v %v", *m.Namespace(), *m.MetricName(), *m.Statistic(), *m.Period().ToSeconds(nil),
			tt.stack.Resolve(m.Dimensions()))
		if got != tt.want {
			t.Errorf("metric = %s, want %s", got, tt.want)
		}
	}
	if lo, hi := s.Capacity(); lo != 0.5 || hi != 8 {
		t.Errorf("Capacity() = %v, %v, want 0.5, 8", lo, hi)
	}
}

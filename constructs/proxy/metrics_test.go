package proxy_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/proxy"
)

// TestMetrics checks the proxy's metric methods: dimension ProxyName (and the read/write
// target for availability), the statistic AWS calls most useful, and one minute for the
// gauges RDS Proxy publishes at no other period.
func TestMetrics(t *testing.T) {
	stack, n, db := target()
	x := proxy.New(stack, jsii.String("Proxy"), &proxy.Props{Database: db, Vpc: n.Vpc, VpcSubnets: n.DatabaseSubnets})
	name := fmt.Sprint(stack.Resolve(x.Proxy.DbProxyName()))
	tests := []struct {
		metric awscloudwatch.Metric
		want   string
	}{
		{x.MetricClientConnections(nil), "ClientConnections Sum 60"},
		{x.MetricDatabaseConnections(nil), "DatabaseConnections Sum 60"},
		{x.MetricDatabaseConnectionsBorrowLatency(nil), "DatabaseConnectionsBorrowLatency Average 300"},
		{x.MetricDatabaseConnectionsCurrentlySessionPinned(nil), "DatabaseConnectionsCurrentlySessionPinned Sum 60"},
		{x.MetricQueryDatabaseResponseLatency(nil), "QueryDatabaseResponseLatency Average 300"},
		{x.MetricDatabaseConnectionsSetupFailed(nil), "DatabaseConnectionsSetupFailed Sum 300"},
		{x.MetricAvailabilityPercentage(nil), "AvailabilityPercentage Average 60"},
		{x.Metric("QueryRequests", &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum")}), "QueryRequests Sum 300"},
	}
	for _, tt := range tests {
		m := tt.metric
		if got := fmt.Sprintf("%s %s %v", *m.MetricName(), *m.Statistic(), *m.Period().ToSeconds(nil)); got != tt.want || *m.Namespace() != "AWS/RDS" {
			t.Errorf("metric = %s %s, want AWS/RDS %s", *m.Namespace(), got, tt.want)
		}
		dims := stack.Resolve(m.Dimensions()).(map[string]any)
		if fmt.Sprint(dims["ProxyName"]) != name {
			t.Errorf("%s: ProxyName = %v, want %v", *m.MetricName(), dims["ProxyName"], name)
		}
	}
	if dims := stack.Resolve(x.MetricAvailabilityPercentage(nil).Dimensions()).(map[string]any); dims["TargetGroup"] != "default" || dims["TargetRole"] != "READ_WRITE" {
		t.Errorf("AvailabilityPercentage dimensions = %v, want TargetGroup default, TargetRole READ_WRITE", dims)
	}
}

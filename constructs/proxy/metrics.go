package proxy

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"

	"github.com/lambdards/lambdards/internal/metric"
)

// The metric methods below have the shape of aws-cdk-lib's metric* helpers (which
// aws-cdk-lib's DatabaseProxy does not offer): each returns an awscloudwatch.Metric in
// namespace AWS/RDS with dimension ProxyName, the statistic AWS calls most useful for it,
// and a 5-minute period, or one minute where AWS publishes the metric at no other (Amazon
// RDS User Guide, "Monitoring RDS Proxy metrics with Amazon CloudWatch"); opts (nil for
// none) override any of them. Latencies are in microseconds.

// Metric returns the proxy's CloudWatch metric metricName (dimension ProxyName).
func (x *Proxy) Metric(metricName string, opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return metric.Proxy(x.Proxy.DbProxyName(), metricName).Metric(opts)
}

// MetricClientConnections is the current number of client connections (Sum of the
// proxy's instances, one minute).
func (x *Proxy) MetricClientConnections(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return x.Metric("ClientConnections", opts)
}

// MetricDatabaseConnections is the current number of the proxy's connections to the
// database (Sum, one minute).
func (x *Proxy) MetricDatabaseConnections(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return x.Metric(metric.ProxyDatabaseConnections, opts)
}

// MetricDatabaseConnectionsBorrowLatency is the time, in microseconds, the proxy takes to
// get a database connection for a client (Average).
func (x *Proxy) MetricDatabaseConnectionsBorrowLatency(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return x.Metric("DatabaseConnectionsBorrowLatency", opts)
}

// MetricDatabaseConnectionsCurrentlySessionPinned is the current number of database
// connections pinned to a client session because of what it changed in the session (Sum,
// one minute).
func (x *Proxy) MetricDatabaseConnectionsCurrentlySessionPinned(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return x.Metric("DatabaseConnectionsCurrentlySessionPinned", opts)
}

// MetricQueryDatabaseResponseLatency is the time, in microseconds, the database took to
// answer a query (Average).
func (x *Proxy) MetricQueryDatabaseResponseLatency(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return x.Metric("QueryDatabaseResponseLatency", opts)
}

// MetricDatabaseConnectionsSetupFailed is the number of the proxy's requests for a
// database connection that failed (Sum).
func (x *Proxy) MetricDatabaseConnectionsSetupFailed(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return x.Metric("DatabaseConnectionsSetupFailed", opts)
}

// MetricAvailabilityPercentage is the percentage of time the proxy's target was available
// as the writer (Average, one minute; dimensions ProxyName, TargetGroup default, TargetRole
// READ_WRITE, the only set it is published with).
func (x *Proxy) MetricAvailabilityPercentage(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return metric.ProxyTarget(x.Proxy.DbProxyName(), "AvailabilityPercentage").Metric(opts)
}

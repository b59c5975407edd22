package database

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"

	"github.com/lambdards/lambdards/internal/metric"
)

// The metric methods below have the shape of aws-cdk-lib's metric* helpers: each returns
// an awscloudwatch.Metric in namespace AWS/RDS with the database's dimensions, the
// statistic AWS calls most useful for it and a 5-minute period, and opts (nil for none)
// override any of them (package internal/metric holds the definitions).

// Metric returns the database's CloudWatch metric metricName: an RDS instance's
// (dimension DBInstanceIdentifier), or an Aurora cluster's writer's (dimensions
// DBClusterIdentifier and Role WRITER: the writer's metrics follow the writer through a
// failover; Amazon Aurora User Guide, "Creating CloudWatch alarms to monitor Amazon
// Aurora").
func (b *base) Metric(metricName string, opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return b.spec(metricName).Metric(opts)
}

// MetricDatabaseConnections is the number of client network connections (Average),
// without those RDS or Aurora makes itself (Amazon RDS User Guide, "Amazon CloudWatch
// metrics for Amazon RDS"; Amazon Aurora User Guide, "Instance-level metrics for Amazon
// Aurora": DatabaseConnections).
func (b *base) MetricDatabaseConnections(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return b.Metric("DatabaseConnections", opts)
}

// MetricCPUUtilization is the percentage of CPU in use (Average).
func (b *base) MetricCPUUtilization(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return b.Metric("CPUUtilization", opts)
}

// MetricFreeableMemory is the available random access memory, in bytes (Average).
func (b *base) MetricFreeableMemory(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return b.Metric("FreeableMemory", opts)
}

// MetricServerlessDatabaseCapacity is the cluster's capacity in ACUs (Average; dimension
// DBClusterIdentifier, as aws-cdk-lib's DatabaseCluster names it).
func (s *Serverless) MetricServerlessDatabaseCapacity(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return metric.Cluster(s.Cluster.ClusterIdentifier(), "ServerlessDatabaseCapacity").Metric(opts)
}

// MetricACUUtilization is ServerlessDatabaseCapacity as a percentage of the maximum
// capacity (Average; Amazon Aurora User Guide, "Important Amazon CloudWatch metrics for
// Aurora Serverless v2": near 100 the cluster has scaled up as high as it can).
func (s *Serverless) MetricACUUtilization(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return metric.Cluster(s.Cluster.ClusterIdentifier(), "ACUUtilization").Metric(opts)
}

// Capacity returns the cluster's minimum and maximum capacity in ACUs; max_connections
// derives from the maximum.
func (s *Serverless) Capacity() (minACU, maxACU float64) {
	return s.minCapacity, *s.Cluster.ServerlessV2MaxCapacity()
}

// Watched returns what the metrics of the existing database are named by: its identifier,
// whether it is an Aurora cluster, and an Aurora Serverless v2 cluster's capacity in ACUs
// (maxACU 0 when ClusterAttributes gave none).
func (im *Imported) Watched() (identifier string, aurora bool, minACU, maxACU float64) {
	return im.identifier, im.aurora, im.minACU, im.maxACU
}

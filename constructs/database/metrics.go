package database

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/internal/metric"
)

// The metric methods below have the shape of aws-cdk-lib's metric* helpers: each returns
// an awscloudwatch.Metric in namespace AWS/RDS with the database's dimensions, the
// statistic AWS calls most useful for it and a 5-minute period, and opts (nil for none)
// override any of them (package internal/metric holds the definitions).

// Metric returns the instance's CloudWatch metric metricName (dimension
// DBInstanceIdentifier).
func (i *Instance) Metric(metricName string, opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return metric.Instance(i.Instance.InstanceIdentifier(), metricName).Metric(opts)
}

// MetricDatabaseConnections is the number of client network connections to the instance
// (Average). It leaves out the connections RDS itself makes (Amazon RDS User Guide,
// "Amazon CloudWatch metrics for Amazon RDS", DatabaseConnections).
func (i *Instance) MetricDatabaseConnections(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return i.Metric("DatabaseConnections", opts)
}

// MetricCPUUtilization is the percentage of CPU the instance uses (Average).
func (i *Instance) MetricCPUUtilization(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return i.Metric("CPUUtilization", opts)
}

// MetricFreeableMemory is the instance's available random access memory, in bytes
// (Average).
func (i *Instance) MetricFreeableMemory(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return i.Metric("FreeableMemory", opts)
}

// Metric returns the CloudWatch metric metricName of the cluster's writer (dimensions
// DBClusterIdentifier and Role WRITER: the writer's metrics follow the writer through a
// failover; Amazon Aurora User Guide, "Creating CloudWatch alarms to monitor Amazon
// Aurora").
func (s *Serverless) Metric(metricName string, opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return metric.Writer(s.Cluster.ClusterIdentifier(), metricName).Metric(opts)
}

// MetricDatabaseConnections is the number of client network connections to the writer
// (Average), without Aurora's own (Amazon Aurora User Guide, "Instance-level metrics for
// Amazon Aurora", DatabaseConnections).
func (s *Serverless) MetricDatabaseConnections(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return s.Metric("DatabaseConnections", opts)
}

// MetricCPUUtilization is the percentage of CPU the writer uses (Average).
func (s *Serverless) MetricCPUUtilization(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return s.Metric("CPUUtilization", opts)
}

// MetricFreeableMemory is the writer's available random access memory, in bytes (Average).
func (s *Serverless) MetricFreeableMemory(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return s.Metric("FreeableMemory", opts)
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

// Metric returns the existing database's CloudWatch metric metricName: an instance's
// (dimension DBInstanceIdentifier), or a cluster's writer's (DBClusterIdentifier and Role
// WRITER), as Instance.Metric and Serverless.Metric do.
func (im *Imported) Metric(metricName string, opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return im.spec(metricName).Metric(opts)
}

// spec is the definition of the existing database's metric metricName.
func (im *Imported) spec(metricName string) metric.Spec {
	id := jsii.String(im.identifier)
	if im.aurora {
		return metric.Writer(id, metricName)
	}
	return metric.Instance(id, metricName)
}

// MetricDatabaseConnections is the number of client network connections (Average).
func (im *Imported) MetricDatabaseConnections(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return im.Metric("DatabaseConnections", opts)
}

// MetricCPUUtilization is the percentage of CPU in use (Average).
func (im *Imported) MetricCPUUtilization(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return im.Metric("CPUUtilization", opts)
}

// MetricFreeableMemory is the available random access memory, in bytes (Average).
func (im *Imported) MetricFreeableMemory(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return im.Metric("FreeableMemory", opts)
}

// Watched returns what the metrics of the existing database are named by: its identifier,
// whether it is an Aurora cluster, and an Aurora Serverless v2 cluster's capacity in ACUs
// (maxACU 0 when ClusterAttributes gave none).
func (im *Imported) Watched() (identifier string, aurora bool, minACU, maxACU float64) {
	return im.identifier, im.aurora, im.minACU, im.maxACU
}

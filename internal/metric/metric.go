// Package metric names, once, the CloudWatch metrics that lambdards's constructs offer
// and its monitoring watches: each metric's namespace, name, dimensions, and the statistic
// and period AWS documents for it. A Spec is plain Go: the constructs' Metric* methods turn
// one into an awscloudwatch.Metric (one round trip to node), and package monitoring writes
// it into an alarm or a dashboard without any, which keeps a function's monitoring at the
// one request that reads its name.
package metric

import (
	"sync"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/jsii-runtime-go"
)

// Namespaces.
const (
	RDS    = "AWS/RDS"
	Lambda = "AWS/Lambda"
)

// Statistics, as CloudWatch spells them.
const (
	Average = "Average"
	Maximum = "Maximum"
	Minimum = "Minimum"
	Sum     = "Sum"
)

// DefaultPeriodSeconds is the period of a Spec that does not need another: aws-cdk-lib's
// default for a Metric (awscloudwatch.MetricProps, Period: "Default: Duration.minutes(5)").
const DefaultPeriodSeconds = 300

// Dimension is one dimension of a metric. Value may be a token.
type Dimension struct {
	Name  string
	Value *string
}

// Spec is one CloudWatch metric: where it is, and how to read it.
type Spec struct {
	Namespace  string
	Name       string
	Dimensions []Dimension
	Statistic  string
	// PeriodSeconds is the aggregation period.
	PeriodSeconds int
}

// defaults are the statistic and period each metric is read with unless a caller says
// otherwise: the statistic AWS calls most useful for it, and for the RDS Proxy gauges that
// are valid only at one minute, that period.
//
//   - Database: Amazon RDS User Guide and Amazon Aurora User Guide, "Amazon CloudWatch
//     metrics for Amazon RDS / Aurora" (DatabaseConnections, CPUUtilization, FreeableMemory;
//     ServerlessDatabaseCapacity and ACUUtilization for Aurora Serverless v2), with
//     aws-cdk-lib's statistics for them (Average).
//   - RDS Proxy: Amazon RDS User Guide, "Monitoring RDS Proxy metrics with Amazon
//     CloudWatch": each metric's "most useful statistic", and "Valid period: 1 minute" for
//     ClientConnections, DatabaseConnections, DatabaseConnectionsCurrentlySessionPinned and
//     AvailabilityPercentage (reported every minute by each of the proxy's instances, so a
//     longer period would add up several reports).
//   - Lambda: aws-cdk-lib's Function metrics (Throttles, Errors: Sum; Duration: Average)
//     and AWS Lambda Developer Guide, "Monitoring concurrency" (ConcurrentExecutions:
//     "View this metric using MAX").
var defaults = map[string]struct {
	statistic string
	period    int
}{
	"DatabaseConnections":                       {Average, DefaultPeriodSeconds},
	"CPUUtilization":                            {Average, DefaultPeriodSeconds},
	"FreeableMemory":                            {Average, DefaultPeriodSeconds},
	"ServerlessDatabaseCapacity":                {Average, DefaultPeriodSeconds},
	"ACUUtilization":                            {Average, DefaultPeriodSeconds},
	"ClientConnections":                         {Sum, 60},
	"ClientConnectionsReceived":                 {Sum, DefaultPeriodSeconds},
	"DatabaseConnectionRequests":                {Sum, DefaultPeriodSeconds},
	"DatabaseConnectionsBorrowLatency":          {Average, DefaultPeriodSeconds},
	"DatabaseConnectionsCurrentlySessionPinned": {Sum, 60},
	"DatabaseConnectionsSetupFailed":            {Sum, DefaultPeriodSeconds},
	"QueryDatabaseResponseLatency":              {Average, DefaultPeriodSeconds},
	"AvailabilityPercentage":                    {Average, 60},
	"Throttles":                                 {Sum, DefaultPeriodSeconds},
	"Errors":                                    {Sum, DefaultPeriodSeconds},
	"Duration":                                  {Average, DefaultPeriodSeconds},
	"ConcurrentExecutions":                      {Maximum, DefaultPeriodSeconds},
}

// ProxyDatabaseConnections is RDS Proxy's DatabaseConnections, whose name the database's
// own metric shares but whose statistic and period differ (Sum of the proxy's instances,
// one minute).
const ProxyDatabaseConnections = "DatabaseConnections"

func spec(namespace, name string, dims ...Dimension) Spec {
	s := Spec{Namespace: namespace, Name: name, Dimensions: dims, Statistic: Average, PeriodSeconds: DefaultPeriodSeconds}
	if d, ok := defaults[name]; ok {
		s.Statistic, s.PeriodSeconds = d.statistic, d.period
	}
	return s
}

// Instance is metric name of the RDS DB instance id (dimension DBInstanceIdentifier).
func Instance(id *string, name string) Spec {
	return spec(RDS, name, Dimension{"DBInstanceIdentifier", id})
}

// Writer is metric name of the writer of the Aurora cluster id: dimensions
// DBClusterIdentifier and Role WRITER. AWS advises role metrics over an instance's for
// alarms, since instances change roles on failover (Amazon Aurora User Guide, "Creating
// CloudWatch alarms to monitor Amazon Aurora").
func Writer(cluster *string, name string) Spec {
	return spec(RDS, name, Dimension{"DBClusterIdentifier", cluster}, Dimension{"Role", jsii.String("WRITER")})
}

// Cluster is metric name of the Aurora cluster id (dimension DBClusterIdentifier), as
// aws-cdk-lib's DatabaseCluster metrics name it: Aurora Serverless v2's
// ServerlessDatabaseCapacity and ACUUtilization.
func Cluster(cluster *string, name string) Spec {
	return spec(RDS, name, Dimension{"DBClusterIdentifier", cluster})
}

// Proxy is metric name of the RDS Proxy called proxy (dimension set 1, ProxyName). Its
// DatabaseConnections is the proxy's connections to the database.
func Proxy(proxy *string, name string) Spec {
	s := spec(RDS, name, Dimension{"ProxyName", proxy})
	if name == ProxyDatabaseConnections {
		s.Statistic, s.PeriodSeconds = Sum, 60
	}
	return s
}

// ProxyTarget is metric name of the read/write target of the RDS Proxy called proxy
// (dimension set 4: ProxyName, TargetGroup, TargetRole), where AvailabilityPercentage is
// published. aws-cdk-lib names a proxy's one target group "default" (as RDS requires), and
// READ_WRITE is the writer's role.
func ProxyTarget(proxy *string, name string) Spec {
	return spec(RDS, name, Dimension{"ProxyName", proxy}, Dimension{"TargetGroup", jsii.String("default")},
		Dimension{"TargetRole", jsii.String("READ_WRITE")})
}

// Function is metric name of the Lambda function called function (dimension FunctionName).
func Function(function *string, name string) Spec {
	return spec(Lambda, name, Dimension{"FunctionName", function})
}

// With returns s read with statistic over periodSeconds.
func (s Spec) With(statistic string, periodSeconds int) Spec {
	s.Statistic, s.PeriodSeconds = statistic, periodSeconds
	return s
}

// Metric returns s as an awscloudwatch.Metric, with opts (nil for none) applied over it as
// aws-cdk-lib's metric* helpers apply theirs: a field opts sets replaces s's, and
// DimensionsMap replaces the dimensions.
func (s Spec) Metric(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	dims := make(map[string]*string, len(s.Dimensions))
	for _, d := range s.Dimensions {
		dims[d.Name] = d.Value
	}
	p := awscloudwatch.MetricProps{
		Namespace:     jsii.String(s.Namespace),
		MetricName:    jsii.String(s.Name),
		DimensionsMap: &dims,
		Statistic:     jsii.String(s.Statistic),
		Period:        seconds(s.PeriodSeconds),
	}
	if o := opts; o != nil {
		p.Account, p.Color, p.Id, p.Label, p.Region = o.Account, o.Color, o.Id, o.Label, o.Region
		p.StackAccount, p.StackRegion, p.Unit, p.Visible = o.StackAccount, o.StackRegion, o.Unit, o.Visible
		if o.DimensionsMap != nil {
			p.DimensionsMap = o.DimensionsMap
		}
		if o.Statistic != nil {
			p.Statistic = o.Statistic
		}
		if o.Period != nil {
			p.Period = o.Period
		}
	}
	return awscloudwatch.NewMetric(&p)
}

// durations holds one awscdk.Duration per number of seconds: each is a round trip to node,
// and Durations are immutable.
var durations sync.Map // int → awscdk.Duration

func seconds(n int) awscdk.Duration {
	if d, ok := durations.Load(n); ok {
		return d.(awscdk.Duration)
	}
	d, _ := durations.LoadOrStore(n, awscdk.Duration_Seconds(jsii.Number(n)))
	return d.(awscdk.Duration)
}

// Query is s as one metric of an alarm on a math expression (CloudFormation
// AWS::CloudWatch::Alarm MetricDataQuery with a MetricStat), under id; plain structs, no
// round trip to node.
func (s Spec) Query(id string) *awscloudwatch.CfnAlarm_MetricDataQueryProperty {
	dims := make([]any, len(s.Dimensions))
	for i, d := range s.Dimensions {
		dims[i] = &awscloudwatch.CfnAlarm_DimensionProperty{Name: jsii.String(d.Name), Value: d.Value}
	}
	return &awscloudwatch.CfnAlarm_MetricDataQueryProperty{
		Id: jsii.String(id),
		MetricStat: &awscloudwatch.CfnAlarm_MetricStatProperty{
			Metric: &awscloudwatch.CfnAlarm_MetricProperty{
				Namespace: jsii.String(s.Namespace), MetricName: jsii.String(s.Name), Dimensions: &dims,
			},
			Period: jsii.Number(s.PeriodSeconds),
			Stat:   jsii.String(s.Statistic),
		},
		ReturnData: jsii.Bool(false),
	}
}

// Alarm sets s as the metric of an alarm on a single metric: its namespace, name,
// dimensions, statistic and period.
func (s Spec) Alarm(p *awscloudwatch.CfnAlarmProps) {
	dims := make([]any, len(s.Dimensions))
	for i, d := range s.Dimensions {
		dims[i] = &awscloudwatch.CfnAlarm_DimensionProperty{Name: jsii.String(d.Name), Value: d.Value}
	}
	p.Namespace, p.MetricName, p.Dimensions = jsii.String(s.Namespace), jsii.String(s.Name), &dims
	p.Statistic, p.Period = jsii.String(s.Statistic), jsii.Number(s.PeriodSeconds)
}

// Graph is s as one line of a CloudWatch dashboard graph, in the dashboard body's metric
// array form: namespace, name, each dimension's name and value, then the rendering
// options (CloudWatch API Reference, "Dashboard Body Structure and Syntax", metrics).
// Its dimension values may be tokens, which the dashboard body resolves.
func (s Spec) Graph(options map[string]any) []any {
	out := []any{s.Namespace, s.Name}
	for _, d := range s.Dimensions {
		out = append(out, d.Name, *d.Value)
	}
	o := map[string]any{"stat": s.Statistic, "period": s.PeriodSeconds}
	for k, v := range options {
		o[k] = v
	}
	return append(out, o)
}

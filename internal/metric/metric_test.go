package metric_test

import (
	"os"
	"reflect"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/internal/cdktest"
	"github.com/lambdards/lambdards/internal/metric"
)

func TestMain(m *testing.M) { os.Exit(cdktest.Run(m)) }

func TestDefaults(t *testing.T) {
	id := jsii.String("fn")
	tests := []struct {
		spec      metric.Spec
		statistic string
		period    int
	}{
		{metric.Function(id, "ConcurrentExecutions"), metric.Maximum, 300},
		{metric.Function(id, "Throttles"), metric.Sum, 300},
		{metric.Proxy(id, "ClientConnections"), metric.Sum, 60},
		// The proxy's DatabaseConnections is a gauge of its instances, unlike the database's.
		{metric.Proxy(id, "DatabaseConnections"), metric.Sum, 60},
		{metric.Instance(id, "DatabaseConnections"), metric.Average, 300},
		{metric.Proxy(id, "DatabaseConnectionsBorrowLatency"), metric.Average, 300},
		{metric.ProxyTarget(id, "AvailabilityPercentage"), metric.Average, 60},
		{metric.Cluster(id, "Unlisted"), metric.Average, 300},
	}
	for _, tt := range tests {
		if tt.spec.Statistic != tt.statistic || tt.spec.PeriodSeconds != tt.period {
			t.Errorf("%s %s = %s over %d s, want %s over %d s", tt.spec.Namespace, tt.spec.Name,
				tt.spec.Statistic, tt.spec.PeriodSeconds, tt.statistic, tt.period)
		}
	}
	w := metric.Writer(id, "CPUUtilization")
	if len(w.Dimensions) != 2 || w.Dimensions[1].Name != "Role" || *w.Dimensions[1].Value != "WRITER" {
		t.Errorf("Writer dimensions = %+v, want DBClusterIdentifier and Role WRITER", w.Dimensions)
	}
}

func TestMetric(t *testing.T) {
	s := metric.Function(jsii.String("my-function"), "Throttles")
	m := s.Metric(nil)
	if *m.Namespace() != "AWS/Lambda" || *m.MetricName() != "Throttles" || *m.Statistic() != "Sum" || *m.Period().ToSeconds(nil) != 300 {
		t.Errorf("Metric(nil) = %s %s %s %v s, want AWS/Lambda Throttles Sum 300 s",
			*m.Namespace(), *m.MetricName(), *m.Statistic(), *m.Period().ToSeconds(nil))
	}
	if got := (*m.Dimensions())["FunctionName"]; got != "my-function" {
		t.Errorf("FunctionName = %v, want my-function", got)
	}
	o := s.Metric(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: awscdk.Duration_Minutes(jsii.Number(1)),
		Label: jsii.String("throttles")})
	if *o.Statistic() != "Maximum" || *o.Period().ToSeconds(nil) != 60 || *o.Label() != "throttles" {
		t.Errorf("Metric(opts) = %s over %v s labelled %v, want Maximum over 60 s labelled throttles", *o.Statistic(), *o.Period().ToSeconds(nil), o.Label())
	}
}

func TestQueryAndGraph(t *testing.T) {
	s := metric.Instance(jsii.String("db-1"), "DatabaseConnections").With(metric.Maximum, 60)
	q := s.Query("m0")
	stat := q.MetricStat.(*awscloudwatch.CfnAlarm_MetricStatProperty)
	if *q.Id != "m0" || *stat.Stat != "Maximum" || *stat.Period != 60 || *q.ReturnData.(*bool) {
		t.Errorf("Query = %+v, stat %+v", q, stat)
	}
	got := s.Graph(map[string]any{"label": "connections"})
	want := []any{"AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", "db-1",
		map[string]any{"stat": "Maximum", "period": 60, "label": "connections"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Graph = %v, want %v", got, want)
	}
}

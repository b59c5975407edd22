package function_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/function"
	"github.com/lambdards/lambdards/constructs/pool"
	"github.com/lambdards/lambdards/internal/fixture"
)

func TestMetrics(t *testing.T) {
	f := fixture.New(nil, nil)
	fn := function.New(f.Functions, jsii.String("Items"), &function.Props{Pool: f.Pool, Entry: fixture.SampleEntry(),
		AttachOptions: pool.AttachOptions{DatabaseUser: "items"}})
	name := fmt.Sprint(f.Functions.Resolve(fn.Function.FunctionName()))
	tests := []struct {
		metric awscloudwatch.Metric
		want   string
	}{
		{fn.MetricThrottles(nil), "Throttles Sum 300"},
		{fn.MetricConcurrentExecutions(nil), "ConcurrentExecutions Maximum 300"},
		{fn.MetricErrors(nil), "Errors Sum 300"},
		{fn.MetricDuration(&awscloudwatch.MetricOptions{Statistic: jsii.String("p99")}), "Duration p99 300"},
	}
	for _, tt := range tests {
		m := tt.metric
		if got := fmt.Sprintf("%s %s %v", *m.MetricName(), *m.Statistic(), *m.Period().ToSeconds(nil)); got != tt.want || *m.Namespace() != "AWS/Lambda" {
			t.Errorf("metric = %s %s, want AWS/Lambda %s", *m.Namespace(), got, tt.want)
		}
		if dims := f.Functions.Resolve(m.Dimensions()).(map[string]any); fmt.Sprint(dims["FunctionName"]) != name {
			t.Errorf("%s: FunctionName = %v, want the function's Ref", *m.MetricName(), dims["FunctionName"])
		}
	}
}

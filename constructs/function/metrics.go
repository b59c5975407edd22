package function

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"

	"github.com/lambdards/lambdards/internal/metric"
)

// The metric methods below have the shape of aws-cdk-lib's metric* helpers: each returns
// an awscloudwatch.Metric in namespace AWS/Lambda with dimension FunctionName, the
// statistic AWS documents for it and a 5-minute period; opts (nil for none) override any
// of them.

// Metric returns the function's CloudWatch metric metricName (dimension FunctionName).
func (f *Function) Metric(metricName string, opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return metric.Function(f.Function.FunctionName(), metricName).Metric(opts)
}

// MetricThrottles is the number of invocations Lambda refused because the function was
// at its reserved concurrency (Sum): the budget's cap at work.
func (f *Function) MetricThrottles(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return f.Metric("Throttles", opts)
}

// MetricConcurrentExecutions is the number of the function's instances serving requests
// (Maximum), which its reserved concurrency caps.
func (f *Function) MetricConcurrentExecutions(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return f.Metric("ConcurrentExecutions", opts)
}

// MetricErrors is the number of invocations that ended in an error (Sum).
func (f *Function) MetricErrors(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return f.Metric("Errors", opts)
}

// MetricDuration is the time the function spent on an invocation, in milliseconds
// (Average).
func (f *Function) MetricDuration(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return f.Metric("Duration", opts)
}

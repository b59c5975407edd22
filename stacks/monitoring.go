package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/monitoring"
)

// monitor builds the Monitoring stack when cfg turns on the alarms or the dashboard: the
// pool's alarms and dashboard, sized from its budget once every function has joined it.
// It is a stack of its own, after the Data and the functions stacks: the dashboard draws
// the functions of every functions stack, and the alarms on functions (one per
// monitoring.FunctionsPerAlarm functions of each kind) add no resource to a functions
// stack, only the output of each function's name that the Monitoring stack reads.
func (a *App) monitor(scope constructs.Construct, cfg Config) {
	dashboard := cfg.Alarms
	if cfg.Dashboard != nil {
		dashboard = *cfg.Dashboard
	}
	if !cfg.Alarms && !dashboard {
		return
	}
	a.Monitoring = awscdk.NewStack(scope, jsii.String(cfg.Prefix+"Monitoring"), &awscdk.StackProps{
		Description: jsii.String("lambdards: alarms and dashboard of the connection budget"),
	})
	var topic awssns.ITopic
	if cfg.AlarmTopicArn != "" {
		topic = awssns.Topic_FromTopicArn(a.Monitoring, jsii.String("AlarmTopic"), jsii.String(cfg.AlarmTopicArn))
	}
	alarms := cfg.Alarms
	a.Monitor = monitoring.New(a.Monitoring, jsii.String("Budget"), &monitoring.Props{
		Pool:          a.Pool,
		Alarms:        &alarms,
		Dashboard:     &dashboard,
		Topic:         topic,
		DashboardName: cfg.Prefix + "-connection-budget",
		Names:         KeyName,
	})
}

// Package monitoring watches a lambdards pool in production: CloudWatch alarms whose
// thresholds come from the pool's connection budget, each describing the figure it came
// from and what to do, and a dashboard that draws the budget's figures over the metrics.
//
// It is built after every function has joined the pool, where the budget's numbers are
// known: the alarms and the dashboard hold plain numbers, and synth fails if a function
// joins afterwards. A function costs one round trip to node (its name); its alarms are
// shared by groups of up to FunctionsPerAlarm functions, so a pool of 200 functions has
// 46 of them, not 400.
package monitoring

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/budget"
	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/constructs/pool"
	"github.com/lambdards/lambdards/internal/fields"
	"github.com/lambdards/lambdards/internal/metric"
)

// Props configures a Monitoring.
type Props struct {
	// Pool is the pool to watch. Required. Build the monitoring after every function has
	// joined the pool: the alarms and the dashboard are sized from its budget.
	Pool *pool.Pool
	// Alarms turns the alarms on.
	// Default: true.
	Alarms *bool
	// Dashboard turns the dashboard on.
	// Default: true.
	Dashboard *bool
	// Topic is notified when an alarm goes into ALARM and when it is OK again. CloudWatch
	// must be able to publish to it (for a topic encrypted with a customer managed key,
	// the key policy must let cloudwatch.amazonaws.com use the key).
	// Default: a topic of the construct's, encrypted with a KMS key of its own, that
	// accepts only TLS and only CloudWatch alarms of the stack's account and Region.
	Topic awssns.ITopic
	// DashboardName names the dashboard.
	// Default: a name CloudFormation generates.
	DashboardName string
	// Names renders the settings the alarm descriptions name, given each setting's Go field
	// (for example "MaxCapacity"), as the readers of the alarms know them: an app renders
	// its context keys (stacks.KeyName).
	// Default: the Go field names.
	Names func(goName string) string
}

// Monitoring is a pool's alarms and dashboard.
type Monitoring struct {
	constructs.Construct
	// Topic is the topic the alarms notify, or nil without alarms.
	Topic awssns.ITopic
	// Alarms are the alarms, in the order of the README's table.
	Alarms []awscloudwatch.CfnAlarm
	// Dashboard is the dashboard, or nil.
	Dashboard awscloudwatch.CfnDashboard
	// Budget is the pool's budget the alarms and the dashboard were sized from, and
	// Thresholds the thresholds it gives; nil when the budget could not be computed (the
	// pool's validation then fails synth).
	Budget     *budget.Result
	Thresholds *budget.Thresholds

	pool      *pool.Pool
	functions int // the pool's functions when the monitoring was built
}

// FunctionsPerAlarm is how many functions share one alarm of each kind: an alarm on a
// math expression takes at most 10 metrics and 10 expressions (Amazon CloudWatch User
// Guide, "Limits that apply to alarms based on metric math expressions"; CloudWatch API
// Reference, PutMetricAlarm, Metrics), and the near-cap alarm needs a metric and an
// expression per function and one expression for the group.
const FunctionsPerAlarm = 9

// watched is what the alarms and the dashboard read the metrics of.
type watched struct {
	description string
	grow        string                        // the setting that gives the database more connections, as {GoName}
	db          func(name string) metric.Spec // the database's (or its writer's) metrics
	capacity    func(name string) metric.Spec // Aurora Serverless v2 capacity, or nil
	minACU      float64
	maxACU      float64
	proxy       func(name string) metric.Spec // nil when direct
	borrow      float64                       // the proxy's borrow timeout, seconds
	functions   []watchedFunction
	proxyShared // what the proxy serves: the writer's, and the reader's (reader.go)
}

type watchedFunction struct {
	label string  // the function's construct ID
	name  *string // its FunctionName (a token)
	budget.FunctionThreshold
}

// New builds the monitoring of props.Pool. It panics with one error listing every invalid
// setting.
func New(scope constructs.Construct, id *string, props *Props) *Monitoring {
	p := fields.Of(props)
	if p.Alarms == nil {
		p.Alarms = jsii.Bool(true)
	}
	if p.Dashboard == nil {
		p.Dashboard = jsii.Bool(true)
	}
	if p.Names == nil {
		p.Names = fields.Go
	}
	var errs fields.Problems
	errs.Require("Pool", p.Pool != nil)
	if !*p.Alarms && !*p.Dashboard {
		errs.Add("{Alarms} and {Dashboard} are both false: nothing to build; leave one on, or build no monitoring")
	}
	if !*p.Alarms && p.Topic != nil {
		errs.Add("{Topic}: set, but {Alarms} is false; only alarms notify a topic")
	}
	if p.Pool != nil {
		switch p.Pool.Database.(type) {
		case *database.Instance, *database.Serverless, *database.Imported:
		default:
			errs.Add("{Pool}: its database is a %T, whose CloudWatch metrics monitoring does not know; "+
				"it watches database.Instance, database.Serverless and database.Imported", p.Pool.Database)
		}
	}
	errs.Fail(*scope.Node().Path()+"/"+*id, "monitoring")

	this := constructs.NewConstruct(scope, id)
	m := &Monitoring{Construct: this, pool: p.Pool}
	members := p.Pool.Members()
	m.functions = len(members)
	res, _ := p.Pool.Budget()
	if res == nil {
		// The pool's own validation reports why; nothing can be sized.
		return m
	}
	var borrow float64
	if p.Pool.Proxy != nil {
		borrow = float64(p.Pool.Proxy.Settings.BorrowTimeoutSeconds)
	}
	reader, _ := p.Pool.ReaderBudget()
	t := res.Thresholds(borrow).WithReader(res, reader)
	w := watch(p.Pool, members, res, t)
	w.proxyShared = sharedBy(res, reader)
	m.Budget, m.Thresholds = res, &t
	names := renderer(p.Names)
	if *p.Alarms {
		m.Topic = p.Topic
		if m.Topic == nil {
			m.Topic = newTopic(this)
		}
		m.Alarms = newAlarms(constructs.NewConstruct(this, jsii.String("Alarms")), w, res, t, m.Topic.TopicArn(), names)
	}
	if *p.Dashboard {
		var name *string
		if p.DashboardName != "" {
			name = jsii.String(p.DashboardName)
		}
		m.Dashboard = awscloudwatch.NewCfnDashboard(this, jsii.String("Dashboard"), &awscloudwatch.CfnDashboardProps{
			DashboardName: name,
			DashboardBody: jsii.String(dashboard(w, res, t, *awscdk.Aws_REGION())),
		})
	}
	this.Node().AddValidation(&validation{m})
	return m
}

// watch reads what the metrics are named by: the database's, the proxy's and each
// function's identifiers (one round trip to node each), with each function's budget.
func watch(pl *pool.Pool, members []*pool.Member, res *budget.Result, t budget.Thresholds) watched {
	w := watched{}
	switch db := pl.Database.(type) {
	case *database.Instance:
		id := db.Instance.InstanceIdentifier()
		w.db = func(name string) metric.Spec { return metric.Instance(id, name) }
		w.grow = "a larger {InstanceClass}"
	case *database.Serverless:
		cluster := db.Cluster.ClusterIdentifier()
		w.db = func(name string) metric.Spec { return metric.Writer(cluster, name) }
		w.capacity = func(name string) metric.Spec { return metric.Cluster(cluster, name) }
		w.minACU, w.maxACU = db.Capacity()
		w.grow = "a higher {MaxCapacity}"
	case *database.Imported:
		id, aurora, minACU, maxACU := db.Watched()
		w.db = func(name string) metric.Spec { return metric.Instance(jsii.String(id), name) }
		w.grow = "a larger instance class"
		if aurora {
			w.db = func(name string) metric.Spec { return metric.Writer(jsii.String(id), name) }
			w.grow = "a larger writer"
		}
		if aurora && maxACU > 0 {
			w.capacity = func(name string) metric.Spec { return metric.Cluster(jsii.String(id), name) }
			w.minACU, w.maxACU = minACU, maxACU
			w.grow = "a higher maximum capacity"
		}
	}
	w.description = pl.Database.Description()
	if pl.Proxy != nil {
		name := pl.Proxy.Proxy.DbProxyName()
		w.proxy = func(metricName string) metric.Spec { return metric.Proxy(name, metricName) }
		w.borrow = float64(pl.Proxy.Settings.BorrowTimeoutSeconds)
	}
	// The budget lists the functions in the order they joined, as Members does.
	byName := map[string]budget.FunctionThreshold{}
	for _, f := range t.Functions {
		byName[f.Name] = f
	}
	for _, mb := range members {
		w.functions = append(w.functions, watchedFunction{
			label:             mb.Name[strings.LastIndex(mb.Name, "/")+1:],
			name:              mb.Function.FunctionName(),
			FunctionThreshold: byName[mb.Name],
		})
	}
	return w
}

// newTopic builds the alarms' topic: encrypted with a key of its own (AwsSolutions-SNS2),
// TLS only (AwsSolutions-SNS3), published to by CloudWatch alarms of this account and
// Region only. CloudWatch needs kms:Decrypt and kms:GenerateDataKey* on the key of an
// encrypted topic it publishes to (Amazon SNS Developer Guide, "Key management", enable
// compatibility between event sources from AWS services and encrypted topics); the
// conditions keep other accounts' alarms out (Amazon SNS Developer Guide, "Amazon SNS
// access policy examples", aws:SourceAccount and aws:SourceArn).
func newTopic(scope constructs.Construct) awssns.ITopic {
	stack := awscdk.Stack_Of(scope)
	alarms := stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("cloudwatch"), Resource: jsii.String("alarm"),
		ResourceName: jsii.String("*"), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME})
	conditions := &map[string]any{
		"StringEquals": map[string]any{"aws:SourceAccount": stack.Account()},
		"ArnLike":      map[string]any{"aws:SourceArn": alarms},
	}
	cloudwatch := awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)
	key := awskms.NewKey(scope, jsii.String("TopicKey"), &awskms.KeyProps{
		Description:       jsii.String("lambdards alarms topic"),
		EnableKeyRotation: jsii.Bool(true),
		// It encrypts notifications in flight only: nothing to keep once the topic is gone.
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Principals: &[]awsiam.IPrincipal{cloudwatch},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"),
		Conditions: conditions,
	}), nil)
	topic := awssns.NewTopic(scope, jsii.String("Topic"), &awssns.TopicProps{
		DisplayName: jsii.String("lambdards alarms"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Principals: &[]awsiam.IPrincipal{cloudwatch},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  jsii.Strings(*topic.TopicArn()),
		Conditions: conditions,
	}))
	return topic
}

// functions is "1 function" or "n functions".
func functions(n int) string {
	if n == 1 {
		return "1 function"
	}
	return fmt.Sprintf("%d functions", n)
}

// renderer renders a message's {GoName} settings with names.
func renderer(names func(string) string) func(string) string {
	return func(msg string) string { return fields.Render(msg, names) }
}

type validation struct{ m *Monitoring }

// Validate fails synth when the pool's budget is no longer the one the monitoring was sized
// from: a function joined the pool after the monitoring was built.
func (v *validation) Validate() *[]*string {
	out := []*string{}
	res, _ := v.m.pool.Budget()
	if res == nil || v.m.Budget == nil {
		return &out
	}
	if n := len(v.m.pool.Members()); n != v.m.functions {
		out = append(out, jsii.Sprintf("the alarms and the dashboard were sized from the budget of pool %s with %s, "+
			"but %d have joined it; build the monitoring after every function", *v.m.pool.Node().Path(), functions(v.m.functions), n))
		return &out
	}
	before, after := v.m.Budget.Thresholds(0), res.Thresholds(0)
	for i := range after.Functions {
		if i >= len(before.Functions) || before.Functions[i] != after.Functions[i] {
			out = append(out, jsii.Sprintf("the alarms and the dashboard were sized from a budget of pool %s that has changed "+
				"since (function %s); build the monitoring after every function", *v.m.pool.Node().Path(), after.Functions[i].Name))
			break
		}
	}
	return &out
}

package pool_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/pool"
	"github.com/lambdards/lambdards/internal/cdktest"
	"github.com/lambdards/lambdards/internal/fixture"
	"github.com/lambdards/lambdards/internal/panictest"
)

// TestProvisionedConcurrency checks a function with provisioned concurrency: an alias
// "live" on its current version carries it, and the budget counts it with its cost.
func TestProvisionedConcurrency(t *testing.T) {
	f := fixture.NewProvisioned(nil)
	api := fn(f, "Api", pool.AttachOptions{ProvisionedConcurrency: 3})
	plain := fn(f, "Jobs", pool.AttachOptions{})
	if api.Member.Alias == nil || plain.Member.Alias != nil {
		t.Fatalf("Alias = %v and %v, want one for the function with provisioned concurrency only", api.Member.Alias, plain.Member.Alias)
	}
	tmpl := assertions.Template_FromStack(f.Functions, nil)
	tmpl.ResourceCountIs(jsii.String("AWS::Lambda::Alias"), jsii.Number(1))
	tmpl.ResourceCountIs(jsii.String("AWS::Lambda::Version"), jsii.Number(1))
	tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Alias"), &map[string]any{
		"Name":                         pool.AliasName,
		"FunctionName":                 map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^ApiFunction"))},
		"ProvisionedConcurrencyConfig": map[string]any{"ProvisionedConcurrentExecutions": 3},
	})
	res, err := f.Pool.Budget()
	if err != nil {
		t.Fatal(err)
	}
	a := res.Functions[0]
	// 3 × 256 MB on arm64 for 730 hours: 3 × 0.25 GB × 2,628,000 s × 0.0000033334 USD.
	if a.ProvisionedConcurrency != 3 || a.ProvisionedMonthlyUSD != 6.57 || res.TotalProvisionedConcurrency != 3 {
		t.Errorf("Api: provisioned %d at %v USD, total %d; want 3 at 6.57 USD", a.ProvisionedConcurrency, a.ProvisionedMonthlyUSD, res.TotalProvisionedConcurrency)
	}
}

func TestProvisionedConcurrencyRefused(t *testing.T) {
	t.Run("above a fixed share", func(t *testing.T) {
		f := fixture.NewProvisioned(nil)
		panictest.Contains(t, func() { fn(f, "Api", pool.AttachOptions{ReservedConcurrency: 2, ProvisionedConcurrency: 3}) },
			"ProvisionedConcurrency 3 exceeds the function's fixed ReservedConcurrency 2")
	})
	t.Run("above a weighted share", func(t *testing.T) {
		f := fixture.NewProvisioned(nil)
		fn(f, "Api", pool.AttachOptions{ProvisionedConcurrency: 40})
		fn(f, "Jobs", pool.AttachOptions{})
		// 59 connections for two: 29 each.
		msg := panictest.Message(t, func() { f.App.Synth(nil) })
		if !strings.Contains(msg, `function "Functions/Api": ProvisionedConcurrency 40 exceeds its reserved concurrency 29`) {
			t.Errorf("Synth() = %q, want the provisioned concurrency refused", msg)
		}
	})
}

// TestQueueConsumerNewQueue feeds a function with provisioned concurrency from a new
// queue: encrypted, TLS only, a visibility timeout of six times the function's, a
// dead-letter queue after five receives, an event source mapping on the alias whose
// MaximumConcurrency is the function's reserved concurrency, and a customer-managed
// policy for the function's role.
func TestQueueConsumerNewQueue(t *testing.T) {
	f := fixture.NewProvisioned(nil)
	worker := fn(f, "Worker", pool.AttachOptions{ProvisionedConcurrency: 1})
	fn(f, "Api", pool.AttachOptions{Weight: 2})
	c := pool.NewQueueConsumer(worker, jsii.String("Queue"), &pool.QueueConsumerProps{Member: worker.Member})
	if c.DeadLetterQueue == nil {
		t.Fatal("DeadLetterQueue = nil for a new queue")
	}
	res, err := f.Pool.Budget()
	if err != nil {
		t.Fatal(err)
	}
	// 59 connections, weights 1 and 2: 19 for the worker.
	if a := res.Functions[0]; a.ReservedConcurrency != 19 || a.QueueMaximumConcurrency != 19 {
		t.Errorf("Worker: reserved %d, queue maximum %d; want 19, 19", a.ReservedConcurrency, a.QueueMaximumConcurrency)
	}
	tmpl := assertions.Template_FromStack(f.Functions, nil)
	queues := cdktest.Resources(tmpl, "AWS::SQS::Queue")
	if len(queues) != 2 {
		t.Fatalf("queues = %d, want the queue and its dead-letter queue", len(queues))
	}
	for id, q := range queues {
		p := cdktest.Props(q)
		if p["SqsManagedSseEnabled"] != true || p["KmsMasterKeyId"] != nil {
			t.Errorf("%s: SqsManagedSseEnabled %v, KmsMasterKeyId %v; want SQS-managed encryption", id, p["SqsManagedSseEnabled"], p["KmsMasterKeyId"])
		}
		if strings.Contains(id, "DeadLetter") {
			if p["MessageRetentionPeriod"] != 1209600.0 {
				t.Errorf("%s: MessageRetentionPeriod %v, want 14 days", id, p["MessageRetentionPeriod"])
			}
			continue
		}
		redrive, _ := json.Marshal(p["RedrivePolicy"])
		if p["VisibilityTimeout"] != 180.0 || !strings.Contains(string(redrive), `"maxReceiveCount":5`) {
			t.Errorf("%s: VisibilityTimeout %v, RedrivePolicy %s; want 180 (6 × 30 s) and maxReceiveCount 5", id, p["VisibilityTimeout"], redrive)
		}
	}
	tmpl.ResourceCountIs(jsii.String("AWS::SQS::QueuePolicy"), jsii.Number(2))
	tmpl.HasResourceProperties(jsii.String("AWS::SQS::QueuePolicy"), &map[string]any{
		"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{map[string]any{
			"Effect": "Deny", "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
			"Action": "sqs:*", "Principal": map[string]any{"AWS": "*"}, "Resource": assertions.Match_AnyValue(),
		}})},
	})
	tmpl.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), &map[string]any{
		"BatchSize": 10, "ScalingConfig": map[string]any{"MaximumConcurrency": 19},
	})
	for _, esm := range cdktest.Resources(tmpl, "AWS::Lambda::EventSourceMapping") {
		// The alias, so that the provisioned environments take the messages.
		if name, _ := json.Marshal(cdktest.Props(esm)["FunctionName"]); !strings.Contains(string(name), `":live"`) {
			t.Errorf("event source mapping FunctionName = %s, want the function's alias live", name)
		}
	}
	tmpl.HasResource(jsii.String("AWS::Lambda::EventSourceMapping"), &map[string]any{
		"DependsOn": assertions.Match_ArrayWith(&[]any{assertions.Match_StringLikeRegexp(jsii.String("^WorkerQueuePolicy"))}),
	})
	tmpl.HasResourceProperties(jsii.String("AWS::IAM::ManagedPolicy"), &map[string]any{
		"PolicyDocument": map[string]any{"Statement": []any{map[string]any{
			"Action": []any{"sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"}, "Effect": "Allow",
			"Resource": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^WorkerQueue")), "Arn"}},
		}}},
		"Roles": []any{map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^WorkerRole"))}},
	})
}

// TestQueueConsumerTeamQueue consumes queues of the team's: one of this app, whose
// visibility timeout lambdards reads, and one from elsewhere, whose timeout it is told.
func TestQueueConsumerTeamQueue(t *testing.T) {
	f := fixture.NewProvisioned(nil)
	team := awscdk.NewStack(f.App, jsii.String("Team"), nil)
	orders := awssqs.NewQueue(team, jsii.String("Orders"), &awssqs.QueueProps{VisibilityTimeout: awscdk.Duration_Minutes(jsii.Number(5))})
	worker := fn(f, "Worker", pool.AttachOptions{})
	pool.NewQueueConsumer(worker, jsii.String("Orders"), &pool.QueueConsumerProps{Member: worker.Member, Queue: orders, BatchSize: 5})
	elsewhere := awssqs.Queue_FromQueueArn(team, jsii.String("Billing"), jsii.String("arn:aws:sqs:us-east-1:123456789012:billing"))
	billing := fn(f, "Billing", pool.AttachOptions{})
	pool.NewQueueConsumer(billing, jsii.String("Queue"), &pool.QueueConsumerProps{Member: billing.Member, Queue: elsewhere, VisibilityTimeoutSeconds: 180})

	tmpl := assertions.Template_FromStack(f.Functions, nil)
	tmpl.ResourceCountIs(jsii.String("AWS::SQS::Queue"), jsii.Number(0))
	tmpl.ResourceCountIs(jsii.String("AWS::Lambda::EventSourceMapping"), jsii.Number(2))
	// 59 connections for two: 29 each.
	tmpl.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), &map[string]any{
		"FunctionName": map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^WorkerFunction"))}, "BatchSize": 5,
		"ScalingConfig": map[string]any{"MaximumConcurrency": 29},
	})
	tmpl.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), &map[string]any{
		"EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:billing", "ScalingConfig": map[string]any{"MaximumConcurrency": 29},
	})
}

func TestQueueConsumerRefused(t *testing.T) {
	f := fixture.NewProvisioned(nil)
	team := awscdk.NewStack(f.App, jsii.String("Team"), nil)
	short := awssqs.NewQueue(team, jsii.String("Short"), nil)
	dlq := awssqs.NewQueue(team, jsii.String("Dlq"), nil)
	eager := awssqs.NewQueue(team, jsii.String("Eager"), &awssqs.QueueProps{VisibilityTimeout: awscdk.Duration_Minutes(jsii.Number(10)),
		DeadLetterQueue: &awssqs.DeadLetterQueue{Queue: dlq, MaxReceiveCount: jsii.Number(2)}})
	elsewhere := awssqs.Queue_FromQueueArn(team, jsii.String("Elsewhere"), jsii.String("arn:aws:sqs:us-east-1:123456789012:x"))
	n := 0
	member := func(o pool.AttachOptions) *pool.Member {
		n++
		return fn(f, "W"+string(rune('a'+n)), o).Member
	}
	for _, tc := range []struct {
		name  string
		props func() *pool.QueueConsumerProps
		want  []string
	}{
		{"short visibility", func() *pool.QueueConsumerProps {
			return &pool.QueueConsumerProps{Member: member(pool.AttachOptions{}), Queue: short}
		},
			[]string{"Queue: visibility timeout 30 s is less than 6 times the function's timeout 30s (180 s)", "raise the queue's visibility timeout to 180 s"}},
		{"early dead letters", func() *pool.QueueConsumerProps {
			return &pool.QueueConsumerProps{Member: member(pool.AttachOptions{}), Queue: eager}
		},
			[]string{"its dead-letter queue receives a message after 2 receives, fewer than the 5"}},
		{"unknown visibility", func() *pool.QueueConsumerProps {
			return &pool.QueueConsumerProps{Member: member(pool.AttachOptions{}), Queue: elsewhere}
		},
			[]string{"VisibilityTimeoutSeconds: required for a queue defined outside this app", "at least 180"}},
		{"fixed share of one", func() *pool.QueueConsumerProps {
			return &pool.QueueConsumerProps{Member: member(pool.AttachOptions{ReservedConcurrency: 1})}
		}, []string{"has a fixed ReservedConcurrency 1", "must be at least 2"}},
		{"batch", func() *pool.QueueConsumerProps {
			return &pool.QueueConsumerProps{Member: member(pool.AttachOptions{}), BatchSize: 11}
		},
			[]string{"BatchSize 11: must be 1 to 10"}},
		{"no member", func() *pool.QueueConsumerProps { return &pool.QueueConsumerProps{} }, []string{"Member: required"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			props := tc.props()
			panictest.Contains(t, func() { pool.NewQueueConsumer(f.Functions, jsii.String("Queue"+tc.name), props) },
				append([]string{"invalid queue consumer"}, tc.want...)...)
		})
	}
	t.Run("twice", func(t *testing.T) {
		m := member(pool.AttachOptions{})
		pool.NewQueueConsumer(f.Functions, jsii.String("First"), &pool.QueueConsumerProps{Member: m})
		panictest.Contains(t, func() { pool.NewQueueConsumer(f.Functions, jsii.String("Second"), &pool.QueueConsumerProps{Member: m}) },
			"is fed by a queue already; a function takes one")
	})
}

// TestQueueConsumerShareOfOne refuses, at synth, a weighted consumer whose share is 1:
// an event source mapping's MaximumConcurrency is at least 2.
func TestQueueConsumerShareOfOne(t *testing.T) {
	f := fixture.NewProvisioned(&pool.Props{AccountConcurrency: 102})
	worker := fn(f, "Worker", pool.AttachOptions{})
	fn(f, "Api", pool.AttachOptions{})
	pool.NewQueueConsumer(worker, jsii.String("Queue"), &pool.QueueConsumerProps{Member: worker.Member})
	_, err := f.Pool.Budget()
	// The account may reserve 2, one each.
	if err == nil || !strings.Contains(err.Error(), `function "Functions/Worker": an SQS queue feeds it`) ||
		!strings.Contains(err.Error(), "gives it 1 (account concurrency)") || !strings.Contains(err.Error(), "raise AccountConcurrency") {
		t.Errorf("Budget() = %v, want the worker's share of 1 refused", err)
	}
}

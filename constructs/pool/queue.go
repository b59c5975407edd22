package pool

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/internal/fields"
)

// Limits and guidance a queue consumer rests on.
const (
	// VisibilityTimeoutFactor: "Set the queue's visibility timeout to at least six times
	// the function timeout value. This allows the function time to process each batch of
	// records if the function execution is throttled while processing a previous batch"
	// (AWS Lambda Developer Guide, "Understanding SQS retries"; Amazon SQS Developer
	// Guide, "Configuring an Amazon SQS queue to trigger an AWS Lambda function").
	VisibilityTimeoutFactor = 6
	// MaxReceiveCount is the dead-letter queue's maxReceiveCount of a queue the consumer
	// creates: "Set the maxReceiveCount on the source queue's redrive policy to at least 5.
	// This improves the chances of messages being processed before reaching the DLQ" (AWS
	// Lambda Developer Guide, "Understanding SQS retries"). A consumer of a queue of the
	// team's with a lower one is refused.
	MaxReceiveCount = 5
	// DefaultBatchSize and MaxBatchSize: Lambda's default batch for SQS, and the most it
	// takes without a batching window (AWS Lambda API Reference, CreateEventSourceMapping,
	// BatchSize: "Amazon Simple Queue Service – Default 10 ... When you set BatchSize to a
	// value greater than 10, you must set MaximumBatchingWindowInSeconds to at least 1").
	DefaultBatchSize = 10
	MaxBatchSize     = 10
	// maxVisibilityTimeoutSeconds is SQS's longest visibility timeout, 12 hours (Amazon
	// SQS Developer Guide, "Amazon SQS visibility timeout").
	maxVisibilityTimeoutSeconds = 43200
	// deadLetterRetentionDays is how long the dead-letter queue keeps a message: SQS's
	// longest retention, 14 days (Amazon SQS Developer Guide, "Amazon SQS message quotas"),
	// so that a failed message waits as long as it can for someone to look at it.
	deadLetterRetentionDays = 14
)

// QueueConsumerProps feed a function of a pool from an SQS queue.
type QueueConsumerProps struct {
	// Member is the function the queue feeds: a function of a pool (Pool.Build,
	// Pool.Attach, package function's Function.Member). Required.
	Member *Member
	// Queue is a queue of the team's for the function to consume. Its visibility timeout
	// must be at least VisibilityTimeoutFactor times the function's timeout, and a
	// dead-letter queue, if it has one, must receive a message at least MaxReceiveCount
	// times; both are checked for a queue defined in this app.
	// Default: a new queue with server-side encryption (EncryptionKey, or SQS-managed),
	// TLS required, a visibility timeout of VisibilityTimeoutFactor times the function's
	// timeout, and a dead-letter queue (the same encryption, 14 days' retention) after
	// MaxReceiveCount receives.
	Queue awssqs.IQueue
	// VisibilityTimeoutSeconds is the visibility timeout of a Queue defined outside this
	// app, which lambdards cannot read; it is checked against the function's timeout.
	// Required for such a queue; not with a queue of this app or a new one.
	VisibilityTimeoutSeconds int
	// BatchSize is how many messages one invocation gets (1-10).
	// Default: DefaultBatchSize.
	BatchSize int
	// ReportBatchItemFailures lets the function return the messages that failed alone
	// (batchItemFailures), so that the rest of a batch is not received again.
	// Default: false.
	ReportBatchItemFailures bool
	// EncryptionKey encrypts a new queue and its dead-letter queue; the function may
	// decrypt with it. Not with Queue.
	// Default: SQS-managed encryption (SSE-SQS), which needs no key.
	EncryptionKey awskms.IKey
}

// QueueConsumer is an SQS queue feeding a function of a pool: an event source mapping
// whose MaximumConcurrency is the function's reserved concurrency from the connection
// budget (at most 1,000), so that Lambda never polls more batches than the function may
// run. AWS prefers this cap to reserved concurrency alone for queue consumers: throttled
// invocations return their messages to the queue, which counts each against the
// dead-letter queue's maxReceiveCount (AWS Lambda Developer Guide, "Configuring scaling
// behavior for SQS event source mappings"). The budget refuses a share below 2, the
// least MaximumConcurrency Lambda takes.
type QueueConsumer struct {
	constructs.Construct
	// Queue is the queue the function consumes.
	Queue awssqs.IQueue
	// DeadLetterQueue receives the messages that fail MaxReceiveCount times, or is nil
	// for a queue of the team's.
	DeadLetterQueue awssqs.IQueue
	// EventSourceMapping polls Queue for the function (its alias when it has provisioned
	// concurrency).
	EventSourceMapping awslambda.EventSourceMapping
	// Policy lets the function's role receive and delete Queue's messages (and decrypt
	// them, with a key of the team's): a customer-managed policy.
	Policy awsiam.ManagedPolicy
}

// NewQueueConsumer feeds props.Member's function from a queue. It panics with every
// invalid setting.
func NewQueueConsumer(scope constructs.Construct, id *string, props *QueueConsumerProps) *QueueConsumer {
	p := fields.Of(props)
	var errs fields.Problems
	errs.Require("Member", p.Member != nil)
	path := *scope.Node().Path() + "/" + *id
	errs.Fail(path, "queue consumer")
	m := p.Member
	pl := m.pool
	if p.BatchSize == 0 {
		p.BatchSize = DefaultBatchSize
	}
	if p.BatchSize < 1 || p.BatchSize > MaxBatchSize {
		errs.Add("{BatchSize} %d: must be 1 to %d (above %d Lambda needs a batching window)", p.BatchSize, MaxBatchSize, MaxBatchSize)
	}
	if m.entry.QueueConsumer {
		errs.Add("{Member}: %s is fed by a queue already; a function takes one: each event source mapping may run the "+
			"function's whole reserved concurrency, so two would be throttled, returning messages to their queues", m.Name)
	}
	if pl.ledger.frozen != nil {
		errs.Add("joins the pool after synth has begun computing the budget; build every queue consumer before synth")
	}
	if r := m.entry.ReservedConcurrency; r > 0 && r < 2 {
		errs.Add("{Member}: %s has a fixed {ReservedConcurrency} %d, but the event source mapping's MaximumConcurrency, which is "+
			"the function's reserved concurrency, must be at least 2 (AWS::Lambda::EventSourceMapping ScalingConfig); fix it at 2 or more", m.Name, r)
	}
	if p.Queue != nil && p.EncryptionKey != nil {
		errs.Add("{EncryptionKey} with {Queue}: the key encrypts a new queue; a queue of the team's keeps its own")
	}
	timeout := m.entry.TimeoutSeconds
	need := int(timeout*VisibilityTimeoutFactor + 0.999)
	if need > maxVisibilityTimeoutSeconds {
		errs.Add("the function's timeout %vs needs a visibility timeout of %d s (%d times it), above SQS's %d s; lower the "+
			"function's {TimeoutSeconds} to at most %d", timeout, need, VisibilityTimeoutFactor, maxVisibilityTimeoutSeconds,
			maxVisibilityTimeoutSeconds/VisibilityTimeoutFactor)
	}
	if p.Queue != nil {
		errs = append(errs, checkTeamQueue(p, timeout, need)...)
	} else if p.VisibilityTimeoutSeconds != 0 {
		errs.Add("{VisibilityTimeoutSeconds} without {Queue}: a new queue's visibility timeout is %d times the function's timeout", VisibilityTimeoutFactor)
	}
	errs.Fail(path, "queue consumer")

	this := constructs.NewConstruct(scope, id)
	c := &QueueConsumer{Construct: this, Queue: p.Queue}
	if c.Queue == nil {
		c.Queue, c.DeadLetterQueue = newQueues(this, need, p.EncryptionKey)
	}
	statements := []awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		// What Lambda needs to read a queue for a function (AWS Lambda Developer Guide,
		// "Using Lambda with Amazon SQS", execution role permissions).
		Actions:   jsii.Strings("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"),
		Resources: jsii.Strings(*c.Queue.QueueArn()),
	})}
	if key := c.Queue.EncryptionMasterKey(); key != nil {
		statements = append(statements, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			// An encrypted queue's messages reach the function through the key (Amazon SQS
			// Developer Guide, "Configuring an Amazon SQS queue to trigger an AWS Lambda
			// function": kms:Decrypt for the execution role).
			Actions: jsii.Strings("kms:Decrypt"), Resources: jsii.Strings(*key.KeyArn()),
		}))
	}
	c.Policy = awsiam.NewManagedPolicy(this, jsii.String("Policy"), &awsiam.ManagedPolicyProps{
		Description: jsii.String("lambdards queue consumer: receive and delete the queue's messages"),
		Roles:       &[]awsiam.IRole{m.Function.Role()},
		Statements:  &statements,
	})
	var target awslambda.IFunction = m.Function
	if m.Alias != nil {
		target = m.Alias
	}
	c.EventSourceMapping = awslambda.NewEventSourceMapping(this, jsii.String("EventSourceMapping"), &awslambda.EventSourceMappingProps{
		Target:                  target,
		EventSourceArn:          c.Queue.QueueArn(),
		BatchSize:               jsii.Number(p.BatchSize),
		MaxConcurrency:          awscdk.Lazy_Number(&queueShare{member: m}),
		ReportBatchItemFailures: jsii.Bool(p.ReportBatchItemFailures),
	})
	// Lambda checks the role's permissions when it creates the mapping.
	c.EventSourceMapping.Node().AddDependency(c.Policy)
	m.entry.QueueConsumer = true
	pl.ledger.changed()
	return c
}

// checkTeamQueue reports a queue of the team's whose visibility timeout or dead-letter
// queue would return messages early: read from the template for a queue of this app,
// from VisibilityTimeoutSeconds for another.
func checkTeamQueue(p QueueConsumerProps, timeout float64, need int) []string {
	var errs []string
	visibility, known := p.VisibilityTimeoutSeconds, p.VisibilityTimeoutSeconds != 0
	cfn, inApp := p.Queue.Node().DefaultChild().(awssqs.CfnQueue)
	switch {
	case inApp && known:
		errs = append(errs, "{VisibilityTimeoutSeconds}: the queue is defined in this app, which gives its visibility timeout; remove it")
	case inApp:
		// SQS's default visibility timeout is 30 s (Amazon SQS API Reference,
		// CreateQueue, VisibilityTimeout).
		visibility, known = 30, true
		if v := cfn.VisibilityTimeout(); v != nil {
			visibility = int(*v)
		}
		if n := maxReceiveCount(cfn); n > 0 && n < MaxReceiveCount {
			errs = append(errs, fmt.Sprintf("{Queue}: its dead-letter queue receives a message after %d receives, fewer than the %d "+
				"AWS advises for a Lambda consumer (AWS Lambda Developer Guide, \"Understanding SQS retries\"); raise its "+
				"maxReceiveCount to %d or more", n, MaxReceiveCount, MaxReceiveCount))
		}
	case !known:
		errs = append(errs, fmt.Sprintf("{VisibilityTimeoutSeconds}: required for a queue defined outside this app, whose visibility "+
			"timeout lambdards cannot read; give it, at least %d (%d times the function's timeout %vs)", need, VisibilityTimeoutFactor, timeout))
	}
	if known && visibility < need {
		errs = append(errs, fmt.Sprintf("{Queue}: visibility timeout %d s is less than %d times the function's timeout %vs (%d s): a "+
			"message could be received again while the function still holds it, and a throttled batch has no time to be retried "+
			"(AWS Lambda Developer Guide, \"Understanding SQS retries\"); raise the queue's visibility timeout to %d s or more, or "+
			"lower the function's {TimeoutSeconds}", visibility, VisibilityTimeoutFactor, timeout, need, need))
	}
	return errs
}

// maxReceiveCount is the queue's redrive policy's maxReceiveCount, or 0 when it has none
// or it is not a plain number.
func maxReceiveCount(q awssqs.CfnQueue) int {
	raw := q.RedrivePolicy()
	if raw == nil {
		return 0
	}
	policy, ok := awscdk.Stack_Of(q).Resolve(raw).(map[string]any)
	if !ok {
		return 0
	}
	n, _ := policy["maxReceiveCount"].(float64)
	return int(n)
}

// newQueues makes the queue and its dead-letter queue, encrypted (with key, or
// SQS-managed), TLS only.
func newQueues(scope constructs.Construct, visibilitySeconds int, key awskms.IKey) (queue, dlq awssqs.Queue) {
	encryption := awssqs.QueueEncryption_SQS_MANAGED
	if key != nil {
		encryption = awssqs.QueueEncryption_KMS
	}
	dlq = awssqs.NewQueue(scope, jsii.String("DeadLetterQueue"), &awssqs.QueueProps{
		Encryption:          encryption,
		EncryptionMasterKey: key,
		EnforceSSL:          jsii.Bool(true),
		RetentionPeriod:     awscdk.Duration_Days(jsii.Number(deadLetterRetentionDays)),
	})
	queue = awssqs.NewQueue(scope, jsii.String("Queue"), &awssqs.QueueProps{
		Encryption:          encryption,
		EncryptionMasterKey: key,
		EnforceSSL:          jsii.Bool(true),
		VisibilityTimeout:   awscdk.Duration_Seconds(jsii.Number(visibilitySeconds)),
		DeadLetterQueue:     &awssqs.DeadLetterQueue{Queue: dlq, MaxReceiveCount: jsii.Number(MaxReceiveCount)},
	})
	return queue, dlq
}

// queueShare produces a consumer's MaximumConcurrency at synth: the function's reserved
// concurrency from the budget, at most 1,000. Validation fails synth first if the budget
// does not hold, or gives the function less than 2.
type queueShare struct{ member *Member }

func (q *queueShare) Produce() *float64 {
	res, _ := q.member.pool.ledger.final().target(q.member.pool, q.member.Reader)
	if res != nil {
		for _, a := range res.Functions {
			if a.Name == q.member.Name {
				return jsii.Number(a.QueueMaximumConcurrency)
			}
		}
	}
	return jsii.Number(0)
}

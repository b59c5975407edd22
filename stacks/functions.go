package stacks

import (
	"fmt"
	"strings"

	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/function"
	"github.com/lambdards/lambdards/constructs/pool"
)

// The functions key's fields for the ways a function reaches the database besides its
// reserved concurrency on the writer (FunctionConfig):
//
//   - reader: the function reads from the cluster's reader (pool.AttachOptions.Reader):
//     the proxy's read-only endpoint, or the reader endpoint when direct, under the
//     reader's own budget; it needs reader = true.
//   - provisionedConcurrency: environments kept initialized on the alias "live"
//     (pool.AttachOptions.ProvisionedConcurrency), within the function's reserved
//     concurrency; refused with env = cheapest.
//   - queue: an SQS queue of the function's own feeds it (pool.NewQueueConsumer), its
//     event source mapping's MaximumConcurrency the function's share.

// functionContradictions lists the functions' settings that the rest of the
// configuration cannot honour, naming the keys to change.
func (c Config) functionContradictions() []string {
	var errs []string
	for _, f := range c.Functions {
		if f.Reader && !(c.Database == "serverless" && c.Reader) {
			why := c.is("reader", c.Reader)
			if c.Database != "serverless" {
				why = c.is("database", c.Database) + ", which has no reader"
			}
			errs = append(errs, fmt.Sprintf("function %q has reader = true, but the database has no reader (%s): set the app's "+
				"reader = true (with database = serverless), or remove the function's reader", f.Name, why))
		}
		if f.ProvisionedConcurrency > 0 && c.Env == "cheapest" {
			// Provisioned concurrency is billed per GB-second whether it is used or not
			// (AWS Lambda pricing, "Provisioned Concurrency Pricing"): the cheapest preset
			// exists to cost nothing while idle.
			errs = append(errs, fmt.Sprintf("function %q has provisionedConcurrency = %d with %s: provisioned environments are "+
				"billed every hour whether they are used or not, which the cheapest preset exists to avoid; remove "+
				"provisionedConcurrency, or choose env = dev or prod", f.Name, f.ProvisionedConcurrency, c.is("env", c.Env)))
		}
	}
	return errs
}

// attachOptions adds the functions key's reader and provisionedConcurrency to o.
func (f FunctionConfig) attachOptions(o pool.AttachOptions) pool.AttachOptions {
	o.Reader, o.ProvisionedConcurrency = f.Reader, f.ProvisionedConcurrency
	return o
}

// feedQueues gives each function whose configuration asks for a queue (queue = true) a
// new one of its own, as the child "Queue" of the function.
func feedQueues(handlers []*function.Function, fns []FunctionConfig) []*pool.QueueConsumer {
	queued := map[string]bool{}
	for _, f := range fns {
		if f.Queue {
			queued[f.Name] = true
		}
	}
	if len(queued) == 0 {
		return nil
	}
	var out []*pool.QueueConsumer
	for _, h := range handlers {
		name := h.Member.Name[strings.LastIndex(h.Member.Name, "/")+1:]
		if queued[name] {
			out = append(out, pool.NewQueueConsumer(h, jsii.String("Queue"), &pool.QueueConsumerProps{Member: h.Member}))
		}
	}
	return out
}

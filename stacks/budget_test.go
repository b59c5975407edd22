package stacks_test

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"

	"github.com/lambdards/lambdards/internal/panictest"
)

// TestBudgetChecksFailSynth makes synth of the default app fail through each of the
// connection budget's checks and asserts the message names the function, the numbers and
// the fix. test/ runs the app program on a failing budget, for its exit status and output.
func TestBudgetChecksFailSynth(t *testing.T) {
	for _, tc := range []struct {
		name string
		ctx  map[string]any
		want []string
	}{
		{"functions need more than the budget",
			map[string]any{"functions": `{"items":{"entry":"functions/items","reservedConcurrency":60},"jobs":{"entry":"functions/items","reservedConcurrency":60}}`},
			[]string{"connection budget:", "120", "59", "LambdaRdsFunctions/items", "LambdaRdsFunctions/jobs"}},
		{"a function gets no concurrency",
			map[string]any{"functions": `{"big":{"entry":"functions/items","reservedConcurrency":59},"small":{"entry":"functions/items"}}`},
			[]string{"connection budget:", "LambdaRdsFunctions/small", "0"}},
		{"the account keeps less than 100 unreserved",
			map[string]any{"accountConcurrency": "150", "functions": `{"items":{"entry":"functions/items","reservedConcurrency":80}}`},
			[]string{"connection budget:", "150", "100", "80"}},
		{"proxy idle above max",
			map[string]any{"maxIdleConnectionsPercent": "95"},
			[]string{"95", "82"}},
		{"function timeout not longer than the borrow timeout",
			map[string]any{"borrowTimeoutSeconds": "30", "functions": `{"items":{"entry":"functions/items","timeoutSeconds":20}}`},
			[]string{"LambdaRdsFunctions/items", "20", "30", "borrow"}},
		{"headroom leaves nothing",
			map[string]any{"headroom": "68"},
			[]string{"68", "73", "at most 67"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			panictest.Contains(t, func() {
				a := build(t, with(baseline, tc.ctx))
				awscdk.Stage_Of(a.Data).Synth(nil)
			}, tc.want...)
		})
	}
}

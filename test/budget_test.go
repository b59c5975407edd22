package test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBudgetChecksFailSynth makes synth fail through each of the connection budget's
// checks and asserts the message names the function, the numbers and the fix.
func TestBudgetChecksFailSynth(t *testing.T) {
	for _, tc := range []struct {
		name string
		ctx  map[string]any
		want []string
	}{
		{"functions need more than the budget",
			map[string]any{"functions": `{"items":{"entry":"functions/items","reservedConcurrency":60},"jobs":{"entry":"functions/items","reservedConcurrency":60}}`},
			[]string{"connection budget:", "120", "94", "LambdaRdsFunctions/items", "LambdaRdsFunctions/jobs"}},
		{"a function gets no concurrency",
			map[string]any{"functions": `{"big":{"entry":"functions/items","reservedConcurrency":94},"small":{"entry":"functions/items"}}`},
			[]string{"connection budget:", "LambdaRdsFunctions/small", "0"}},
		{"the account keeps less than 100 unreserved",
			map[string]any{"accountConcurrency": "150", "functions": `{"items":{"entry":"functions/items","reservedConcurrency":80}}`},
			[]string{"connection budget:", "150", "100", "80"}},
		{"proxy idle above max",
			map[string]any{"maxIdleConnectionsPercent": "95"},
			[]string{"95", "84"}},
		{"function timeout not longer than the borrow timeout",
			map[string]any{"borrowTimeoutSeconds": "30", "functions": `{"items":{"entry":"functions/items","timeoutSeconds":20}}`},
			[]string{"LambdaRdsFunctions/items", "20", "30", "borrow"}},
		{"headroom leaves nothing",
			map[string]any{"headroom": "107"},
			[]string{"107", "112"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertFails(t, synth(t, tc.ctx), tc.want...)
		})
	}
}

// TestBudgetReport checks the synth's budget table and the JSON it leaves in cdk.out.
func TestBudgetReport(t *testing.T) {
	r := synth(t, map[string]any{"lambdards:skipBundling": true})
	if r.code != 0 {
		t.Fatalf("synth exited %d:\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"max_connections         112", "LambdaRdsFunctions/items", "spare connections"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("budget table does not contain %q:\n%s", want, r.stdout)
		}
	}
	b, err := os.ReadFile(filepath.Join(r.outdir, "lambdards-budget.json"))
	if err != nil {
		t.Fatal(err)
	}
	var report struct {
		MaxConnections int `json:"maxConnections"`
		Functions      []struct {
			Name                string `json:"name"`
			ReservedConcurrency int    `json:"reservedConcurrency"`
		} `json:"functions"`
	}
	if err := json.Unmarshal(b, &report); err != nil {
		t.Fatal(err)
	}
	fn := resources(template(t, r.outdir, "LambdaRdsFunctions"), "AWS::Lambda::Function")[0]
	if report.MaxConnections != 112 || len(report.Functions) != 1 ||
		float64(report.Functions[0].ReservedConcurrency) != fn["ReservedConcurrentExecutions"] {
		t.Errorf("report = %+v, template reserved concurrency %v; want them to agree on 112 connections", report, fn["ReservedConcurrentExecutions"])
	}
}

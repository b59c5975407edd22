package test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBudgetReport checks the synth's budget table and the JSON it leaves in cdk.out. The
// budget's checks are stacks.TestBudgetChecksFailSynth; TestBadInput and
// TestBudgetFailsThroughCLI run the program on a budget that fails.
func TestBudgetReport(t *testing.T) {
	r := synth(t, map[string]any{"lambdards:skipBundling": true}, "CDK_VALIDATION=false")
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

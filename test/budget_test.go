package test

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBudgetReport checks the budget table that `cdk synth` shows and the JSON it leaves
// in cdk.out, from TestCLISynth's run. The budget's checks are
// stacks.TestBudgetChecksFailSynth; TestBadInput and TestBudgetFailsThroughCLI run the
// program on a budget that fails.
func TestBudgetReport(t *testing.T) {
	out, dir := cliSynth(t)
	for _, want := range []string{"max_connections         73", "LambdaRdsFunctions/items", "spare connections",
		"hyperplane ENIs: 4 (2 subnets × 2 security groups, shared by 2 functions)"} {
		if !strings.Contains(out, want) {
			t.Errorf("budget table does not contain %q:\n%s", want, out)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "lambdards-budget.json"))
	if err != nil {
		t.Fatal(err)
	}
	var report struct {
		HyperplaneENIs struct{ Count int } `json:"hyperplaneEnis"`
		MaxConnections int                 `json:"maxConnections"`
		Functions      []struct {
			Name                string `json:"name"`
			ReservedConcurrency int    `json:"reservedConcurrency"`
		} `json:"functions"`
	}
	if err := json.Unmarshal(b, &report); err != nil {
		t.Fatal(err)
	}
	fn := resources(template(t, dir, "LambdaRdsFunctions"), "AWS::Lambda::Function")[0]
	if report.HyperplaneENIs.Count != 4 {
		t.Errorf("report hyperplaneEnis.count = %d, want 4 (2 subnets × the functions' and the provisioner's groups)", report.HyperplaneENIs.Count)
	}
	if report.MaxConnections != 73 || len(report.Functions) != 1 ||
		float64(report.Functions[0].ReservedConcurrency) != fn["ReservedConcurrentExecutions"] {
		t.Errorf("report = %+v, template reserved concurrency %v; want them to agree on 73 connections", report, fn["ReservedConcurrentExecutions"])
	}
	// The picture of the budget lies beside the report (package budget checks its figures).
	svg, err := os.ReadFile(filepath.Join(dir, "lambdards-budget.svg"))
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(svg, new(struct{})); err != nil || !strings.Contains(string(svg), "max_connections 73") {
		t.Errorf("lambdards-budget.svg: %v; want an SVG image of max_connections 73:\n%.300s", err, svg)
	}
	// README shows the default app's picture: docs/budget.svg is this one.
	docs, err := os.ReadFile(filepath.Join("..", "docs", "budget.svg"))
	if err != nil || string(docs) != string(svg) {
		t.Errorf("docs/budget.svg (%v) is not the default app's lambdards-budget.svg; copy cdk.out/lambdards-budget.svg there", err)
	}
}

package stacks

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/lambdards/lambdards/constructs/monitoring"
	"github.com/lambdards/lambdards/internal/cdktest"
)

// TestTwoHundredFunctions synthesizes 200 functions on one database, with the alarms and
// the dashboard on, and checks every stack against CloudFormation's quotas (AWS
// CloudFormation User Guide, "CloudFormation quotas": 500 resources, 200 outputs, 1 MB
// template body) and the budget across all of them.
func TestTwoHundredFunctions(t *testing.T) {
	fns := map[string]any{}
	for i := range 200 {
		fns[fmt.Sprintf("fn%03d", i)] = map[string]any{"entry": "functions/items"}
	}
	b, _ := json.Marshal(fns)
	cfg, err := Configure(mapContext{"database": "serverless", "maxAcu": "16", "functions": string(b), "alarms": "true"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Root = cdktest.Root()
	app := cdktest.NewApp(nil)
	a := New(app, cfg)
	asm := app.Synth(nil)

	if len(a.FunctionStacks) < 3 {
		t.Errorf("function stacks = %d, want 200 functions spread over at least 3", len(a.FunctionStacks))
	}
	total := 0
	if a.Monitoring == nil {
		t.Fatal("no Monitoring stack with alarms on")
	}
	for _, s := range append(a.FunctionStacks, a.Monitoring) {
		raw, err := os.ReadFile(filepath.Join(*asm.Directory(), *s.TemplateFile()))
		if err != nil {
			t.Fatal(err)
		}
		var tmpl struct {
			Resources map[string]struct{ Type string }
			Outputs   map[string]any
		}
		if err := json.Unmarshal(raw, &tmpl); err != nil {
			t.Fatal(err)
		}
		fnCount := 0
		for _, r := range tmpl.Resources {
			if r.Type == "AWS::Lambda::Function" {
				fnCount++
			}
		}
		total += fnCount
		if len(tmpl.Resources) > 500 || len(tmpl.Outputs) > 200 || len(raw) > 1<<20 {
			t.Errorf("%s: %d resources, %d outputs, %d bytes; quotas are 500, 200, 1 MB", *s.StackName(), len(tmpl.Resources), len(tmpl.Outputs), len(raw))
		}
		t.Logf("%s: %d resources, %d outputs, %d bytes", *s.StackName(), len(tmpl.Resources), len(tmpl.Outputs), len(raw))
		if fnCount > FunctionsPerStack {
			t.Errorf("%s holds %d functions, more than %d", *s.StackName(), fnCount, FunctionsPerStack)
		}
		if s == a.Monitoring {
			// One alarm of each kind per group of functions, and the pool's own.
			groups := (200 + monitoring.FunctionsPerAlarm - 1) / monitoring.FunctionsPerAlarm
			if alarms := len(a.Monitor.Alarms); alarms != 2*groups+len(monitoring.Kinds)-2 {
				t.Errorf("%d alarms, want 2 × %d groups of functions + %d", alarms, groups, len(monitoring.Kinds)-2)
			}
			continue
		}
		for _, dep := range *s.Dependencies() {
			if *dep.StackName() != *a.Data.StackName() {
				t.Errorf("%s depends on %s; function stacks may depend only on the Data stack", *s.StackName(), *dep.StackName())
			}
		}
	}
	if total != 200 {
		t.Errorf("functions in templates = %d, want 200", total)
	}
	res, err := a.Pool.Budget()
	if err != nil {
		t.Fatal(err)
	}
	// One budget spans every stack: 900 reservable concurrency shared by 200 weight-1
	// functions is 4 each (Aurora PostgreSQL 16 ACU has 3,360 connections to spare).
	if len(res.Functions) != 200 || res.TotalReservedConcurrency != 800 || res.Functions[199].ReservedConcurrency != 4 {
		t.Errorf("budget = %d functions, total %d, last %d; want 200, 800, 4", len(res.Functions), res.TotalReservedConcurrency, res.Functions[199].ReservedConcurrency)
	}
	// The 200 functions share the pool's client security group, the provisioner has its
	// own: 2 groups in 2 subnets are 4 Hyperplane ENIs, however many functions there are.
	if got, want := a.ENIs(), (ENIs{Count: 4, Subnets: 2, SecurityGroups: 2, Functions: 201}); got != want {
		t.Errorf("ENIs() = %+v, want %+v", got, want)
	}
}

func TestShardIsStable(t *testing.T) {
	var names []string
	for i := range 300 {
		names = append(names, fmt.Sprintf("function%d", i))
	}
	shards := Shard(names, 80)
	if len(shards) != 8 && len(shards) != 4 {
		t.Fatalf("Shard(300 names, 80) = %d stacks, want a power of two with room for all", len(shards))
	}
	seen := 0
	for i, s := range shards {
		if len(s) > 80 {
			t.Errorf("stack %d holds %d names, more than 80", i, len(s))
		}
		for _, name := range s {
			if ShardOf(name, len(shards)) != i {
				t.Errorf("ShardOf(%s) = %d, but Shard put it in %d", name, ShardOf(name, len(shards)), i)
			}
		}
		seen += len(s)
	}
	if seen != len(names) {
		t.Errorf("Shard placed %d names, want %d", seen, len(names))
	}
	// Adding or removing one function moves no other while the stack count holds.
	more := Shard(append(names[1:], "newcomer"), 80)
	if len(more) == len(shards) {
		for i, s := range more {
			for _, name := range s {
				if name != "newcomer" && ShardOf(name, len(shards)) != i {
					t.Errorf("%s moved from stack %d to %d", name, ShardOf(name, len(shards)), i)
				}
			}
		}
	}
	if got := Shard(nil, 80); len(got) != 1 {
		t.Errorf("Shard(no names) = %d stacks, want 1", len(got))
	}
}

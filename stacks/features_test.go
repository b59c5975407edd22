package stacks_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestFeatures checks, on the shared synth, what the features' configurations add: the
// proxy's read-only endpoint (or none when direct), the reader function's environment
// and share of the reader's budget, the alias with its provisioned concurrency, the queue
// and its event source mapping capped by the worker's share, and the reader's outputs.
func TestFeatures(t *testing.T) {
	for _, f := range features {
		t.Run(f.name, func(t *testing.T) {
			a := assemblyOf(t, f.name)
			tmpl := a.templates(t)
			data, fns := tmpl["Data"], tmpl["Functions"]
			endpoints := 0
			if a.cfg.Connection == "proxy" {
				endpoints = 1
			}
			if got := len(data.ofType("AWS::RDS::DBProxyEndpoint")); got != endpoints {
				t.Errorf("proxy endpoints = %d, want %d", got, endpoints)
			}
			w, err := a.app.Pool.Budget()
			if err != nil {
				t.Fatal(err)
			}
			r, err := a.app.Pool.ReaderBudget()
			if err != nil || r == nil || len(r.Functions) != 1 || len(w.Functions) != 2 {
				t.Fatalf("ReaderBudget() = %+v, %v; want the reports function alone, the writer two", r, err)
			}
			reports, worker := r.Functions[0], w.Functions[1]
			if reports.ProvisionedConcurrency != 2 || reports.ProvisionedMonthlyUSD != 4.38 || worker.QueueMaximumConcurrency != worker.ReservedConcurrency {
				t.Errorf("reports provisioned %d at %v USD; worker queue %d of %d; want 2 at 4.38 (2 × 0.25 GB arm64), the worker's share",
					reports.ProvisionedConcurrency, reports.ProvisionedMonthlyUSD, worker.QueueMaximumConcurrency, worker.ReservedConcurrency)
			}
			for id, res := range fns.Resources {
				switch res.Type {
				case "AWS::Lambda::Function":
					if !strings.HasPrefix(id, "reports") {
						continue
					}
					env, _ := json.Marshal(res.Properties["Environment"])
					wantHost := map[bool]string{true: "ReaderEndpoint", false: "ReadEndpoint"}[a.cfg.Connection == "proxy"]
					if !strings.Contains(string(env), `"LAMBDARDS_DB_TARGET":"reader"`) || !strings.Contains(string(env), wantHost) {
						t.Errorf("reports environment = %s, want the reader's host (%s) and target", env, wantHost)
					}
					if res.Properties["ReservedConcurrentExecutions"] != float64(reports.ReservedConcurrency) {
						t.Errorf("reports ReservedConcurrentExecutions = %v, want the reader budget's %d", res.Properties["ReservedConcurrentExecutions"], reports.ReservedConcurrency)
					}
				case "AWS::Lambda::Alias":
					pc, _ := json.Marshal(res.Properties["ProvisionedConcurrencyConfig"])
					if string(pc) != `{"ProvisionedConcurrentExecutions":2}` {
						t.Errorf("%s: ProvisionedConcurrencyConfig = %s, want 2", id, pc)
					}
				case "AWS::Lambda::EventSourceMapping":
					sc, _ := json.Marshal(res.Properties["ScalingConfig"])
					if want := `{"MaximumConcurrency":` + itoa(worker.ReservedConcurrency) + `}`; string(sc) != want {
						t.Errorf("%s: ScalingConfig = %s, want %s", id, sc, want)
					}
				}
			}
			for typ, want := range map[string]int{"AWS::Lambda::Alias": 1, "AWS::Lambda::Version": 1, "AWS::SQS::Queue": 2,
				"AWS::SQS::QueuePolicy": 2, "AWS::Lambda::EventSourceMapping": 1} {
				if got := len(fns.ofType(typ)); got != want {
					t.Errorf("%s: %d, want %d", typ, got, want)
				}
			}
		})
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

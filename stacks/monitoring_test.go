package stacks_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/lambdards/lambdards/constructs/budget"
	"github.com/lambdards/lambdards/stacks"
)

// TestAlarmThresholds checks, for every preset with each engine and the alarms on, that
// each alarm's threshold is the figure package budget computes from the app's budget, and
// that the dashboard draws the budget's figures and the thresholds.
func TestAlarmThresholds(t *testing.T) {
	for _, engine := range []string{"postgres", "mysql"} {
		for _, preset := range stacks.PresetNames {
			name := "alarms-" + preset + "-" + engine
			if preset == "prod" {
				name = "env-prod-" + engine // on by default
			}
			t.Run(name, func(t *testing.T) {
				a := assemblyOf(t, name)
				res, err := a.app.Pool.Budget()
				if err != nil {
					t.Fatal(err)
				}
				var borrow float64
				if a.cfg.Connection == "proxy" {
					borrow = float64(a.cfg.BorrowTimeoutSeconds)
				}
				reader, err := a.app.Pool.ReaderBudget()
				if err != nil {
					t.Fatal(err)
				}
				want := res.Thresholds(borrow).WithReader(res, reader)
				tmpl := a.templates(t)["Monitoring"]
				alarms := map[string]map[string]any{}
				for _, r := range tmpl.ofType("AWS::CloudWatch::Alarm") {
					path := r.Metadata["aws:cdk:path"].(string)
					alarms[strings.Split(strings.TrimPrefix(path, "LambdaRdsMonitoring/Budget/Alarms/"), "/")[0]] = r.Properties
				}
				thresholds := map[string]float64{
					"DatabaseConnections": float64(want.DatabaseConnections),
					"FunctionsNearCap1":   budget.NearPercent,
					"FunctionsThrottled1": 0,
				}
				if a.cfg.Connection == "proxy" {
					thresholds["ProxyClientConnections"] = float64(want.ProxyClientConnections)
					thresholds["BorrowLatency"] = want.BorrowLatencyMicroseconds
					thresholds["SessionPinning"] = float64(want.PinnedConnections)
					thresholds["NewConnections"] = want.NewConnectionsPerSecond
				}
				if a.cfg.Database == "serverless" {
					thresholds["CapacityAtMaximum"] = a.cfg.MaxAcu
				}
				if len(alarms) != len(thresholds) {
					t.Errorf("%d alarms, want %d: %v", len(alarms), len(thresholds), keys(alarms))
				}
				for id, w := range thresholds {
					if got := alarms[id]["Threshold"]; got != w {
						t.Errorf("%s: threshold %v, want %v", id, got, w)
					}
				}
				// The functions' alarm divides each one's concurrency by its reserved concurrency.
				near := fmt.Sprint(alarms["FunctionsNearCap1"]["Metrics"])
				if w := fmt.Sprintf("100 * m0 / %d", want.Functions[0].ReservedConcurrency); !strings.Contains(near, w) {
					t.Errorf("FunctionsNearCap1 metrics %s, want the expression %s", near, w)
				}
				notes := annotations(t, tmpl)
				for label, v := range map[string]int{
					fmt.Sprintf("max_connections %d", res.MaxConnections):                         res.MaxConnections,
					fmt.Sprintf("usable %d", res.Usable):                                          res.Usable,
					fmt.Sprintf("alarm: more than %d", want.DatabaseConnections):                  want.DatabaseConnections,
					fmt.Sprintf("reserved concurrency %d", want.Functions[0].ReservedConcurrency): want.Functions[0].ReservedConcurrency,
				} {
					if got, ok := notes[label]; !ok || got != float64(v) {
						t.Errorf("dashboard annotation %q = %v (present: %v), want %d", label, got, ok, v)
					}
				}
				if a.cfg.Connection == "proxy" {
					label := fmt.Sprintf("RDS Proxy's share %d (%d %%)", res.ProxyConnections, res.ProxyMaxConnectionsPercent)
					if notes[label] != float64(res.ProxyConnections) {
						t.Errorf("dashboard annotation %q = %v, want %d", label, notes[label], res.ProxyConnections)
					}
				}
			})
		}
	}
}

func keys(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// annotations returns the horizontal annotations of the template's dashboard, by label.
func annotations(t *testing.T, tmpl template) map[string]float64 {
	t.Helper()
	dashboards := tmpl.ofType("AWS::CloudWatch::Dashboard")
	if len(dashboards) != 1 {
		t.Fatalf("%d dashboards, want 1", len(dashboards))
	}
	// The body is an Fn::Join of JSON and the metrics' identifiers (tokens).
	var body strings.Builder
	for _, p := range dashboards[0].Properties["DashboardBody"].(map[string]any)["Fn::Join"].([]any)[1].([]any) {
		if s, ok := p.(string); ok {
			body.WriteString(s)
		} else {
			body.WriteString("token")
		}
	}
	var d struct {
		Widgets []struct {
			Properties struct {
				Annotations struct {
					Horizontal []struct {
						Label string
						Value float64
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(body.String()), &d); err != nil {
		t.Fatalf("dashboard body: %v", err)
	}
	out := map[string]float64{}
	for _, w := range d.Widgets {
		for _, a := range w.Properties.Annotations.Horizontal {
			out[a.Label] = a.Value
		}
	}
	return out
}

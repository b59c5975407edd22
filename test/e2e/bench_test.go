package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lambdards/lambdards/internal/cdktest"
	"github.com/lambdards/lambdards/internal/gobuild"
)

// Requests per environment in the benchmark. Over the cap, a refused invocation takes
// seconds of retries, so those environments get fewer.
const (
	benchCapRequestsPerEnv     = 60
	benchOverCapRequestsPerEnv = 10
)

// scenario is one benchmark run.
type scenario struct {
	name string
	// pooler puts pgbouncer in front; without it the functions connect directly.
	pooler bool
	// envs is the number of environments.
	envs   func(a *assembly) int
	perEnv int
	// native runs the function compiled for this machine instead of the bundled
	// arm64 binary, to show what qemu adds.
	native bool
}

// result is one scenario's figures.
type result struct {
	name        string
	envs        int
	st          stats
	peak        int
	neverServed int
}

// BenchmarkE2E measures the local end-to-end run at the cap (environments = reserved
// concurrency, through pgbouncer) and over it (one environment per max_connections slot,
// directly to PostgreSQL), and, for comparison, at the cap with the function compiled
// for this machine so that it runs without qemu. It prints requests per second, p50 and
// p99 latency of successful invocations, cold (first invocation of an environment) and
// warm latency, and the peak of the function's database connections. Run it with
// `make bench-e2e`; each scenario runs once per b.N, with fresh servers and environments.
func BenchmarkE2E(b *testing.B) {
	a := synthesize(b)
	scenarios := []scenario{
		{name: "cap", pooler: true, envs: func(a *assembly) int { return a.ReservedConcurrency }, perEnv: benchCapRequestsPerEnv},
		{name: "overcap", envs: func(a *assembly) int { return a.MaxConnections }, perEnv: benchOverCapRequestsPerEnv},
	}
	if runtime.GOARCH != "arm64" {
		scenarios = append(scenarios, scenario{name: "cap-native-" + runtime.GOARCH, pooler: true,
			envs: func(a *assembly) int { return a.ReservedConcurrency }, perEnv: benchCapRequestsPerEnv, native: true})
	}
	var results []result
	for _, sc := range scenarios {
		b.Run(sc.name, func(b *testing.B) {
			// Only the load is timed: not the build, the servers or the start-up.
			b.StopTimer()
			bootstrap := a.Bootstrap
			if sc.native {
				bootstrap = nativeBootstrap(b)
			}
			for range b.N {
				r := runScenario(b, a, sc, bootstrap)
				results = append(results, r)
				all, ok := r.st.PerSecond()
				b.ReportMetric(all, "req/s")
				b.ReportMetric(ok, "ok-req/s")
				b.ReportMetric(ms(r.st.P50), "p50-ms")
				b.ReportMetric(ms(r.st.P99), "p99-ms")
				b.ReportMetric(ms(r.st.ColdP50), "cold-p50-ms")
				b.ReportMetric(ms(r.st.WarmP50), "warm-p50-ms")
				b.ReportMetric(float64(r.peak), "peak-conns")
				b.ReportMetric(float64(r.st.ErrorTypes["RetryableError"]), "retryable-errors")
			}
		})
	}
	fmt.Printf("\n%s", table(a, results))
}

func runScenario(b *testing.B, a *assembly, sc scenario, bootstrap string) result {
	db := startDatabase(b, a, sc.pooler)
	n := sc.envs(a)
	envs := startEnvironmentsOf(b, a, bootstrap, n, db.FunctionEnv(a))
	s := startSampler(b, db)
	l := &load{Envs: envs, PerEnv: sc.perEnv, Event: mixedEvents(sc.name), Timeout: a.requestTimeout()}
	ctx, cancel := context.WithTimeout(context.Background(), 2*runTimeout)
	defer cancel()
	b.StartTimer()
	outs := l.Run(ctx)
	b.StopTimer()
	peak, _ := s.Stop(b)
	r := result{name: sc.name, envs: n, st: summarize(outs), peak: peak}
	served := map[int]bool{}
	for _, o := range outs {
		if o.OK() {
			served[o.Env] = true
		}
	}
	r.neverServed = n - len(served)
	for typ, count := range r.st.ErrorTypes {
		if typ != "RetryableError" {
			b.Errorf("%s: %d invocations failed with errorType %q: %s", sc.name, count, typ, failures(outs, 3))
		}
	}
	return r
}

// buildNative compiles the function as synth does (package gobuild's arguments) but for
// this machine's architecture, into dir.
func buildNative(dir string) (string, error) {
	out := filepath.Join(dir, runtime.GOARCH, gobuild.Binary)
	cmd := exec.Command("go", gobuild.Args(out)...)
	cmd.Dir = filepath.Join(cdktest.Root(), "functions", "items")
	cmd.Env = append(append(os.Environ(), gobuild.Env...), "GOARCH="+runtime.GOARCH)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build for %s: %v\n%s", runtime.GOARCH, err, msg)
	}
	return out, nil
}

func table(a *assembly, rs []result) string {
	var w bytes.Buffer
	fmt.Fprintf(&w, "budget: max_connections %d, engine-reserved %d, headroom %d, proxy %d%% = %d connections, reserved concurrency %d\n",
		a.MaxConnections, a.Budget.ReservedConnections, a.Budget.Headroom, a.ProxyMaxConnectionsPercent, a.ProxyConnections(), a.ReservedConcurrency)
	fmt.Fprintf(&w, "%-16s %4s %9s %7s %7s %7s %9s %9s %9s %9s %10s %8s\n",
		"scenario", "envs", "requests", "ok", "req/s", "ok/s", "p50", "p99", "cold p50", "cold max", "warm p50", "peak db")
	for _, r := range rs {
		all, ok := r.st.PerSecond()
		fmt.Fprintf(&w, "%-16s %4d %9d %7d %7.1f %7.1f %9s %9s %9s %9s %10s %8d\n",
			r.name, r.envs, r.st.Requests, r.st.OK, all, ok,
			dur(r.st.P50), dur(r.st.P99), dur(r.st.ColdP50), dur(r.st.ColdMax), dur(r.st.WarmP50), r.peak)
		if len(r.st.ErrorTypes) > 0 {
			var errs []string
			for typ, n := range r.st.ErrorTypes {
				errs = append(errs, fmt.Sprintf("%d %s", n, typ))
			}
			fmt.Fprintf(&w, "%-16s failed: %s; %d environments never served\n", "", strings.Join(errs, ", "), r.neverServed)
		}
	}
	return w.String()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// dur prints a latency to a precision that suits its size.
func dur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= 10*time.Millisecond:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Microsecond).String()
}

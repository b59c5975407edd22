package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdards/lambdards/internal/cdktest"
)

// Request counts: enough for every environment to be cold once and warm many times,
// few enough for a small, busy CI machine running the bootstrap under emulation.
//
// TestCap runs the bootstrap from the cloud assembly, the linux/arm64 binary a deploy
// uploads (under emulation on other machines). TestOverCap and TestPoolerRestart check
// how the handler behaves when the database refuses it or the pooler goes away, which
// does not depend on the architecture: they run the same source built for this machine
// with synth's build flags (nativeBootstrap), which costs a tenth of the CPU of 30
// emulated environments.
const (
	capRequestsPerEnv     = 12
	overCapRequestsPerEnv = 3
	// Puts each environment must have acknowledged before the pooler restarts, and
	// after it is back; the run ends once every environment has both.
	putsBeforeRestart = 3
	putsAfterRestart  = 3
	// restartRequestsPerEnv only bounds the restart run, which ends once every
	// environment has its puts (or at runTimeout). Natively a put takes milliseconds, so
	// the bound must outlast a slow restart: an environment that ran out of requests
	// before the pooler came back could never show its puts after it.
	restartRequestsPerEnv = 1_000_000
	// restartPause spaces each environment's puts in the restart run. Back to back, ten
	// native environments make hundreds of puts a second, spending the CPU the other
	// packages' tests need; a few a second still put several into every restart.
	restartPause = 100 * time.Millisecond
)

var (
	nativeOnce sync.Once
	native     string
	nativeErr  error
)

// nativeBootstrap builds the function once per test binary for this machine, as synth
// builds it for arm64 (package gobuild's arguments), into cdktest.BuildDir, so that go
// build links again only when the function changed.
func nativeBootstrap(t testing.TB) string {
	t.Helper()
	nativeOnce.Do(func() {
		dir, err := cdktest.BuildDir()
		if err != nil {
			nativeErr = err
			return
		}
		native, nativeErr = buildNative(filepath.Join(dir, "e2e-native"))
	})
	if nativeErr != nil {
		t.Fatal(nativeErr)
	}
	return native
}

// runTimeout bounds each scenario's load; a healthy run takes a fraction of it.
const runTimeout = 3 * time.Minute

// TestCap runs as many environments as the function's reserved concurrency, through
// pgbouncer sized as RDS Proxy: every request must succeed, and the database must never
// hold more of the function's connections than the proxy's share of the budget.
func TestCap(t *testing.T) {
	// In parallel with the other scenarios: nothing here is timed (make bench-e2e
	// measures latency alone), so sharing the CPU with them costs it nothing but time.
	t.Parallel()
	a := synthesize(t)
	db := startDatabase(t, a, true)
	n := a.ReservedConcurrency
	envs := startEnvironments(t, a, n, db.FunctionEnv(a))
	t.Logf("budget: max_connections %d, reserved %d, headroom %d, proxy %d%% = %d connections; %d environments",
		a.MaxConnections, a.Budget.ReservedConnections, a.Budget.Headroom, a.ProxyMaxConnectionsPercent, a.ProxyConnections(), n)

	l := &load{Envs: envs, PerEnv: capRequestsPerEnv, Event: mixedEvents("cap"), Timeout: a.requestTimeout()}
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	outs, s, peak, samples, held := sampled(t, ctx, db, l)
	st := summarize(outs)
	t.Logf("%d requests in %v, p50 %v, p99 %v, cold p50 %v; peak %d connections over %d samples, %d held at the end",
		st.Requests, st.Elapsed.Round(time.Millisecond), st.P50, st.P99, st.ColdP50, peak, samples, held)

	if want := n * capRequestsPerEnv; st.Requests != want || st.OK != want {
		t.Errorf("%d of %d requests succeeded (%d made), want all; failures: %s", st.OK, want, st.Requests, failures(outs, 5))
	}
	if budget := a.Budget.ProxyConnections; peak > budget {
		t.Errorf("peak connections of %s = %d, want at most the proxy's share of the budget, %d", db.User, peak, budget)
	}
	// Each environment keeps its connection and pgbouncer, in session mode, keeps a
	// server connection for it: the sampler must see all of them, or it counts the
	// wrong thing.
	if held != n {
		t.Errorf("connections of %s after the run = %d, want one per environment, %d", db.User, held, n)
	}
	// At the cap the connections alarm must not fire: the function's connections and the
	// harness's superuser sessions (as an administrator's would be) stay within its threshold.
	alarm := a.ConnectionsAlarm.Threshold
	t.Logf("connections alarm: DatabaseConnections > %v; PostgreSQL held at most %d client connections", alarm, s.Clients())
	if float64(s.Clients()) > alarm {
		t.Errorf("at the cap PostgreSQL held %d client connections, above the connections alarm's threshold %v: it would fire", s.Clients(), alarm)
	}
	checkPutsStored(t, db, outs)
}

// requestTimeout bounds one invocation: the function's own timeout, after which the
// emulator answers, plus slack for a busy machine.
func (a *assembly) requestTimeout() time.Duration {
	return time.Duration(a.TimeoutSeconds)*time.Second + 30*time.Second
}

// checkPutsStored checks that every acknowledged put is in the items table with the id
// and name the function returned.
func checkPutsStored(t *testing.T, db *database, outs []outcome) int {
	t.Helper()
	want := map[int64]string{}
	for _, o := range outs {
		if !o.OK() || !strings.Contains(o.Event, `"put"`) {
			continue
		}
		var it struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		}
		if err := json.Unmarshal([]byte(o.Body), &it); err != nil || it.ID == 0 {
			t.Errorf("put %s answered %q, want an item with an id", o.Event, o.Body)
			continue
		}
		want[it.ID] = it.Name
	}
	ids := make([]int64, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := db.AppConn(t).Query(ctx, `SELECT id, name FROM items WHERE id = ANY($1)`, ids)
	if err != nil {
		t.Fatalf("reading back acknowledged puts: %v", err)
	}
	got := map[int64]string{}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			t.Fatal(err)
		}
		got[id] = name
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var lost []string
	for id, name := range want {
		if got[id] != name {
			lost = append(lost, fmt.Sprintf("%d %q (table: %q)", id, name, got[id]))
		}
	}
	sort.Strings(lost)
	if len(lost) > 0 {
		t.Errorf("%d of %d acknowledged puts are not in the table as acknowledged: %s", len(lost), len(want), strings.Join(lost[:min(len(lost), 10)], ", "))
	}
	return len(want)
}

// failures describes up to max failed outcomes.
func failures(outs []outcome, max int) string {
	var b strings.Builder
	n := 0
	for _, o := range outs {
		if o.OK() {
			continue
		}
		n++
		if n <= max {
			fmt.Fprintf(&b, "\n  env %d #%d %s after %v: %s: %.300s", o.Env, o.Seq, o.Event, o.Latency.Round(time.Millisecond), o.ErrorType, o.Body)
		}
	}
	if n > max {
		fmt.Fprintf(&b, "\n  ... %d more", n-max)
	}
	return b.String()
}

// TestOverCap runs more environments than the database has connections for, straight to
// PostgreSQL, as an uncapped function without a proxy would: the database refuses the
// extra connections, and the function must answer those invocations with a
// RetryableError, within its timeout, instead of hanging or failing some other way.
func TestOverCap(t *testing.T) {
	t.Parallel()
	a := synthesize(t)
	db := startDatabase(t, a, false)
	// One environment per max_connections slot, as if nothing were reserved for the
	// engine or kept as headroom: the sizing the budget exists to prevent.
	n := a.MaxConnections
	slots := a.MaxConnections - a.Budget.ReservedConnections // what an ordinary user can open
	envs := startEnvironmentsOf(t, a, nativeBootstrap(t), n, db.FunctionEnv(a))

	// The harness's own superuser sessions (the sampler's, testdb's) take ordinary slots
	// while any are free, as an administrator's would: the headroom is for them.
	s := startSampler(t, db)
	own := ownSessions(t, db)
	l := &load{Envs: envs, PerEnv: overCapRequestsPerEnv, Event: mixedEvents("overcap"), Timeout: a.requestTimeout()}
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	outs := l.Run(ctx)
	peak, samples := s.Stop(t)
	st := summarize(outs)
	t.Logf("%d environments, %d connection slots (%d taken by the harness's sessions): %d of %d requests succeeded, errors %v; peak %d connections over %d samples",
		n, slots, own, st.OK, st.Requests, st.ErrorTypes, peak, samples)

	if want := n * overCapRequestsPerEnv; st.Requests != want {
		t.Errorf("%d requests made, want %d", st.Requests, want)
	}
	served := map[int]bool{}
	var slowest time.Duration
	for _, o := range outs {
		if o.OK() {
			served[o.Env] = true
			continue
		}
		if o.ErrorType != "RetryableError" || !strings.Contains(o.Body, "too many connections") {
			t.Errorf("env %d #%d %s: errorType %q: %.300s; want RetryableError for too many connections", o.Env, o.Seq, o.Event, o.ErrorType, o.Body)
		}
		slowest = max(slowest, o.Latency)
		if limit := time.Duration(a.TimeoutSeconds) * time.Second; o.Latency >= limit {
			t.Errorf("env %d #%d: RetryableError after %v, want it before the function's %v timeout", o.Env, o.Seq, o.Latency, limit)
		}
	}
	t.Logf("slowest refused invocation: %v; first refusal: %s", slowest.Round(time.Millisecond), failures(outs, 1))
	// Each environment keeps the connection it gets, so at most slots environments are
	// ever served and the rest are refused on every request.
	if refused := n - len(served); refused < n-slots {
		t.Errorf("%d environments were never served, want at least %d (%d environments, %d slots)", refused, n-slots, n, slots)
	}
	if st.ErrorTypes["RetryableError"] == 0 {
		t.Errorf("no invocation got a RetryableError; want the database to refuse %d environments", n-slots)
	}
	if peak > slots {
		t.Errorf("peak connections of %s = %d, above the %d PostgreSQL allows an ordinary user", db.User, peak, slots)
	}
	// Over the cap the connections alarm must fire: more clients than the budget allows for.
	alarm := a.ConnectionsAlarm.Threshold
	t.Logf("connections alarm: DatabaseConnections > %v; PostgreSQL held at most %d client connections", alarm, s.Clients())
	if float64(s.Clients()) <= alarm {
		t.Errorf("over the cap PostgreSQL held at most %d client connections, not above the connections alarm's threshold %v: it would not fire", s.Clients(), alarm)
	}
	checkPutsStored(t, db, outs)
}

// ownSessions counts the client sessions in PostgreSQL that are not the function's.
func ownSessions(t *testing.T, db *database) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var n int
	err := db.PG.DB(t).QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
		WHERE backend_type = 'client backend' AND usename <> $1`, db.User).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPoolerRestart restarts pgbouncer, the stand-in for RDS Proxy, while the
// environments keep writing: no put the function acknowledged may be missing afterwards
// (unacknowledged ones may be there or not), every failure must be a RetryableError,
// and every environment must be served again without being restarted.
func TestPoolerRestart(t *testing.T) {
	t.Parallel()
	a := synthesize(t)
	db := startDatabase(t, a, true)
	n := a.ReservedConcurrency
	envs := startEnvironmentsOf(t, a, nativeBootstrap(t), n, db.FunctionEnv(a))

	stop := make(chan struct{})
	var once sync.Once
	end := func() { once.Do(func() { close(stop) }) }
	defer end()
	l := &load{Envs: envs, PerEnv: restartRequestsPerEnv, Stop: stop, Timeout: a.requestTimeout(), Pause: restartPause,
		Event: func(env, seq int) string { return putEvent(fmt.Sprintf("restart-%02d-%04d", env, seq)) }}
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	var outs []outcome
	done := make(chan struct{})
	go func() { defer close(done); outs = l.Run(ctx) }()

	// waitFor polls the run until every environment has min puts acknowledged that
	// started after since.
	waitFor := func(since time.Time, min int, what string) {
		t.Helper()
		deadline := time.Now().Add(runTimeout / 2)
		for {
			acked := map[int]int{}
			for _, o := range l.Done() {
				if o.OK() && !o.Start.Before(since) {
					acked[o.Env]++
				}
			}
			ready := 0
			for i := range envs {
				if acked[i] >= min {
					ready++
				}
			}
			if ready == len(envs) {
				return
			}
			if time.Now().After(deadline) {
				end()
				<-done
				t.Fatalf("%s: %d of %d environments have %d acknowledged puts; failures: %s", what, ready, len(envs), min, failures(outs, 5))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor(time.Time{}, putsBeforeRestart, "before the restart")
	stopping := time.Now()
	db.Pooler.Restart(t)
	back := time.Now()
	waitFor(back, putsAfterRestart, "after the restart")
	end()
	<-done

	st := summarize(outs)
	var during int
	for _, o := range outs {
		if o.Start.Add(o.Latency).After(stopping) && o.Start.Before(back) {
			during++
		}
		if !o.OK() && o.ErrorType != "RetryableError" {
			t.Errorf("env %d #%d %s during the restart: errorType %q: %.300s; want success or RetryableError", o.Env, o.Seq, o.Event, o.ErrorType, o.Body)
		}
	}
	if during == 0 {
		t.Errorf("no put overlapped the restart (pgbouncer down from %v to %v); the run shows nothing about it",
			stopping.Format(time.StampMilli), back.Format(time.StampMilli))
	}
	stored := checkPutsStored(t, db, outs)
	t.Logf("pgbouncer down for %v; %d puts, %d overlapping the restart, %d acknowledged and all stored, errors %v",
		back.Sub(stopping).Round(time.Millisecond), st.Requests, during, stored, st.ErrorTypes)
}

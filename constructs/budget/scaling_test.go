package budget

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lambdards/lambdards/dbspec"
)

func TestProvisionedMonthlyUSD(t *testing.T) {
	tests := []struct {
		n, memoryMB int
		arch        string
		want        float64
	}{
		// 1 GB for 730 h = 2,628,000 GB-seconds.
		{1, 1024, ArchitectureArm64, 8.76},    // × 0.0000033334 = 8.7602
		{1, 1024, ArchitectureX86, 10.95},     // × 0.0000041667 = 10.9501
		{4, 256, ArchitectureArm64, 8.76},     // 4 × 0.25 GB = 1 GB
		{1, 0, "", 1.37},                      // Lambda's defaults: 128 MB, x86: 0.125 GB
		{0, 1024, ArchitectureArm64, 0},       // none
		{10, 10240, ArchitectureX86, 1095.01}, // 100 GB
	}
	for _, tt := range tests {
		if got := ProvisionedMonthlyUSD(tt.n, tt.memoryMB, tt.arch); got != tt.want {
			t.Errorf("ProvisionedMonthlyUSD(%d, %d, %q) = %v, want %v", tt.n, tt.memoryMB, tt.arch, got, tt.want)
		}
	}
}

func TestQueueMaximumConcurrency(t *testing.T) {
	for in, want := range map[int]int{1: 1, 2: 2, 541: 541, 1000: 1000, 1001: 1000, 5000: 1000} {
		if got := QueueMaximumConcurrency(in); got != want {
			t.Errorf("QueueMaximumConcurrency(%d) = %d, want %d", in, got, want)
		}
	}
}

// TestScaling checks what provisioned concurrency and a queue add to a function's
// allocation, and that neither changes the shares.
func TestScaling(t *testing.T) {
	plain := mustCompute(t, exampleConfig())
	c := exampleConfig()
	c.Functions[0].Scaling = Scaling{ProvisionedConcurrency: 10, MemoryMB: 512, Architecture: ArchitectureArm64}
	c.Functions[1].Scaling = Scaling{QueueConsumer: true}
	c.Functions[2].Scaling = Scaling{ProvisionedConcurrency: 2, QueueConsumer: true}
	r := mustCompute(t, c)
	for i, a := range r.Functions {
		if a.ReservedConcurrency != plain.Functions[i].ReservedConcurrency {
			t.Errorf("%s: reserved concurrency %d, want %d as without scaling", a.Name, a.ReservedConcurrency, plain.Functions[i].ReservedConcurrency)
		}
	}
	want := []ScalingAllocation{
		{ProvisionedConcurrency: 10, ProvisionedMonthlyUSD: 43.8}, // 10 × 0.5 GB × 730 h × 0.0000033334
		{QueueMaximumConcurrency: 90},
		{ProvisionedConcurrency: 2, ProvisionedMonthlyUSD: 2.74, QueueMaximumConcurrency: 2}, // 2 × 0.125 GB, x86
	}
	for i, a := range r.Functions {
		if a.ScalingAllocation != want[i] {
			t.Errorf("%s: %+v, want %+v", a.Name, a.ScalingAllocation, want[i])
		}
	}
	if r.TotalProvisionedConcurrency != 12 || r.ProvisionedMonthlyUSD != 46.54 {
		t.Errorf("totals %d, %v USD, want 12, 46.54", r.TotalProvisionedConcurrency, r.ProvisionedMonthlyUSD)
	}
}

func TestScalingProblems(t *testing.T) {
	tests := []struct {
		name string
		fns  []Function
		want []string // one problem each, with these parts
	}{
		{"provisioned above a weighted share",
			[]Function{{Name: "api", Scaling: Scaling{ProvisionedConcurrency: 60}}, {Name: "b"}},
			[]string{`function "api": ProvisionedConcurrency 60 exceeds its reserved concurrency 29 (connections)`,
				"lower ProvisionedConcurrency to at most 29", "raise its Weight, fix its ReservedConcurrency at 60 or more"}},
		{"provisioned above a fixed share",
			[]Function{{Name: "job", ReservedConcurrency: 3, Scaling: Scaling{ProvisionedConcurrency: 4}}},
			[]string{`ProvisionedConcurrency 4 exceeds its reserved concurrency 3 (fixed)`, "raise its fixed ReservedConcurrency to 4 or more"}},
		{"queue consumer with a share of one",
			[]Function{{Name: "worker", ReservedConcurrency: 1, Scaling: Scaling{QueueConsumer: true}}},
			[]string{`function "worker": an SQS queue feeds it`, "must be at least 2", "gives it 1 (fixed)",
				"raise its fixed ReservedConcurrency to 2 or more"}},
		{"queue consumer limited by connections",
			[]Function{{Name: "heavy", ConnectionsPerEnvironment: 20, Scaling: Scaling{QueueConsumer: true}}},
			[]string{"gives it 2"}}, // 59 / 20 = 2: fine, so the next one
		{"negative provisioned", []Function{{Name: "x", Scaling: Scaling{ProvisionedConcurrency: -1}}},
			[]string{`function "x": ProvisionedConcurrency -1 is negative`}},
		{"memory out of range", []Function{{Name: "x", Scaling: Scaling{MemoryMB: 64}}},
			[]string{"MemorySize 64 is out of range"}},
		{"architecture", []Function{{Name: "x", Scaling: Scaling{Architecture: "arm"}}},
			[]string{`architecture "arm" is not Lambda's`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{Engine: dbspec.Postgres, MaxConnections: 73, ReservedConnections: 5, Headroom: 8, Proxy: true, Functions: tt.fns}
			_, err := Compute(c)
			if tt.name == "queue consumer limited by connections" {
				if err != nil {
					t.Errorf("Compute = %v, want a share of 2 to feed the queue", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Compute = nil error, want one problem with %q", tt.want)
			}
			checkOne(t, "Compute", err.(*Error).Problems, tt.want)
		})
	}
}

// TestWriterAndReaderLimitsHold budgets a writer and its reader, two targets with
// connections of their own whose functions share the account's concurrency, over many
// random configurations: neither target's functions ever hold more connections than it
// has available, the proxy never takes more than usable on either, together they never
// reserve more than the account may, and where connections limit the shares and the
// functions are few, at least 90 % of each target's usable connections are handed out.
func TestWriterAndReaderLimitsHold(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	checked := 0
	for run := range 3000 {
		maxConns := 20 + rng.IntN(5000)
		engine := []dbspec.Engine{dbspec.Postgres, dbspec.MySQL}[rng.IntN(2)]
		proxy := rng.IntN(4) > 0
		target := func(name string, maxConns int) Config {
			c := Config{Database: name, Engine: engine, MaxConnections: maxConns, ReservedConnections: ReservedConnections(engine, true),
				Headroom: DefaultHeadroom(maxConns), Proxy: proxy}
			for i := range rng.IntN(5) {
				c.Functions = append(c.Functions, Function{Name: fmt.Sprintf("%s/f%d", name, i),
					ConnectionsPerEnvironment: 1 + rng.IntN(3), Weight: 1 + rng.IntN(5)})
			}
			return c
		}
		writer := target("writer", maxConns)
		// The reader shares the writer's parameter group, or (an imported cluster) has
		// its own max_connections.
		readerMax := maxConns
		if rng.IntN(3) == 0 {
			readerMax = 20 + rng.IntN(5000)
		}
		reader := target("reader", readerMax)
		a := Account{AccountConcurrency: 100 + rng.IntN(4000), Databases: []Config{writer, reader}}
		if rng.IntN(2) == 0 {
			a.AccountConcurrency = 1_000_000 // connections, not the account, decide
		}
		r, err := ComputeAccount(a)
		if r == nil {
			if err == nil || !strings.Contains(err.Error(), "no connection is left") && !strings.Contains(err.Error(), "under 1%") {
				t.Fatalf("run %d: ComputeAccount = nil, %v", run, err)
			}
			continue
		}
		reserved := 0
		for i, db := range r.Databases {
			c := a.Databases[i]
			if db.TotalConnections > db.Available || db.Available > db.Usable || db.ProxyConnections > db.Usable {
				t.Errorf("run %d: %s holds %d of %d available connections (proxy %d, usable %d)", run, db.Database,
					db.TotalConnections, db.Available, db.ProxyConnections, db.Usable)
			}
			reserved += db.TotalReservedConcurrency
			// Each function loses under one environment's connections and one
			// connection to rounding, and the proxy's percentage under 1 % of
			// max_connections: with few functions on enough connections, at least
			// 90 % of usable is handed out.
			loss := 0
			for _, f := range c.Functions {
				loss += f.ConnectionsPerEnvironment + 1
			}
			connLimited := err == nil && len(c.Functions) > 0
			for _, f := range db.Functions {
				connLimited = connLimited && f.LimitedBy == LimitedByConnections
			}
			if connLimited && loss*20 <= db.Usable && db.MaxConnections >= 200 {
				checked++
				if db.TotalConnections*10 < db.Usable*9 {
					t.Errorf("run %d: %s hands out %d of %d usable connections (available %d), want at least 90 %%",
						run, db.Database, db.TotalConnections, db.Usable, db.Available)
				}
			}
		}
		if reservable := r.AccountConcurrency - r.UnreservedMinimum; reserved > reservable {
			t.Errorf("run %d: writer and reader functions reserve %d, want at most %d", run, reserved, reservable)
		}
		if reserved != r.TotalReservedConcurrency {
			t.Errorf("run %d: total reserved %d, want the writer's and reader's %d", run, r.TotalReservedConcurrency, reserved)
		}
	}
	if checked < 500 {
		t.Errorf("only %d targets checked for the 90 %% share, want at least 500", checked)
	}
}

func TestJoinPrefixed(t *testing.T) {
	_, w := Compute(small(Function{Name: "big", ConnectionsPerEnvironment: 100}))
	_, r := Compute(small(Function{Name: "wide", ConnectionsPerEnvironment: 200}))
	got := Join(w.(*Error), nil, r.(*Error).Prefixed("reader: "))
	if len(got.Problems) != 2 || !strings.HasPrefix(got.Problems[1], `reader: function "wide"`) ||
		!strings.HasPrefix(got.Problems[0], `function "big"`) {
		t.Fatalf("Join = %q, want the writer's problem, then the reader's prefixed", got.Problems)
	}
	if named := got.Named(func(g string) string { return "<" + g + ">" }); !strings.Contains(named.Problems[1], "<ConnectionsPerEnvironment>") {
		t.Errorf("Named after Join = %q, want settings still renderable", named.Problems)
	}
	if Join(nil, nil) != nil {
		t.Error("Join(nil, nil) != nil")
	}
}

func TestThresholdsWithReader(t *testing.T) {
	w := mustCompute(t, withProxy(small(Function{Name: "api"})))
	r := mustCompute(t, withProxy(small(Function{Name: "reports"}, Function{Name: "search"})))
	got := w.Thresholds(10).WithReader(w, r)
	if want := w.Thresholds(10); got.DatabaseConnections != want.DatabaseConnections ||
		got.ProxyClientConnections != near(w.TotalConnections+r.TotalConnections) ||
		got.PinnedConnections != near(w.ProxyConnections+r.ProxyConnections) || len(got.Functions) != 3 ||
		got.Functions[2].Name != "search" {
		t.Errorf("WithReader = %+v, want the writer's database threshold, both targets' proxy figures and three functions", got)
	}
	if alone := w.Thresholds(10); len(alone.WithReader(w, nil).Functions) != 1 {
		t.Error("WithReader(w, nil) changed the thresholds")
	}
}

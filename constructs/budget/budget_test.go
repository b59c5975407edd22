package budget

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/lambdards/lambdards/dbspec"
)

func TestDefaultHeadroom(t *testing.T) {
	tests := []struct{ max, want int }{
		{0, 5},
		{1, 5},
		{50, 5}, // 10 % = 5
		{51, 6}, // 5.1 rounds up
		{90, 9}, // 9.0 exactly
		{100, 10},
		{112, 12}, // 11.2 rounds up
		{823, 83}, // 82.3 rounds up
		{5000, 500},
	}
	for _, tt := range tests {
		if got := DefaultHeadroom(tt.max); got != tt.want {
			t.Errorf("DefaultHeadroom(%d) = %d, want %d", tt.max, got, tt.want)
		}
	}
}

// TestComputeWorkedExample is the example of the package documentation.
func TestComputeWorkedExample(t *testing.T) {
	got := mustCompute(t, exampleConfig())
	// usable = 823 - 8 - 83 = 732
	// pct = floor(100*732/823) = floor(88.94) = 88; idle = 88/2 = 44
	// proxy connections = floor(823*88/100) = floor(724.24) = 724 = available
	// fixed: migrate 2 × 1 = 2; R = 724 - 2 = 722; A = 1000 - 100 - 2 = 898; W = 3 + 1 = 4
	// api:    floor(floor(722*3/4)/1) = 541,  floor(898*3/4) = 673 -> 541 by connections
	// worker: floor(floor(722*1/4)/2) = 180/2 = 90, floor(898/4) = 224 -> 90 by connections
	// totals: concurrency 541 + 90 + 2 = 633, connections 541 + 180 + 2 = 723, spare 1
	want := &Result{
		Database:                       "aurora-postgresql serverless v2 (0.5-4 ACU)",
		Engine:                         dbspec.Postgres,
		MaxConnections:                 823,
		ReservedConnections:            8,
		Headroom:                       83,
		Usable:                         732,
		Proxy:                          true,
		ProxyMaxConnectionsPercent:     88,
		ProxyMaxIdleConnectionsPercent: 44,
		ProxyConnections:               724,
		Available:                      724,
		Functions: []Allocation{
			{Name: "api", ConnectionsPerEnvironment: 1, Weight: 3, ReservedConcurrency: 541, Connections: 541, LimitedBy: LimitedByConnections},
			{Name: "worker", ConnectionsPerEnvironment: 2, Weight: 1, ReservedConcurrency: 90, Connections: 180, LimitedBy: LimitedByConnections},
			{Name: "migrate", ConnectionsPerEnvironment: 1, Fixed: true, ReservedConcurrency: 2, Connections: 2, LimitedBy: LimitedByFixed},
		},
		TotalReservedConcurrency: 633,
		TotalConnections:         723,
		Spare:                    1,
		AccountConcurrency:       1000,
		UnreservedMinimum:        100,
		UnreservedConcurrency:    367,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Compute(example) = %+v, want %+v", got, want)
	}
}

// exampleConfig is the configuration of the package documentation's example.
func exampleConfig() Config {
	maxConns, _ := ServerlessMaxConnections(dbspec.Postgres, 0.5, 4) // 823
	return Config{
		Database:             "aurora-postgresql serverless v2 (0.5-4 ACU)",
		Engine:               dbspec.Postgres,
		MaxConnections:       maxConns,
		ReservedConnections:  ReservedConnections(dbspec.Postgres, true), // 8
		Headroom:             DefaultHeadroom(maxConns),                  // 83
		Proxy:                true,
		BorrowTimeoutSeconds: 10,
		Functions: []Function{
			{Name: "api", Weight: 3, TimeoutSeconds: 30},
			{Name: "worker", ConnectionsPerEnvironment: 2, TimeoutSeconds: 300},
			{Name: "migrate", ReservedConcurrency: 2, TimeoutSeconds: 900},
		},
	}
}

// small is a direct PostgreSQL database with max 100, reserved 5 and headroom
// 10: 85 usable connections.
func small(fns ...Function) Config {
	return Config{Database: "small", Engine: dbspec.Postgres, MaxConnections: 100, ReservedConnections: 5, Headroom: 10, Functions: fns}
}

func withProxy(c Config) Config {
	c.Proxy = true
	return c
}

// TestComputeRules has one worked example per arithmetic rule. Each want
// lists only the fields the rule decides; the others must match the
// defaults filled in by base.
func TestComputeRules(t *testing.T) {
	tests := []struct {
		name string
		in   Config
		want func(r *Result) // edits the expected result from base(in)
	}{
		{
			// usable = 100 - 5 - 10 = 85 = available; api gets all 85.
			name: "direct connections: available is usable",
			in:   small(Function{Name: "api"}),
			want: func(r *Result) {
				r.Available = 85
				r.Functions = []Allocation{weighted("api", 1, 1, 85, LimitedByConnections)}
				r.TotalReservedConcurrency, r.TotalConnections, r.Spare, r.UnreservedConcurrency = 85, 85, 0, 915
			},
		},
		{
			// pct = floor(100*85/100) = 85; proxy = floor(100*85/100) = 85; idle = floor(85/2) = 42.
			name: "proxy: percent of usable, default idle is half",
			in:   withProxy(small(Function{Name: "api"})),
			want: func(r *Result) {
				r.ProxyMaxConnectionsPercent, r.ProxyMaxIdleConnectionsPercent, r.ProxyConnections, r.Available = 85, 42, 85, 85
				r.Functions = []Allocation{weighted("api", 1, 1, 85, LimitedByConnections)}
				r.TotalReservedConcurrency, r.TotalConnections, r.Spare, r.UnreservedConcurrency = 85, 85, 0, 915
			},
		},
		{
			// The Data API: budgeted as direct connections, each statement in flight one.
			name: "data API: available is usable, as direct",
			in: func() Config {
				c := small(Function{Name: "api", ConnectionsPerEnvironment: 2})
				c.DataAPI = true
				return c
			}(),
			want: func(r *Result) {
				r.DataAPI, r.Available = true, 85
				r.Functions = []Allocation{weighted("api", 2, 1, 42, LimitedByConnections)}
				r.TotalReservedConcurrency, r.TotalConnections, r.Spare, r.UnreservedConcurrency = 42, 84, 1, 958
			},
		},
		{
			// usable = 90 - 5 - 9 = 76; pct = floor(7600/90) = floor(84.4) = 84;
			// proxy = floor(90*84/100) = floor(75.6) = 75: rounding costs 1.
			name: "proxy: both floors round down",
			in: Config{Engine: dbspec.Postgres, MaxConnections: 90, ReservedConnections: 5, Headroom: 9, Proxy: true,
				Functions: []Function{{Name: "api"}}},
			want: func(r *Result) {
				r.ProxyMaxConnectionsPercent, r.ProxyMaxIdleConnectionsPercent, r.ProxyConnections, r.Available = 84, 42, 75, 75
				r.Functions = []Allocation{weighted("api", 1, 1, 75, LimitedByConnections)}
				r.TotalReservedConcurrency, r.TotalConnections, r.Spare, r.UnreservedConcurrency = 75, 75, 0, 925
			},
		},
		{
			// No reserved, no headroom: pct = 100, proxy = 50, idle = 100/2 = 50.
			name: "proxy: 100 percent when nothing is held back",
			in:   Config{Engine: dbspec.MySQL, MaxConnections: 50, Proxy: true},
			want: func(r *Result) {
				r.ProxyMaxConnectionsPercent, r.ProxyMaxIdleConnectionsPercent, r.ProxyConnections, r.Available = 100, 50, 50, 50
				r.Spare, r.UnreservedConcurrency = 50, 1000
			},
		},
		{
			name: "proxy: user idle percent",
			in: func() Config {
				c := withProxy(small())
				c.MaxIdleConnectionsPercent = ptr(20)
				return c
			}(),
			want: func(r *Result) {
				r.ProxyMaxConnectionsPercent, r.ProxyMaxIdleConnectionsPercent, r.ProxyConnections, r.Available = 85, 20, 85, 85
				r.Spare, r.UnreservedConcurrency = 85, 1000
			},
		},
		{
			// 0 keeps no idle connection: it is not the default.
			name: "proxy: user idle percent 0",
			in: func() Config {
				c := withProxy(small())
				c.MaxIdleConnectionsPercent = ptr(0)
				return c
			}(),
			want: func(r *Result) {
				r.ProxyMaxConnectionsPercent, r.ProxyMaxIdleConnectionsPercent, r.ProxyConnections, r.Available = 85, 0, 85, 85
				r.Spare, r.UnreservedConcurrency = 85, 1000
			},
		},
		{
			name: "no functions: empty allocation, all spare",
			in:   small(),
			want: func(r *Result) {
				r.Spare, r.UnreservedConcurrency = 85, 1000
			},
		},
		{
			// jobs: 10 × 3 = 30 connections; R = 85 - 30 = 55 -> api 55.
			// A = 1000 - 100 - 10 = 890.
			name: "fixed functions take theirs first",
			in:   small(Function{Name: "jobs", ReservedConcurrency: 10, ConnectionsPerEnvironment: 3}, Function{Name: "api"}),
			want: func(r *Result) {
				r.Functions = []Allocation{
					fixed("jobs", 3, 10),
					weighted("api", 1, 1, 55, LimitedByConnections),
				}
				r.TotalReservedConcurrency, r.TotalConnections, r.Spare, r.UnreservedConcurrency = 65, 85, 0, 935
			},
		},
		{
			// A weight next to a fixed reserved concurrency is ignored.
			name: "fixed ignores weight",
			in:   small(Function{Name: "jobs", ReservedConcurrency: 5, Weight: 100}, Function{Name: "api"}),
			want: func(r *Result) {
				r.Functions = []Allocation{fixed("jobs", 1, 5), weighted("api", 1, 1, 80, LimitedByConnections)}
				r.TotalReservedConcurrency, r.TotalConnections, r.Spare, r.UnreservedConcurrency = 85, 85, 0, 915
			},
		},
		{
			// W = 3. a: floor(floor(85*2/3)/1) = 56; b: floor(floor(85/3)/2) = floor(28/2) = 14,
			// 28 connections. Total 84, spare 1.
			name: "weights share with floors",
			in:   small(Function{Name: "a", Weight: 2}, Function{Name: "b", ConnectionsPerEnvironment: 2}),
			want: func(r *Result) {
				r.Functions = []Allocation{
					weighted("a", 1, 2, 56, LimitedByConnections),
					weighted("b", 2, 1, 14, LimitedByConnections),
				}
				r.TotalReservedConcurrency, r.TotalConnections, r.Spare, r.UnreservedConcurrency = 70, 84, 1, 930
			},
		},
		{
			// A = 150 - 100 = 50. Each: by connections floor(85/2) = 42, by account
			// floor(50/2) = 25 -> 25, limited by account concurrency.
			name: "account concurrency binds",
			in: func() Config {
				c := small(Function{Name: "a"}, Function{Name: "b"})
				c.AccountConcurrency = 150
				return c
			}(),
			want: func(r *Result) {
				r.AccountConcurrency = 150
				r.Functions = []Allocation{
					weighted("a", 1, 1, 25, LimitedByAccountConcurrency),
					weighted("b", 1, 1, 25, LimitedByAccountConcurrency),
				}
				r.TotalReservedConcurrency, r.TotalConnections, r.Spare, r.UnreservedConcurrency = 50, 50, 35, 100
			},
		},
		{
			// A = 185 - 100 = 85 = R: a tie names the connections.
			name: "tie is limited by connections",
			in: func() Config {
				c := small(Function{Name: "api"})
				c.AccountConcurrency = 185
				return c
			}(),
			want: func(r *Result) {
				r.AccountConcurrency = 185
				r.Functions = []Allocation{weighted("api", 1, 1, 85, LimitedByConnections)}
				r.TotalReservedConcurrency, r.TotalConnections, r.Spare, r.UnreservedConcurrency = 85, 85, 0, 100
			},
		},
		{
			// A = 2000 - 1900 = 100; by connections 85: explicit account values are used.
			name: "explicit account concurrency and unreserved minimum",
			in: func() Config {
				c := small(Function{Name: "api"})
				c.AccountConcurrency, c.UnreservedMinimum = 2000, 1950
				return c
			}(),
			want: func(r *Result) {
				r.AccountConcurrency, r.UnreservedMinimum = 2000, 1950
				r.Functions = []Allocation{weighted("api", 1, 1, 50, LimitedByAccountConcurrency)}
				r.TotalReservedConcurrency, r.TotalConnections, r.Spare, r.UnreservedConcurrency = 50, 50, 35, 1950
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustCompute(t, tt.in)
			want := base(tt.in)
			tt.want(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Compute(%+v)\n = %+v\nwant %+v", tt.in, got, want)
			}
		})
	}
}

// base is the result every rule test starts from: the input echoed, the
// defaults applied, and no function.
func base(c Config) *Result {
	usable := c.MaxConnections - c.ReservedConnections - c.Headroom
	return &Result{
		Database: c.Database, Engine: c.Engine, MaxConnections: c.MaxConnections,
		ReservedConnections: c.ReservedConnections, Headroom: c.Headroom, Usable: usable, Proxy: c.Proxy,
		Available: usable, Functions: []Allocation{},
		AccountConcurrency: DefaultAccountConcurrency, UnreservedMinimum: DefaultUnreservedMinimum,
	}
}

func weighted(name string, conns, weight, concurrency int, limitedBy string) Allocation {
	return Allocation{Name: name, ConnectionsPerEnvironment: conns, Weight: weight,
		ReservedConcurrency: concurrency, Connections: concurrency * conns, LimitedBy: limitedBy}
}

func fixed(name string, conns, concurrency int) Allocation {
	return Allocation{Name: name, ConnectionsPerEnvironment: conns, Fixed: true,
		ReservedConcurrency: concurrency, Connections: concurrency * conns, LimitedBy: LimitedByFixed}
}

// TestComputeChecks trips each budget check with a configuration that is
// otherwise valid. Compute returns the result too, and every problem names
// the function (if any), the numbers and the fix.
func TestComputeChecks(t *testing.T) {
	tests := []struct {
		name string
		in   Config
		want [][]string // one entry per expected problem, in order
		dont []string   // no problem may contain these
	}{
		{
			// jobs: 30 × 3 = 90 > 85 available; api is left R = 0, so it gets 0
			// too, and a larger weight would not help it.
			name: "fixed connections exceed available",
			in:   small(Function{Name: "jobs", ReservedConcurrency: 30, ConnectionsPerEnvironment: 3}, Function{Name: "api"}),
			want: [][]string{
				{"fixed functions need 90 connections", `"jobs" 30 × 3 = 90`, "only 85 are available",
					"max_connections 100 - reserved 5 - headroom 10 = 85", "lower a ReservedConcurrency",
					"choose a larger InstanceClass or raise MaxCapacity"},
				{`function "api" gets reserved concurrency 0`, "0 of the 0 connections left", "85 available - 90 fixed"},
			},
			dont: []string{"raise its Weight"},
		},
		{
			// big needs 100 connections per environment; 85 are available.
			name: "weighted function gets zero by connections",
			in:   small(Function{Name: "big", ConnectionsPerEnvironment: 100}),
			want: [][]string{
				{`function "big" gets reserved concurrency 0`, "weight 1 of 1", "85 of the 85 connections",
					"ConnectionsPerEnvironment 100", "raise MaxCapacity", "lower Headroom", "raise its Weight"},
			},
		},
		{
			// tiny has weight 1 of 100 and 2 connections per environment:
			// floor(85*1/100) = 0 < 2.
			name: "weighted function gets zero by weight",
			in:   withProxy(small(Function{Name: "main", Weight: 99}, Function{Name: "tiny", ConnectionsPerEnvironment: 2})),
			want: [][]string{
				{`function "tiny" gets reserved concurrency 0`, "weight 1 of 100", "gives it 0 of the 85 connections",
					"ConnectionsPerEnvironment 2"},
			},
		},
		{
			// A = 101 - 100 = 1; each of two gets floor(1/2) = 0 by account.
			name: "weighted functions get zero by account concurrency",
			in: func() Config {
				c := small(Function{Name: "a"}, Function{Name: "b"})
				c.AccountConcurrency = 101
				return c
			}(),
			want: [][]string{
				{`function "a" gets reserved concurrency 0`, "weight 1 of 2", "0 of the 1 concurrency",
					"AccountConcurrency 101 - 100 unreserved - 0 fixed", "raise AccountConcurrency"},
				{`function "b" gets reserved concurrency 0`, "AccountConcurrency 101"},
			},
		},
		{
			// 500 + 500 = 1000 > 1000 - 100 = 900, though each alone fits.
			name: "total reserved concurrency exceeds the account",
			in: Config{Engine: dbspec.MySQL, MaxConnections: 5000, Functions: []Function{
				{Name: "a", ReservedConcurrency: 500}, {Name: "b", ReservedConcurrency: 500}}},
			want: [][]string{
				{"total reserved concurrency 1000 exceeds the 900", "AccountConcurrency 1000 - 100",
					`(fixed: "a" 500, "b" 500)`, "lower a ReservedConcurrency or raise AccountConcurrency"},
			},
		},
		{
			// pct = 85; idle 90 > 85.
			name: "proxy idle percent exceeds max percent",
			in: func() Config {
				c := withProxy(small(Function{Name: "api"}))
				c.MaxIdleConnectionsPercent = ptr(90)
				return c
			}(),
			want: [][]string{
				{"proxy max idle connections percent 90 exceeds max connections percent 85", "at most 85", "default 42"},
			},
		},
		{
			// Timeouts 30 and 120 are not longer than the 120 s borrow timeout;
			// 300 is, and 0 is not checked.
			name: "function timeout not longer than borrow timeout",
			in: func() Config {
				c := withProxy(small(
					Function{Name: "api", TimeoutSeconds: 30},
					Function{Name: "same", TimeoutSeconds: 120},
					Function{Name: "long", TimeoutSeconds: 300},
					Function{Name: "unset"},
				))
				c.BorrowTimeoutSeconds = 120
				return c
			}(),
			want: [][]string{
				{`function "api": timeout 30s is not longer than the proxy borrow timeout 120s`,
					"kill the function", "set BorrowTimeoutSeconds below 30s or raise the function's TimeoutSeconds above 120s"},
				{`function "same": timeout 120s is not longer than the proxy borrow timeout 120s`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Compute(tt.in)
			if r == nil {
				t.Errorf("Compute(%+v) result = nil, want the result next to the problems", tt.in)
			}
			assertProblems(t, err, tt.want)
			for _, p := range problemsOf(t, err) {
				for _, d := range tt.dont {
					if strings.Contains(p, d) {
						t.Errorf("Compute problem %q contains %q, want it not to", p, d)
					}
				}
			}
		})
	}
}

// TestComputeInvalid covers input validation and budgets with no usable
// connection: Compute returns no result, only the problems.
func TestComputeInvalid(t *testing.T) {
	edit := func(f func(*Config)) Config {
		c := small(Function{Name: "api"})
		f(&c)
		return c
	}
	fn := func(f Function) Config { return small(f) }
	tests := []struct {
		name string
		in   Config
		want [][]string
	}{
		{"max connections zero", edit(func(c *Config) { c.MaxConnections = 0 }),
			[][]string{{"MaxConnections 0 is out of range", "at least 1"}}},
		{"max connections above PostgreSQL's limit", edit(func(c *Config) { c.MaxConnections = 300000 }),
			[][]string{{"MaxConnections 300000", "at most 262143"}}},
		{"max connections above MySQL's limit", edit(func(c *Config) { c.Engine, c.MaxConnections = dbspec.MySQL, 100001 }),
			[][]string{{"MaxConnections 100001", "at most 100000"}}},
		{"unknown engine", edit(func(c *Config) { c.Engine = "" }),
			[][]string{{`Engine ""`, `"postgres"`, `"mysql"`}}},
		{"negative reserved", edit(func(c *Config) { c.ReservedConnections = -1 }),
			[][]string{{"ReservedConnections -1 is negative"}}},
		{"proxy and data API", edit(func(c *Config) { c.Proxy, c.DataAPI = true, true }),
			[][]string{{"Proxy and DataAPI both set"}}},
		{"negative headroom", edit(func(c *Config) { c.Headroom = -1 }),
			[][]string{{"Headroom -1 is negative", "DefaultHeadroom gives 10"}}},
		{"idle percent above 100", edit(func(c *Config) { c.Proxy, c.MaxIdleConnectionsPercent = true, ptr(150) }),
			[][]string{{"MaxIdleConnectionsPercent 150 is out of range", "0 to 100"}}},
		{"idle percent negative", edit(func(c *Config) { c.Proxy, c.MaxIdleConnectionsPercent = true, ptr(-1) }),
			[][]string{{"MaxIdleConnectionsPercent -1 is out of range", "whole number from 0 to 100"}}},
		{"idle percent without proxy", edit(func(c *Config) { c.MaxIdleConnectionsPercent = ptr(20) }),
			[][]string{{"MaxIdleConnectionsPercent 20 is set but there is no proxy (Proxy false)"}}},
		{"negative borrow timeout", edit(func(c *Config) { c.Proxy, c.BorrowTimeoutSeconds = true, -1 }),
			[][]string{{"BorrowTimeoutSeconds -1 is out of range"}}},
		{"borrow timeout without proxy", edit(func(c *Config) { c.BorrowTimeoutSeconds = 30 }),
			[][]string{{"BorrowTimeoutSeconds 30 is set but there is no proxy (Proxy false)"}}},
		{"negative account concurrency", edit(func(c *Config) { c.AccountConcurrency = -1 }),
			[][]string{{"AccountConcurrency -1 is negative"}}},
		{"negative unreserved minimum", edit(func(c *Config) { c.UnreservedMinimum = -1 }),
			[][]string{{"UnreservedMinimum -1 is negative"}}},
		{"account below unreserved minimum", edit(func(c *Config) { c.AccountConcurrency = 50 }),
			[][]string{{"AccountConcurrency 50 is below UnreservedMinimum 100", "raise AccountConcurrency"}}},
		{"negative connections per environment", fn(Function{Name: "api", ConnectionsPerEnvironment: -1}),
			[][]string{{`function "api": ConnectionsPerEnvironment -1 is negative`}}},
		{"negative weight", fn(Function{Name: "api", Weight: -1}),
			[][]string{{`function "api": Weight -1 is out of range`}}},
		{"huge weight", fn(Function{Name: "api", Weight: 2_000_000}),
			[][]string{{`function "api": Weight 2000000 is out of range`, "1 to 1000000"}}},
		{"negative fixed concurrency", fn(Function{Name: "api", ReservedConcurrency: -1}),
			[][]string{{`function "api": ReservedConcurrency -1 is negative`}}},
		{"fixed concurrency above the account's reservable", fn(Function{Name: "api", ReservedConcurrency: 901}),
			[][]string{{`function "api": ReservedConcurrency 901 exceeds the 900 the account may reserve (AccountConcurrency 1000 minus the 100`}}},
		{"negative timeout", fn(Function{Name: "api", TimeoutSeconds: -1}),
			[][]string{{`function "api": TimeoutSeconds -1 is out of range`, "1 to 900"}}},
		{"timeout above Lambda's limit", fn(Function{Name: "api", TimeoutSeconds: 901}),
			[][]string{{`function "api": TimeoutSeconds 901 is out of range`}}},
		{"empty name", small(Function{}),
			[][]string{{"function #1 has an empty name"}}},
		{"duplicate names", small(Function{Name: "api"}, Function{Name: "x"}, Function{Name: "api"}),
			[][]string{{`function name "api" is used by functions #1 and #3`}}},
		{
			// 10 - 5 - 5 = 0.
			"no usable connection", edit(func(c *Config) { c.MaxConnections, c.Headroom = 10, 5 }),
			[][]string{{"no connection is left for functions", "max_connections 10 - reserved 5 - headroom 5 = 0 usable",
				"raise MaxCapacity", "lower Headroom to at most 4"}},
		},
		{
			// Reserved alone takes everything: lowering headroom cannot help.
			"reserved takes everything", edit(func(c *Config) { c.MaxConnections, c.ReservedConnections, c.Headroom = 5, 5, 0 }),
			[][]string{{"max_connections 5 - reserved 5 - headroom 0 = 0 usable", "raise max connections (choose a larger InstanceClass or raise MaxCapacity)"}},
		},
		{
			// 5 usable of 1000 is under 1 %: the proxy's smallest share would be
			// 10. Headroom at most 1000 - 0 - 10 = 990 gives 10 usable, 1 %.
			"usable under one percent with proxy",
			Config{Engine: dbspec.Postgres, MaxConnections: 1000, Headroom: 995, Proxy: true},
			[][]string{{"usable connections are under 1% of max_connections", "1000 - reserved 0 - headroom 995 = 5 usable",
				"cannot go below 1 (10 connections)", "lower Headroom to at most 990"}},
		},
		{
			// Everything at once.
			"all problems at once",
			Config{Engine: dbspec.Postgres, MaxConnections: 0, Headroom: -1,
				Functions: []Function{{Weight: -1}, {Name: "b", ConnectionsPerEnvironment: -2}}},
			[][]string{
				{"MaxConnections 0"}, {"Headroom -1"},
				{"function #1 has an empty name"}, {"function #1: Weight -1"},
				{`function "b": ConnectionsPerEnvironment -2`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Compute(tt.in)
			if r != nil {
				t.Errorf("Compute(%+v) result = %+v, want nil", tt.in, r)
			}
			assertProblems(t, err, tt.want)
		})
	}
}

// TestComputeLimitsHoldEverywhere checks the guarantees over many databases:
// the proxy never takes more than the usable connections (so never the
// reserved or headroom ones), the functions never more than is available,
// and the account's reservable concurrency is never exceeded.
func TestComputeLimitsHoldEverywhere(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	runs := 0
	for maxConns := 1; maxConns <= 3000; maxConns++ {
		for _, reserved := range []int{0, 5, 8} {
			for _, headroom := range []int{0, 1, DefaultHeadroom(maxConns), maxConns / 3, rng.IntN(maxConns)} {
				if maxConns-reserved-headroom < 1 {
					continue
				}
				c := Config{
					Engine: dbspec.Postgres, MaxConnections: maxConns, ReservedConnections: reserved, Headroom: headroom,
					Proxy: rng.IntN(4) > 0, AccountConcurrency: 100 + rng.IntN(2000),
				}
				for i := range rng.IntN(5) {
					f := Function{Name: string(rune('a' + i)), ConnectionsPerEnvironment: rng.IntN(4), Weight: rng.IntN(6)}
					if rng.IntN(4) == 0 {
						f.ReservedConcurrency = 1 + rng.IntN(20)
					}
					c.Functions = append(c.Functions, f)
				}
				r, err := Compute(c)
				if r == nil {
					// Only a proxy share under 1 % or fixed concurrency above the
					// account's may stop the arithmetic here.
					if err == nil {
						t.Fatalf("Compute(%+v) = nil, nil", c)
					}
					continue
				}
				runs++
				usable := maxConns - reserved - headroom
				if r.Usable != usable {
					t.Errorf("Compute(%+v).Usable = %d, want %d", c, r.Usable, usable)
				}
				if r.Available > usable || (c.Proxy && r.ProxyConnections > usable) {
					t.Errorf("Compute(%+v): proxy connections %d, available %d, want both <= usable %d",
						c, r.ProxyConnections, r.Available, usable)
				}
				if err != nil && strings.Contains(err.Error(), "fixed functions need") {
					continue // the fixed functions alone overrun: reported
				}
				if r.TotalConnections > r.Available || r.Spare < 0 {
					t.Errorf("Compute(%+v): total connections %d, spare %d, want total <= available %d",
						c, r.TotalConnections, r.Spare, r.Available)
				}
				if err != nil && strings.Contains(err.Error(), "total reserved concurrency") {
					continue
				}
				if limit := r.AccountConcurrency - r.UnreservedMinimum; r.TotalReservedConcurrency > limit {
					t.Errorf("Compute(%+v): total reserved concurrency %d, want <= %d", c, r.TotalReservedConcurrency, limit)
				}
			}
		}
	}
	if runs < 30000 {
		t.Errorf("only %d configurations computed, want at least 30000", runs)
	}
}

// TestComputeDoesNotChangeInput checks that Compute leaves the caller's
// functions alone.
func TestComputeDoesNotChangeInput(t *testing.T) {
	c := exampleConfig()
	before := append([]Function(nil), c.Functions...)
	mustCompute(t, c)
	if !reflect.DeepEqual(c.Functions, before) {
		t.Errorf("Compute changed its input functions to %+v, want %+v", c.Functions, before)
	}
}

func mustCompute(t *testing.T, c Config) *Result {
	t.Helper()
	r, err := Compute(c)
	if err != nil {
		t.Fatalf("Compute(%+v) error = %v, want nil", c, err)
	}
	return r
}

// assertProblems checks that err lists exactly len(want) problems, the i-th
// containing every string of want[i].
func assertProblems(t *testing.T, err error, want [][]string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Compute error = nil, want %d problems", len(want))
	}
	got := problemsOf(t, err)
	if len(got) != len(want) {
		t.Fatalf("Compute problems = %q, want %d problems", got, len(want))
	}
	for i := range want {
		wantIn(t, "Compute", got[i], want[i]...)
	}
}

func ptr[T any](v T) *T { return &v }

// TestComputeGivenProxyPercent: a proxy that exists keeps its MaxConnectionsPercent; the
// budget shares what it allows, or refuses it when it reaches into the headroom.
func TestComputeGivenProxyPercent(t *testing.T) {
	c := withProxy(small(Function{Name: "api"})) // 85 usable of 100
	c.ProxyMaxConnectionsPercent = 60
	r := mustCompute(t, c)
	if r.ProxyMaxConnectionsPercent != 60 || r.ProxyConnections != 60 || r.Functions[0].ReservedConcurrency != 60 {
		t.Errorf("Compute(percent 60) = percent %d, proxy connections %d, api %d; want 60, 60, 60",
			r.ProxyMaxConnectionsPercent, r.ProxyConnections, r.Functions[0].ReservedConcurrency)
	}
	c.ProxyMaxConnectionsPercent = 90
	_, err := Compute(c)
	assertProblems(t, err, [][]string{{"the proxy's MaxConnectionsPercent 90 lets it open 90 connections, more than the max_connections 100 - reserved 5 - headroom 10 = 85 usable",
		"lower the proxy's MaxConnectionsPercent to at most 85, or lower Headroom to at most 5"}})
	c.ProxyMaxConnectionsPercent, c.Proxy = 50, false
	_, err = Compute(c)
	assertProblems(t, err, [][]string{{"ProxyMaxConnectionsPercent 50 is set but there is no proxy"}})
}

package budget

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/lambdards/lambdards/dbspec"
)

// TestComputeAccountOneDatabaseIsCompute checks that one database alone in the
// account gets what Compute gives it.
func TestComputeAccountOneDatabaseIsCompute(t *testing.T) {
	c := exampleConfig()
	want := mustCompute(t, c)
	got, err := ComputeAccount(Account{Databases: []Config{c}})
	if err != nil {
		t.Fatalf("ComputeAccount(example) error = %v", err)
	}
	if !reflect.DeepEqual(got.Databases[0], want) {
		t.Errorf("ComputeAccount(example).Databases[0] = %+v, want %+v", got.Databases[0], want)
	}
	if got.TotalReservedConcurrency != 633 || got.UnreservedConcurrency != 367 {
		t.Errorf("ComputeAccount(example) total %d, unreserved %d, want 633, 367", got.TotalReservedConcurrency, got.UnreservedConcurrency)
	}
}

// TestComputeAccountSharesConcurrency is the case: two databases whose
// functions would each take most of the account on their own.
func TestComputeAccountSharesConcurrency(t *testing.T) {
	big := Config{Database: "big", Engine: dbspec.Postgres, MaxConnections: 5000, Headroom: 100,
		Functions: []Function{{Name: "a/api", Weight: 3}, {Name: "a/jobs"}}}
	other := Config{Database: "other", Engine: dbspec.MySQL, MaxConnections: 2000, Headroom: 100,
		Functions: []Function{{Name: "b/api"}, {Name: "b/cron", ReservedConcurrency: 50}}}
	alone := map[string]*Result{"big": mustCompute(t, big), "other": mustCompute(t, other)}
	if sum := alone["big"].TotalReservedConcurrency + alone["other"].TotalReservedConcurrency; sum <= 900 {
		t.Fatalf("each database alone reserves %d in all, want more than the 900 the account may reserve (the case under test)", sum)
	}
	got, err := ComputeAccount(Account{Databases: []Config{big, other}})
	if err != nil {
		t.Fatalf("ComputeAccount error = %v", err)
	}
	// Reservable 900 - 50 fixed = 850, shared by weights 3, 1 and 1 of 5:
	// 510, 170 and 170, each below its connection share.
	want := map[string]int{"a/api": 510, "a/jobs": 170, "b/api": 170, "b/cron": 50}
	for _, r := range got.Databases {
		for _, a := range r.Functions {
			if a.ReservedConcurrency != want[a.Name] {
				t.Errorf("%s reserved concurrency = %d, want %d", a.Name, a.ReservedConcurrency, want[a.Name])
			}
		}
		if r.UnreservedConcurrency != got.UnreservedConcurrency {
			t.Errorf("%s unreserved = %d, want the account's %d", r.Database, r.UnreservedConcurrency, got.UnreservedConcurrency)
		}
	}
	if got.TotalReservedConcurrency != 900 || got.UnreservedConcurrency != 100 {
		t.Errorf("total %d, unreserved %d, want 900, 100", got.TotalReservedConcurrency, got.UnreservedConcurrency)
	}
}

func TestComputeAccountProblems(t *testing.T) {
	db := func(name string, fns ...Function) Config {
		return Config{Database: name, Engine: dbspec.Postgres, MaxConnections: 1000, Headroom: 100, Functions: fns}
	}
	tests := []struct {
		name      string
		in        Account
		databases [][]string // per database: nil for no problem, or the substrings of its one problem
		account   []string   // nil for no account problem, or the substrings of the one
		result    bool       // a result comes with the problems
	}{
		{
			name: "fixed functions of two databases overrun the account",
			in: Account{Databases: []Config{db("one", Function{Name: "x", ReservedConcurrency: 500}),
				db("two", Function{Name: "y", ReservedConcurrency: 450}, Function{Name: "z"})}},
			databases: [][]string{nil, {`function "z" gets reserved concurrency 0`}},
			account: []string{`total reserved concurrency 950 exceeds the 900 the account may reserve (AccountConcurrency 1000 - 100 ` +
				`Lambda keeps unreserved): one reserves 500 (fixed: "x" 500); two reserves 450 (fixed: "y" 450); ` +
				`lower a ReservedConcurrency or raise AccountConcurrency`},
			result: true,
		},
		{
			name: "reservations made elsewhere count",
			in: Account{Databases: []Config{db("one", Function{Name: "x", ReservedConcurrency: 600})},
				Elsewhere: []Reservation{{Name: "Legacy/Fn", ReservedConcurrency: 400}}},
			account: []string{`total reserved concurrency 1000 exceeds the 900`, `one reserves 600 (fixed: "x" 600); ` +
				`"Legacy/Fn" reserves 400 outside the budget; lower a ReservedConcurrency (here or outside the budget)`},
			result: true,
		},
		{
			name: "reservations made elsewhere leave weighted functions nothing",
			in: Account{Databases: []Config{db("one", Function{Name: "x"})},
				Elsewhere: []Reservation{{Name: "Legacy/Fn", ReservedConcurrency: 900}}},
			databases: [][]string{{`function "x" gets reserved concurrency 0`, "0 of the 0 concurrency",
				"(AccountConcurrency 1000 - 100 unreserved - 0 fixed - 900 reserved outside the budget)"}},
			result: true,
		},
		{
			name: "databases disagree on the account",
			in: Account{AccountConcurrency: 2000, Databases: []Config{
				func() Config { c := db("one", Function{Name: "x"}); c.AccountConcurrency = 1500; return c }()}},
			account: []string{"one gives AccountConcurrency 1500, but the account's is 2000", "give every database the same AccountConcurrency"},
		},
		{
			name:    "negative reservation",
			in:      Account{Databases: []Config{db("one")}, Elsewhere: []Reservation{{Name: "n", ReservedConcurrency: -1}}},
			account: []string{`reservation "n" of -1 is negative`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ComputeAccount(tt.in)
			if (r != nil) != tt.result {
				t.Errorf("ComputeAccount result = %v, want a result: %v", r, tt.result)
			}
			var e *Error
			if err == nil || !errors.As(err, &e) {
				t.Fatalf("ComputeAccount error = %v, want an *Error", err)
			}
			for i := range tt.in.Databases {
				var want []string
				if i < len(tt.databases) {
					want = tt.databases[i]
				}
				checkOne(t, fmt.Sprintf("database %d", i), e.Databases[i], want)
			}
			checkOne(t, "account", e.Account, tt.account)
		})
	}
}

// TestZeroSummary checks that a budget failing for many functions reads as one
// problem naming the worst cases.
func TestZeroSummary(t *testing.T) {
	c := small()
	for i := range 40 {
		c.Functions = append(c.Functions, Function{Name: fmt.Sprintf("f%02d", i), ConnectionsPerEnvironment: 1 + i%3})
	}
	_, err := Compute(c)
	got := problemsOf(t, err)
	if len(got) != 1 {
		t.Fatalf("Compute(40 functions on 85 connections) problems = %d, want 1 summary:\n%s", len(got), strings.Join(got, "\n"))
	}
	// 85 connections over 40 weights: 2 each; those with 3 per environment get 0.
	wantIn(t, "Compute", got[0], "13 functions get reserved concurrency 0 and could never run", `"f02", "f05"`,
		"the worst cases:", `function "f02" gets reserved concurrency 0`, "fewer than its ConnectionsPerEnvironment 3")
	if n := strings.Count(got[0], "gets reserved concurrency 0"); n != maxZeroListed {
		t.Errorf("summary explains %d functions, want the %d worst", n, maxZeroListed)
	}
}

// TestComputeAccountLimitsHold checks over many random accounts that the
// account's reservable concurrency is never exceeded by weighted functions and
// every database stays within its connections.
func TestComputeAccountLimitsHold(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for run := range 3000 {
		a := Account{AccountConcurrency: 100 + rng.IntN(3000)}
		for d := range 1 + rng.IntN(4) {
			c := Config{Database: fmt.Sprint("db", d), Engine: dbspec.Postgres, MaxConnections: 20 + rng.IntN(3000), Headroom: 5}
			for i := range rng.IntN(6) {
				c.Functions = append(c.Functions, Function{Name: fmt.Sprintf("db%d/f%d", d, i),
					ConnectionsPerEnvironment: 1 + rng.IntN(3), Weight: 1 + rng.IntN(5)})
			}
			a.Databases = append(a.Databases, c)
		}
		if rng.IntN(3) == 0 {
			a.Elsewhere = []Reservation{{Name: "x", ReservedConcurrency: rng.IntN(a.AccountConcurrency)}}
		}
		r, err := ComputeAccount(a)
		if r == nil {
			t.Fatalf("run %d: ComputeAccount = nil, %v", run, err)
		}
		reservable := r.AccountConcurrency - r.UnreservedMinimum
		weighted := 0
		for _, db := range r.Databases {
			if db.TotalConnections > db.Available {
				t.Errorf("run %d: %s holds %d connections, want at most %d", run, db.Database, db.TotalConnections, db.Available)
			}
			weighted += db.TotalReservedConcurrency
		}
		elsewhere := 0
		if len(a.Elsewhere) > 0 {
			elsewhere = a.Elsewhere[0].ReservedConcurrency
		}
		if weighted > max(reservable-elsewhere, 0) {
			t.Errorf("run %d: functions reserve %d, want at most %d (reservable %d - elsewhere %d)",
				run, weighted, max(reservable-elsewhere, 0), reservable, elsewhere)
		}
	}
}

// checkOne checks that problems is empty when want is nil, or else holds one
// problem containing every string of want.
func checkOne(t *testing.T, whose string, problems, want []string) {
	t.Helper()
	switch {
	case want == nil && len(problems) > 0:
		t.Errorf("%s problems = %q, want none", whose, problems)
	case want != nil && len(problems) != 1:
		t.Errorf("%s problems = %q, want one", whose, problems)
	case want != nil:
		wantIn(t, "ComputeAccount", problems[0], want...)
	}
}

// TestNamed renders the settings a problem names in a reader's words, as the app does
// with its context keys.
func TestNamed(t *testing.T) {
	_, err := Compute(small(Function{Name: "big", ConnectionsPerEnvironment: 100}))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Compute error = %v, want an *Error", err)
	}
	keys := func(goName string) string { return "<" + goName + ">" }
	got := e.Named(keys).Problems
	if len(got) != 1 || !strings.Contains(got[0], "fewer than its <ConnectionsPerEnvironment> 100") ||
		!strings.Contains(got[0], "raise <MaxCapacity>") || strings.Contains(got[0], "{") {
		t.Errorf("Named(keys) = %q, want every setting named <GoName>", got)
	}
	if e.In(keys) != strings.Join(got, "\n") {
		t.Errorf("In(keys) = %q, want Named(keys)'s problems", e.In(keys))
	}
}

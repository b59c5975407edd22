package budget

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lambdards/lambdards/dbspec"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestTable(t *testing.T) {
	tests := []struct {
		golden string
		in     Config
	}{
		{"example.golden", exampleConfig()},
		{"direct.golden", Config{
			Database: "rds mysql t4g.micro", Engine: dbspec.MySQL, MaxConnections: 85, Headroom: DefaultHeadroom(85),
			AccountConcurrency: 400, UnreservedMinimum: 50,
			Functions: []Function{
				{Name: "orders-api", Weight: 2},
				{Name: "reports", ConnectionsPerEnvironment: 3},
				{Name: "nightly-import", ReservedConcurrency: 1, ConnectionsPerEnvironment: 4},
			},
		}},
		{"scaling.golden", Config{
			Database: "aurora-postgresql serverless v2 (0.5-4 ACU), reader", Engine: dbspec.Postgres, MaxConnections: 823,
			ReservedConnections: 8, Headroom: DefaultHeadroom(823), Proxy: true,
			Functions: []Function{
				{Name: "reports", Weight: 3, Scaling: Scaling{ProvisionedConcurrency: 5, MemoryMB: 1024, Architecture: ArchitectureArm64}},
				{Name: "search", Scaling: Scaling{QueueConsumer: true}},
			},
		}},
		{"dataapi.golden", Config{Database: "aurora postgres serverless v2", Engine: dbspec.Postgres, MaxConnections: 105,
			ReservedConnections: 5, Headroom: 11, DataAPI: true, Functions: []Function{{Name: "items"}}}},
		{"empty.golden", Config{Database: "idle", Engine: dbspec.Postgres, MaxConnections: 112, ReservedConnections: 5,
			Headroom: 12, Proxy: true, MaxIdleConnectionsPercent: ptr(10)}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			r := mustCompute(t, tt.in)
			got := r.Table()
			if again := r.Table(); again != got {
				t.Errorf("Table() differs between two calls:\n%s\nthen\n%s", got, again)
			}
			path := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("reading golden file (run go test -update to create it): %v", err)
			}
			if got != string(want) {
				t.Errorf("Table() =\n%s\nwant (%s)\n%s", got, path, want)
			}
		})
	}
}

// TestDocShowsTable keeps the table in the package documentation equal to
// what Table renders for the example.
func TestDocShowsTable(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for _, line := range strings.Split(strings.TrimSuffix(mustCompute(t, exampleConfig()).Table(), "\n"), "\n") {
		if line == "" {
			want.WriteString("//\n")
		} else {
			want.WriteString("//\t" + line + "\n")
		}
	}
	if !strings.Contains(string(doc), want.String()) {
		t.Errorf("doc.go does not show the example's Table(); want it to contain\n%s", want.String())
	}
}

func TestAccountTable(t *testing.T) {
	r, err := ComputeAccount(Account{
		Databases: []Config{
			{Database: "one", Engine: dbspec.Postgres, MaxConnections: 100, Headroom: 10, Functions: []Function{{Name: "a"}}},
			{Database: "two", Engine: dbspec.MySQL, MaxConnections: 200, Headroom: 20, Functions: []Function{{Name: "b"}, {Name: "c", ReservedConcurrency: 5}}},
		},
		Elsewhere: []Reservation{{Name: "Legacy/Old", ReservedConcurrency: 20}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// one: 90 connections for a; two: 175 left after c's 5, b by connections too.
	want := `account concurrency  1000
  one                90 reserved by 1 functions
  two                180 reserved by 2 functions
  Legacy/Old         20 reserved outside the budget
reserved in all      290
unreserved           710 (minimum 100)
`
	if got := r.Table(); got != want {
		t.Errorf("Table() =\n%s\nwant\n%s", got, want)
	}
}

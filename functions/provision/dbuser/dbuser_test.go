package dbuser

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lambdards/lambdards/dbspec"
)

var update = flag.Bool("update", false, "rewrite the golden plans in testdata/")

func TestPlanRejects(t *testing.T) {
	for _, tc := range []struct {
		name     string
		engine   dbspec.Engine
		database string
		user     dbspec.User
		opts     *Options
		want     []string
	}{
		{"unknown engine", "oracle", "app", dbspec.User{Name: "u"}, nil, []string{`engine "oracle" is not supported, want postgres or mysql`}},
		{"unsafe database", dbspec.Postgres, "app-db", dbspec.User{Name: "u"}, nil, []string{`database "app-db" is not a safe identifier`}},
		{"quote in password", dbspec.MySQL, "app", dbspec.User{Name: "u"}, &Options{Password: "it's"}, []string{"Options.Password"}},
		{"backslash in password", dbspec.Postgres, "app", dbspec.User{Name: "u"}, &Options{Password: `a\b`}, []string{"Options.Password"}},
		{"quote in owner", dbspec.Postgres, "app", dbspec.User{Name: "u"}, &Options{Owner: "stack/it's"}, []string{"Options.Owner"}},
		{"every problem", "db2", "a b", dbspec.User{Name: "root"}, &Options{Password: "\n"},
			[]string{"engine", "database", "DatabaseUser", "Options.Password"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Plan(tc.engine, tc.database, tc.user, tc.opts)
			var verr *dbspec.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Plan(%q, %q, %+v) = %v, want a *ValidationError", tc.engine, tc.database, tc.user, err)
			}
			if len(verr.Problems) != len(tc.want) {
				t.Errorf("Plan(%q, %q, %+v) = %d problems %q, want %d", tc.engine, tc.database, tc.user, len(verr.Problems), verr.Problems, len(tc.want))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Plan(%q, %q, %+v) = %q, want it to say %q", tc.engine, tc.database, tc.user, err, w)
				}
			}
		})
	}
	if err := ValidateDatabase("app"); err != nil {
		t.Errorf("ValidateDatabase(%q) = %v, want nil", "app", err)
	}
	if err := ValidateDatabase("app db"); err == nil {
		t.Errorf("ValidateDatabase(%q) = nil, want an error", "app db")
	}
	if _, err := DropPlan(dbspec.Postgres, "postgres"); err == nil {
		t.Errorf("DropPlan(postgres, %q) = nil error, want the reserved name refused", "postgres")
	}
}

func TestCheckPassword(t *testing.T) {
	for _, tc := range []struct {
		password string
		ok       bool
	}{
		{"", true}, // IAM authentication
		{"Abc123!#$%&()*+,-./:;<=>?@[]^_`{|}~ spaces too", true},
		{"it's", false},
		{`say "hi"`, false},
		{`back\slash`, false},
		{"tab\there", false},
		{"caf\u00e9", false},
	} {
		err := CheckPassword(tc.password)
		if (err == nil) != tc.ok {
			t.Errorf("CheckPassword(%q) = %v, want ok %t", tc.password, err, tc.ok)
		}
		var verr *dbspec.ValidationError
		if err != nil && !errors.As(err, &verr) {
			t.Errorf("CheckPassword(%q) = %T, want a *dbspec.ValidationError", tc.password, err)
		}
		if err != nil && strings.Contains(err.Error(), tc.password) {
			t.Errorf("CheckPassword(%q) = %q, which quotes the password", tc.password, err)
		}
	}
}

// TestOpeningHidesPasswords: an error names the failed statement by its
// opening words, which must not reach the password in its literal.
func TestOpeningHidesPasswords(t *testing.T) {
	const secret = "s3cret-Pa55word"
	opts := &Options{Password: secret}
	for _, engine := range []dbspec.Engine{dbspec.Postgres, dbspec.MySQL} {
		stmts, err := Plan(engine, "app", dbspec.User{Name: "fn"}, opts)
		if err != nil {
			t.Fatal(err)
		}
		var holding int
		for _, s := range stmts {
			if !strings.Contains(s, secret) {
				continue
			}
			holding++
			if got := opening(s); strings.Contains(got, secret) || got == "" {
				t.Errorf("opening(%.40q...) = %q, want the words before the password", s, got)
			}
		}
		if holding == 0 {
			t.Errorf("Plan(%s) with a Password: no statement holds it, want the one that sets it", engine)
		}
	}
	for in, want := range map[string]string{
		"GRANT rds_iam TO \"fn\"":                       "GRANT rds_iam TO \"fn\"",
		"ALTER ROLE \"fn\" PASSWORD 'x'":                "ALTER ROLE \"fn\" PASSWORD ...",
		"DO $lambdards$\nDECLARE":                       "DO $lambdards$ ...",
		strings.Repeat("x", 70):                         strings.Repeat("x", 60) + " ...",
		"CREATE USER IF NOT EXISTS 'fn'@'%' IDENTIFIED": "CREATE USER IF NOT EXISTS ...",
	} {
		if got := opening(in); got != want {
			t.Errorf("opening(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPlanGolden pins the SQL of example declarations. Refresh with
// go test ./functions/provision/dbuser -run TestPlanGolden -update.
func TestPlanGolden(t *testing.T) {
	for _, tc := range []struct {
		file   string
		engine dbspec.Engine
		user   dbspec.User
		opts   *Options
		drop   bool
	}{
		{"postgres_read.sql", dbspec.Postgres, dbspec.User{Name: "orders_reader", Access: dbspec.Read}, nil, false},
		{"postgres_write_tables.sql", dbspec.Postgres, dbspec.User{Name: "orders_writer", Access: dbspec.Write, Tables: []string{"orders", "order_lines"}}, nil, false},
		{"postgres_ddl.sql", dbspec.Postgres, dbspec.User{Name: "items_owner", Access: dbspec.DDL, Schema: "app"}, nil, false},
		{"postgres_password.sql", dbspec.Postgres, dbspec.User{Name: "orders_reader", Access: dbspec.Read, Tables: []string{"orders"}}, &Options{Password: "test-only"}, false},
		{"postgres_drop.sql", dbspec.Postgres, dbspec.User{Name: "orders_reader"}, nil, true},
		{"postgres_owner.sql", dbspec.Postgres, dbspec.User{Name: "orders_reader", Access: dbspec.Read, Tables: []string{"orders"}}, &Options{Owner: "arn:aws:cloudformation:eu-west-1:123456789012:stack/App/guid/OrdersReaderUser"}, false},
		{"mysql_read.sql", dbspec.MySQL, dbspec.User{Name: "orders_reader", Access: dbspec.Read}, nil, false},
		{"mysql_write_tables.sql", dbspec.MySQL, dbspec.User{Name: "orders_writer", Access: dbspec.Write, Tables: []string{"orders", "order_lines"}}, nil, false},
		{"mysql_ddl.sql", dbspec.MySQL, dbspec.User{Name: "items_owner", Access: dbspec.DDL}, nil, false},
		{"mysql_password.sql", dbspec.MySQL, dbspec.User{Name: "orders_reader", Access: dbspec.Read}, &Options{Password: "test-only"}, false},
		{"mysql_drop.sql", dbspec.MySQL, dbspec.User{Name: "orders_reader"}, nil, true},
		{"mysql_owner.sql", dbspec.MySQL, dbspec.User{Name: "orders_reader", Access: dbspec.Read}, &Options{Owner: "arn:aws:cloudformation:eu-west-1:123456789012:stack/App/guid/OrdersReaderUser"}, false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var stmts []string
			var err error
			if tc.drop {
				stmts, err = DropPlan(tc.engine, tc.user.Name)
			} else {
				stmts, err = Plan(tc.engine, "app", tc.user, tc.opts)
			}
			if err != nil {
				t.Fatalf("plan for %+v: %v", tc.user, err)
			}
			got := strings.Join(stmts, ";\n\n") + ";\n"
			path := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("plan for %+v differs from %s (run with -update if the change is meant):\n%s", tc.user, path, got)
			}
		})
	}
}

// TestImportsOnlyStandardLibrary: the provisioner's handler binary imports
// this package; it must stay free of drivers, the AWS SDK and jsii.
func TestImportsOnlyStandardLibrary(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("go tool not found: %v", err)
		}
		t.Skipf("go tool not found: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	// Besides itself: the shared vocabulary, which imports only the standard library too.
	allowed := []string{"github.com/lambdards/lambdards/functions/provision/dbuser",
		"github.com/lambdards/lambdards/dbspec", "github.com/lambdards/lambdards/internal/fields"}
	for _, pkg := range strings.Fields(string(out)) {
		if !slices.Contains(allowed, pkg) {
			t.Errorf("dbuser depends on %s, want the standard library and %s only", pkg, strings.Join(allowed[1:], ", "))
		}
	}
}

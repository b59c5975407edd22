package dbuser

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden plans in testdata/")

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		user User
		// want are substrings, one per problem expected; none for a
		// valid declaration.
		want []string
	}{
		{"minimal", User{Name: "orders_reader"}, nil},
		{"write named tables", User{Name: "w1", Access: Write, Tables: []string{"items", "Order_Lines"}}, nil},
		{"ddl in a schema", User{Name: "d", Access: DDL, Schema: "app"}, nil},
		{"32 characters", User{Name: strings.Repeat("a", 32)}, nil},

		{"no name", User{}, []string{"Name is empty"}},
		{"upper case", User{Name: "Orders"}, []string{`Name "Orders" is not a safe user name`}},
		{"hyphen", User{Name: "orders-reader"}, []string{"not a safe user name"}},
		{"quote", User{Name: `x"; DROP ROLE postgres; --`}, []string{"not a safe user name"}},
		{"leading digit", User{Name: "1st"}, []string{"not a safe user name"}},
		{"33 characters", User{Name: strings.Repeat("a", 33)}, []string{"at most 32 characters"}},
		{"postgres", User{Name: "postgres"}, []string{`"postgres" is reserved`}},
		{"root", User{Name: "root"}, []string{"reserved"}},
		{"admin", User{Name: "admin"}, []string{"reserved"}},
		{"rdsadmin", User{Name: "rdsadmin"}, []string{"reserved"}},
		{"rds_iam", User{Name: "rds_iam"}, []string{"reserved"}},
		{"rdsrepladmin", User{Name: "rdsrepladmin"}, []string{"reserved"}},
		{"pg_ role", User{Name: "pg_monitor"}, []string{"reserved"}},
		{"mysql.sys", User{Name: "mysql.sys"}, []string{`"mysql.sys" is reserved`}},
		{"mariadb.sys", User{Name: "mariadb.sys"}, []string{"reserved"}},
		{"public", User{Name: "public"}, []string{"reserved"}},
		{"bookkeeping", User{Name: "lambdards"}, []string{"reserved"}},

		{"unknown access", User{Name: "u", Access: "admin"}, []string{`Access "admin" is not an access level, want read, write or ddl`}},
		{"upper-case access", User{Name: "u", Access: "READ"}, []string{"not an access level"}},

		{"unsafe schema", User{Name: "u", Schema: "app; --"}, []string{`Schema "app; --" is not a safe identifier`}},
		{"pg_catalog", User{Name: "u", Schema: "pg_catalog"}, []string{"system schema"}},
		{"information_schema", User{Name: "u", Schema: "INFORMATION_SCHEMA"}, []string{"system schema"}},
		{"mysql", User{Name: "u", Schema: "mysql"}, []string{"system schema"}},
		{"bookkeeping schema", User{Name: "u", Schema: "lambdards"}, []string{"system schema"}},

		{"unsafe table", User{Name: "u", Tables: []string{"items", "x y"}}, []string{`Tables[1] "x y" is not a safe identifier`}},
		{"empty table", User{Name: "u", Tables: []string{""}}, []string{"Tables[0]"}},
		{"64-character table", User{Name: "u", Tables: []string{strings.Repeat("t", 64)}}, []string{"at most 63"}},
		{"duplicate table", User{Name: "u", Tables: []string{"items", "items"}}, []string{`Tables[1] "items" is listed twice`}},
		{"ddl with tables", User{Name: "u", Access: DDL, Tables: []string{"items"}}, []string{"ddl covers the whole schema"}},

		{"everything at once", User{Name: "Root!", Access: "all", Schema: "s s", Tables: []string{"t t"}},
			[]string{"Name", "Access", "Schema", "Tables[0]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.user.Validate()
			if tc.want == nil {
				if err != nil {
					t.Errorf("Validate(%+v) = %v, want nil", tc.user, err)
				}
				return
			}
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Validate(%+v) = %v, want a *ValidationError", tc.user, err)
			}
			if len(verr.Problems) != len(tc.want) {
				t.Errorf("Validate(%+v) = %d problems %q, want %d", tc.user, len(verr.Problems), verr.Problems, len(tc.want))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate(%+v) = %q, want it to say %q", tc.user, err, w)
				}
			}
		})
	}
}

func TestPlanRejects(t *testing.T) {
	for _, tc := range []struct {
		name     string
		engine   Engine
		database string
		user     User
		opts     *Options
		want     []string
	}{
		{"unknown engine", "oracle", "app", User{Name: "u"}, nil, []string{`engine "oracle" is not supported, want postgres or mysql`}},
		{"unsafe database", Postgres, "app-db", User{Name: "u"}, nil, []string{`database "app-db" is not a safe identifier`}},
		{"quote in password", MySQL, "app", User{Name: "u"}, &Options{LocalPassword: "it's"}, []string{"Options.LocalPassword"}},
		{"backslash in password", Postgres, "app", User{Name: "u"}, &Options{LocalPassword: `a\b`}, []string{"Options.LocalPassword"}},
		{"quote in owner", Postgres, "app", User{Name: "u"}, &Options{Owner: "stack/it's"}, []string{"Options.Owner"}},
		{"every problem", "db2", "a b", User{Name: "root"}, &Options{LocalPassword: "\n"},
			[]string{"engine", "database", "Name", "Options.LocalPassword"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Plan(tc.engine, tc.database, tc.user, tc.opts)
			var verr *ValidationError
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
	if _, err := DropPlan(Postgres, "postgres"); err == nil {
		t.Errorf("DropPlan(postgres, %q) = nil error, want the reserved name refused", "postgres")
	}
}

// TestPlanGolden pins the SQL of example declarations. Refresh with
// go test ./functions/provision/dbuser -run TestPlanGolden -update.
func TestPlanGolden(t *testing.T) {
	for _, tc := range []struct {
		file   string
		engine Engine
		user   User
		opts   *Options
		drop   bool
	}{
		{"postgres_read.sql", Postgres, User{Name: "orders_reader", Access: Read}, nil, false},
		{"postgres_write_tables.sql", Postgres, User{Name: "orders_writer", Access: Write, Tables: []string{"orders", "order_lines"}}, nil, false},
		{"postgres_ddl.sql", Postgres, User{Name: "items_owner", Access: DDL, Schema: "app"}, nil, false},
		{"postgres_local_password.sql", Postgres, User{Name: "orders_reader", Access: Read, Tables: []string{"orders"}}, &Options{LocalPassword: "test-only"}, false},
		{"postgres_drop.sql", Postgres, User{Name: "orders_reader"}, nil, true},
		{"postgres_owner.sql", Postgres, User{Name: "orders_reader", Access: Read, Tables: []string{"orders"}}, &Options{Owner: "arn:aws:cloudformation:eu-west-1:123456789012:stack/App/guid/OrdersReaderUser"}, false},
		{"mysql_read.sql", MySQL, User{Name: "orders_reader", Access: Read}, nil, false},
		{"mysql_write_tables.sql", MySQL, User{Name: "orders_writer", Access: Write, Tables: []string{"orders", "order_lines"}}, nil, false},
		{"mysql_ddl.sql", MySQL, User{Name: "items_owner", Access: DDL}, nil, false},
		{"mysql_local_password.sql", MySQL, User{Name: "orders_reader", Access: Read}, &Options{LocalPassword: "test-only"}, false},
		{"mysql_drop.sql", MySQL, User{Name: "orders_reader"}, nil, true},
		{"mysql_owner.sql", MySQL, User{Name: "orders_reader", Access: Read}, &Options{Owner: "arn:aws:cloudformation:eu-west-1:123456789012:stack/App/guid/OrdersReaderUser"}, false},
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

// TestImportsOnlyStandardLibrary: CDK constructs import this package to
// validate declarations at synth, and handler binaries import it too; it
// must stay free of drivers, the AWS SDK and jsii.
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
	const self = "github.com/lambdards/lambdards/functions/provision/dbuser"
	for _, pkg := range strings.Fields(string(out)) {
		if pkg != self {
			t.Errorf("dbuser depends on %s, want the standard library only", pkg)
		}
	}
}

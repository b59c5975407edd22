package dbspec

import (
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

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

		{"no name", User{}, []string{"DatabaseUser is empty"}},
		{"upper case", User{Name: "Orders"}, []string{`DatabaseUser "Orders" is not a safe user name`}},
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
			[]string{"DatabaseUser", "Access", "Schema", "Tables[0]"}},
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

// TestValidateFor refuses the master user besides what Validate refuses.
func TestValidateFor(t *testing.T) {
	if err := (User{Name: "app"}).ValidateFor("lambdards"); err != nil {
		t.Errorf(`ValidateFor("lambdards") of app = %v, want nil`, err)
	}
	err := (User{Name: "boss"}).ValidateFor("boss")
	if err == nil || !strings.Contains(err.Error(), `DatabaseUser "boss" is the master user`) {
		t.Errorf(`ValidateFor("boss") of boss = %v, want the master user refused`, err)
	}
}

// TestImportsOnlyStandardLibrary: handlers, the provisioner and the constructs import
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
	allowed := []string{"github.com/lambdards/lambdards/dbspec", "github.com/lambdards/lambdards/internal/fields"}
	for _, pkg := range strings.Fields(string(out)) {
		if !slices.Contains(allowed, pkg) {
			t.Errorf("dbspec depends on %s, want the standard library and internal/fields only", pkg)
		}
	}
}

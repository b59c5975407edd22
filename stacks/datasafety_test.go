package stacks_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/lambdards/lambdards/snapshot"
)

// statefulTypes are the resource types that hold data, or that data depends on: replacing
// one (which a changed logical ID does) loses the database, its credentials, the key its
// storage and snapshots are encrypted with, or the retained logs.
var statefulTypes = []string{
	"AWS::RDS::DBInstance",
	"AWS::RDS::DBCluster",
	"AWS::SecretsManager::Secret",
	"AWS::KMS::Key",
	"AWS::RDS::DBSubnetGroup",
	"AWS::RDS::DBParameterGroup",
	"AWS::RDS::DBClusterParameterGroup",
	"AWS::RDS::OptionGroup",
	"AWS::Logs::LogGroup",
}

const statefulGolden = "testdata/stateful-logical-ids.txt"

// stateful lists the Data stack's stateful resources as "TYPE LOGICAL-ID", sorted.
func stateful(t *testing.T, a assembly) []string {
	t.Helper()
	var out []string
	for id, r := range a.templates(t)["Data"].Resources {
		if slices.Contains(statefulTypes, r.Type) {
			out = append(out, r.Type+" "+id)
		}
	}
	sort.Strings(out)
	return out
}

// TestStatefulLogicalIDs fails when the logical ID of a stateful resource changes: against
// the committed list, and between variants, where an option (proxy, rotation, monitoring,
// removal policy, Multi-AZ, a reader, NAT gateways, ...) must never replace what the plain
// variant of the same database and engine has.
func TestStatefulLogicalIDs(t *testing.T) {
	all := synthAll(t)
	var lines []string
	plain := map[string][]string{}
	for _, a := range all {
		for _, r := range stateful(t, a) {
			lines = append(lines, a.name+" "+r)
		}
		if a.name == fmt.Sprintf("%s-%s-proxy", a.cfg.Engine, a.cfg.Database) { // see combinations
			plain[a.cfg.Database+"/"+a.cfg.Engine] = stateful(t, a)
		}
	}
	got := strings.Join(lines, "\n") + "\n"
	if snapshot.Update() {
		header := "# Logical IDs of stateful resources per test variant (stacks/datasafety_test.go).\n" +
			"# A change replaces the resource: for a database, data loss. Update only for a new\n" +
			"# resource or variant: go test ./stacks -run TestStatefulLogicalIDs -update\n"
		if err := os.MkdirAll(filepath.Dir(statefulGolden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(statefulGolden, []byte(header+got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(statefulGolden)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			want = append(want, l)
		}
	}
	for _, w := range want {
		if !slices.Contains(lines, w) {
			t.Errorf("stateful resource gone or given a new logical ID (it would be replaced): %s", w)
		}
	}
	for _, l := range lines {
		if !slices.Contains(want, l) {
			t.Errorf("stateful resource not in %s: %s (a new resource? run with -update; a changed ID? restore the construct ID)", statefulGolden, l)
		}
	}
	for _, a := range all {
		base := plain[a.cfg.Database+"/"+a.cfg.Engine]
		have := stateful(t, a)
		for _, r := range base {
			if !slices.Contains(have, r) {
				t.Errorf("%s: %s of the plain %s %s variant is missing: the option would replace it", a.name, r, a.cfg.Engine, a.cfg.Database)
			}
		}
	}
}

// TestRemovalPolicies checks what deleting the stack does to the data: a snapshot
// (removalPolicy snapshot, the default), everything kept with deletion protection
// (retain), or nothing kept (destroy); the key, secret, subnet group, option group and
// logs stay as long as a snapshot or retained database needs them.
func TestRemovalPolicies(t *testing.T) {
	for _, a := range synthAll(t) {
		t.Run(a.name, func(t *testing.T) {
			policy := map[string]string{"snapshot": "Snapshot", "retain": "Retain", "destroy": "Delete"}[a.cfg.RemovalPolicy]
			kept := "Retain"
			if a.cfg.RemovalPolicy == "destroy" {
				kept = "Delete"
			}
			protect := a.cfg.RemovalPolicy == "retain"
			if a.cfg.DeletionProtection != nil {
				protect = *a.cfg.DeletionProtection
			}
			var dbs int
			for id, r := range a.templates(t)["Data"].Resources {
				check := func(want string) {
					if r.DeletionPolicy != want {
						t.Errorf("%s %s: DeletionPolicy %q, want %q (removalPolicy %s)", r.Type, id, r.DeletionPolicy, want, a.cfg.RemovalPolicy)
					}
				}
				switch r.Type {
				case "AWS::RDS::DBCluster":
					dbs++
					check(policy)
					checkProtection(t, id, r, protect)
				case "AWS::RDS::DBInstance":
					if _, inCluster := r.Properties["DBClusterIdentifier"]; inCluster {
						continue // the cluster holds the data
					}
					dbs++
					check(policy)
					checkProtection(t, id, r, protect)
				case "AWS::KMS::Key", "AWS::SecretsManager::Secret", "AWS::RDS::DBSubnetGroup", "AWS::RDS::OptionGroup", "AWS::Logs::LogGroup":
					check(kept)
				}
			}
			if dbs != 1 {
				t.Errorf("%d databases, want 1", dbs)
			}
		})
	}
}

func checkProtection(t *testing.T, id string, r resource, want bool) {
	t.Helper()
	if got := r.Properties["DeletionProtection"]; got != want {
		t.Errorf("%s: DeletionProtection %v, want %v", id, fmt.Sprint(got), want)
	}
}

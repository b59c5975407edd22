package stacks_test

import (
	"path/filepath"
	"testing"
)

// TestDeployable synthesizes variants that between them hold every kind of resource the
// app builds, with aws-cdk-lib's CloudFormation validation on (resource schemas: property
// types, patterns, ranges), which the shared synth leaves off for speed. It caught a
// security group description with an apostrophe, which EC2 refuses.
func TestDeployable(t *testing.T) {
	if testing.Short() {
		t.Skip("CloudFormation validation takes seconds per synth")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	// An RDS MySQL instance behind a proxy (option group, rotation, monitoring), an Aurora
	// MySQL cluster (cluster parameters, direct), a Multi-AZ PostgreSQL instance with NAT
	// gateways (public subnets) and deletion protection.
	for _, name := range []string{"instance-mysql-proxy", "lean", "prod-like"} {
		t.Run(name, func(t *testing.T) {
			i := slicesIndex(name)
			if i < 0 {
				t.Fatalf("no variant %q", name)
			}
			if _, _, err := synth(root, t.TempDir(), variants[i].context, true); err != nil {
				t.Errorf("synth with CloudFormation validation: %v", err)
			}
		})
	}
}

func slicesIndex(name string) int {
	for i, v := range variants {
		if v.name == name {
			return i
		}
	}
	return -1
}

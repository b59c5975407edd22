package stacks_test

import "testing"

// TestDeployable checks that the variants that between them hold every kind of resource
// the app builds (deployable) synthesized with aws-cdk-lib's CloudFormation validation on
// (resource schemas: property types, patterns, ranges), which the shared synth leaves off
// for the others. It caught a security group description with an apostrophe, which EC2
// refuses.
func TestDeployable(t *testing.T) {
	var checked int
	for _, a := range synthAll(t) {
		if !deployable[a.name] {
			continue
		}
		checked++
		if a.err != nil {
			t.Errorf("%s: synth with CloudFormation validation: %v", a.name, a.err)
		}
	}
	if checked != len(deployable) {
		t.Errorf("checked %d deployable variants, want %d: %v", checked, len(deployable), deployable)
	}
}

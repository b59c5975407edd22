package stacks_test

import (
	"testing"
)

// TestNag checks every variant against the AwsSolutions, NIST 800-53 rev 5 and HIPAA
// Security packs: no unsuppressed error, and no rule that could not evaluate a resource.
// Warnings are logged; README.md says which remain.
func TestNag(t *testing.T) {
	for _, a := range synthAll(t) {
		t.Run(a.name, func(t *testing.T) { a.checkFindings(t, "synth") })
	}
}

// checkFindings fails t for every unsuppressed error in a's cdk-nag reports and every
// rule that could not evaluate a resource, logs the warnings, and fails t when a's synth
// (what) failed for any other reason.
func (a assembly) checkFindings(t *testing.T, what string) {
	t.Helper()
	var failed bool
	for _, f := range a.findings(t) {
		switch {
		case f.compliance == "Non-Compliant" && f.level == "Error", f.compliance == "UNKNOWN":
			t.Errorf("%s", f)
			failed = true
		case f.compliance == "Non-Compliant":
			t.Logf("%s", f)
		}
	}
	if a.err != nil && !failed {
		t.Errorf("%s failed: %v", what, a.err)
	}
}

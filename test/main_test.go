package test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// result is one run of the app program.
type result struct {
	code   int
	stdout string
	stderr string
	outdir string
}

// synth runs the app program the way `cdk synth -c key=value` does: context in
// CDK_CONTEXT_JSON (the project's cdk.json flags plus ctx), output to a fresh directory.
func synth(t *testing.T, ctx map[string]any) result {
	t.Helper()
	r := result{outdir: t.TempDir()}
	cmd := exec.Command(app)
	cmd.Dir = root
	cmd.Env = env("CDK_CONTEXT_JSON="+contextJSON(t, ctx), "CDK_OUTDIR="+r.outdir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r.stdout, r.stderr = stdout.String(), stderr.String()
	if exit, ok := err.(*exec.ExitError); ok {
		r.code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("running the app: %v", err)
	}
	return r
}

// assertFails checks a failed synth: non-zero exit, every wanted fragment in the message,
// no stack trace, and no cloud assembly that looks complete.
func assertFails(t *testing.T, r result, want ...string) {
	t.Helper()
	if r.code == 0 {
		t.Fatalf("synth exited 0, want non-zero; stdout:\n%s", r.stdout)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr does not contain %q:\n%s", w, r.stderr)
		}
	}
	noTrace(t, r.stderr)
	if _, err := os.Stat(filepath.Join(r.outdir, "manifest.json")); err == nil {
		t.Errorf("a failed synth left %s/manifest.json, a cloud assembly that looks valid", r.outdir)
	}
}

// template reads a synthesized stack's template.
func template(t *testing.T, dir, stack string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, stack+".template.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tmpl map[string]any
	if err := json.Unmarshal(b, &tmpl); err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// resources returns a template's resources of one type.
func resources(tmpl map[string]any, typ string) []map[string]any {
	var out []map[string]any
	for _, r := range tmpl["Resources"].(map[string]any) {
		if r := r.(map[string]any); r["Type"] == typ {
			out = append(out, r["Properties"].(map[string]any))
		}
	}
	return out
}

package test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
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
// CDK_CONTEXT_JSON (the project's cdk.json flags plus ctx), output to a fresh directory,
// extra added to the environment.
func synth(t *testing.T, ctx map[string]any, extra ...string) result {
	t.Helper()
	r := result{outdir: t.TempDir()}
	cmd := exec.Command(app)
	cmd.Dir = root
	cmd.Env = env(append([]string{"CDK_CONTEXT_JSON=" + contextJSON(t, ctx), "CDK_OUTDIR=" + r.outdir}, extra...)...)
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

package stacks_test

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"

	"github.com/lambdards/lambdards/constructs/function"
	"github.com/lambdards/lambdards/internal/cdktest"
	"github.com/lambdards/lambdards/snapshot"
	"github.com/lambdards/lambdards/stacks"
)

// configuration is one set of context values the default app is snapshot-tested with.
type configuration = stacks.Combination

// configurations are the configurations TestSnapshot keeps golden files for.
func configurations() []configuration { return stacks.Combinations() }

// baseline is the configuration the determinism tests vary: the app's defaults.
var baseline = configuration{Name: "instance-postgres-proxy", Context: map[string]any{"database": "instance", "engine": "postgres", "connection": "proxy"}}

// build builds the default app's stacks for context, on top of the feature flags in
// cdk.json, with bundling skipped unless context says otherwise.
func build(t *testing.T, context map[string]any) *stacks.App {
	t.Helper()
	ctx := map[string]any{function.SkipBundlingContext: true}
	maps.Copy(ctx, context)
	app := snapshot.NewApp(t, ctx)
	cfg, err := stacks.Configure(app.Node())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Root, err = filepath.Abs(".."); err != nil {
		t.Fatal(err)
	}
	return stacks.New(app, cfg)
}

// templates are an app's normalized templates.
type templates struct {
	data, functions []byte
}

func normalized(t *testing.T, a *stacks.App) templates {
	t.Helper()
	var out templates
	var err error
	if out.data, err = snapshot.Template(a.Data); err != nil {
		t.Fatal(err)
	}
	if out.functions, err = snapshot.Template(a.Functions); err != nil {
		t.Fatal(err)
	}
	return out
}

// of returns c's templates, normalized, from the shared synth of every configuration
// (synthAll).
func of(t *testing.T, c configuration) templates {
	t.Helper()
	a := assemblyOf(t, c.Name)
	var out templates
	var err error
	if out.data, err = snapshot.Normalize(a.rawTemplate(t, "LambdaRdsData")); err != nil {
		t.Fatal(err)
	}
	if out.functions, err = snapshot.Normalize(a.rawTemplate(t, "LambdaRdsFunctions")); err != nil {
		t.Fatal(err)
	}
	return out
}

// with returns c's context with the given entries added.
func with(c configuration, extra map[string]any) map[string]any {
	ctx := maps.Clone(c.Context)
	maps.Copy(ctx, extra)
	return ctx
}

// functionsContext is the "functions" context value for fns.
func functionsContext(t *testing.T, fns map[string]any) string {
	t.Helper()
	b, err := json.Marshal(fns)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSnapshot compares the stacks of every configuration (Data, Functions, and Monitoring
// where the alarms are on) with their golden files in
// testdata/snapshots/TestSnapshot/<configuration>/. Refresh them with
//
//	go test ./stacks -run '^TestSnapshot$' -update
func TestSnapshot(t *testing.T) {
	all := configurations()
	for _, f := range features {
		all = append(all, configuration{Name: f.name, Context: f.context})
	}
	for _, c := range all {
		t.Run(c.Name, func(t *testing.T) {
			a := assemblyOf(t, c.Name)
			for _, stack := range []string{"LambdaRdsData", "LambdaRdsFunctions", "LambdaRdsMonitoring"} {
				// The Monitoring stack is there when the alarms or the dashboard are on.
				if _, err := os.Stat(filepath.Join(a.dir, stack+".template.json")); stack == "LambdaRdsMonitoring" && err != nil {
					continue
				}
				snapshot.MatchJSON(t, a.rawTemplate(t, stack), snapshot.Name("TestSnapshot/"+c.Name+"/"+stack))
			}
		})
	}
}

// TestSnapshotDeterministic synthesizes one configuration with several functions twice and
// expects byte-identical normalized templates that name no directory of this machine.
func TestSnapshotDeterministic(t *testing.T) {
	ctx := with(baseline, map[string]any{"functions": functionsContext(t, map[string]any{
		"items":   map[string]any{"entry": "functions/items"},
		"orders":  map[string]any{"entry": "functions/items", "weight": 3, "databaseUser": "orders"},
		"reports": map[string]any{"entry": "functions/items", "reservedConcurrency": 5, "memorySize": 1024},
	})})
	first, second := normalized(t, build(t, ctx)), normalized(t, build(t, ctx))
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		stack         string
		first, second []byte
	}{{"Data", first.data, second.data}, {"Functions", first.functions, second.functions}} {
		if string(s.first) != string(s.second) {
			diff, _ := snapshot.Diff(s.first, s.second)
			t.Errorf("%s stack: two synths of one configuration differ:\n%s", s.stack, diff)
		}
		for _, dir := range []string{root, os.TempDir()} {
			if strings.Contains(string(s.first), dir) {
				t.Errorf("%s stack: normalized template names the directory %s, which differs between machines", s.stack, dir)
			}
		}
	}
}

// s3Key finds the asset hash in a synthesized Functions template.
var s3Key = regexp.MustCompile(`"S3Key":\s*"([0-9a-f]{64})\.zip"`)

// rawS3Key returns the S3 key of the function code in the Functions stack as synthesized.
func rawS3Key(t *testing.T, a *stacks.App) string {
	t.Helper()
	asm := awscdk.Stage_Of(a.Functions).Synth(nil)
	b, err := os.ReadFile(filepath.Join(*asm.Directory(), *a.Functions.TemplateFile()))
	if err != nil {
		t.Fatal(err)
	}
	m := s3Key.FindSubmatch(b)
	if m == nil {
		t.Fatalf("no S3Key in the Functions template:\n%s", b)
	}
	return string(m[1])
}

// entry writes a Go main package that prints message into a directory named items, like
// the default app's function, and returns the directory. The directory is the same in
// every run (in cdktest.BuildDir), so that package gobuild finds the binary it linked
// last time up to date instead of linking it again. A file is written only when it
// differs, and then renamed into place, so that a test process running at the same time
// never compiles a half-written one.
func entry(t *testing.T, message string) string {
	t.Helper()
	base, err := cdktest.BuildDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "stacks-snapshot-entries", message, "items")
	files := map[string]string{
		"go.mod":  "module example.com/items\n\ngo 1.26\n",
		"main.go": "package main\n\nfunc main() { println(" + `"` + message + `"` + ") }\n",
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		path := filepath.Join(dir, name)
		if old, err := os.ReadFile(path); err == nil && string(old) == body {
			continue
		}
		tmp, err := os.CreateTemp(dir, name+".*.tmp")
		if err != nil {
			t.Fatal(err)
		}
		_, err = tmp.WriteString(body)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), path)
		}
		if err != nil {
			os.Remove(tmp.Name())
			t.Fatal(err)
		}
	}
	return dir
}

// TestSnapshotIgnoresCode bundles the function for real from the app's own entry and from
// two entries with different code, and expects the asset hashes to differ while the
// normalized templates equal the baseline's, which skips bundling: code changes no golden
// file, and skipping bundling changes no logical ID.
func TestSnapshotIgnoresCode(t *testing.T) {
	want := of(t, baseline)
	keys := map[string]string{} // S3 key → variant
	for _, v := range []struct{ name, entry string }{
		{"functions/items", "functions/items"},
		{"code A", entry(t, "A")},
		{"code B", entry(t, "B")},
	} {
		a := build(t, with(baseline, map[string]any{
			function.SkipBundlingContext: false,
			"functions":                  functionsContext(t, map[string]any{"items": map[string]any{"entry": v.entry, "access": "ddl"}}),
		}))
		key := rawS3Key(t, a)
		if other, ok := keys[key]; ok {
			t.Errorf("%s and %s have the same asset hash %s; the test proves nothing", v.name, other, key)
		}
		keys[key] = v.name
		got := normalized(t, a)
		for _, s := range []struct {
			stack     string
			want, got []byte
		}{{"Data", want.data, got.data}, {"Functions", want.functions, got.functions}} {
			if string(s.got) != string(s.want) {
				diff, _ := snapshot.Diff(s.want, s.got)
				t.Errorf("%s stack bundled from %s differs from the golden template:\n%s", s.stack, v.name, diff)
			}
		}
	}
}

// TestSnapshotDiffMemorySize changes one function's memory size and expects the diff to
// name exactly that property of that function.
func TestSnapshotDiffMemorySize(t *testing.T) {
	want := of(t, baseline)
	got := normalized(t, build(t, with(baseline, map[string]any{
		"functions": functionsContext(t, map[string]any{"items": map[string]any{"entry": "functions/items", "access": "ddl", "memorySize": 512}}),
	})))
	for _, s := range []struct {
		stack     string
		want, got []byte
		diff      string
	}{
		{"Data", want.data, got.data, ""},
		{"Functions", want.functions, got.functions, "itemsFunction8D9000E0 (AWS::Lambda::Function): Properties.MemorySize: 256 → 512\n"},
	} {
		diff, err := snapshot.Diff(s.want, s.got)
		if err != nil {
			t.Fatal(err)
		}
		if diff != s.diff {
			t.Errorf("%s stack: Diff after memorySize 256 → 512 =\n%s\nwant\n%s", s.stack, diff, s.diff)
		}
	}
}

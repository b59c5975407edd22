package snapshot

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/jsii-runtime-go"
)

// recorder is a testing.TB that records what Match reports, so that a test can check a
// failure without failing itself.
type recorder struct {
	testing.TB
	name         string
	errors, logs []string
}

func (r *recorder) Helper()      {}
func (r *recorder) Name() string { return r.name }
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
	runtime.Goexit()
}
func (r *recorder) Logf(format string, args ...any) {
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

// record runs f with a recorder named name in its own goroutine, as testing runs a test,
// so that Fatalf ends only f.
func record(t *testing.T, name string, f func(tb testing.TB)) *recorder {
	r := &recorder{TB: t, name: name}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

// setUpdate sets -update for the rest of the test.
func setUpdate(t *testing.T, v bool) {
	old := flag.Lookup("update").Value.String()
	if err := flag.Set("update", fmt.Sprint(v)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { flag.Set("update", old) })
}

const (
	template256 = `{"Resources":{"itemsFunction8D9000E0":{"Type":"AWS::Lambda::Function","Properties":{"MemorySize":256,"Code":{"S3Key":"` + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" + `.zip"}}}}}`
	template512 = `{"Resources":{"itemsFunction8D9000E0":{"Type":"AWS::Lambda::Function","Properties":{"MemorySize":512,"Code":{"S3Key":"` + "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210" + `.zip"}}}}}`
)

func TestMatchMissingGolden(t *testing.T) {
	setUpdate(t, false)
	dir := t.TempDir()
	r := record(t, "TestApp/prod", func(tb testing.TB) { MatchJSON(tb, []byte(template256), Dir(dir)) })
	path := filepath.Join(dir, "TestApp", "prod.json")
	want := fmt.Sprintf("snapshot: golden file %s does not exist; create it by running\n\tgo test ./snapshot -run '^TestApp$/^prod$' -update", path)
	if len(r.errors) != 1 || r.errors[0] != want {
		t.Errorf("MatchJSON without a golden file reported %q, want %q", r.errors, want)
	}
	if _, err := os.Stat(path); err == nil {
		t.Errorf("MatchJSON without -update wrote %s", path)
	}
}

func TestMatchUpdate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "TestApp", "prod.json")
	match := func(template string) *recorder {
		return record(t, "TestApp/prod", func(tb testing.TB) { MatchJSON(tb, []byte(template), Dir(dir)) })
	}

	setUpdate(t, true)
	if r := match(template256); len(r.errors) > 0 || len(r.logs) != 1 || r.logs[0] != "snapshot: wrote "+path {
		t.Fatalf("MatchJSON -update reported errors %q, logs %q; want only the log %q", r.errors, r.logs, "snapshot: wrote "+path)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("MatchJSON -update did not write the golden file: %v", err)
	}
	if want, _ := Normalize([]byte(template256)); string(got) != string(want) {
		t.Errorf("golden file =\n%s\nwant the normalized template\n%s", got, want)
	}

	setUpdate(t, false)
	if r := match(template256); len(r.errors) > 0 {
		t.Errorf("MatchJSON of an unchanged template reported %q", r.errors)
	}
	r := match(template512)
	want := "snapshot: " + path + " does not match the template:\n" +
		"\titemsFunction8D9000E0 (AWS::Lambda::Function): Properties.MemorySize: 256 → 512\n" +
		"If the change is intended, refresh the golden file by running\n" +
		"\tgo test ./snapshot -run '^TestApp$/^prod$' -update"
	if len(r.errors) != 1 || r.errors[0] != want {
		t.Errorf("MatchJSON of a changed template reported %q, want %q", r.errors, want)
	}

	setUpdate(t, true)
	r = match(template512)
	wantLog := "snapshot: updated " + path + ":\n\titemsFunction8D9000E0 (AWS::Lambda::Function): Properties.MemorySize: 256 → 512"
	if len(r.errors) > 0 || len(r.logs) != 1 || r.logs[0] != wantLog {
		t.Errorf("MatchJSON -update of a changed template reported errors %q, logs %q; want the log %q", r.errors, r.logs, wantLog)
	}
	if got, _ := os.ReadFile(path); !strings.Contains(string(got), `"MemorySize": 512`) {
		t.Errorf("MatchJSON -update did not rewrite the golden file:\n%s", got)
	}
}

func TestGoldenPath(t *testing.T) {
	tests := []struct {
		test string
		opts []Option
		want string
	}{
		{"TestSnapshot", nil, "testdata/snapshots/TestSnapshot.json"},
		{"TestSnapshot/instance-postgres-proxy", nil, "testdata/snapshots/TestSnapshot/instance-postgres-proxy.json"},
		{"TestX/a:b/..", nil, "testdata/snapshots/TestX/a_b/_.json"},
		{"TestX", []Option{Name("data/api.json")}, "testdata/snapshots/data/api.json"},
		{"TestX", []Option{Dir("golden"), Name("api")}, "golden/api.json"},
	}
	for _, tt := range tests {
		r := &recorder{TB: t, name: tt.test}
		if got := newOptions(tt.opts).file(testPath(r)); got != filepath.FromSlash(tt.want) {
			t.Errorf("golden file of %s with %d options = %s, want %s", tt.test, len(tt.opts), got, tt.want)
		}
	}
}

func TestNewApp(t *testing.T) {
	root := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("cdk.json", `{"context":{"outside":"read"}}`) // above the module root: not read
	write("mod/go.mod", "module example.com/mod\n")
	write("mod/cdk.json", `{"app":"go run .","context":{"@aws-cdk/core:flag":true,"stage":"dev"}}`)
	if err := os.MkdirAll(filepath.Join(root, "mod", "pkg"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Join(root, "mod", "pkg"))

	app := NewApp(t, map[string]any{"stage": "test"})
	for key, want := range map[string]any{"@aws-cdk/core:flag": true, "stage": "test", "outside": nil} {
		if got := app.Node().TryGetContext(jsii.String(key)); got != want {
			t.Errorf("NewApp context %q = %v, want %v", key, got, want)
		}
	}
}

func TestNewAppOutsideModule(t *testing.T) {
	t.Chdir(t.TempDir())
	app := NewApp(t, map[string]any{"k": "v"})
	if got := app.Node().TryGetContext(jsii.String("k")); got != "v" {
		t.Errorf("NewApp context k = %v, want v", got)
	}
}

// cliContext is what `cdk synth` adds to context and a user's own App would see: resource
// path and asset metadata and version reporting.
var cliContext = map[string]any{
	"aws:cdk:enable-path-metadata":  true,
	"aws:cdk:enable-asset-metadata": true,
	"aws:cdk:version-reporting":     true,
}

// build synthesizes an app with what makes templates vary: a function whose code is an
// asset holding code, its currentVersion behind an alias, a nested stack, and a second
// stack that imports the version. It returns the stacks.
func build(t *testing.T, code string, legacy bool) []awscdk.Stack {
	t.Helper()
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "index.py"), []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := cliContext
	app := awscdk.NewApp(&awscdk.AppProps{
		Context:                         &ctx,
		Outdir:                          jsii.String(t.TempDir()),
		BuiltinCloudFormationValidation: jsii.Bool(false),
	})
	var props *awscdk.StackProps
	if legacy {
		props = &awscdk.StackProps{Synthesizer: awscdk.NewLegacyStackSynthesizer()}
	}
	stack := awscdk.NewStack(app, jsii.String("Api"), props)
	fn := awslambda.NewFunction(stack, jsii.String("Fn"), &awslambda.FunctionProps{
		Runtime: awslambda.Runtime_PYTHON_3_13(),
		Handler: jsii.String("index.handler"),
		Code:    awslambda.Code_FromAsset(jsii.String(src), nil),
	})
	awslambda.NewAlias(stack, jsii.String("Live"), &awslambda.AliasProps{
		AliasName: jsii.String("live"),
		Version:   fn.CurrentVersion(),
	})
	nested := awscdk.NewNestedStack(stack, jsii.String("Nested"), nil)
	asset := awss3assets.NewAsset(nested, jsii.String("Data"), &awss3assets.AssetProps{Path: jsii.String(src)})
	awscdk.NewCfnOutput(nested, jsii.String("Key"), &awscdk.CfnOutputProps{Value: asset.S3ObjectKey()})
	other := awscdk.NewStack(app, jsii.String("Client"), props)
	awscdk.NewCfnOutput(other, jsii.String("Version"), &awscdk.CfnOutputProps{Value: fn.CurrentVersion().FunctionArn()})
	return []awscdk.Stack{stack, nested, other}
}

// raw returns stack's template as synthesized.
func raw(t *testing.T, stack awscdk.Stack) string {
	t.Helper()
	asm := awscdk.Stage_Of(stack).Synth(nil)
	b, err := os.ReadFile(filepath.Join(*asm.Directory(), *stack.TemplateFile()))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// leftovers are what normalized templates must not hold.
var leftovers = regexp.MustCompile(`[0-9a-f]{64}|hnb659fds|aws:asset:|AWS::CDK::Metadata|CDKMetadataAvailable|BootstrapVersion|[0-9a-f]{32}`)

// TestTemplateStable synthesizes the same app three times, the third time with different
// function code, and checks that normalized templates are byte-identical although the
// raw ones differ; for the default and the legacy stack synthesizer.
func TestTemplateStable(t *testing.T) {
	for _, synth := range []struct {
		name   string
		legacy bool
	}{{"default", false}, {"legacy", true}} {
		t.Run(synth.name, func(t *testing.T) {
			first := build(t, "def handler(e, c): return 1\n", synth.legacy)
			again := build(t, "def handler(e, c): return 1\n", synth.legacy)
			changed := build(t, "def handler(e, c): return 2\n", synth.legacy)
			for i, stack := range first {
				name := *stack.ArtifactId()
				if raw(t, stack) == raw(t, changed[i]) {
					t.Errorf("%s: changing the code did not change the raw template; the test proves nothing", name)
				}
				want, err := Template(stack)
				if err != nil {
					t.Fatal(err)
				}
				if m := leftovers.Find(want); m != nil {
					t.Errorf("%s: normalized template still holds %q:\n%s", name, m, want)
				}
				for label, other := range map[string]awscdk.Stack{"second synth": again[i], "changed code": changed[i]} {
					got, err := Template(other)
					if err != nil {
						t.Fatal(err)
					}
					if string(got) != string(want) {
						diff, _ := Diff(want, got)
						t.Errorf("%s: normalized template of the %s differs from the first:\n%s", name, label, diff)
					}
				}
				Match(t, stack)
			}
		})
	}
}

func TestTemplateErrors(t *testing.T) {
	app := NewApp(t, nil)
	stack := awscdk.NewStack(app, jsii.String("Bad"), nil)
	stack.Node().AddValidation(&failing{})
	_, err := Template(stack)
	if err == nil || !strings.Contains(err.Error(), "synthesizing Bad: ") || !strings.Contains(err.Error(), "budget exceeded") {
		t.Errorf("Template of a stack that fails validation: error %v, want one naming the stack and the failure", err)
	}
	if strings.Contains(fmt.Sprint(err), "\n    at ") {
		t.Errorf("Template error holds a JavaScript stack: %v", err)
	}
}

type failing struct{}

func (failing) Validate() *[]*string { return jsii.Strings("budget exceeded") }

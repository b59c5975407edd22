// Package snapshot compares synthesized CloudFormation templates with golden files, for
// "nothing changed that I did not mean" tests of CDK apps written in Go.
//
// A test builds its stacks in an app from NewApp and hands each stack to Match:
//
//	func TestSnapshot(t *testing.T) {
//		app := snapshot.NewApp(t, nil)
//		stack := myapp.NewStack(app, "Api")
//		snapshot.Match(t, stack)
//	}
//
// Match synthesizes the stack's app once, normalizes the template (see Normalize) and
// compares it with testdata/snapshots/<test name>/<stack>.json in the test's package
// directory. On a mismatch it reports every added, removed and changed resource (see
// Diff) and how to accept the change:
//
//	go test ./mypkg -run '^TestSnapshot$' -update
//
// # The -update flag
//
// The package registers -update on the standard flag set when it is initialized, so a
// test binary that imports it accepts the flag. Packages are initialized before the tests
// that import them, so a test file of the same binary that declares its own
// flag.Bool("update", ...) panics with "flag redefined: update": such a test reads
// Update instead. If a package initialized earlier already defined -update, this package
// uses that flag rather than defining a second one.
//
// The go command passes -update to every package a pattern names, and a test binary that
// does not define it fails with "flag provided but not defined: -update"; so refresh the
// packages that hold snapshot tests by name (go test ./stacks -update), not ./... unless
// every package with tests accepts -update.
//
// Import this package from tests only: it imports package testing.
package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// DefaultDir is where golden files go, relative to the test's package directory.
const DefaultDir = "testdata/snapshots"

var update = updateFlag()

func updateFlag() func() bool {
	if f := flag.Lookup("update"); f != nil {
		return func() bool {
			b, _ := strconv.ParseBool(f.Value.String())
			return b
		}
	}
	p := flag.Bool("update", false, "rewrite snapshot golden files in testdata with the current templates")
	return func() bool { return *p }
}

// Update reports whether the test binary runs with -update. Tests that keep golden files
// of their own use it instead of defining the flag again.
func Update() bool { return update() }

// Option changes where Match and MatchJSON keep a golden file.
type Option func(*options)

type options struct {
	dir, name string
}

// Dir keeps golden files under dir instead of DefaultDir.
func Dir(dir string) Option { return func(o *options) { o.dir = filepath.FromSlash(dir) } }

// Name names the golden file: <dir>/<name>.json. Slashes in name make subdirectories.
// Default: the test's name (subtests as subdirectories), and for Match a last element
// that is the stack's artifact ID, so that one test can match several stacks.
func Name(name string) Option { return func(o *options) { o.name = name } }

func (o options) file(name string) string {
	if o.name != "" {
		name = filepath.FromSlash(o.name)
	}
	return filepath.Join(o.dir, strings.TrimSuffix(name, ".json")+".json")
}

func newOptions(opts []Option) options {
	o := options{dir: filepath.FromSlash(DefaultDir)}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Match compares stack's normalized template (see Template) with its golden file and
// reports a mismatch with t.Errorf, listing what changed (see Diff). With -update it writes
// the golden file instead. It stops the test with t.Fatalf when the stack does not
// synthesize.
func Match(t testing.TB, stack awscdk.Stack, opts ...Option) {
	t.Helper()
	o := newOptions(opts)
	got, err := Template(stack)
	if err != nil {
		t.Fatalf("snapshot: %v", err)
		return
	}
	compare(t, o.file(filepath.Join(testPath(t), *stack.ArtifactId())), got)
}

// MatchJSON is Match for a template that is already synthesized, such as one from
// cdk.out: it normalizes template and compares it with its golden file, by default named
// after the test alone.
func MatchJSON(t testing.TB, template []byte, opts ...Option) {
	t.Helper()
	o := newOptions(opts)
	got, err := Normalize(template)
	if err != nil {
		t.Fatalf("snapshot: %v", err)
		return
	}
	compare(t, o.file(testPath(t)), got)
}

func compare(t testing.TB, path string, got []byte) {
	t.Helper()
	want, err := os.ReadFile(path)
	if Update() {
		if err == nil && bytes.Equal(want, got) {
			return
		}
		if werr := write(path, got); werr != nil {
			t.Fatalf("snapshot: %v", werr)
			return
		}
		if err != nil {
			t.Logf("snapshot: wrote %s", path)
			return
		}
		if diff, derr := Diff(want, got); derr == nil && diff != "" {
			t.Logf("snapshot: updated %s:\n%s", path, indent(diff))
		} else {
			t.Logf("snapshot: updated %s", path)
		}
		return
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		t.Errorf("snapshot: golden file %s does not exist; create it by running\n\t%s", path, rerun(t))
	case err != nil:
		t.Errorf("snapshot: %v", err)
	case !bytes.Equal(want, got):
		diff, derr := Diff(want, got)
		switch {
		case derr != nil:
			diff = fmt.Sprintf("the golden file does not parse (%v)", derr)
		case diff == "":
			diff = "same values, different formatting (was the golden file edited by hand?)"
		}
		t.Errorf("snapshot: %s does not match the template:\n%s\nIf the change is intended, refresh the golden file by running\n\t%s",
			path, indent(diff), rerun(t))
	}
}

func write(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func indent(s string) string {
	return "\t" + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n\t")
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_.#=+-]`)

// testPath turns the test's name into a relative path: one element per subtest, with
// characters that are unsafe in file names replaced by "_".
func testPath(t testing.TB) string {
	parts := strings.Split(t.Name(), "/")
	for i, p := range parts {
		p = unsafeChars.ReplaceAllString(p, "_")
		if p == "" || p == "." || p == ".." {
			p = "_"
		}
		parts[i] = p
	}
	return filepath.Join(parts...)
}

// rerun is the command that runs just this test with -update.
func rerun(t testing.TB) string {
	parts := strings.Split(t.Name(), "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return fmt.Sprintf("go test %s -run '%s' -update", packageDir(), strings.Join(parts, "/"))
}

// packageDir is the working directory (the test's package) relative to the module root,
// as the go command takes it: "./stacks". It is "." when there is no go.mod above.
func packageDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			rel, err := filepath.Rel(dir, wd)
			if err != nil || rel == "." {
				return "."
			}
			return "./" + filepath.ToSlash(rel)
		}
		if filepath.Dir(dir) == dir {
			return "."
		}
	}
}

// Template synthesizes the stage (usually the app) that holds stack, unless it is
// synthesized already, and returns stack's template, normalized (see Normalize). A stage
// synthesizes once: Template and Match on its other stacks reuse the cloud assembly. A
// panic during synthesis, such as a failed validation, becomes the error.
func Template(stack awscdk.Stack) (template []byte, err error) {
	if stack == nil {
		return nil, errors.New("stack is nil")
	}
	path := *stack.Node().Path()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("synthesizing %s: %s", path, jsError(r))
		}
	}()
	stage := awscdk.Stage_Of(stack)
	if stage == nil {
		return nil, fmt.Errorf("stack %s is not in an app or stage", path)
	}
	asm := stage.Synth(nil)
	file := filepath.Join(*asm.Directory(), *stack.TemplateFile())
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("stack %s: %v", path, err)
	}
	if template, err = Normalize(raw); err != nil {
		return nil, fmt.Errorf("stack %s: %s: %v", path, file, err)
	}
	return template, nil
}

// jsError is the message of a panic from jsii, without the JavaScript stack.
func jsError(r any) string {
	msg := fmt.Sprint(r)
	if i := strings.Index(msg, "\n    at "); i >= 0 {
		msg = msg[:i]
	}
	return strings.TrimSpace(msg)
}

// NewApp returns an app for a snapshot test. Its context is the "context" object of the
// cdk.json in the working directory or the nearest parent up to the module root (the
// feature flags that `cdk synth` applies), with context's entries added or replaced. It
// reads neither cdk.context.json nor ~/.cdk.json, which differ between machines.
//
// The app writes its cloud assembly to a directory that t removes when the test ends, and
// it leaves out what a snapshot does not need: aws-cdk-lib's built-in CloudFormation
// validation (seconds per synth), version reporting and construct stack traces.
func NewApp(t testing.TB, context map[string]any) awscdk.App {
	t.Helper()
	ctx, err := cdkContext()
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	for k, v := range context {
		ctx[k] = v
	}
	return awscdk.NewApp(&awscdk.AppProps{
		// PostCliContext wins over context from the environment (CDK_CONTEXT_JSON).
		PostCliContext:                  &ctx,
		Outdir:                          jsii.String(t.TempDir()),
		AnalyticsReporting:              jsii.Bool(false),
		StackTraces:                     jsii.Bool(false),
		BuiltinCloudFormationValidation: jsii.Bool(false),
	})
}

// cdkContext reads the "context" object of the nearest cdk.json, looking from the working
// directory up to the module root.
func cdkContext() (map[string]any, error) {
	ctx := map[string]any{}
	dir, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "cdk.json"))
		if err == nil {
			var cfg struct {
				Context map[string]any `json:"context"`
			}
			if err := json.Unmarshal(b, &cfg); err != nil {
				return nil, fmt.Errorf("%s: %v", filepath.Join(dir, "cdk.json"), err)
			}
			for k, v := range cfg.Context {
				ctx[k] = v
			}
			return ctx, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil || filepath.Dir(dir) == dir {
			return ctx, nil
		}
		dir = filepath.Dir(dir)
	}
}

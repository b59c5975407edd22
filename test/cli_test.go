package test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// cdk runs the pinned CDK CLI (what `make synth` runs) in the project root, with env()
// and extraEnv.
func cdk(t *testing.T, extraEnv []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(root, "node_modules", ".bin", "cdk"), args...)
	cmd.Dir = root
	cmd.Env = env(extraEnv...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var (
	cliOnce        sync.Once
	cliOut, cliDir string
	cliErr         error
)

// cliSynth runs README's synth command once per test binary, with the real CLI and the
// real go build of the sample function, and returns its output and cloud assembly
// directory. It turns aws-cdk-lib's built-in template validation off (half of this
// synth's CPU time): package stacks runs it on the variants that between them hold every
// kind of resource the app builds, with the feature flags of cdk.json.
func cliSynth(t *testing.T) (out, dir string) {
	t.Helper()
	cliOnce.Do(func() {
		cliDir = filepath.Join(work, "cdk.out") // removed by TestMain
		cliOut, cliErr = cdk(t, []string{"CDK_VALIDATION=false"}, "synth", "-q", "--output", cliDir)
	})
	if cliErr != nil {
		t.Fatalf("cdk synth: %v\n%s", cliErr, cliOut)
	}
	return cliOut, cliDir
}

// TestCLISynth checks what README's synth command builds.
func TestCLISynth(t *testing.T) {
	out, dir := cliSynth(t)
	if !strings.Contains(out, "max_connections") {
		t.Errorf("cdk synth output has no budget table:\n%s", out)
	}
	// The CLI warns about every "aws:" key in cdk.json; the app gives its own as defaults.
	if strings.Contains(out, "reserved context key") {
		t.Errorf("cdk synth warns about a reserved context key in cdk.json:\n%s", out)
	}
	data := template(t, dir, "LambdaRdsData")
	for typ, want := range map[string]int{
		"AWS::EC2::VPC": 1, "AWS::EC2::InternetGateway": 0, "AWS::EC2::NatGateway": 0,
		"AWS::RDS::DBInstance": 1, "AWS::RDS::DBProxy": 1, "AWS::EC2::FlowLog": 1,
	} {
		if got := len(resources(data, typ)); got != want {
			t.Errorf("%s count = %d, want %d", typ, got, want)
		}
	}
	for _, s := range resources(data, "AWS::EC2::Subnet") {
		if s["MapPublicIpOnLaunch"] != false {
			t.Errorf("subnet %v maps public IPs", s["Tags"])
		}
	}
	proxy := resources(data, "AWS::RDS::DBProxy")[0]
	if proxy["RequireTLS"] != true || proxy["DefaultAuthScheme"] != "IAM_AUTH" {
		t.Errorf("proxy RequireTLS %v, DefaultAuthScheme %v; want true, IAM_AUTH", proxy["RequireTLS"], proxy["DefaultAuthScheme"])
	}
	fn := resources(template(t, dir, "LambdaRdsFunctions"), "AWS::Lambda::Function")[0]
	if fn["VpcConfig"] == nil || fn["ReservedConcurrentExecutions"] != 59.0 {
		t.Errorf("function VpcConfig %v, ReservedConcurrentExecutions %v; want a VPC and 59", fn["VpcConfig"], fn["ReservedConcurrentExecutions"])
	}
}

// TestBudgetFailsThroughCLI runs a budget that cannot hold through the real CDK CLI: the
// user sees the app's message, without a stack trace, the CLI exits non-zero, and the
// output directory holds no cloud assembly.
func TestBudgetFailsThroughCLI(t *testing.T) {
	outdir := t.TempDir()
	// The program TestMain built, not cdk.json's `go run .`, which TestCLISynth runs.
	out, err := cdk(t, nil, "synth", "-q", "--app", app, "--output", outdir, "-c", "lambdards:skipBundling=true",
		"-c", `functions={"items":{"entry":"functions/items","reservedConcurrency":500}}`)
	if _, ok := err.(*exec.ExitError); !ok {
		t.Fatalf("cdk synth = %v, want a non-zero exit\n%s", err, out)
	}
	for _, want := range []string{"lambdards: LambdaRdsData/Pool: connection budget:", "LambdaRdsFunctions/items", "500", "lower a reservedConcurrency"} {
		if !strings.Contains(out, want) {
			t.Errorf("cdk synth output does not contain %q:\n%s", want, out)
		}
	}
	noTrace(t, out)
	if fileExists(filepath.Join(outdir, "manifest.json")) {
		t.Errorf("%s holds a manifest.json after a failed synth", outdir)
	}
}

// TestBadInputThroughCLI runs configurations that the app refuses through the real CDK
// CLI, as a user types them with -c (an empty value is "key="): the CLI exits non-zero,
// prints the app's exact message without a stack trace, and leaves no cloud assembly.
func TestBadInputThroughCLI(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"empty value", []string{"-c", "maxAcu="},
			"  - maxAcu = \"\": empty; give a value, or remove the key for the default 4\n"},
		{"key that does not apply", []string{"-c", "maxAcu=8"},
			"  - maxAcu = 8 with database = instance (the default): Aurora capacity units size Aurora Serverless v2, " +
				"and an RDS instance is sized by its instanceClass; remove maxAcu, or set database = serverless\n"},
		{"lambdards key misspelled", []string{"-c", "lambdards:nags=true"},
			"  - lambdards:nags: unknown context key; the lambdards: keys are lambdards:nag, lambdards:skipBundling\n"},
		{"function weight 0", []string{"-c", `functions={"items":{"entry":"functions/items","weight":0}}`},
			"  - functions = \"{\\\"items\\\":{\\\"entry\\\":\\\"functions/items\\\",\\\"weight\\\":0}}\": function \"items\" has " +
				"weight = 0: must be 1 or more; remove weight for the default 1\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			outdir := t.TempDir()
			args := append([]string{"synth", "-q", "--app", app, "--output", outdir, "-c", "lambdards:skipBundling=true"}, tt.args...)
			out, err := cdk(t, nil, args...)
			if _, ok := err.(*exec.ExitError); !ok {
				t.Fatalf("cdk synth = %v, want a non-zero exit\n%s", err, out)
			}
			if want := invalid[:len(invalid)-len("\n  - ")] + "\n" + tt.want; !strings.Contains(out, "lambdards: "+want) {
				t.Errorf("cdk synth output =\n%s\nwant it to contain\nlambdards: %s", out, want)
			}
			noTrace(t, out)
			if fileExists(filepath.Join(outdir, "manifest.json")) {
				t.Errorf("%s holds a manifest.json after a failed synth", outdir)
			}
		})
	}
}

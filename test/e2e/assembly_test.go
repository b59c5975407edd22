package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/lambdards/lambdards/constructs/budget"
	"github.com/lambdards/lambdards/constructs/users"
	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/functions/dbconn"
	"github.com/lambdards/lambdards/functions/dbenv"
	"github.com/lambdards/lambdards/internal/cdktest"
	"github.com/lambdards/lambdards/internal/gobuild"
	"github.com/lambdards/lambdards/internal/testdb"
	"github.com/lambdards/lambdards/stacks"
)

// maxConnections is the max_connections the harness synthesizes with: small, so that the
// budget gives a handful of execution environments and the over-cap run can exceed the
// server's limit with few processes. With RDS PostgreSQL's 5 reserved slots and the
// default headroom of 5 it leaves 10 connections for the proxy, and 10 environments.
const maxConnections = 20

// workDir holds the app binary and the cloud assembly; TestMain removes it.
var workDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lambdards-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	workDir = dir
	code := cdktest.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// app is a way of synthesizing the default app: the harness's context for it.
type app struct {
	// Name names its cloud assembly directory.
	Name string
	// Context is added to the project's cdk.json context.
	Context map[string]any
	// DataAPI says its functions query through the RDS Data API.
	DataAPI bool
}

var (
	// proxyApp is the app as the default environment synthesizes it (RDS PostgreSQL
	// behind RDS Proxy), with a small max_connections and the alarms.
	proxyApp = app{Name: "proxy", Context: map[string]any{"maxConnections": strconv.Itoa(maxConnections), "alarms": "true"}}
	// dataAPIApp is the preset whose functions query through the Data API (cheapest:
	// Aurora PostgreSQL Serverless v2 pausing at 0 ACU, connection=dataapi), with the same
	// max_connections and alarms.
	dataAPIApp = app{Name: "dataapi", DataAPI: true,
		Context: map[string]any{"env": "cheapest", "maxConnections": strconv.Itoa(maxConnections), "alarms": "true"}}
)

// assembly is what synth produced that the harness needs.
type assembly struct {
	// App is how it was synthesized.
	App app
	// Dir is the cloud assembly directory (cdk.out).
	Dir string
	// Budget is cdk.out/lambdards-budget.json.
	Budget budget.Result
	// Function is the sample function's allocation in Budget.
	Function budget.Allocation

	// MaxConnections is max_connections in the Data stack's parameter group.
	MaxConnections int
	// ProxyMaxConnectionsPercent and BorrowTimeoutSeconds are the RDS Proxy target
	// group's ConnectionPoolConfigurationInfo.
	ProxyMaxConnectionsPercent int
	BorrowTimeoutSeconds       int

	// ReservedConcurrency is the function's ReservedConcurrentExecutions.
	ReservedConcurrency int
	// TimeoutSeconds and MemorySize are the function's.
	TimeoutSeconds int
	MemorySize     int
	// Env is the function's environment as synthesized; values that are not plain
	// strings (the proxy endpoint, a cross-stack reference) are left out.
	Env map[string]string
	// EnvTokens are the function's environment variables whose values are not plain
	// strings, as synthesized (a Ref, a cross-stack reference), by name.
	EnvTokens map[string]json.RawMessage
	// InVPC says the function has a VpcConfig.
	InVPC bool
	// User is the database user the function declares: its custom resource's User.
	User dbspec.User
	// UserProps are that custom resource's other properties, as synthesized.
	UserProps map[string]json.RawMessage
	// Secrets are the username in each Secrets Manager secret's template, by logical ID
	// (a generated secret's SecretStringTemplate).
	Secrets map[string]string
	// Bootstrap is the function's binary in its asset directory.
	Bootstrap string
	// ConnectionsAlarm is the Monitoring stack's alarm on the database's connections:
	// DatabaseConnections above Threshold (GreaterThanThreshold).
	ConnectionsAlarm struct {
		Threshold          float64
		ComparisonOperator string
	}
}

// alarms says the app was synthesized with the alarms, whose connections alarm
// readTarget reads and check compares with the budget.
func (a *assembly) alarms() bool { return a.App.Context["alarms"] == "true" }

// ProxyConnections is how many database connections RDS Proxy may open: the target's
// max_connections times MaxConnectionsPercent, rounded down (Amazon RDS User Guide, "RDS
// Proxy connection considerations": MaxConnectionsPercent is a percentage of the target's
// max_connections).
func (a *assembly) ProxyConnections() int {
	return a.MaxConnections * a.ProxyMaxConnectionsPercent / 100
}

var (
	synthMu      sync.Mutex
	synthResults = map[string]*assembly{}
	synthErrs    = map[string]error{}
)

// synthesize runs the app program once per test binary, as `cdk synth -c
// maxConnections=20 -c alarms=true` would, and reads the cloud assembly. It skips (or
// fails, with CI=true) when Node.js is missing: synth runs aws-cdk-lib on it.
func synthesize(t testing.TB) *assembly {
	t.Helper()
	return synthesizeApp(t, proxyApp)
}

// synthesizeDataAPI is synthesize for the Data API scenarios: `cdk synth -c env=cheapest
// -c maxConnections=20 -c alarms=true`.
func synthesizeDataAPI(t testing.TB) *assembly {
	t.Helper()
	return synthesizeApp(t, dataAPIApp)
}

func synthesizeApp(t testing.TB, a app) *assembly {
	t.Helper()
	prerequisites(t)
	synthMu.Lock()
	defer synthMu.Unlock()
	if synthResults[a.Name] == nil && synthErrs[a.Name] == nil {
		synthResults[a.Name], synthErrs[a.Name] = synth(a)
	}
	if err := synthErrs[a.Name]; err != nil {
		t.Fatal(err)
	}
	return synthResults[a.Name]
}

// prerequisites skips the test, or fails it with CI=true, when a program the harness
// needs is missing, before it spends time on synth: go and Node.js for synth,
// PostgreSQL and pgbouncer, the Lambda Runtime Interface Emulator, and qemu unless this
// machine runs arm64 binaries itself.
func prerequisites(t testing.TB) {
	t.Helper()
	names := []string{"go", "node", "postgres", "pgbouncer"}
	if runtime.GOARCH != "arm64" {
		names = append(names, qemu)
	}
	testdb.SkipIfMissing(t, names...)
	emulatorPath(t)
}

// appBinary is the app program, built once per test binary.
var appBinary = sync.OnceValues(func() (string, error) { return cdktest.BuildApp("e2e") })

func synth(a app) (*assembly, error) {
	out, err := synthDir(a)
	if err != nil {
		return nil, err
	}
	return readAssembly(out, a)
}

// synthDir runs the app program as `cdk synth` would, with the project's context and
// a's, into a cloud assembly directory of a's name under workDir, and returns it.
func synthDir(a app) (string, error) {
	bin, err := appBinary()
	if err != nil {
		return "", fmt.Errorf("building the app: %v", err)
	}
	ctx := cdktest.ProjectContext()
	for k, v := range a.Context {
		ctx[k] = v
	}
	b, err := json.Marshal(ctx)
	if err != nil {
		return "", err
	}
	out := filepath.Join(workDir, "cdk.out."+a.Name)
	cmd := exec.Command(bin)
	cmd.Dir = cdktest.Root()
	// Without aws-cdk-lib's template validation (seconds per synth): the harness runs what
	// synth produced; test.TestCLISynth checks that the same app passes validation.
	cmd.Env = append(os.Environ(), "CDK_CONTEXT_JSON="+string(b), "CDK_OUTDIR="+out, "CDK_VALIDATION=false")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("synth with %v: %v\n%s", a.Context, err, stderr.String())
	}
	return out, nil
}

// readAssembly reads the budget, the Data stack's database settings and the sample
// function from a cloud assembly synthesized as app, and checks that they agree.
func readAssembly(dir string, app app) (*assembly, error) { return readTarget(dir, app, false) }

// readTarget is readAssembly for the writer's budget and its one function, or, with
// reader, for the reader's budget (the report's "reader") and its one function. An app
// synthesized with the alarms must have the alarm on the database's connections, at the
// budget's threshold.
func readTarget(dir string, app app, reader bool) (*assembly, error) {
	a := &assembly{App: app, Dir: dir, Env: map[string]string{}, EnvTokens: map[string]json.RawMessage{}, Secrets: map[string]string{}}
	var report struct {
		budget.Result
		Reader *budget.Result `json:"reader"`
	}
	if err := readJSON(filepath.Join(dir, stacks.ReportFile), &report); err != nil {
		return nil, err
	}
	a.Budget = report.Result
	if reader {
		if report.Reader == nil {
			return nil, fmt.Errorf("%s: the budget report has no reader", dir)
		}
		a.Budget = *report.Reader
	}
	if len(a.Budget.Functions) != 1 {
		return nil, fmt.Errorf("budget has %d functions, want one", len(a.Budget.Functions))
	}
	a.Function = a.Budget.Functions[0]

	var manifest struct {
		Artifacts map[string]struct {
			Type       string `json:"type"`
			Properties struct {
				TemplateFile string `json:"templateFile"`
				File         string `json:"file"`
			} `json:"properties"`
			Dependencies []string `json:"dependencies"`
			// Metadata, inline or in a file of its own, maps construct paths to
			// what was built there, logical IDs among it.
			Metadata               map[string][]metadataEntry `json:"metadata"`
			AdditionalMetadataFile string                     `json:"additionalMetadataFile"`
		} `json:"artifacts"`
	}
	if err := readJSON(filepath.Join(dir, "manifest.json"), &manifest); err != nil {
		return nil, err
	}
	var foundDB, foundProxy, foundFn, foundUser, foundAlarm bool
	for id, art := range manifest.Artifacts {
		if art.Type != "aws:cloudformation:stack" {
			continue
		}
		var tmpl struct {
			Resources map[string]resource
		}
		if err := readJSON(filepath.Join(dir, art.Properties.TemplateFile), &tmpl); err != nil {
			return nil, err
		}
		meta := art.Metadata
		if art.AdditionalMetadataFile != "" {
			if err := readJSON(filepath.Join(dir, art.AdditionalMetadataFile), &meta); err != nil {
				return nil, err
			}
		}
		paths := map[string]string{} // logical ID → construct path
		for path, entries := range meta {
			for _, e := range entries {
				if lid, ok := e.Data.(string); ok && e.Type == "aws:cdk:logicalId" {
					paths[lid] = path
				}
			}
		}
		for lid, r := range tmpl.Resources {
			switch r.Type {
			case "AWS::RDS::DBParameterGroup":
				var p struct{ Parameters map[string]string }
				if err := json.Unmarshal(r.Properties, &p); err != nil {
					return nil, fmt.Errorf("%s %s: %v", id, lid, err)
				}
				n, err := strconv.Atoi(p.Parameters["max_connections"])
				if err != nil {
					return nil, fmt.Errorf("%s %s: max_connections %q: %v", id, lid, p.Parameters["max_connections"], err)
				}
				a.MaxConnections, foundDB = n, true
			case "AWS::RDS::DBProxyTargetGroup":
				var p struct {
					ConnectionPoolConfigurationInfo struct {
						ConnectionBorrowTimeout int
						MaxConnectionsPercent   int
					}
				}
				if err := json.Unmarshal(r.Properties, &p); err != nil {
					return nil, fmt.Errorf("%s %s: %v", id, lid, err)
				}
				a.ProxyMaxConnectionsPercent = p.ConnectionPoolConfigurationInfo.MaxConnectionsPercent
				a.BorrowTimeoutSeconds = p.ConnectionPoolConfigurationInfo.ConnectionBorrowTimeout
				foundProxy = true
			case "AWS::Lambda::Function":
				if !strings.HasPrefix(paths[lid], "/"+a.Function.Name+"/") {
					continue
				}
				// The stack's asset manifest is the cdk:asset-manifest artifact it
				// depends on.
				var assets string
				for _, dep := range art.Dependencies {
					if d := manifest.Artifacts[dep]; d.Type == "cdk:asset-manifest" {
						assets = d.Properties.File
					}
				}
				if assets == "" {
					return nil, fmt.Errorf("%s: no asset manifest among its dependencies %v", id, art.Dependencies)
				}
				if err := a.readFunction(filepath.Join(dir, assets), r); err != nil {
					return nil, fmt.Errorf("%s %s: %v", id, lid, err)
				}
				foundFn = true
			case users.ResourceType:
				if !strings.HasPrefix(paths[lid], "/"+a.Function.Name+"/") {
					continue
				}
				if err := json.Unmarshal(r.Properties, &a.UserProps); err != nil {
					return nil, fmt.Errorf("%s %s: %v", id, lid, err)
				}
				var spec string
				if err := json.Unmarshal(a.UserProps["User"], &spec); err != nil {
					return nil, fmt.Errorf("%s %s: User: %v", id, lid, err)
				}
				if err := json.Unmarshal([]byte(spec), &a.User); err != nil {
					return nil, fmt.Errorf("%s %s: User %q: %v", id, lid, spec, err)
				}
				foundUser = true
			case "AWS::SecretsManager::Secret":
				var p struct {
					GenerateSecretString struct{ SecretStringTemplate string }
				}
				if err := json.Unmarshal(r.Properties, &p); err != nil {
					return nil, fmt.Errorf("%s %s: %v", id, lid, err)
				}
				var template struct{ Username string }
				if json.Unmarshal([]byte(p.GenerateSecretString.SecretStringTemplate), &template) == nil {
					a.Secrets[lid] = template.Username
				}
			case "AWS::CloudWatch::Alarm":
				var p struct {
					Namespace, MetricName, ComparisonOperator string
					Threshold                                 float64
				}
				if err := json.Unmarshal(r.Properties, &p); err != nil {
					return nil, fmt.Errorf("%s %s: %v", id, lid, err)
				}
				if p.Namespace == "AWS/RDS" && p.MetricName == "DatabaseConnections" {
					a.ConnectionsAlarm.Threshold, a.ConnectionsAlarm.ComparisonOperator = p.Threshold, p.ComparisonOperator
					foundAlarm = true
				}
			}
		}
	}
	switch {
	case !foundDB:
		return nil, fmt.Errorf("%s: no DB parameter group with max_connections", dir)
	case !foundProxy && !app.DataAPI:
		return nil, fmt.Errorf("%s: no RDS Proxy target group (the harness needs connection=proxy)", dir)
	case foundProxy && app.DataAPI:
		return nil, fmt.Errorf("%s: an RDS Proxy target group, but the functions were to query through the Data API", dir)
	case !foundFn:
		return nil, fmt.Errorf("%s: no Lambda function under %s", dir, a.Function.Name)
	case !foundUser:
		return nil, fmt.Errorf("%s: no %s under %s", dir, users.ResourceType, a.Function.Name)
	case a.alarms() && !foundAlarm:
		return nil, fmt.Errorf("%s: no alarm on the database's DatabaseConnections (the harness needs alarms=true)", dir)
	}
	return a, a.check()
}

// resource is one template resource, as much of it as the harness reads.
type resource struct {
	Type       string
	Properties json.RawMessage
}

// metadataEntry is one entry of a cloud assembly artifact's metadata.
type metadataEntry struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

// readFunction reads the function's settings and finds its bootstrap: the function's
// Code.S3Key is the asset's hash plus ".zip", and the stack's asset manifest maps that
// hash to the directory, relative to the manifest, that the zip would be made from.
func (a *assembly) readFunction(assetManifest string, r resource) error {
	var p struct {
		Code struct {
			S3Key string
		}
		ReservedConcurrentExecutions int
		Timeout                      int
		MemorySize                   int
		VpcConfig                    json.RawMessage
		Environment                  struct {
			Variables map[string]json.RawMessage
		}
	}
	if err := json.Unmarshal(r.Properties, &p); err != nil {
		return err
	}
	a.ReservedConcurrency, a.TimeoutSeconds, a.MemorySize = p.ReservedConcurrentExecutions, p.Timeout, p.MemorySize
	a.InVPC = len(p.VpcConfig) > 0
	for k, v := range p.Environment.Variables {
		var s string
		if json.Unmarshal(v, &s) == nil {
			a.Env[k] = s
		} else {
			a.EnvTokens[k] = v
		}
	}
	hash, ok := strings.CutSuffix(p.Code.S3Key, ".zip")
	if !ok {
		return fmt.Errorf("Code.S3Key = %q, want an asset hash and .zip", p.Code.S3Key)
	}
	var assets struct {
		Files map[string]struct {
			Source struct {
				Path      string `json:"path"`
				Packaging string `json:"packaging"`
			} `json:"source"`
		} `json:"files"`
	}
	if err := readJSON(assetManifest, &assets); err != nil {
		return err
	}
	src, ok := assets.Files[hash]
	if !ok {
		return fmt.Errorf("%s has no asset %s", assetManifest, hash)
	}
	a.Bootstrap = filepath.Join(filepath.Dir(assetManifest), src.Source.Path, gobuild.Binary)
	if _, err := os.Stat(a.Bootstrap); err != nil {
		return fmt.Errorf("the function's asset: %v", err)
	}
	return nil
}

// check makes sure the budget report and the templates say the same: the harness sizes
// the local servers from the templates and asserts against the budget. For the Data API
// app it also checks the function's wiring to the Data API: no VPC, the mode, a cluster
// and a secret of its own that names its declared user, and the provisioner given the
// same cluster and secret.
func (a *assembly) check() error {
	var bad []string
	if a.MaxConnections != a.Budget.MaxConnections || a.MaxConnections != maxConnections {
		bad = append(bad, fmt.Sprintf("max_connections: parameter group %d, budget %d, asked for %d", a.MaxConnections, a.Budget.MaxConnections, maxConnections))
	}
	if a.ProxyMaxConnectionsPercent != a.Budget.ProxyMaxConnectionsPercent || a.ProxyConnections() != a.Budget.ProxyConnections {
		bad = append(bad, fmt.Sprintf("proxy: MaxConnectionsPercent %d%% of %d = %d connections, budget %d%% = %d", a.ProxyMaxConnectionsPercent, a.MaxConnections, a.ProxyConnections(), a.Budget.ProxyMaxConnectionsPercent, a.Budget.ProxyConnections))
	}
	if a.ReservedConcurrency != a.Function.ReservedConcurrency || a.ReservedConcurrency < 2 {
		bad = append(bad, fmt.Sprintf("reserved concurrency: template %d, budget %d, want the same and at least 2", a.ReservedConcurrency, a.Function.ReservedConcurrency))
	}
	if a.Function.ConnectionsPerEnvironment != 1 || a.Env[dbenv.MaxConns] != "1" {
		bad = append(bad, fmt.Sprintf("connections per environment: budget %d, %s %q, want 1", a.Function.ConnectionsPerEnvironment, dbenv.MaxConns, a.Env[dbenv.MaxConns]))
	}
	if a.Env[dbenv.Engine] != "postgres" || a.Env[dbenv.Name] == "" {
		bad = append(bad, fmt.Sprintf("function environment %v: want engine postgres and a database", a.Env))
	}
	if a.App.DataAPI {
		bad = append(bad, a.dataAPIProblems()...)
	} else if a.User.Name != a.Env[dbenv.User] {
		bad = append(bad, fmt.Sprintf("the function's declared user %q is not the one it signs in as, %s %q", a.User.Name, dbenv.User, a.Env[dbenv.User]))
	}
	// The alarm's threshold is the budget's figure, as package budget computes it.
	if want := a.Budget.Thresholds(float64(a.BorrowTimeoutSeconds)).DatabaseConnections; a.alarms() &&
		(a.ConnectionsAlarm.Threshold != float64(want) || a.ConnectionsAlarm.ComparisonOperator != "GreaterThanThreshold") {
		bad = append(bad, fmt.Sprintf("connections alarm: %s %v, budget's threshold %d", a.ConnectionsAlarm.ComparisonOperator,
			a.ConnectionsAlarm.Threshold, want))
	}
	if a.TimeoutSeconds <= a.BorrowTimeoutSeconds {
		bad = append(bad, fmt.Sprintf("function timeout %d s not above the borrow timeout %d s", a.TimeoutSeconds, a.BorrowTimeoutSeconds))
	}
	if len(bad) > 0 {
		return fmt.Errorf("cloud assembly %s is not what the harness expects:\n  %s", a.Dir, strings.Join(bad, "\n  "))
	}
	return nil
}

// dataAPIProblems checks what the Data API app gives the function, which the Data API
// scenarios rely on: the environment dbconn reads in dataapi mode (the cluster and the
// secret as tokens, which the harness replaces), no connection settings, no VPC, a
// secret that holds the declared user, and the same cluster and secret in the user's
// custom resource, so that the provisioner gives that user the secret's password.
func (a *assembly) dataAPIProblems() []string {
	var bad []string
	if !a.Budget.DataAPI || a.Budget.Proxy {
		bad = append(bad, fmt.Sprintf("budget: dataApi %t, proxy %t; want the Data API and no proxy", a.Budget.DataAPI, a.Budget.Proxy))
	}
	if a.Env[dbenv.Mode] != string(dbconn.ModeDataAPI) {
		bad = append(bad, fmt.Sprintf("%s = %q, want %s", dbenv.Mode, a.Env[dbenv.Mode], dbconn.ModeDataAPI))
	}
	for _, k := range []string{dbenv.Host, dbenv.Port, dbenv.User, dbenv.Auth, dbenv.Password, dbenv.TLS} {
		if _, set := a.Env[k]; set || a.EnvTokens[k] != nil {
			bad = append(bad, fmt.Sprintf("%s is set, which dbconn refuses in dataapi mode", k))
		}
	}
	if a.InVPC {
		bad = append(bad, "the function has a VpcConfig, want none: it reaches the database through the Data API")
	}
	for _, pair := range []struct{ env, prop string }{{dbenv.ClusterARN, "ClusterArn"}, {dbenv.SecretARN, "PasswordSecretArn"}} {
		env, prop := compact(a.EnvTokens[pair.env]), compact(a.UserProps[pair.prop])
		switch {
		case env == "":
			bad = append(bad, fmt.Sprintf("%s is not a token of the template (%q), want the deploy's ARN", pair.env, a.Env[pair.env]))
		case env != prop:
			bad = append(bad, fmt.Sprintf("%s is %s but the user's %s is %s, want the same", pair.env, env, pair.prop, prop))
		}
	}
	var secret struct{ Ref string }
	if json.Unmarshal(a.EnvTokens[dbenv.SecretARN], &secret) != nil || secret.Ref == "" {
		bad = append(bad, fmt.Sprintf("%s = %s, want a Ref to the function's own secret", dbenv.SecretARN, a.EnvTokens[dbenv.SecretARN]))
	} else if got, ok := a.Secrets[secret.Ref]; !ok || got != a.User.Name {
		bad = append(bad, fmt.Sprintf("secret %s holds username %q (found %t), want the declared user %q", secret.Ref, got, ok, a.User.Name))
	}
	return bad
}

// compact returns raw JSON without insignificant space, or "" for none.
func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return ""
	}
	return b.String()
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	return nil
}

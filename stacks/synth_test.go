package stacks_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/function"
	"github.com/lambdards/lambdards/internal/cdktest"
	"github.com/lambdards/lambdards/stacks"
)

// variant is one configuration of the default app, given as CDK context the way
// `cdk synth -c key=value` gives it.
type variant struct {
	name    string // also the name of its cloud assembly directory
	context map[string]any
}

// deployable names the variants that between them hold every kind of resource the app
// builds: the shared synth runs aws-cdk-lib's CloudFormation validation on them (see
// TestDeployable). The default app (the dev preset, PostgreSQL), an RDS MySQL instance
// behind a proxy (option group, rotation, monitoring), an Aurora MySQL cluster (cluster
// parameters, direct), a Multi-AZ PostgreSQL instance with NAT gateways (public subnets)
// and deletion protection.
var deployable = map[string]bool{"env-dev-postgres": true, "instance-mysql-proxy": true, "lean": true, "prod-like": true,
	"readers-proxy": true}

// variants are the configurations the policy and data-safety tests synthesize: every
// preset with each engine and every database × engine × proxy combination (the
// configurations the snapshot tests keep goldens for), then a few rows that turn on what
// the defaults leave off and off what they turn on, so that every conditional
// suppression and removal policy is exercised.
var variants = append(append(combinations(), []variant{
	{"prod-like", map[string]any{"engine": "postgres", "database": "instance", "removalPolicy": "retain", "multiAz": true, "natGateways": 1}},
	{"lean", map[string]any{"engine": "mysql", "database": "serverless", "connection": "direct", "minAcu": 0,
		"rotationDays": 0, "monitoringInterval": 0, "removalPolicy": "destroy"}},
	{"retained-unprotected", map[string]any{"engine": "postgres", "database": "serverless", "reader": true,
		"removalPolicy": "retain", "deletionProtection": false}},
	// The presets that leave the alarms off, with them on (prod has them): the policy packs
	// and TestAlarmThresholds see the Monitoring stack of every preset × engine; one
	// notifies a topic of its own.
	{"alarms-dev-postgres", map[string]any{"env": "dev", "engine": "postgres", "alarms": true}},
	{"alarms-dev-mysql", map[string]any{"env": "dev", "engine": "mysql", "alarms": true}},
	{"alarms-cheapest-postgres", map[string]any{"env": "cheapest", "engine": "postgres", "alarms": true}},
	{"alarms-cheapest-mysql", map[string]any{"env": "cheapest", "engine": "mysql", "alarms": true,
		"alarmTopicArn": "arn:aws:sns:us-east-1:123456789012:ops"}},
}...), features...)

// features are the configurations of the ways a function reaches the database besides
// its reserved concurrency on the writer: functions reading from the reader (through the
// proxy's read-only endpoint, or the reader endpoint when direct), with provisioned
// concurrency, and fed by a queue. The snapshot tests keep goldens for them too.
var features = []variant{
	{"readers-proxy", map[string]any{"engine": "postgres", "database": "serverless", "reader": true, "connection": "proxy",
		"functions": readerFunctions}},
	{"readers-direct", map[string]any{"engine": "mysql", "database": "serverless", "reader": true, "connection": "direct",
		"functions": readerFunctions}},
}

// readerFunctions are the features' functions: one on the writer, one reading from the
// reader with provisioned concurrency, one fed by a queue.
const readerFunctions = `{"items":{"entry":"functions/items","access":"ddl"},` +
	`"reports":{"entry":"functions/items","reader":true,"provisionedConcurrency":2},` +
	`"worker":{"entry":"functions/items","access":"write","queue":true}}`

// combinations returns a variant for each of stacks.Combinations.
func combinations() []variant {
	var vs []variant
	for _, c := range stacks.Combinations() {
		vs = append(vs, variant{name: c.Name, context: c.Context})
	}
	return vs
}

// assembly is one variant synthesized with the policy packs applied.
type assembly struct {
	variant
	cfg stacks.Config
	app *stacks.App // nil if the configuration was refused
	dir string
	err error // synth failed; dir may still hold templates and reports
}

// assemblyOf returns the shared assembly of the variant named name.
func assemblyOf(t *testing.T, name string) assembly {
	t.Helper()
	for _, a := range synthAll(t) {
		if a.name == name {
			if a.err != nil {
				t.Fatalf("%s: synth: %v", name, a.err)
			}
			return a
		}
	}
	t.Fatalf("no variant %s", name)
	return assembly{}
}

// rawTemplate is the stack's template as synthesized, without the construct paths that the
// shared synth records in Metadata (as the CLI does) and a snapshot leaves out.
func (a assembly) rawTemplate(t *testing.T, stack string) []byte {
	t.Helper()
	doc := readTemplate(t, filepath.Join(a.dir, stack+".template.json"))
	resources := doc["Resources"].(map[string]any)
	for _, r := range resources {
		if md, ok := r.(map[string]any)["Metadata"].(map[string]any); ok {
			delete(md, "aws:cdk:path")
			if len(md) == 0 {
				delete(r.(map[string]any), "Metadata")
			}
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var (
	synthOnce  sync.Once
	assemblies []assembly
	// synthDir holds the shared cloud assemblies; TestMain removes it.
	synthDir string
)

func TestMain(m *testing.M) {
	code := cdktest.Run(m)
	if synthDir != "" {
		os.RemoveAll(synthDir)
	}
	os.Exit(code)
}

// synthAll synthesizes every variant once per test binary, each into its own App (so
// logical IDs are those of the real app) within one jsii runtime, without compiling
// functions, and with CloudFormation validation only for the deployable variants. Every test that reads
// one of these configurations reads it from here: the snapshot, policy, data-safety and
// budget tests.
func synthAll(t *testing.T) []assembly {
	t.Helper()
	synthOnce.Do(func() {
		root, err := filepath.Abs("..")
		if err != nil {
			panic(err)
		}
		base, err := os.MkdirTemp("", "lambdards-stacks-test-")
		if err != nil {
			panic(err)
		}
		synthDir = base
		for _, v := range variants {
			a := assembly{variant: v, dir: filepath.Join(base, v.name)}
			a.cfg, a.app, a.err = synth(root, a.dir, v.context, deployable[v.name])
			assemblies = append(assemblies, a)
		}
	})
	return assemblies
}

// synth synthesizes the default app into dir with the packs applied, as `cdk synth` would
// with context, the feature flags of cdk.json included. It returns the app's configuration,
// its stacks and what made synth fail.
func synth(root, dir string, context map[string]any, validate bool) (cfg stacks.Config, built *stacks.App, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	ctx, err := cdkJSONContext(filepath.Join(root, "cdk.json"))
	if err != nil {
		return cfg, nil, err
	}
	for k, v := range context {
		ctx[k] = v
	}
	ctx[function.SkipBundlingContext] = true
	ctx["aws:cdk:enable-path-metadata"] = true // as the CLI sets it: construct paths in Metadata
	app := awscdk.NewApp(&awscdk.AppProps{
		Outdir:                          jsii.String(dir),
		BuiltinCloudFormationValidation: jsii.Bool(validate),
		Context:                         &ctx,
	})
	if cfg, err = stacks.Configure(app.Node()); err != nil {
		return cfg, nil, err
	}
	cfg.Root = root
	built = stacks.New(app, cfg)
	stacks.Nag(app)
	app.Synth(nil)
	return cfg, built, nil
}

// cdkJSONContext reads the "context" of cdk.json: the feature flags the CLI gives the app.
func cdkJSONContext(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return f.Context, nil
}

// template is a synthesized CloudFormation template, as far as the tests read it.
type template struct {
	Resources map[string]resource
}

// ofType returns the template's resources of type typ.
func (tm template) ofType(typ string) []resource {
	var out []resource
	for _, r := range tm.Resources {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

type resource struct {
	Type           string
	Properties     map[string]any
	DeletionPolicy string
	Metadata       map[string]any
}

// templates returns the variant's templates by stack name without the prefix ("Data",
// "Functions").
func (a assembly) templates(t *testing.T) map[string]template {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(a.dir, "*.template.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("%s: no templates in %s (synth: %v)", a.name, a.dir, a.err)
	}
	out := map[string]template{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var tmpl template
		if err := json.Unmarshal(b, &tmpl); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[strings.TrimPrefix(strings.TrimSuffix(filepath.Base(f), ".template.json"), "LambdaRds")] = tmpl
	}
	return out
}

// finding is one line of a cdk-nag CSV report.
type finding struct {
	pack, rule, resource, compliance, reason, level, info string
}

func (f finding) String() string {
	return fmt.Sprintf("%s %s %s on %s: %s", f.compliance, f.level, f.rule, f.resource, f.info)
}

// findings reads the variant's cdk-nag reports.
func (a assembly) findings(t *testing.T) []finding {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(a.dir, "*-NagReport.csv"))
	if err != nil || len(files) == 0 {
		t.Fatalf("%s: no NagReport.csv in %s (synth: %v)", a.name, a.dir, a.err)
	}
	var out []finding
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		pack, _, _ := strings.Cut(filepath.Base(f), "-")
		for _, r := range rows[1:] {
			out = append(out, finding{pack, r[0], r[1], r[2], r[3], r[4], r[5]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

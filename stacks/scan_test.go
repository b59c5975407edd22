package stacks_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/cloudformationinclude"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/stacks"
)

// packs are the rule packs stacks.Nag applies, by the prefix of their report files.
var packs = []string{"AwsSolutions", "NIST.800.53.R5", "HIPAA.Security"}

// TestScanTemplates runs the three packs over the synthesized templates of every preset
// with each engine, from outside the construct tree: each template is re-imported with
// cloudformationinclude into a stack of a fresh App, which types every resource as its L1
// class. The aspect in the app skips what aws-cdk-lib builds as plain CfnResource (the
// provider behind Custom::VpcRestrictDefaultSG); this scan sees it, as any scanner of the
// template would, and reads the suppressions from each resource's Metadata.cdk_nag. The
// test fails on an unsuppressed error, on a rule that could not evaluate a resource, and
// when it could not scan: the include or synth fails, a pack wrote no report, or a role
// or function of the template is missing from a pack's report.
func TestScanTemplates(t *testing.T) {
	for _, engine := range []string{"postgres", "mysql"} {
		for _, preset := range stacks.PresetNames {
			name := "env-" + preset + "-" + engine
			t.Run(name, func(t *testing.T) {
				a := assemblyOf(t, name) // the shared synth: each variant is synthesized once
				scan(t, a).checkFindings(t, "synth of the included templates")
			})
		}
	}
}

// scan re-imports a's templates, one stack each, into a fresh App with the packs applied,
// synthesizes it into a directory of the test's, and returns that assembly. It fails the
// test when a pack did not scan a role or function of a template.
func scan(t *testing.T, a assembly) assembly {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(a.dir, "*.template.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("%s: no templates in %s (synth: %v)", a.name, a.dir, a.err)
	}
	dir := t.TempDir()
	out := assembly{variant: a.variant, dir: filepath.Join(dir, "scan")}
	app := awscdk.NewApp(&awscdk.AppProps{
		Outdir:                          jsii.String(out.dir),
		BuiltinCloudFormationValidation: jsii.Bool(false),
	})
	want := map[string][]string{}  // stack → the roles and functions the packs must report
	functions := map[string]bool{} // stack/logical ID → is a function
	for _, f := range files {
		stack := strings.TrimSuffix(filepath.Base(f), ".template.json")
		doc := readTemplate(t, f)
		for id, r := range doc["Resources"].(map[string]any) {
			switch r.(map[string]any)["Type"] {
			// Every pack checks an SNS topic (the Monitoring stack's, which holds no role or
			// function): AwsSolutions SNS2 and SNS3, NIST and HIPAA SNSEncryptedKMS.
			case "AWS::IAM::Role", "AWS::Lambda::Function", "AWS::SNS::Topic":
				want[stack] = append(want[stack], id)
				functions[stack+"/"+id] = r.(map[string]any)["Type"] == "AWS::Lambda::Function"
			}
		}
		if len(want[stack]) == 0 {
			t.Fatalf("%s: %s has no role, function or topic to check the scan by", a.name, stack)
		}
		copied := filepath.Join(dir, stack+".template.json")
		b, err := json.Marshal(withoutStackOutputs(doc))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(copied, b, 0o600); err != nil {
			t.Fatal(err)
		}
		// No bootstrap parameter or rule of its own: the template brings the app's.
		s := awscdk.NewStack(app, jsii.String(stack), &awscdk.StackProps{Synthesizer: awscdk.NewBootstraplessSynthesizer(nil)})
		if err := include(s, copied); err != nil {
			t.Fatalf("%s: %s: cloudformationinclude: %v", a.name, stack, err)
		}
	}
	stacks.Nag(app)
	func() {
		defer func() {
			if r := recover(); r != nil {
				out.err = fmt.Errorf("%v", r)
			}
		}()
		app.Synth(nil)
	}()

	reported := map[string]map[string]bool{} // pack/stack → logical IDs in its report
	for _, f := range out.findings(t) {
		// The report names a resource by its path: <stack>/Template/<logical ID>.
		parts := strings.Split(f.resource, "/")
		if len(parts) != 3 || parts[1] != "Template" {
			t.Fatalf("%s: %s report names resource %q, want <stack>/Template/<logical ID>", a.name, f.pack, f.resource)
		}
		key := f.pack + "/" + parts[0]
		if reported[key] == nil {
			reported[key] = map[string]bool{}
		}
		reported[key][parts[2]] = true
	}
	for _, pack := range packs {
		// cdk-nag names a report <pack>-<stage>-<stack>-NagReport.csv; the stage is empty here.
		if reports, _ := filepath.Glob(filepath.Join(out.dir, pack+"-*-NagReport.csv")); len(reports) == 0 {
			t.Errorf("%s: %s wrote no report (synth: %v)", a.name, pack, out.err)
			continue
		}
		for stack, ids := range want {
			sort.Strings(ids)
			for _, id := range ids {
				// AwsSolutions' one Lambda rule (L1, the latest runtime) does not apply to the
				// OS-only runtime of the Go functions; the other packs check every function.
				if pack == "AwsSolutions" && functions[stack+"/"+id] {
					continue
				}
				if !reported[pack+"/"+stack][id] {
					t.Errorf("%s: %s did not scan %s/%s", a.name, pack, stack, id)
				}
			}
		}
	}
	return out
}

// include imports the template file into s, returning the panic cloudformationinclude
// raises for what it cannot import.
func include(s awscdk.Stack, file string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	cloudformationinclude.NewCfnInclude(s, jsii.String("Template"), &cloudformationinclude.CfnIncludeProps{
		TemplateFile: jsii.String(file),
	})
	return nil
}

// readTemplate decodes a template, numbers kept as written.
func readTemplate(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if _, ok := doc["Resources"].(map[string]any); !ok {
		t.Fatalf("%s: no Resources", file)
	}
	return doc
}

// withoutStackOutputs replaces, in v, each Fn::GetStackOutput (the weak cross-stack
// reference by which the functions stacks read the Data stack's outputs) with a
// placeholder string naming the output. cloudformationinclude rejects the intrinsic
// ("Unsupported CloudFormation function"); the rules that read these values (a
// function's subnets and security groups, a log group's key, a custom resource's
// service token) need only that a value is there, so the verdicts are those of the
// real template.
func withoutStackOutputs(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if ref, ok := v["Fn::GetStackOutput"].(map[string]any); ok && len(v) == 1 {
			return fmt.Sprintf("GetStackOutput:%v.%v", ref["StackName"], ref["OutputName"])
		}
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = withoutStackOutputs(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = withoutStackOutputs(x)
		}
		return out
	}
	return v
}

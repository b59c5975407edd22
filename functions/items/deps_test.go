package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestFunctionsImportNoCDK keeps handler binaries small: nothing under
// functions/ may depend on aws-cdk-go or jsii, which add tens of megabytes
// and slow cold starts.
func TestFunctionsImportNoCDK(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("go tool not found: %v", err)
		}
		t.Skipf("go tool not found: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}}", "github.com/lambdards/lambdards/functions/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps ./functions/...: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/aws/aws-cdk-go", "github.com/aws/jsii-runtime-go", "github.com/aws/constructs-go"} {
			if strings.HasPrefix(pkg, banned) {
				t.Errorf("functions/ depends on %s; handler code must not import %s", pkg, banned)
			}
		}
	}
}

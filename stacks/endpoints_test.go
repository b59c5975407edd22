package stacks

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestInterfaceEndpointServicesMatchAwsCdkLib compares interfaceEndpointServices with the
// InterfaceVpcEndpointAwsService members of the aws-cdk-lib that go.mod pins, read from
// the jsii bundle in the Go module: a service aws-cdk-lib adds or drops fails here.
func TestInterfaceEndpointServicesMatchAwsCdkLib(t *testing.T) {
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-cdk-go/awscdk/v2").Output()
	if err != nil {
		t.Fatalf("go list -m awscdk: %v", err)
	}
	bundles, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(dir)), "jsii", "aws-cdk-lib-*.tgz"))
	if len(bundles) != 1 {
		t.Fatalf("aws-cdk-lib jsii bundles in %s: %v, want one", dir, bundles)
	}
	f, err := os.Open(bundles[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var src []byte
	for r := tar.NewReader(gz); src == nil; {
		h, err := r.Next()
		if err != nil {
			t.Fatalf("%s: no package/aws-ec2/lib/vpc-endpoint.js: %v", bundles[0], err)
		}
		if h.Name == "package/aws-ec2/lib/vpc-endpoint.js" {
			if src, err = io.ReadAll(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Members built with a name alone have the default prefix com.amazonaws; the others
	// (another prefix, port or global) are not what network.New builds from a name.
	var got []string
	for _, m := range regexp.MustCompile(`new InterfaceVpcEndpointAwsService\("([^"]+)"\)`).FindAllSubmatch(src, -1) {
		got = append(got, string(m[1]))
	}
	slices.Sort(got)
	got = slices.Compact(got)
	if len(got) < 100 {
		t.Fatalf("found %d services in vpc-endpoint.js; the pattern no longer matches aws-cdk-lib's code", len(got))
	}
	if !slices.Equal(got, interfaceEndpointServices) {
		var added, removed []string
		for _, s := range got {
			if !slices.Contains(interfaceEndpointServices, s) {
				added = append(added, s)
			}
		}
		for _, s := range interfaceEndpointServices {
			if !slices.Contains(got, s) {
				removed = append(removed, s)
			}
		}
		t.Errorf("interfaceEndpointServices differs from aws-cdk-lib: add %v, remove %v", added, removed)
	}
}

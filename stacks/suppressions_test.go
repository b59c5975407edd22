package stacks_test

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/lambdards/lambdards/internal/golambda"
	"github.com/lambdards/lambdards/snapshot"
)

const (
	securityDoc     = "../README.md"
	suppressionsBeg = "<!-- suppressions:begin (go test ./stacks -run TestSuppressionsDocumented -update) -->"
	suppressionsEnd = "<!-- suppressions:end -->"
)

// suppression is one row of README.md's table: a resource, the rules it is exempt
// from (with the findings a granular rule is limited to), and the reason.
type suppression struct {
	resource, rules, reason string
}

func (s suppression) row() string {
	return fmt.Sprintf("| `%s` | %s | %s |", s.resource, s.rules, s.reason)
}

// suppressions collects the cdk-nag suppressions of every variant's templates, from each
// resource's Metadata.cdk_nag, one row per resource and reason.
func suppressions(t *testing.T) []suppression {
	t.Helper()
	rules := map[[2]string][]string{}
	for _, a := range synthAll(t) {
		for _, tmpl := range a.templates(t) {
			for _, r := range tmpl.Resources {
				path, _ := r.Metadata["aws:cdk:path"].(string)
				nag, _ := r.Metadata["cdk_nag"].(map[string]any)
				list, _ := nag["rules_to_suppress"].([]any)
				for _, s := range list {
					s := s.(map[string]any)
					rule := "`" + s["id"].(string) + "`"
					if applies, ok := s["applies_to"].([]any); ok {
						var l []string
						for _, x := range applies {
							if m, ok := x.(map[string]any); ok {
								x = m["regex"]
							}
							l = append(l, fmt.Sprintf("`%v`", x))
						}
						rule += " for " + strings.Join(l, ", ")
					}
					key := [2]string{docPath(path), s["reason"].(string)}
					if !slices.Contains(rules[key], rule) {
						rules[key] = append(rules[key], rule)
					}
				}
			}
		}
	}
	var out []suppression
	for k, r := range rules {
		sort.Strings(r)
		out = append(out, suppression{k[0], strings.Join(r, ", "), k[1]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].row() < out[j].row() })
	return out
}

// docPath writes a construct path the way the doc does: the stack without its prefix and
// a function's name as <function>.
var functionPath = regexp.MustCompile(`^Functions/[^/]+/`)

func docPath(path string) string {
	path = strings.TrimPrefix(path, "LambdaRds")
	if strings.HasPrefix(path, "Functions/"+golambda.VpcAccessPolicyID+"/") {
		return path // the policy the stack's functions share
	}
	return functionPath.ReplaceAllString(path, "Functions/<function>/")
}

// TestSuppressionsDocumented checks that README.md lists exactly the suppressions
// that the synthesized templates carry, with the same reasons.
func TestSuppressionsDocumented(t *testing.T) {
	var want []string
	for _, s := range suppressions(t) {
		want = append(want, s.row())
	}
	b, err := os.ReadFile(securityDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start, end := strings.Index(doc, suppressionsBeg), strings.Index(doc, suppressionsEnd)
	if start < 0 || end < start {
		t.Fatalf("%s: no %q ... %q section", securityDoc, suppressionsBeg, suppressionsEnd)
	}
	const header = "| Resource | Rules | Reason |\n|---|---|---|\n"
	section := "\n" + header + strings.Join(want, "\n") + "\n"
	if snapshot.Update() {
		doc = doc[:start+len(suppressionsBeg)] + section + doc[end:]
		if err := os.WriteFile(securityDoc, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	var got []string
	for _, line := range strings.Split(doc[start+len(suppressionsBeg):end], "\n") {
		if strings.HasPrefix(line, "| `") {
			got = append(got, line)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			t.Errorf("%s lists a suppression the templates do not carry:\n%s", securityDoc, g)
		}
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("%s does not list a suppression the templates carry:\n%s", securityDoc, w)
		}
	}
	if t.Failed() {
		t.Log("run `go test ./stacks -run TestSuppressionsDocumented -update` to rewrite the table")
	}
}

// Package nag records why a lambdards resource is exempt from a cdk-nag rule, on the
// resource itself, so that the exemption travels in the template (Metadata.cdk_nag) and
// README.md can list every one.
package nag

import (
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// NISTAndHIPAA returns the IDs of a rule that the NIST 800-53 rev 5 and the HIPAA Security
// packs share, for example "RDSLoggingEnabled".
func NISTAndHIPAA(rule string) []string {
	return []string{"NIST.800.53.R5-" + rule, "HIPAA.Security-" + rule}
}

// Suppress exempts resource, and only it, from rules for reason. resource is an L1
// resource (CfnResource) or an L2 construct whose default child is one.
func Suppress(resource constructs.IConstruct, reason string, rules ...string) {
	add(resource, reason, nil, rules)
}

// SuppressAll exempts each of resources from rules for reason, in one round trip to node.
func SuppressAll(resources []constructs.IConstruct, reason string, rules ...string) {
	cdknag.NagSuppressions_AddResourceSuppressions(&resources, suppressions(reason, nil, rules), jsii.Bool(false))
}

// SuppressFindings exempts resource from the findings of granular rules (AwsSolutions-IAM5,
// RDSLoggingEnabled, ...) that match one of findings, for reason. A finding is written as
// cdk-nag reports it, for example "Resource::*"; one of the form "/regexp/" matches as a
// regular expression.
func SuppressFindings(resource constructs.IConstruct, reason string, findings []string, rules ...string) {
	add(resource, reason, findings, rules)
}

func add(resource constructs.IConstruct, reason string, findings []string, rules []string) {
	cdknag.NagSuppressions_AddResourceSuppressions(resource, suppressions(reason, findings, rules), jsii.Bool(false))
}

// suppressions are the suppressions of rules, for findings if any, for reason.
func suppressions(reason string, findings []string, rules []string) *[]*cdknag.NagPackSuppression {
	var appliesTo *[]any
	if len(findings) > 0 {
		l := make([]any, len(findings))
		for i, f := range findings {
			if len(f) > 1 && f[0] == '/' && f[len(f)-1] == '/' {
				l[i] = &cdknag.RegexAppliesTo{Regex: jsii.String(f + "g")}
			} else {
				l[i] = f
			}
		}
		appliesTo = &l
	}
	s := make([]*cdknag.NagPackSuppression, len(rules))
	for i, r := range rules {
		s[i] = &cdknag.NagPackSuppression{Id: jsii.String(r), Reason: jsii.String(reason), AppliesTo: appliesTo}
	}
	return &s
}

package network

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/constructs-go/constructs/v10"

	"github.com/lambdards/lambdards/internal/fields"
)

// InternetRoutes describes each subnet that sel selects in vpc and that routes to the
// internet: a public subnet (a route to an internet gateway), a private subnet with egress
// (a route to a NAT gateway), or any subnet given a default route to a gateway, NAT gateway
// or egress-only internet gateway. It returns nil when every selected subnet is isolated,
// and an error when sel selects nothing or names what the VPC does not have.
//
// Imported VPCs are judged by how CDK classified their subnets (public, private, isolated).
func InternetRoutes(vpc awsec2.IVpc, sel *awsec2.SubnetSelection) (routes []string, err error) {
	defer func() {
		if r := recover(); r != nil { // SelectSubnets throws on a group name or type the VPC lacks
			routes, err = nil, fmt.Errorf("%s; the VPC has %s", jsError(r), Tiers(vpc))
		}
	}()
	selected := vpc.SelectSubnets(sel)
	if len(*selected.Subnets) == 0 {
		return nil, fmt.Errorf("the selection matches no subnet")
	}
	public := subnetIDs(vpc.PublicSubnets())
	nat := subnetIDs(vpc.PrivateSubnets())
	for _, s := range *selected.Subnets {
		name := *s.Node().Path()
		switch id := *s.SubnetId(); {
		case public[id]:
			routes = append(routes, fmt.Sprintf("subnet %s is public", name))
		case nat[id]:
			routes = append(routes, fmt.Sprintf("subnet %s routes to a NAT gateway", name))
		default:
			if to := defaultRoute(s); to != "" {
				routes = append(routes, fmt.Sprintf("subnet %s has a default route to %s", name, to))
			}
		}
	}
	return routes, nil
}

func subnetIDs(subnets *[]awsec2.ISubnet) map[string]bool {
	ids := map[string]bool{}
	for _, s := range *subnets {
		ids[*s.SubnetId()] = true
	}
	return ids
}

// defaultRoute names where a default route (0.0.0.0/0 or ::/0) that the subnet's construct
// holds leads to the internet, or returns "".
func defaultRoute(s awsec2.ISubnet) string {
	for _, c := range *s.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		r, ok := c.(awsec2.CfnRoute)
		if !ok {
			continue
		}
		if !is(r.DestinationCidrBlock(), "0.0.0.0/0") && !is(r.DestinationIpv6CidrBlock(), "::/0") {
			continue
		}
		switch {
		case r.NatGatewayId() != nil:
			return "a NAT gateway"
		case r.EgressOnlyInternetGatewayId() != nil:
			return "an egress-only internet gateway"
		case r.GatewayId() != nil:
			return "a gateway"
		}
	}
	return ""
}

func is(s *string, want string) bool { return s != nil && *s == want }

// Select returns the subnets that sel selects in vpc (nil selects aws-cdk-lib's default:
// the private subnets with egress, or else the isolated ones), or an error that says what
// the VPC has instead of aws-cdk-lib's own (a JavaScript error without the construct's
// path). what is the setting, in the message, as package internal/fields names it
// ("{VpcSubnets}"). Public subnets are refused:
// a Lambda function or a database in them could be reached from, or reach, the internet.
func Select(vpc awsec2.IVpc, sel *awsec2.SubnetSelection, what string) (selected *awsec2.SelectedSubnets, err error) {
	defer func() {
		if r := recover(); r != nil { // SelectSubnets throws on a group name or type the VPC lacks
			selected, err = nil, fields.Errorf("%s: %s; the VPC has %s", what, jsError(r), Tiers(vpc))
		}
	}()
	selected = vpc.SelectSubnets(sel)
	if len(*selected.SubnetIds) == 0 {
		return nil, fields.Errorf("%s: the selection matches no subnet; the VPC has %s", what, Tiers(vpc))
	}
	public := subnetIDs(vpc.PublicSubnets())
	for _, id := range *selected.SubnetIds {
		if public[*id] {
			return nil, fields.Errorf("%s: the selection includes public subnets, which route to the internet gateway; select "+
				"private subnets (with egress or isolated); the VPC has %s", what, Tiers(vpc))
		}
	}
	return selected, nil
}

// Tiers describes a VPC's subnets by type, for messages: "2 public, 2 private with
// egress and 0 isolated subnets".
func Tiers(vpc awsec2.IVpc) string {
	return fmt.Sprintf("%d public, %d private with egress and %d isolated subnets",
		len(*vpc.PublicSubnets()), len(*vpc.PrivateSubnets()), len(*vpc.IsolatedSubnets()))
}

// jsError is the first line of a JavaScript error that jsii raised as a Go panic.
func jsError(r any) string {
	msg := fmt.Sprint(r)
	if err, ok := r.(error); ok {
		msg = err.Error()
	}
	msg, _, _ = strings.Cut(msg, "\n")
	msg = strings.TrimSpace(strings.TrimPrefix(msg, "Error: "))
	// aws-cdk-lib's errors start with their name ("ThereSubnetGroups: There are no ...").
	return errorName.ReplaceAllString(msg, "")
}

// errorName is the name an aws-cdk-lib error starts with.
var errorName = regexp.MustCompile(`^[A-Z][A-Za-z0-9]+: `)

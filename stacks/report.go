package stacks

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/budget"
	"github.com/lambdards/lambdards/constructs/network"
)

// ReportFile is the budget report's file name in the cloud assembly directory.
const ReportFile = "lambdards-budget.json"

// ENIs counts the Hyperplane network interfaces the app's VPC-attached functions use: one
// per distinct pair of subnet and security group, shared by every function with that pair
// (AWS Lambda Developer Guide, "Giving Lambda functions access to resources in an Amazon
// VPC", Hyperplane ENIs). Each one takes an address in its subnet and counts against the
// VPC's network interface quota.
type ENIs struct {
	Count          int `json:"count"`
	Subnets        int `json:"subnets"`
	SecurityGroups int `json:"securityGroups"`
	// Functions is the number of functions, the users provisioner included, behind them.
	Functions int `json:"functions"`
}

// Report is what the app reports after synth: the connection budget and the network
// interfaces its functions use.
type Report struct {
	*budget.Result
	HyperplaneENIs ENIs `json:"hyperplaneEnis"`
}

// ENIs counts the app's Hyperplane ENIs. Every function and the users provisioner sit in
// the Functions subnets.
func (a *App) ENIs() ENIs {
	groups := map[awsec2.ISecurityGroup]bool{}
	for _, h := range a.Handlers {
		groups[h.SecurityGroup] = true
	}
	e := ENIs{Functions: len(a.Handlers)}
	if a.Users != nil {
		groups[a.Users.SecurityGroup] = true
		e.Functions++
	}
	e.SecurityGroups = len(groups)
	subnets := a.Network.Vpc.SelectSubnets(&awsec2.SubnetSelection{SubnetGroupName: jsii.String(network.FunctionSubnets)})
	e.Subnets = len(*subnets.SubnetIds)
	e.Count = e.Subnets * e.SecurityGroups
	return e
}

// Report prints the connection budget as a table to w, with the Hyperplane ENIs below it,
// and writes both as JSON to dir.
func (a *App) Report(dir string, w io.Writer) error {
	res, err := a.Pool.Budget()
	if err != nil {
		return err
	}
	r := Report{Result: res, HyperplaneENIs: a.ENIs()}
	fmt.Fprint(w, res.Table())
	e := r.HyperplaneENIs
	fmt.Fprintf(w, "\nhyperplane ENIs: %d (%d subnets × %d security groups, shared by %d functions)\n",
		e.Count, e.Subnets, e.SecurityGroups, e.Functions)
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ReportFile), append(b, '\n'), 0o644)
}

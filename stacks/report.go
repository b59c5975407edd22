package stacks

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/budget"
	"github.com/lambdards/lambdards/constructs/network"
	"github.com/lambdards/lambdards/constructs/pool"
)

// ReportFile is the budget report's file name in the cloud assembly directory.
const ReportFile = "lambdards-budget.json"

// PictureFile is the file name, beside ReportFile, of the budget drawn as an SVG image
// (budget.Result.SVG).
const PictureFile = "lambdards-budget.svg"

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
	// OutsideVpc is the number of functions, the users provisioner included, that run
	// outside the VPC (connection = dataapi) and use none.
	OutsideVpc int `json:"outsideVpc"`
}

// Report is what the app reports after synth: the connection budget of its pool, the
// account's concurrency that every pool of the app shares, and the network interfaces its
// functions use.
type Report struct {
	*budget.Result
	// Reader is the budget of the database's reader, when it has one.
	Reader         *budget.Result `json:"reader,omitempty"`
	Account        AccountReport  `json:"account"`
	HyperplaneENIs ENIs           `json:"hyperplaneEnis"`
}

// AccountReport is the account's concurrency in the report: what each pool of the app
// reserves, what is reserved outside lambdards, and what stays unreserved.
type AccountReport struct {
	AccountConcurrency       int                  `json:"accountConcurrency"`
	UnreservedMinimum        int                  `json:"unreservedMinimum"`
	Pools                    []PoolShare          `json:"pools"`
	Elsewhere                []budget.Reservation `json:"elsewhere,omitempty"`
	TotalReservedConcurrency int                  `json:"totalReservedConcurrency"`
	UnreservedConcurrency    int                  `json:"unreservedConcurrency"`
}

// PoolShare is one pool's share of the account: its writer's functions and its
// reader's.
type PoolShare struct {
	Pool                     string `json:"pool"`
	Database                 string `json:"database"`
	Functions                int    `json:"functions"`
	TotalReservedConcurrency int    `json:"totalReservedConcurrency"`
}

// ENIs counts the app's Hyperplane ENIs. Every function and the users provisioner in the
// VPC sit in the Functions subnets; those with no security group run outside it.
func (a *App) ENIs() ENIs {
	groups := map[awsec2.ISecurityGroup]bool{}
	var e ENIs
	count := func(sg awsec2.ISecurityGroup) {
		if sg == nil {
			e.OutsideVpc++
			return
		}
		groups[sg] = true
		e.Functions++
	}
	for _, h := range a.Handlers {
		count(h.SecurityGroup)
	}
	if a.Users != nil {
		count(a.Users.SecurityGroup)
	}
	e.SecurityGroups = len(groups)
	subnets := a.Network.Vpc.SelectSubnets(&awsec2.SubnetSelection{SubnetGroupName: jsii.String(network.FunctionSubnets)})
	e.Subnets = len(*subnets.SubnetIds)
	e.Count = e.Subnets * e.SecurityGroups
	return e
}

// account is the budget of the account the app's pool deploys to.
func (a *App) account() *pool.AccountBudget {
	for _, acct := range pool.Accounts(a.Pool) {
		if slices.Contains(acct.Pools, a.Pool) && acct.AccountResult != nil {
			return acct
		}
	}
	return nil
}

// Report prints the connection budget as a table to w, with the Hyperplane ENIs below it,
// and writes both as JSON to dir, with the budget drawn as an SVG image beside them.
func (a *App) Report(dir string, w io.Writer) error {
	res, err := a.Pool.Budget()
	if err != nil {
		return err
	}
	r := Report{Result: res, HyperplaneENIs: a.ENIs()}
	acct := a.account()
	if acct == nil {
		return fmt.Errorf("the account's budget is missing for pool %s", *a.Pool.Node().Path())
	}
	r.Account = AccountReport{AccountConcurrency: acct.AccountConcurrency, UnreservedMinimum: acct.UnreservedMinimum,
		Elsewhere: acct.Elsewhere, TotalReservedConcurrency: acct.TotalReservedConcurrency,
		UnreservedConcurrency: acct.UnreservedConcurrency}
	for i, pl := range acct.Pools {
		db := acct.Databases[i]
		share := PoolShare{Pool: *pl.Node().Path(), Database: db.Database,
			Functions: len(db.Functions), TotalReservedConcurrency: db.TotalReservedConcurrency}
		if rd, _ := pl.ReaderBudget(); rd != nil {
			share.Functions += len(rd.Functions)
			share.TotalReservedConcurrency += rd.TotalReservedConcurrency
		}
		r.Account.Pools = append(r.Account.Pools, share)
	}
	fmt.Fprint(w, res.Table())
	if r.Reader, err = a.Pool.ReaderBudget(); err != nil {
		return err
	}
	if r.Reader != nil {
		fmt.Fprint(w, "\nreader\n"+r.Reader.Table())
	}
	// The pool's table shows the account's figures; the account's own table is for when
	// others share it.
	if len(acct.Pools) > 1 || len(acct.Elsewhere) > 0 || r.Reader != nil {
		fmt.Fprint(w, "\n"+acct.Table())
	}
	e := r.HyperplaneENIs
	fmt.Fprintf(w, "\nhyperplane ENIs: %d (%s × %s, shared by %s)", e.Count, count(e.Subnets, "subnet"),
		count(e.SecurityGroups, "security group"), count(e.Functions, "function"))
	if e.OutsideVpc > 0 {
		fmt.Fprintf(w, "; %s outside the VPC use%s none", count(e.OutsideVpc, "function"), map[bool]string{true: "s"}[e.OutsideVpc == 1])
	}
	fmt.Fprintln(w)
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, PictureFile), []byte(res.SVG()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ReportFile), append(b, '\n'), 0o644)
}

// count writes n things: "1 subnet", "2 subnets".
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

package pool

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/budget"
)

// LedgerID is the construct ID, at the root of the construct tree, of the ledger that
// every pool of an app shares: Lambda counts reserved concurrency per account and
// Region, whichever database a function uses.
const LedgerID = "LambdardsConcurrencyLedger"

// ledger is the app's account-wide record of reserved concurrency: its pools, grouped by
// the account and Region they deploy to, and the functions whose reserved concurrency is
// set outside lambdards. It is a construct at the root of the tree, found there by every
// pool (a Go value that the tree hands back, so no process-wide state).
type ledger struct {
	constructs.Construct
	pools []*Pool
	// cached is the budget as last computed before synth, dropped when a function joins;
	// frozen is the budget from synth on, which every token and validation reads.
	cached, frozen *accounts
}

// ToString names the ledger. It is the method through which the ledger, a Go value,
// becomes the construct in the tree (jsii needs one).
func (l *ledger) ToString() *string { return jsii.String("lambdards concurrency ledger") }

// ledgerOf finds the ledger of scope's app, or makes it.
func ledgerOf(scope constructs.IConstruct) *ledger {
	root := scope.Node().Root()
	if l, ok := root.Node().TryFindChild(jsii.String(LedgerID)).(*ledger); ok {
		return l
	}
	l := &ledger{}
	// The root of a construct tree is an App (or a Stage, or a bare Construct): a Construct.
	constructs.NewConstruct_Override(l, root.(constructs.Construct), jsii.String(LedgerID))
	l.Node().AddValidation(&accountValidation{l})
	return l
}

// add records a new pool.
func (l *ledger) add(pl *Pool) {
	stack := awscdk.Stack_Of(pl)
	pl.stack = stack
	pl.account = envKey{account: stack.Account(), region: stack.Region()}
	pl.path = *pl.Node().Path()
	l.pools = append(l.pools, pl)
	l.changed()
}

// changed drops the budget computed before synth: a function or a pool joined.
func (l *ledger) changed() { l.cached = nil }

// poolOf returns the pool fn is attached to, or nil.
func (l *ledger) poolOf(fn awslambda.Function) *Pool {
	for _, pl := range l.pools {
		if _, ok := pl.functions[fn]; ok {
			return pl
		}
	}
	return nil
}

// current is the budget as it stands: final once synth has begun.
func (l *ledger) current() *accounts {
	if l.frozen != nil {
		return l.frozen
	}
	if l.cached == nil {
		l.cached = l.compute()
	}
	return l.cached
}

// final is the budget from synth on: computed once, when a token or a validation first
// needs it, after every construct is built. A function that joins later is refused.
func (l *ledger) final() *accounts {
	if l.frozen == nil {
		l.frozen = l.compute()
	}
	return l.frozen
}

// envKey is an account and Region as the stacks give them: tokens for an
// environment-agnostic stack, which deploys wherever the CLI's credentials point, so that
// all of an app's environment-agnostic pools share one account.
type envKey struct{ account, region *string }

func (k envKey) String() string { return *k.account + "/" + *k.region }

// accounts is the budget of every account the app's pools deploy to.
type accounts struct {
	groups  []*AccountBudget
	pools   map[*Pool]poolBudget
	readers map[*Pool]poolBudget // the budgets of the pools' readers (reader.go)
}

// poolBudget is one pool's share of its account's budget.
type poolBudget struct {
	res *budget.Result
	err error
}

// pool returns pl's budget and its problems (a *budget.Error), or the problems alone
// when the budget cannot be computed.
func (a *accounts) pool(pl *Pool) (*budget.Result, error) {
	b := a.pools[pl]
	return b.res, b.err
}

// target returns the budget of pl's reader when reader is true, else pl's.
func (a *accounts) target(pl *Pool, reader bool) (*budget.Result, error) {
	if reader {
		b := a.readers[pl]
		return b.res, b.err
	}
	return a.pool(pl)
}

// AccountBudget is the budget of the pools of one account and Region.
type AccountBudget struct {
	// Account and Region are the stacks' (tokens for environment-agnostic stacks).
	Account, Region *string
	// Pools are the account's pools, in the order they were built; Result.Databases holds
	// their budgets in the same order, then the budgets of their readers (ReaderBudget), in
	// the same order.
	Pools []*Pool
	*budget.AccountResult
	// Err holds the account's own problems, a *budget.Error (the pools' are in their
	// Budget), or is nil.
	Err error
}

// Accounts returns the budget of every account and Region that the pools of scope's app
// deploy to: each pool's functions, the account's total and what stays unreserved. Once
// synth has begun it is final.
func Accounts(scope constructs.IConstruct) []*AccountBudget {
	return ledgerOf(scope).current().groups
}

// compute budgets every account: its pools' functions, and the reserved concurrency set
// outside lambdards that the construct tree shows.
func (l *ledger) compute() *accounts {
	out := &accounts{pools: map[*Pool]poolBudget{}, readers: map[*Pool]poolBudget{}}
	byKey := map[string]*AccountBudget{}
	for _, pl := range l.pools {
		key := pl.account.String()
		g := byKey[key]
		if g == nil {
			g = &AccountBudget{Account: pl.account.account, Region: pl.account.region}
			byKey[key] = g
			out.groups = append(out.groups, g)
		}
		g.Pools = append(g.Pools, pl)
	}
	elsewhere := l.elsewhere()
	for _, g := range out.groups {
		acct := budget.Account{Elsewhere: elsewhere[envKey{g.Account, g.Region}.String()]}
		for _, pl := range g.Pools {
			cfg := pl.config
			// Messages name the pool: two pools may front databases described alike.
			cfg.Database = fmt.Sprintf("pool %s (%s)", pl.path, cfg.Database)
			cfg.Functions = pl.entries(false)
			if acct.AccountConcurrency == 0 {
				acct.AccountConcurrency = cfg.AccountConcurrency
			}
			if acct.UnreservedMinimum == 0 {
				acct.UnreservedMinimum = cfg.UnreservedMinimum
			}
			acct.Databases = append(acct.Databases, cfg)
		}
		readers := readerConfigs(g.Pools, &acct) // after every writer: reader.go
		res, err := budget.ComputeAccount(acct)
		be, _ := err.(*budget.Error)
		if res != nil {
			for i, r := range res.Databases[:len(g.Pools)] {
				r.Database = g.Pools[i].config.Database
			}
		}
		g.AccountResult = res
		for i, pl := range g.Pools {
			b := poolBudget{}
			if res != nil {
				b.res = res.Databases[i]
			}
			if be != nil {
				if d := be.Database(i); d != nil {
					b.err = d
				}
			}
			out.pools[pl] = b
		}
		readers.record(out, res, be, len(g.Pools))
		if be != nil {
			if a := be.AccountProblems(); a != nil {
				g.Err = a
			}
		}
	}
	return out
}

// elsewhere finds, by account, the functions of the app whose reserved concurrency is
// set outside lambdards: every AWS::Lambda::Function not attached to a pool that sets
// ReservedConcurrentExecutions. One walk of the tree; functions attached to a pool cost
// no round trip to node.
func (l *ledger) elsewhere() map[string][]budget.Reservation {
	attached := map[any]bool{}
	for _, pl := range l.pools {
		for fn := range pl.functions {
			attached[fn] = true
		}
	}
	out := map[string][]budget.Reservation{}
	// In preorder an L2 function's own AWS::Lambda::Function comes after it, before the
	// next function: it is the L2's resource, named by the L2's path.
	var owner awslambda.Function
	skip := false
	for _, c := range *l.Node().Root().Node().FindAll(constructs.ConstructOrder_PREORDER) {
		switch v := c.(type) {
		case awslambda.Function:
			owner, skip = v, attached[v]
		case awslambda.CfnFunction:
			if skip {
				owner, skip = nil, false
				continue
			}
			named := constructs.IConstruct(v)
			if owner != nil {
				named = owner
			}
			owner = nil
			r := v.ReservedConcurrentExecutions()
			if r == nil {
				continue
			}
			n := *r
			stack := awscdk.Stack_Of(v)
			if *awscdk.Token_IsUnresolved(r) {
				if f, ok := stack.Resolve(r).(float64); ok {
					n = f
				}
			}
			key := envKey{stack.Account(), stack.Region()}.String()
			out[key] = append(out[key], budget.Reservation{Name: *named.Node().Path(), ReservedConcurrency: int(n)})
		}
	}
	return out
}

// accountValidation reports each account's own problems: reservations above what the
// account may reserve, and pools that disagree on the account's figures.
type accountValidation struct{ ledger *ledger }

func (v *accountValidation) Validate() *[]*string {
	out := []*string{}
	for _, g := range v.ledger.final().groups {
		where := "the app's environment-agnostic stacks"
		if !*awscdk.Token_IsUnresolved(g.Account) {
			where = fmt.Sprintf("account %s, Region %s", *g.Account, *g.Region)
		}
		if g.Err == nil {
			continue
		}
		for _, p := range g.Err.(*budget.Error).Problems {
			out = append(out, jsii.Sprintf("account concurrency (%s; pools %s): %s", where, poolNames(g.Pools), p))
		}
	}
	return &out
}

func poolNames(pools []*Pool) string {
	names := make([]string, len(pools))
	for i, pl := range pools {
		names[i] = pl.path
	}
	return strings.Join(slices.Clip(names), ", ")
}

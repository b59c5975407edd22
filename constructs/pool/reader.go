package pool

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/budget"
	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/dbspec"
)

// readerTarget is the pool's way into its database's reader: a target of the connection
// budget of its own, with its own max_connections, engine-reserved slots and headroom,
// and the host its functions connect to.
//
// Through RDS Proxy the reader's functions connect to the proxy's read-only endpoint.
// The proxy's one MaxConnectionsPercent is a percentage of the max_connections of the
// instance it connects to (Amazon Aurora User Guide, "RDS Proxy connection
// considerations", MaxConnectionsPercent: a percentage of max_connections; "Working
// with Amazon RDS Proxy endpoints": connections through the default endpoint "count
// against the max_connections value for the writer instance", and a read-only endpoint
// lets the cluster "make more simultaneous connections" as readers are added). AWS does
// not say in so many words that the percentage applies to each reader on its own;
// lambdards takes it so, the only reading under which a read-only endpoint adds
// connections, and budgets every reader connection as if it landed on one reader, which
// holds however the proxy balances them. When the reader's max_connections leaves it a
// lower percentage than the writer's, both take the lower, so the proxy never reaches
// into either headroom.
type readerTarget struct {
	db     *database.Reader
	config budget.Config
	// host is where reader functions connect: the proxy's read-only endpoint, or the
	// cluster's reader endpoint when direct; nil with an existing proxy that has no
	// read-only endpoint, for the reason in unreachable.
	host        *string
	unreachable string
}

// newReaderTarget returns the reader target of db, budgeted as writer is (its proxy
// settings, borrow timeout, account) with the reader's own figures, or nil when db has
// no reader.
func newReaderTarget(db database.Database, writer budget.Config, headroom *int) *readerTarget {
	r := database.ReaderOf(db)
	if r == nil || writer.DataAPI {
		// The Data API runs every statement on the cluster's writer (Amazon Aurora User
		// Guide, "Using the Amazon RDS Data API"): its functions never reach a reader.
		return nil
	}
	cfg := writer
	cfg.Database = r.Description
	if writer.ProxyMaxConnectionsPercent != 0 {
		cfg.Database += ", through the existing proxy's read-only endpoint"
	}
	cfg.MaxConnections = r.MaxConnections
	cfg.ReservedConnections = r.ReservedConnections
	cfg.Headroom = budget.DefaultHeadroom(r.MaxConnections)
	if headroom != nil {
		cfg.Headroom = *headroom
	}
	cfg.Functions = nil
	return &readerTarget{db: r, config: cfg}
}

// bases computes the database-wide figures of the writer (writer) and of the reader (rt,
// which may be nil), lowering the proxy's MaxConnectionsPercent of both to the lower of
// theirs. It returns the writer's, and every problem, the reader's beginning "reader: ".
func (rt *readerTarget) bases(writer *budget.Config) (*budget.Result, error) {
	base, err := budget.Compute(*writer)
	if rt == nil {
		return base, err
	}
	rbase, rerr := budget.Compute(rt.config)
	if err == nil && rerr == nil && writer.Proxy {
		switch w, r := base.ProxyMaxConnectionsPercent, rbase.ProxyMaxConnectionsPercent; {
		case r < w && writer.ProxyMaxConnectionsPercent == 0:
			writer.ProxyMaxConnectionsPercent = r
			rt.config.ProxyMaxConnectionsPercent = r
			base, err = budget.Compute(*writer)
		case w < r && rt.config.ProxyMaxConnectionsPercent == 0:
			rt.config.ProxyMaxConnectionsPercent = w
		}
	}
	we, _ := err.(*budget.Error)
	re, _ := rerr.(*budget.Error)
	if joined := budget.Join(we, re.Prefixed("reader: ")); joined != nil {
		return base, joined
	}
	return base, nil
}

// connect finds where the reader's functions connect, once the pool has its proxy.
func (rt *readerTarget) connect(pl *Pool) {
	switch {
	case rt == nil:
	case pl.Proxy == nil:
		rt.host = rt.db.Endpoint
	case pl.Proxy.ReaderEndpoint() != nil:
		rt.host = pl.Proxy.ReaderEndpoint()
	default:
		rt.unreachable = fmt.Sprintf("{Reader}: the pool's existing proxy %s has no read-only endpoint, the way to the reader "+
			"through it; give its host as the proxy's {ReaderEndpoint} attribute (proxy.Attributes), or leave {Reader} false",
			*pl.Proxy.Node().Path())
	}
}

// hostOf is where m connects: the reader's host, or the pool's.
func (pl *Pool) hostOf(m *Member) *string {
	if m.Reader {
		return pl.reader.host
	}
	return pl.host
}

// ReaderHost is where the pool's reader functions connect: the proxy's read-only
// endpoint, or the cluster's reader endpoint when direct; nil when the database has no
// reader.
func (pl *Pool) ReaderHost() *string {
	if pl.reader == nil {
		return nil
	}
	return pl.reader.host
}

// ReaderBudget computes the connection budget of the database's reader over the
// functions that read from it (AttachOptions.Reader), within the account's concurrency
// that every function of the app shares, as Budget does for the writer. It returns nil,
// nil when the database has no reader.
func (pl *Pool) ReaderBudget() (*budget.Result, error) {
	if pl.reader == nil {
		return nil, nil
	}
	return pl.ledger.current().target(pl, true)
}

// checkReader reports why a function may not read from the pool's reader.
func (pl *Pool) checkReader(o AttachOptions) []string {
	if !o.Reader {
		return nil
	}
	var errs []string
	switch {
	case pl.Mode == ModeDataAPI:
		errs = append(errs, "{Reader} with {Mode=dataapi}: the Data API runs every statement on the cluster's writer, so "+
			"no function of this pool reaches the reader; leave {Reader} false, or use {Mode=proxy} (a read-only endpoint) or {Mode=direct}")
	case pl.reader == nil:
		errs = append(errs, "{Reader}: the function reads from the database's reader, but the database has none; give the "+
			"cluster a reader (database.ServerlessProps.Reader, or database.ClusterAttributes.ReaderEndpoint), or leave {Reader} false")
	case pl.reader.unreachable != "":
		errs = append(errs, pl.reader.unreachable)
	}
	// A reader refuses every write with the database's read-only error, whatever the user
	// may do (PostgreSQL: SQLSTATE 25006, checked before privileges); a user that may
	// write there would only make the function look able to.
	if o.Access != "" && o.Access != dbspec.Read {
		errs = append(errs, fmt.Sprintf("{Access} %s with {Reader}: the reader refuses every write with the database's "+
			"read-only error, so a reader function's user gets read access; remove {Access}, or leave {Reader} false "+
			"and connect to the writer", o.Access))
	}
	return errs
}

// entries are the budget entries of the pool's members that connect to the reader, or
// to the writer.
func (pl *Pool) entries(reader bool) []budget.Function {
	out := []budget.Function{}
	for _, m := range pl.members {
		if m.Reader == reader {
			out = append(out, m.entry)
		}
	}
	return out
}

// readersOf are the pools of one account whose readers it budgets, after their writers.
type readersOf []*Pool

// readerConfigs adds to acct, after every writer, the reader of each pool that has one,
// and returns those pools.
func readerConfigs(pools []*Pool, acct *budget.Account) readersOf {
	var out readersOf
	for _, pl := range pools {
		if pl.reader == nil {
			continue
		}
		cfg := pl.reader.config
		cfg.Database = fmt.Sprintf("pool %s reader (%s)", pl.path, cfg.Database)
		cfg.Functions = pl.entries(true)
		acct.Databases = append(acct.Databases, cfg)
		out = append(out, pl)
	}
	return out
}

// record files the readers' budgets, whose results follow the writers' (first is the
// number of writers), and adds each reader's problems to its pool's.
func (rs readersOf) record(out *accounts, res *budget.AccountResult, be *budget.Error, first int) {
	for k, pl := range rs {
		i := first + k
		b := poolBudget{}
		if res != nil {
			b.res = res.Databases[i]
			b.res.Database = pl.reader.config.Database
		}
		var re *budget.Error
		if be != nil {
			re = be.Database(i)
		}
		if re != nil {
			b.err = re
			w := out.pools[pl]
			we, _ := w.err.(*budget.Error)
			w.err = budget.Join(we, re.Prefixed("reader: "))
			out.pools[pl] = w
		}
		out.readers[pl] = b
	}
}

// addReaderOutputs shows the reader's budget beside the writer's, as outputs of the same
// figures (the proxy's percentage is one for both).
func (pl *Pool) addReaderOutputs(figures []figure) {
	if pl.reader == nil {
		return
	}
	for _, f := range figures {
		awscdk.NewCfnOutput(pl.Construct, jsii.String("BudgetReader"+f.id), &awscdk.CfnOutputProps{
			Description: jsii.String("lambdards connection budget of the reader: " + f.description),
			Value:       awscdk.Lazy_String(&budgetFigure{pool: pl, value: f.value, reader: true}, nil),
		})
	}
}

package budget

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"

	"github.com/lambdards/lambdards/dbspec"
)

// Lambda account defaults.
const (
	// DefaultAccountConcurrency is the Lambda concurrency limit of an account
	// in a Region unless raised. Source: AWS Lambda Developer Guide, "Lambda
	// quotas" (concurrent executions: 1,000). New accounts can start lower.
	DefaultAccountConcurrency = 1000
	// DefaultUnreservedMinimum is the concurrency Lambda keeps unreserved for
	// functions without reserved concurrency. Source: AWS Lambda Developer
	// Guide, "Configuring reserved concurrency for a function": an account can
	// reserve at most its concurrency limit minus 100.
	DefaultUnreservedMinimum = 100
)

const (
	// maxLambdaTimeoutSeconds is the longest Lambda function timeout. Source:
	// AWS Lambda Developer Guide, "Configure Lambda function timeout" (900
	// seconds).
	maxLambdaTimeoutSeconds = 900
	// maxWeight bounds weights so that their sum cannot overflow; weights are
	// relative, so the bound costs nothing.
	maxWeight = 1_000_000
)

// The values of Allocation.LimitedBy.
const (
	// LimitedByConnections means the function's share of the database
	// connections decided its reserved concurrency.
	LimitedByConnections = "connections"
	// LimitedByAccountConcurrency means the function's share of the account's
	// reservable Lambda concurrency decided its reserved concurrency.
	LimitedByAccountConcurrency = "account concurrency"
	// LimitedByFixed means the user fixed the reserved concurrency.
	LimitedByFixed = "fixed"
)

// Function is one Lambda function that connects to the database.
type Function struct {
	// Name identifies the function in the result and in error messages. It
	// must be unique and non-empty.
	Name string `json:"name"`
	// ConnectionsPerEnvironment is how many database connections one execution
	// environment holds at most. Under RDS Proxy session pinning each
	// environment holds a database connection of its own, so budget at least 1.
	// Default: 1 (when 0).
	ConnectionsPerEnvironment int `json:"connectionsPerEnvironment"`
	// Weight is the function's relative share of what fixed functions leave.
	// It is ignored when ReservedConcurrency is set. Default: 1 (when 0).
	Weight int `json:"weight,omitempty"`
	// ReservedConcurrency, when above 0, fixes the function's reserved
	// concurrency instead of deriving it from a weight.
	// Default: 0 (weighted).
	ReservedConcurrency int `json:"fixedReservedConcurrency,omitempty"`
	// TimeoutSeconds is the function's Lambda timeout, checked against the
	// proxy's borrow timeout. Default: 0 (not checked).
	TimeoutSeconds float64 `json:"timeoutSeconds"`
	// Scaling are the ways besides its reserved concurrency in which the
	// function reaches the database: provisioned concurrency, an SQS queue
	// (see scaling.go). Default: none.
	Scaling
}

// Config describes a database and the functions that share its connections.
type Config struct {
	// Database labels the database in reports, for example
	// "aurora-postgresql serverless v2 (0.5-4 ACU)".
	Database string
	// Engine is the database engine. Required.
	Engine dbspec.Engine
	// MaxConnections is the max_connections value written into the parameter
	// group (see InstanceMaxConnections and ServerlessMaxConnections).
	// Required: 1 to 262143 for PostgreSQL, 1 to 100000 for MySQL.
	MaxConnections int
	// ReservedConnections is the number of slots the engine keeps from
	// ordinary users (see ReservedConnections). Default: 0.
	ReservedConnections int
	// Headroom is the number of connections kept free for administrators,
	// migrations, secret rotation and monitoring. Compute uses it as given,
	// so 0 means none; callers should pass DefaultHeadroom(MaxConnections)
	// when the user gives no value. Must not be negative.
	Headroom int
	// Proxy says the functions connect through RDS Proxy. Default: false
	// (direct connections).
	Proxy bool
	// DataAPI says the functions query through the RDS Data API instead of
	// connecting (not with Proxy). They hold no connection between requests,
	// but each statement in flight runs on one of the database connections
	// the Data API opens, so a function is budgeted as if it connected
	// directly, ConnectionsPerEnvironment counting the statements one
	// environment runs at once. On Aurora Serverless v2 the Data API has no
	// request-rate quota (Amazon Aurora User Guide, "Comparing Amazon RDS Data
	// API behaviors for Aurora Serverless v2 and provisioned clusters with
	// Aurora Serverless v1 clusters": "Data APIs can make an unlimited number
	// of requests per second"), so reserved concurrency is what stands between
	// a burst and max_connections. Default: false.
	DataAPI bool
	// MaxIdleConnectionsPercent is the proxy's MaxIdleConnectionsPercent, a
	// whole number from 0 to the computed MaxConnectionsPercent; 0 keeps no
	// idle connection. Only with Proxy. Default: nil, the proxy default of
	// half the MaxConnectionsPercent.
	MaxIdleConnectionsPercent *int
	// ProxyMaxConnectionsPercent is the MaxConnectionsPercent of a proxy that
	// exists already (1 to 100), which the budget takes as it is instead of
	// deriving it. Only with Proxy. Default: 0, derived.
	ProxyMaxConnectionsPercent int
	// BorrowTimeoutSeconds is the proxy's ConnectionBorrowTimeout, checked
	// against each function's timeout. Only with Proxy. Default: 0 (not
	// checked).
	BorrowTimeoutSeconds float64
	// AccountConcurrency is the account's Lambda concurrency limit in the
	// Region. Default: DefaultAccountConcurrency (when 0).
	AccountConcurrency int
	// UnreservedMinimum is the concurrency Lambda keeps unreserved.
	// Default: DefaultUnreservedMinimum (when 0).
	UnreservedMinimum int
	// Functions are the functions that share the database, in the order the
	// result lists them. None is fine.
	Functions []Function
}

// Default headroom: the larger of minHeadroom connections and headroomPercent
// of max_connections.
const (
	minHeadroom     = 5
	headroomPercent = 10
)

// DefaultHeadroom returns the headroom to use when the user gives none: the
// larger of 5 connections and 10 % of maxConnections, rounded up.
//
// The headroom keeps connections that no Lambda function may take: an
// administrator's session, a schema migration, the Secrets Manager rotation
// function (which connects on its own), monitoring agents, the RDS Proxy's own
// monitoring connections, and on MySQL the rdsadmin sessions, whose number AWS
// does not publish. These needs grow with the size of the database, hence the
// percentage; 5 keeps room for an administrator and a rotation even on the
// smallest instances, where 10 % would round to almost nothing.
func DefaultHeadroom(maxConnections int) int {
	tenth := maxConnections / headroomPercent
	if maxConnections%headroomPercent > 0 {
		tenth++
	}
	return max(minHeadroom, tenth)
}

// Allocation is the budget of one function.
type Allocation struct {
	Name                      string `json:"name"`
	ConnectionsPerEnvironment int    `json:"connectionsPerEnvironment"`
	// Weight is the weight used, 0 for a fixed function.
	Weight int  `json:"weight,omitempty"`
	Fixed  bool `json:"fixed"`
	// ReservedConcurrency is the reserved concurrency to set on the function.
	ReservedConcurrency int `json:"reservedConcurrency"`
	// Connections is ReservedConcurrency * ConnectionsPerEnvironment: the most
	// connections the function can hold.
	Connections int `json:"connections"`
	// LimitedBy is LimitedByConnections, LimitedByAccountConcurrency or
	// LimitedByFixed.
	LimitedBy string `json:"limitedBy"`
	// ScalingAllocation is the function's provisioned concurrency and queue
	// consumption, as far as it has any (see scaling.go).
	ScalingAllocation
}

// Result is the connection budget of a database and its functions.
type Result struct {
	Database            string        `json:"database"`
	Engine              dbspec.Engine `json:"engine"`
	MaxConnections      int           `json:"maxConnections"`
	ReservedConnections int           `json:"reservedConnections"`
	Headroom            int           `json:"headroom"`
	// Usable is MaxConnections - ReservedConnections - Headroom.
	Usable int  `json:"usableConnections"`
	Proxy  bool `json:"proxy"`
	// DataAPI says the functions query through the RDS Data API (Config.DataAPI).
	DataAPI bool `json:"dataApi,omitempty"`
	// ProxyMaxConnectionsPercent is the proxy's MaxConnectionsPercent:
	// floor(100 * Usable / MaxConnections).
	ProxyMaxConnectionsPercent int `json:"proxyMaxConnectionsPercent,omitempty"`
	// ProxyMaxIdleConnectionsPercent is the proxy's MaxIdleConnectionsPercent.
	ProxyMaxIdleConnectionsPercent int `json:"proxyMaxIdleConnectionsPercent"`
	// ProxyConnections is floor(MaxConnections * ProxyMaxConnectionsPercent /
	// 100), never more than Usable.
	ProxyConnections int `json:"proxyConnections,omitempty"`
	// Available is what the functions share: ProxyConnections with a proxy,
	// Usable without.
	Available int          `json:"availableToFunctions"`
	Functions []Allocation `json:"functions"`
	// TotalReservedConcurrency is the sum of the functions' reserved
	// concurrency.
	TotalReservedConcurrency int `json:"totalReservedConcurrency"`
	// TotalConnections is the sum of the functions' connections.
	TotalConnections int `json:"totalConnections"`
	// Spare is Available - TotalConnections.
	Spare int `json:"spareConnections"`
	// AccountConcurrency is the account's Lambda concurrency limit used.
	AccountConcurrency int `json:"accountConcurrency"`
	// UnreservedMinimum is the concurrency Lambda keeps unreserved, as used.
	UnreservedMinimum int `json:"unreservedMinimum"`
	// UnreservedConcurrency is AccountConcurrency - TotalReservedConcurrency.
	UnreservedConcurrency int `json:"unreservedConcurrency"`
	// ScalingTotals sum the functions' provisioned concurrency and its cost.
	ScalingTotals
}

// Reservation is reserved concurrency that the budget does not hand out but
// must leave room for: a function whose reserved concurrency is set outside
// lambdards.
type Reservation struct {
	// Name identifies the function in messages, for example its construct path.
	Name string `json:"name"`
	// ReservedConcurrency is the function's reserved concurrency, 0 or more.
	ReservedConcurrency int `json:"reservedConcurrency"`
}

// Account is the Lambda concurrency of one AWS account and Region, shared by
// the functions of every database in it: Lambda counts reserved concurrency
// per account and Region, whichever database a function uses.
type Account struct {
	// AccountConcurrency is the account's Lambda concurrency limit in the
	// Region. Default: DefaultAccountConcurrency (when 0).
	AccountConcurrency int
	// UnreservedMinimum is the concurrency Lambda keeps unreserved.
	// Default: DefaultUnreservedMinimum (when 0).
	UnreservedMinimum int
	// Databases are the databases whose functions share the account, in the
	// order the result lists them. Their own AccountConcurrency and
	// UnreservedMinimum must be 0 or the account's.
	Databases []Config
	// Elsewhere are the reservations made outside the budget. None is fine.
	Elsewhere []Reservation
}

// AccountResult is the budget of every database of an account, and the
// account's concurrency.
type AccountResult struct {
	AccountConcurrency int `json:"accountConcurrency"`
	UnreservedMinimum  int `json:"unreservedMinimum"`
	// Databases are the databases' budgets, in the order of Account.Databases.
	Databases []*Result     `json:"databases"`
	Elsewhere []Reservation `json:"elsewhere,omitempty"`
	// TotalReservedConcurrency is every database's functions' reserved
	// concurrency and the reservations made elsewhere.
	TotalReservedConcurrency int `json:"totalReservedConcurrency"`
	// UnreservedConcurrency is AccountConcurrency - TotalReservedConcurrency.
	UnreservedConcurrency int `json:"unreservedConcurrency"`
}

// Compute derives the connection budget of one database whose functions are
// the only ones in the account with reserved concurrency: ComputeAccount with
// this one database.
//
// It takes the connections ordinary users can use, gives them to the proxy
// (or, without one, to the functions directly), lets fixed functions take
// theirs first and shares the rest between weighted functions by weight, each
// function also bounded by its weighted share of the Lambda concurrency the
// account may reserve. See the package documentation for the arithmetic and
// an example.
//
// Compute reports every problem at once in an *Error, each naming the function
// (if any), the numbers and what to change. When the input itself is invalid,
// or leaves no usable connection, the Result is nil. When only the budget is
// wrong (a function would get no concurrency, fixed functions take too much,
// the borrow timeout is too long, ...) the Result is returned too, so that the
// caller can show the table next to the problems.
func Compute(c Config) (*Result, error) {
	r, err := ComputeAccount(Account{AccountConcurrency: c.AccountConcurrency, UnreservedMinimum: c.UnreservedMinimum,
		Databases: []Config{c}})
	if r == nil {
		return nil, err
	}
	return r.Databases[0], err
}

// ComputeAccount derives the connection budget of every database of an
// account. Each database shares its own connections as Compute does; the
// account's reservable concurrency (its limit, minus what Lambda keeps
// unreserved, minus every fixed function's and every reservation made
// elsewhere) is shared by weight among the weighted functions of all the
// databases, so that together they never reserve more than the account may.
//
// The error is an *Error whose Databases and Account say which problem is
// whose. The result is nil when the input is invalid or a database has no
// usable connection; otherwise it is returned next to the problems.
func ComputeAccount(a Account) (*AccountResult, error) {
	errs := Error{Databases: make([][]string, len(a.Databases))}
	account, unreserved := a.AccountConcurrency, a.UnreservedMinimum
	if account == 0 {
		account = DefaultAccountConcurrency
	}
	if unreserved == 0 {
		unreserved = DefaultUnreservedMinimum
	}
	var acct problems
	ok := validateAccount(a, account, unreserved, &acct)
	reservable := account - unreserved

	results := make([]*Result, len(a.Databases))
	fns := make([][]function, len(a.Databases))
	var dbs []problems
	for i, c := range a.Databases {
		var p problems
		dbOK := validateDatabase(c, &p)
		var fnsOK bool
		fns[i], fnsOK = resolveFunctions(c.Functions, reservable, account, unreserved, &p)
		fnsOK = validateScaling(c.Functions, &p) && fnsOK
		checkTimeouts(c, fns[i], &p)
		if dbOK && fnsOK {
			results[i] = databaseBase(c, account, unreserved, &p)
		}
		ok = ok && results[i] != nil
		dbs = append(dbs, p)
	}
	if !ok {
		return nil, errs.collect(dbs, acct)
	}

	// The account's reservable concurrency, after fixed functions and
	// reservations made elsewhere, is shared by weight across all databases.
	var fixedConc, totalWeight, elsewhere int
	for _, fs := range fns {
		for _, f := range fs {
			fixedConc += f.fixed // each <= reservable, checked
			totalWeight += f.weight
		}
	}
	for _, e := range a.Elsewhere {
		elsewhere = satAdd(elsewhere, e.ReservedConcurrency)
	}
	share := accountShare{reservable: reservable, left: max(reservable-fixedConc-elsewhere, 0), fixed: fixedConc,
		elsewhere: elsewhere, totalWeight: totalWeight, databases: len(a.Databases)}
	out := &AccountResult{AccountConcurrency: account, UnreservedMinimum: unreserved, Databases: results,
		Elsewhere: a.Elsewhere, TotalReservedConcurrency: elsewhere}
	for i, r := range results {
		allocate(r, fns[i], share, &dbs[i])
		scale(r, a.Databases[i].Functions, &dbs[i])
		out.TotalReservedConcurrency = satAdd(out.TotalReservedConcurrency, r.TotalReservedConcurrency)
	}
	out.UnreservedConcurrency = account - out.TotalReservedConcurrency
	for _, r := range results {
		r.UnreservedConcurrency = out.UnreservedConcurrency
	}
	if out.TotalReservedConcurrency > reservable {
		acct.add("%s", overReserved(out, fns, reservable))
	}
	return out, errs.collect(dbs, acct)
}

// accountShare is what the weighted functions of all databases share of the
// account's concurrency.
type accountShare struct {
	reservable  int // account - unreserved
	left        int // reservable - fixed - elsewhere, at least 0
	fixed       int // every fixed function's reserved concurrency
	elsewhere   int // the reservations made elsewhere
	totalWeight int // every weighted function's weight
	databases   int
}

// databaseBase is a database's budget before its functions: usable connections and
// the proxy's share. It is nil, with the problem in p, when no connection is
// usable.
func databaseBase(c Config, account, unreserved int, p *problems) *Result {
	usable := c.MaxConnections - c.ReservedConnections - c.Headroom
	usableWhy := fmt.Sprintf("max_connections %d - reserved %d - headroom %d = %d usable",
		c.MaxConnections, c.ReservedConnections, c.Headroom, usable)
	if usable < 1 {
		p.add("no connection is left for functions (%s): %s", usableWhy,
			raiseMaxOrLowerHeadroom(c.MaxConnections-c.ReservedConnections-1))
		return nil
	}
	r := &Result{
		Database:            c.Database,
		Engine:              c.Engine,
		MaxConnections:      c.MaxConnections,
		ReservedConnections: c.ReservedConnections,
		Headroom:            c.Headroom,
		Usable:              usable,
		Proxy:               c.Proxy,
		DataAPI:             c.DataAPI,
		Available:           usable,
		Functions:           []Allocation{},
		AccountConcurrency:  account,
		UnreservedMinimum:   unreserved,
	}
	if !c.Proxy {
		return r
	}
	// MaxConnectionsPercent is a whole percentage from 1 to 100, and
	// MaxIdleConnectionsPercent defaults to half of it. Source: Amazon RDS
	// API Reference, "ConnectionPoolConfiguration"; Amazon RDS User Guide,
	// "RDS Proxy connection considerations".
	//
	// Because pct <= 100*usable/max, max*pct/100 <= usable: the proxy can
	// never take the reserved or headroom connections.
	pct := min(100*usable/c.MaxConnections, 100)
	if c.ProxyMaxConnectionsPercent != 0 {
		// A proxy that exists already keeps its own setting: the budget takes it as it is,
		// and refuses it if the proxy could take reserved or headroom connections.
		given := c.ProxyMaxConnectionsPercent
		if given > pct {
			p.add("the proxy's MaxConnectionsPercent %d lets it open %d connections, more than the %s: lower the "+
				"proxy's MaxConnectionsPercent to at most %d, or %s", given, c.MaxConnections*given/100, usableWhy,
				pct, lowerHeadroomFor(c, given))
			return nil
		}
		pct = given
	}
	if pct < 1 {
		p.add("usable connections are under 1%% of max_connections (%s), but RDS Proxy's "+
			"MaxConnectionsPercent cannot go below 1 (%d connections), so the proxy could take reserved or headroom "+
			"connections: %s",
			usableWhy, c.MaxConnections/100,
			raiseMaxOrLowerHeadroom(c.MaxConnections-c.ReservedConnections-ceilDiv(c.MaxConnections, 100)))
		return nil
	}
	idle := pct / 2
	if c.MaxIdleConnectionsPercent != nil {
		idle = *c.MaxIdleConnectionsPercent
		if idle > pct {
			p.add("proxy max idle connections percent %d exceeds max connections percent %d (%s): "+
				"set {MaxIdleConnectionsPercent} to at most %d, or leave it unset for the default %d",
				idle, pct, usableWhy, pct, pct/2)
		}
	}
	r.ProxyMaxConnectionsPercent = pct
	r.ProxyMaxIdleConnectionsPercent = idle
	r.ProxyConnections = c.MaxConnections * pct / 100
	r.Available = r.ProxyConnections
	return r
}

// availableWhy says where r.Available comes from, for messages.
func (r *Result) availableWhy() string {
	usable := fmt.Sprintf("max_connections %d - reserved %d - headroom %d = %d usable",
		r.MaxConnections, r.ReservedConnections, r.Headroom, r.Usable)
	if !r.Proxy {
		return usable
	}
	return fmt.Sprintf("MaxConnectionsPercent %d of max_connections %d = %d through the proxy; %s",
		r.ProxyMaxConnectionsPercent, r.MaxConnections, r.ProxyConnections, usable)
}

// overReserved explains a total reserved concurrency above what the account
// may reserve, naming every database's share, its fixed functions and the
// reservations made elsewhere. Weighted functions never cause it: their
// shares come from what is left.
func overReserved(out *AccountResult, fns [][]function, reservable int) string {
	var parts []string
	for i, r := range out.Databases {
		var fixed []string
		for _, f := range fns[i] {
			if f.fixed > 0 {
				fixed = append(fixed, fmt.Sprintf("%q %d", f.name, f.fixed))
			}
		}
		label := r.Database
		if label == "" {
			label = fmt.Sprintf("database #%d", i+1)
		}
		part := fmt.Sprintf("%s reserves %d", label, r.TotalReservedConcurrency)
		if len(fixed) > 0 {
			part += " (fixed: " + strings.Join(fixed, ", ") + ")"
		}
		parts = append(parts, part)
	}
	for _, e := range out.Elsewhere {
		parts = append(parts, fmt.Sprintf("%q reserves %d outside the budget", e.Name, e.ReservedConcurrency))
	}
	fix := "lower a {ReservedConcurrency} or raise {AccountConcurrency}"
	if len(out.Elsewhere) > 0 {
		fix = "lower a {ReservedConcurrency} (here or outside the budget) or raise {AccountConcurrency}"
	}
	return fmt.Sprintf("total reserved concurrency %d exceeds the %d the account may reserve ({AccountConcurrency} %d - %d "+
		"Lambda keeps unreserved): %s; %s", out.TotalReservedConcurrency, reservable, out.AccountConcurrency,
		out.UnreservedMinimum, strings.Join(parts, "; "), fix)
}

// lowerHeadroomFor says how to make room for a proxy that may open pct percent of
// max_connections, by the headroom.
func lowerHeadroomFor(c Config, pct int) string {
	room := c.MaxConnections - c.ReservedConnections - c.MaxConnections*pct/100
	if room < 0 {
		return "raise max connections: the proxy's share alone exceeds what the engine leaves ordinary users"
	}
	return fmt.Sprintf("lower {Headroom} to at most %d", room)
}

// raiseMaxOrLowerHeadroom says how to get more usable connections, given the
// largest headroom that would do.
func raiseMaxOrLowerHeadroom(maxHeadroom int) string {
	const raise = "raise max connections (choose a larger {InstanceClass} or raise {MaxCapacity})"
	if maxHeadroom < 0 {
		return raise
	}
	return fmt.Sprintf("%s or lower {Headroom} to at most %d", raise, maxHeadroom)
}

// function is a Function with its defaults applied.
type function struct {
	name    string
	conns   int // connections per environment
	weight  int // 0 for a fixed function
	fixed   int // fixed reserved concurrency, 0 for a weighted function
	timeout float64
}

func validateDatabase(c Config, errs *problems) bool {
	n := len(*errs)
	if !c.Engine.Valid() {
		errs.add("{Engine} %q is not supported: use %q or %q", c.Engine, dbspec.Postgres, dbspec.MySQL)
	}
	if c.MaxConnections < 1 {
		errs.add("{MaxConnections} %d is out of range: it must be at least 1", c.MaxConnections)
	} else if c.Engine.Valid() && c.MaxConnections > maxConnectionsLimit(c.Engine) {
		errs.add("{MaxConnections} %d is out of range: %s accepts at most %d", c.MaxConnections, c.Engine, maxConnectionsLimit(c.Engine))
	}
	if c.ReservedConnections < 0 {
		errs.add("{ReservedConnections} %d is negative: use ReservedConnections for the engine (0 or more)", c.ReservedConnections)
	}
	if c.Headroom < 0 {
		errs.add("{Headroom} %d is negative: use 0 or more (DefaultHeadroom gives %d for {MaxConnections} %d)",
			c.Headroom, DefaultHeadroom(c.MaxConnections), c.MaxConnections)
	}
	if c.Proxy && c.DataAPI {
		errs.add("{Proxy} and {DataAPI} both set: functions either connect through the proxy or query through the Data API; unset one")
	}
	if pct := c.ProxyMaxConnectionsPercent; pct != 0 {
		switch {
		case pct < 1 || pct > 100:
			errs.add("{ProxyMaxConnectionsPercent} %d is out of range: RDS Proxy takes 1 to 100", pct)
		case !c.Proxy:
			errs.add("{ProxyMaxConnectionsPercent} %d is set but there is no proxy ({Proxy=false})", pct)
		}
	}
	if idle := c.MaxIdleConnectionsPercent; idle != nil {
		switch {
		case *idle < 0 || *idle > 100:
			errs.add("{MaxIdleConnectionsPercent} %d is out of range: it must be a whole number from 0 to 100", *idle)
		case !c.Proxy:
			errs.add("{MaxIdleConnectionsPercent} %d is set but there is no proxy ({Proxy=false}): it applies only with RDS Proxy, so remove it or use a proxy", *idle)
		}
	}
	switch {
	case !(c.BorrowTimeoutSeconds >= 0) || math.IsInf(c.BorrowTimeoutSeconds, 0):
		errs.add("{BorrowTimeoutSeconds} %v is out of range: it must be 0 or more", c.BorrowTimeoutSeconds)
	case c.BorrowTimeoutSeconds != 0 && !c.Proxy:
		errs.add("{BorrowTimeoutSeconds} %v is set but there is no proxy ({Proxy=false}): it applies only with RDS Proxy, so remove it or use a proxy",
			c.BorrowTimeoutSeconds)
	}
	return len(*errs) == n
}

func validateAccount(a Account, account, unreserved int, errs *problems) bool {
	n := len(*errs)
	if a.AccountConcurrency < 0 {
		errs.add("{AccountConcurrency} %d is negative: use the account's Lambda concurrency limit (0 means %d)",
			a.AccountConcurrency, DefaultAccountConcurrency)
	}
	if a.UnreservedMinimum < 0 {
		errs.add("{UnreservedMinimum} %d is negative: use 0 or more (0 means %d)", a.UnreservedMinimum, DefaultUnreservedMinimum)
	}
	for i, c := range a.Databases {
		label := c.Database
		if label == "" {
			label = fmt.Sprintf("database #%d", i+1)
		}
		// The account is one: a database that says otherwise is not silently overruled.
		if c.AccountConcurrency != 0 && c.AccountConcurrency != account {
			errs.add("%s gives {AccountConcurrency} %d, but the account's is %d: the functions of every database in an "+
				"account and Region share one Lambda concurrency limit; give every database the same {AccountConcurrency}",
				label, c.AccountConcurrency, account)
		}
		if c.UnreservedMinimum != 0 && c.UnreservedMinimum != unreserved {
			errs.add("%s gives {UnreservedMinimum} %d, but the account's is %d: give every database the same {UnreservedMinimum}",
				label, c.UnreservedMinimum, unreserved)
		}
	}
	for _, e := range a.Elsewhere {
		if e.ReservedConcurrency < 0 {
			errs.add("reservation %q of %d is negative: use 0 or more", e.Name, e.ReservedConcurrency)
		}
	}
	if len(*errs) == n && account < unreserved {
		errs.add("{AccountConcurrency} %d is below {UnreservedMinimum} %d: raise {AccountConcurrency} (a Service Quotas increase) "+
			"or lower {UnreservedMinimum}", account, unreserved)
	}
	return len(*errs) == n
}

// resolveFunctions validates the functions and applies their defaults.
// reservable is the concurrency the account may reserve.
// account and unreserved are the figures it comes from, for messages.
func resolveFunctions(in []Function, reservable, account, unreserved int, errs *problems) ([]function, bool) {
	n := len(*errs)
	seen := map[string]int{}
	out := make([]function, 0, len(in))
	for i, f := range in {
		label := fmt.Sprintf("function %q", f.Name)
		switch first, dup := seen[f.Name]; {
		case f.Name == "":
			label = fmt.Sprintf("function #%d", i+1)
			errs.add("%s has an empty name: give every function a unique name", label)
		case dup:
			errs.add("function name %q is used by functions #%d and #%d: give every function a unique name", f.Name, first+1, i+1)
		default:
			seen[f.Name] = i
		}
		if f.ConnectionsPerEnvironment < 0 {
			errs.add("%s: {ConnectionsPerEnvironment} %d is negative: use 1 or more (0 means 1)", label, f.ConnectionsPerEnvironment)
		}
		if f.Weight < 0 || f.Weight > maxWeight {
			errs.add("%s: {Weight} %d is out of range: use 1 to %d (0 means 1)", label, f.Weight, maxWeight)
		}
		if f.ReservedConcurrency < 0 {
			errs.add("%s: {ReservedConcurrency} %d is negative: use 1 or more, or 0 to derive it from the weight",
				label, f.ReservedConcurrency)
		} else if reservable >= 0 && f.ReservedConcurrency > reservable {
			errs.add("%s: {ReservedConcurrency} %d exceeds the %d the account may reserve ({AccountConcurrency} %d minus the %d "+
				"Lambda keeps unreserved): lower it or raise {AccountConcurrency}", label, f.ReservedConcurrency, reservable, account, unreserved)
		}
		if !(f.TimeoutSeconds >= 0 && f.TimeoutSeconds <= maxLambdaTimeoutSeconds) {
			errs.add("%s: {TimeoutSeconds} %v is out of range: use 1 to %d seconds (0 means not checked)",
				label, f.TimeoutSeconds, maxLambdaTimeoutSeconds)
		}
		r := function{name: f.Name, conns: max(f.ConnectionsPerEnvironment, 1), timeout: f.TimeoutSeconds}
		if f.ReservedConcurrency > 0 {
			r.fixed = f.ReservedConcurrency
		} else {
			r.weight = max(f.Weight, 1)
		}
		out = append(out, r)
	}
	return out, len(*errs) == n
}

// checkTimeouts reports functions whose timeout is not longer than the proxy's
// borrow timeout. Such a function is killed by Lambda while it still waits for
// a pooled connection, instead of getting the proxy's timeout error that it
// could handle. Source for the borrow timeout's meaning: Amazon RDS User
// Guide, "RDS Proxy connection considerations", section
// "ConnectionBorrowTimeout".
func checkTimeouts(c Config, fns []function, errs *problems) {
	if !c.Proxy || !(c.BorrowTimeoutSeconds > 0) {
		return
	}
	for _, f := range fns {
		if f.timeout > 0 && f.timeout <= c.BorrowTimeoutSeconds {
			errs.add("function %q: timeout %vs is not longer than the proxy borrow timeout %vs, so Lambda would kill the "+
				"function while it still waits for a pooled connection instead of letting it get the proxy's timeout error: "+
				"set {BorrowTimeoutSeconds} below %vs or raise the function's {TimeoutSeconds} above %vs",
				f.name, f.timeout, c.BorrowTimeoutSeconds, f.timeout, c.BorrowTimeoutSeconds)
		}
	}
}

// allocate shares r.Available between the database's functions, and their
// weighted share of the account's concurrency, and runs the database's
// budget checks.
func allocate(r *Result, fns []function, acct accountShare, errs *problems) {
	var fixedConns, totalWeight int
	var fixedParts []string
	for _, f := range fns {
		if f.fixed > 0 {
			conns := satMul(f.fixed, f.conns)
			fixedConns = satAdd(fixedConns, conns)
			fixedParts = append(fixedParts, fmt.Sprintf("%q %d × %d = %d", f.name, f.fixed, f.conns, conns))
		} else {
			totalWeight += f.weight // each <= maxWeight, checked
		}
	}
	remaining := max(r.Available-fixedConns, 0)

	var zero []zeroShare // functions left without concurrency, reported last
	for _, f := range fns {
		a := Allocation{Name: f.name, ConnectionsPerEnvironment: f.conns}
		if f.fixed > 0 {
			a.Fixed = true
			a.ReservedConcurrency = f.fixed
			a.LimitedBy = LimitedByFixed
		} else {
			a.Weight = f.weight
			connShare := mulDiv(remaining, f.weight, totalWeight)
			byConn := connShare / f.conns
			byAcct := mulDiv(acct.left, f.weight, acct.totalWeight)
			// On a tie the database is named: it is what the budget protects.
			a.ReservedConcurrency, a.LimitedBy = byConn, LimitedByConnections
			if byAcct < byConn {
				a.ReservedConcurrency, a.LimitedBy = byAcct, LimitedByAccountConcurrency
			}
			if a.ReservedConcurrency == 0 {
				zero = append(zero, zeroShare{f: f, connShare: connShare, byAcct: byAcct, limitedBy: a.LimitedBy})
			}
		}
		a.Connections = satMul(a.ReservedConcurrency, a.ConnectionsPerEnvironment)
		r.Functions = append(r.Functions, a)
		r.TotalReservedConcurrency += a.ReservedConcurrency
		r.TotalConnections = satAdd(r.TotalConnections, a.Connections)
	}
	r.Spare = r.Available - r.TotalConnections

	if fixedConns > r.Available {
		errs.add("fixed functions need %d connections (%s; {ReservedConcurrency} × {ConnectionsPerEnvironment}) but only %d are "+
			"available to functions (%s): lower a {ReservedConcurrency} or its {ConnectionsPerEnvironment}, lower {Headroom}, "+
			"or raise max connections (choose a larger {InstanceClass} or raise {MaxCapacity})",
			fixedConns, strings.Join(fixedParts, ", "), r.Available, r.availableWhy())
	}
	z := zeroContext{r: r, acct: acct, totalWeight: totalWeight, remaining: remaining, fixedConns: fixedConns}
	*errs = append(*errs, z.reasons(zero)...)
}

// zeroShare is a weighted function that got no reserved concurrency, and the
// shares that decided it.
type zeroShare struct {
	f                 function
	connShare, byAcct int
	limitedBy         string
}

// zeroContext is what every zero share of one database is explained with.
type zeroContext struct {
	r                      *Result
	acct                   accountShare
	totalWeight, remaining int
	fixedConns             int
}

// maxZeroListed is how many functions left without concurrency are explained
// one by one; beyond it they are summed up in one message that explains the
// worst cases, so that a budget failing for hundreds of functions reads as one
// problem.
const maxZeroListed = 3

// reasons explains the zero shares: each on its own, or, when there are more
// than maxZeroListed, one summary that names the worst cases (the functions
// furthest from one environment: the smallest share per connection they need).
func (z zeroContext) reasons(zero []zeroShare) []string {
	if len(zero) <= maxZeroListed {
		out := make([]string, len(zero))
		for i, s := range zero {
			out[i] = z.reason(s)
		}
		return out
	}
	worst := slices.Clone(zero)
	slices.SortStableFunc(worst, func(a, b zeroShare) int {
		// a.share/a.conns < b.share/b.conns, in integers.
		return cmp.Compare(satMul(a.share(), b.f.conns), satMul(b.share(), a.f.conns))
	})
	names := make([]string, len(zero))
	for i, s := range zero {
		names[i] = fmt.Sprintf("%q", s.f.name)
	}
	listed := make([]string, maxZeroListed)
	for i, s := range worst[:maxZeroListed] {
		listed[i] = z.reason(s)
	}
	return []string{fmt.Sprintf("%d functions get reserved concurrency 0 and could never run (%s); the worst cases: %s",
		len(zero), strings.Join(names, ", "), strings.Join(listed, "; "))}
}

// share is what decided a zero: the connections or the concurrency it got.
func (s zeroShare) share() int {
	if s.limitedBy == LimitedByConnections {
		return s.connShare
	}
	return satMul(s.byAcct, s.f.conns)
}

// reason explains why a weighted function got no reserved concurrency. A
// function with reserved concurrency 0 never runs, so this is always an error.
func (z zeroContext) reason(s zeroShare) string {
	f, r := s.f, z.r
	head := fmt.Sprintf("function %q gets reserved concurrency 0 and could never run", f.name)
	if s.limitedBy == LimitedByConnections {
		fix := "raise max connections (choose a larger {InstanceClass} or raise {MaxCapacity}), lower {Headroom}, "
		if z.remaining > 0 {
			fix += "raise its {Weight}, lower its {ConnectionsPerEnvironment}, "
		}
		fix += "or lower a {ReservedConcurrency}"
		return fmt.Sprintf("%s: its weight %d of %d gives it %d of the %d connections left after fixed functions "+
			"(%d available - %d fixed), fewer than its {ConnectionsPerEnvironment} %d: %s",
			head, f.weight, z.totalWeight, s.connShare, z.remaining, r.Available, z.fixedConns, f.conns, fix)
	}
	fix := "raise {AccountConcurrency}, "
	if z.acct.left > 0 {
		fix += "raise its {Weight}, "
	}
	fix += "or lower a {ReservedConcurrency}"
	of := "of"
	if z.acct.databases > 1 {
		of = "of every database's functions,"
	}
	elsewhere := ""
	if z.acct.elsewhere > 0 {
		elsewhere = fmt.Sprintf(" - %d reserved outside the budget", z.acct.elsewhere)
	}
	return fmt.Sprintf("%s: its weight %d %s %d gives it %d of the %d concurrency the account may still reserve "+
		"({AccountConcurrency} %d - %d unreserved - %d fixed%s): %s",
		head, f.weight, of, z.acct.totalWeight, s.byAcct, z.acct.left, r.AccountConcurrency, r.UnreservedMinimum,
		z.acct.fixed, elsewhere, fix)
}

// mulDiv returns floor(a*b/c) for 0 <= a, 0 <= b <= c, c > 0, without
// overflow; the quotient is at most a. It returns 0 when c is 0.
func mulDiv(a, b, c int) int {
	if c <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	q, _ := bits.Div64(hi, lo, uint64(c))
	return int(q)
}

// satMul returns a*b for non-negative a and b, or math.MaxInt on overflow.
func satMul(a, b int) int {
	if a != 0 && b > math.MaxInt/a {
		return math.MaxInt
	}
	return a * b
}

// satAdd returns a+b for non-negative a and b, or math.MaxInt on overflow.
func satAdd(a, b int) int {
	if a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

package budget

import (
	"fmt"
	"math"
	"math/bits"
	"strings"
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
}

// Config describes a database and the functions that share its connections.
type Config struct {
	// Database labels the database in reports, for example
	// "aurora-postgresql serverless v2 (0.5-4 ACU)".
	Database string
	// Engine is the database engine. Required.
	Engine Engine
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
	// MaxIdleConnectionsPercent is the proxy's MaxIdleConnectionsPercent, a
	// whole number from 0 to the computed MaxConnectionsPercent. Only with
	// Proxy. Default: 0, meaning the proxy default of half the
	// MaxConnectionsPercent.
	MaxIdleConnectionsPercent float64
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
}

// Result is the connection budget of a database and its functions.
type Result struct {
	Database            string `json:"database"`
	Engine              Engine `json:"engine"`
	MaxConnections      int    `json:"maxConnections"`
	ReservedConnections int    `json:"reservedConnections"`
	Headroom            int    `json:"headroom"`
	// Usable is MaxConnections - ReservedConnections - Headroom.
	Usable int  `json:"usableConnections"`
	Proxy  bool `json:"proxy"`
	// ProxyMaxConnectionsPercent is the proxy's MaxConnectionsPercent:
	// floor(100 * Usable / MaxConnections).
	ProxyMaxConnectionsPercent int `json:"proxyMaxConnectionsPercent,omitempty"`
	// ProxyMaxIdleConnectionsPercent is the proxy's MaxIdleConnectionsPercent.
	ProxyMaxIdleConnectionsPercent int `json:"proxyMaxIdleConnectionsPercent,omitempty"`
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
}

// Compute derives the connection budget.
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
	var errs Error
	account, unreserved := c.AccountConcurrency, c.UnreservedMinimum
	if account == 0 {
		account = DefaultAccountConcurrency
	}
	if unreserved == 0 {
		unreserved = DefaultUnreservedMinimum
	}

	ok := validateDatabase(c, &errs)
	ok = validateAccount(c, account, unreserved, &errs) && ok
	fns, fnsOK := resolveFunctions(c.Functions, account-unreserved, account, unreserved, &errs)
	checkTimeouts(c, fns, &errs)
	if !ok || !fnsOK {
		return nil, errs.err()
	}

	usable := c.MaxConnections - c.ReservedConnections - c.Headroom
	usableWhy := fmt.Sprintf("max_connections %d - reserved %d - headroom %d = %d usable",
		c.MaxConnections, c.ReservedConnections, c.Headroom, usable)
	if usable < 1 {
		errs.add("no connection is left for functions (%s): %s", usableWhy,
			raiseMaxOrLowerHeadroom(c.MaxConnections-c.ReservedConnections-1))
		return nil, errs.err()
	}

	r := &Result{
		Database:            c.Database,
		Engine:              c.Engine,
		MaxConnections:      c.MaxConnections,
		ReservedConnections: c.ReservedConnections,
		Headroom:            c.Headroom,
		Usable:              usable,
		Proxy:               c.Proxy,
		Available:           usable,
		Functions:           []Allocation{},
		AccountConcurrency:  account,
		UnreservedMinimum:   unreserved,
	}
	availableWhy := usableWhy
	if c.Proxy {
		// MaxConnectionsPercent is a whole percentage from 1 to 100, and
		// MaxIdleConnectionsPercent defaults to half of it. Source: Amazon RDS
		// API Reference, "ConnectionPoolConfiguration"; Amazon RDS User Guide,
		// "RDS Proxy connection considerations".
		//
		// Because pct <= 100*usable/max, max*pct/100 <= usable: the proxy can
		// never take the reserved or headroom connections.
		pct := min(100*usable/c.MaxConnections, 100)
		if pct < 1 {
			errs.add("usable connections are under 1%% of max_connections (%s), but RDS Proxy's "+
				"MaxConnectionsPercent cannot go below 1 (%d connections), so the proxy could take reserved or headroom "+
				"connections: %s",
				usableWhy, c.MaxConnections/100,
				raiseMaxOrLowerHeadroom(c.MaxConnections-c.ReservedConnections-ceilDiv(c.MaxConnections, 100)))
			return nil, errs.err()
		}
		idle := pct / 2
		if c.MaxIdleConnectionsPercent > 0 {
			idle = int(c.MaxIdleConnectionsPercent)
			if idle > pct {
				errs.add("proxy max idle connections percent %d exceeds max connections percent %d (%s): "+
					"set maxIdleConnectionsPercent to at most %d, or leave it unset for the default %d",
					idle, pct, usableWhy, pct, pct/2)
			}
		}
		r.ProxyMaxConnectionsPercent = pct
		r.ProxyMaxIdleConnectionsPercent = idle
		r.ProxyConnections = c.MaxConnections * pct / 100
		r.Available = r.ProxyConnections
		availableWhy = fmt.Sprintf("MaxConnectionsPercent %d of max_connections %d = %d through the proxy; %s",
			pct, c.MaxConnections, r.ProxyConnections, usableWhy)
	}

	allocate(r, fns, availableWhy, &errs)
	return r, errs.err()
}

// raiseMaxOrLowerHeadroom says how to get more usable connections, given the
// largest headroom that would do.
func raiseMaxOrLowerHeadroom(maxHeadroom int) string {
	const raise = "raise max connections (choose a larger instance class or raise maxAcu)"
	if maxHeadroom < 0 {
		return raise
	}
	return fmt.Sprintf("%s or lower headroom to at most %d", raise, maxHeadroom)
}

// function is a Function with its defaults applied.
type function struct {
	name    string
	conns   int // connections per environment
	weight  int // 0 for a fixed function
	fixed   int // fixed reserved concurrency, 0 for a weighted function
	timeout float64
}

func validateDatabase(c Config, errs *Error) bool {
	n := len(errs.Problems)
	if !c.Engine.valid() {
		errs.add("engine %q is not supported: use %q or %q", c.Engine, Postgres, MySQL)
	}
	if c.MaxConnections < 1 {
		errs.add("maxConnections %d is out of range: it must be at least 1", c.MaxConnections)
	} else if c.Engine.valid() && c.MaxConnections > maxConnectionsLimit(c.Engine) {
		errs.add("maxConnections %d is out of range: %s accepts at most %d", c.MaxConnections, c.Engine, maxConnectionsLimit(c.Engine))
	}
	if c.ReservedConnections < 0 {
		errs.add("reservedConnections %d is negative: use ReservedConnections for the engine (0 or more)", c.ReservedConnections)
	}
	if c.Headroom < 0 {
		errs.add("headroom %d is negative: use 0 or more (DefaultHeadroom gives %d for maxConnections %d)",
			c.Headroom, DefaultHeadroom(c.MaxConnections), c.MaxConnections)
	}
	idle := c.MaxIdleConnectionsPercent
	switch {
	case !(idle >= 0 && idle <= 100 && idle == math.Trunc(idle)):
		errs.add("maxIdleConnectionsPercent %v is out of range: it must be a whole number from 0 to 100", idle)
	case idle != 0 && !c.Proxy:
		errs.add("maxIdleConnectionsPercent %v is set but proxy is off: it applies only with proxy, so remove it or turn proxy on", idle)
	}
	switch {
	case !(c.BorrowTimeoutSeconds >= 0) || math.IsInf(c.BorrowTimeoutSeconds, 0):
		errs.add("borrowTimeoutSeconds %v is out of range: it must be 0 or more", c.BorrowTimeoutSeconds)
	case c.BorrowTimeoutSeconds != 0 && !c.Proxy:
		errs.add("borrowTimeoutSeconds %v is set but proxy is off: it applies only with proxy, so remove it or turn proxy on",
			c.BorrowTimeoutSeconds)
	}
	return len(errs.Problems) == n
}

func validateAccount(c Config, account, unreserved int, errs *Error) bool {
	n := len(errs.Problems)
	if c.AccountConcurrency < 0 {
		errs.add("accountConcurrency %d is negative: use the account's Lambda concurrency limit (0 means %d)",
			c.AccountConcurrency, DefaultAccountConcurrency)
	}
	if c.UnreservedMinimum < 0 {
		errs.add("unreservedMinimum %d is negative: use 0 or more (0 means %d)", c.UnreservedMinimum, DefaultUnreservedMinimum)
	}
	if len(errs.Problems) == n && account < unreserved {
		errs.add("accountConcurrency %d is below unreservedMinimum %d: raise accountConcurrency (a Service Quotas increase) "+
			"or lower unreservedMinimum", account, unreserved)
	}
	return len(errs.Problems) == n
}

// resolveFunctions validates the functions and applies their defaults.
// reservable is the concurrency the account may reserve.
// account and unreserved are the figures it comes from, for messages.
func resolveFunctions(in []Function, reservable, account, unreserved int, errs *Error) ([]function, bool) {
	n := len(errs.Problems)
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
			errs.add("%s: connectionsPerEnvironment %d is negative: use 1 or more (0 means 1)", label, f.ConnectionsPerEnvironment)
		}
		if f.Weight < 0 || f.Weight > maxWeight {
			errs.add("%s: weight %d is out of range: use 1 to %d (0 means 1)", label, f.Weight, maxWeight)
		}
		if f.ReservedConcurrency < 0 {
			errs.add("%s: reservedConcurrency %d is negative: use 1 or more, or 0 to derive it from the weight",
				label, f.ReservedConcurrency)
		} else if reservable >= 0 && f.ReservedConcurrency > reservable {
			errs.add("%s: reservedConcurrency %d exceeds the %d the account may reserve (accountConcurrency %d minus the %d "+
				"Lambda keeps unreserved): lower it or raise accountConcurrency", label, f.ReservedConcurrency, reservable, account, unreserved)
		}
		if !(f.TimeoutSeconds >= 0 && f.TimeoutSeconds <= maxLambdaTimeoutSeconds) {
			errs.add("%s: timeoutSeconds %v is out of range: use 1 to %d seconds (0 means not checked)",
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
	return out, len(errs.Problems) == n
}

// checkTimeouts reports functions whose timeout is not longer than the proxy's
// borrow timeout. Such a function is killed by Lambda while it still waits for
// a pooled connection, instead of getting the proxy's timeout error that it
// could handle. Source for the borrow timeout's meaning: Amazon RDS User
// Guide, "RDS Proxy connection considerations", section
// "ConnectionBorrowTimeout".
func checkTimeouts(c Config, fns []function, errs *Error) {
	if !c.Proxy || !(c.BorrowTimeoutSeconds > 0) {
		return
	}
	for _, f := range fns {
		if f.timeout > 0 && f.timeout <= c.BorrowTimeoutSeconds {
			errs.add("function %q: timeout %vs is not longer than the proxy borrow timeout %vs, so Lambda would kill the "+
				"function while it still waits for a pooled connection instead of letting it get the proxy's timeout error: "+
				"set borrowTimeoutSeconds below %vs or raise the function timeout above %vs",
				f.name, f.timeout, c.BorrowTimeoutSeconds, f.timeout, c.BorrowTimeoutSeconds)
		}
	}
}

// allocate shares r.Available between the functions and runs the budget
// checks.
func allocate(r *Result, fns []function, availableWhy string, errs *Error) {
	var fixedConns, fixedConc, totalWeight int
	var fixedParts []string
	for _, f := range fns {
		if f.fixed > 0 {
			conns := satMul(f.fixed, f.conns)
			fixedConns = satAdd(fixedConns, conns)
			fixedConc += f.fixed // each <= reservable, checked
			fixedParts = append(fixedParts, fmt.Sprintf("%q %d × %d = %d", f.name, f.fixed, f.conns, conns))
		} else {
			totalWeight += f.weight // each <= maxWeight, checked
		}
	}
	reservable := r.AccountConcurrency - r.UnreservedMinimum
	remaining := max(r.Available-fixedConns, 0)
	reservableLeft := max(reservable-fixedConc, 0)

	var zero []string // functions left without concurrency, reported last
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
			byAcct := mulDiv(reservableLeft, f.weight, totalWeight)
			// On a tie the database is named: it is what the budget protects.
			a.ReservedConcurrency, a.LimitedBy = byConn, LimitedByConnections
			if byAcct < byConn {
				a.ReservedConcurrency, a.LimitedBy = byAcct, LimitedByAccountConcurrency
			}
			if a.ReservedConcurrency == 0 {
				zero = append(zero, zeroReason(f, totalWeight, connShare, remaining, byAcct, reservableLeft,
					r, fixedConns, fixedConc, a.LimitedBy))
			}
		}
		a.Connections = satMul(a.ReservedConcurrency, a.ConnectionsPerEnvironment)
		r.Functions = append(r.Functions, a)
		r.TotalReservedConcurrency += a.ReservedConcurrency
		r.TotalConnections = satAdd(r.TotalConnections, a.Connections)
	}
	r.Spare = r.Available - r.TotalConnections
	r.UnreservedConcurrency = r.AccountConcurrency - r.TotalReservedConcurrency

	fixedList := strings.Join(fixedParts, ", ")
	if fixedConns > r.Available {
		errs.add("fixed functions need %d connections (%s; reservedConcurrency × connectionsPerEnvironment) but only %d are "+
			"available to functions (%s): lower a reservedConcurrency or its connectionsPerEnvironment, lower headroom, "+
			"or raise max connections (choose a larger instance class or raise maxAcu)",
			fixedConns, fixedList, r.Available, availableWhy)
	}
	if r.TotalReservedConcurrency > reservable {
		errs.add("total reserved concurrency %d exceeds the %d the account may reserve (accountConcurrency %d - %d Lambda "+
			"keeps unreserved); fixed functions reserve %d (%s): lower a reservedConcurrency or raise accountConcurrency",
			r.TotalReservedConcurrency, reservable, r.AccountConcurrency, r.UnreservedMinimum, fixedConc, fixedList)
	}
	errs.Problems = append(errs.Problems, zero...)
}

// zeroReason explains why a weighted function got no reserved concurrency. A
// function with reserved concurrency 0 never runs, so this is always an error.
func zeroReason(f function, totalWeight, connShare, remaining, byAcct, reservableLeft int,
	r *Result, fixedConns, fixedConc int, limitedBy string) string {
	head := fmt.Sprintf("function %q gets reserved concurrency 0 and could never run", f.name)
	if limitedBy == LimitedByConnections {
		fix := "raise max connections (choose a larger instance class or raise maxAcu), lower headroom, "
		if remaining > 0 {
			fix += "raise its weight, lower its connectionsPerEnvironment, "
		}
		fix += "or lower a reservedConcurrency"
		return fmt.Sprintf("%s: its weight %d of %d gives it %d of the %d connections left after fixed functions "+
			"(%d available - %d fixed), fewer than its connectionsPerEnvironment %d: %s",
			head, f.weight, totalWeight, connShare, remaining, r.Available, fixedConns, f.conns, fix)
	}
	fix := "raise accountConcurrency, "
	if reservableLeft > 0 {
		fix += "raise its weight, "
	}
	fix += "or lower a reservedConcurrency"
	return fmt.Sprintf("%s: its weight %d of %d gives it %d of the %d concurrency the account may still reserve "+
		"(accountConcurrency %d - %d unreserved - %d fixed): %s",
		head, f.weight, totalWeight, byAcct, reservableLeft, r.AccountConcurrency, r.UnreservedMinimum, fixedConc, fix)
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

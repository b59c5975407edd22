package budget

// The thresholds at which the budget's alarms fire (package monitoring builds them). Each
// comes from a figure of the budget, so that an alarm fires where what the budget promised
// stops holding, not at a number picked by hand.
const (
	// NearPercent is how close to a cap counts as near it: a function running at 90 % of
	// its reserved concurrency, the proxy's clients at 90 % of what the functions may
	// hold, pinned sessions holding 90 % of the proxy's connections. Reserved concurrency
	// caps what a function can use, so the cap itself is reached only under a load the
	// cap already turns away; 90 % says the cap is being hit, early enough to plan.
	NearPercent = 90
	// BorrowLatencyPercent is the share of the proxy's borrow timeout at which the
	// average wait for a pooled connection alarms: when the average client waits half
	// the timeout, many wait all of it and get the proxy's error.
	BorrowLatencyPercent = 50
	// IAMConnectionsPerSecond is the rate of new connections IAM database authentication
	// admits: "IAM database authentication throttles connections at 200 new connections
	// per second" (Amazon RDS User Guide and Amazon Aurora User Guide, "IAM database
	// authentication", limitations).
	IAMConnectionsPerSecond = 200
	// IAMNearPercent is how close to IAMConnectionsPerSecond the rate of new connections
	// alarms: at 80 %, 160 a second, before throttled sign-ins fail.
	IAMNearPercent = 80
)

// Thresholds are the figures the budget's alarms compare metrics with.
type Thresholds struct {
	// DatabaseConnections: the database holds more connections than this. It is
	// Available + HalfHeadroom: the functions can hold at most Available (their
	// reserved concurrency times connections per environment never exceeds it), so
	// above it clients outside the budget have taken more than half the headroom.
	DatabaseConnections int
	// HalfHeadroom is ceil(Headroom / 2).
	HalfHeadroom int
	// ProxyClientConnections: the proxy's clients hold at least this many connections,
	// NearPercent of what the functions may hold (TotalConnections): they are at or near
	// their caps. 0 without a proxy or without functions.
	ProxyClientConnections int
	// PinnedConnections: at least this many of the proxy's database connections are
	// pinned to client sessions, NearPercent of ProxyConnections, all the proxy may open.
	// 0 without a proxy.
	PinnedConnections int
	// BorrowLatencyMicroseconds: the average wait for a pooled connection reaches
	// BorrowLatencyPercent of the borrow timeout (RDS Proxy reports the latency in
	// microseconds). 0 without a proxy or a borrow timeout.
	BorrowLatencyMicroseconds float64
	// NewConnectionsPerSecond: new IAM-authenticated connections per second reach
	// IAMNearPercent of IAMConnectionsPerSecond.
	NewConnectionsPerSecond float64
	// Functions holds each function's threshold, in the order of Result.Functions.
	Functions []FunctionThreshold
}

// FunctionThreshold is the concurrency at which a function is near its cap.
type FunctionThreshold struct {
	Name                string
	ReservedConcurrency int
	// NearConcurrency is ceil(NearPercent % of ReservedConcurrency), at least 1: the
	// function's concurrent executions are near its cap from here on.
	NearConcurrency int
}

// Thresholds returns the alarm thresholds of the budget; borrowTimeoutSeconds is the
// proxy's ConnectionBorrowTimeout (0 when there is none).
func (r *Result) Thresholds(borrowTimeoutSeconds float64) Thresholds {
	t := Thresholds{
		HalfHeadroom:            ceilDiv(r.Headroom, 2),
		NewConnectionsPerSecond: float64(IAMConnectionsPerSecond * IAMNearPercent / 100),
	}
	t.DatabaseConnections = r.Available + t.HalfHeadroom
	if r.Proxy {
		t.ProxyClientConnections = near(r.TotalConnections)
		t.PinnedConnections = near(r.ProxyConnections)
		t.BorrowLatencyMicroseconds = borrowTimeoutSeconds * 1e6 * BorrowLatencyPercent / 100
	}
	for _, a := range r.Functions {
		t.Functions = append(t.Functions, FunctionThreshold{Name: a.Name, ReservedConcurrency: a.ReservedConcurrency,
			NearConcurrency: near(a.ReservedConcurrency)})
	}
	return t
}

// near is ceil(NearPercent % of n), at least 1 when n is; 0 for 0.
func near(n int) int {
	if n <= 0 {
		return 0
	}
	return max(1, ceilDiv(satMul(n, NearPercent), 100))
}

package monitoring

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/budget"
	"github.com/lambdards/lambdards/internal/metric"
)

// Kind is one kind of alarm the monitoring builds, as the README's table lists it.
type Kind struct {
	// ID is the alarm's construct ID under the monitoring's "Alarms"; alarms on functions
	// add the number of their group (FunctionsNearCap1, FunctionsNearCap2, ...).
	ID string
	// When says which pools get it.
	When string
	// Metric is what it watches.
	Metric string
	// Condition is when it fires: the comparison with the threshold, and for how long.
	Condition string
	// Threshold is the figure of the budget the threshold is.
	Threshold string
	// Missing is how it treats missing data, and why.
	Missing string
	// Action is what to do when it fires.
	Action string
}

// Evaluation: how many periods of how long each alarm needs, all of them breaching
// (DatapointsToAlarm = EvaluationPeriods), so that a moment's burst at the cap, which is
// the cap working, pages nobody.
const (
	connectionsMinutes = 3  // database connections above the budget: soon, but not an admin's login
	nearCapMinutes     = 15 // at or near a cap: capacity planning, not a page
	throttleMinutes    = 5  // throttled every minute for 5: sustained
	latencyMinutes     = 5  // borrow latency
	iamMinutes         = 3  // new connections per second
	capacityPeriods    = 3  // of capacityPeriod: 15 minutes at the maximum ACU
	capacityPeriod     = 300
)

// Missing data: every alarm treats it as not breaching, each for its reason (Kinds).
const notBreaching = "notBreaching"

// Kinds lists the alarms, in the order New builds them.
var Kinds = []Kind{
	{
		ID: "DatabaseConnections", When: "always",
		Metric:    "DatabaseConnections (AWS/RDS; the instance, or the Aurora writer by role), Maximum per minute",
		Condition: fmt.Sprintf("> threshold for %d of %d minutes", connectionsMinutes, connectionsMinutes),
		Threshold: "available to functions + ⌈headroom ÷ 2⌉",
		Missing:   "not breaching: a database with no client, or an Aurora cluster paused at 0 ACU, publishes no datapoint, and is within its budget",
		Action: "The functions can never hold more than what is available to them, so clients outside the budget (an admin's session, " +
			"a migration, another service) hold more than ⌈headroom ÷ 2⌉ of it. Find them (pg_stat_activity, SHOW PROCESSLIST); if " +
			"they belong, raise headroom or max_connections, otherwise end them.",
	},
	{
		ID: "ProxyClientConnections", When: "with RDS Proxy",
		Metric:    "ClientConnections (AWS/RDS, ProxyName), Sum per minute",
		Condition: fmt.Sprintf("≥ threshold for %d of %d minutes", nearCapMinutes, nearCapMinutes),
		Threshold: fmt.Sprintf("⌈%d %% of the functions' connections⌉ (Σ reserved concurrency × connections per environment)", budget.NearPercent),
		Missing:   "not breaching: a proxy publishes ClientConnections once a client has connected; none is no load",
		Action: "The functions are at or near their caps: capacity planning. If throttles follow, give the budget more connections " +
			"(a larger instance class or maximum ACU) or move weight between functions.",
	},
	{
		ID: "FunctionsNearCap", When: fmt.Sprintf("one per %d functions", FunctionsPerAlarm),
		Metric:    "ConcurrentExecutions (AWS/Lambda, FunctionName), Maximum per minute, as a percentage of each function's reserved concurrency; the highest of the group",
		Condition: fmt.Sprintf("≥ %d %% for %d of %d minutes", budget.NearPercent, nearCapMinutes, nearCapMinutes),
		Threshold: "each function's reserved concurrency (the budget's allocation)",
		Missing:   "not breaching: Lambda publishes ConcurrentExecutions only while a function runs",
		Action:    "The cap the budget gives the function is being hit: capacity planning. If it throttles too, raise its weight or reserved concurrency, or give the budget more connections.",
	},
	{
		ID: "FunctionsThrottled", When: fmt.Sprintf("one per %d functions", FunctionsPerAlarm),
		Metric:    "Throttles (AWS/Lambda, FunctionName), Sum per minute; the highest of the group",
		Condition: fmt.Sprintf("> 0 for %d of %d minutes", throttleMinutes, throttleMinutes),
		Threshold: "0: a capped function refused invocations every minute",
		Missing:   "not breaching: no datapoint is no invocation, so no throttle",
		Action: "The function's reserved concurrency is too low for its load: raise its weight or reserved concurrency, or give " +
			"the budget more connections; otherwise make sure its callers retry (asynchronous and queue sources do).",
	},
	{
		ID: "BorrowLatency", When: "with RDS Proxy",
		Metric:    "DatabaseConnectionsBorrowLatency (AWS/RDS, ProxyName), Average per minute, microseconds",
		Condition: fmt.Sprintf("≥ threshold for %d of %d minutes", latencyMinutes, latencyMinutes),
		Threshold: fmt.Sprintf("%d %% of the proxy's borrow timeout", budget.BorrowLatencyPercent),
		Missing:   "not breaching: no datapoint is no client waiting",
		Action: "Clients wait for a pooled connection, many until the borrow timeout and the proxy's error: the proxy's connections " +
			"are all in use, mostly by pinned sessions (see SessionPinning). Shorten transactions, avoid what pins, or give the " +
			"budget more connections.",
	},
	{
		ID: "SessionPinning", When: "with RDS Proxy",
		Metric:    "DatabaseConnectionsCurrentlySessionPinned (AWS/RDS, ProxyName), Sum per minute",
		Condition: fmt.Sprintf("≥ threshold for %d of %d minutes", nearCapMinutes, nearCapMinutes),
		Threshold: fmt.Sprintf("⌈%d %% of the proxy's share of max_connections⌉", budget.NearPercent),
		Missing:   "not breaching: no datapoint is no connection",
		Action: "Pinned sessions hold nearly every connection the proxy may open, so it cannot multiplex and further clients wait. " +
			"The budget counts on pinning (one connection per environment), so nothing is over budget; find what pins (SET, " +
			"prepared statements, temporary tables, advisory locks) if you expected multiplexing.",
	},
	{
		ID: "NewConnections", When: "with RDS Proxy",
		Metric: "MAX(ClientConnectionsReceived, DatabaseConnectionRequests) ÷ 60 (AWS/RDS, ProxyName, Sum per minute): new " +
			"IAM-authenticated connections per second, the clients' to the proxy or the proxy's to the database",
		Condition: fmt.Sprintf("≥ threshold for %d of %d minutes", iamMinutes, iamMinutes),
		Threshold: fmt.Sprintf("%d %% of the %d per second IAM database authentication admits", budget.IAMNearPercent, budget.IAMConnectionsPerSecond),
		Missing:   "not breaching: no datapoint is no new connection",
		Action: "Sign-ins are about to be throttled: keep connections open across invocations (functions/dbconn does), raise the " +
			"proxy's idle client timeout, and look for a client that reconnects per request.",
	},
	{
		ID: "CapacityAtMaximum", When: "Aurora Serverless v2",
		Metric:    "ServerlessDatabaseCapacity (AWS/RDS, DBClusterIdentifier), Minimum per 5 minutes",
		Condition: fmt.Sprintf("≥ threshold for %d of %d periods (15 minutes)", capacityPeriods, capacityPeriods),
		Threshold: "the maximum ACU (which fixes max_connections)",
		Missing:   "not breaching: a cluster paused at 0 ACU is not at its maximum",
		Action: "The cluster has no capacity left to scale into, and max_connections is fixed by the maximum ACU: raise the " +
			"maximum (max_connections, and the budget, follow it after a reboot) or lower the load.",
	},
}

// def is one alarm to build.
type def struct {
	id          string
	single      *metric.Spec                                      // an alarm on one metric, or
	queries     []*awscloudwatch.CfnAlarm_MetricDataQueryProperty // on a math expression
	atLeast     bool                                              // ≥ the threshold, else >
	threshold   float64
	periods     int
	description string
}

// definitions returns the alarms of w, in the order of Kinds.
func definitions(w watched, res *budget.Result, t budget.Thresholds) []def {
	var defs []def
	pool := fmt.Sprintf("lambdards budget of %s: ", w.description)
	conns := w.db("DatabaseConnections").With(metric.Maximum, 60)
	defs = append(defs, def{
		id: "DatabaseConnections", single: &conns, threshold: float64(t.DatabaseConnections), periods: connectionsMinutes,
		description: pool + fmt.Sprintf("more than %d connections to the database for %d minutes (threshold: available to "+
			"functions %d + half the headroom ⌈%d ÷ 2⌉ = %d). The functions can hold at most %[3]d, so clients outside the budget "+
			"(an admin's session, a migration, another service) hold more than %[5]d of the %[4]d connections kept for admins, "+
			"migrations, rotation and monitoring. Find them (pg_stat_activity, SHOW PROCESSLIST); if they belong, raise {Headroom} "+
			"or max_connections ("+w.grow+"), otherwise end them.",
			t.DatabaseConnections, connectionsMinutes, res.Available, res.Headroom, t.HalfHeadroom),
	})
	if w.proxy != nil && t.ProxyClientConnections > 0 {
		clients := w.proxy("ClientConnections").With(metric.Sum, 60)
		defs = append(defs, def{
			id: "ProxyClientConnections", single: &clients, atLeast: true, threshold: float64(t.ProxyClientConnections), periods: nearCapMinutes,
			description: pool + fmt.Sprintf("RDS Proxy's clients held %d connections or more for %d minutes: %d %% of the %d the "+
				"functions may hold (reserved concurrency %d in all, times connections per environment). The functions are at or "+
				"near their caps: capacity planning. If throttles follow, give the budget more connections ("+w.grow+") "+
				"or move {Weight} between functions; a client that is not one of the pool's functions counts here too.",
				t.ProxyClientConnections, nearCapMinutes, budget.NearPercent, w.clients, w.concurrency),
		})
	}
	for g, group := range groups(w.functions) {
		defs = append(defs, nearCap(g+1, group, pool, w.grow), throttled(g+1, group, pool, w.grow))
	}
	if w.proxy != nil {
		borrow := w.proxy("DatabaseConnectionsBorrowLatency").With(metric.Average, 60)
		pinned := w.proxy("DatabaseConnectionsCurrentlySessionPinned").With(metric.Sum, 60)
		defs = append(defs,
			def{
				id: "BorrowLatency", single: &borrow, atLeast: true, threshold: t.BorrowLatencyMicroseconds, periods: latencyMinutes,
				description: pool + fmt.Sprintf("clients waited on average %g s or more for one of RDS Proxy's connections for %d "+
					"minutes: %d %% of the borrow timeout of %g s, after which a client gets the proxy's error. The proxy's %d "+
					"connections are all in use, mostly pinned (see SessionPinning): shorten transactions, avoid what pins, or "+
					"give the budget more connections ("+w.grow+").",
					t.BorrowLatencyMicroseconds/1e6, latencyMinutes, budget.BorrowLatencyPercent, w.borrow, w.share),
			},
			def{
				id: "SessionPinning", single: &pinned, atLeast: true, threshold: float64(t.PinnedConnections), periods: nearCapMinutes,
				description: pool + fmt.Sprintf("%d or more of RDS Proxy's database connections were pinned to client sessions for "+
					"%d minutes: %d %% of the %d the proxy may open (MaxConnectionsPercent %d %% of max_connections %d%s). Pinned, "+
					"each client keeps a connection of its own, so the proxy cannot multiplex and further clients wait up to the "+
					"borrow timeout (%g s). The budget counts on pinning (one connection per environment), so nothing is over "+
					"budget; find what pins (SET, prepared statements, temporary tables, advisory locks) if you expected multiplexing.",
					t.PinnedConnections, nearCapMinutes, budget.NearPercent, w.share, res.ProxyMaxConnectionsPercent,
					res.MaxConnections, w.where, w.borrow),
			},
			def{
				id: "NewConnections", threshold: t.NewConnectionsPerSecond, atLeast: true, periods: iamMinutes,
				queries: []*awscloudwatch.CfnAlarm_MetricDataQueryProperty{
					w.proxy("ClientConnectionsReceived").With(metric.Sum, 60).Query("clients"),
					w.proxy("DatabaseConnectionRequests").With(metric.Sum, 60).Query("database"),
					expression("perSecond", "MAX([clients, database]) / 60", "new connections per second", true),
				},
				description: pool + fmt.Sprintf("%g or more new connections a second for %d minutes, from clients to RDS Proxy or "+
					"from the proxy to the database, each signed in with IAM: %d %% of the %d a second IAM database authentication "+
					"admits before it throttles (Amazon RDS User Guide, IAM database authentication, limitations). Keep connections "+
					"open across invocations (functions/dbconn does), raise the proxy's idle client timeout, and look for a client "+
					"that reconnects per request.", t.NewConnectionsPerSecond, iamMinutes, budget.IAMNearPercent, budget.IAMConnectionsPerSecond),
			})
	}
	if w.capacity != nil {
		acu := w.capacity("ServerlessDatabaseCapacity").With(metric.Minimum, capacityPeriod)
		defs = append(defs, def{
			id: "CapacityAtMaximum", single: &acu, atLeast: true, threshold: w.maxACU, periods: capacityPeriods,
			description: pool + fmt.Sprintf("the cluster ran at its maximum capacity, %g ACU, for %d minutes. max_connections (%d) "+
				"is fixed by the maximum ACU, and so is the budget: raise {MaxCapacity} (max_connections and the budget follow it "+
				"after a reboot) or lower the load.", w.maxACU, capacityPeriods*capacityPeriod/60, res.MaxConnections),
		})
	}
	return defs
}

// groups splits functions into groups of FunctionsPerAlarm, in the order they joined.
func groups(functions []watchedFunction) [][]watchedFunction {
	var out [][]watchedFunction
	for i := 0; i < len(functions); i += FunctionsPerAlarm {
		out = append(out, functions[i:min(i+FunctionsPerAlarm, len(functions))])
	}
	return out
}

// nearCap is the alarm on group's concurrency: each function's concurrent executions as a
// percentage of its reserved concurrency, the highest of them.
func nearCap(n int, group []watchedFunction, pool, grow string) def {
	var queries []*awscloudwatch.CfnAlarm_MetricDataQueryProperty
	var ids, caps []string
	for i, f := range group {
		m, e := fmt.Sprintf("m%d", i), fmt.Sprintf("e%d", i)
		queries = append(queries, metric.Function(f.name, "ConcurrentExecutions").With(metric.Maximum, 60).Query(m),
			expression(e, fmt.Sprintf("100 * %s / %d", m, f.ReservedConcurrency), f.label+" % of reserved concurrency", false))
		ids = append(ids, e)
		caps = append(caps, fmt.Sprintf("%s %d (near at %d)", f.label, f.ReservedConcurrency, f.NearConcurrency))
	}
	queries = append(queries, expression("highest", "MAX(["+strings.Join(ids, ", ")+"])", "highest % of reserved concurrency", true))
	return def{
		id: fmt.Sprintf("FunctionsNearCap%d", n), queries: queries, atLeast: true, threshold: budget.NearPercent, periods: nearCapMinutes,
		description: pool + fmt.Sprintf("a function ran at %d %% or more of its reserved concurrency for %d minutes: the cap the "+
			"budget gives it is being hit (capacity planning). If it throttles too, raise its {Weight} or {ReservedConcurrency}, or "+
			"give the budget more connections ("+grow+"). Reserved concurrency: %s.",
			budget.NearPercent, nearCapMinutes, strings.Join(caps, ", ")),
	}
}

// throttled is the alarm on group's throttles, the highest of them.
func throttled(n int, group []watchedFunction, pool, grow string) def {
	var queries []*awscloudwatch.CfnAlarm_MetricDataQueryProperty
	var ids, names []string
	for i, f := range group {
		m := fmt.Sprintf("m%d", i)
		queries = append(queries, metric.Function(f.name, "Throttles").With(metric.Sum, 60).Query(m))
		ids = append(ids, m)
		names = append(names, fmt.Sprintf("%s (reserved concurrency %d)", f.label, f.ReservedConcurrency))
	}
	queries = append(queries, expression("highest", "MAX(["+strings.Join(ids, ", ")+"])", "most throttles of a function", true))
	return def{
		id: fmt.Sprintf("FunctionsThrottled%d", n), queries: queries, periods: throttleMinutes,
		description: pool + fmt.Sprintf("a function was throttled in each of %d minutes: its reserved concurrency, the budget's cap, "+
			"is too low for its load. Raise its {Weight} or {ReservedConcurrency}, or give the budget more connections "+
			"("+grow+"); otherwise make sure its callers retry. Functions: %s.",
			throttleMinutes, strings.Join(names, ", ")),
	}
}

func expression(id, expr, label string, returnData bool) *awscloudwatch.CfnAlarm_MetricDataQueryProperty {
	return &awscloudwatch.CfnAlarm_MetricDataQueryProperty{Id: jsii.String(id), Expression: jsii.String(expr),
		Label: jsii.String(label), ReturnData: jsii.Bool(returnData)}
}

// maxDescription is the longest alarm description CloudWatch takes (CloudWatch API
// Reference, PutMetricAlarm, AlarmDescription: 0-1024 characters).
const maxDescription = 1024

// newAlarms builds the alarms of w in scope, notifying topicArn of ALARM and OK.
func newAlarms(scope constructs.Construct, w watched, res *budget.Result, t budget.Thresholds, topicArn *string,
	names func(string) string) []awscloudwatch.CfnAlarm {
	var out []awscloudwatch.CfnAlarm
	actions := &[]any{topicArn}
	for _, d := range definitions(w, res, t) {
		description := names(d.description)
		if r := []rune(description); len(r) > maxDescription {
			description = string(r[:maxDescription-1]) + "…"
		}
		comparison := "GreaterThanThreshold"
		if d.atLeast {
			comparison = "GreaterThanOrEqualToThreshold"
		}
		p := awscloudwatch.CfnAlarmProps{
			AlarmDescription:   jsii.String(description),
			ComparisonOperator: jsii.String(comparison),
			Threshold:          jsii.Number(d.threshold),
			EvaluationPeriods:  jsii.Number(d.periods),
			DatapointsToAlarm:  jsii.Number(d.periods),
			TreatMissingData:   jsii.String(notBreaching),
			AlarmActions:       actions,
			OkActions:          actions,
		}
		if d.single != nil {
			d.single.Alarm(&p)
		} else {
			queries := make([]any, len(d.queries))
			for i, q := range d.queries {
				queries[i] = q
			}
			p.Metrics = &queries
		}
		out = append(out, awscloudwatch.NewCfnAlarm(scope, jsii.String(d.id), &p))
	}
	return out
}

package monitoring

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/lambdards/lambdards/constructs/budget"
	"github.com/lambdards/lambdards/internal/metric"
)

// The dashboard body is written here as JSON (CloudWatch API Reference, "Dashboard Body
// Structure and Syntax"), with the budget's figures as numbers and the metrics'
// identifiers as tokens that CloudFormation resolves: a dashboard of 200 functions costs no
// round trip to node beyond reading their names.

// widget is one widget of the dashboard's 24-column grid.
type widget struct {
	Type       string         `json:"type"`
	X          int            `json:"x"`
	Y          int            `json:"y"`
	Width      int            `json:"width"`
	Height     int            `json:"height"`
	Properties map[string]any `json:"properties"`
}

// annotation is a horizontal line across a graph at a figure of the budget.
type annotation struct {
	Label string  `json:"label"`
	Value float64 `json:"value"`
	Color string  `json:"color,omitempty"`
}

// alarmColor marks the lines at an alarm's threshold.
const alarmColor = "#d62728"

// FunctionsPerGraph is how many functions one graph draws: a graph takes up to 500
// metrics and expressions (Amazon CloudWatch User Guide, "Using math expressions with
// CloudWatch metrics"), but fifty lines are as many as a reader can tell apart.
const FunctionsPerGraph = 50

// layout places widgets left to right, in rows of the dashboard's 24 columns.
type layout struct {
	widgets []widget
	x, y, h int
}

func (l *layout) add(width, height int, typ string, props map[string]any) {
	if l.x+width > 24 {
		l.x, l.y, l.h = 0, l.y+l.h, 0
	}
	l.widgets = append(l.widgets, widget{Type: typ, X: l.x, Y: l.y, Width: width, Height: height, Properties: props})
	l.x += width
	l.h = max(l.h, height)
}

// graph adds a time series graph of metrics, with the budget's figures as annotations and
// the left axis from 0 to top (0: as the data needs).
func (l *layout) graph(region, title string, metrics [][]any, top float64, notes ...annotation) {
	axis := map[string]any{"min": 0, "showUnits": false}
	if top > 0 {
		axis["max"] = top
	}
	props := map[string]any{
		"title": title, "view": "timeSeries", "stacked": false, "region": region, "metrics": metrics,
		"yAxis": map[string]any{"left": axis},
	}
	if len(notes) > 0 {
		props["annotations"] = map[string]any{"horizontal": notes}
	}
	l.add(12, 6, "metric", props)
}

// dashboard returns the dashboard body of w in region.
func dashboard(w watched, res *budget.Result, t budget.Thresholds, region string) string {
	var l layout
	l.add(24, 4, "text", map[string]any{"markdown": summary(w, res, t)})

	conns := [][]any{w.db("DatabaseConnections").With(metric.Maximum, 60).Graph(map[string]any{"label": "database connections"})}
	if w.proxy != nil {
		conns = append(conns,
			w.proxy(metric.ProxyDatabaseConnections).Graph(map[string]any{"label": "RDS Proxy's connections to the database"}),
			w.proxy("ClientConnections").Graph(map[string]any{"label": "clients' connections to RDS Proxy"}))
	}
	notes := []annotation{
		{Label: fmt.Sprintf("max_connections %d", res.MaxConnections), Value: float64(res.MaxConnections)},
		{Label: fmt.Sprintf("usable %d", res.Usable), Value: float64(res.Usable)},
	}
	if w.proxy != nil {
		notes = append(notes, annotation{Label: fmt.Sprintf("RDS Proxy's share %d (%d %%)", res.ProxyConnections, res.ProxyMaxConnectionsPercent),
			Value: float64(res.ProxyConnections)})
	}
	notes = append(notes, annotation{Label: fmt.Sprintf("alarm: more than %d", t.DatabaseConnections),
		Value: float64(t.DatabaseConnections), Color: alarmColor})
	l.graph(region, "Connections against max_connections", conns, float64(res.MaxConnections), notes...)

	if w.capacity != nil {
		acu := [][]any{
			w.capacity("ServerlessDatabaseCapacity").With(metric.Average, 60).Graph(map[string]any{"label": "capacity (ACU), average"}),
			w.capacity("ServerlessDatabaseCapacity").With(metric.Maximum, 60).Graph(map[string]any{"label": "capacity (ACU), maximum"}),
		}
		l.graph(region, "Aurora capacity (ACU)", acu, w.maxACU,
			annotation{Label: fmt.Sprintf("maximum %g ACU: max_connections %d, and alarm after 15 minutes", w.maxACU, res.MaxConnections),
				Value: w.maxACU, Color: alarmColor},
			annotation{Label: fmt.Sprintf("minimum %g ACU", w.minACU), Value: w.minACU})
	}

	for _, g := range capGroups(w.functions) {
		reserved, near := g[0].ReservedConcurrency, g[0].NearConcurrency
		var running, throttles [][]any
		for _, f := range g {
			running = append(running, metric.Function(f.name, "ConcurrentExecutions").With(metric.Maximum, 60).Graph(map[string]any{"label": f.label}))
			throttles = append(throttles, metric.Function(f.name, "Throttles").With(metric.Sum, 60).Graph(map[string]any{"label": f.label}))
		}
		which := functions(len(g))
		if len(g) == 1 {
			which = g[0].label
		}
		l.graph(region, fmt.Sprintf("Concurrency of %s, reserved concurrency %d", which, reserved), running, float64(reserved),
			annotation{Label: fmt.Sprintf("reserved concurrency %d", reserved), Value: float64(reserved)},
			annotation{Label: fmt.Sprintf("alarm: %d or more (%d %%) for %d minutes", near, budget.NearPercent, nearCapMinutes),
				Value: float64(near), Color: alarmColor})
		l.graph(region, fmt.Sprintf("Throttles of %s", which), throttles, 0)
	}

	if w.proxy != nil {
		timeout := w.borrow * 1e6
		l.graph(region, "RDS Proxy: wait for a pooled connection (µs)", [][]any{
			w.proxy("DatabaseConnectionsBorrowLatency").With(metric.Average, 60).Graph(map[string]any{"label": "borrow latency, average"}),
			w.proxy("DatabaseConnectionsBorrowLatency").With(metric.Maximum, 60).Graph(map[string]any{"label": "borrow latency, maximum"}),
		}, timeout,
			annotation{Label: fmt.Sprintf("borrow timeout %g s", w.borrow), Value: timeout},
			annotation{Label: fmt.Sprintf("alarm: average %g s or more", t.BorrowLatencyMicroseconds/1e6), Value: t.BorrowLatencyMicroseconds, Color: alarmColor})
		l.graph(region, "RDS Proxy: pinned connections", [][]any{
			w.proxy("DatabaseConnectionsCurrentlySessionPinned").Graph(map[string]any{"label": "pinned to a client session"}),
			w.proxy(metric.ProxyDatabaseConnections).Graph(map[string]any{"label": "RDS Proxy's connections to the database"}),
		}, float64(w.share),
			annotation{Label: fmt.Sprintf("RDS Proxy's share %d", w.share), Value: float64(w.share)},
			annotation{Label: fmt.Sprintf("alarm: %d or more pinned", t.PinnedConnections), Value: float64(t.PinnedConnections), Color: alarmColor})
		l.graph(region, "New IAM-authenticated connections per second", [][]any{
			w.proxy("ClientConnectionsReceived").With(metric.Sum, 60).Graph(map[string]any{"id": "clients", "visible": false}),
			w.proxy("DatabaseConnectionRequests").With(metric.Sum, 60).Graph(map[string]any{"id": "database", "visible": false}),
			{map[string]any{"expression": "clients / 60", "label": "clients to RDS Proxy", "id": "c"}},
			{map[string]any{"expression": "database / 60", "label": "RDS Proxy to the database", "id": "d"}},
		}, budget.IAMConnectionsPerSecond,
			annotation{Label: fmt.Sprintf("IAM database authentication throttles at %d", budget.IAMConnectionsPerSecond), Value: budget.IAMConnectionsPerSecond},
			annotation{Label: fmt.Sprintf("alarm: %g or more", t.NewConnectionsPerSecond), Value: t.NewConnectionsPerSecond, Color: alarmColor})
	}

	b, err := json.Marshal(map[string]any{"widgets": l.widgets})
	if err != nil {
		panic(err) // maps, slices, strings and numbers only
	}
	return string(b)
}

// capGroups groups functions by reserved concurrency, largest first, at most
// FunctionsPerGraph a group, so that each graph draws its functions against their one cap.
func capGroups(functions []watchedFunction) [][]watchedFunction {
	sorted := slices.Clone(functions)
	slices.SortStableFunc(sorted, func(a, b watchedFunction) int { return cmp.Compare(b.ReservedConcurrency, a.ReservedConcurrency) })
	var out [][]watchedFunction
	for i, f := range sorted {
		last := len(out) - 1
		if i == 0 || f.ReservedConcurrency != out[last][0].ReservedConcurrency || len(out[last]) == FunctionsPerGraph {
			out = append(out, nil)
			last++
		}
		out[last] = append(out[last], f)
	}
	return out
}

// summary is the dashboard's heading: the budget in one table, and the alarms' thresholds.
func summary(w watched, res *budget.Result, t budget.Thresholds) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Connection budget of %s\n\n", w.description)
	proxy := "none (direct)"
	if res.Proxy {
		proxy = fmt.Sprintf("%d %% = %d", res.ProxyMaxConnectionsPercent, res.ProxyConnections)
	}
	b.WriteString("| max_connections | engine-reserved | headroom | usable | RDS Proxy | available to functions | functions' connections | spare | reserved concurrency |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(&b, "| %d | %d | %d | %d | %s | %d | %d (%s) | %d | %d |\n\n", res.MaxConnections, res.ReservedConnections,
		res.Headroom, res.Usable, proxy, res.Available, res.TotalConnections, functions(len(res.Functions)), res.Spare, res.TotalReservedConcurrency)
	fmt.Fprintf(&b, "Alarms: database connections above %d", t.DatabaseConnections)
	if res.Proxy {
		fmt.Fprintf(&b, "; proxy clients %d or more; borrow latency %g s or more; %d or more pinned; %g or more new connections a second",
			t.ProxyClientConnections, t.BorrowLatencyMicroseconds/1e6, t.PinnedConnections, t.NewConnectionsPerSecond)
	}
	fmt.Fprintf(&b, "; a function at %d %% of its reserved concurrency, or throttled", budget.NearPercent)
	if w.capacity != nil {
		fmt.Fprintf(&b, "; capacity at %g ACU", w.maxACU)
	}
	b.WriteString(".")
	return b.String()
}

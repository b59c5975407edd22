package budget

import (
	"fmt"
	"strings"
	"text/tabwriter"
)

// Table renders the result as an aligned plain-text table for synth output:
// the database and its connection arithmetic, the proxy's share, one row per
// function (connections per environment, weight or "fixed", reserved
// concurrency, connections, what limited it), the totals, the spare
// connections and the account's concurrency. The output depends only on r.
func (r *Result) Table() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	row := func(cells ...any) {
		for i, c := range cells {
			if i > 0 {
				fmt.Fprint(w, "\t")
			}
			fmt.Fprint(w, c)
		}
		fmt.Fprint(w, "\n")
	}

	row("database", r.Database)
	row("engine", r.Engine)
	row("max_connections", r.MaxConnections)
	row("engine-reserved", r.ReservedConnections)
	row("headroom", r.Headroom)
	row("usable", r.Usable)
	if r.Proxy {
		row("proxy", fmt.Sprintf("MaxConnectionsPercent %d%% = %d connections, MaxIdleConnectionsPercent %d%%",
			r.ProxyMaxConnectionsPercent, r.ProxyConnections, r.ProxyMaxIdleConnectionsPercent))
	} else if r.DataAPI {
		row("proxy", "none (functions query through the RDS Data API: each statement in flight takes one of its connections)")
	} else {
		row("proxy", "none (functions connect directly)")
	}
	row("available to functions", r.Available)
	row()

	if len(r.Functions) == 0 {
		row("functions", "none")
	} else {
		// Columns for provisioned concurrency and queues only when a function has them.
		provisioned, queued := false, false
		for _, a := range r.Functions {
			provisioned = provisioned || a.ProvisionedConcurrency > 0
			queued = queued || a.QueueMaximumConcurrency > 0
		}
		header := []any{"function", "conn/env", "weight", "reserved concurrency", "connections", "limited by"}
		if provisioned {
			header = append(header, "provisioned")
		}
		if queued {
			header = append(header, "queue max concurrency")
		}
		row(header...)
		for _, a := range r.Functions {
			weight := "fixed"
			if !a.Fixed {
				weight = fmt.Sprint(a.Weight)
			}
			cells := []any{a.Name, a.ConnectionsPerEnvironment, weight, a.ReservedConcurrency, a.Connections, a.LimitedBy}
			if provisioned {
				cells = append(cells, orDash(a.ProvisionedConcurrency))
			}
			if queued {
				cells = append(cells, orDash(a.QueueMaximumConcurrency))
			}
			row(cells...)
		}
		row("total", "", "", r.TotalReservedConcurrency, r.TotalConnections, "")
	}
	row()

	row("spare connections", r.Spare)
	if r.TotalProvisionedConcurrency > 0 {
		row("provisioned concurrency", fmt.Sprintf("%d environments, about %.2f USD a month (us-east-1, %d hours, before requests and duration)",
			r.TotalProvisionedConcurrency, r.ProvisionedMonthlyUSD, hoursPerMonth))
	}
	row("account concurrency", fmt.Sprintf("%d (reserved %d, unreserved %d, minimum unreserved %d)",
		r.AccountConcurrency, r.TotalReservedConcurrency, r.UnreservedConcurrency, r.UnreservedMinimum))
	w.Flush()
	return trimLines(b.String())
}

// orDash is n, or "-" for 0.
func orDash(n int) any {
	if n == 0 {
		return "-"
	}
	return n
}

// trimLines drops the padding tabwriter leaves after the last cell of a row.
func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// Table renders the account's concurrency as an aligned plain-text table: each
// database's reserved concurrency, each reservation made elsewhere, the total
// and what stays unreserved. The output depends only on r.
func (r *AccountResult) Table() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "account concurrency\t%d\n", r.AccountConcurrency)
	for _, db := range r.Databases {
		fmt.Fprintf(w, "  %s\t%d reserved by %d functions\n", db.Database, db.TotalReservedConcurrency, len(db.Functions))
	}
	for _, e := range r.Elsewhere {
		fmt.Fprintf(w, "  %s\t%d reserved outside the budget\n", e.Name, e.ReservedConcurrency)
	}
	fmt.Fprintf(w, "reserved in all\t%d\n", r.TotalReservedConcurrency)
	fmt.Fprintf(w, "unreserved\t%d (minimum %d)\n", r.UnreservedConcurrency, r.UnreservedMinimum)
	w.Flush()
	return trimLines(b.String())
}

package monitoring

import "github.com/lambdards/lambdards/constructs/budget"

// proxyShared is what RDS Proxy serves, as its metrics by ProxyName count it: every
// endpoint of the proxy together (Amazon Aurora User Guide, "Working with Amazon RDS
// Proxy endpoints": "You can monitor the metrics for all endpoints of a proxy"). With a
// reader, the read-only endpoint's clients and connections count beside the writer's, so
// the proxy's alarms are sized from both budgets (budget.Thresholds.WithReader).
type proxyShared struct {
	share       int    // the connections the proxy may open: to the writer, and to the reader
	clients     int    // the connections the functions of both may hold
	concurrency int    // their reserved concurrency
	where       string // where share is taken, "" for the writer alone
}

// sharedBy is what the proxy serves for the writer's budget res and the reader's (nil
// without a reader).
func sharedBy(res, reader *budget.Result) proxyShared {
	p := proxyShared{share: res.ProxyConnections, clients: res.TotalConnections, concurrency: res.TotalReservedConcurrency}
	if reader != nil {
		p.share += reader.ProxyConnections
		p.clients += reader.TotalConnections
		p.concurrency += reader.TotalReservedConcurrency
		p.where = ", on the writer and again on the reader through the read-only endpoint"
	}
	return p
}

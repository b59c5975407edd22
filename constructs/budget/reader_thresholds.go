package budget

// WithReader returns t, the thresholds of the writer's budget w, with those of its
// reader's budget r added, for a pool whose functions reach both through one RDS Proxy:
// the proxy's metrics by ProxyName count every endpoint of the proxy together (Amazon
// Aurora User Guide, "Working with Amazon RDS Proxy endpoints": "You can monitor the
// metrics for all endpoints of a proxy"), so its client connections near both targets'
// functions' connections, and its pinned connections near both targets' proxy shares;
// the reader's functions get thresholds of their own after the writer's. The
// DatabaseConnections threshold stays the writer's: it watches the writer. t is returned
// as it is when r is nil.
func (t Thresholds) WithReader(w, r *Result) Thresholds {
	if r == nil {
		return t
	}
	if w.Proxy {
		t.ProxyClientConnections = near(satAdd(w.TotalConnections, r.TotalConnections))
		t.PinnedConnections = near(satAdd(w.ProxyConnections, r.ProxyConnections))
	}
	t.Functions = append(append([]FunctionThreshold(nil), t.Functions...), r.Thresholds(0).Functions...)
	return t
}

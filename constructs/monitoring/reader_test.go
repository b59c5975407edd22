package monitoring_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/lambdards/lambdards/constructs/database"
	"github.com/lambdards/lambdards/constructs/function"
	"github.com/lambdards/lambdards/constructs/monitoring"
	"github.com/lambdards/lambdards/constructs/pool"
	"github.com/lambdards/lambdards/internal/fixture"
)

// TestReaderBehindProxy watches a pool whose functions reach the writer and, through the
// proxy's read-only endpoint, the reader: the proxy's alarms count both (its metrics by
// ProxyName take every endpoint), and the reader's function is watched near its own cap.
func TestReaderBehindProxy(t *testing.T) {
	f := fixture.New(nil, &database.ServerlessProps{Reader: true})
	function.New(f.Functions, jsii.String("Api"), &function.Props{Pool: f.Pool, Entry: fixture.SampleEntry(),
		AttachOptions: pool.AttachOptions{DatabaseUser: "api"}})
	function.New(f.Functions, jsii.String("Reports"), &function.Props{Pool: f.Pool, Entry: fixture.SampleEntry(),
		AttachOptions: pool.AttachOptions{DatabaseUser: "reports", Reader: true}})
	stack := awscdk.NewStack(f.App, jsii.String("Monitoring"), nil)
	monitoring.New(stack, jsii.String("Budget"), &monitoring.Props{Pool: f.Pool})
	w, _ := f.Pool.Budget()
	r, _ := f.Pool.ReaderBudget()
	want := w.Thresholds(pool.DefaultBorrowTimeoutSeconds).WithReader(w, r)
	got := alarms(t, assertions.Template_FromStack(stack, nil))
	threshold(t, got, "SessionPinning", float64(want.PinnedConnections), "GreaterThanOrEqualToThreshold")
	threshold(t, got, "ProxyClientConnections", float64(want.ProxyClientConnections), "GreaterThanOrEqualToThreshold")
	threshold(t, got, "DatabaseConnections", float64(want.DatabaseConnections), "GreaterThanThreshold")
	// 823 on each, 88 % = 724 through the proxy on each: 1448 the proxy may open.
	if d := got["SessionPinning"]["AlarmDescription"].(string); want.PinnedConnections != 1304 ||
		!strings.Contains(d, "of the 1448 the proxy may open (MaxConnectionsPercent 88 % of max_connections 823, on the writer and again on the reader") {
		t.Errorf("SessionPinning: threshold %d, description %q", want.PinnedConnections, d)
	}
	near := fmt.Sprint(got["FunctionsNearCap1"]["Metrics"])
	for _, fn := range want.Functions {
		if fn.ReservedConcurrency == 0 || !strings.Contains(near, fmt.Sprintf("/ %d", fn.ReservedConcurrency)) {
			t.Errorf("FunctionsNearCap1 %s, want %s near its reserved concurrency %d", near, fn.Name, fn.ReservedConcurrency)
		}
	}
}

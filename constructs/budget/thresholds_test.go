package budget

import (
	"reflect"
	"testing"
)

// TestThresholdsWorkedExample derives the alarm thresholds of the package documentation's
// example, by hand.
func TestThresholdsWorkedExample(t *testing.T) {
	r := mustCompute(t, exampleConfig())
	got := r.Thresholds(10)
	want := Thresholds{
		// available 724 + ceil(83 / 2) = 42
		DatabaseConnections: 766,
		HalfHeadroom:        42,
		// ceil(90 % of 723 connections) = ceil(650.7)
		ProxyClientConnections: 651,
		// ceil(90 % of the proxy's 724) = ceil(651.6)
		PinnedConnections:         652,
		BorrowLatencyMicroseconds: 5e6,
		NewConnectionsPerSecond:   160,
		Functions: []FunctionThreshold{
			{Name: "api", ReservedConcurrency: 541, NearConcurrency: 487},  // ceil(486.9)
			{Name: "worker", ReservedConcurrency: 90, NearConcurrency: 81}, // 81 exactly
			{Name: "migrate", ReservedConcurrency: 2, NearConcurrency: 2},  // ceil(1.8)
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Thresholds(10) =\n%+v\nwant\n%+v", got, want)
	}
}

// TestThresholdsDirect: without a proxy there is no proxy threshold, and the database's is
// the usable connections plus half the headroom.
func TestThresholdsDirect(t *testing.T) {
	c := exampleConfig()
	c.Proxy, c.BorrowTimeoutSeconds = false, 0
	r := mustCompute(t, c)
	got := r.Thresholds(0)
	if got.DatabaseConnections != r.Usable+42 || got.ProxyClientConnections != 0 || got.PinnedConnections != 0 || got.BorrowLatencyMicroseconds != 0 {
		t.Errorf("Thresholds(0) = %+v, want database connections %d and no proxy thresholds", got, r.Usable+42)
	}
}

func TestNear(t *testing.T) {
	for n, want := range map[int]int{0: 0, 1: 1, 2: 2, 9: 9, 10: 9, 11: 10, 59: 54, 100: 90, 101: 91} {
		if got := near(n); got != want {
			t.Errorf("near(%d) = %d, want %d", n, got, want)
		}
	}
}

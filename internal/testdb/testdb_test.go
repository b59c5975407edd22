package testdb

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// outcome records how a test helper ended a fake test.
type outcome struct {
	testing.TB
	skipped bool
	failed  bool
	msg     string
}

func (o *outcome) Helper() {}

func (o *outcome) Skipf(format string, args ...any) {
	o.skipped = true
	o.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (o *outcome) Fatalf(format string, args ...any) {
	o.failed = true
	o.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls f with a fake test on its own goroutine, as the testing
// package would, and reports how it ended.
func run(t *testing.T, f func(tb testing.TB)) *outcome {
	t.Helper()
	o := &outcome{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(o)
	}()
	<-done
	return o
}

func TestSkipIfMissing(t *testing.T) {
	tests := []struct {
		ci          string
		wantSkipped bool
		wantFailed  bool
	}{
		{ci: "", wantSkipped: true},
		{ci: "false", wantSkipped: true},
		{ci: "true", wantFailed: true},
	}
	for _, tt := range tests {
		t.Run("CI="+tt.ci, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			o := run(t, func(tb testing.TB) { SkipIfMissing(tb, "sh", "lambdards-no-such-binary") })
			if o.skipped != tt.wantSkipped || o.failed != tt.wantFailed {
				t.Errorf("SkipIfMissing(sh, lambdards-no-such-binary) with CI=%q: skipped=%v failed=%v, want skipped=%v failed=%v",
					tt.ci, o.skipped, o.failed, tt.wantSkipped, tt.wantFailed)
			}
			if !strings.Contains(o.msg, "lambdards-no-such-binary") || strings.Contains(o.msg, "sh,") {
				t.Errorf("SkipIfMissing message = %q, want it to name only the missing binary", o.msg)
			}
		})
	}

	t.Run("present", func(t *testing.T) {
		t.Setenv("CI", "true")
		var paths []string
		o := run(t, func(tb testing.TB) { paths = SkipIfMissing(tb, "sh") })
		if o.skipped || o.failed || len(paths) != 1 || paths[0] == "" {
			t.Errorf("SkipIfMissing(sh) = %q (skipped=%v failed=%v), want a path", paths, o.skipped, o.failed)
		}
	})
}

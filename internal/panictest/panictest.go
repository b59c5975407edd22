// Package panictest helps test constructs that reject bad props by panicking with an
// error, the way lambdards constructs fail synth.
package panictest

import (
	"fmt"
	"strings"
	"testing"
)

// Message runs f and returns the message it panics with; the test fails if f returns.
func Message(t *testing.T, f func()) (msg string) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil {
			t.Fatalf("did not panic")
		}
		if err, ok := r.(error); ok {
			msg = err.Error()
		} else {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

// Contains runs f and fails the test unless f panics with a message holding every one of
// want.
func Contains(t *testing.T, f func(), want ...string) {
	t.Helper()
	msg := Message(t, f)
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("panic message\n%s\ndoes not hold\n%s", msg, w)
		}
	}
}

package fields

import (
	"fmt"
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	context := func(goName string) string {
		switch goName {
		case "MaxCapacity":
			return "maxAcu"
		case "Mode=direct":
			return "proxy = false"
		case "Mode=other":
			return goName // unknown pair: the name and the value
		}
		return strings.ToLower(goName[:1]) + goName[1:]
	}
	tests := []struct {
		msg         string
		goWant      string
		contextWant string
	}{
		{"{MaxCapacity} 0.3: raise {MaxCapacity}", "MaxCapacity 0.3: raise MaxCapacity", "maxAcu 0.3: raise maxAcu"},
		{"{Proxy.BorrowTimeoutSeconds} 0", "Proxy.BorrowTimeoutSeconds 0", "proxy.BorrowTimeoutSeconds 0"},
		// A setting with its value: the reader may word the pair its own way.
		{"set {Mode=direct}", "set Mode direct", "set proxy = false"},
		{"set {Mode=other}", "set Mode other", "set mode other"},
		// JSON, lower-case names and braces in prose are left alone.
		{`{"items":{}} {lower} {A-B} {}`, `{"items":{}} {lower} {A-B} {}`, `{"items":{}} {lower} {A-B} {}`},
	}
	for _, tt := range tests {
		if got := Render(tt.msg, Go); got != tt.goWant {
			t.Errorf("Render(%q, Go) = %q, want %q", tt.msg, got, tt.goWant)
		}
		if got := Render(tt.msg, context); got != tt.contextWant {
			t.Errorf("Render(%q, context) = %q, want %q", tt.msg, got, tt.contextWant)
		}
	}
}

func TestIn(t *testing.T) {
	lower := func(goName string) string { return strings.ToLower(goName) }
	e := Errorf("Data/Pool: {Headroom} %d: must be 0 or more", -1)
	if got, want := e.Error(), "Data/Pool: Headroom -1: must be 0 or more"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	for _, tt := range []struct {
		v    any
		want string
	}{
		{e, "Data/Pool: headroom -1: must be 0 or more"},
		{fmt.Errorf("wrapped: %w", e), "wrapped: Data/Pool: headroom -1: must be 0 or more"},
		{"a string panic about {Weight}", "a string panic about weight"},
	} {
		if got := In(tt.v, lower); got != tt.want {
			t.Errorf("In(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

// Package fields lets one message name a setting in the words of whoever set it. A
// message names a setting as {Name}, its Go field (a path such as {Proxy.BorrowTimeoutSeconds}
// for a nested one); a Go caller reads it with the Go names, and the app, whose users set
// context keys, renders it with its own names for them. So each rule is written once, in
// the package that owns the setting, and still speaks to both.
//
// It imports nothing beyond the standard library: package budget, which must not import
// jsii, uses it too.
package fields

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// placeholder is a setting's name in a message: {Name} or {Parent.Name}, each part an
// exported Go identifier, or a setting with its value, {Name=value}.
var placeholder = regexp.MustCompile(`\{([A-Z][A-Za-z0-9]*(?:\.[A-Z][A-Za-z0-9]*)*)(=[A-Za-z0-9._-]+)?\}`)

// Namer gives a setting's name, from its Go name, in the words of a reader.
type Namer = func(goName string) string

// Renderer is an error that can render its message with a Namer: an *Error, or another
// package's error that keeps its settings as {Name} (package budget's).
type Renderer interface {
	error
	In(name Namer) string
}

// Raw is the Namer that keeps every setting a placeholder: rendering with it gives back
// the {Name} form, to put into another message.
func Raw(goName string) string { return "{" + goName + "}" }

// Go is the Go caller's Namer: the Go name itself.
func Go(goName string) string { return goName }

// Render returns msg with every {Name} replaced by name(Name), and every {Name=value} by
// name("Name=value") when the Namer knows the pair (a setting whose value reads otherwise
// in the reader's words), else by name(Name) and the value.
func Render(msg string, name Namer) string {
	return placeholder.ReplaceAllStringFunc(msg, func(m string) string {
		inner := m[1 : len(m)-1]
		setting, value, valued := strings.Cut(inner, "=")
		if !valued {
			return name(setting)
		}
		if r := name(inner); r != inner {
			return r
		}
		return name(setting) + " " + value
	})
}

// Error is an error whose message names settings as {Name}. Error renders them as Go
// names; In renders them with a Namer.
type Error struct{ msg string }

// Errorf formats an Error. Verbs format values as fmt.Sprintf does, but a Renderer among
// args goes in with its settings still placeholders, so that the whole message renders in
// one reader's words.
func Errorf(format string, args ...any) *Error {
	for i, a := range args {
		if r, ok := a.(Renderer); ok {
			args[i] = r.In(Raw)
		}
	}
	return &Error{fmt.Sprintf(format, args...)}
}

// Error renders the message with Go names.
func (e *Error) Error() string { return Render(e.msg, Go) }

// In renders the message with name.
func (e *Error) In(name Namer) string { return Render(e.msg, name) }

// In renders err with name when it is, or wraps, an *Error; otherwise it is err's own
// message. A panic value that is not an error is formatted as fmt does.
func In(v any, name Namer) string {
	err, ok := v.(error)
	if !ok {
		return Render(fmt.Sprint(v), name)
	}
	var r Renderer
	if errors.As(err, &r) {
		// A wrapping error holds r's message as Go names: render that part again.
		return strings.Replace(err.Error(), r.Error(), r.In(name), 1)
	}
	return Render(err.Error(), name)
}

// Of is what a constructor works on: a copy of *props, or the zero value for nil (a nil
// props pointer means all defaults).
func Of[T any](props *T) T {
	var p T
	if props != nil {
		p = *props
	}
	return p
}

// Problems collects a construct's invalid settings, each message naming its settings as
// {GoName}, so that one Fail reports them all.
type Problems []string

// Set lists, as {GoName} placeholders joined by ", " in sorted order, the settings that
// set marks true: the ones a message about settings that do not apply should name. ""
// when none is.
func Set(set map[string]bool) string {
	var names []string
	for name, ok := range set {
		if ok {
			names = append(names, "{"+name+"}")
		}
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// Add records a problem.
func (p *Problems) Add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// Require records "{name}: required" unless set.
func (p *Problems) Require(name string, set bool) {
	if !set {
		*p = append(*p, "{"+name+"}: required")
	}
}

// Fail panics, when there are problems, with one *Error that lists them under the
// construct's path ("Data/Pool: invalid pool:").
func (p Problems) Fail(path, what string) {
	if len(p) > 0 {
		panic(Errorf("%s: invalid %s:\n  - %s", path, what, strings.Join(p, "\n  - ")))
	}
}

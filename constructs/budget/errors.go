package budget

import (
	"fmt"
	"strings"

	"github.com/lambdards/lambdards/internal/fields"
)

// Error lists every problem that one call found, so that a user fixes them in
// one round. Compute, ComputeAccount and ServerlessMaxConnections return it as
// a *Error; a construct can hand Problems straight to a CDK validation.
//
// Messages name settings by their Go fields (MaxConnections, Headroom,
// ReservedConcurrency, MaxCapacity, ...); Named renders them in other words,
// as the app does with its context keys.
type Error struct {
	// Problems holds one message per problem, each naming the function (if
	// any), the numbers involved and what to change.
	Problems []string
	// Databases holds, from ComputeAccount, the problems of each database by
	// its index in Account.Databases; Account holds the account's own. Both
	// are also in Problems.
	Databases [][]string
	Account   []string

	// raw are the problems with settings named {GoName} (package fields).
	raw, rawAccount []string
	rawDatabases    [][]string
}

// Error returns the problems, one per line.
func (e *Error) Error() string {
	return strings.Join(e.Problems, "\n")
}

// In renders the problems, one per line, with every setting named by name.
func (e *Error) In(name func(goName string) string) string {
	return strings.Join(render(e.raw, name), "\n")
}

// Named returns the problems with every setting named by name, which is given
// a setting's Go field name (for example "MaxCapacity") and returns what to
// call it (for example the context key "maxAcu").
func (e *Error) Named(name func(goName string) string) *Error {
	out := &Error{raw: e.raw, rawAccount: e.rawAccount, rawDatabases: e.rawDatabases}
	out.Problems = render(e.raw, name)
	out.Account = render(e.rawAccount, name)
	for _, d := range e.rawDatabases {
		out.Databases = append(out.Databases, render(d, name))
	}
	return out
}

// Database returns the problems of the i-th database of ComputeAccount alone,
// or nil if it has none.
func (e *Error) Database(i int) *Error {
	if i >= len(e.rawDatabases) || len(e.rawDatabases[i]) == 0 {
		return nil
	}
	return newError(e.rawDatabases[i])
}

// AccountProblems returns the account's own problems from ComputeAccount, or
// nil if it has none.
func (e *Error) AccountProblems() *Error {
	if len(e.rawAccount) == 0 {
		return nil
	}
	return newError(e.rawAccount)
}

func render(raw []string, name func(string) string) []string {
	if raw == nil {
		return nil
	}
	out := make([]string, len(raw))
	for i, p := range raw {
		out[i] = fields.Render(p, name)
	}
	return out
}

// newError is the error holding raw problems.
func newError(raw []string) *Error {
	return (&Error{raw: raw}).Named(fields.Go)
}

func (e *Error) add(format string, args ...any) {
	e.raw = append(e.raw, fmt.Sprintf(format, args...))
}

// err returns e as an error, or nil if it holds no problem.
func (e *Error) err() error {
	if len(e.raw) == 0 {
		return nil
	}
	return newError(append([]string(nil), e.raw...))
}

// collect returns an error holding every database's problems, then the
// account's, or nil if there are none.
func (e *Error) collect(dbs []problems, account problems) error {
	out := &Error{rawDatabases: make([][]string, len(dbs)), rawAccount: account}
	for i, p := range dbs {
		out.rawDatabases[i] = p
		out.raw = append(out.raw, p...)
	}
	out.raw = append(out.raw, account...)
	if len(out.raw) == 0 {
		return nil
	}
	return out.Named(fields.Go)
}

// problems collects the messages of one database or of the account, with
// settings named {GoName}.
type problems []string

func (p *problems) add(format string, args ...any) {
	*p = append(*p, fmt.Sprintf(format, args...))
}

package budget

import (
	"fmt"
	"strings"
)

// Error lists every problem that one call found, so that a user fixes them in
// one round. Compute, ComputeAccount and ServerlessMaxConnections return it as
// a *Error; a construct can hand Problems straight to a CDK validation.
type Error struct {
	// Problems holds one message per problem, each naming the function (if
	// any), the numbers involved and what to change.
	Problems []string
	// Databases holds, from ComputeAccount, the problems of each database by
	// its index in Account.Databases; Account holds the account's own. Both
	// are also in Problems.
	Databases [][]string
	Account   []string
}

// Error returns the problems, one per line.
func (e *Error) Error() string {
	return strings.Join(e.Problems, "\n")
}

func (e *Error) add(format string, args ...any) {
	e.Problems = append(e.Problems, fmt.Sprintf(format, args...))
}

// err returns e as an error, or nil if it holds no problem.
func (e *Error) err() error {
	if len(e.Problems) == 0 {
		return nil
	}
	return &Error{Problems: append([]string(nil), e.Problems...)}
}

// collect returns an error holding every database's problems, then the
// account's, or nil if there are none.
func (e *Error) collect(dbs []problems, account problems) error {
	out := &Error{Databases: make([][]string, len(dbs)), Account: account}
	for i, p := range dbs {
		out.Databases[i] = p
		out.Problems = append(out.Problems, p...)
	}
	out.Problems = append(out.Problems, account...)
	if len(out.Problems) == 0 {
		return nil
	}
	return out
}

// problems collects the messages of one database or of the account.
type problems []string

func (p *problems) add(format string, args ...any) {
	*p = append(*p, fmt.Sprintf(format, args...))
}

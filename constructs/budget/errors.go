package budget

import (
	"fmt"
	"strings"
)

// Error lists every problem that one call found, so that a user fixes them in
// one round. Compute and ServerlessMaxConnections return it as a *Error; a
// construct can hand Problems straight to a CDK validation.
type Error struct {
	// Problems holds one message per problem, each naming the function (if
	// any), the numbers involved and what to change.
	Problems []string
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

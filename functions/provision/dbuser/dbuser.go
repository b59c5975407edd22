package dbuser

import (
	"errors"
	"fmt"
)

// Options changes how a user is provisioned. A nil *Options means the
// defaults, which are right for RDS and Aurora.
type Options struct {
	// LocalPassword gives the user this password instead of IAM
	// authentication, for servers that have no IAM support: a local
	// PostgreSQL or MariaDB in tests. On MySQL it replaces
	// "IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'" with
	// "IDENTIFIED BY"; on PostgreSQL the user still gets rds_iam (the
	// local server needs a stand-in role of that name) and a password
	// besides. Never set it against RDS: there rds_iam takes precedence
	// over the password (Amazon RDS User Guide, "Database authentication
	// with Amazon RDS").
	// Printable ASCII without quotes or backslashes.
	// Default: "", IAM authentication.
	LocalPassword string

	// Owner names who declares the user: the provisioning Lambda passes
	// the custom resource's StackId + "/" + LogicalResourceId. Apply
	// records it (replacing any earlier owner), and Drop leaves alone a
	// user whose recorded owner is another (see ErrOwnedElsewhere), so a
	// function moving between stacks keeps its user when the old stack
	// deletes its resource.
	// Printable ASCII without quotes or backslashes, at most 1024
	// characters.
	// Default: "", no owner: any Drop may drop the user.
	Owner string
}

func (o *Options) problems() []string {
	if o == nil {
		return nil
	}
	var p []string
	if !safeText(o.LocalPassword) {
		p = append(p, "Options.LocalPassword has a character outside printable ASCII or a quote or backslash, want printable ASCII without them")
	}
	if problem := ownerProblem(o.Owner); problem != "" {
		p = append(p, "Options."+problem)
	}
	return p
}

// owner returns o.Owner, or "" for nil.
func (o *Options) owner() string {
	if o == nil {
		return ""
	}
	return o.Owner
}

// maxOwnerLen is the width of MySQL's owner column.
const maxOwnerLen = 1024

// ownerProblem returns why owner cannot be recorded, or "".
func ownerProblem(owner string) string {
	if !safeText(owner) || len(owner) > maxOwnerLen {
		return fmt.Sprintf("Owner %q is not printable ASCII without quotes or backslashes of at most %d characters", owner, maxOwnerLen)
	}
	return ""
}

// safeText reports whether s is printable ASCII without quotes or
// backslashes, which quote the same on every engine and setting.
func safeText(s string) bool {
	for _, r := range s {
		if r < 0x20 || r > 0x7e || r == '\'' || r == '"' || r == '\\' {
			return false
		}
	}
	return true
}

// ErrNotManaged is returned, wrapped, by Apply and Drop for a user that
// exists but was not created by lambdards (or is the master user): they
// leave such users alone.
var ErrNotManaged = errors.New("user exists but is not managed by lambdards")

// ErrOwnedElsewhere is returned, wrapped, by Drop for a user whose recorded
// owner is not the one asking: another custom resource has taken the user
// over (its function moved to another stack), so Drop leaves it alone.
var ErrOwnedElsewhere = errors.New("user is owned by another resource")

package dbuser

import (
	"errors"
	"fmt"

	"github.com/lambdards/lambdards/dbspec"
)

// Options changes how a user is provisioned. A nil *Options means the
// defaults, which are right for functions that sign in with IAM tokens
// through RDS Proxy or to the database itself.
type Options struct {
	// Password makes the user sign in with this password instead of an
	// IAM token. The RDS Data API needs it: it signs in to the database
	// with the user name and password in a Secrets Manager secret (Amazon
	// Aurora User Guide, "Authorizing access to the Amazon RDS Data
	// API"). Local servers, which have no IAM authentication, need it in
	// tests.
	//
	// On PostgreSQL the role gets the password, hashed with scram-sha-256,
	// and is no member of rds_iam; on MySQL the user is IDENTIFIED BY it.
	// Apply without a Password returns the user to IAM authentication: on
	// PostgreSQL it grants rds_iam and clears the password, on MySQL it
	// identifies the user WITH AWSAuthenticationPlugin again.
	//
	// Printable ASCII without quotes or backslashes (see CheckPassword):
	// generate the secret with those characters excluded.
	// Default: "", IAM authentication.
	Password string

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

	// mysqlIAMPlugin replaces AWSAuthenticationPlugin, which only RDS
	// has, in tests against a local MariaDB.
	mysqlIAMPlugin string
}

func (o *Options) problems() []string {
	if o == nil {
		return nil
	}
	var p []string
	if problem := passwordProblem(o.Password); problem != "" {
		p = append(p, "Options."+problem)
	}
	if problem := ownerProblem(o.Owner); problem != "" {
		p = append(p, "Options."+problem)
	}
	return p
}

// password returns o.Password, or "" for nil: IAM authentication.
func (o *Options) password() string {
	if o == nil {
		return ""
	}
	return o.Password
}

// CheckPassword reports, in a *dbspec.ValidationError, a password that
// Options.Password cannot take: one with a character outside printable
// ASCII, or a quote or backslash. Such characters quote differently on each
// engine and setting (a backslash is an escape on MySQL unless
// NO_BACKSLASH_ESCAPES is set), so they are refused rather than escaped.
// The error never quotes the password.
func CheckPassword(password string) error {
	if problem := passwordProblem(password); problem != "" {
		return &dbspec.ValidationError{Problems: []string{problem}}
	}
	return nil
}

func passwordProblem(password string) string {
	if !safeText(password) {
		return "Password has a character outside printable ASCII or a quote or backslash, want printable ASCII without them"
	}
	return ""
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

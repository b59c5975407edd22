package dbuser

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Engine is the database engine family. Its values are those of
// dbconn.Engine, so one converts to the other; this package does not import
// dbconn, which would pull drivers and the AWS SDK into every importer.
type Engine string

// Engines.
const (
	// Postgres is RDS for PostgreSQL or Aurora PostgreSQL.
	Postgres Engine = "postgres"
	// MySQL is RDS for MySQL, RDS for MariaDB or Aurora MySQL.
	MySQL Engine = "mysql"
)

// Access is what a user may do in its schema.
type Access string

// Access levels, each including the one before.
const (
	// Read may SELECT.
	Read Access = "read"
	// Write may SELECT, INSERT, UPDATE and DELETE, and on PostgreSQL use
	// the sequences behind serial columns, so that inserts can take ids.
	Write Access = "write"
	// DDL is Write plus CREATE in the schema, for handlers that create
	// their own tables (CREATE TABLE IF NOT EXISTS at start-up).
	DDL Access = "ddl"
)

// User is a database user that a function declares: who it logs in as and
// what it may do. The zero value of every optional field means its default.
type User struct {
	// Name is the database user name; the function's IAM policy names it
	// too. Lower-case letters, digits and underscores, starting with a
	// letter, at most 32 characters (MySQL's limit).
	// Required.
	Name string `json:"name"`

	// Access is what the user may do on Tables.
	// Default: Read.
	Access Access `json:"access,omitempty"`

	// Schema holds the tables. MySQL has no schemas inside a database: there
	// it is the database the grants are on.
	// Default: "public" on PostgreSQL, the database name on MySQL.
	Schema string `json:"schema,omitempty"`

	// Tables are the tables the user may use. Empty means every table in
	// the schema, including tables created later (see the package
	// documentation for which creators that covers on PostgreSQL). Named
	// tables must exist when the user is applied. DDL takes no tables: it
	// always covers the whole schema.
	// Default: every table in the schema.
	Tables []string `json:"tables,omitempty"`
}

// Limits on names, the smaller of the engines' where they differ.
const (
	// maxUserLen: MySQL user names are at most 32 characters (MySQL
	// Reference Manual, "Account Names": "User names can be up to 32
	// characters long"); PostgreSQL allows 63 bytes.
	maxUserLen = 32
	// maxIdentLen: PostgreSQL truncates identifiers to 63 bytes
	// (NAMEDATALEN - 1); MySQL allows 64 characters.
	maxIdentLen = 63
)

var (
	userPattern  = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	identPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// reservedUsers are names no declared user may take: the engines' own
// accounts, RDS's, the master user names CDK and RDS default to, words
// PostgreSQL reserves as role names, and lambdards' own bookkeeping name.
var reservedUsers = []string{
	// PostgreSQL: the default superuser and RDS's default master user
	// name (Amazon RDS User Guide, "Understanding PostgreSQL roles and
	// permissions").
	"postgres",
	// MySQL and MariaDB: the built-in administrator, the system schema's
	// name, and MariaDB's system account.
	"root", "mysql", "mariadb",
	// CDK's and RDS's default master user name for MySQL.
	"admin",
	// Role names PostgreSQL reserves (PostgreSQL docs, "CREATE ROLE" and
	// "Role specifications": PUBLIC, CURRENT_ROLE, CURRENT_USER,
	// SESSION_USER, NONE).
	"public", "current_role", "current_user", "session_user", "none",
	// lambdards' bookkeeping database on MySQL.
	bookkeepingDatabase,
}

// reservedUserPrefixes: "rds" covers RDS's accounts on every engine
// (rdsadmin, rdsrepladmin on MySQL: Amazon RDS User Guide, "Common DBA
// tasks for MySQL DB instances", predefined users; rdsadmin, rds_superuser,
// rds_iam, rds_password, rds_replication on PostgreSQL: "Understanding
// PostgreSQL roles and permissions"); PostgreSQL reserves role names
// starting with pg_; MySQL's and MariaDB's system accounts are mysql.sys,
// mysql.session, mysql.infoschema and mariadb.sys.
var reservedUserPrefixes = []string{"rds", "pg_", "mysql.", "mariadb."}

// reservedSchemas are system schemas (and MySQL system databases) a user
// may not be granted access to through this package.
var reservedSchemas = []string{
	"information_schema", "pg_catalog", "pg_toast",
	"mysql", "performance_schema", "sys",
	bookkeepingDatabase,
}

// withDefaults returns u with every unset optional field at its default
// for engine and database. It is the one place defaults are applied.
func (u User) withDefaults(engine Engine, database string) User {
	if u.Access == "" {
		u.Access = Read
	}
	if u.Schema == "" {
		switch engine {
		case Postgres:
			u.Schema = "public"
		case MySQL:
			u.Schema = database
		}
	}
	return u
}

// ValidationError reports every problem found in a declaration.
type ValidationError struct {
	// Problems are one sentence fragment per problem, each naming the
	// field, its value and what would be valid.
	Problems []string
}

func (e *ValidationError) Error() string {
	return "dbuser: invalid database user: " + strings.Join(e.Problems, "; ")
}

// Validate checks the declaration on its own, without a database or an
// engine, and reports every problem at once in a *ValidationError. It is
// cheap enough to run at synth. It cannot know the master user's name:
// Apply refuses that at deploy time, and a caller that knows it should
// compare too.
func (u User) Validate() error {
	if p := u.problems(); len(p) > 0 {
		return &ValidationError{Problems: p}
	}
	return nil
}

func (u User) problems() []string {
	var p []string
	switch {
	case u.Name == "":
		p = append(p, "Name is empty, want a database user name")
	case isReservedUser(u.Name):
		p = append(p, fmt.Sprintf("Name %q is reserved (engine, RDS or lambdards account), want a name of the function's own", u.Name))
	case !userPattern.MatchString(u.Name) || len(u.Name) > maxUserLen:
		p = append(p, fmt.Sprintf("Name %q is not a safe user name, want lower-case letters, digits and _, starting with a letter, at most %d characters", u.Name, maxUserLen))
	}
	switch u.Access {
	case "", Read, Write, DDL:
	default:
		p = append(p, fmt.Sprintf("Access %q is not an access level, want %s, %s or %s", u.Access, Read, Write, DDL))
	}
	if u.Schema != "" {
		if problem := identProblem(u.Schema); problem != "" {
			p = append(p, fmt.Sprintf("Schema %q %s", u.Schema, problem))
		} else if slices.Contains(reservedSchemas, strings.ToLower(u.Schema)) || strings.HasPrefix(strings.ToLower(u.Schema), "pg_") {
			p = append(p, fmt.Sprintf("Schema %q is a system schema, want one holding the function's tables", u.Schema))
		}
	}
	if u.Access == DDL && len(u.Tables) > 0 {
		p = append(p, fmt.Sprintf("Tables %q with Access %s: ddl covers the whole schema (the tables the function creates cannot be named in advance), want no Tables", u.Tables, DDL))
	}
	seen := map[string]bool{}
	for i, t := range u.Tables {
		if problem := identProblem(t); problem != "" {
			p = append(p, fmt.Sprintf("Tables[%d] %q %s", i, t, problem))
		} else if seen[t] {
			p = append(p, fmt.Sprintf("Tables[%d] %q is listed twice", i, t))
		}
		seen[t] = true
	}
	return p
}

func isReservedUser(name string) bool {
	lower := strings.ToLower(name)
	if slices.Contains(reservedUsers, lower) {
		return true
	}
	for _, prefix := range reservedUserPrefixes {
		if strings.HasPrefix(lower, prefix) {
			return true
		}
	}
	return false
}

// identProblem returns why s is not a safe table, schema or database name,
// or "".
func identProblem(s string) string {
	if !identPattern.MatchString(s) || len(s) > maxIdentLen {
		return fmt.Sprintf("is not a safe identifier, want letters, digits and _, not starting with a digit, at most %d characters", maxIdentLen)
	}
	return ""
}

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

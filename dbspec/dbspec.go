// Package dbspec names what a lambdards database and its users are, in the
// words that the constructs (at synth), the users provisioner (at deploy) and
// the handlers (at run time) share: the engine, a user's access, and the user
// a function declares, with the rules a declaration must follow. It imports
// only the standard library, so that a handler that imports it stays small and
// the constructs need not import the provisioner's SQL.
package dbspec

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/lambdards/lambdards/internal/fields"
)

// Bookkeeping is the name of lambdards's own bookkeeping database on MySQL,
// which no user or schema may take.
const Bookkeeping = "lambdards"

// Valid reports whether e is an engine lambdards supports.
func (e Engine) Valid() bool { return e == Postgres || e == MySQL }

// Engines lists the supported engines, for messages.
var Engines = []Engine{Postgres, MySQL}

// Engine is the database engine family. Aurora and plain RDS share an Engine.
type Engine string

// The engines lambdards supports.
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
	Bookkeeping,
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
	Bookkeeping,
}

// WithDefaults returns u with every unset optional field at its default
// for engine and database. It is the one place defaults are applied.
func (u User) WithDefaults(engine Engine, database string) User {
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
	// setting as {GoField} (package internal/fields), its value and what
	// would be valid.
	Problems []string
}

// Error renders the problems with settings named by their Go fields in
// package pool's AttachOptions (DatabaseUser, Access, Schema, Tables).
func (e *ValidationError) Error() string { return e.In(fields.Go) }

// In renders the problems with settings named by name (package
// internal/fields), as the app does with its context keys.
func (e *ValidationError) In(name func(goName string) string) string {
	return "invalid database user: " + fields.Render(strings.Join(e.Problems, "; "), name)
}

// Validate checks the declaration on its own, without a database or an
// engine, and reports every problem at once in a *ValidationError. It is
// cheap enough to run at synth. It cannot know the master user's name:
// Apply refuses that at deploy time, and a caller that knows it should
// compare too.
func (u User) Validate() error {
	if p := u.Problems(); len(p) > 0 {
		return &ValidationError{Problems: p}
	}
	return nil
}

// ValidateFor is Validate for a database whose master user is master ("" if
// unknown): a function may not sign in as the master user, who can do
// anything, and whose password sign-in IAM login rights would end.
func (u User) ValidateFor(master string) error {
	p := u.Problems()
	if master != "" && u.Name == master {
		p = append(p, fmt.Sprintf("{DatabaseUser} %q is the master user; give the function a user of its own", u.Name))
	}
	if len(p) > 0 {
		return &ValidationError{Problems: p}
	}
	return nil
}

// Problems lists what Validate reports, one fragment per problem, or nil.
func (u User) Problems() []string {
	var p []string
	switch {
	case u.Name == "":
		p = append(p, "{DatabaseUser} is empty, want a database user name")
	case isReservedUser(u.Name):
		p = append(p, fmt.Sprintf("{DatabaseUser} %q is reserved (engine, RDS or lambdards account), want a name of the function's own", u.Name))
	case !userPattern.MatchString(u.Name) || len(u.Name) > maxUserLen:
		p = append(p, fmt.Sprintf("{DatabaseUser} %q is not a safe user name, want lower-case letters, digits and _, starting with a letter, at most %d characters", u.Name, maxUserLen))
	}
	switch u.Access {
	case "", Read, Write, DDL:
	default:
		p = append(p, fmt.Sprintf("{Access} %q is not an access level, want %s, %s or %s", u.Access, Read, Write, DDL))
	}
	if u.Schema != "" {
		if problem := IdentifierProblem(u.Schema); problem != "" {
			p = append(p, fmt.Sprintf("{Schema} %q %s", u.Schema, problem))
		} else if slices.Contains(reservedSchemas, strings.ToLower(u.Schema)) || strings.HasPrefix(strings.ToLower(u.Schema), "pg_") {
			p = append(p, fmt.Sprintf("{Schema} %q is a system schema, want one holding the function's tables", u.Schema))
		}
	}
	if u.Access == DDL && len(u.Tables) > 0 {
		p = append(p, fmt.Sprintf("{Tables} %q with {Access} %s: ddl covers the whole schema (the tables the function creates cannot be named in advance), want no {Tables}", u.Tables, DDL))
	}
	seen := map[string]bool{}
	for i, t := range u.Tables {
		if problem := IdentifierProblem(t); problem != "" {
			p = append(p, fmt.Sprintf("{Tables}[%d] %q %s", i, t, problem))
		} else if seen[t] {
			p = append(p, fmt.Sprintf("{Tables}[%d] %q is listed twice", i, t))
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

// IdentifierProblem returns why s is not a safe table, schema or database
// name, or "".
func IdentifierProblem(s string) string {
	if !identPattern.MatchString(s) || len(s) > maxIdentLen {
		return fmt.Sprintf("is not a safe identifier, want letters, digits and _, not starting with a digit, at most %d characters", maxIdentLen)
	}
	return ""
}

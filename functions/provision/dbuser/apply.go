package dbuser

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/lambdards/lambdards/dbspec"
)

// Apply creates user u in database, or brings an existing one up to date,
// by running Plan's statements on db, which must be logged in as the master
// user (or another that may create users and grant privileges). On
// PostgreSQL db must be connected to database, and everything happens in
// one transaction; on MySQL GRANT and REVOKE commit one by one.
//
// Before changing anything Apply checks that the user is not the one db
// logs in as, and that if it exists lambdards created it; otherwise it
// returns an error wrapping ErrNotManaged and changes nothing. Concurrent
// Apply and Drop calls on one PostgreSQL database wait for each other
// (CloudFormation creates independent resources in parallel, and
// PostgreSQL fails concurrent GRANTs on one object with "tuple concurrently
// updated").
//
// Apply records opts.Owner as the user's owner, taking the user over from
// any earlier owner: see Drop.
func Apply(ctx context.Context, db *sql.DB, engine dbspec.Engine, database string, u dbspec.User, opts *Options) error {
	if err := check(engine, database, u, opts); err != nil {
		return err
	}
	u = u.WithDefaults(engine, database)
	if engine == dbspec.Postgres {
		return postgresTx(ctx, db, database, func(ctx context.Context, tx *sql.Tx) error {
			if _, _, err := lookUp(ctx, tx, engine, u.Name); err != nil {
				return err
			}
			return execAll(ctx, tx, postgresPlan(database, u, opts))
		})
	}
	setup, stmts := mysqlPlan(u, opts)
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("dbuser: %w", err)
	}
	defer conn.Close()
	return mysqlLocked(ctx, conn, func() error {
		if err := execAll(ctx, conn, setup); err != nil {
			return err
		}
		if err := mysqlAddOwner(ctx, conn); err != nil {
			return err
		}
		if _, _, err := lookUp(ctx, conn, engine, u.Name); err != nil {
			return err
		}
		return execAll(ctx, conn, stmts)
	})
}

// Drop drops the user called name, if lambdards created it, by running
// DropPlan's statements on db as Apply does. A user that does not exist is
// not an error. A user that exists but that lambdards did not create, or
// that db logs in as, is left alone, and Drop returns an error wrapping
// ErrNotManaged. No table is dropped: on PostgreSQL the user's tables pass
// to the user db logs in as.
//
// owner is who asks, as Options.Owner for Apply. If it is not "" and the
// user's recorded owner is another (not ""), that owner has taken the user
// over since: Drop leaves the user alone and returns an error wrapping
// ErrOwnedElsewhere. An owner of "" drops the user whoever owns it.
func Drop(ctx context.Context, db *sql.DB, engine dbspec.Engine, name, owner string) error {
	stmts, err := DropPlan(engine, name)
	if err != nil {
		return err
	}
	if problem := ownerProblem(owner); problem != "" {
		return &dbspec.ValidationError{Problems: []string{problem}}
	}
	drop := func(ctx context.Context, q querier) error {
		found, recorded, err := lookUp(ctx, q, engine, name)
		if err != nil || !found {
			return err
		}
		if owner != "" && recorded != "" && recorded != owner {
			return fmt.Errorf("dbuser: user %q is owned by %q, not %q; leaving it alone: %w", name, recorded, owner, ErrOwnedElsewhere)
		}
		return execAll(ctx, q, stmts)
	}
	if engine == dbspec.Postgres {
		return postgresTx(ctx, db, "", func(ctx context.Context, tx *sql.Tx) error { return drop(ctx, tx) })
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("dbuser: %w", err)
	}
	defer conn.Close()
	return mysqlLocked(ctx, conn, func() error { return drop(ctx, conn) })
}

// querier is what Apply and Drop run statements on: a *sql.Tx or a
// *sql.Conn.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// execAll runs stmts in order. An error names the statement by its number
// and opening words (see opening), which with Plan's output locate it.
func execAll(ctx context.Context, q querier, stmts []string) error {
	for i, s := range stmts {
		if _, err := q.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("dbuser: statement %d of %d (%s): %w", i+1, len(stmts), opening(s), err)
		}
	}
	return nil
}

// opening returns a statement's opening words for an error message: its
// first line, up to its first string literal, at most 60 characters. A
// literal may be Options.Password, which no message may quote.
func opening(stmt string) string {
	s, _, _ := strings.Cut(stmt, "\n")
	s, _, _ = strings.Cut(s, "'")
	s = strings.TrimSpace(s)
	if len(s) > 60 {
		s = s[:60]
	}
	if s != strings.TrimSpace(stmt) {
		s += " ..."
	}
	return s
}

// lockKey is the PostgreSQL advisory lock that serializes lambdards'
// provisioning in a database: "lambdards" in ASCII.
const lockKey int64 = 0x6c616d6264617264

// mysqlLockName and mysqlLockTimeout: MySQL's named lock that serializes
// lambdards' Apply and Drop on a server (its users are server-wide), so
// that a Drop cannot check the owner, then drop a user that an Apply took
// over in between.
const (
	mysqlLockName    = "lambdards"
	mysqlLockTimeout = 60 // seconds
)

// mysqlLocked runs fn holding lambdards' named lock on conn's session.
func mysqlLocked(ctx context.Context, conn *sql.Conn, fn func() error) error {
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", mysqlLockName, mysqlLockTimeout).Scan(&got); err != nil {
		return fmt.Errorf("dbuser: taking the provisioning lock: %w", err)
	}
	if got.Int64 != 1 {
		return fmt.Errorf("dbuser: taking the provisioning lock: GET_LOCK('%s') gave up after %d seconds", mysqlLockName, mysqlLockTimeout)
	}
	// A session's named locks outlive statements and transactions, and
	// conn goes back to the pool: release explicitly.
	defer conn.ExecContext(context.WithoutCancel(ctx), "DO RELEASE_LOCK(?)", mysqlLockName)
	return fn()
}

// postgresTx runs fn in a transaction that holds lambdards' advisory lock,
// after checking that db is connected to database (unless it is "").
func postgresTx(ctx context.Context, db *sql.DB, database string, fn func(context.Context, *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("dbuser: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SELECT pg_catalog.pg_advisory_xact_lock($1)", lockKey); err != nil {
		return fmt.Errorf("dbuser: taking the provisioning lock: %w", err)
	}
	if database != "" {
		var current string
		if err := tx.QueryRowContext(ctx, "SELECT pg_catalog.current_database()").Scan(&current); err != nil {
			return fmt.Errorf("dbuser: %w", err)
		}
		if current != database {
			return fmt.Errorf("dbuser: connected to database %q, want %q: PostgreSQL grants only in the current database", current, database)
		}
	}
	if err := fn(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("dbuser: %w", err)
	}
	return nil
}

// lookUp reports whether the user called name, or lambdards' record of it,
// exists, and its recorded owner ("" for none). It returns an error
// wrapping ErrNotManaged if name is the user q logs in as, or a user that
// exists without lambdards' mark.
func lookUp(ctx context.Context, q querier, engine dbspec.Engine, name string) (found bool, owner string, err error) {
	var current string
	var exists, managed bool
	if engine == dbspec.Postgres {
		var comment string
		err = q.QueryRowContext(ctx, `SELECT current_user,
			EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = $1),
			coalesce((SELECT pg_catalog.shobj_description(oid, 'pg_authid') FROM pg_catalog.pg_roles WHERE rolname = $1), '')`,
			name).Scan(&current, &exists, &comment)
		owner, managed = pgOwner(comment)
	} else {
		current, exists, managed, owner, err = mysqlState(ctx, q, name)
	}
	if err != nil {
		return false, "", fmt.Errorf("dbuser: looking up user %q: %w", name, err)
	}
	if name == current {
		return false, "", fmt.Errorf("dbuser: %q is the user this connection logs in as (the master user); lambdards does not manage it: %w", name, ErrNotManaged)
	}
	if exists && !managed {
		how := "no COMMENT ON ROLE " + pgLiteral(marker)
		if engine == dbspec.MySQL {
			how = "not listed in " + bookkeepingDatabase + "." + bookkeepingTable
		}
		return false, "", fmt.Errorf("dbuser: user %q exists but lambdards did not create it (%s); leaving it alone: %w", name, how, ErrNotManaged)
	}
	return exists || managed, owner, nil
}

// mysqlState returns the user q logs in as, whether a user called name
// exists (from any host), whether lambdards' bookkeeping lists it, and the
// owner recorded there ("" for none, or a table from before owners).
func mysqlState(ctx context.Context, q querier, name string) (current string, exists, managed bool, owner string, err error) {
	var listed, hasOwner bool
	err = q.QueryRowContext(ctx, `SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1),
		EXISTS (SELECT 1 FROM mysql.user WHERE User = ?),
		EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?),
		EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = ? AND table_name = ? AND column_name = 'owner')`,
		name, bookkeepingDatabase, bookkeepingTable, bookkeepingDatabase, bookkeepingTable).Scan(&current, &exists, &listed, &hasOwner)
	if err != nil || !listed {
		return current, exists, false, "", err
	}
	ownerExpr := "''"
	if hasOwner {
		ownerExpr = "`owner`"
	}
	err = q.QueryRowContext(ctx, "SELECT COUNT(*) > 0, COALESCE(MAX("+ownerExpr+"), '') FROM "+bookkeeping+" WHERE `name` = ?", name).Scan(&managed, &owner)
	return current, exists, managed, owner, err
}

// mysqlAddOwner adds the owner column to a bookkeeping table created
// before owners were recorded. MariaDB has ADD COLUMN IF NOT EXISTS, MySQL
// 8 has not, so it looks first; when a concurrent Apply adds the column
// between the look and the ALTER, the ALTER fails and the column is there.
func mysqlAddOwner(ctx context.Context, q querier) error {
	has := func() (bool, error) {
		var ok bool
		err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns
			WHERE table_schema = ? AND table_name = ? AND column_name = 'owner')`,
			bookkeepingDatabase, bookkeepingTable).Scan(&ok)
		return ok, err
	}
	ok, err := has()
	if err != nil {
		return fmt.Errorf("dbuser: looking for %s.%s.owner: %w", bookkeepingDatabase, bookkeepingTable, err)
	}
	if ok {
		return nil
	}
	_, alterErr := q.ExecContext(ctx, "ALTER TABLE "+bookkeeping+" ADD COLUMN "+mysqlOwnerColumn)
	if alterErr == nil {
		return nil
	}
	if ok, err := has(); err == nil && ok {
		return nil
	}
	return fmt.Errorf("dbuser: adding the owner column to %s.%s: %w", bookkeepingDatabase, bookkeepingTable, alterErr)
}

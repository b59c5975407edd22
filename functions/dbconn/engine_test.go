package dbconn_test

import (
	"context"
	"crypto/x509"
	"database/sql"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/functions/dbconn"
	"github.com/lambdards/lambdards/internal/testdb"
)

// testContext bounds one test's database work; generous, because it only
// guards against hangs.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newDB returns a DB for cfg, closed when the test ends.
func newDB(t *testing.T, cfg dbconn.Config) *dbconn.DB {
	t.Helper()
	db, err := dbconn.New(cfg)
	if err != nil {
		t.Fatalf("dbconn.New(%+v) error = %v", cfg, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// selectOne is work for Do that needs a working connection and nothing
// else.
func selectOne(ctx context.Context, s *sql.DB) error {
	_, err := s.ExecContext(ctx, "SELECT 1")
	return err
}

// server is a database server a test started: *testdb.Postgres or
// *testdb.MariaDB.
type server interface {
	CreateUser(t testing.TB, name, password string)
	CreateDatabase(t testing.TB, name, owner string)
	// DB and Exec work as the administrator.
	DB(t testing.TB) *sql.DB
	Exec(t testing.TB, query string, args ...any)
	// UserDSN is for the engine's database/sql driver, without TLS.
	UserDSN(user, password, database string) string
	RootCAs() *x509.CertPool
}

// newUser creates a user owning a database of the same name on srv and
// returns a password-auth Config that connects to it.
func newUser(t *testing.T, srv server, name string) dbconn.Config {
	t.Helper()
	srv.CreateUser(t, name, name+"-pw")
	srv.CreateDatabase(t, name, name)
	cfg := dbconn.Config{User: name, Database: name, Auth: dbconn.AuthPassword, Password: name + "-pw", TLS: dbconn.TLSDisable}
	switch s := srv.(type) {
	case *testdb.Postgres:
		cfg.Engine, cfg.Host, cfg.Port = dbspec.Postgres, s.Host, s.Port
	case *testdb.MariaDB:
		cfg.Engine, cfg.Host, cfg.Port = dbspec.MySQL, s.Host, s.Port
	default:
		t.Fatalf("newUser: unknown server %T", srv)
	}
	return cfg
}

// engine is what the checks both engines share need to know of one: the
// SQL that differs and the codes its driver gives the errors they expect.
// A parameter in the SQL is the engine's placeholder ($1 or ?).
type engine struct {
	// sessionID names the session serving the query.
	sessionID string
	// sessions lists the ids of user $1's sessions, in order.
	sessions string
	// kill ends session $1.
	kill string
	// sleep is a fmt format for a statement that sleeps %g seconds.
	sleep string
	// running counts session $1's statements running with text $2.
	running string
	// tls says whether the serving session uses TLS.
	tls string
	// driver is the database/sql driver for connections without dbconn.
	driver string
	// badPassword and tooMany are the driverCode of a failed login and of
	// a server with no connection slot left.
	badPassword, tooMany string
}

// engines holds, by engine, what differs in the checks they share.
var engines = map[dbspec.Engine]engine{
	dbspec.Postgres: {
		sessionID:   "SELECT pg_backend_pid()",
		sessions:    "SELECT pid FROM pg_stat_activity WHERE usename = $1 ORDER BY pid",
		kill:        "SELECT pg_terminate_backend($1)",
		sleep:       "SELECT pg_sleep(%g)",
		running:     "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND state = 'active' AND query = $2",
		tls:         "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
		driver:      "pgx",
		badPassword: "28P01", // invalid_password
		tooMany:     "53300", // too_many_connections
	},
	dbspec.MySQL: {
		sessionID:   "SELECT CONNECTION_ID()",
		sessions:    "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ? ORDER BY ID",
		kill:        "KILL CONNECTION ?",
		sleep:       "SELECT SLEEP(%g)",
		running:     "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ? AND INFO = ?",
		tls:         "SELECT VARIABLE_VALUE <> '' FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'SSL_CIPHER'",
		driver:      "mysql",
		badPassword: "1045", // ER_ACCESS_DENIED_ERROR
		tooMany:     "1040", // ER_CON_COUNT_ERROR
	},
}

// driverCode returns the code the driver gives err: PostgreSQL's SQLSTATE
// or MySQL's error number; "" for an error from neither. It is stricter
// than dbconn.SQLState, whose MySQL SQLSTATEs stand for many numbers.
func driverCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		return strconv.Itoa(int(myErr.Number))
	}
	return ""
}

// sessionID returns the id of the session serving db's next query.
func sessionID(t *testing.T, ctx context.Context, db *dbconn.DB) int {
	t.Helper()
	query := engines[db.Engine()].sessionID
	var id int
	err := db.Do(ctx, func(ctx context.Context, s *sql.DB) error {
		return s.QueryRowContext(ctx, query).Scan(&id)
	})
	if err != nil {
		t.Fatalf("Do(%s) error = %v", query, err)
	}
	return id
}

// sessions returns the ids of cfg.User's sessions on srv, as the server
// sees them.
func sessions(t *testing.T, ctx context.Context, srv server, cfg dbconn.Config) []int {
	t.Helper()
	query := engines[cfg.Engine].sessions
	rows, err := srv.DB(t).QueryContext(ctx, query, cfg.User)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var ids []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return ids
}

// waitGone waits until id is no longer among cfg.User's sessions.
func waitGone(t *testing.T, ctx context.Context, srv server, cfg dbconn.Config, id int) {
	t.Helper()
	for {
		found := false
		for _, s := range sessions(t, ctx, srv, cfg) {
			found = found || s == id
		}
		if !found {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("session %d of %s still present: %v", id, cfg.User, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

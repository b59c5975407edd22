package dbconn_test

import (
	"context"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
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

// engine is what the checks both engines share need to know of one: how to
// start its server, the SQL that differs, and the codes its driver gives
// the errors they expect. A parameter in the SQL is the engine's
// placeholder ($1 or ?).
type engine struct {
	// start starts a server with TLS and so few connection slots that
	// TooManyConnections can take them all.
	start func(t *testing.T) server
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
		start: func(t *testing.T) server {
			// 10 slots, 3 of them for superusers (testdb's admin pool
			// takes 2): ordinary users get 7.
			return testdb.StartPostgres(t, testdb.PostgresOptions{SSL: true, MaxConnections: 10})
		},
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
		start: func(t *testing.T) server {
			// MariaDB's minimum; root gets one more.
			return testdb.StartMariaDB(t, testdb.MariaDBOptions{SSL: true, MaxConnections: 10})
		},
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

// TestEngines runs the checks that hold on every engine, on one server an
// engine, each with its own user and database.
func TestEngines(t *testing.T) {
	t.Parallel()
	for _, kind := range dbspec.Engines {
		e := engines[kind]
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			testEngine(t, e, e.start(t))
		})
	}
}

// testEngine runs the shared checks against srv, whose engine e describes.
func testEngine(t *testing.T, e engine, srv server) {
	t.Run("TLSModes", func(t *testing.T) {
		ctx := testContext(t)
		base := newUser(t, srv, "tls_modes")
		tests := []struct {
			mode    dbconn.TLSMode
			roots   *x509.CertPool
			wantTLS bool
		}{
			{dbconn.TLSDisable, nil, false},
			{dbconn.TLSRequire, nil, true},
			{dbconn.TLSVerifyFull, srv.RootCAs(), true},
		}
		for _, tt := range tests {
			cfg := base
			cfg.TLS, cfg.RootCAs = tt.mode, tt.roots
			var got bool
			err := newDB(t, cfg).Do(ctx, func(ctx context.Context, s *sql.DB) error {
				return s.QueryRowContext(ctx, e.tls).Scan(&got)
			})
			if err != nil {
				t.Errorf("TLS %s: Do(%s) error = %v", tt.mode, e.tls, err)
				continue
			}
			if got != tt.wantTLS {
				t.Errorf("TLS %s: Do(%s) = %v, want %v", tt.mode, e.tls, got, tt.wantTLS)
			}
		}
	})

	t.Run("VerifyFullRejectsUntrustedCertificate", func(t *testing.T) {
		ctx := testContext(t)
		cfg := newUser(t, srv, "untrusted")
		cfg.TLS = dbconn.TLSVerifyFull // system roots: the test CA is not among them
		_, err := newDB(t, cfg).Get(ctx)
		if err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
			t.Fatalf("Get() with an untrusted certificate error = %v, want certificate signed by unknown authority", err)
		}
		var re *dbconn.RetryableError
		if errors.As(err, &re) {
			t.Errorf("Get() error is a *RetryableError, want a permanent error: %v", err)
		}
	})

	t.Run("WrongPasswordIsPermanent", func(t *testing.T) {
		ctx := testContext(t)
		cfg := newUser(t, srv, "wrong_pw")
		cfg.Password = "not-it"
		_, err := newDB(t, cfg).Get(ctx)
		if got := driverCode(err); got != e.badPassword {
			t.Fatalf("Get() with a wrong password error = %v (code %q), want code %s", err, got, e.badPassword)
		}
		var re *dbconn.RetryableError
		if errors.As(err, &re) {
			t.Errorf("Get() error is a *RetryableError, want a permanent error: %v", err)
		}
	})

	t.Run("ReuseOneConnection", func(t *testing.T) {
		ctx := testContext(t)
		cfg := newUser(t, srv, "reuse")
		db := newDB(t, cfg)
		if _, err := db.Get(ctx); err != nil {
			t.Fatalf("Get() error = %v", err)
		}
		first := sessionID(t, ctx, db)
		for i := 0; i < 50; i++ {
			if id := sessionID(t, ctx, db); id != first {
				t.Fatalf("call %d ran on session %d, want %d (the same connection)", i, id, first)
			}
		}
		if got := sessions(t, ctx, srv, cfg); len(got) != 1 || got[0] != first {
			t.Errorf("sessions of %s = %v, want exactly [%d]", cfg.User, got, first)
		}
	})

	t.Run("ConcurrentCallersShareMaxConns", func(t *testing.T) {
		ctx := testContext(t)
		cfg := newUser(t, srv, "concurrent")
		db := newDB(t, cfg)
		sleep := fmt.Sprintf(e.sleep, 0.05)
		errs := make(chan error, 8)
		for i := 0; i < 8; i++ {
			go func() {
				errs <- db.Do(ctx, func(ctx context.Context, s *sql.DB) error {
					_, err := s.ExecContext(ctx, sleep)
					return err
				})
			}()
		}
		for i := 0; i < 8; i++ {
			if err := <-errs; err != nil {
				t.Errorf("Do(%s) error = %v", sleep, err)
			}
		}
		if got := sessions(t, ctx, srv, cfg); len(got) != 1 {
			t.Errorf("sessions of %s = %v, want 1 (MaxConns)", cfg.User, got)
		}
	})

	t.Run("ReconnectAfterKill", func(t *testing.T) {
		ctx := testContext(t)
		cfg := newUser(t, srv, "killed")
		db := newDB(t, cfg)
		for round := 0; round < 3; round++ {
			before := sessionID(t, ctx, db)
			srv.Exec(t, e.kill, before)
			waitGone(t, ctx, srv, cfg, before)
			// The pool still holds the dead connection; the next call
			// must notice and reconnect without surfacing an error.
			after := sessionID(t, ctx, db)
			if after == before {
				t.Fatalf("round %d: session after %s = %d, want a new one", round, e.kill, after)
			}
			if got := sessions(t, ctx, srv, cfg); len(got) != 1 || got[0] != after {
				t.Errorf("round %d: sessions of %s = %v, want exactly [%d]", round, cfg.User, got, after)
			}
		}
	})

	t.Run("RetryOnceWhenKilledMidQuery", func(t *testing.T) {
		// A session killed while running fn's query: database/sql cannot
		// retry that itself, so Do runs fn again on a new connection.
		ctx := testContext(t)
		cfg := newUser(t, srv, "killed_mid_query")
		db := newDB(t, cfg)
		first := sessionID(t, ctx, db)
		sleep := fmt.Sprintf(e.sleep, 30.0)
		admin := srv.DB(t)
		go func() {
			// Kill the session once it is inside the sleep.
			for ctx.Err() == nil {
				var n int
				err := admin.QueryRowContext(ctx, e.running, first, sleep).Scan(&n)
				if err == nil && n > 0 {
					admin.ExecContext(ctx, e.kill, first)
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
		calls, id := 0, 0
		err := db.Do(ctx, func(ctx context.Context, s *sql.DB) error {
			calls++
			if calls == 1 {
				_, err := s.ExecContext(ctx, sleep)
				return err
			}
			return s.QueryRowContext(ctx, e.sessionID).Scan(&id)
		})
		if err != nil {
			t.Fatalf("Do() after a mid-query %s error = %v, want nil", e.kill, err)
		}
		if calls != 2 || id == first {
			t.Errorf("Do() ran fn %d times, last on session %d; want 2 times, on a session other than %d", calls, id, first)
		}
	})

	t.Run("TooManyConnections", func(t *testing.T) {
		// On a server of its own: on the shared one, a session that an
		// earlier check closed can end after the fill below and free
		// the slot that Get should find taken.
		srv := e.start(t)
		ctx := testContext(t)
		cfg := newUser(t, srv, "crowd")

		// Take every ordinary slot.
		pool, err := sql.Open(e.driver, srv.UserDSN(cfg.User, cfg.Password, cfg.Database))
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		pool.SetMaxIdleConns(0) // a released *sql.Conn closes its connection
		var held []*sql.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for len(held) < 20 {
			c, err := pool.Conn(ctx)
			if err != nil {
				if got := driverCode(err); got != e.tooMany {
					t.Fatalf("filling the server: Conn() error = %v (code %q), want code %s once full", err, got, e.tooMany)
				}
				break
			}
			held = append(held, c)
		}
		if len(held) == 0 || len(held) == 20 {
			t.Fatalf("held %d connections before the server refused, want 1 to 19", len(held))
		}

		db := newDB(t, cfg)
		start := time.Now()
		_, err = db.Get(ctx)
		elapsed := time.Since(start)
		var re *dbconn.RetryableError
		if !errors.As(err, &re) || !re.Retryable() {
			t.Fatalf("Get() on a full server = %v, want a *RetryableError", err)
		}
		if got := driverCode(err); got != e.tooMany {
			t.Errorf("Get() on a full server = %v (code %q), want it to wrap code %s", err, got, e.tooMany)
		}
		if want := "database busy: too many connections after 4 attempts in "; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Get() on a full server error = %q, want prefix %q", err, want)
		}
		if elapsed > 20*time.Second {
			t.Errorf("Get() on a full server took %v, want it bounded by the retry policy", elapsed)
		}

		// A short context deadline ends the retries sooner than the policy.
		slow := cfg
		slow.Retry = dbconn.RetryPolicy{Attempts: 50, BaseDelay: time.Second, MaxDelay: time.Second, MaxElapsed: time.Minute}
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start = time.Now()
		err = newDB(t, slow).Do(short, selectOne)
		if !errors.As(err, &re) {
			t.Errorf("Do() with a 300ms deadline on a full server = %v, want a *RetryableError", err)
		}
		if elapsed := time.Since(start); elapsed > 10*time.Second {
			t.Errorf("Do() with a 300ms deadline took %v, want it to stop at the deadline", elapsed)
		}

		// A slot frees up: the same DB connects.
		held[0].Close()
		held = held[1:]
		for ctx.Err() == nil && len(sessions(t, ctx, srv, cfg)) > len(held) {
			time.Sleep(20 * time.Millisecond)
		}
		if _, err := db.Get(ctx); err != nil {
			t.Errorf("Get() after a slot freed up = %v, want nil", err)
		}
	})
}

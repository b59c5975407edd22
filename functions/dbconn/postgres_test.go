package dbconn_test

import (
	"context"
	"crypto/x509"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lambdards/lambdards/functions/dbconn"
	"github.com/lambdards/lambdards/internal/testdb"
)

// TestPostgres runs the checks that can share one server, each with its
// own user and database.
func TestPostgres(t *testing.T) {
	t.Parallel()
	pg := testdb.StartPostgres(t, testdb.PostgresOptions{SSL: true})

	t.Run("TLSModes", func(t *testing.T) {
		ctx := testContext(t)
		base := newUser(t, pg, "tls_modes")
		tests := []struct {
			mode    dbconn.TLSMode
			roots   *x509.CertPool
			wantSSL bool
		}{
			{dbconn.TLSDisable, nil, false},
			{dbconn.TLSRequire, nil, true},
			{dbconn.TLSVerifyFull, pg.RootCAs(), true},
		}
		for _, tt := range tests {
			cfg := base
			cfg.TLS, cfg.RootCAs = tt.mode, tt.roots
			db := newDB(t, cfg)
			var ssl bool
			err := db.Do(ctx, func(ctx context.Context, s *sql.DB) error {
				return s.QueryRowContext(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl)
			})
			if err != nil {
				t.Errorf("TLS %s: Do() error = %v", tt.mode, err)
				continue
			}
			if ssl != tt.wantSSL {
				t.Errorf("TLS %s: pg_stat_ssl.ssl = %v, want %v", tt.mode, ssl, tt.wantSSL)
			}
		}
	})

	t.Run("VerifyFullRejectsUntrustedCertificate", func(t *testing.T) {
		ctx := testContext(t)
		cfg := newUser(t, pg, "untrusted")
		cfg.TLS = dbconn.TLSVerifyFull // system roots: the test CA is not among them
		db := newDB(t, cfg)
		_, err := db.Get(ctx)
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
		cfg := newUser(t, pg, "wrong_pw")
		cfg.Password = "not-it"
		_, err := newDB(t, cfg).Get(ctx)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
			t.Fatalf("Get() with a wrong password error = %v, want SQLSTATE 28P01", err)
		}
		var re *dbconn.RetryableError
		if errors.As(err, &re) {
			t.Errorf("Get() error is a *RetryableError, want a permanent error")
		}
	})

	t.Run("ReuseOneConnection", func(t *testing.T) {
		ctx := testContext(t)
		cfg := newUser(t, pg, "reuse")
		db := newDB(t, cfg)
		if _, err := db.Get(ctx); err != nil {
			t.Fatalf("Get() error = %v", err)
		}
		first := sessionID(t, ctx, db)
		for i := 0; i < 50; i++ {
			if pid := sessionID(t, ctx, db); pid != first {
				t.Fatalf("call %d ran on backend %d, want %d (the same connection)", i, pid, first)
			}
		}
		if got := sessions(t, ctx, pg, cfg); len(got) != 1 || got[0] != first {
			t.Errorf("pg_stat_activity sessions of %s = %v, want exactly [%d]", cfg.User, got, first)
		}
	})

	t.Run("ConcurrentCallersShareMaxConns", func(t *testing.T) {
		ctx := testContext(t)
		cfg := newUser(t, pg, "concurrent")
		db := newDB(t, cfg)
		errs := make(chan error, 8)
		for i := 0; i < 8; i++ {
			go func() {
				errs <- db.Do(ctx, func(ctx context.Context, s *sql.DB) error {
					_, err := s.ExecContext(ctx, "SELECT pg_sleep(0.05)")
					return err
				})
			}()
		}
		for i := 0; i < 8; i++ {
			if err := <-errs; err != nil {
				t.Errorf("Do() error = %v", err)
			}
		}
		if got := sessions(t, ctx, pg, cfg); len(got) != 1 {
			t.Errorf("pg_stat_activity sessions of %s = %v, want 1 (MaxConns)", cfg.User, got)
		}
	})

	t.Run("ReconnectAfterTerminate", func(t *testing.T) {
		ctx := testContext(t)
		cfg := newUser(t, pg, "terminated")
		db := newDB(t, cfg)
		for round := 0; round < 3; round++ {
			before := sessionID(t, ctx, db)
			pg.Exec(t, "SELECT pg_terminate_backend($1)", before)
			waitGone(t, ctx, pg, cfg, before)
			// The pool still holds the dead connection; the next call
			// must notice and reconnect without surfacing an error.
			after := sessionID(t, ctx, db)
			if after == before {
				t.Fatalf("round %d: backend after pg_terminate_backend = %d, want a new one", round, after)
			}
			if got := sessions(t, ctx, pg, cfg); len(got) != 1 || got[0] != after {
				t.Errorf("round %d: sessions of %s = %v, want exactly [%d]", round, cfg.User, got, after)
			}
		}
	})

	t.Run("RetryOnceWhenKilledMidQuery", func(t *testing.T) {
		// A backend killed while running fn's query: database/sql cannot
		// retry that itself, so Do runs fn again on a new connection.
		ctx := testContext(t)
		cfg := newUser(t, pg, "killed_mid_query")
		db := newDB(t, cfg)
		first := sessionID(t, ctx, db)
		calls := 0
		var pid int
		admin := pg.DB(t)
		go func() {
			// Terminate the backend once it is inside pg_sleep.
			for ctx.Err() == nil {
				var waiting bool
				err := admin.QueryRowContext(ctx,
					"SELECT count(*) > 0 FROM pg_stat_activity WHERE pid = $1 AND query LIKE '%pg_sleep(30)%' AND state = 'active'", first).Scan(&waiting)
				if err == nil && waiting {
					admin.ExecContext(ctx, "SELECT pg_terminate_backend($1)", first)
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
		err := db.Do(ctx, func(ctx context.Context, s *sql.DB) error {
			calls++
			if calls == 1 {
				_, err := s.ExecContext(ctx, "SELECT pg_sleep(30)")
				return err
			}
			return s.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid)
		})
		if err != nil {
			t.Fatalf("Do() after a mid-query termination error = %v, want nil", err)
		}
		if calls != 2 || pid == first {
			t.Errorf("Do() ran fn %d times, last on backend %d; want 2 times, on a backend other than %d", calls, pid, first)
		}
	})

	t.Run("RawPgxConnSeesTermination", func(t *testing.T) {
		// A control: without dbconn, the first query after a
		// termination fails. This is what Do's retry covers.
		ctx := testContext(t)
		cfg := newUser(t, pg, "control")
		c, err := pgx.Connect(ctx, pg.UserDSN(cfg.User, cfg.Password, cfg.Database))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		var pid int
		if err := c.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			t.Fatal(err)
		}
		pg.Exec(t, "SELECT pg_terminate_backend($1)", pid)
		waitGone(t, ctx, pg, cfg, pid)
		if err := c.QueryRow(ctx, "SELECT 1").Scan(new(int)); err == nil {
			t.Errorf("query on a terminated pgx connection succeeded, want an error")
		}
	})
}

func TestPostgresServerRestart(t *testing.T) {
	t.Parallel()
	pg := testdb.StartPostgres(t, testdb.PostgresOptions{})
	ctx := testContext(t)
	cfg := newUser(t, pg, "restart")
	db := newDB(t, cfg)
	before := sessionID(t, ctx, db)

	pg.Restart(t)
	after := sessionID(t, ctx, db)
	if after == before {
		t.Errorf("backend after restart = %d, want a new one", after)
	}

	// While the server is down, Do gives up within its bounds with a
	// RetryableError; once it is back, the same DB works again.
	pg.Stop(t)
	start := time.Now()
	err := db.Do(ctx, selectOne)
	elapsed := time.Since(start)
	var re *dbconn.RetryableError
	if !errors.As(err, &re) || re.Attempts != 4 || !strings.HasPrefix(err.Error(), "database unavailable: cannot connect after 4 attempts") {
		t.Fatalf("Do() with the server down = %v, want a RetryableError after 4 attempts", err)
	}
	if elapsed > 20*time.Second {
		t.Errorf("Do() with the server down took %v, want it bounded by the retry policy", elapsed)
	}
	pg.Start(t)
	sessionID(t, ctx, db)
}

func TestPostgresTooManyConnections(t *testing.T) {
	t.Parallel()
	// 5 slots, 2 for superusers: ordinary users get 3.
	pg := testdb.StartPostgres(t, testdb.PostgresOptions{MaxConnections: 5, SuperuserReservedConnections: 2})
	ctx := testContext(t)
	cfg := newUser(t, pg, "crowd")

	// Take every ordinary slot.
	var held []*pgx.Conn
	for len(held) < 10 {
		c, err := pgx.Connect(ctx, pg.UserDSN(cfg.User, cfg.Password, cfg.Database))
		if err != nil {
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "53300" {
				t.Fatalf("filling the server: %v, want SQLSTATE 53300 once full", err)
			}
			break
		}
		held = append(held, c)
	}
	defer func() {
		for _, c := range held {
			c.Close(ctx)
		}
	}()
	if len(held) == 0 || len(held) == 10 {
		t.Fatalf("held %d connections before the server refused, want 1 to 9", len(held))
	}

	db := newDB(t, cfg)
	start := time.Now()
	_, err := db.Get(ctx)
	elapsed := time.Since(start)
	var re *dbconn.RetryableError
	if !errors.As(err, &re) || !re.Retryable() {
		t.Fatalf("Get() on a full server = %v, want a *RetryableError", err)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "53300" {
		t.Errorf("Get() on a full server: errors.As(*pgconn.PgError) code = %v, want 53300", err)
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
	held[0].Close(ctx)
	held = held[1:]
	if _, err := db.Get(ctx); err != nil {
		t.Errorf("Get() after a slot freed up = %v, want nil", err)
	}
}

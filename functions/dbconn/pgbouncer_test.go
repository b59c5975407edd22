package dbconn_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lambdards/lambdards/functions/dbconn"
	"github.com/lambdards/lambdards/internal/testdb"
)

// TestPgbouncer goes through a pooler, as functions go through RDS Proxy:
// TLS to the pooler, one server connection for the database, and the
// pooler's wait timeout standing in for the proxy's borrow timeout.
func TestPgbouncer(t *testing.T) {
	t.Parallel()
	pg := testdb.StartPostgres(t, testdb.PostgresOptions{})
	direct := newUser(t, pg, "pooled")
	b := testdb.StartPgbouncer(t, pg, testdb.PgbouncerOptions{
		TLS:              true,
		Users:            map[string]string{direct.User: direct.Password},
		DefaultPoolSize:  1,
		MaxDBConnections: 1,
		QueryWaitTimeout: time.Second,
	})
	ctx := testContext(t)
	cfg := direct
	cfg.Host, cfg.Port = b.Host, b.Port
	cfg.TLS, cfg.RootCAs = dbconn.TLSVerifyFull, b.RootCAs()
	db := newDB(t, cfg)

	t.Run("ConnectAndReuse", func(t *testing.T) {
		var port int
		err := db.Do(ctx, func(ctx context.Context, s *sql.DB) error {
			return s.QueryRowContext(ctx, "SELECT inet_server_port()").Scan(&port)
		})
		if err != nil {
			t.Fatalf("Do() through pgbouncer error = %v", err)
		}
		if port != pg.Port {
			t.Errorf("inet_server_port() through pgbouncer = %d, want the server's %d", port, pg.Port)
		}
		first := sessionID(t, ctx, db)
		for i := 0; i < 20; i++ {
			if pid := sessionID(t, ctx, db); pid != first {
				t.Fatalf("call %d ran on backend %d, want %d", i, pid, first)
			}
		}
	})

	t.Run("WrongPasswordIsPermanent", func(t *testing.T) {
		wrong := cfg
		wrong.Password = "not-it"
		_, err := newDB(t, wrong).Get(ctx)
		var re *dbconn.RetryableError
		if err == nil || errors.As(err, &re) || !strings.Contains(err.Error(), "authentication failed") {
			t.Errorf("Get() through pgbouncer with a wrong password error = %v, want a permanent authentication error", err)
		}
	})

	t.Run("PoolerRestart", func(t *testing.T) {
		before := sessionID(t, ctx, db)
		b.Restart(t)
		if after := sessionID(t, ctx, db); after == before {
			t.Errorf("backend after a pooler restart = %d, want a new server connection", after)
		}
	})

	t.Run("PoolerBusy", func(t *testing.T) {
		// Free the only server connection, then let another client
		// take it and keep it (session pooling).
		db.Close()
		hc, err := pgx.ParseConfig(b.DSN(cfg.User, cfg.Password, cfg.Database))
		if err != nil {
			t.Fatal(err)
		}
		hc.TLSConfig = b.TLSConfig()
		h, err := pgx.ConnectConfig(ctx, hc)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close(ctx)
		if err := h.Ping(ctx); err != nil {
			t.Fatal(err)
		}

		short := cfg
		short.Retry = dbconn.RetryPolicy{Attempts: 2}
		start := time.Now()
		err = newDB(t, short).Do(ctx, selectOne)
		elapsed := time.Since(start)
		var re *dbconn.RetryableError
		if !errors.As(err, &re) || re.Attempts != 2 {
			t.Fatalf("Do() while the pool is taken = %v, want a *RetryableError after 2 attempts", err)
		}
		if want := "database busy: pooler could not provide a connection (query_wait_timeout)"; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Do() while the pool is taken error = %q, want prefix %q", err, want)
		}
		// Two waits of query_wait_timeout (1 s) plus backoff.
		if elapsed > 30*time.Second {
			t.Errorf("Do() while the pool is taken took %v, want about 2s", elapsed)
		}
	})
}

package dbconn_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lambdards/lambdards/functions/dbconn"
	"github.com/lambdards/lambdards/internal/testdb"
)

// TestPostgres runs the checks that only PostgreSQL can make, on one
// server; TestEngines has the ones every engine shares.
func TestPostgres(t *testing.T) {
	t.Parallel()
	pg := testdb.StartPostgres(t, testdb.PostgresOptions{})

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

	// Last: it stops the server.
	t.Run("ServerRestart", func(t *testing.T) {
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
	})
}

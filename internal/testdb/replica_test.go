package testdb

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// waitReplayed waits until replica has replayed its primary's WAL up to lsn, for at
// most 30 seconds.
func waitReplayed(t *testing.T, ctx context.Context, replica *Postgres, lsn string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var replayed bool
		err := replica.DB(t).QueryRowContext(ctx,
			"SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)", lsn).Scan(&replayed)
		if err != nil {
			t.Fatalf("pg_last_wal_replay_lsn() on port %d: %v", replica.Port, err)
		}
		if replayed {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pg_last_wal_replay_lsn() on port %d is still below %s after 30s", replica.Port, lsn)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestReplica(t *testing.T) {
	t.Parallel()
	primary := StartPostgres(t, PostgresOptions{MaxConnections: 30, Replication: true})
	primary.CreateUser(t, "app", "app-secret")
	primary.CreateDatabase(t, "appdb", "app")
	// A replica may take more connections than its primary; by default it takes as many.
	wider := StartReplica(t, primary, PostgresOptions{MaxConnections: 40})
	pooled := StartReplica(t, primary, PostgresOptions{})
	pooler := StartPgbouncer(t, pooled, PgbouncerOptions{Users: map[string]string{"app": "app-secret"}})
	ctx := testContext(t)

	// Written after the base backups, so it can reach the replicas only by streaming.
	app, err := pgx.Connect(ctx, primary.UserDSN("app", "app-secret", "appdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close(ctx)
	var lsn string
	for _, q := range []string{"CREATE TABLE items (name text)", "INSERT INTO items VALUES ('streamed')"} {
		if _, err := app.Exec(ctx, q); err != nil {
			t.Fatalf("%s on the primary: %v", q, err)
		}
	}
	if err := app.QueryRow(ctx, "SELECT pg_current_wal_insert_lsn()::text").Scan(&lsn); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name               string
		replica            *Postgres
		dsn                string
		wantMaxConnections string
	}{
		{"replica", wider, wider.UserDSN("app", "app-secret", "appdb"), "40"},
		{"pgbouncer in front of a replica", pooled, pooler.DSN("app", "app-secret", "appdb"), "30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			waitReplayed(t, ctx, tt.replica, lsn)
			c, err := pgx.Connect(ctx, tt.dsn)
			if err != nil {
				t.Fatalf("connecting to the %s: %v", tt.name, err)
			}
			defer c.Close(ctx)

			var name, maxConnections string
			var recovery bool
			var port int
			err = c.QueryRow(ctx, "SELECT name, pg_is_in_recovery(), inet_server_port(), current_setting('max_connections') FROM items").
				Scan(&name, &recovery, &port, &maxConnections)
			if err != nil {
				t.Fatalf("SELECT FROM items on the %s: %v", tt.name, err)
			}
			if name != "streamed" || !recovery || port != tt.replica.Port || maxConnections != tt.wantMaxConnections {
				t.Errorf("SELECT name, pg_is_in_recovery(), inet_server_port(), current_setting('max_connections') on the %s = %q, %v, %d, %s, want %q, true, %d, %s",
					tt.name, name, recovery, port, maxConnections, "streamed", tt.replica.Port, tt.wantMaxConnections)
			}

			_, err = c.Exec(ctx, "INSERT INTO items VALUES ('written on the replica')")
			var pgErr *pgconn.PgError
			const want = "cannot execute INSERT in a read-only transaction"
			if !errors.As(err, &pgErr) || pgErr.Code != "25006" || pgErr.Message != want {
				t.Errorf("INSERT INTO items on the %s: error = %v, want SQLSTATE 25006 %q", tt.name, err, want)
			}
		})
	}
}

func TestStartReplicaRefuses(t *testing.T) {
	t.Parallel()
	primary := StartPostgres(t, PostgresOptions{MaxConnections: 30, Replication: true})
	plain := StartPostgres(t, PostgresOptions{})

	tests := []struct {
		name    string
		primary *Postgres
		opts    PostgresOptions
		want    string
	}{
		{"primary without Replication", plain, PostgresOptions{}, "not started by StartPostgres with PostgresOptions.Replication"},
		{"max_connections below the primary's", primary, PostgresOptions{MaxConnections: 20},
			"max_connections = 20, want at least the primary's 30"},
		{"a setting below the primary's", primary, PostgresOptions{Settings: map[string]string{"max_locks_per_transaction": "32"}},
			"max_locks_per_transaction = 32, want at least the primary's 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := run(t, func(tb testing.TB) { StartReplica(tb, tt.primary, tt.opts) })
			if !o.failed || !strings.Contains(o.msg, tt.want) {
				t.Errorf("StartReplica(%s): failed=%v, message %q, want a failure containing %q", tt.name, o.failed, o.msg, tt.want)
			}
		})
	}
}

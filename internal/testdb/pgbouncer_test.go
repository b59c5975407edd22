package testdb

import (
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestPgbouncer(t *testing.T) {
	t.Parallel()
	pg := StartPostgres(t, PostgresOptions{})
	pg.CreateUser(t, "app", "app-secret")
	pg.CreateDatabase(t, "appdb", "app")
	b := StartPgbouncer(t, pg, PgbouncerOptions{TLS: true, Users: map[string]string{"app": "app-secret"}})
	ctx := testContext(t)

	connect := func(t *testing.T) *pgx.Conn {
		t.Helper()
		cfg, err := pgx.ParseConfig(b.DSN("app", "app-secret", "appdb"))
		if err != nil {
			t.Fatal(err)
		}
		cfg.TLSConfig = b.TLSConfig()
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatalf("connecting through pgbouncer: %v", err)
		}
		t.Cleanup(func() { c.Close(ctx) })
		return c
	}

	c := connect(t)
	var user string
	var port int
	if err := c.QueryRow(ctx, "SELECT current_user, inet_server_port()").Scan(&user, &port); err != nil {
		t.Fatalf("query through pgbouncer: %v", err)
	}
	if user != "app" || port != pg.Port {
		t.Errorf("SELECT current_user, inet_server_port() = %q, %d, want %q, %d", user, port, "app", pg.Port)
	}

	bport := b.Port
	b.Restart(t)
	if b.Port != bport {
		t.Errorf("Port after restart = %d, want %d", b.Port, bport)
	}
	if err := c.Ping(ctx); err == nil {
		t.Errorf("Ping on a connection from before the pooler restart succeeded, want an error")
	}
	if err := connect(t).Ping(ctx); err != nil {
		t.Errorf("Ping after restart: %v", err)
	}
}

func TestPgbouncerQueryWaitTimeout(t *testing.T) {
	t.Parallel()
	pg := StartPostgres(t, PostgresOptions{})
	b := StartPgbouncer(t, pg, PgbouncerOptions{
		DefaultPoolSize:  1,
		MaxDBConnections: 1,
		QueryWaitTimeout: time.Second,
	})
	ctx := testContext(t)
	dsn := b.DSN(pg.User, pg.Password, pg.Database)

	// Session mode: the first client keeps the only server connection.
	holder, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(ctx)
	if err := holder.Ping(ctx); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	waiter, err := pgx.Connect(ctx, dsn)
	if err == nil {
		err = waiter.Ping(ctx)
		waiter.Close(ctx)
	}
	if err == nil || !strings.Contains(err.Error(), "query_wait_timeout") {
		t.Fatalf("second client's query error = %v, want query_wait_timeout", err)
	}
	if elapsed := time.Since(start); elapsed > 30*time.Second {
		t.Errorf("query_wait_timeout took %v, want about 1s", elapsed)
	}
}

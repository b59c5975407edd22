package testdb

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// testContext returns a context that bounds one test's database calls.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestStartPostgres(t *testing.T) {
	t.Parallel()
	pg := StartPostgres(t, PostgresOptions{
		MaxConnections:               7,
		SuperuserReservedConnections: 2,
		Settings:                     map[string]string{"work_mem": "8MB"},
	})
	ctx := testContext(t)

	tests := []struct {
		setting string
		want    string
	}{
		{"max_connections", "7"},
		{"superuser_reserved_connections", "2"},
		{"work_mem", "8MB"},
		{"fsync", "off"},
		{"ssl", "off"},
		{"listen_addresses", "127.0.0.1"},
		{"server_version_num", "150000"}, // compared by major version below
	}
	for _, tt := range tests {
		var got string
		if err := pg.DB(t).QueryRowContext(ctx, "SELECT current_setting($1)", tt.setting).Scan(&got); err != nil {
			t.Fatalf("current_setting(%q): %v", tt.setting, err)
		}
		if tt.setting == "server_version_num" {
			got = got[:len(got)-4] + "0000"
		}
		if got != tt.want {
			t.Errorf("current_setting(%q) = %q, want %q", tt.setting, got, tt.want)
		}
	}

	// The server runs as a non-root user even when the test runs as root.
	var user string
	if err := pg.DB(t).QueryRowContext(ctx, "SELECT current_user").Scan(&user); err != nil {
		t.Fatal(err)
	}
	if user != pg.User {
		t.Errorf("SELECT current_user = %q, want %q", user, pg.User)
	}
}

func TestPostgresUserAndDatabase(t *testing.T) {
	t.Parallel()
	pg := StartPostgres(t, PostgresOptions{})
	ctx := testContext(t)
	pg.CreateUser(t, "app", "app-secret")
	pg.CreateDatabase(t, "appdb", "app")

	c, err := pgx.Connect(ctx, pg.UserDSN("app", "app-secret", "appdb"))
	if err != nil {
		t.Fatalf("connecting as app: %v", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE TABLE t (id int)"); err != nil {
		t.Errorf("CREATE TABLE as the database owner: %v", err)
	}

	if _, err := pgx.Connect(ctx, pg.UserDSN("app", "wrong", "appdb")); err == nil {
		t.Errorf("pgx.Connect with a wrong password succeeded, want an authentication error")
	}
}

func TestPostgresSSL(t *testing.T) {
	t.Parallel()
	pg := StartPostgres(t, PostgresOptions{SSL: true})
	ctx := testContext(t)
	if pg.CACertPEM == nil || pg.RootCAs() == nil || pg.TLSConfig() == nil {
		t.Fatalf("StartPostgres(SSL: true) exposes no CA: CACertPEM=%v", pg.CACertPEM)
	}

	tests := []struct {
		name    string
		tls     *tls.Config
		wantErr string
	}{
		{"verified", pg.TLSConfig(), ""},
		{"untrusted CA", &tls.Config{RootCAs: x509.NewCertPool(), ServerName: pg.Host}, "certificate signed by unknown authority"},
		{"wrong name", &tls.Config{RootCAs: pg.RootCAs(), ServerName: "db.example.com"}, "certificate is valid for"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := pgx.ParseConfig(pg.DSN())
			if err != nil {
				t.Fatal(err)
			}
			cfg.TLSConfig = tt.tls
			c, err := pgx.ConnectConfig(ctx, cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					c.Close(ctx)
					t.Fatalf("pgx.ConnectConfig(%s) error = %v, want one containing %q", tt.name, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("pgx.ConnectConfig(%s): %v", tt.name, err)
			}
			defer c.Close(ctx)
			var ssl bool
			if err := c.QueryRow(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil {
				t.Fatal(err)
			}
			if !ssl {
				t.Errorf("pg_stat_ssl.ssl = false, want true")
			}
		})
	}
}

func TestPostgresRestart(t *testing.T) {
	t.Parallel()
	pg := StartPostgres(t, PostgresOptions{})
	ctx := testContext(t)
	pg.Exec(t, "CREATE TABLE kept (v text)")
	pg.Exec(t, "INSERT INTO kept VALUES ('before')")
	port := pg.Port

	pg.Stop(t)
	if c, err := pgx.Connect(ctx, pg.DSN()); err == nil {
		c.Close(ctx)
		t.Fatalf("pgx.Connect after Stop succeeded, want an error")
	}
	pg.Start(t)

	if pg.Port != port {
		t.Errorf("Port after restart = %d, want %d", pg.Port, port)
	}
	var v string
	if err := pg.DB(t).QueryRowContext(ctx, "SELECT v FROM kept").Scan(&v); err != nil {
		t.Fatalf("SELECT after restart: %v", err)
	}
	if v != "before" {
		t.Errorf("SELECT v FROM kept = %q, want %q", v, "before")
	}
	pg.Restart(t)
	pg.Exec(t, "SELECT 1")
}

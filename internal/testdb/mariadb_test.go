package testdb

import (
	"database/sql"
	"testing"

	"github.com/go-sql-driver/mysql"
)

func TestStartMariaDB(t *testing.T) {
	t.Parallel()
	m := StartMariaDB(t, MariaDBOptions{MaxConnections: 11, SSL: true})
	ctx := testContext(t)
	if m.CACertPEM == nil || m.RootCAs() == nil || m.TLSConfig() == nil {
		t.Fatalf("StartMariaDB(SSL: true) exposes no CA")
	}

	var got int
	if err := m.DB(t).QueryRowContext(ctx, "SELECT @@max_connections").Scan(&got); err != nil {
		t.Fatalf("SELECT @@max_connections: %v", err)
	}
	if got != 11 {
		t.Errorf("SELECT @@max_connections = %d, want 11", got)
	}

	// root has a password now: logging in without it fails.
	db, err := sql.Open("mysql", m.UserDSN("root", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PingContext(ctx); err == nil {
		t.Errorf("Ping as root without a password succeeded, want access denied")
	}

	// TLS, verified against the test CA.
	cfg, err := mysql.ParseDSN(m.DSN())
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLS = m.TLSConfig()
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tlsDB := sql.OpenDB(conn)
	defer tlsDB.Close()
	var name, cipher string
	if err := tlsDB.QueryRowContext(ctx, "SHOW SESSION STATUS LIKE 'Ssl_cipher'").Scan(&name, &cipher); err != nil {
		t.Fatalf("SHOW SESSION STATUS over TLS: %v", err)
	}
	if cipher == "" {
		t.Errorf("Ssl_cipher = %q, want a cipher (a TLS session)", cipher)
	}
}

func TestMariaDBUserDatabaseAndRestart(t *testing.T) {
	t.Parallel()
	m := StartMariaDB(t, MariaDBOptions{})
	ctx := testContext(t)
	m.CreateUser(t, "app", "app-secret")
	m.CreateDatabase(t, "appdb", "app")

	db, err := sql.Open("mysql", m.UserDSN("app", "app-secret", "appdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (v VARCHAR(10))"); err != nil {
		t.Fatalf("CREATE TABLE as app: %v", err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO t VALUES ('before')"); err != nil {
		t.Fatal(err)
	}

	port := m.Port
	m.Restart(t)
	if m.Port != port {
		t.Errorf("Port after restart = %d, want %d", m.Port, port)
	}
	var v string
	if err := db.QueryRowContext(ctx, "SELECT v FROM t").Scan(&v); err != nil {
		t.Fatalf("SELECT after restart: %v", err)
	}
	if v != "before" {
		t.Errorf("SELECT v FROM t = %q, want %q", v, "before")
	}
}

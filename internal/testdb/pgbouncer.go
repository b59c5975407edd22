package testdb

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// PgbouncerOptions configures StartPgbouncer. The zero value is a
// session-mode pooler with pgbouncer's defaults and no TLS.
type PgbouncerOptions struct {
	// PoolMode is pool_mode: "session", "transaction" or "statement".
	// Default: "session".
	PoolMode string

	// MaxClientConn is max_client_conn: how many clients may connect.
	// Default: 100.
	MaxClientConn int

	// DefaultPoolSize is default_pool_size: server connections per
	// user/database pair.
	// Default: 20.
	DefaultPoolSize int

	// MaxDBConnections is max_db_connections: server connections per
	// database, 0 for no limit.
	// Default: 0.
	MaxDBConnections int

	// ServerResetQuery is server_reset_query, run when a server connection
	// goes back to the pool (session mode only).
	// Default: "DISCARD ALL".
	ServerResetQuery string

	// QueryWaitTimeout is query_wait_timeout: how long a client may wait
	// for a server connection before pgbouncer drops it. It is pgbouncer's
	// counterpart of RDS Proxy's ConnectionBorrowTimeout. Whole seconds.
	// Default: 120 s (pgbouncer's default).
	QueryWaitTimeout time.Duration

	// Users maps user names to plaintext passwords for the auth_file, in
	// addition to the backend's superuser. Each must also exist in
	// PostgreSQL with the same password.
	// Default: none.
	Users map[string]string

	// TLS makes clients use TLS (client_tls_sslmode = require) with a
	// certificate signed by a throwaway CA; Pgbouncer.CACertPEM and
	// Pgbouncer.RootCAs give the CA to clients.
	// Default: false.
	TLS bool

	// Settings are extra [pgbouncer] settings; they override the ones
	// StartPgbouncer sets.
	// Default: none.
	Settings map[string]string
}

// Pgbouncer is a running pgbouncer in front of a throwaway PostgreSQL.
//
// Clients authenticate with SCRAM-SHA-256 against plaintext passwords in
// pgbouncer's auth_file; pgbouncer then logs in to PostgreSQL with the same
// plaintext password (SCRAM too). Keeping plaintext in the auth_file is the
// simplest arrangement that works with PostgreSQL 15's default
// password_encryption and needs no auth_query set-up; it is fine for a
// throwaway server and wrong anywhere else.
type Pgbouncer struct {
	// Host is the address pgbouncer listens on: always 127.0.0.1.
	Host string
	// Port is the TCP port; Restart keeps it.
	Port int
	// Backend is the PostgreSQL server behind the pooler.
	Backend *Postgres
	// CACertPEM is the PEM certificate of the CA that signed pgbouncer's
	// client-facing certificate; nil unless PgbouncerOptions.TLS.
	CACertPEM []byte

	srv *server
}

// StartPgbouncer starts pgbouncer in front of backend and stops it when the
// test ends. Every database name is routed to backend. It skips the test if
// pgbouncer is not installed (fails it under CI=true).
func StartPgbouncer(t testing.TB, backend *Postgres, opts PgbouncerOptions) *Pgbouncer {
	t.Helper()
	program := SkipIfMissing(t, "pgbouncer")[0]
	if opts.PoolMode == "" {
		opts.PoolMode = "session"
	}
	if opts.MaxClientConn == 0 {
		opts.MaxClientConn = 100
	}
	if opts.DefaultPoolSize == 0 {
		opts.DefaultPoolSize = 20
	}
	if opts.ServerResetQuery == "" {
		opts.ServerResetQuery = "DISCARD ALL"
	}
	if opts.QueryWaitTimeout == 0 {
		opts.QueryWaitTimeout = 120 * time.Second
	}
	if opts.QueryWaitTimeout%time.Second != 0 {
		t.Fatalf("testdb: PgbouncerOptions.QueryWaitTimeout = %v, want whole seconds", opts.QueryWaitTimeout)
	}

	// pgbouncer refuses to run as root.
	s := newServer(t, "pgbouncer", "pgbouncer", serviceUser(t))
	b := &Pgbouncer{Host: "127.0.0.1", Backend: backend, srv: s}

	auth := render(map[string]string{backend.User: backend.Password}, opts.Users, func(user, password string) []string {
		return []string{fmt.Sprintf("%q %q\n", user, password)}
	})
	if err := s.as.writeFile(filepath.Join(s.base, "userlist.txt"), []byte(strings.Join(auth, "")), 0o600); err != nil {
		t.Fatalf("testdb: %v", err)
	}

	pidfile := filepath.Join(s.base, "pgbouncer.pid")
	// No logfile: pgbouncer logs to its standard error, which is the server's log.
	settings := map[string]string{
		"listen_addr":        b.Host,
		"unix_socket_dir":    s.base,
		"auth_type":          "scram-sha-256",
		"auth_file":          filepath.Join(s.base, "userlist.txt"),
		"pool_mode":          opts.PoolMode,
		"max_client_conn":    strconv.Itoa(opts.MaxClientConn),
		"default_pool_size":  strconv.Itoa(opts.DefaultPoolSize),
		"max_db_connections": strconv.Itoa(opts.MaxDBConnections),
		"reserve_pool_size":  "0",
		"server_reset_query": opts.ServerResetQuery,
		"query_wait_timeout": strconv.Itoa(int(opts.QueryWaitTimeout / time.Second)),
		"pidfile":            pidfile,
		// pgx sends none of these today, but other drivers do.
		"ignore_startup_parameters": "extra_float_digits",
	}
	if opts.TLS {
		settings["client_tls_sslmode"] = "require"
		b.CACertPEM = s.useTLS(t, settings, "client_tls_cert_file", "client_tls_key_file")
	}
	// listen_port is written by each start, below.
	cfg := fmt.Sprintf("[databases]\n* = host=%s port=%d\n\n[pgbouncer]\n", backend.Host, backend.Port) +
		strings.Join(render(settings, opts.Settings, func(name, value string) []string {
			if name == "listen_port" {
				return nil
			}
			return []string{name + " = " + value + "\n"}
		}), "")

	ini := filepath.Join(s.base, "pgbouncer.ini")
	s.program = program
	s.port = &b.Port
	// The port is in the configuration: each start writes it.
	s.args = func(port int) ([]string, error) {
		// A stale pidfile would make readiness look immediate.
		_ = os.Remove(pidfile)
		return []string{ini}, s.as.writeFile(ini, []byte(cfg+fmt.Sprintf("listen_port = %d\n", port)), 0o600)
	}
	// Ready once the listening socket accepts a client and pgbouncer can
	// reach the backend. pgbouncer writes its pidfile only after binding.
	s.ready = func() error {
		if _, err := os.Stat(pidfile); err != nil {
			return err
		}
		return pgPing(b.DSN(backend.User, backend.Password, backend.Database), b.TLSConfig())
	}
	s.shutdown = pgbouncerShutdown
	s.launch(t)
	return b
}

// Stop shuts pgbouncer down at once (SIGTERM: immediate shutdown; clients
// lose their connections) and waits for it to exit.
func (b *Pgbouncer) Stop(t testing.TB) {
	t.Helper()
	b.srv.Stop(t)
}

// Start starts a stopped pgbouncer again on the same port.
func (b *Pgbouncer) Start(t testing.TB) {
	t.Helper()
	b.srv.Start(t)
}

// Restart stops pgbouncer and starts it again on the same port, as a
// pooler restart mid-run would.
func (b *Pgbouncer) Restart(t testing.TB) {
	t.Helper()
	b.srv.Restart(t)
}

// DSN returns a URL for the given user and database through pgbouncer.
// It asks for TLS (sslmode=require) when PgbouncerOptions.TLS is set and
// disables it otherwise; callers that verify certificates set their own
// tls.Config from TLSConfig.
func (b *Pgbouncer) DSN(user, password, database string) string {
	mode := "disable"
	if b.CACertPEM != nil {
		mode = "require"
	}
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(user, password),
		Host:     fmt.Sprintf("%s:%d", b.Host, b.Port),
		Path:     "/" + database,
		RawQuery: "sslmode=" + mode,
	}
	return u.String()
}

// RootCAs returns a pool holding the CA that signed pgbouncer's
// certificate, or nil without PgbouncerOptions.TLS.
func (b *Pgbouncer) RootCAs() *x509.CertPool { return rootCAs(b.CACertPEM) }

// TLSConfig returns a client TLS configuration that trusts only the test CA
// and checks the server name against Host, or nil without
// PgbouncerOptions.TLS.
func (b *Pgbouncer) TLSConfig() *tls.Config { return clientTLS(b.CACertPEM, b.Host) }

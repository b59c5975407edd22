package testdb

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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

	bin  string
	base string
	as   runAs
	mu   sync.Mutex
	proc *process
}

// StartPgbouncer starts pgbouncer in front of backend and stops it when the
// test ends. Every database name is routed to backend. It skips the test if
// pgbouncer is not installed (fails it under CI=true).
func StartPgbouncer(t testing.TB, backend *Postgres, opts PgbouncerOptions) *Pgbouncer {
	t.Helper()
	paths := SkipIfMissing(t, "pgbouncer")
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
	as := serviceUser(t)
	base := makeBaseDir(t, "pgbouncer")
	b := &Pgbouncer{Host: "127.0.0.1", Backend: backend, bin: paths[0], base: base, as: as}

	users := map[string]string{backend.User: backend.Password}
	for u, pw := range opts.Users {
		users[u] = pw
	}
	var auth strings.Builder
	for _, u := range sortedKeys(users) {
		fmt.Fprintf(&auth, "%q %q\n", u, users[u])
	}
	if err := as.writeFile(filepath.Join(base, "userlist.txt"), []byte(auth.String()), 0o600); err != nil {
		t.Fatalf("testdb: %v", err)
	}

	settings := map[string]string{
		"listen_addr":        b.Host,
		"unix_socket_dir":    base,
		"auth_type":          "scram-sha-256",
		"auth_file":          filepath.Join(base, "userlist.txt"),
		"pool_mode":          opts.PoolMode,
		"max_client_conn":    strconv.Itoa(opts.MaxClientConn),
		"default_pool_size":  strconv.Itoa(opts.DefaultPoolSize),
		"max_db_connections": strconv.Itoa(opts.MaxDBConnections),
		"reserve_pool_size":  "0",
		"server_reset_query": opts.ServerResetQuery,
		"query_wait_timeout": strconv.Itoa(int(opts.QueryWaitTimeout / time.Second)),
		"pidfile":            filepath.Join(base, "pgbouncer.pid"),
		"logfile":            filepath.Join(base, "pgbouncer.log"),
		// pgx sends none of these today, but other drivers do.
		"ignore_startup_parameters": "extra_float_digits",
	}
	if opts.TLS {
		certs, err := newCertificates()
		if err != nil {
			t.Fatalf("testdb: %v", err)
		}
		crt, key := filepath.Join(base, "server.crt"), filepath.Join(base, "server.key")
		if err := as.writeFile(crt, certs.certPEM, 0o644); err != nil {
			t.Fatalf("testdb: %v", err)
		}
		if err := as.writeFile(key, certs.keyPEM, 0o600); err != nil {
			t.Fatalf("testdb: %v", err)
		}
		settings["client_tls_sslmode"] = "require"
		settings["client_tls_cert_file"] = crt
		settings["client_tls_key_file"] = key
		b.CACertPEM = certs.caPEM
	}
	for k, v := range opts.Settings {
		settings[k] = v
	}

	var cfg strings.Builder
	fmt.Fprintf(&cfg, "[databases]\n* = host=%s port=%d\n\n[pgbouncer]\n", backend.Host, backend.Port)
	for _, k := range sortedKeys(settings) {
		if k == "listen_port" {
			continue
		}
		fmt.Fprintf(&cfg, "%s = %s\n", k, settings[k])
	}
	// listen_port is appended by start, so that a retry with a new port
	// rewrites only that line.
	if err := as.chownAll(base); err != nil {
		t.Fatalf("testdb: chown %s: %v", base, err)
	}

	var err error
	for try := 0; try < 3; try++ {
		b.Port = freePort(t)
		conf := cfg.String() + fmt.Sprintf("listen_port = %d\n", b.Port)
		if err = as.writeFile(filepath.Join(base, "pgbouncer.ini"), []byte(conf), 0o600); err != nil {
			t.Fatalf("testdb: %v", err)
		}
		if err = b.start(); err == nil || !errAddrInUse(filepath.Join(base, "pgbouncer.log")) {
			break
		}
	}
	if err != nil {
		t.Fatalf("testdb: starting pgbouncer: %v\n%s", err, tailFile(filepath.Join(base, "pgbouncer.log"), 40))
	}
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.proc != nil {
			if err := b.proc.stop(syscall.SIGTERM); err != nil {
				t.Logf("testdb: stopping pgbouncer: %v", err)
			}
		}
	})
	return b
}

// start runs pgbouncer and waits until it accepts connections.
func (b *Pgbouncer) start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	cmd := b.as.command(b.base, b.bin, filepath.Join(b.base, "pgbouncer.ini"))
	proc, err := startProcess(cmd, filepath.Join(b.base, "pgbouncer.out"))
	if err != nil {
		return err
	}
	// Ready once the listening socket accepts a client and pgbouncer can
	// reach the backend. pgbouncer writes its pidfile only after binding.
	err = waitReady(proc, func() error {
		if _, err := os.Stat(filepath.Join(b.base, "pgbouncer.pid")); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cfg, err := pgx.ParseConfig(b.DSN(b.Backend.User, b.Backend.Password, b.Backend.Database))
		if err != nil {
			return err
		}
		cfg.TLSConfig = b.TLSConfig()
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return err
		}
		return c.Close(ctx)
	})
	if err != nil {
		_ = proc.stop(syscall.SIGKILL)
		return err
	}
	b.proc = proc
	return nil
}

// Stop shuts pgbouncer down at once (SIGTERM: immediate shutdown; clients
// lose their connections) and waits for it to exit.
func (b *Pgbouncer) Stop(t testing.TB) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.proc == nil {
		return
	}
	if err := b.proc.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("testdb: stopping pgbouncer: %v\n%s", err, tailFile(filepath.Join(b.base, "pgbouncer.log"), 40))
	}
	b.proc = nil
}

// Start starts a stopped pgbouncer again on the same port.
func (b *Pgbouncer) Start(t testing.TB) {
	t.Helper()
	b.mu.Lock()
	running := b.proc != nil
	b.mu.Unlock()
	if running {
		t.Fatalf("testdb: Pgbouncer.Start: %v", "pgbouncer is already running")
	}
	// A stale pidfile would make readiness look immediate.
	_ = os.Remove(filepath.Join(b.base, "pgbouncer.pid"))
	if err := b.start(); err != nil {
		t.Fatalf("testdb: restarting pgbouncer: %v\n%s", err, tailFile(filepath.Join(b.base, "pgbouncer.log"), 40))
	}
}

// Restart stops pgbouncer and starts it again on the same port, as a
// pooler restart mid-run would.
func (b *Pgbouncer) Restart(t testing.TB) {
	t.Helper()
	b.Stop(t)
	b.Start(t)
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

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

package testdb

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// PostgresOptions configures StartPostgres. The zero value starts a server
// with PostgreSQL's defaults for the connection limits and no TLS.
type PostgresOptions struct {
	// MaxConnections is the server's max_connections.
	// Default: 20.
	MaxConnections int

	// SuperuserReservedConnections is superuser_reserved_connections: how
	// many of MaxConnections only superusers may use. Must be below
	// MaxConnections.
	// Default: 3 (PostgreSQL's default).
	SuperuserReservedConnections int

	// Settings are extra server settings, passed as -c name=value; they
	// override the ones StartPostgres sets.
	// Default: none.
	Settings map[string]string

	// SSL turns on TLS (ssl=on) with a certificate signed by a throwaway CA;
	// Postgres.CACertPEM and Postgres.RootCAs give the CA to clients.
	// Default: false.
	SSL bool
}

// Postgres is a running throwaway PostgreSQL server.
type Postgres struct {
	// Host is the address the server listens on: always 127.0.0.1.
	Host string
	// Port is the TCP port.
	Port int
	// User is the superuser's name.
	User string
	// Password is the superuser's password (password authentication over
	// TCP uses SCRAM-SHA-256 unless Settings change password_encryption).
	Password string
	// Database is the database that always exists: "postgres".
	Database string
	// SocketDir holds the server's unix socket.
	SocketDir string
	// DataDir is the server's data directory.
	DataDir string
	// CACertPEM is the PEM certificate of the CA that signed the server's
	// certificate; nil unless PostgresOptions.SSL.
	CACertPEM []byte

	bin     string // directory holding postgres and initdb
	base    string
	args    []string
	as      runAs
	mu      sync.Mutex
	proc    *process
	adminDB *sql.DB
}

// StartPostgres starts a throwaway PostgreSQL server and stops and removes
// it when the test ends. It skips the test if PostgreSQL is not installed
// (fails it under CI=true).
func StartPostgres(t testing.TB, opts PostgresOptions) *Postgres {
	t.Helper()
	// initdb must come from the same installation as postgres.
	bin := filepath.Dir(SkipIfMissing(t, "postgres")[0])
	initdbPath := SkipIfMissing(t, filepath.Join(bin, "initdb"))[0]
	if opts.MaxConnections == 0 {
		opts.MaxConnections = 20
	}
	if opts.SuperuserReservedConnections == 0 {
		opts.SuperuserReservedConnections = 3
	}
	if opts.SuperuserReservedConnections >= opts.MaxConnections {
		t.Fatalf("testdb: PostgresOptions.SuperuserReservedConnections = %d, want below MaxConnections = %d",
			opts.SuperuserReservedConnections, opts.MaxConnections)
	}

	as := serviceUser(t)
	base := makeBaseDir(t, "pg")
	p := &Postgres{
		Host:      "127.0.0.1",
		User:      "postgres",
		Password:  randomPassword(t),
		Database:  "postgres",
		SocketDir: filepath.Join(base, "sock"),
		DataDir:   filepath.Join(base, "data"),
		bin:       bin,
		base:      base,
		as:        as,
	}
	if err := os.Mkdir(p.SocketDir, 0o700); err != nil {
		t.Fatalf("testdb: %v", err)
	}
	// --no-sync: a throwaway cluster need not survive a power cut, and
	// skipping fsync saves most of initdb's time.
	initdbArgs := []string{"-U", p.User, "--auth-local=trust", "--auth-host=scram-sha-256",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"}
	tmpl, err := templateDir(initdbPath, initdbArgs, as, func(dir string) error {
		// The superuser's password is the template's; each server gets a new one below.
		if err := as.writeFile(filepath.Join(dir, "pwfile"), []byte(randomPassword(t)+"\n"), 0o600); err != nil {
			return err
		}
		initdb := as.command(dir, initdbPath, append([]string{"-D", filepath.Join(dir, "data"),
			"--pwfile", filepath.Join(dir, "pwfile")}, initdbArgs...)...)
		if out, err := initdb.CombinedOutput(); err != nil {
			return fmt.Errorf("initdb: %v\n%s", err, out)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	if err := copyData(tmpl, p.DataDir); err != nil {
		t.Fatalf("testdb: %v", err)
	}
	if err := as.chownAll(base); err != nil {
		t.Fatalf("testdb: chown %s: %v", base, err)
	}
	templatePassword, err := os.ReadFile(filepath.Join(tmpl, "pwfile"))
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	newPassword := p.Password
	p.Password = strings.TrimSpace(string(templatePassword))

	settings := map[string]string{
		"listen_addresses":               p.Host,
		"unix_socket_directories":        p.SocketDir,
		"max_connections":                strconv.Itoa(opts.MaxConnections),
		"superuser_reserved_connections": strconv.Itoa(opts.SuperuserReservedConnections),
		"fsync":                          "off",
		"synchronous_commit":             "off",
		"full_page_writes":               "off",
		"wal_level":                      "minimal",
		"max_wal_senders":                "0",
		"autovacuum":                     "off",
		"shared_buffers":                 "16MB",
		"log_min_messages":               "warning",
		"logging_collector":              "off",
	}
	if opts.SSL {
		certs, err := newCertificates()
		if err != nil {
			t.Fatalf("testdb: %v", err)
		}
		// PostgreSQL refuses a key file readable by others: 0600, owned by
		// the server's user.
		crt, key := filepath.Join(base, "server.crt"), filepath.Join(base, "server.key")
		if err := as.writeFile(crt, certs.certPEM, 0o644); err != nil {
			t.Fatalf("testdb: %v", err)
		}
		if err := as.writeFile(key, certs.keyPEM, 0o600); err != nil {
			t.Fatalf("testdb: %v", err)
		}
		settings["ssl"] = "on"
		settings["ssl_cert_file"] = crt
		settings["ssl_key_file"] = key
		p.CACertPEM = certs.caPEM
	}
	for k, v := range opts.Settings {
		settings[k] = v
	}
	names := make([]string, 0, len(settings))
	for k := range settings {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		p.args = append(p.args, "-c", k+"="+settings[k])
	}

	// The port is chosen before the server binds it; if another process
	// takes it in between, try again with a new one.
	for try := 0; try < 3; try++ {
		p.Port = freePort(t)
		if err = p.start(); err == nil || !errAddrInUse(filepath.Join(base, "postgres.log")) {
			break
		}
	}
	if err != nil {
		t.Fatalf("testdb: starting PostgreSQL: %v\n%s", err, tailFile(filepath.Join(base, "postgres.log"), 40))
	}
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.adminDB != nil {
			p.adminDB.Close()
		}
		if p.proc != nil {
			// Immediate shutdown: the data is about to be deleted anyway.
			if err := p.proc.stop(syscall.SIGQUIT); err != nil {
				t.Logf("testdb: stopping PostgreSQL: %v", err)
			}
		}
	})
	// A password of this server's own, not the template's.
	p.Exec(t, "ALTER ROLE "+pgx.Identifier{p.User}.Sanitize()+" PASSWORD "+quoteLiteral(newPassword))
	p.mu.Lock()
	p.adminDB.Close()
	p.adminDB = nil
	p.mu.Unlock()
	p.Password = newPassword
	return p
}

// start runs the postmaster and waits until it accepts connections.
func (p *Postgres) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	args := append([]string{"-D", p.DataDir, "-p", strconv.Itoa(p.Port)}, p.args...)
	cmd := p.as.command(p.base, filepath.Join(p.bin, "postgres"), args...)
	proc, err := startProcess(cmd, filepath.Join(p.base, "postgres.log"))
	if err != nil {
		return err
	}
	err = waitReady(proc, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, p.DSN())
		if err != nil {
			return err
		}
		return c.Close(ctx)
	})
	if err != nil {
		_ = proc.stop(syscall.SIGQUIT)
		return err
	}
	p.proc = proc
	return nil
}

// Stop shuts the server down (fast shutdown: sessions are terminated with
// SQLSTATE 57P01) and waits for it to exit. Start brings it back.
func (p *Postgres) Stop(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.adminDB != nil {
		p.adminDB.Close()
		p.adminDB = nil
	}
	if p.proc == nil {
		return
	}
	if err := p.proc.stop(syscall.SIGINT); err != nil {
		t.Fatalf("testdb: stopping PostgreSQL: %v\n%s", err, p.proc.logTail())
	}
	p.proc = nil
}

// Start starts a stopped server again on the same port and waits until it
// accepts connections.
func (p *Postgres) Start(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	running := p.proc != nil
	p.mu.Unlock()
	if running {
		t.Fatalf("testdb: Postgres.Start: %v", "server is already running")
	}
	if err := p.start(); err != nil {
		t.Fatalf("testdb: restarting PostgreSQL: %v\n%s", err, tailFile(filepath.Join(p.base, "postgres.log"), 40))
	}
}

// Restart stops the server and starts it again on the same port.
func (p *Postgres) Restart(t testing.TB) {
	t.Helper()
	p.Stop(t)
	p.Start(t)
}

// DSN returns a URL for the superuser over TCP without TLS.
func (p *Postgres) DSN() string {
	return p.UserDSN(p.User, p.Password, p.Database)
}

// UserDSN returns a URL for the given user and database over TCP without
// TLS.
func (p *Postgres) UserDSN(user, password, database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(user, password),
		Host:     fmt.Sprintf("%s:%d", p.Host, p.Port),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// DB returns a database/sql handle for the superuser, shared by every
// caller and closed when the test ends. It holds at most two connections,
// both from the superuser-reserved slots when the ordinary ones run out.
func (p *Postgres) DB(t testing.TB) *sql.DB {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc == nil {
		t.Fatalf("testdb: Postgres.DB: %v", errNotStarted)
	}
	if p.adminDB == nil {
		db, err := sql.Open("pgx", p.DSN())
		if err != nil {
			t.Fatalf("testdb: %v", err)
		}
		db.SetMaxOpenConns(2)
		db.SetMaxIdleConns(1)
		p.adminDB = db
	}
	return p.adminDB
}

// Conn opens a pgx connection as the superuser, closed when the test ends.
func (p *Postgres) Conn(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, p.DSN())
	if err != nil {
		t.Fatalf("testdb: connecting to PostgreSQL: %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// Exec runs a statement as the superuser and fails the test on error.
func (p *Postgres) Exec(t testing.TB, query string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := p.DB(t).ExecContext(ctx, query, args...); err != nil {
		t.Fatalf("testdb: %s: %v", query, err)
	}
}

// CreateUser creates a login role with a password.
func (p *Postgres) CreateUser(t testing.TB, name, password string) {
	t.Helper()
	p.Exec(t, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD %s",
		pgx.Identifier{name}.Sanitize(), quoteLiteral(password)))
}

// CreateDatabase creates a database owned by owner, who may then create
// tables in its public schema.
func (p *Postgres) CreateDatabase(t testing.TB, name, owner string) {
	t.Helper()
	p.Exec(t, fmt.Sprintf("CREATE DATABASE %s OWNER %s",
		pgx.Identifier{name}.Sanitize(), pgx.Identifier{owner}.Sanitize()))
}

// RootCAs returns a pool holding the CA that signed the server certificate,
// or nil without PostgresOptions.SSL.
func (p *Postgres) RootCAs() *x509.CertPool { return rootCAs(p.CACertPEM) }

// TLSConfig returns a client TLS configuration that trusts only the test CA
// and checks the server name against Host, or nil without
// PostgresOptions.SSL.
func (p *Postgres) TLSConfig() *tls.Config { return clientTLS(p.CACertPEM, p.Host) }

// Version returns the output of postgres --version.
func (p *Postgres) Version(t testing.TB) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(p.bin, "postgres"), "--version").Output()
	if err != nil {
		t.Fatalf("testdb: postgres --version: %v", err)
	}
	return string(out)
}

// quoteLiteral quotes s as an SQL string literal.
func quoteLiteral(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}

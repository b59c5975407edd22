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
	"strconv"
	"strings"
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

	// Replication makes the server a primary that StartReplica can copy and
	// stream from: wal_level replica and max_wal_senders 10 (PostgreSQL's
	// defaults, where testdb otherwise writes minimal WAL), and a role that
	// may log in for replication and do nothing else. initdb's pg_hba.conf
	// already admits replication connections from loopback with a password.
	// Default: false.
	Replication bool
}

// Postgres is a running throwaway PostgreSQL server: a primary that
// StartPostgres started, or a streaming replica of one from StartReplica.
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

	*server
	bin string // directory holding postgres, initdb and pg_basebackup
	// replication is the password of replicationRole; "" unless the server was
	// started with PostgresOptions.Replication.
	replication string
	replicas    int // replicas started from this server, which name their slots
}

// StartPostgres starts a throwaway PostgreSQL server and stops and removes
// it when the test ends. It skips the test if PostgreSQL is not installed
// (fails it under CI=true).
func StartPostgres(t testing.TB, opts PostgresOptions) *Postgres {
	t.Helper()
	// initdb must come from the same installation as postgres.
	bin := filepath.Dir(SkipIfMissing(t, "postgres")[0])
	initdbPath := SkipIfMissing(t, filepath.Join(bin, "initdb"))[0]
	opts = opts.withDefaults(t)
	p := newPostgres(t, bin)
	// --no-sync: a throwaway cluster need not survive a power cut, and
	// skipping fsync saves most of initdb's time.
	initdbArgs := []string{"-U", p.User, "--auth-local=trust", "--auth-host=scram-sha-256",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"}
	tmpl, err := p.copyTemplate(initdbPath, initdbArgs, func(dir string) error {
		// The superuser's password is the template's; each server gets a new one below.
		if err := p.as.writeFile(filepath.Join(dir, "pwfile"), []byte(randomPassword(t)+"\n"), 0o600); err != nil {
			return err
		}
		initdb := p.as.command(dir, initdbPath, append([]string{"-D", filepath.Join(dir, "data"),
			"--pwfile", filepath.Join(dir, "pwfile")}, initdbArgs...)...)
		if out, err := initdb.CombinedOutput(); err != nil {
			return fmt.Errorf("initdb: %v\n%s", err, out)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	templatePassword, err := os.ReadFile(filepath.Join(tmpl, "pwfile"))
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	p.Password = strings.TrimSpace(string(templatePassword))
	p.run(t, p.settings(t, opts), opts.Settings)

	// A password of this server's own, not the template's.
	password := randomPassword(t)
	p.Exec(t, "ALTER ROLE "+pgx.Identifier{p.User}.Sanitize()+" PASSWORD "+quoteLiteral(password))
	if opts.Replication {
		p.replication = randomPassword(t)
		p.Exec(t, "CREATE ROLE "+replicationRole+" LOGIN REPLICATION PASSWORD "+quoteLiteral(p.replication))
	}
	p.closeDB()
	p.Password = password
	return p
}

// withDefaults returns opts with its defaults, and fails the test on values
// PostgreSQL would refuse.
func (opts PostgresOptions) withDefaults(t testing.TB) PostgresOptions {
	t.Helper()
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
	return opts
}

// newPostgres makes the directories of a PostgreSQL server run from bin, which is not
// yet started and has no data directory.
func newPostgres(t testing.TB, bin string) *Postgres {
	t.Helper()
	s := newServer(t, "PostgreSQL", "pg", serviceUser(t))
	p := &Postgres{
		Host:      "127.0.0.1",
		User:      "postgres",
		Database:  "postgres",
		SocketDir: filepath.Join(s.base, "sock"),
		DataDir:   filepath.Join(s.base, "data"),
		server:    s,
		bin:       bin,
	}
	if err := os.Mkdir(p.SocketDir, 0o700); err != nil {
		t.Fatalf("testdb: %v", err)
	}
	return p
}

// settings returns the server settings for opts, before opts.Settings: what makes a
// small server start fast, at the expense of durability, and TLS with opts.SSL.
func (p *Postgres) settings(t testing.TB, opts PostgresOptions) map[string]string {
	t.Helper()
	// Minimal WAL is the fastest to write; streaming it to a replica takes more.
	walLevel, walSenders := "minimal", "0"
	if opts.Replication {
		walLevel, walSenders = "replica", "10"
	}
	settings := map[string]string{
		"listen_addresses":               p.Host,
		"unix_socket_directories":        p.SocketDir,
		"max_connections":                strconv.Itoa(opts.MaxConnections),
		"superuser_reserved_connections": strconv.Itoa(opts.SuperuserReservedConnections),
		"fsync":                          "off",
		"synchronous_commit":             "off",
		"full_page_writes":               "off",
		"wal_level":                      walLevel,
		"max_wal_senders":                walSenders,
		"autovacuum":                     "off",
		"shared_buffers":                 "16MB",
		"log_min_messages":               "warning",
		"logging_collector":              "off",
	}
	if opts.SSL {
		settings["ssl"] = "on"
		p.CACertPEM = p.useTLS(t, settings, "ssl_cert_file", "ssl_key_file")
	}
	return settings
}

// run starts the server on its data directory with settings and overrides on top,
// passed as -c name=value.
func (p *Postgres) run(t testing.TB, settings, overrides map[string]string) {
	t.Helper()
	flags := render(settings, overrides, func(name, value string) []string {
		return []string{"-c", name + "=" + value}
	})
	p.program = filepath.Join(p.bin, "postgres")
	p.port = &p.Port
	p.args = func(port int) ([]string, error) {
		return append([]string{"-D", p.DataDir, "-p", strconv.Itoa(port)}, flags...), nil
	}
	p.ready = func() error { return pgPing(p.DSN(), nil) }
	p.shutdown = postgresShutdown
	p.openDB = func() (*sql.DB, error) { return openAdmin("pgx", p.DSN(), 2) }
	p.launch(t)
}

// pgPing connects once to a PostgreSQL server or a pooler in front of one, with
// tlsConfig when it is not nil.
func pgPing(dsn string, tlsConfig *tls.Config) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return err
	}
	if tlsConfig != nil {
		cfg.TLSConfig = tlsConfig
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	return c.Close(ctx)
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

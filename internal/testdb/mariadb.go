package testdb

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// MariaDBOptions configures StartMariaDB. The zero value starts a server
// without TLS and with 20 connections.
type MariaDBOptions struct {
	// MaxConnections is the server's max_connections. MariaDB admits one
	// connection more for a user with the SUPER privilege, so MariaDB.DB
	// still works when ordinary users have taken every slot. MariaDB's
	// minimum is 10.
	// Default: 20.
	MaxConnections int

	// Settings are extra server options, passed as --name=value; they
	// override the ones StartMariaDB sets.
	// Default: none.
	Settings map[string]string

	// SSL turns on TLS with a certificate signed by a throwaway CA;
	// MariaDB.CACertPEM and MariaDB.RootCAs give the CA to clients.
	// Default: false.
	SSL bool
}

// MariaDB is a running throwaway MariaDB server.
type MariaDB struct {
	// Host is the address the server listens on: always 127.0.0.1.
	Host string
	// Port is the TCP port.
	Port int
	// User is the administrator's name: "root" (as root@127.0.0.1).
	User string
	// Password is the administrator's password.
	Password string
	// Socket is the path of the server's unix socket.
	Socket string
	// DataDir is the server's data directory.
	DataDir string
	// CACertPEM is the PEM certificate of the CA that signed the server's
	// certificate; nil unless MariaDBOptions.SSL.
	CACertPEM []byte

	*server
}

// StartMariaDB starts a throwaway MariaDB server and stops and removes it
// when the test ends. It skips the test if MariaDB is not installed (fails
// it under CI=true).
func StartMariaDB(t testing.TB, opts MariaDBOptions) *MariaDB {
	t.Helper()
	paths := SkipIfMissing(t, "mariadb-install-db", "mariadbd")
	if opts.MaxConnections == 0 {
		opts.MaxConnections = 20
	}
	if opts.MaxConnections < 10 {
		// MariaDB would silently raise it to 10.
		t.Fatalf("testdb: MariaDBOptions.MaxConnections = %d, want at least 10 (MariaDB's minimum)", opts.MaxConnections)
	}
	// mariadbd runs as the current user, root too (--user=root below).
	s := newServer(t, "MariaDB", "mariadb", runAs{})
	m := &MariaDB{
		Host:    "127.0.0.1",
		User:    "root",
		Socket:  filepath.Join(s.base, "mariadb.sock"),
		DataDir: filepath.Join(s.base, "data"),
		server:  s,
	}
	tmp := filepath.Join(s.base, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatalf("testdb: %v", err)
	}

	// Options shared by mariadb-install-db (which passes them on to its
	// bootstrap server) and mariadbd, so that the files it creates fit
	// the server. Small buffers and no flushing: start-up speed over
	// durability.
	engine := []string{
		"--innodb-buffer-pool-size=32M",
		"--innodb-log-file-size=8M",
		"--innodb-flush-log-at-trx-commit=0",
		"--innodb-doublewrite=0",
		"--skip-log-bin",
	}
	// mariadbd refuses to run as root unless told so explicitly.
	if os.Geteuid() == 0 {
		engine = append(engine, "--user=root")
	}
	dirs := func(data, tmp string) []string {
		// --no-defaults must come first: ignore /etc/mysql.
		return []string{"--no-defaults", "--datadir=" + data, "--tmpdir=" + tmp}
	}
	_, err := m.copyTemplate(paths[0], engine, func(dir string) error {
		tmp := filepath.Join(dir, "tmp")
		if err := os.Mkdir(tmp, 0o700); err != nil {
			return err
		}
		install := runAs{}.command(dir, paths[0], append(append(dirs(filepath.Join(dir, "data"), tmp), engine...),
			"--auth-root-authentication-method=normal", "--skip-test-db")...)
		if out, err := install.CombinedOutput(); err != nil {
			return fmt.Errorf("mariadb-install-db: %v\n%s", err, out)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}

	// No log-error: mariadbd logs to its standard error, which is the server's log.
	settings := map[string]string{
		"socket":          m.Socket,
		"bind-address":    m.Host,
		"max-connections": strconv.Itoa(opts.MaxConnections),
		"pid-file":        filepath.Join(s.base, "mariadbd.pid"),
		// Accounts are matched by address; no DNS look-ups.
		"skip-name-resolve": "",
	}
	if opts.SSL {
		m.CACertPEM = m.useTLS(t, settings, "ssl-cert", "ssl-key")
	}
	flags := render(settings, opts.Settings, func(name, value string) []string {
		if value == "" {
			return []string{"--" + name}
		}
		return []string{"--" + name + "=" + value}
	})

	m.program = paths[1]
	m.port = &m.Port
	m.args = func(port int) ([]string, error) {
		return append(append(append(dirs(m.DataDir, tmp), engine...), flags...), "--port="+strconv.Itoa(port)), nil
	}
	m.ready = func() error {
		db, err := sql.Open("mysql", m.DSN())
		if err != nil {
			return err
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return db.PingContext(ctx)
	}
	m.shutdown = mariadbShutdown
	m.openDB = func() (*sql.DB, error) {
		// One connection: MariaDB keeps exactly one extra slot for SUPER.
		return openAdmin("mysql", m.DSN(), 1)
	}
	m.launch(t)

	// mariadb-install-db leaves root without a password; give it one now
	// that the server is up.
	password := randomPassword(t)
	m.Exec(t, "SET PASSWORD = PASSWORD("+quoteLiteral(password)+")")
	m.closeDB()
	m.Password = password
	return m
}

// DSN returns a go-sql-driver/mysql DSN for the administrator over TCP
// without TLS and with no default database.
func (m *MariaDB) DSN() string {
	return m.UserDSN(m.User, m.Password, "")
}

// UserDSN returns a go-sql-driver/mysql DSN for the given user and database
// over TCP without TLS.
func (m *MariaDB) UserDSN(user, password, database string) string {
	cfg := mysql.NewConfig()
	cfg.User = user
	cfg.Passwd = password
	cfg.Net = "tcp"
	cfg.Addr = fmt.Sprintf("%s:%d", m.Host, m.Port)
	cfg.DBName = database
	cfg.ParseTime = true
	cfg.Timeout = 5 * time.Second
	return cfg.FormatDSN()
}

// CreateUser creates a user that may log in from any host with a password.
func (m *MariaDB) CreateUser(t testing.TB, name, password string) {
	t.Helper()
	m.Exec(t, fmt.Sprintf("CREATE USER %s@'%%' IDENTIFIED BY %s", quoteMySQLIdent(name), quoteLiteral(password)))
}

// CreateDatabase creates a database and grants owner every privilege on it.
func (m *MariaDB) CreateDatabase(t testing.TB, name, owner string) {
	t.Helper()
	m.Exec(t, "CREATE DATABASE "+quoteMySQLIdent(name))
	m.Exec(t, fmt.Sprintf("GRANT ALL PRIVILEGES ON %s.* TO %s@'%%'", quoteMySQLIdent(name), quoteMySQLIdent(owner)))
}

// RootCAs returns a pool holding the CA that signed the server certificate,
// or nil without MariaDBOptions.SSL.
func (m *MariaDB) RootCAs() *x509.CertPool { return rootCAs(m.CACertPEM) }

// TLSConfig returns a client TLS configuration that trusts only the test CA
// and checks the server name against Host, or nil without
// MariaDBOptions.SSL.
func (m *MariaDB) TLSConfig() *tls.Config { return clientTLS(m.CACertPEM, m.Host) }

// quoteMySQLIdent quotes s as a MySQL identifier.
func quoteMySQLIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

package testdb

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
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

	bin     string
	base    string
	args    []string
	mu      sync.Mutex
	proc    *process
	adminDB *sql.DB
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
	base := makeBaseDir(t, "mariadb")
	m := &MariaDB{
		Host:    "127.0.0.1",
		User:    "root",
		Socket:  filepath.Join(base, "mariadb.sock"),
		DataDir: filepath.Join(base, "data"),
		bin:     paths[1],
		base:    base,
	}
	tmp := filepath.Join(base, "tmp")
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
	tmpl, err := templateDir(paths[0], engine, runAs{}, func(dir string) error {
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
	if err := copyData(tmpl, m.DataDir); err != nil {
		t.Fatalf("testdb: %v", err)
	}
	common := append(dirs(m.DataDir, tmp), engine...)

	settings := map[string]string{
		"socket":          m.Socket,
		"bind-address":    m.Host,
		"max-connections": strconv.Itoa(opts.MaxConnections),
		"pid-file":        filepath.Join(base, "mariadbd.pid"),
		"log-error":       filepath.Join(base, "mariadbd.log"),
		// Accounts are matched by address; no DNS look-ups.
		"skip-name-resolve": "",
	}
	if opts.SSL {
		certs, err := newCertificates()
		if err != nil {
			t.Fatalf("testdb: %v", err)
		}
		crt, key := filepath.Join(base, "server.crt"), filepath.Join(base, "server.key")
		if err := os.WriteFile(crt, certs.certPEM, 0o644); err != nil {
			t.Fatalf("testdb: %v", err)
		}
		if err := os.WriteFile(key, certs.keyPEM, 0o600); err != nil {
			t.Fatalf("testdb: %v", err)
		}
		settings["ssl-cert"] = crt
		settings["ssl-key"] = key
		m.CACertPEM = certs.caPEM
	}
	for k, v := range opts.Settings {
		settings[k] = v
	}
	names := make([]string, 0, len(settings))
	for k := range settings {
		names = append(names, k)
	}
	sort.Strings(names)
	m.args = common
	for _, k := range names {
		if settings[k] == "" {
			m.args = append(m.args, "--"+k)
		} else {
			m.args = append(m.args, "--"+k+"="+settings[k])
		}
	}

	for try := 0; try < 3; try++ {
		m.Port = freePort(t)
		if err = m.start(); err == nil || !errAddrInUse(filepath.Join(base, "mariadbd.log")) {
			break
		}
	}
	if err != nil {
		t.Fatalf("testdb: starting MariaDB: %v\n%s", err, tailFile(filepath.Join(base, "mariadbd.log"), 40))
	}
	t.Cleanup(func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.adminDB != nil {
			m.adminDB.Close()
		}
		if m.proc != nil {
			// SIGKILL: the data is about to be deleted, and a clean
			// InnoDB shutdown only costs time.
			if err := m.proc.stop(syscall.SIGKILL); err != nil {
				t.Logf("testdb: stopping MariaDB: %v", err)
			}
		}
	})

	// mariadb-install-db leaves root without a password; give it one now
	// that the server is up.
	password := randomPassword(t)
	m.Exec(t, "SET PASSWORD = PASSWORD("+quoteLiteral(password)+")")
	m.closeAdmin()
	m.Password = password
	return m
}

// start runs mariadbd and waits until it accepts connections.
func (m *MariaDB) start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cmd := runAs{}.command(m.base, m.bin, append(m.args, "--port="+strconv.Itoa(m.Port))...)
	proc, err := startProcess(cmd, filepath.Join(m.base, "mariadbd.out"))
	if err != nil {
		return err
	}
	err = waitReady(proc, func() error {
		db, err := sql.Open("mysql", m.DSN())
		if err != nil {
			return err
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return db.PingContext(ctx)
	})
	if err != nil {
		_ = proc.stop(syscall.SIGKILL)
		return err
	}
	m.proc = proc
	return nil
}

// Stop shuts the server down cleanly and waits for it to exit. Start
// brings it back.
func (m *MariaDB) Stop(t testing.TB) {
	t.Helper()
	m.closeAdmin()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc == nil {
		return
	}
	if err := m.proc.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("testdb: stopping MariaDB: %v\n%s", err, tailFile(filepath.Join(m.base, "mariadbd.log"), 40))
	}
	m.proc = nil
}

// Start starts a stopped server again on the same port.
func (m *MariaDB) Start(t testing.TB) {
	t.Helper()
	m.mu.Lock()
	running := m.proc != nil
	m.mu.Unlock()
	if running {
		t.Fatalf("testdb: MariaDB.Start: %v", "server is already running")
	}
	if err := m.start(); err != nil {
		t.Fatalf("testdb: restarting MariaDB: %v\n%s", err, tailFile(filepath.Join(m.base, "mariadbd.log"), 40))
	}
}

// Restart stops the server and starts it again on the same port.
func (m *MariaDB) Restart(t testing.TB) {
	t.Helper()
	m.Stop(t)
	m.Start(t)
}

func (m *MariaDB) closeAdmin() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.adminDB != nil {
		m.adminDB.Close()
		m.adminDB = nil
	}
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

// DB returns a database/sql handle for the administrator, shared by every
// caller and closed when the test ends. It holds at most one connection.
func (m *MariaDB) DB(t testing.TB) *sql.DB {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc == nil {
		t.Fatalf("testdb: MariaDB.DB: %v", errNotStarted)
	}
	if m.adminDB == nil {
		db, err := sql.Open("mysql", m.DSN())
		if err != nil {
			t.Fatalf("testdb: %v", err)
		}
		// One connection: MariaDB keeps exactly one extra slot for SUPER.
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		m.adminDB = db
	}
	return m.adminDB
}

// Exec runs a statement as the administrator and fails the test on error.
func (m *MariaDB) Exec(t testing.TB, query string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := m.DB(t).ExecContext(ctx, query, args...); err != nil {
		t.Fatalf("testdb: %s: %v", query, err)
	}
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

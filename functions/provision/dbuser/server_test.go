package dbuser

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/lambdards/lambdards/internal/testdb"

	"github.com/lambdards/lambdards/dbspec"
)

// testPassword is the Options.Password every test user gets.
const testPassword = "local-test-password"

// server is a throwaway database server set up as RDS sets one up: the
// tests provision as a master user that is not a superuser.
type server struct {
	engine dbspec.Engine
	pg     *testdb.Postgres
	my     *testdb.MariaDB
	// master and masterPassword log in as the master user.
	master, masterPassword string
	next                   atomic.Int64
}

// startPostgres starts PostgreSQL with a master user shaped like RDS's:
// LOGIN CREATEROLE CREATEDB but no superuser, so that the plans are tested
// without the superuser's shortcuts; and a NOLOGIN role rds_iam standing in
// for RDS's.
func startPostgres(t *testing.T) *server {
	t.Helper()
	pg := testdb.StartPostgres(t, testdb.PostgresOptions{MaxConnections: 60})
	s := &server{engine: dbspec.Postgres, pg: pg, master: "master", masterPassword: "master-password"}
	pg.Exec(t, "CREATE ROLE master LOGIN CREATEROLE CREATEDB PASSWORD 'master-password'")
	pg.Exec(t, "CREATE ROLE rds_iam NOLOGIN")
	return s
}

// startMariaDB starts MariaDB with TLS (lambdards users REQUIRE SSL) and a
// master user with the privileges RDS gives its master user on MySQL
// (Amazon RDS User Guide, "Master user account privileges"): no SUPER.
func startMariaDB(t *testing.T) *server {
	t.Helper()
	m := testdb.StartMariaDB(t, testdb.MariaDBOptions{SSL: true, MaxConnections: 60})
	s := &server{engine: dbspec.MySQL, my: m, master: "master", masterPassword: "master-password"}
	m.CreateUser(t, "master", "master-password")
	m.Exec(t, "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD, PROCESS, REFERENCES, INDEX, ALTER, "+
		"SHOW DATABASES, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, REPLICATION SLAVE, REPLICATION CLIENT, "+
		"CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, CREATE USER, EVENT, TRIGGER "+
		"ON *.* TO master@'%' WITH GRANT OPTION")
	return s
}

// name returns a name no other test uses: users are server-wide.
func (s *server) name(label string) string {
	return fmt.Sprintf("t%d_%s", s.next.Add(1), label)
}

// newDatabase creates a database as the master user and returns its name
// and a master connection to it.
func (s *server) newDatabase(t *testing.T) (string, *sql.DB) {
	t.Helper()
	name := s.name("db")
	if s.engine == dbspec.Postgres {
		// CREATE DATABASE runs outside a transaction, on a connection
		// to the database that always exists.
		s.masterExec(t, s.open(t, s.master, s.masterPassword, s.pg.Database), "CREATE DATABASE "+name)
	} else {
		s.masterExec(t, s.open(t, s.master, s.masterPassword, ""), "CREATE DATABASE "+name)
	}
	return name, s.open(t, s.master, s.masterPassword, name)
}

// open opens a connection pool for user, closed when the test ends. On
// MariaDB it uses TLS, which lambdards users require.
func (s *server) open(t *testing.T, user, password, database string) *sql.DB {
	t.Helper()
	var db *sql.DB
	if s.engine == dbspec.Postgres {
		cfg, err := pgx.ParseConfig(s.pg.UserDSN(user, password, database))
		if err != nil {
			t.Fatal(err)
		}
		db = stdlib.OpenDB(*cfg)
	} else {
		cfg, err := mysql.ParseDSN(s.my.UserDSN(user, password, database))
		if err != nil {
			t.Fatal(err)
		}
		cfg.TLS = s.my.TLSConfig()
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			t.Fatal(err)
		}
		db = sql.OpenDB(conn)
	}
	db.SetMaxOpenConns(2)
	t.Cleanup(func() { db.Close() })
	return db
}

// login opens a fresh pool as a provisioned user. Fresh, because MySQL
// applies changed database-level privileges to a session only at its next
// USE.
func (s *server) login(t *testing.T, database, user string) *sql.DB {
	t.Helper()
	return s.open(t, user, testPassword, database)
}

func (s *server) masterExec(t *testing.T, db *sql.DB, query string) {
	t.Helper()
	if _, err := db.ExecContext(testContext(t), query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// createTable creates a table with a generated id and a text column.
func (s *server) createTable(t *testing.T, db *sql.DB, table string) {
	t.Helper()
	if err := run(testContext(t), db, s.createTableSQL(table)); err != nil {
		t.Fatalf("creating table %s: %v", table, err)
	}
}

func (s *server) createTableSQL(table string) string {
	if s.engine == dbspec.Postgres {
		return "CREATE TABLE " + table + " (id serial PRIMARY KEY, v text)"
	}
	return "CREATE TABLE " + table + " (id BIGINT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(50))"
}

// userExists reports whether a user called name exists on the server.
func (s *server) userExists(t *testing.T, master *sql.DB, name string) bool {
	t.Helper()
	q := "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)"
	if s.engine == dbspec.MySQL {
		q = "SELECT EXISTS (SELECT 1 FROM mysql.user WHERE User = ?)"
	}
	var exists bool
	if err := master.QueryRowContext(testContext(t), q, name).Scan(&exists); err != nil {
		t.Fatalf("looking up user %s: %v", name, err)
	}
	return exists
}

// apply applies u with password authentication, so that tests can log in
// as it.
func (s *server) apply(t *testing.T, master *sql.DB, database string, u dbspec.User) {
	t.Helper()
	if err := Apply(testContext(t), master, s.engine, database, u, &Options{Password: testPassword}); err != nil {
		t.Fatalf("Apply(%+v) = %v", u, err)
	}
}

// localIAMPlugin stands in for AWSAuthenticationPlugin on MariaDB, which
// has no such plugin: one it has, that refuses a password over TCP.
const localIAMPlugin = "unix_socket"

// applyIAM applies u with IAM authentication, as against RDS: on
// PostgreSQL through the stand-in rds_iam role, on MariaDB with
// localIAMPlugin.
func (s *server) applyIAM(t *testing.T, master *sql.DB, database string, u dbspec.User) {
	t.Helper()
	if err := Apply(testContext(t), master, s.engine, database, u, &Options{mysqlIAMPlugin: localIAMPlugin}); err != nil {
		t.Fatalf("Apply(%+v) for IAM = %v", u, err)
	}
}

// authentication describes how the server would authenticate user name:
// on PostgreSQL whether it is in rds_iam and how its password is stored
// (pg_authid is readable by the superuser only); on MySQL its plugin.
func (s *server) authentication(t *testing.T, master *sql.DB, name string) string {
	t.Helper()
	ctx := testContext(t)
	if s.engine == dbspec.MySQL {
		var plugin string
		if err := master.QueryRowContext(ctx, "SELECT plugin FROM mysql.user WHERE User = ? AND Host = '%'", name).Scan(&plugin); err != nil {
			t.Fatalf("looking up the plugin of %s: %v", name, err)
		}
		return "plugin " + plugin
	}
	var iam bool
	if err := master.QueryRowContext(ctx, "SELECT pg_has_role($1, 'rds_iam', 'MEMBER')", name).Scan(&iam); err != nil {
		t.Fatalf("pg_has_role(%s, rds_iam): %v", name, err)
	}
	var stored string
	err := s.pg.DB(t).QueryRowContext(ctx, `SELECT CASE WHEN rolpassword IS NULL THEN 'no password'
		ELSE split_part(rolpassword, '$', 1) END FROM pg_authid WHERE rolname = $1`, name).Scan(&stored)
	if err != nil {
		t.Fatalf("reading pg_authid of %s: %v", name, err)
	}
	return fmt.Sprintf("rds_iam %t, %s", iam, stored)
}

// iamAuth and passwordAuth are what authentication returns for a user of
// IAM and of password authentication.
func (s *server) iamAuth() string {
	if s.engine == dbspec.MySQL {
		return "plugin " + localIAMPlugin
	}
	return "rds_iam true, no password"
}

func (s *server) passwordAuth() string {
	if s.engine == dbspec.MySQL {
		return "plugin mysql_native_password" // MariaDB's for IDENTIFIED BY
	}
	return "rds_iam false, SCRAM-SHA-256"
}

// caps is what a user could do to one table.
type caps struct {
	Select, Insert, Update, Delete bool
	// Create is whether it could create a table in the schema.
	Create bool
}

func (c caps) String() string {
	var on []string
	for _, f := range []struct {
		name string
		ok   bool
	}{{"SELECT", c.Select}, {"INSERT", c.Insert}, {"UPDATE", c.Update}, {"DELETE", c.Delete}, {"CREATE", c.Create}} {
		if f.ok {
			on = append(on, f.name)
		}
	}
	if len(on) == 0 {
		return "{nothing}"
	}
	return "{" + strings.Join(on, " ") + "}"
}

var (
	capsNone  = caps{}
	capsRead  = caps{Select: true}
	capsWrite = caps{Select: true, Insert: true, Update: true, Delete: true}
	capsDDL   = caps{Select: true, Insert: true, Update: true, Delete: true, Create: true}
)

// probe tries each kind of access on table as the user of db. Denials are
// told from other failures by their error codes; any other failure fails
// the test. Rows it inserts are deleted again when it can.
func (s *server) probe(t *testing.T, db *sql.DB, table string) caps {
	t.Helper()
	ctx := testContext(t)
	try := func(query string) bool {
		t.Helper()
		err := run(ctx, db, query)
		if err != nil && !denied(err) {
			t.Fatalf("%s: %v, want success or permission denied", query, err)
		}
		return err == nil
	}
	var c caps
	c.Select = try("SELECT COUNT(*) FROM " + table)
	c.Insert = try("INSERT INTO " + table + " (v) VALUES ('probe')")
	c.Update = try("UPDATE " + table + " SET v = 'probed' WHERE v = 'probe'")
	c.Delete = try("DELETE FROM " + table + " WHERE v IN ('probe', 'probed')")
	c.Create = try(s.createTableSQL(s.name("probe")))
	return c
}

// denied reports whether err is the server refusing for lack of privilege.
func denied(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "42501" // insufficient_privilege
	}
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		switch myErr.Number {
		case 1044, // ER_DBACCESS_DENIED_ERROR
			1142, // ER_TABLEACCESS_DENIED_ERROR
			1143: // ER_COLUMNACCESS_DENIED_ERROR
			return true
		}
	}
	return false
}

// loginFails reports whether user can no longer log in at all.
func (s *server) loginFails(t *testing.T, database, user string) bool {
	t.Helper()
	err := run(testContext(t), s.login(t, database, user), "SELECT 1")
	return err != nil
}

func run(ctx context.Context, db *sql.DB, query string) error {
	_, err := db.ExecContext(ctx, query)
	return err
}

func count(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(testContext(t), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("SELECT COUNT(*) FROM %s: %v", table, err)
	}
	return n
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

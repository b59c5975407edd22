package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", for dbuser

	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/functions/provision/dbuser"
	"github.com/lambdards/lambdards/internal/testdb"
)

// readerFunctions are the functions of the reader run: the sample on the writer, which
// creates the table and puts, and the same code reading from the reader.
const readerFunctions = `{"items":{"entry":"functions/items","access":"ddl"},"reads":{"entry":"functions/items","reader":true}}`

// readerRequestsPerEnv is how many lists each reader environment makes at the cap.
const readerRequestsPerEnv = 8

// readerPuts is how many items the writer puts before the readers list them.
const readerPuts = 5

var (
	readerOnce             sync.Once
	readerWriter, readerRO *assembly
	readerErr              error
)

// synthesizeReaders synthesizes, once per test binary, an Aurora PostgreSQL cluster with
// a reader behind RDS Proxy (its read-only endpoint) at maxConnections=20, with the
// writer's function and a reader function, and returns the writer's side and the
// reader's: each budget with its one function.
func synthesizeReaders(t testing.TB) (writer, reader *assembly) {
	t.Helper()
	prerequisites(t)
	readerOnce.Do(func() {
		readers := app{Name: "readers", Context: map[string]any{"maxConnections": strconv.Itoa(maxConnections),
			"database": "serverless", "reader": "true", "connection": "proxy", "functions": readerFunctions}}
		dir, err := synthDir(readers)
		if err != nil {
			readerErr = err
			return
		}
		if readerWriter, readerErr = readTarget(dir, readers, false); readerErr != nil {
			return
		}
		readerRO, readerErr = readTarget(dir, readers, true)
	})
	if readerErr != nil {
		t.Fatal(readerErr)
	}
	return readerWriter, readerRO
}

// TestReader runs the reader's budget against a real streaming replica. PostgreSQL with
// the writer's max_connections and Aurora PostgreSQL's 8 engine-reserved slots stands in
// for the writer, a replica started from it with pg_basebackup (streaming, a hot standby)
// for the reader, and a pgbouncer in front of each, sized as the proxy's share of each
// one's max_connections, for RDS Proxy's default and read-only endpoints. The users are
// created by the provisioner's own SQL (package dbuser): the reader function's with read
// access. The writer's function puts items; then as many reader environments as the
// reader function's reserved concurrency list them at once: each list shows every item
// the writer committed, and the replica never holds more of the reader function's
// connections than the reader's budget gives. A put through the reader fails with the
// read-only error (errorType ReadOnlyError, SQLSTATE 25006) and adds nothing on the
// writer.
func TestReader(t *testing.T) {
	t.Parallel()
	w, r := synthesizeReaders(t)
	if r.Env["LAMBDARDS_DB_TARGET"] != "reader" || w.Env["LAMBDARDS_DB_TARGET"] != "" {
		t.Fatalf("LAMBDARDS_DB_TARGET: writer %q, reader %q; want unset and reader", w.Env["LAMBDARDS_DB_TARGET"], r.Env["LAMBDARDS_DB_TARGET"])
	}
	if r.MaxConnections != w.MaxConnections || r.Budget.ReservedConnections != 8 {
		t.Fatalf("reader max_connections %d, reserved %d; want the writer's %d and Aurora PostgreSQL's 8",
			r.MaxConnections, r.Budget.ReservedConnections, w.MaxConnections)
	}
	t.Logf("budget: max_connections %d, reserved %d, headroom %d, proxy %d%% = %d connections on each; writer %d, reader %d environments",
		r.MaxConnections, r.Budget.ReservedConnections, r.Budget.Headroom, r.ProxyMaxConnectionsPercent, r.ProxyConnections(),
		w.ReservedConcurrency, r.ReservedConcurrency)

	primary := testdb.StartPostgres(t, testdb.PostgresOptions{MaxConnections: w.MaxConnections,
		SuperuserReservedConnections: w.Budget.ReservedConnections, SSL: true, Replication: true})
	name := w.Env["LAMBDARDS_DB_NAME"]
	writerDB := &database{PG: primary, User: w.Env["LAMBDARDS_DB_USER"], Name: name, Password: password(t)}
	readerDB := &database{User: r.Env["LAMBDARDS_DB_USER"], Name: name, Password: password(t)}
	primary.CreateDatabase(t, name, primary.User)
	provisionUsers(t, primary, name, []dbspec.User{
		{Name: writerDB.User, Access: dbspec.DDL}, {Name: readerDB.User}, // read, the default
	}, map[string]string{writerDB.User: writerDB.Password, readerDB.User: readerDB.Password})
	readerDB.PG = testdb.StartReplica(t, primary, testdb.PostgresOptions{SuperuserReservedConnections: r.Budget.ReservedConnections, SSL: true})
	writerDB.Pooler = startPooler(t, writerDB, w)
	readerDB.Pooler = startPooler(t, readerDB, r)

	bootstrap := nativeBootstrap(t)
	writers := startEnvironmentsOf(t, w, bootstrap, 1, writerDB.FunctionEnv(w))
	readers := startEnvironmentsOf(t, r, bootstrap, r.ReservedConcurrency, readerDB.FunctionEnv(r))
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()

	// The writer commits; the replica replays.
	puts := (&load{Envs: writers, PerEnv: readerPuts, Timeout: w.requestTimeout(),
		Event: func(_, seq int) string { return putEvent(fmt.Sprintf("committed-%d", seq)) }}).Run(ctx)
	want := map[string]bool{}
	for _, o := range puts {
		if !o.OK() {
			t.Fatalf("put on the writer: %s: %.300s", o.ErrorType, o.Body)
		}
		var it struct{ Name string }
		json.Unmarshal([]byte(o.Body), &it)
		want[it.Name] = true
	}
	waitReplayed(t, ctx, primary, readerDB.PG)

	// The reader function at its cap.
	l := &load{Envs: readers, PerEnv: readerRequestsPerEnv, Timeout: r.requestTimeout(), Event: func(int, int) string { return `{"action":"list"}` }}
	outs, _, peak, samples, held := sampled(t, ctx, readerDB, l)
	st := summarize(outs)
	t.Logf("%d lists in %v, p50 %v, cold p50 %v; peak %d of the reader function's connections on the replica over %d samples, %d held at the end",
		st.Requests, st.Elapsed.Round(time.Millisecond), st.P50, st.ColdP50, peak, samples, held)
	if n := r.ReservedConcurrency * readerRequestsPerEnv; st.OK != n {
		t.Errorf("%d of %d lists succeeded; failures: %s", st.OK, n, failures(outs, 5))
	}
	for _, o := range outs {
		if !o.OK() {
			continue
		}
		var list struct{ Items []struct{ Name string } }
		json.Unmarshal([]byte(o.Body), &list)
		seen := map[string]bool{}
		for _, it := range list.Items {
			seen[it.Name] = true
		}
		for n := range want {
			if !seen[n] {
				t.Errorf("env %d #%d: list on the reader = %.300s, missing %q that the writer committed", o.Env, o.Seq, o.Body, n)
			}
		}
	}
	if budget := r.Budget.ProxyConnections; peak > budget {
		t.Errorf("peak connections of %s on the replica = %d, want at most the reader budget's %d", readerDB.User, peak, budget)
	}
	if held != r.ReservedConcurrency {
		t.Errorf("connections of %s on the replica after the run = %d, want one per environment, %d", readerDB.User, held, r.ReservedConcurrency)
	}

	// A write through the reader fails and loses nothing on the writer.
	before := countItems(t, ctx, writerDB)
	lost := (&load{Envs: readers[:1], PerEnv: 1, Timeout: r.requestTimeout(),
		Event: func(int, int) string { return putEvent("through-the-reader") }}).Run(ctx)
	if o := lost[0]; o.ErrorType != "ReadOnlyError" || !strings.Contains(o.Body, "SQLSTATE 25006") {
		t.Errorf("put through the reader: errorType %q: %.300s; want ReadOnlyError for SQLSTATE 25006", o.ErrorType, o.Body)
	}
	if after := countItems(t, ctx, writerDB); after != before || before != readerPuts {
		t.Errorf("items on the writer: %d before the put through the reader, %d after; want %d both times", before, after, readerPuts)
	}
}

// provisionUsers creates users in database on pg with the provisioner's SQL, as a deploy
// does, with local passwords instead of IAM (rds_iam is a stand-in role here).
func provisionUsers(t *testing.T, pg *testdb.Postgres, database string, users []dbspec.User, passwords map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := pg.DB(t).ExecContext(ctx, `CREATE ROLE rds_iam NOLOGIN`); err != nil {
		t.Fatalf("creating the stand-in rds_iam role: %v", err)
	}
	db, err := sql.Open("pgx", pg.UserDSN(pg.User, pg.Password, database))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, u := range users {
		if err := dbuser.Apply(ctx, db, dbspec.Postgres, database, u, &dbuser.Options{Password: passwords[u.Name]}); err != nil {
			t.Fatalf("provisioning %s: %v", u.Name, err)
		}
	}
}

// waitReplayed waits until replica has replayed everything primary has written.
func waitReplayed(t *testing.T, ctx context.Context, primary, replica *testdb.Postgres) {
	t.Helper()
	var lsn string
	if err := primary.DB(t).QueryRowContext(ctx, "SELECT pg_current_wal_insert_lsn()::text").Scan(&lsn); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		var done bool
		err := replica.DB(t).QueryRowContext(ctx, "SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)", lsn).Scan(&done)
		if err != nil {
			t.Fatal(err)
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica has not replayed %s after 30 s", lsn)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// countItems counts the items on db's server.
func countItems(t *testing.T, ctx context.Context, db *database) int {
	t.Helper()
	var n int
	if err := db.AppConn(t).QueryRow(ctx, "SELECT count(*) FROM items").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

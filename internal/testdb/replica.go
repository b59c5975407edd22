package testdb

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// replicationRole is the role replicas connect to their primary as: it may log in for
// replication and nothing else.
const replicationRole = "replicator"

// hotStandbyMinimums are the settings a hot standby may not have below its primary's:
// they size the shared memory in which the standby tracks the primary's transactions
// and locks (PostgreSQL 15 documentation, "Hot Standby", Administrator's Overview:
// these structures "must be no smaller on a standby than on the primary"). With one of
// them lower, PostgreSQL 15 does not start the standby: "FATAL: recovery aborted
// because of insufficient parameter settings", "DETAIL: max_connections = 20 is a lower
// setting than on the primary server, where its value was 30".
var hotStandbyMinimums = []string{
	"max_connections",
	"max_locks_per_transaction",
	"max_prepared_transactions",
	"max_wal_senders",
	"max_worker_processes",
}

// StartReplica starts a streaming replica of primary, a server StartPostgres started
// with PostgresOptions.Replication, on a loopback port of its own, and stops and
// removes it when the test ends. It skips the test if pg_basebackup is not installed
// (fails it under CI=true).
//
// The replica begins as pg_basebackup's copy of primary, which also writes
// primary_conninfo and standby.signal; a replication slot of its own keeps on the
// primary the WAL it has not yet received. It then streams primary's WAL and takes
// read-only queries (a hot standby): writes fail with SQLSTATE 25006. It has primary's
// roles and passwords, User and Password included, so StartPgbouncer puts a pooler in
// front of it as in front of primary.
//
// opts are those of StartPostgres, except that max_connections (MaxConnections),
// max_locks_per_transaction, max_prepared_transactions, max_wal_senders and
// max_worker_processes default to primary's values and may not be lower: a hot
// standby with less does not start (see hotStandbyMinimums). Replication is implied,
// for max_wal_senders needs wal_level replica; but a replica cannot be the primary of
// another.
func StartReplica(t testing.TB, primary *Postgres, opts PostgresOptions) *Postgres {
	t.Helper()
	// pg_basebackup is in the installation of primary's postgres, which the postgres
	// found on PATH may only link to.
	postgres, err := filepath.EvalSymlinks(filepath.Join(primary.bin, "postgres"))
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	basebackup := SkipIfMissing(t, filepath.Join(filepath.Dir(postgres), "pg_basebackup"))[0]
	primary.mu.Lock()
	password := primary.replication
	primary.replicas++
	slot := fmt.Sprintf("testdb_replica_%d", primary.replicas)
	primary.mu.Unlock()
	if password == "" {
		t.Fatalf("testdb: StartReplica: the server on port %d was not started by StartPostgres with PostgresOptions.Replication", primary.Port)
	}

	minimums := map[string]int{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, name := range hotStandbyMinimums {
		var v int
		if err := primary.DB(t).QueryRowContext(ctx, "SELECT current_setting($1)::int", name).Scan(&v); err != nil {
			t.Fatalf("testdb: StartReplica: reading the primary's %s: %v", name, err)
		}
		minimums[name] = v
	}
	if opts.MaxConnections == 0 {
		opts.MaxConnections = minimums["max_connections"]
	}
	opts.Replication = true
	opts = opts.withDefaults(t)

	p := newPostgres(t, primary.bin)
	p.User, p.Password = primary.User, primary.Password
	settings := p.settings(t, opts)
	for _, name := range hotStandbyMinimums {
		v, ok := opts.Settings[name]
		if !ok {
			v, ok = settings[name]
		}
		if !ok {
			settings[name] = strconv.Itoa(minimums[name])
			continue
		}
		if n, err := strconv.Atoi(v); err != nil || n < minimums[name] {
			t.Fatalf("testdb: StartReplica: %s = %s, want at least the primary's %d: a hot standby with less does not start",
				name, v, minimums[name])
		}
	}

	// pg_basebackup runs as the server's OS user and creates the data directory.
	if err := p.as.chownAll(p.base); err != nil {
		t.Fatalf("testdb: chown %s: %v", p.base, err)
	}
	conninfo := fmt.Sprintf("host=%s port=%d user=%s password=%s", primary.Host, primary.Port, replicationRole, password)
	backup := p.as.command(p.base, basebackup, "-D", p.DataDir, "-d", conninfo,
		"-X", "stream", "-R", "-C", "-S", slot, "--checkpoint=fast", "--no-sync")
	if out, err := backup.CombinedOutput(); err != nil {
		t.Fatalf("testdb: pg_basebackup from port %d: %v\n%s", primary.Port, err, out)
	}
	p.run(t, settings, opts.Settings)
	return p
}

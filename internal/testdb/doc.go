// Package testdb starts throwaway database servers for tests: PostgreSQL,
// streaming replicas of it (StartReplica), MariaDB, and pgbouncer in front of
// PostgreSQL or a replica.
//
// Each server gets a fresh data directory, a free loopback port, and its own
// socket directory, and is stopped and removed by t.Cleanup. The directories
// are in /dev/shm when it is a memory file system with at least 1 GiB free,
// else under os.TempDir(). Servers that refuse to run as root (postgres,
// pgbouncer) run as the "postgres" OS user when the test runs as root. Start-up trades durability for speed (fsync
// off), so nothing here is fit for data anyone wants to keep.
//
// A fresh data directory is a copy of a template that initdb or
// mariadb-install-db made once per machine, in
// lambdards-testdb-templates-<uid> beside the servers, named after the program, its
// version and the options (see template.go); delete the directory to have
// them made again. Each PostgreSQL server gets a superuser password of its
// own after it starts. A replica starts instead from pg_basebackup's copy of
// its primary, and keeps the primary's passwords.
//
// When a server's binaries are missing, the Start functions skip the test,
// unless the environment variable CI is "true": there they fail it, so that
// CI cannot pass by skipping every database test.
//
// Binaries are looked up in this order: the directory named by
// LAMBDARDS_PG_BINDIR (PostgreSQL only), PATH, then the Debian locations
// (/usr/lib/postgresql/*/bin, /usr/sbin, /usr/bin).
package testdb

// Package dbconn gives Lambda handler code its database: one small
// database/sql pool per execution environment, opened on first use, kept
// across invocations, and reached either through RDS Proxy (or directly)
// with IAM authentication and TLS, or through the RDS Data API.
//
// # Environment
//
// FromEnv reads the variables that lambdards' CDK function construct sets:
//
//	LAMBDARDS_DB_MODE        connection | dataapi (default connection)
//	LAMBDARDS_DB_ENGINE      postgres | mysql (required; mysql also covers MariaDB and Aurora MySQL)
//	LAMBDARDS_DB_NAME        database name (required)
//	LAMBDARDS_DB_MAX_CONNS   connections per execution environment (default 1)
//	AWS_REGION               set by Lambda itself; required with iam auth and with dataapi
//
// With LAMBDARDS_DB_MODE=connection (RDS Proxy or the database itself):
//
//	LAMBDARDS_DB_HOST       proxy endpoint host name (required)
//	LAMBDARDS_DB_PORT       TCP port (default 5432 for postgres, 3306 for mysql)
//	LAMBDARDS_DB_USER       database user (required)
//	LAMBDARDS_DB_AUTH       iam | password (default iam)
//	LAMBDARDS_DB_PASSWORD   password; only with LAMBDARDS_DB_AUTH=password (local runs)
//	LAMBDARDS_DB_TLS        verify-full | require | disable (default verify-full)
//	LAMBDARDS_DB_TARGET     writer | reader (default writer): reader when HOST is the
//	                        proxy's read-only endpoint or the cluster's reader endpoint
//
// With LAMBDARDS_DB_MODE=dataapi (Aurora), where the connection variables
// must be unset:
//
//	LAMBDARDS_DB_CLUSTER_ARN  the Aurora DB cluster's ARN (required)
//	LAMBDARDS_DB_SECRET_ARN   the function's own Secrets Manager secret, holding its database user (required)
//
// The AWS SDK reads AWS_ENDPOINT_URL_RDS_DATA, which points the Data API
// client at a local stand-in (package internal/dataapi) for local runs.
//
// Every problem is reported at once, in a *ConfigError that names each bad
// variable and what it may be.
//
// # Use
//
// A handler creates one *DB at start-up (New does not connect) and calls
// Do on each invocation with the invocation's context:
//
//	err := db.Do(ctx, func(ctx context.Context, sqldb *sql.DB) error {
//		return sqldb.QueryRowContext(ctx, "SELECT 1").Scan(&one)
//	})
//
// Do retries fn when the database says it is busy (too many connections,
// proxy borrow timeout, server starting, connection refused; with the Data
// API, an auto-paused cluster resuming, throttling, the service or the
// writer unavailable) with exponential backoff and full jitter, bounded by
// RetryPolicy and by the context's deadline, and once more when the
// connection was lost. When the retries run out it returns a
// *RetryableError: the caller should fail the invocation and let its own
// caller retry later. Because fn may run twice after a lost connection, it
// should be idempotent or a single transaction. SQL errors come back as
// they are; SQLState reads their SQLSTATE code in every mode.
//
// On a reader (LAMBDARDS_DB_TARGET=reader, TargetReader) every write fails
// with the database's read-only error (PostgreSQL SQLSTATE 25006, MySQL's
// read_only errors); Do returns it at once, not retried, as a
// *ReadOnlyError that says the function reads from the reader. IsReadOnly
// recognizes it.
//
// # Data API
//
// With ModeDataAPI the pool's connections hold no database connection:
// each statement is one ExecuteStatement request over HTTPS, signed with
// the function's credentials, and the Data API signs in to the database
// with the function's secret. Handlers keep using *sql.DB:
//
//   - Placeholders are the engine's: $1, $2, ... on PostgreSQL, ? on MySQL.
//     dbconn rewrites them into the Data API's named parameters (:p1,
//     :p2, ...), skipping literals, quoted identifiers and comments. Named
//     arguments, sql.Named("id", v), go through as :id. Since :name is the
//     Data API's own syntax, a colon before a name means a parameter
//     outside literals (PostgreSQL's slice arr[lo:hi] is not supported;
//     :: casts are). The Data API runs one statement per request. A
//     string argument goes as a string (RDS Data API reference,
//     SqlParameter typeHint): on PostgreSQL, cast it where a column is
//     not text ($1::uuid, $1::numeric, $1::jsonb). A time.Time goes as a
//     UTC timestamp.
//   - Results come as typed fields: integers as int64, floats, booleans,
//     bytes, text; dates and timestamps as time.Time in UTC; decimals as
//     strings. Array columns are not supported. A result is at most 1 MiB
//     (RDS Data API reference, ExecuteStatement): page with LIMIT.
//   - Transactions are BeginTransaction, then statements with its id,
//     then CommitTransaction or RollbackTransaction; sql.TxOptions are not
//     supported. A statement that fails ends its transaction.
//   - Result.LastInsertId works on MySQL; on PostgreSQL use RETURNING.
//   - ExecBatch runs one statement over many argument sets in one request.
//
// # Authentication and TLS
//
// With iam auth every new physical connection gets a fresh token from
// feature/rds/auth.BuildAuthToken, signed locally with the function's
// credentials (the SDK's default chain, loaded once). Tokens live 15
// minutes but only matter while connecting, so a pooled connection outlives
// its token. RDS Proxy accepts tokens only over TLS, so iam auth with
// LAMBDARDS_DB_TLS=disable is rejected; MySQL sends the token with the
// cleartext client plugin, which the driver allows only because TLS is on.
//
// verify-full checks the server certificate against the system roots, which
// in the Lambda runtime include the Amazon roots that sign RDS Proxy's
// certificates, and the host name against LAMBDARDS_DB_HOST. To reach a DB
// instance directly instead of a proxy, put the RDS CA bundle in
// Config.RootCAs.
package dbconn

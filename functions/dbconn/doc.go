// Package dbconn gives Lambda handler code its database connection: one
// small database/sql pool per execution environment, opened on first use,
// kept across invocations, and reached through RDS Proxy with IAM
// authentication and TLS.
//
// # Environment
//
// FromEnv reads the variables that lambdards' CDK function construct sets:
//
//	LAMBDARDS_DB_ENGINE     postgres | mysql (required; mysql also covers MariaDB and Aurora MySQL)
//	LAMBDARDS_DB_HOST       proxy endpoint host name (required)
//	LAMBDARDS_DB_PORT       TCP port (default 5432 for postgres, 3306 for mysql)
//	LAMBDARDS_DB_USER       database user (required)
//	LAMBDARDS_DB_NAME       database name (required)
//	LAMBDARDS_DB_AUTH       iam | password (default iam)
//	LAMBDARDS_DB_PASSWORD   password; only with LAMBDARDS_DB_AUTH=password (local runs)
//	LAMBDARDS_DB_TLS        verify-full | require | disable (default verify-full)
//	LAMBDARDS_DB_MAX_CONNS  connections per execution environment (default 1)
//	AWS_REGION              set by Lambda itself; required with iam auth
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
// proxy borrow timeout, server starting, connection refused) with
// exponential backoff and full jitter, bounded by RetryPolicy and by the
// context's deadline, and once more when the connection was lost. When the
// retries run out it returns a *RetryableError: the caller should fail the
// invocation and let its own caller retry later. Because fn may run twice
// after a lost connection, it should be idempotent or a single transaction.
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

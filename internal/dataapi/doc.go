// Package dataapi is a local stand-in for the RDS Data API: an HTTP server
// that speaks the Data API's REST-JSON protocol for ExecuteStatement,
// BatchExecuteStatement, BeginTransaction, CommitTransaction and
// RollbackTransaction, and runs the statements on a real PostgreSQL or
// MariaDB server (package testdb), signed in as the database user of the
// secret each request names. As pgbouncer stands in for RDS Proxy, it lets
// the real handler code, through the real AWS SDK client, run against a
// real database, on loopback and without AWS.
//
// Point the SDK at Server.URL with a custom endpoint and any static
// credentials: dbconn.Config.Endpoint (or AWS_ENDPOINT_URL_RDS_DATA), or
// rdsdata.Options.BaseEndpoint. In a test, Start serves it on a free
// loopback port; a Server is an http.Handler, so any http.Server can serve
// it too.
//
// # What it does as the service does
//
//   - Errors come as the SDK expects them (status code, X-Amzn-ErrorType,
//     {"message": ...}), so the client sees the typed exceptions: the
//     database's own error as DatabaseErrorException ("ERROR: <message>;
//     SQLState: <code>"), an unknown secret as SecretsErrorException,
//     another cluster as HttpEndpointNotEnabledException, an unknown or
//     ended transaction as TransactionNotFoundException.
//   - Pause makes it answer DatabaseResumingException, as an auto-paused
//     Aurora Serverless v2 cluster does while the call that woke it
//     resumes it.
//   - A statement that fails inside a transaction ends the transaction;
//     a transaction unused for three minutes is rolled back; a
//     transaction runs one statement at a time.
//   - A response over 1 MiB is refused.
//   - Results are typed fields with column metadata (name, label,
//     typeName); dates and timestamps are strings in UTC, decimals are
//     strings, as with the service's defaults. Parameters are bound by
//     their field type: on PostgreSQL a string without typeHint is a
//     varchar, as the service sends it, so a string for a uuid, json,
//     numeric or date column needs a typeHint or a cast there too.
//
// # What it does not prove
//
//   - IAM: it checks only that a request is SigV4-signed for the service
//     rds-data, not the signature, the caller's policy or the rds-data
//     condition keys.
//   - The secret lookup: secrets are a map from ARN to user and password
//     given to New. Secrets Manager, its KMS key, its resource policy and
//     rotation are not involved.
//   - The service's quotas and limits other than the 1 MiB response: the
//     4 MiB request, 64 KB rows, call and statement timeouts, the 24-hour
//     transaction limit.
//   - TLS: it serves plain HTTP on loopback.
//   - Real resume timing: a resume lasts as long as the test says.
//   - The exact wording of the service's messages, and how it renders
//     types beyond integers, floats, booleans, strings, bytes, dates and
//     timestamps; the format of MySQL errors through the Data API is this
//     stand-in's guess, modelled on PostgreSQL's.
//   - formatRecordsAs JSON, resultSetOptions, the schema parameter and the
//     deprecated ExecuteSql: requests that use them are refused.
//
// Whether a statement returns records is decided by its first word
// (SELECT, WITH, SHOW, VALUES, TABLE, EXPLAIN) or a RETURNING clause;
// other statements report numberOfRecordsUpdated and, on MySQL, the
// AUTO_INCREMENT value in generatedFields.
package dataapi

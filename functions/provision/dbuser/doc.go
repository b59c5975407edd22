// Package dbuser provisions the least-privilege database user of one
// Lambda function: it validates what the function declares (a User), turns
// it into SQL (Plan, DropPlan) and runs that SQL as the master user (Apply,
// Drop). It imports only the standard library, so CDK constructs can use
// it to validate declarations at synth, and the provisioning Lambda
// (functions/provision) uses it at deploy time.
//
// # Access
//
// A user has one access level on the tables of one schema: Read (SELECT),
// Write (Read plus INSERT, UPDATE, DELETE, and on PostgreSQL USAGE and
// SELECT on the sequences behind serial and identity columns) or DDL
// (Write plus CREATE in the schema). Tables narrows Read and Write to named
// tables; empty means the whole schema. Every Apply first removes whatever
// the user held, then grants what is declared now, so a changed
// declaration both adds and removes privileges.
//
// # Authentication
//
// By default users log in with IAM tokens: on PostgreSQL they are granted
// rds_iam and have no password, on MySQL they are identified WITH
// AWSAuthenticationPlugin AS 'RDS' and REQUIRE SSL (Amazon RDS User Guide,
// "Creating a database account using IAM authentication"). RDS Proxy's
// end-to-end IAM authentication logs in to the database as the same user,
// so the same setup serves it.
//
// With Options.Password a user logs in with that password instead: what
// the RDS Data API needs, since it signs in with the user name and password
// of a Secrets Manager secret. On PostgreSQL the password is hashed with
// scram-sha-256 whatever the server's password_encryption says (the Data
// API supports no other on Aurora PostgreSQL 14 and higher), and the user
// is taken out of rds_iam, which on RDS would take precedence over the
// password; on MySQL the user is IDENTIFIED BY the password, and still
// REQUIRE SSL. Apply switches an existing user either way. The password
// must be printable ASCII without quotes or backslashes (CheckPassword);
// Plan's statements hold it, and Apply's errors never quote it.
//
// # Tables created later (PostgreSQL)
//
// MySQL grants on db.* cover tables created at any time. PostgreSQL
// grants on existing tables only; tables created later are covered by
// default privileges, which belong to the role that creates the table. The
// rule here: a whole-schema user is covered for tables that the master
// user (the role Apply runs as: migrations) or any lambdards DDL user of
// the same schema creates later. Apply keeps that true whatever order
// users are applied in: a user gets default privileges from the master
// and from every DDL user present; a DDL user copies onto its own defaults
// what the master's defaults give lambdards users. Tables that other roles
// create are covered from the next Apply on, if the master user may grant
// on them (PostgreSQL skips the others with a warning). Named tables must
// exist when the user is applied.
//
// # Which users lambdards owns
//
// Apply and Drop change only users lambdards created. PostgreSQL roles
// carry the comment "managed by lambdards" (COMMENT ON ROLE). MySQL users
// have no portable place for such a mark (MySQL 8.0.21 added user
// comments; MariaDB has none), so lambdards lists them in a table of its
// own, lambdards.managed_users, created on first use. A user of the same
// name that exists without the mark, and the master user itself, are
// refused with an error wrapping ErrNotManaged.
//
// # Owners
//
// A user also records its owner (Options.Owner): the provisioning Lambda
// passes the custom resource's StackId/LogicalResourceId. PostgreSQL roles
// then carry the comment "managed by lambdards; owner <owner>"; MySQL
// users have it in the owner column of lambdards.managed_users, which
// Apply adds to a table created before owners were recorded. Each Apply
// records its owner, taking the user over. Drop with an owner leaves alone
// a user recorded as another's (ErrOwnedElsewhere): when a function moves
// to another stack, the new stack's resource takes the user over, and the
// old stack's Delete, whenever it comes, no longer drops it. A user
// without an owner (the bare marker, or an empty column) is dropped by any
// Drop, and a Drop without an owner drops any user. Apply and Drop wait
// for each other: on PostgreSQL through an advisory lock per database, on
// MySQL through a named lock (GET_LOCK) per server.
//
// Drop never drops data. On PostgreSQL a DDL user owns the tables it
// created: REASSIGN OWNED hands them to the master user before DROP OWNED
// removes the user's privileges, and other users keep their grants on
// them. MySQL tables have no owner.
//
// # Running as a non-superuser master
//
// The RDS master user is not a superuser. To grant on tables a DDL user
// owns and to set default privileges for it, Apply borrows membership in
// the lambdards roles inside one statement and returns it before the
// statement ends: a master that kept membership in a role holding rds_iam
// would itself be forced onto IAM authentication (Amazon RDS User Guide,
// "Database authentication with Amazon RDS"). Applies on one PostgreSQL
// database are serialized by an advisory lock: CloudFormation creates
// independent resources in parallel, and concurrent GRANTs on one object
// fail with "tuple concurrently updated".
//
// # Local servers
//
// A local PostgreSQL has no rds_iam role and a local MySQL or MariaDB no
// AWSAuthenticationPlugin, and neither accepts IAM tokens. Tests that need
// users to log in pass Options.Password, which works on any server. Tests
// of IAM authentication on PostgreSQL create a NOLOGIN role named rds_iam
// as a stand-in; on MariaDB they swap in a plugin it has for
// AWSAuthenticationPlugin.
//
// # Limits
//
//   - One user name serves one database on a server: users are
//     server-wide. On MySQL applying it for a second database revokes its
//     privileges on the first; on PostgreSQL its privileges in the other
//     database make Drop fail.
//   - On MySQL a session sees changed database-level privileges only after
//     its next USE (or reconnection), and between REVOKE and GRANT the
//     user briefly has none: GRANT commits implicitly, so there is no
//     transaction to hide the gap.
//   - PostgreSQL 14 and older let PUBLIC create in schema public. Apply
//     refuses to leave a Read or Write user able to create there, and its
//     error says to run REVOKE CREATE ON SCHEMA public FROM PUBLIC; it does
//     not change PUBLIC's privileges itself.
//   - The schema must exist; Apply does not create it.
//   - A MySQL password user must sign in over TLS (REQUIRE SSL, as IAM
//     users must). AWS does not document whether the RDS Data API signs in
//     to Aurora MySQL over TLS.
package dbuser

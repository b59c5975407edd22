package dbuser

import (
	"fmt"
	"strings"

	"github.com/lambdards/lambdards/dbspec"
)

// marker is the comment lambdards puts on the PostgreSQL roles it creates,
// followed by ownerSep and the owner when Apply is given one (Options.Owner).
// Apply and Drop touch no existing role without it.
const (
	marker   = "managed by lambdards"
	ownerSep = "; owner "
)

// markerPattern matches, as a PostgreSQL regular expression, the comment of
// every role lambdards manages: the bare marker (roles applied without an
// owner, or before owners were recorded) or the marker and an owner.
const markerPattern = "^" + marker + "(" + ownerSep + ".+)?$"

// pgComment returns the comment marking a role managed for owner.
func pgComment(owner string) string {
	if owner == "" {
		return marker
	}
	return marker + ownerSep + owner
}

// pgOwner returns the owner recorded in a managed role's comment, and
// whether the comment marks the role managed at all.
func pgOwner(comment string) (owner string, managed bool) {
	if comment == marker {
		return "", true
	}
	owner, ok := strings.CutPrefix(comment, marker+ownerSep)
	return owner, ok && owner != ""
}

// MySQL bookkeeping: users, unlike PostgreSQL roles, carry no comment on
// every engine lambdards supports (MySQL 8.0.21 added COMMENT and
// ATTRIBUTE; MariaDB has neither), so lambdards lists the users it created
// in a table of its own.
const (
	bookkeepingDatabase = dbspec.Bookkeeping
	bookkeepingTable    = "managed_users"
)

// Plan returns the SQL statements that create user u in database (or bring
// it up to date) on engine, in order. They are idempotent: running them
// again changes nothing, and running them after a change of u both adds
// and removes privileges. Identifiers are validated and quoted; nothing
// else from the declaration reaches the SQL.
//
// Plan is what Apply runs, without Apply's checks: that an existing user of
// that name was created by lambdards and is not the master user. On
// PostgreSQL the statements must run in one transaction, as Apply does.
// With Options.Password the statements hold the password: do not log them.
// A declaration or database name that does not validate is reported, with
// every problem, in a *ValidationError.
func Plan(engine dbspec.Engine, database string, u dbspec.User, opts *Options) ([]string, error) {
	if err := check(engine, database, u, opts); err != nil {
		return nil, err
	}
	u = u.WithDefaults(engine, database)
	if engine == dbspec.Postgres {
		return postgresPlan(database, u, opts), nil
	}
	setup, user := mysqlPlan(u, opts)
	return append(setup, user...), nil
}

// DropPlan returns the SQL statements that drop the user called name, as
// Drop runs them after checking that lambdards created it. They keep every
// table: on PostgreSQL the user's tables pass to the user running the
// statements (the master user). Running them again changes nothing.
func DropPlan(engine dbspec.Engine, name string) ([]string, error) {
	if err := check(engine, "", dbspec.User{Name: name}, nil); err != nil {
		return nil, err
	}
	if engine == dbspec.Postgres {
		return postgresDrop(name), nil
	}
	return mysqlDrop(name), nil
}

// check validates everything Plan and DropPlan take; database "" is not
// checked.
func check(engine dbspec.Engine, database string, u dbspec.User, opts *Options) error {
	var p []string
	switch engine {
	case dbspec.Postgres, dbspec.MySQL:
	default:
		p = append(p, fmt.Sprintf("engine %q is not supported, want %s or %s", engine, dbspec.Postgres, dbspec.MySQL))
	}
	if database != "" {
		p = append(p, databaseProblems(database)...)
	}
	p = append(p, u.Problems()...)
	p = append(p, opts.problems()...)
	if len(p) > 0 {
		return &dbspec.ValidationError{Problems: p}
	}
	return nil
}

// ValidateDatabase checks a database name as Plan does, and reports a
// problem in a *ValidationError.
func ValidateDatabase(name string) error {
	if p := databaseProblems(name); len(p) > 0 {
		return &dbspec.ValidationError{Problems: p}
	}
	return nil
}

func databaseProblems(name string) []string {
	if problem := dbspec.IdentifierProblem(name); problem != "" {
		return []string{fmt.Sprintf("database %q %s", name, problem)}
	}
	return nil
}

// privileges returns the table privileges of an access level.
func privileges(a dbspec.Access) string {
	if a == dbspec.Read {
		return "SELECT"
	}
	return "SELECT, INSERT, UPDATE, DELETE"
}

// pgIdent quotes s as a PostgreSQL identifier, as pgx.Identifier.Sanitize
// does.
func pgIdent(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, "\x00", ""), `"`, `""`) + `"`
}

// pgLiteral quotes s as a PostgreSQL string literal. Everything quoted here
// has been validated to hold no backslash, so the result reads the same
// whatever standard_conforming_strings is.
func pgLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// postgresPlan is Plan for PostgreSQL; u has its defaults.
//
// The privileges are set in one DO block because the master user on RDS is
// not a superuser: to grant on tables a ddl user owns, and to set default
// privileges for tables it will create, the master must hold that user's
// privileges. The block borrows membership in every lambdards role and
// gives it back before it ends. Held any longer, the membership would pass
// rds_iam on to the master, and RDS would then accept only IAM tokens from
// the master: "If the rds_iam role is added to the master user, IAM
// authentication takes precedence over password authentication", through
// nested grants too (Amazon RDS User Guide, "Database authentication with
// Amazon RDS"). One statement cannot be left half done, even outside a
// transaction.
func postgresPlan(database string, u dbspec.User, opts *Options) []string {
	role := pgIdent(u.Name)
	stmts := []string{
		`DO $lambdards$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ` + pgLiteral(u.Name) +
			`) THEN CREATE ROLE ` + role + ` LOGIN; END IF; END $lambdards$`,
		`COMMENT ON ROLE ` + role + ` IS ` + pgLiteral(pgComment(opts.owner())),
	}
	if password := opts.password(); password != "" {
		stmts = append(stmts,
			// "For Aurora PostgreSQL version 14 and higher databases,
			// Data API only supports scram-sha-256 for password
			// encryption" (Amazon Aurora User Guide, "Limitations for the
			// Amazon RDS Data API"). The cluster's password_encryption
			// may say md5; this transaction hashes with SCRAM whatever it
			// says.
			`SET LOCAL password_encryption = 'scram-sha-256'`,
			`ALTER ROLE `+role+` PASSWORD `+pgLiteral(password),
			// "If the rds_iam role is added to the master user, IAM
			// authentication takes precedence over password
			// authentication" (Amazon RDS User Guide, "Database
			// authentication with Amazon RDS"): a user switched from IAM
			// to a password must leave rds_iam, or RDS refuses its
			// password. A server without rds_iam (not RDS) has nothing
			// to leave.
			`DO $lambdards$ BEGIN IF EXISTS (SELECT FROM pg_catalog.pg_auth_members m
  JOIN pg_catalog.pg_roles g ON g.oid = m.roleid JOIN pg_catalog.pg_roles r ON r.oid = m.member
  WHERE g.rolname = 'rds_iam' AND r.rolname = `+pgLiteral(u.Name)+`) THEN REVOKE rds_iam FROM `+role+`; END IF; END $lambdards$`,
		)
	} else {
		stmts = append(stmts,
			// IAM tokens only: a password left from password
			// authentication would still let the user sign in.
			`ALTER ROLE `+role+` PASSWORD NULL`,
			// "CREATE USER db_userx; GRANT rds_iam TO db_userx;" (Amazon
			// RDS User Guide, "Creating a database account using IAM
			// authentication", PostgreSQL). RDS Proxy's end-to-end IAM
			// authentication logs in to the database as the same user
			// with an IAM token, so it needs this too (Amazon RDS User
			// Guide, "Using IAM authentication for end-to-end connections
			// with RDS Proxy").
			`GRANT rds_iam TO `+role,
		)
	}
	return append(stmts,
		`GRANT CONNECT ON DATABASE `+pgIdent(database)+` TO `+role,
		postgresPrivileges(u),
	)
}

// postgresPrivileges returns the DO block that sets u's privileges in the
// current database to exactly what u declares.
func postgresPrivileges(u dbspec.User) string {
	schema := pgIdent(u.Schema)
	privs := privileges(u.Access)
	var b strings.Builder
	b.WriteString(`DO $lambdards$
DECLARE
  r record;
  borrowed name[] := '{}';
BEGIN
  -- Borrow, for this statement only, the privileges of the user and of every lambdards
  -- role with objects or privileges in this database. Roles elsewhere are left out: a
  -- concurrent Drop in another database may remove them, while these cannot be dropped
  -- from anywhere but here, where the advisory lock orders Apply and Drop.
  FOR r IN SELECT o.rolname FROM pg_catalog.pg_roles o
           WHERE pg_catalog.shobj_description(o.oid, 'pg_authid') ~ {marker_re}
             AND NOT pg_catalog.pg_has_role(current_user, o.oid, 'USAGE')
             AND (o.oid = {role_reg} OR EXISTS (
                   SELECT FROM pg_catalog.pg_shdepend d
                   WHERE d.refclassid = 'pg_catalog.pg_authid'::regclass AND d.refobjid = o.oid
                     AND d.dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())))
  LOOP
    EXECUTE format('GRANT %I TO CURRENT_USER', r.rolname);
    borrowed := borrowed || r.rolname;
  END LOOP;

  -- Revoke everything the user holds in this database, except on what it owns.
  FOR r IN SELECT c.oid::regclass AS rel, c.relkind FROM pg_catalog.pg_class c
           WHERE c.relowner <> {role_reg}
             AND {role_reg} IN (SELECT a.grantee FROM pg_catalog.aclexplode(c.relacl) a)
  LOOP
    EXECUTE format('REVOKE ALL ON %s %s FROM %I',
      CASE r.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, r.rel, {role_lit});
  END LOOP;
  FOR r IN SELECT n.nspname FROM pg_catalog.pg_namespace n
           WHERE n.nspowner <> {role_reg}
             AND {role_reg} IN (SELECT a.grantee FROM pg_catalog.aclexplode(n.nspacl) a)
  LOOP
    EXECUTE format('REVOKE ALL ON SCHEMA %I FROM %I', r.nspname, {role_lit});
  END LOOP;
  FOR r IN SELECT d.defaclrole::regrole AS creator, d.defaclnamespace, d.defaclobjtype
           FROM pg_catalog.pg_default_acl d
           WHERE {role_reg} IN (SELECT a.grantee FROM pg_catalog.aclexplode(d.defaclacl) a)
  LOOP
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %s %s REVOKE ALL ON %s FROM %I',
      r.creator,
      CASE WHEN r.defaclnamespace = 0 THEN '' ELSE 'IN SCHEMA ' || r.defaclnamespace::regnamespace END,
      CASE r.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES' WHEN 'f' THEN 'FUNCTIONS'
        WHEN 'T' THEN 'TYPES' ELSE 'SCHEMAS' END,
      {role_lit});
  END LOOP;

  -- Grant what is declared.
  GRANT USAGE ON SCHEMA {schema} TO {role};
`)
	if u.Access == dbspec.DDL {
		b.WriteString("  GRANT CREATE ON SCHEMA {schema} TO {role};\n")
	}
	if len(u.Tables) == 0 {
		b.WriteString("  GRANT " + privs + " ON ALL TABLES IN SCHEMA {schema} TO {role};\n")
		if u.Access != dbspec.Read {
			b.WriteString("  GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role};\n")
		}
	} else {
		tables := make([]string, len(u.Tables))
		regs := make([]string, len(u.Tables))
		for i, t := range u.Tables {
			tables[i] = schema + "." + pgIdent(t)
			regs[i] = pgLiteral(tables[i]) + "::regclass"
		}
		b.WriteString("  GRANT " + privs + " ON TABLE " + strings.Join(tables, ", ") + " TO {role};\n")
		if u.Access != dbspec.Read {
			// The sequences behind the tables' serial (deptype 'a') and
			// identity (deptype 'i') columns.
			b.WriteString(`  FOR r IN SELECT d.objid::regclass AS seq FROM pg_catalog.pg_depend d
           JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S'
           WHERE d.classid = 'pg_catalog.pg_class'::regclass
             AND d.refclassid = 'pg_catalog.pg_class'::regclass
             AND d.deptype IN ('a', 'i')
             AND d.refobjid IN (` + strings.Join(regs, ", ") + `)
  LOOP
    EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE %s TO %I', r.seq, {role_lit});
  END LOOP;
`)
		}
	}
	if len(u.Tables) == 0 {
		// Default privileges belong to the role that creates the table.
		// Tables in the schema come from the master user (migrations) or
		// from lambdards ddl users, so cover both.
		b.WriteString(`
  -- Cover tables created later by the master user and by lambdards ddl users of the schema.
  FOR r IN SELECT current_user AS creator
           UNION
           SELECT o.rolname FROM pg_catalog.pg_roles o
           WHERE o.oid <> {role_reg}
             AND pg_catalog.shobj_description(o.oid, 'pg_authid') ~ {marker_re}
             AND EXISTS (SELECT FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a
                         WHERE n.oid = {schema_reg} AND a.grantee = o.oid AND a.privilege_type = 'CREATE')
  LOOP
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I GRANT ` + privs + ` ON TABLES TO %I',
      r.creator, {schema_lit}, {role_lit});
`)
		if u.Access != dbspec.Read {
			b.WriteString(`    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO %I',
      r.creator, {schema_lit}, {role_lit});
`)
		}
		b.WriteString("  END LOOP;\n")
	}
	if u.Access == dbspec.DDL {
		// The other half of the rule above: users applied before this
		// one learn of its tables here. What the master user's defaults
		// give a lambdards user, this user's defaults give it too.
		b.WriteString(`
  -- Tables this user creates: give other lambdards users what the master user's tables give them.
  FOR r IN SELECT a.grantee::regrole AS grantee, d.defaclobjtype,
                  string_agg(a.privilege_type, ', ') AS privileges
           FROM pg_catalog.pg_default_acl d, pg_catalog.aclexplode(d.defaclacl) a
           WHERE d.defaclrole = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)
             AND d.defaclnamespace = {schema_reg}
             AND d.defaclobjtype IN ('r', 'S')
             AND a.grantee <> {role_reg}
             AND pg_catalog.shobj_description(a.grantee, 'pg_authid') ~ {marker_re}
           GROUP BY a.grantee, d.defaclobjtype
  LOOP
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I GRANT %s ON %s TO %s',
      {role_lit}, {schema_lit}, r.privileges,
      CASE r.defaclobjtype WHEN 'r' THEN 'TABLES' ELSE 'SEQUENCES' END, r.grantee);
  END LOOP;
`)
	}
	b.WriteString(`
  -- Give the borrowed privileges back.
  FOR i IN 1 .. coalesce(array_length(borrowed, 1), 0) LOOP
    EXECUTE format('REVOKE %I FROM CURRENT_USER', borrowed[i]);
  END LOOP;
`)
	if u.Access != dbspec.DDL {
		// PostgreSQL 14 and older grant CREATE on schema public to PUBLIC;
		// 15 stopped (PostgreSQL 15 release notes). No revoke from this
		// user takes away what PUBLIC has.
		b.WriteString(`
  IF pg_catalog.has_schema_privilege({role_reg}, {schema_reg}, 'CREATE') THEN
    RAISE EXCEPTION 'lambdards: % has access {access} but may still create in schema % through PUBLIC or another role; PostgreSQL 14 and older let PUBLIC create in schema public: run REVOKE CREATE ON SCHEMA % FROM PUBLIC',
      {role_lit}, {schema_lit}, quote_ident({schema_lit});
  END IF;
`)
	}
	b.WriteString("END\n$lambdards$")
	return strings.NewReplacer(
		"{marker_re}", pgLiteral(markerPattern),
		"{role_reg}", pgLiteral(pgIdent(u.Name))+"::regrole",
		"{role_lit}", pgLiteral(u.Name),
		"{role}", pgIdent(u.Name),
		"{schema_reg}", pgLiteral(schema)+"::regnamespace",
		"{schema_lit}", pgLiteral(u.Schema),
		"{schema}", schema,
		"{access}", string(u.Access),
	).Replace(b.String())
}

// postgresDrop is DropPlan for PostgreSQL.
//
// DROP OWNED BY alone would drop the tables a ddl user created, data and
// all. REASSIGN OWNED first hands them to the master user, which leaves
// DROP OWNED only the user's privileges and default privileges to remove
// (PostgreSQL docs, "DROP OWNED" and "REASSIGN OWNED"). Both need the
// user's privileges: the membership lasts until the role is gone, inside
// the one statement (see postgresPlan on why it must not outlive it).
func postgresDrop(name string) []string {
	role := pgIdent(name)
	return []string{`DO $lambdards$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ` + pgLiteral(name) + `) THEN
    RETURN;
  END IF;
  GRANT ` + role + ` TO CURRENT_USER;
  REASSIGN OWNED BY ` + role + ` TO CURRENT_USER;
  DROP OWNED BY ` + role + `;
  DROP ROLE ` + role + `;
END
$lambdards$`}
}

// mysqlIdent quotes s as a MySQL identifier.
func mysqlIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

// mysqlString quotes s as a MySQL string literal. Everything quoted here
// has been validated to hold no backslash, which MySQL would read as an
// escape unless NO_BACKSLASH_ESCAPES is set.
func mysqlString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// mysqlAccount returns the account u@'%': the user from any host, which is
// how RDS Proxy and Lambda functions reach it.
func mysqlAccount(name string) string {
	return mysqlString(name) + "@'%'"
}

var bookkeeping = mysqlIdent(bookkeepingDatabase) + "." + mysqlIdent(bookkeepingTable)

// mysqlOwnerColumn is the bookkeeping table's owner column: "" for users
// applied without an owner. Tables created before owners were recorded
// lack it; Apply adds it (mysqlAddOwner).
const mysqlOwnerColumn = "`owner` VARCHAR(1024) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT ''"

// mysqlPlan is Plan for MySQL, in two parts: setup creates the bookkeeping
// table, which Apply needs before it can check the user; user creates the
// user and sets its privileges. u has its defaults.
//
// GRANT and REVOKE commit implicitly on MySQL, so no transaction holds the
// plan together; between REVOKE and GRANT the user briefly has no
// privileges.
func mysqlPlan(u dbspec.User, opts *Options) (setup, user []string) {
	setup = []string{
		"CREATE DATABASE IF NOT EXISTS " + mysqlIdent(bookkeepingDatabase),
		"CREATE TABLE IF NOT EXISTS " + bookkeeping + " (" +
			"`name` VARCHAR(80) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY, " +
			"`created_at` TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, " +
			mysqlOwnerColumn +
			") ENGINE=InnoDB COMMENT='database users created by lambdards'",
	}
	account := mysqlAccount(u.Name)
	// "CREATE USER 'jane_doe' IDENTIFIED WITH AWSAuthenticationPlugin AS
	// 'RDS';" then "ALTER USER 'jane_doe'@'%' REQUIRE SSL;" (Amazon RDS
	// User Guide, "Creating a database account using IAM authentication",
	// MariaDB and MySQL). RDS Proxy's end-to-end IAM authentication logs
	// in as this user with an IAM token as well (Amazon RDS User Guide,
	// "Using IAM authentication for end-to-end connections with RDS
	// Proxy").
	plugin := "AWSAuthenticationPlugin"
	if opts != nil && opts.mysqlIAMPlugin != "" {
		plugin = opts.mysqlIAMPlugin
	}
	auth := "IDENTIFIED WITH " + plugin + " AS 'RDS'"
	if password := opts.password(); password != "" {
		// A password user keeps REQUIRE SSL. AWS does not document
		// whether the RDS Data API signs in to Aurora MySQL over TLS; if
		// it does not, such a user cannot sign in through it (see the
		// package documentation, Limits).
		auth = "IDENTIFIED BY " + mysqlString(password)
	}
	owner := mysqlString(opts.owner())
	// Recorded, with its owner, before it is created: a run cut short in between leaves a
	// record without a user, which the next run completes, rather than a
	// user without a record, which it would refuse to touch.
	user = []string{
		"INSERT INTO " + bookkeeping + " (`name`, `owner`) VALUES (" + mysqlString(u.Name) + ", " + owner +
			") ON DUPLICATE KEY UPDATE `owner` = " + owner,
		"CREATE USER IF NOT EXISTS " + account + " " + auth,
		// CREATE USER IF NOT EXISTS leaves an existing user as it is:
		// ALTER USER makes a switch between IAM and a password take
		// effect.
		"ALTER USER " + account + " " + auth + " REQUIRE SSL",
		"REVOKE ALL PRIVILEGES, GRANT OPTION FROM " + account,
	}
	privs := privileges(u.Access)
	if u.Access == dbspec.DDL {
		privs += ", CREATE"
	}
	db := mysqlIdent(u.Schema)
	if len(u.Tables) == 0 {
		user = append(user, "GRANT "+privs+" ON "+db+".* TO "+account)
	}
	for _, t := range u.Tables {
		user = append(user, "GRANT "+privs+" ON "+db+"."+mysqlIdent(t)+" TO "+account)
	}
	return setup, user
}

// mysqlDrop is DropPlan for MySQL. MySQL tables have no owner, so dropping
// a user takes no data with it.
func mysqlDrop(name string) []string {
	return []string{
		"DROP USER IF EXISTS " + mysqlAccount(name),
		"DELETE FROM " + bookkeeping + " WHERE `name` = " + mysqlString(name),
	}
}

package dbuser

import (
	"cmp"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lambdards/lambdards/dbspec"
)

// The behaviour tests run against real servers: one PostgreSQL 15 and one
// MariaDB 10.11 for the whole package, each test in its own database with
// its own user names.

func TestPostgres(t *testing.T) {
	t.Parallel()
	s := startPostgres(t)
	runBehaviours(t, s, append(behaviours, postgresBehaviours...))
}

func TestMySQL(t *testing.T) {
	t.Parallel()
	s := startMariaDB(t)
	runBehaviours(t, s, behaviours)
}

type behaviour struct {
	name string
	run  func(t *testing.T, s *server)
}

// behaviours hold on every engine.
var behaviours = []behaviour{
	{"access_levels", testAccessLevels},
	{"read_user_cannot_write", testReadUserCannotWrite},
	{"apply_twice_changes_nothing", testApplyTwice},
	{"changed_access_adds_and_removes", testChangeAccess},
	{"tables_created_later", testTablesCreatedLater},
	{"drop_keeps_tables_and_rows", testDropKeepsData},
	{"unmanaged_users_left_alone", testUnmanagedUsers},
	{"concurrent_applies", testConcurrentApplies},
	{"owner_move_then_old_drop", testOwnerMoveThenOldDrop},
	{"owner_old_drop_then_move", testOwnerOldDropThenMove},
	{"ownerless_users", testOwnerlessUsers},
	{"authentication_switches_both_ways", testAuthenticationSwitches},
}

// postgresBehaviours hold on PostgreSQL only.
var postgresBehaviours = []behaviour{
	{"create_through_public_refused", testCreateThroughPublic},
	{"named_schema", testNamedSchema},
	{"master_keeps_no_membership", testMasterKeepsNoMembership},
	{"drop_in_other_database", testDropInOtherDatabase},
	{"password_hashed_with_scram", testPasswordHashedWithSCRAM},
}

func runBehaviours(t *testing.T, s *server, bs []behaviour) {
	for _, b := range bs {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			b.run(t, s)
		})
	}
}

func testAccessLevels(t *testing.T, s *server) {
	for _, tc := range []struct {
		access dbspec.Access
		want   caps
	}{
		{"", capsRead}, // the default
		{dbspec.Read, capsRead},
		// INSERT into a serial column: on PostgreSQL that needs the
		// sequence too.
		{dbspec.Write, capsWrite},
		{dbspec.DDL, capsDDL},
	} {
		t.Run(cmp.Or(string(tc.access), "default"), func(t *testing.T) {
			db, master := s.newDatabase(t)
			s.createTable(t, master, "items")
			u := dbspec.User{Name: s.name("user"), Access: tc.access}
			s.apply(t, master, db, u)
			if got := s.probe(t, s.login(t, db, u.Name), "items"); got != tc.want {
				t.Errorf("user with Access %q: probe(items) = %v, want %v", tc.access, got, tc.want)
			}
		})
	}
}

// testReadUserCannotWrite: a read-only function's user cannot write.
func testReadUserCannotWrite(t *testing.T, s *server) {
	ctx := testContext(t)
	db, master := s.newDatabase(t)
	s.createTable(t, master, "items")
	s.masterExec(t, master, "INSERT INTO items (v) VALUES ('a'), ('b')")
	u := dbspec.User{Name: s.name("reader"), Access: dbspec.Read}
	s.apply(t, master, db, u)
	reader := s.login(t, db, u.Name)

	if got := count(t, reader, "items"); got != 2 {
		t.Errorf("read user: SELECT COUNT(*) FROM items = %d, want 2", got)
	}
	for _, q := range []string{
		"INSERT INTO items (v) VALUES ('c')",
		"UPDATE items SET v = 'z'",
		"DELETE FROM items",
		s.createTableSQL("sneaky"),
		"DROP TABLE items",
	} {
		err := run(ctx, reader, q)
		if err == nil || !denied(err) {
			t.Errorf("read user: %s = %v, want permission denied", q, err)
		}
	}
	var n int
	if err := master.QueryRowContext(ctx, "SELECT COUNT(*) FROM items WHERE v IN ('a', 'b')").Scan(&n); err != nil || n != 2 {
		t.Errorf("after the read user's attempts: items holds %d of its 2 rows (%v), want both untouched", n, err)
	}
}

func testApplyTwice(t *testing.T, s *server) {
	db, master := s.newDatabase(t)
	s.createTable(t, master, "items")
	for _, access := range []dbspec.Access{dbspec.Read, dbspec.Write, dbspec.DDL} {
		u := dbspec.User{Name: s.name(string(access)), Access: access}
		s.apply(t, master, db, u)
		first := s.grants(t, master, u.Name)
		s.apply(t, master, db, u)
		if second := s.grants(t, master, u.Name); !slices.Equal(first, second) {
			t.Errorf("%s user: privileges after the second Apply = %q, want those after the first, %q", access, second, first)
		}
	}
}

func testChangeAccess(t *testing.T, s *server) {
	for _, tc := range []struct {
		name     string
		from, to dbspec.User
		items    caps // what the user may then do to "items"
		other    caps // and to "other"
	}{
		{"read_to_write", dbspec.User{Access: dbspec.Read}, dbspec.User{Access: dbspec.Write}, capsWrite, capsWrite},
		{"write_to_read", dbspec.User{Access: dbspec.Write}, dbspec.User{Access: dbspec.Read}, capsRead, capsRead},
		{"ddl_to_read", dbspec.User{Access: dbspec.DDL}, dbspec.User{Access: dbspec.Read}, capsRead, capsRead},
		{"read_to_ddl", dbspec.User{Access: dbspec.Read}, dbspec.User{Access: dbspec.DDL}, capsDDL, capsDDL},
		{"narrow_to_named_table", dbspec.User{Access: dbspec.Write}, dbspec.User{Access: dbspec.Write, Tables: []string{"items"}}, capsWrite, capsNone},
		{"named_table_to_all", dbspec.User{Access: dbspec.Read, Tables: []string{"items"}}, dbspec.User{Access: dbspec.Read}, capsRead, capsRead},
		{"other_named_table", dbspec.User{Access: dbspec.Write, Tables: []string{"items"}}, dbspec.User{Access: dbspec.Read, Tables: []string{"other"}}, capsNone, capsRead},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, master := s.newDatabase(t)
			s.createTable(t, master, "items")
			s.createTable(t, master, "other")
			name := s.name("user")
			tc.from.Name, tc.to.Name = name, name
			s.apply(t, master, db, tc.from)
			s.apply(t, master, db, tc.to)
			user := s.login(t, db, name)
			if got := s.probe(t, user, "items"); got != tc.items {
				t.Errorf("after %+v then %+v: probe(items) = %v, want %v", tc.from, tc.to, got, tc.items)
			}
			// "Create" probes the schema, not the table: report it once.
			tc.other.Create = tc.items.Create
			if got := s.probe(t, user, "other"); got != tc.other {
				t.Errorf("after %+v then %+v: probe(other) = %v, want %v", tc.from, tc.to, got, tc.other)
			}
		})
	}
}

// testTablesCreatedLater: whole-schema users get tables created after them,
// by the master user or by a ddl user, whichever was applied first.
func testTablesCreatedLater(t *testing.T, s *server) {
	db, master := s.newDatabase(t)
	reader := dbspec.User{Name: s.name("reader"), Access: dbspec.Read}
	writer := dbspec.User{Name: s.name("writer"), Access: dbspec.Write}
	ddl := dbspec.User{Name: s.name("ddl"), Access: dbspec.DDL}
	lateReader := dbspec.User{Name: s.name("late_reader"), Access: dbspec.Read}
	s.apply(t, master, db, reader)
	s.apply(t, master, db, writer)
	s.apply(t, master, db, ddl)

	s.createTable(t, master, "by_master")
	s.createTable(t, s.login(t, db, ddl.Name), "by_ddl")
	s.apply(t, master, db, lateReader)

	for _, tc := range []struct {
		user  dbspec.User
		table string
		want  caps
	}{
		{reader, "by_master", capsRead},
		{reader, "by_ddl", capsRead},
		{writer, "by_master", capsWrite},
		{writer, "by_ddl", capsWrite},
		{ddl, "by_master", capsDDL},
		{lateReader, "by_ddl", capsRead},
	} {
		if got := s.probe(t, s.login(t, db, tc.user.Name), tc.table); got != tc.want {
			t.Errorf("%s user %s: probe(%s) = %v, want %v", tc.user.Access, tc.user.Name, tc.table, got, tc.want)
		}
	}
}

func testDropKeepsData(t *testing.T, s *server) {
	ctx := testContext(t)
	db, master := s.newDatabase(t)
	s.createTable(t, master, "items")
	s.masterExec(t, master, "INSERT INTO items (v) VALUES ('kept')")
	ddl := dbspec.User{Name: s.name("ddl"), Access: dbspec.DDL}
	reader := dbspec.User{Name: s.name("reader"), Access: dbspec.Read}
	s.apply(t, master, db, ddl)
	s.apply(t, master, db, reader)
	ddlDB := s.login(t, db, ddl.Name)
	s.createTable(t, ddlDB, "made_by_ddl")
	if err := run(ctx, ddlDB, "INSERT INTO made_by_ddl (v) VALUES ('one'), ('two')"); err != nil {
		t.Fatalf("ddl user inserting: %v", err)
	}

	if err := Drop(ctx, master, s.engine, ddl.Name, ""); err != nil {
		t.Fatalf("Drop(%s) = %v", ddl.Name, err)
	}
	if s.userExists(t, master, ddl.Name) {
		t.Errorf("after Drop(%s): the user still exists", ddl.Name)
	}
	if !s.loginFails(t, db, ddl.Name) {
		t.Errorf("after Drop(%s): it can still log in", ddl.Name)
	}
	if got := count(t, master, "made_by_ddl"); got != 2 {
		t.Errorf("after Drop(%s): master counts %d rows in the table the user created, want 2", ddl.Name, got)
	}
	if got := count(t, s.login(t, db, reader.Name), "made_by_ddl"); got != 2 {
		t.Errorf("after Drop(%s): read user counts %d rows in made_by_ddl, want 2 (its grant kept)", ddl.Name, got)
	}

	if err := Drop(ctx, master, s.engine, reader.Name, ""); err != nil {
		t.Fatalf("Drop(%s) = %v", reader.Name, err)
	}
	if s.userExists(t, master, reader.Name) {
		t.Errorf("after Drop(%s): the user still exists", reader.Name)
	}
	if got := count(t, master, "items"); got != 1 {
		t.Errorf("after Drop(%s): items has %d rows, want 1", reader.Name, got)
	}
	// Dropping what is gone is not an error: CloudFormation may retry a
	// delete.
	if err := Drop(ctx, master, s.engine, reader.Name, ""); err != nil {
		t.Errorf("Drop(%s) again = %v, want nil", reader.Name, err)
	}
}

func testUnmanagedUsers(t *testing.T, s *server) {
	ctx := testContext(t)
	db, master := s.newDatabase(t)
	s.createTable(t, master, "items")
	legacy := s.name("legacy")
	if s.engine == dbspec.Postgres {
		s.masterExec(t, master, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", legacy, testPassword))
		s.masterExec(t, master, "GRANT SELECT ON items TO "+legacy)
	} else {
		s.masterExec(t, master, fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", legacy, testPassword))
		s.masterExec(t, master, fmt.Sprintf("GRANT SELECT ON %s.items TO '%s'@'%%'", db, legacy))
	}

	err := Apply(ctx, master, s.engine, db, dbspec.User{Name: legacy, Access: dbspec.Write}, &Options{Password: testPassword})
	if !errors.Is(err, ErrNotManaged) {
		t.Errorf("Apply(user lambdards did not create) = %v, want ErrNotManaged", err)
	}
	if got := s.probe(t, s.login(t, db, legacy), "items"); got != capsRead {
		t.Errorf("after the refused Apply: the unmanaged user may %v, want %v as granted by hand", got, capsRead)
	}
	err = Drop(ctx, master, s.engine, legacy, "")
	if !errors.Is(err, ErrNotManaged) {
		t.Errorf("Drop(user lambdards did not create) = %v, want ErrNotManaged", err)
	}
	if !s.userExists(t, master, legacy) {
		t.Errorf("after the refused Drop: the unmanaged user is gone")
	}

	if err := Apply(ctx, master, s.engine, db, dbspec.User{Name: s.master}, nil); !errors.Is(err, ErrNotManaged) {
		t.Errorf("Apply(the master user) = %v, want ErrNotManaged", err)
	}
	if err := Drop(ctx, master, s.engine, s.master, ""); !errors.Is(err, ErrNotManaged) {
		t.Errorf("Drop(the master user) = %v, want ErrNotManaged", err)
	}
}

// testConcurrentApplies: CloudFormation creates independent custom
// resources at the same time.
func testConcurrentApplies(t *testing.T, s *server) {
	db, master := s.newDatabase(t)
	s.createTable(t, master, "items")
	users := []dbspec.User{
		{Name: s.name("r1"), Access: dbspec.Read}, {Name: s.name("r2"), Access: dbspec.Read},
		{Name: s.name("w1"), Access: dbspec.Write}, {Name: s.name("w2"), Access: dbspec.Write, Tables: []string{"items"}},
		{Name: s.name("d1"), Access: dbspec.DDL}, {Name: s.name("d2"), Access: dbspec.DDL},
	}
	ctx := testContext(t)
	errs := make([]error, len(users))
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Go(func() {
			errs[i] = Apply(ctx, master, s.engine, db, u, &Options{Password: testPassword})
		})
	}
	wg.Wait()
	want := map[dbspec.Access]caps{dbspec.Read: capsRead, dbspec.Write: capsWrite, dbspec.DDL: capsDDL}
	for i, u := range users {
		if errs[i] != nil {
			t.Errorf("concurrent Apply(%+v) = %v", u, errs[i])
			continue
		}
		if got := s.probe(t, s.login(t, db, u.Name), "items"); got != want[u.Access] {
			t.Errorf("after concurrent applies: %s user may %v, want %v", u.Access, got, want[u.Access])
		}
	}
}

// testCreateThroughPublic: PostgreSQL 14 and older let PUBLIC create in
// schema public. Apply must not report a read user as read-only there.
func testCreateThroughPublic(t *testing.T, s *server) {
	ctx := testContext(t)
	db, master := s.newDatabase(t)
	s.masterExec(t, master, "GRANT CREATE ON SCHEMA public TO PUBLIC")
	u := dbspec.User{Name: s.name("reader"), Access: dbspec.Read}
	err := Apply(ctx, master, s.engine, db, u, nil)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || !strings.Contains(pgErr.Message, "run REVOKE CREATE ON SCHEMA public FROM PUBLIC") {
		t.Errorf("Apply(read user) where PUBLIC may create = %v, want the server to say to revoke it", err)
	}
	if s.userExists(t, master, u.Name) {
		t.Errorf("after the failed Apply: user %s exists, want the transaction rolled back", u.Name)
	}
	// A ddl user may create anyway.
	if err := Apply(ctx, master, s.engine, db, dbspec.User{Name: s.name("ddl"), Access: dbspec.DDL}, nil); err != nil {
		t.Errorf("Apply(ddl user) where PUBLIC may create = %v, want nil", err)
	}
}

func testNamedSchema(t *testing.T, s *server) {
	db, master := s.newDatabase(t)
	s.createTable(t, master, "items")
	s.masterExec(t, master, "CREATE SCHEMA app")
	s.createTable(t, master, "app.orders")
	u := dbspec.User{Name: s.name("reader"), Access: dbspec.Read, Schema: "app"}
	s.apply(t, master, db, u)
	user := s.login(t, db, u.Name)
	if got := s.probe(t, user, "app.orders"); got != capsRead {
		t.Errorf("read user of schema app: probe(app.orders) = %v, want %v", got, capsRead)
	}
	if got := s.probe(t, user, "public.items"); got != capsNone {
		t.Errorf("read user of schema app: probe(public.items) = %v, want %v", got, capsNone)
	}
}

// testMasterKeepsNoMembership: the master must never end up a member of a
// lambdards role, which would pass rds_iam on to it and lock its password
// out on RDS.
func testMasterKeepsNoMembership(t *testing.T, s *server) {
	ctx := testContext(t)
	db, master := s.newDatabase(t)
	ddl := dbspec.User{Name: s.name("ddl"), Access: dbspec.DDL}
	s.apply(t, master, db, ddl)
	s.createTable(t, s.login(t, db, ddl.Name), "by_ddl")
	s.apply(t, master, db, dbspec.User{Name: s.name("reader"), Access: dbspec.Read})
	if err := Drop(ctx, master, s.engine, ddl.Name, ""); err != nil {
		t.Fatalf("Drop(%s) = %v", ddl.Name, err)
	}
	var memberOf string
	var iam bool
	err := master.QueryRowContext(ctx, `SELECT
		COALESCE((SELECT string_agg(roleid::regrole::text, ', ') FROM pg_auth_members WHERE member = 'master'::regrole), ''),
		pg_has_role('master', 'rds_iam', 'MEMBER')`).Scan(&memberOf, &iam)
	if err != nil {
		t.Fatal(err)
	}
	if memberOf != "" || iam {
		t.Errorf("after Apply and Drop: master is a member of %q (rds_iam: %t), want of no role", memberOf, iam)
	}
}

// testDropInOtherDatabase: Apply and Drop in different databases are not
// ordered by the advisory lock (it is per database), so Apply must not
// depend on lambdards roles that belong to another database.
func testDropInOtherDatabase(t *testing.T, s *server) {
	ctx := testContext(t)
	dbA, masterA := s.newDatabase(t)
	dbB, masterB := s.newDatabase(t)
	other := dbspec.User{Name: s.name("other_ddl"), Access: dbspec.DDL}
	s.apply(t, masterB, dbB, other)
	s.createTable(t, s.login(t, dbB, other.Name), "by_other")

	// Drop other in database B, and hold the transaction open.
	stmts, err := DropPlan(s.engine, other.Name)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := masterB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			t.Fatalf("dropping %s: %v", other.Name, err)
		}
	}
	applied := make(chan error, 1)
	go func() {
		applied <- Apply(ctx, masterA, s.engine, dbA, dbspec.User{Name: s.name("reader"), Access: dbspec.Read}, nil)
	}()
	select {
	case err := <-applied:
		if err != nil {
			t.Errorf("Apply in database A while a drop in B is open = %v, want nil", err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		// Blocked on database B's transaction: let it finish, then see
		// how Apply fares.
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		t.Errorf("Apply in database A waited for a drop in database B; then returned %v", <-applied)
	}
}

// grants returns the user's privileges as the server lists them, sorted.
func (s *server) grants(t *testing.T, master *sql.DB, name string) []string {
	t.Helper()
	ctx := testContext(t)
	var rows *sql.Rows
	var err error
	if s.engine == dbspec.Postgres {
		rows, err = master.QueryContext(ctx, `
			SELECT c.oid::regclass::text || ' ' || a.privilege_type
			FROM pg_class c, aclexplode(c.relacl) a WHERE a.grantee = $1::regrole
			UNION ALL
			SELECT 'schema ' || n.nspname || ' ' || a.privilege_type
			FROM pg_namespace n, aclexplode(n.nspacl) a WHERE a.grantee = $1::regrole
			UNION ALL
			SELECT 'default ' || d.defaclrole::regrole::text || ' ' || d.defaclobjtype::text || ' ' || a.privilege_type
			FROM pg_default_acl d, aclexplode(d.defaclacl) a WHERE a.grantee = $1::regrole
			ORDER BY 1`, name)
	} else {
		rows, err = master.QueryContext(ctx, fmt.Sprintf("SHOW GRANTS FOR '%s'@'%%'", name))
	}
	if err != nil {
		t.Fatalf("listing grants of %s: %v", name, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			t.Fatal(err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// Owners as the provisioning Lambda passes them: StackId/LogicalResourceId.
const (
	ownerA = "arn:aws:cloudformation:eu-west-1:123456789012:stack/AppA/11111111-aaaa/FnUser"
	ownerB = "arn:aws:cloudformation:eu-west-1:123456789012:stack/AppB/22222222-bbbb/FnUser"
)

func (s *server) applyAs(t *testing.T, master *sql.DB, database string, u dbspec.User, owner string) {
	t.Helper()
	if err := Apply(testContext(t), master, s.engine, database, u, &Options{Password: testPassword, Owner: owner}); err != nil {
		t.Fatalf("Apply(%+v) as %q = %v", u, owner, err)
	}
}

// testOwnerMoveThenOldDrop: a function moves from stack A to stack B; B
// creates its resource first, then A deletes its own. The user stays.
func testOwnerMoveThenOldDrop(t *testing.T, s *server) {
	ctx := testContext(t)
	db, master := s.newDatabase(t)
	s.createTable(t, master, "items")
	u := dbspec.User{Name: s.name("mover"), Access: dbspec.Write}
	s.applyAs(t, master, db, u, ownerA)
	s.applyAs(t, master, db, u, ownerB)

	err := Drop(ctx, master, s.engine, u.Name, ownerA)
	if !errors.Is(err, ErrOwnedElsewhere) {
		t.Errorf("Drop as the old owner after the move = %v, want ErrOwnedElsewhere", err)
	}
	if !s.userExists(t, master, u.Name) {
		t.Fatalf("after the old owner's Drop: the user is gone, want it kept for the new owner")
	}
	if got := s.probe(t, s.login(t, db, u.Name), "items"); got != capsWrite {
		t.Errorf("after the old owner's Drop: the user may %v, want %v", got, capsWrite)
	}

	if err := Drop(ctx, master, s.engine, u.Name, ownerB); err != nil {
		t.Fatalf("Drop as the owner = %v", err)
	}
	if s.userExists(t, master, u.Name) {
		t.Errorf("after the owner's Drop: the user still exists")
	}
	if err := Drop(ctx, master, s.engine, u.Name, ownerA); err != nil {
		t.Errorf("Drop of a user that is gone = %v, want nil", err)
	}
}

// testOwnerOldDropThenMove: stack A deletes its resource before stack B
// creates its own. The user is dropped, and B's Apply creates it again.
func testOwnerOldDropThenMove(t *testing.T, s *server) {
	ctx := testContext(t)
	db, master := s.newDatabase(t)
	s.createTable(t, master, "items")
	u := dbspec.User{Name: s.name("mover"), Access: dbspec.Read}
	s.applyAs(t, master, db, u, ownerA)
	if err := Drop(ctx, master, s.engine, u.Name, ownerA); err != nil {
		t.Fatalf("Drop as the owner = %v", err)
	}
	if s.userExists(t, master, u.Name) {
		t.Fatalf("after the owner's Drop: the user still exists")
	}
	s.applyAs(t, master, db, u, ownerB)
	if got := s.probe(t, s.login(t, db, u.Name), "items"); got != capsRead {
		t.Errorf("after the new owner's Apply: the user may %v, want %v", got, capsRead)
	}
	// The old resource's Delete may be retried.
	if err := Drop(ctx, master, s.engine, u.Name, ownerA); !errors.Is(err, ErrOwnedElsewhere) {
		t.Errorf("Drop as the old owner again = %v, want ErrOwnedElsewhere", err)
	}
	if !s.userExists(t, master, u.Name) {
		t.Errorf("after the old owner's repeated Drop: the user is gone")
	}
}

// testOwnerlessUsers: users applied without an owner (before owners were
// recorded) are dropped by any owner, and a Drop without an owner drops
// any user.
func testOwnerlessUsers(t *testing.T, s *server) {
	ctx := testContext(t)
	db, master := s.newDatabase(t)
	old := dbspec.User{Name: s.name("old")}
	s.apply(t, master, db, old)
	if err := Drop(ctx, master, s.engine, old.Name, ownerA); err != nil || s.userExists(t, master, old.Name) {
		t.Errorf("Drop as an owner of an ownerless user = %v, exists %t; want it dropped", err, s.userExists(t, master, old.Name))
	}
	owned := dbspec.User{Name: s.name("owned")}
	s.applyAs(t, master, db, owned, ownerB)
	if err := Drop(ctx, master, s.engine, owned.Name, ""); err != nil || s.userExists(t, master, owned.Name) {
		t.Errorf("Drop without an owner of an owned user = %v, exists %t; want it dropped", err, s.userExists(t, master, owned.Name))
	}
	if err := Drop(ctx, master, s.engine, owned.Name, "it's"); err == nil {
		t.Errorf("Drop with a quote in the owner = nil error, want it refused")
	}
}

// TestMySQLBookkeepingWithoutOwner: a bookkeeping table from before owners
// were recorded is read as ownerless and gains the column on Apply. Own
// server: the table is server-wide.
func TestMySQLBookkeepingWithoutOwner(t *testing.T) {
	t.Parallel()
	s := startMariaDB(t)
	ctx := testContext(t)
	db, master := s.newDatabase(t)
	s.masterExec(t, master, "CREATE DATABASE lambdards")
	s.masterExec(t, master, "CREATE TABLE lambdards.managed_users (`name` VARCHAR(80) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY, "+
		"`created_at` TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB")
	legacy := s.name("legacy")
	s.masterExec(t, master, "INSERT INTO lambdards.managed_users (`name`) VALUES ('"+legacy+"')")
	s.masterExec(t, master, fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", legacy, testPassword))

	if err := Drop(ctx, master, s.engine, legacy, ownerA); err != nil || s.userExists(t, master, legacy) {
		t.Errorf("Drop as an owner of a user in the old table = %v, exists %t; want it dropped", err, s.userExists(t, master, legacy))
	}
	u := dbspec.User{Name: s.name("mover")}
	s.applyAs(t, master, db, u, ownerA)
	s.applyAs(t, master, db, u, ownerB)
	if err := Drop(ctx, master, s.engine, u.Name, ownerA); !errors.Is(err, ErrOwnedElsewhere) || !s.userExists(t, master, u.Name) {
		t.Errorf("Drop as the old owner after the column was added = %v, exists %t; want ErrOwnedElsewhere and the user kept", err, s.userExists(t, master, u.Name))
	}
}

// testAuthenticationSwitches: a user moves from IAM to a password (a
// function switched to the Data API) and back, and each Apply, repeated or
// not, leaves exactly one way to sign in and the declared privileges.
func testAuthenticationSwitches(t *testing.T, s *server) {
	db, master := s.newDatabase(t)
	s.createTable(t, master, "items")
	u := dbspec.User{Name: s.name("switcher"), Access: dbspec.Write}
	check := func(step, want string, logsIn bool) {
		t.Helper()
		if got := s.authentication(t, master, u.Name); got != want {
			t.Errorf("%s: authentication of %s = %q, want %q", step, u.Name, got, want)
		}
		if fails := s.loginFails(t, db, u.Name); fails == logsIn {
			t.Errorf("%s: logging in with the password fails = %t, want %t", step, fails, !logsIn)
		}
	}

	// MySQL lists the authentication among the grants; the privileges must
	// not change with it.
	privileges := func() []string {
		t.Helper()
		var out []string
		for _, g := range s.grants(t, master, u.Name) {
			out = append(out, mysqlAuthGrant.ReplaceAllString(g, ""))
		}
		return out
	}
	s.applyIAM(t, master, db, u)
	check("IAM", s.iamAuth(), false)
	grants := privileges()

	s.apply(t, master, db, u)
	check("IAM, then a password", s.passwordAuth(), true)
	if got := s.probe(t, s.login(t, db, u.Name), "items"); got != capsWrite {
		t.Errorf("IAM, then a password: probe(items) = %v, want %v", got, capsWrite)
	}
	s.apply(t, master, db, u)
	check("the password applied again", s.passwordAuth(), true)
	if got := privileges(); !slices.Equal(got, grants) {
		t.Errorf("with a password: privileges %q, want those it had with IAM, %q", got, grants)
	}

	s.applyIAM(t, master, db, u)
	check("back to IAM", s.iamAuth(), false)
	s.applyIAM(t, master, db, u)
	check("IAM applied again", s.iamAuth(), false)
	if got := privileges(); !slices.Equal(got, grants) {
		t.Errorf("back to IAM: privileges %q, want %q", got, grants)
	}

	s.apply(t, master, db, u)
	check("a password again", s.passwordAuth(), true)
}

// mysqlAuthGrant is the authentication in MariaDB's SHOW GRANTS.
var mysqlAuthGrant = regexp.MustCompile(` IDENTIFIED (BY PASSWORD '[^']*'|VIA \S+( USING '[^']*')?)`)

// testPasswordHashedWithSCRAM: the Data API signs in to Aurora PostgreSQL
// 14 and higher only with SCRAM-hashed passwords, so Apply hashes with
// SCRAM even where the master's sessions would hash with md5.
func testPasswordHashedWithSCRAM(t *testing.T, s *server) {
	db, _ := s.newDatabase(t)
	s.pg.Exec(t, "ALTER DATABASE "+db+" SET password_encryption = 'md5'")
	master := s.open(t, s.master, s.masterPassword, db) // new sessions read the setting
	var setting string
	if err := master.QueryRowContext(testContext(t), "SHOW password_encryption").Scan(&setting); err != nil || setting != "md5" {
		t.Fatalf("SHOW password_encryption = %q, %v; want md5, or the test shows nothing", setting, err)
	}
	u := dbspec.User{Name: s.name("scram")}
	s.apply(t, master, db, u)
	if got, want := s.authentication(t, master, u.Name), s.passwordAuth(); got != want {
		t.Errorf("password applied where password_encryption is md5: %q, want %q", got, want)
	}
	if s.loginFails(t, db, u.Name) {
		t.Errorf("%s cannot log in with its password", u.Name)
	}
}

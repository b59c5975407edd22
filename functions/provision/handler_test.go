package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/lambdards/lambdards/internal/testdb"
)

const (
	secretARN      = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:master-AbCdEf"
	masterPassword = "master-password"
)

// fakeSecrets hands out the credentials of the secrets it holds, and counts
// the calls for each secret.
type fakeSecrets struct {
	mu      sync.Mutex
	secrets map[string]Credentials
	calls   map[string]int
}

func newFakeSecrets(secrets map[string]Credentials) *fakeSecrets {
	return &fakeSecrets{secrets: secrets, calls: map[string]int{}}
}

func (f *fakeSecrets) Credentials(_ context.Context, arn string) (Credentials, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[arn]++
	c, ok := f.secrets[arn]
	if !ok {
		return Credentials{}, fmt.Errorf("no secret %s", arn)
	}
	return c, nil
}

// Calls returns how often secret arn was asked for.
func (f *fakeSecrets) Calls(arn string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[arn]
}

// startPostgres starts PostgreSQL with TLS, a master user shaped like
// RDS's (CREATEROLE CREATEDB, no superuser), with rdsIAM a stand-in rds_iam
// role, and a database "app" owned by the master with a table of two rows.
func startPostgres(t *testing.T, rdsIAM bool) *testdb.Postgres {
	t.Helper()
	pg := testdb.StartPostgres(t, testdb.PostgresOptions{SSL: true})
	pg.Exec(t, "CREATE ROLE master LOGIN CREATEROLE CREATEDB PASSWORD '"+masterPassword+"'")
	if rdsIAM {
		pg.Exec(t, "CREATE ROLE rds_iam NOLOGIN")
	}
	pg.CreateDatabase(t, "app", "master")
	pg.CreateDatabase(t, "other", "master")
	master := masterDB(t, pg, "app")
	for _, q := range []string{
		"CREATE TABLE items (id serial PRIMARY KEY, v text)",
		"INSERT INTO items (v) VALUES ('a'), ('b')",
	} {
		if _, err := master.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return pg
}

func masterDB(t *testing.T, pg *testdb.Postgres, database string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", pg.UserDSN("master", masterPassword, database))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// event builds a request as the Provider framework passes it, with
// properties as strings.
func event(t *testing.T, requestType, physicalID string, props, old map[string]string) Event {
	t.Helper()
	raw := map[string]any{"RequestType": requestType, "ResourceProperties": props}
	if physicalID != "" {
		raw["PhysicalResourceId"] = physicalID
	}
	if old != nil {
		raw["OldResourceProperties"] = old
	}
	b, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	var ev Event
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// stackEvent is event from the resource logicalID of stack stackID.
func stackEvent(t *testing.T, stackID, logicalID, requestType, physicalID string, props map[string]string) Event {
	t.Helper()
	raw := map[string]any{"RequestType": requestType, "StackId": stackID, "LogicalResourceId": logicalID, "ResourceProperties": props}
	if physicalID != "" {
		raw["PhysicalResourceId"] = physicalID
	}
	b, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	var ev Event
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestHandlerFunctionMovesStack: a function's user resource moves from
// stack A to stack B, with B's Create before or after A's Delete. The
// user exists afterwards in both orders, and goes with B's Delete.
func TestHandlerFunctionMovesStack(t *testing.T) {
	t.Parallel()
	pg := startPostgres(t, true)
	master := masterDB(t, pg, "app")
	h, _ := newHandler()
	ctx := testContext(t)
	const (
		stackA  = "arn:aws:cloudformation:eu-west-1:123456789012:stack/App-0/aaaaaaaa-0000"
		stackB  = "arn:aws:cloudformation:eu-west-1:123456789012:stack/App-1/bbbbbbbb-1111"
		logical = "OrdersFnDbUser1A2B3C4D"
	)
	handle := func(stack, requestType, physicalID string, p map[string]string) {
		t.Helper()
		if _, err := h.Handle(ctx, stackEvent(t, stack, logical, requestType, physicalID, p)); err != nil {
			t.Fatalf("%s from %s: %v", requestType, stack, err)
		}
	}
	var comment string
	ownerOf := func(user string) string {
		t.Helper()
		if err := master.QueryRowContext(ctx, "SELECT coalesce(shobj_description(oid, 'pg_authid'), '') FROM pg_roles WHERE rolname = $1", user).Scan(&comment); err != nil {
			t.Fatal(err)
		}
		return comment
	}

	t.Run("create in B, then delete in A", func(t *testing.T) {
		p := props(pg, "app", `{"name":"fn_moved","access":"write"}`)
		id := "postgres:app:fn_moved"
		handle(stackA, "Create", "", p)
		handle(stackB, "Create", "", p)
		if got, want := ownerOf("fn_moved"), "managed by lambdards; owner "+stackB+"/"+logical; got != want {
			t.Errorf("after B's Create: comment %q, want %q", got, want)
		}
		handle(stackA, "Delete", id, p)
		if !roleExists(t, master, "fn_moved") {
			t.Fatalf("after A's Delete: fn_moved is gone, want it kept for stack B")
		}
		checkPrivileges(t, master, "fn_moved", "items", map[string]bool{"SELECT": true, "INSERT": true})
		checkRdsIam(t, master, "fn_moved")
		handle(stackB, "Delete", id, p)
		if roleExists(t, master, "fn_moved") {
			t.Errorf("after B's Delete: fn_moved still exists")
		}
	})
	t.Run("delete in A, then create in B", func(t *testing.T) {
		p := props(pg, "app", `{"name":"fn_moved2"}`)
		id := "postgres:app:fn_moved2"
		handle(stackA, "Create", "", p)
		handle(stackA, "Delete", id, p)
		if roleExists(t, master, "fn_moved2") {
			t.Fatalf("after A's Delete: fn_moved2 still exists")
		}
		handle(stackB, "Create", "", p)
		checkPrivileges(t, master, "fn_moved2", "items", map[string]bool{"SELECT": true, "INSERT": false})
		// CloudFormation may repeat A's Delete.
		handle(stackA, "Delete", id, p)
		if !roleExists(t, master, "fn_moved2") {
			t.Errorf("after A's repeated Delete: fn_moved2 is gone, want it kept for stack B")
		}
	})
}

func props(pg *testdb.Postgres, database, user string) map[string]string {
	return map[string]string{
		"ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:provider",
		"Engine":       "postgres",
		"Host":         pg.Host,
		"Port":         strconv.Itoa(pg.Port),
		"DatabaseName": database,
		"SecretArn":    secretARN,
		"User":         user,
	}
}

// newHandler returns a Handler whose secrets are the master's and the
// given functions' ones.
func newHandler(functions ...map[string]Credentials) (*Handler, *fakeSecrets) {
	all := map[string]Credentials{secretARN: {Username: "master", Password: masterPassword}}
	for _, f := range functions {
		maps.Copy(all, f)
	}
	secrets := newFakeSecrets(all)
	return &Handler{Secrets: secrets, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, secrets
}

// TestHandlerLifecycle drives one resource through Create, Update,
// replacement and Delete as CloudFormation would, against PostgreSQL.
func TestHandlerLifecycle(t *testing.T) {
	t.Parallel()
	pg := startPostgres(t, true)
	master := masterDB(t, pg, "app")
	h, secrets := newHandler()
	ctx := testContext(t)

	readerProps := props(pg, "app", `{"name":"fn_reader","access":"read"}`)
	resp, err := h.Handle(ctx, event(t, "Create", "", readerProps, nil))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if want := "postgres:app:fn_reader"; resp.PhysicalResourceID != want || resp.Data["Username"] != "fn_reader" {
		t.Errorf("Create = %+v, want PhysicalResourceId %q and Data.Username fn_reader", resp, want)
	}
	if n := secrets.Calls(secretARN); n != 1 {
		t.Errorf("Create fetched the master secret %d times, want 1", n)
	}
	checkPrivileges(t, master, "fn_reader", "items", map[string]bool{"SELECT": true, "INSERT": false})
	checkRdsIam(t, master, "fn_reader")

	// Same name, more access: updated in place.
	writerProps := props(pg, "app", `{"name":"fn_reader","access":"write"}`)
	resp, err = h.Handle(ctx, event(t, "Update", "postgres:app:fn_reader", writerProps, readerProps))
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if resp.PhysicalResourceID != "postgres:app:fn_reader" {
		t.Errorf("Update in place = %+v, want the same PhysicalResourceId", resp)
	}
	checkPrivileges(t, master, "fn_reader", "items", map[string]bool{"SELECT": true, "INSERT": true})

	// A new name replaces the user: the new one is created now, the old
	// one only when CloudFormation sends its Delete.
	renamedProps := props(pg, "app", `{"name":"fn_writer","access":"write","tables":["items"]}`)
	resp, err = h.Handle(ctx, event(t, "Update", "postgres:app:fn_reader", renamedProps, writerProps))
	if err != nil {
		t.Fatalf("Update renaming: %v", err)
	}
	if resp.PhysicalResourceID != "postgres:app:fn_writer" {
		t.Errorf("Update renaming = %+v, want PhysicalResourceId postgres:app:fn_writer", resp)
	}
	checkPrivileges(t, master, "fn_writer", "items", map[string]bool{"SELECT": true, "INSERT": true})
	if !roleExists(t, master, "fn_reader") {
		t.Errorf("after the renaming Update: fn_reader is gone, want it kept until CloudFormation deletes it")
	}
	resp, err = h.Handle(ctx, event(t, "Delete", "postgres:app:fn_reader", writerProps, nil))
	if err != nil {
		t.Fatalf("Delete of the replaced user: %v", err)
	}
	if resp.PhysicalResourceID != "postgres:app:fn_reader" {
		t.Errorf("Delete = %+v, want the request's PhysicalResourceId back", resp)
	}
	if roleExists(t, master, "fn_reader") || !roleExists(t, master, "fn_writer") {
		t.Errorf("after deleting the replaced user: fn_reader exists = %t, fn_writer exists = %t; want false, true",
			roleExists(t, master, "fn_reader"), roleExists(t, master, "fn_writer"))
	}

	// Stack deletion.
	if _, err := h.Handle(ctx, event(t, "Delete", "postgres:app:fn_writer", renamedProps, nil)); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if roleExists(t, master, "fn_writer") {
		t.Errorf("after Delete: fn_writer still exists")
	}
	var n int
	if err := master.QueryRowContext(ctx, "SELECT COUNT(*) FROM items").Scan(&n); err != nil || n < 2 {
		t.Errorf("after Delete: items has %d rows (%v), want its rows kept", n, err)
	}
	// CloudFormation may send a Delete again.
	if _, err := h.Handle(ctx, event(t, "Delete", "postgres:app:fn_writer", renamedProps, nil)); err != nil {
		t.Errorf("second Delete = %v, want nil", err)
	}
}

func TestHandlerRefusals(t *testing.T) {
	t.Parallel()
	pg := startPostgres(t, true)
	master := masterDB(t, pg, "app")
	h, _ := newHandler()
	ctx := testContext(t)
	if _, err := master.ExecContext(ctx, "CREATE ROLE legacy LOGIN"); err != nil {
		t.Fatal(err)
	}

	t.Run("create over an unmanaged user", func(t *testing.T) {
		_, err := h.Handle(ctx, event(t, "Create", "", props(pg, "app", `{"name":"legacy","access":"write"}`), nil))
		if err == nil || !strings.Contains(err.Error(), "lambdards did not create it") {
			t.Errorf("Create(existing unmanaged user) = %v, want an error saying lambdards did not create it", err)
		}
	})
	t.Run("delete of an unmanaged user", func(t *testing.T) {
		resp, err := h.Handle(ctx, event(t, "Delete", "postgres:app:legacy", props(pg, "app", `{"name":"legacy"}`), nil))
		if err != nil || resp.PhysicalResourceID != "postgres:app:legacy" {
			t.Errorf("Delete(unmanaged user) = %+v, %v; want success that keeps the id", resp, err)
		}
		if !roleExists(t, master, "legacy") {
			t.Errorf("Delete(unmanaged user) dropped it")
		}
	})
	t.Run("the master user", func(t *testing.T) {
		_, err := h.Handle(ctx, event(t, "Create", "", props(pg, "app", `{"name":"master"}`), nil))
		if err == nil || !strings.Contains(err.Error(), "master user") {
			t.Errorf("Create(the master user) = %v, want it refused as the master user", err)
		}
	})
	t.Run("moving a user to another database under its name", func(t *testing.T) {
		user := `{"name":"fn_mover"}`
		if _, err := h.Handle(ctx, event(t, "Create", "", props(pg, "app", user), nil)); err != nil {
			t.Fatal(err)
		}
		_, err := h.Handle(ctx, event(t, "Update", "postgres:app:fn_mover", props(pg, "other", user), props(pg, "app", user)))
		if err == nil || !strings.Contains(err.Error(), "give it a new name") {
			t.Errorf("Update moving fn_mover to database other = %v, want it refused", err)
		}
	})
	t.Run("secret unavailable", func(t *testing.T) {
		p := props(pg, "app", `{"name":"fn_nosecret"}`)
		p["SecretArn"] = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:missing"
		if _, err := h.Handle(ctx, event(t, "Create", "", p, nil)); err == nil {
			t.Errorf("Create with an unreadable secret = nil error, want one")
		}
		if roleExists(t, master, "fn_nosecret") {
			t.Errorf("Create with an unreadable secret created the user")
		}
	})
	t.Run("wrong master password", func(t *testing.T) {
		bad := &Handler{Secrets: newFakeSecrets(map[string]Credentials{secretARN: {Username: "master", Password: "wrong"}}), Log: h.Log}
		if _, err := bad.Handle(ctx, event(t, "Create", "", props(pg, "app", `{"name":"fn_badpw"}`), nil)); err == nil {
			t.Errorf("Create with a wrong master password = nil error, want one")
		}
	})
}

func TestHandlerRejectsBadRequests(t *testing.T) {
	good := map[string]string{
		"Engine": "postgres", "Host": "db.example.internal", "Port": "5432",
		"DatabaseName": "app", "SecretArn": secretARN, "User": `{"name":"fn_reader"}`,
	}
	with := func(changes map[string]string) map[string]string {
		p := map[string]string{}
		for k, v := range good {
			p[k] = v
		}
		for k, v := range changes {
			if v == "" {
				delete(p, k)
			} else {
				p[k] = v
			}
		}
		return p
	}
	for _, tc := range []struct {
		name  string
		props map[string]string
		want  []string
	}{
		{"unknown engine", with(map[string]string{"Engine": "oracle"}), []string{`Engine = "oracle"`}},
		{"no host", with(map[string]string{"Host": ""}), []string{"Host is not set"}},
		{"port not a number", with(map[string]string{"Port": "pg"}), []string{`Port = "pg"`}},
		{"port out of range", with(map[string]string{"Port": "70000"}), []string{`Port = "70000"`}},
		{"no database", with(map[string]string{"DatabaseName": ""}), []string{"DatabaseName is not set"}},
		{"unsafe database", with(map[string]string{"DatabaseName": "app;"}), []string{`DatabaseName: database "app;" is not a safe identifier`}},
		{"no secret", with(map[string]string{"SecretArn": ""}), []string{"SecretArn is not set"}},
		{"user not JSON", with(map[string]string{"User": "fn_reader"}), []string{"User is not a JSON object"}},
		{"user field misspelt", with(map[string]string{"User": `{"name":"fn_reader","acess":"write"}`}), []string{`unknown field "acess"`}},
		{"user trailing data", with(map[string]string{"User": `{"name":"fn_reader"} {}`}), []string{"trailing data"}},
		{"invalid user", with(map[string]string{"User": `{"name":"root","access":"admin"}`}), []string{`User.Name "root" is reserved`, `User.Access "admin"`}},
		{"cluster arn of another service", with(map[string]string{"Host": "", "Port": "", "ClusterArn": secretARN}), []string{"ClusterArn = "}},
		{"cluster arn of an instance", with(map[string]string{"Host": "", "Port": "", "ClusterArn": "arn:aws:rds:eu-west-1:123456789012:db:app"}), []string{"ClusterArn = "}},
		{"mysql through the data api", with(map[string]string{"Engine": "mysql", "Host": "", "Port": "", "ClusterArn": "arn:aws:rds:eu-west-1:123456789012:cluster:app"}),
			[]string{"cannot reach MySQL through the RDS Data API. Apply and Drop on MySQL wait for each other on a named lock (GET_LOCK)"}},
		{"everything", map[string]string{"User": `{"name":"x y"}`},
			[]string{"Engine", "Host", "Port", "DatabaseName", "SecretArn", `User.Name "x y"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, secrets := newHandler()
			_, err := h.Handle(context.Background(), event(t, "Create", "", tc.props, nil))
			var perr *PropertiesError
			if !errors.As(err, &perr) {
				t.Fatalf("Create(%v) = %v, want a *PropertiesError", tc.props, err)
			}
			if len(perr.Problems) != len(tc.want) {
				t.Errorf("Create(%v) = %d problems %q, want %d", tc.props, len(perr.Problems), perr.Problems, len(tc.want))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Create(%v) = %q, want it to say %q", tc.props, err, w)
				}
			}
			if len(secrets.calls) != 0 {
				t.Errorf("Create with bad properties fetched secrets %v", secrets.calls)
			}

			// Nothing can have been created from these properties, so a
			// Delete succeeds without touching anything.
			resp, err := h.Handle(context.Background(), event(t, "Delete", "some-id", tc.props, nil))
			if err != nil || resp.PhysicalResourceID != "some-id" {
				t.Errorf("Delete(%v) = %+v, %v; want success with the request's id", tc.props, resp, err)
			}
		})
	}

	h, _ := newHandler()
	if _, err := h.Handle(context.Background(), event(t, "Replace", "", good, nil)); err == nil {
		t.Errorf("RequestType Replace = nil error, want one")
	}
}

type fakeSecretsManager struct {
	out *secretsmanager.GetSecretValueOutput
	err error
}

func (f fakeSecretsManager) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return f.out, f.err
}

func TestSecretsManager(t *testing.T) {
	secret := func(s string) *secretsmanager.GetSecretValueOutput {
		return &secretsmanager.GetSecretValueOutput{SecretString: &s}
	}
	for _, tc := range []struct {
		name    string
		api     fakeSecretsManager
		want    Credentials
		wantErr string
	}{
		{"rds secret", fakeSecretsManager{out: secret(`{"engine":"postgres","host":"h","username":"master","password":"p@ss\"w0rd","dbname":"app"}`)},
			Credentials{Username: "master", Password: `p@ss"w0rd`}, ""},
		{"api error", fakeSecretsManager{err: errors.New("AccessDeniedException")}, Credentials{}, "AccessDeniedException"},
		{"binary secret", fakeSecretsManager{out: &secretsmanager.GetSecretValueOutput{SecretBinary: []byte("x")}}, Credentials{}, "no SecretString"},
		{"not json", fakeSecretsManager{out: secret("hunter2")}, Credentials{}, "not a JSON object"},
		{"no password", fakeSecretsManager{out: secret(`{"username":"master"}`)}, Credentials{}, "has no password"},
		{"neither", fakeSecretsManager{out: secret(`{}`)}, Credentials{}, "has no username or password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := (&SecretsManager{Client: tc.api}).Credentials(context.Background(), secretARN)
			if tc.wantErr == "" {
				if err != nil || got != tc.want {
					t.Errorf("Credentials() = %+v, %v; want %+v", got, err, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Credentials() = %v, want an error saying %q", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Credentials() = %v, which quotes the secret", err)
			}
		})
	}
}

func checkPrivileges(t *testing.T, master *sql.DB, user, table string, want map[string]bool) {
	t.Helper()
	for priv, w := range want {
		var got bool
		if err := master.QueryRow("SELECT has_table_privilege($1, $2, $3)", user, table, priv).Scan(&got); err != nil {
			t.Fatalf("has_table_privilege(%s, %s, %s): %v", user, table, priv, err)
		}
		if got != w {
			t.Errorf("has_table_privilege(%s, %s, %s) = %t, want %t", user, table, priv, got, w)
		}
	}
}

func checkRdsIam(t *testing.T, master *sql.DB, user string) {
	t.Helper()
	var got bool
	if err := master.QueryRow("SELECT pg_has_role($1, 'rds_iam', 'MEMBER')", user).Scan(&got); err != nil || !got {
		t.Errorf("pg_has_role(%s, rds_iam) = %t, %v; want true", user, got, err)
	}
}

func roleExists(t *testing.T, master *sql.DB, name string) bool {
	t.Helper()
	var exists bool
	if err := master.QueryRow("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	return exists
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

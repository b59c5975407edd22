package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/functions/dbconn"
	"github.com/lambdards/lambdards/internal/dataapi"
	"github.com/lambdards/lambdards/internal/testdb"
)

const (
	clusterARN = "arn:aws:rds:eu-west-1:123456789012:cluster:app"
	// fnSecretPrefix names the functions' own secrets: prefix + user.
	fnSecretPrefix = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:fn-"
)

// fnSecrets gives each user a secret of its own, named fnSecretPrefix +
// user, holding the user and its password.
func fnSecrets(users ...string) map[string]Credentials {
	out := map[string]Credentials{}
	for _, u := range users {
		out[fnSecretPrefix+u] = Credentials{Username: u, Password: "pw-" + u + "-Zq8!"}
	}
	return out
}

// withPassword is p with the user's own secret as PasswordSecretArn.
func withPassword(p map[string]string, user string) map[string]string {
	out := map[string]string{}
	for k, v := range p {
		out[k] = v
	}
	out["PasswordSecretArn"] = fnSecretPrefix + user
	return out
}

// throughDataAPI is p reaching the database through the Data API: ClusterArn
// instead of Host and Port.
func throughDataAPI(p map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range p {
		if k != "Host" && k != "Port" {
			out[k] = v
		}
	}
	out["ClusterArn"] = clusterARN
	return out
}

// logsIn reports whether user signs in to database app with password,
// straight to PostgreSQL.
func logsIn(t *testing.T, pg *testdb.Postgres, user, password string) bool {
	t.Helper()
	db, err := sql.Open("pgx", pg.UserDSN(user, password, "app"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = db.ExecContext(testContext(t), "SELECT 1")
	return err == nil
}

func inRdsIam(t *testing.T, master *sql.DB, user string) bool {
	t.Helper()
	var member bool
	if err := master.QueryRow("SELECT pg_has_role($1, 'rds_iam', 'MEMBER')", user).Scan(&member); err != nil {
		t.Fatalf("pg_has_role(%s, rds_iam): %v", user, err)
	}
	return member
}

// TestHandlerPasswordSecret switches a user between IAM and the password in
// its own secret (PasswordSecretArn) with Updates, and refuses secrets that
// do not fit the declared user.
func TestHandlerPasswordSecret(t *testing.T) {
	t.Parallel()
	pg := startPostgres(t, true)
	master := masterDB(t, pg, "app")
	fns := fnSecrets("fn_switch", "fn_other")
	fns[fnSecretPrefix+"fn_quote"] = Credentials{Username: "fn_quote", Password: "it's-a-secret"}
	h, secrets := newHandler(fns)
	ctx := testContext(t)
	handle := func(requestType, physicalID string, p, old map[string]string) error {
		t.Helper()
		_, err := h.Handle(ctx, event(t, requestType, physicalID, p, old))
		return err
	}
	const id = "postgres:app:fn_switch"
	password := fns[fnSecretPrefix+"fn_switch"].Password

	iam := props(pg, "app", `{"name":"fn_switch","access":"write"}`)
	if err := handle("Create", "", iam, nil); err != nil {
		t.Fatalf("Create with IAM: %v", err)
	}
	if !inRdsIam(t, master, "fn_switch") || logsIn(t, pg, "fn_switch", password) {
		t.Errorf("after Create with IAM: in rds_iam %t, logs in with the password %t; want true, false",
			inRdsIam(t, master, "fn_switch"), logsIn(t, pg, "fn_switch", password))
	}

	pw := withPassword(iam, "fn_switch")
	if err := handle("Update", id, pw, iam); err != nil {
		t.Fatalf("Update to the password: %v", err)
	}
	if inRdsIam(t, master, "fn_switch") || !logsIn(t, pg, "fn_switch", password) {
		t.Errorf("after the Update to the password: in rds_iam %t, logs in %t; want false, true",
			inRdsIam(t, master, "fn_switch"), logsIn(t, pg, "fn_switch", password))
	}
	checkPrivileges(t, master, "fn_switch", "items", map[string]bool{"SELECT": true, "INSERT": true})
	if n := secrets.Calls(fnSecretPrefix + "fn_switch"); n != 1 {
		t.Errorf("the Update read the function's secret %d times, want 1", n)
	}

	if err := handle("Update", id, iam, pw); err != nil {
		t.Fatalf("Update back to IAM: %v", err)
	}
	if !inRdsIam(t, master, "fn_switch") || logsIn(t, pg, "fn_switch", password) {
		t.Errorf("after the Update back to IAM: in rds_iam %t, logs in with the password %t; want true, false",
			inRdsIam(t, master, "fn_switch"), logsIn(t, pg, "fn_switch", password))
	}

	t.Run("secret of another user", func(t *testing.T) {
		p := props(pg, "app", `{"name":"fn_mixed"}`)
		p["PasswordSecretArn"] = fnSecretPrefix + "fn_other"
		err := handle("Create", "", p, nil)
		if err == nil || !strings.Contains(err.Error(), `another database user than "fn_mixed"`) {
			t.Errorf("Create with fn_other's secret for fn_mixed = %v, want it refused as another user's", err)
		}
		if err != nil && strings.Contains(err.Error(), fns[fnSecretPrefix+"fn_other"].Password) {
			t.Errorf("Create = %q, which quotes the secret's password", err)
		}
		if roleExists(t, master, "fn_mixed") {
			t.Errorf("the refused Create created fn_mixed")
		}
	})
	t.Run("password with a quote", func(t *testing.T) {
		err := handle("Create", "", withPassword(props(pg, "app", `{"name":"fn_quote"}`), "fn_quote"), nil)
		if err == nil || !strings.Contains(err.Error(), "printable ASCII without") {
			t.Errorf("Create with a quote in the password = %v, want it refused", err)
		}
		if err != nil && strings.Contains(err.Error(), "it's-a-secret") {
			t.Errorf("Create = %q, which quotes the password", err)
		}
		if roleExists(t, master, "fn_quote") {
			t.Errorf("the refused Create created fn_quote")
		}
	})
	t.Run("delete reads no function secret", func(t *testing.T) {
		// The secret may be gone by then: CloudFormation deletes it
		// after the resource that refers to it.
		p := withPassword(iam, "fn_switch")
		p["PasswordSecretArn"] = fnSecretPrefix + "deleted"
		if err := handle("Delete", id, p, nil); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if roleExists(t, master, "fn_switch") {
			t.Errorf("after Delete: fn_switch still exists")
		}
		if n := secrets.Calls(fnSecretPrefix + "deleted"); n != 0 {
			t.Errorf("Delete read the function's secret %d times, want 0", n)
		}
	})
}

// lockKey is dbuser's advisory lock ("lambdards" in ASCII), which every
// Apply and Drop on a PostgreSQL database takes first.
const lockKey int64 = 0x6c616d6264617264

// TestHandlerDataAPI provisions through the RDS Data API (the local
// stand-in over a real PostgreSQL that has no rds_iam role): password users
// that sign in through it, Applies that wait for one another on the
// advisory lock inside their Data API transactions, a cluster resuming from
// auto-pause, and Deletes.
func TestHandlerDataAPI(t *testing.T) {
	t.Parallel()
	pg := startPostgres(t, false)
	master := masterDB(t, pg, "app")
	users := []string{"fn_api", "fn_c1", "fn_c2", "fn_c3", "fn_c4", "fn_c5"}
	fns := fnSecrets(users...)
	standinSecrets := map[string]dataapi.Credentials{secretARN: {Username: "master", Password: masterPassword}}
	for arn, c := range fns {
		standinSecrets[arn] = dataapi.Credentials{Username: c.Username, Password: c.Password}
	}
	standin := dataapi.Start(t, dataapi.Options{
		Engine: dbspec.Postgres, Addr: net.JoinHostPort(pg.Host, strconv.Itoa(pg.Port)),
		ClusterARN: clusterARN, Secrets: standinSecrets,
	})
	// The master secret is the Data API's to read: the fake does not hold it.
	secrets := newFakeSecrets(fns)
	h, _ := newHandler()
	h.Secrets = secrets
	h.DataAPIEndpoint = standin.URL
	h.Credentials = credentials.NewStaticCredentialsProvider("AKIDTEST", "test-secret", "")
	ctx := testContext(t)
	userProps := func(user, access string) map[string]string {
		return withPassword(throughDataAPI(props(pg, "app", fmt.Sprintf(`{"name":%q,"access":%q}`, user, access))), user)
	}

	resp, err := h.Handle(ctx, event(t, "Create", "", userProps("fn_api", "write"), nil))
	if err != nil {
		t.Fatalf("Create through the Data API: %v", err)
	}
	if resp.PhysicalResourceID != "postgres:app:fn_api" {
		t.Errorf("Create = %+v, want PhysicalResourceId postgres:app:fn_api", resp)
	}
	if n := secrets.Calls(secretARN); n != 0 {
		t.Errorf("the provisioner read the master secret %d times, want 0: the Data API reads it", n)
	}
	checkPrivileges(t, master, "fn_api", "items", map[string]bool{"SELECT": true, "INSERT": true})
	var roles int
	if err := master.QueryRowContext(ctx, "SELECT count(*) FROM pg_auth_members WHERE member = 'fn_api'::regrole").Scan(&roles); err != nil || roles != 0 {
		t.Errorf("fn_api is a member of %d roles (%v), want none", roles, err)
	}
	if !logsIn(t, pg, "fn_api", fns[fnSecretPrefix+"fn_api"].Password) {
		t.Errorf("fn_api cannot sign in with the password in its secret")
	}
	// The function's way in: the Data API with the function's secret.
	fn, err := dbconn.New(dbconn.Config{
		Mode: dbconn.ModeDataAPI, Engine: dbspec.Postgres, Database: "app", Region: "eu-west-1",
		ClusterARN: clusterARN, SecretARN: fnSecretPrefix + "fn_api", Endpoint: standin.URL, Credentials: h.Credentials,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()
	var who string
	err = fn.Do(ctx, func(ctx context.Context, db *sql.DB) error {
		if _, err := db.ExecContext(ctx, "INSERT INTO items (v) VALUES ('through the data api')"); err != nil {
			return err
		}
		return db.QueryRowContext(ctx, "SELECT current_user").Scan(&who)
	})
	if err != nil || who != "fn_api" {
		t.Errorf("fn_api through the Data API: current_user %q, error %v; want fn_api and its insert", who, err)
	}

	t.Run("concurrent Applies wait for the lock", func(t *testing.T) {
		// Hold the lock from a session of our own, so that every Apply
		// must wait for it: each waits inside its Data API transaction,
		// on the session the transaction runs on.
		holder, err := master.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer holder.Close()
		if _, err := holder.ExecContext(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
			t.Fatal(err)
		}
		creates := users[1:]
		errs := make([]error, len(creates))
		var wg sync.WaitGroup
		for i, u := range creates {
			wg.Go(func() {
				_, errs[i] = h.Handle(ctx, event(t, "Create", "", userProps(u, []string{"read", "write", "ddl"}[i%3]), nil))
			})
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()

		waiting := 0
		for deadline := time.Now().Add(30 * time.Second); waiting < len(creates); time.Sleep(20 * time.Millisecond) {
			if err := master.QueryRowContext(ctx, `SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
				WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = 'app'`).Scan(&waiting); err != nil {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				break
			}
		}
		select {
		case <-done:
			t.Fatalf("the Creates returned while the lock was held elsewhere (errors %v), want them waiting for it", errs)
		default:
		}
		if waiting != len(creates) {
			t.Errorf("%d sessions wait for the advisory lock, want one per Create, %d", waiting, len(creates))
		}
		for _, u := range creates {
			if roleExists(t, master, u) {
				t.Errorf("%s exists while its Create waits for the lock, want nothing done before it", u)
			}
		}
		if _, err := holder.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", lockKey); err != nil {
			t.Fatal(err)
		}
		<-done
		for i, u := range creates {
			if errs[i] != nil {
				t.Errorf("Create of %s after the lock was released: %v", u, errs[i])
				continue
			}
			if !logsIn(t, pg, u, fns[fnSecretPrefix+u].Password) {
				t.Errorf("%s cannot sign in with its password", u)
			}
			checkPrivileges(t, master, u, "items", map[string]bool{"SELECT": true})
		}
	})

	t.Run("resuming cluster", func(t *testing.T) {
		before := standin.Count("DatabaseResumingException")
		standin.Pause(500 * time.Millisecond)
		if _, err := h.Handle(ctx, event(t, "Delete", "postgres:app:fn_c1", userProps("fn_c1", "read"), nil)); err != nil {
			t.Fatalf("Delete while the cluster resumes: %v", err)
		}
		if standin.Count("DatabaseResumingException") == before {
			t.Errorf("the Delete met no DatabaseResumingException; the test shows nothing about resuming")
		}
		if roleExists(t, master, "fn_c1") {
			t.Errorf("after the Delete: fn_c1 still exists")
		}
	})

	for _, u := range users[2:] {
		if _, err := h.Handle(ctx, event(t, "Delete", "postgres:app:"+u, userProps(u, "read"), nil)); err != nil {
			t.Fatalf("Delete of %s: %v", u, err)
		}
		if roleExists(t, master, u) {
			t.Errorf("after its Delete: %s still exists", u)
		}
	}
	if _, err := h.Handle(ctx, event(t, "Delete", "postgres:app:fn_api", userProps("fn_api", "write"), nil)); err != nil {
		t.Fatalf("Delete of fn_api: %v", err)
	}
	var n int
	if err := master.QueryRowContext(ctx, "SELECT count(*) FROM items").Scan(&n); err != nil || n != 3 {
		t.Errorf("after the Deletes: items has %d rows (%v), want its 3 kept", n, err)
	}
	if roleExists(t, master, "fn_api") {
		t.Errorf("after its Delete: fn_api still exists")
	}
}

// TestParseDataAPIProperties: ClusterArn replaces Host and Port, and gives
// the Region the Data API is called in.
func TestParseDataAPIProperties(t *testing.T) {
	raw := `{"Engine":"postgres","ClusterArn":"` + clusterARN + `","DatabaseName":"app","SecretArn":"` + secretARN +
		`","PasswordSecretArn":"` + fnSecretPrefix + `fn","User":"{\"name\":\"fn\"}"}`
	got, err := parseProperties([]byte(raw))
	if err != nil {
		t.Fatalf("parseProperties(%s) = %v", raw, err)
	}
	want := target{engine: dbspec.Postgres, cluster: clusterARN, region: "eu-west-1", database: "app", secret: secretARN,
		passwordSecret: fnSecretPrefix + "fn", user: dbspec.User{Name: "fn"}}
	if got.engine != want.engine || got.cluster != want.cluster || got.region != want.region || got.host != "" || got.port != 0 ||
		got.secret != want.secret || got.passwordSecret != want.passwordSecret || got.user.Name != "fn" {
		t.Errorf("parseProperties(%s) = %+v, want %+v", raw, got, want)
	}
	// Host and Port, which a construct may pass along, are not used.
	withHost := strings.Replace(raw, `"ClusterArn"`, `"Host":"db.example.internal","Port":"not used","ClusterArn"`, 1)
	if got, err := parseProperties([]byte(withHost)); err != nil || got.cluster != clusterARN || got.port != 0 {
		t.Errorf("parseProperties(%s) = %+v, %v; want the Data API target, Port unused", withHost, got, err)
	}
	var perr *PropertiesError
	if _, err := parseProperties([]byte(`{"Engine":"postgres"}`)); !errors.As(err, &perr) {
		t.Errorf("parseProperties(no settings) = %v, want a *PropertiesError", err)
	}
}

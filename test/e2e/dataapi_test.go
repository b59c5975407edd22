package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/functions/dbconn"
	"github.com/lambdards/lambdards/functions/dbenv"
	"github.com/lambdards/lambdards/functions/provision/dbuser"
	"github.com/lambdards/lambdards/internal/dataapi"
	"github.com/lambdards/lambdards/internal/testdb"
)

// The Data API scenarios synthesize the app as the cheapest preset does (connection=dataapi,
// Aurora PostgreSQL Serverless v2) and run its function against the RDS Data API stand-in
// (internal/dataapi) over a real PostgreSQL: the function signs in as its own user with
// the password in its own secret.
const (
	// dataAPIRegion is the Region of the stand-in's ARNs: the emulators' AWS_REGION, in
	// which dbconn signs its Data API requests.
	dataAPIRegion = "us-east-1"
	// dataAPIClusterARN is the cluster the stand-in answers for. A deploy gives the
	// function its cluster's ARN, which the template holds as a token.
	dataAPIClusterARN = "arn:aws:rds:" + dataAPIRegion + ":123456789012:cluster:lambdards-e2e"
	// dataAPISecretPrefix names the stand-in's secrets: the prefix and the user. A deploy
	// gives each function a secret of its own (a Ref in the template).
	dataAPISecretPrefix = "arn:aws:secretsmanager:" + dataAPIRegion + ":123456789012:secret:lambdards-e2e-"
	// dataAPIMaster is the master user, shaped like Aurora's: it may create roles and
	// databases, and is no superuser.
	dataAPIMaster = "master"
)

// dataAPICredentials sign the requests of the harness and of the functions: the stand-in
// checks that a request is signed for rds-data, not by whom.
var dataAPICredentials = credentials.NewStaticCredentialsProvider("AKIDLAMBDARDSE2E", "lambdards-e2e-secret", "")

// dataAPIDatabase is the local stand-in for an Aurora PostgreSQL cluster with its Data
// API on: PostgreSQL, sized as the budget's database, behind the Data API stand-in.
type dataAPIDatabase struct {
	// database is PostgreSQL and the function's user, whose connections the sampler
	// counts.
	*database
	Standin *dataapi.Server
}

// dataAPISecret is the ARN of user's secret on the stand-in.
func dataAPISecret(user string) string { return dataAPISecretPrefix + user }

// startDataAPI starts PostgreSQL with the budget's max_connections and reserved slots
// (Aurora PostgreSQL's, which PostgreSQL 15 keeps as superuser_reserved_connections),
// the function's database owned by the master user, and the Data API stand-in in front
// of it, which knows the master's secret and one for the function's declared user and
// each of others. It then provisions those users as the provisioner does with
// ClusterArn and PasswordSecretArn: dbuser.Apply through the Data API, signed in as the
// master, with the password in the user's secret. The server has no rds_iam role:
// password users need none.
func startDataAPI(t testing.TB, a *assembly, others ...dbspec.User) *dataAPIDatabase {
	t.Helper()
	name := a.Env[dbenv.Name]
	pg := testdb.StartPostgres(t, testdb.PostgresOptions{
		MaxConnections:               a.MaxConnections,
		SuperuserReservedConnections: a.Budget.ReservedConnections,
	})
	masterPassword := password(t)
	pg.Exec(t, fmt.Sprintf("CREATE ROLE %s LOGIN CREATEROLE CREATEDB PASSWORD '%s'", dataAPIMaster, masterPassword))
	pg.CreateDatabase(t, name, dataAPIMaster)

	all := append([]dbspec.User{a.User}, others...)
	passwords := map[string]string{}
	secrets := map[string]dataapi.Credentials{dataAPISecret(dataAPIMaster): {Username: dataAPIMaster, Password: masterPassword}}
	for _, u := range all {
		passwords[u.Name] = password(t)
		secrets[dataAPISecret(u.Name)] = dataapi.Credentials{Username: u.Name, Password: passwords[u.Name]}
	}
	standin := dataapi.Start(t, dataapi.Options{
		Engine: dbspec.Postgres, Addr: net.JoinHostPort(pg.Host, strconv.Itoa(pg.Port)),
		ClusterARN: dataAPIClusterARN, Secrets: secrets,
	})

	master, err := dbconn.New(dbconn.Config{
		Mode: dbconn.ModeDataAPI, Engine: dbspec.Postgres, Database: name, Region: dataAPIRegion,
		ClusterARN: dataAPIClusterARN, SecretARN: dataAPISecret(dataAPIMaster),
		Endpoint: standin.URL, Credentials: dataAPICredentials,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, u := range all {
		err := master.Do(ctx, func(ctx context.Context, db *sql.DB) error {
			return dbuser.Apply(ctx, db, dbspec.Postgres, name, u, &dbuser.Options{Password: passwords[u.Name]})
		})
		if err != nil {
			t.Fatalf("provisioning %+v through the Data API: %v", u, err)
		}
	}
	return &dataAPIDatabase{
		database: &database{PG: pg, User: a.User.Name, Password: passwords[a.User.Name], Name: name},
		Standin:  standin,
	}
}

// FunctionEnv is the function's environment as the Data API app synthesizes it (mode,
// engine, database, connections per environment; no host, port, user, auth or TLS, as
// readAssembly has checked), signed in as user: the template's tokens for the cluster and
// the function's secret become the stand-in's ARNs. It adds what Lambda gives every
// function, credentials to sign with, and AWS_ENDPOINT_URL_RDS_DATA, which sends the
// SDK's requests to the stand-in.
func (d *dataAPIDatabase) FunctionEnv(a *assembly, user string) map[string]string {
	env := map[string]string{}
	for k, v := range a.Env {
		env[k] = v
	}
	env[dbenv.ClusterARN] = dataAPIClusterARN
	env[dbenv.SecretARN] = dataAPISecret(user)
	env["AWS_ENDPOINT_URL_RDS_DATA"] = d.Standin.URL
	creds, _ := dataAPICredentials.Retrieve(context.Background())
	env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = creds.AccessKeyID, creds.SecretAccessKey
	return env
}

// TestDataAPICap runs as many environments as the function's reserved concurrency, the
// bundled arm64 bootstrap as in TestCap, through the Data API: every request must
// succeed, and PostgreSQL must never hold more of the function's connections than the
// budget gives the function. In dataapi mode the budget counts each statement in flight
// as one connection of the Data API's pool; an environment runs one at a time
// (LAMBDARDS_DB_MAX_CONNS=1), and the stand-in runs each on a connection of its own.
func TestDataAPICap(t *testing.T) {
	t.Parallel()
	a := synthesizeDataAPI(t)
	db := startDataAPI(t, a)
	n := a.ReservedConcurrency
	envs := startEnvironments(t, a, n, db.FunctionEnv(a, a.User.Name))

	s := startSampler(t, db.database)
	l := &load{Envs: envs, PerEnv: capRequestsPerEnv, Event: mixedEvents("dataapi"), Timeout: a.requestTimeout()}
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	outs := l.Run(ctx)
	peak, samples := s.Stop(t)
	st := summarize(outs)
	t.Logf("%d environments, %d requests in %v, p50 %v, p99 %v, cold p50 %v; %d Data API statements; peak %d connections of %s over %d samples, budget %d",
		n, st.Requests, st.Elapsed.Round(time.Millisecond), st.P50, st.P99, st.ColdP50, db.Standin.Count("ExecuteStatement"),
		peak, db.User, samples, a.Function.Connections)

	if want := n * capRequestsPerEnv; st.Requests != want || st.OK != want {
		t.Errorf("%d of %d requests succeeded (%d made), want all; failures: %s", st.OK, want, st.Requests, failures(outs, 5))
	}
	if budget := a.Function.Connections; peak > budget {
		t.Errorf("peak connections of %s = %d, want at most the budget's %d for the function", db.User, peak, budget)
	}
	// The stand-in keeps idle connections of the function's user between requests, so
	// the sampler must see some: if it saw none, it counts the wrong thing.
	if peak == 0 {
		t.Errorf("the sampler saw no connection of %s; it counts the wrong user or database", db.User)
	}
	checkPutsStored(t, db.database, outs)
}

// TestDataAPIReadOnly signs a function in through the Data API as a read-only user: its
// put must fail with PostgreSQL's permission error, which the handler reports as an
// error not to retry, and leave no row.
func TestDataAPIReadOnly(t *testing.T) {
	t.Parallel()
	a := synthesizeDataAPI(t)
	reader := dbspec.User{Name: a.User.Name + "_reader", Access: dbspec.Read}
	db := startDataAPI(t, a, reader)
	native := nativeBootstrap(t)
	writer := startEnvironmentsOf(t, a, native, 1, db.FunctionEnv(a, a.User.Name))
	readers := startEnvironmentsOf(t, a, native, 1, db.FunctionEnv(a, reader.Name))
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()

	// The function's own user creates the table, as its first invocation after a deploy
	// does, and writes.
	outs := (&load{Envs: writer, PerEnv: 1, Event: func(int, int) string { return putEvent("by-writer") }, Timeout: a.requestTimeout()}).Run(ctx)
	if len(outs) != 1 || !outs[0].OK() {
		t.Fatalf("put as %s: %s", a.User.Name, failures(outs, 1))
	}

	outs = (&load{Envs: readers, PerEnv: 1, Event: func(int, int) string { return putEvent("by-reader") }, Timeout: a.requestTimeout()}).Run(ctx)
	if len(outs) != 1 {
		t.Fatalf("put as %s: %d outcomes, want 1", reader.Name, len(outs))
	}
	o := outs[0]
	t.Logf("put as %s: errorType %q after %v: %.300s", reader.Name, o.ErrorType, o.Latency.Round(time.Millisecond), o.Body)
	switch {
	case o.OK():
		t.Errorf("put as %s succeeded (%s), want PostgreSQL to refuse the read-only user", reader.Name, o.Body)
	case o.ErrorType == "RetryableError" || o.ErrorType == "harness":
		t.Errorf("put as %s: errorType %q: %.300s; want an error not to retry", reader.Name, o.ErrorType, o.Body)
	case !strings.Contains(o.Body, "permission denied") || !strings.Contains(o.Body, "42501"):
		t.Errorf("put as %s: %.300s; want PostgreSQL's permission error, SQLSTATE 42501", reader.Name, o.Body)
	}
	var n int
	if err := db.AppConn(t).QueryRow(ctx, "SELECT count(*) FROM items WHERE name = 'by-reader'").Scan(&n); err != nil || n != 0 {
		t.Errorf("items holds %d rows put by %s (%v), want none", n, reader.Name, err)
	}
}

// resumeTime is how long the stand-in takes to resume: about what Aurora Serverless v2
// takes to resume an auto-paused instance, 15 s (Amazon Aurora User Guide, "Scaling to
// Zero ACUs with automatic pause and resume for Aurora Serverless v2", as collected in
// ../shared/docs/aws-facts.md).
const resumeTime = 15 * time.Second

// TestDataAPIResume pauses the cluster under warm environments: the stand-in answers
// DatabaseResumingException until the resume is over, and every request must be retried
// to success within the function's timeout.
func TestDataAPIResume(t *testing.T) {
	t.Parallel()
	a := synthesizeDataAPI(t)
	db := startDataAPI(t, a)
	n := a.ReservedConcurrency
	envs := startEnvironmentsOf(t, a, nativeBootstrap(t), n, db.FunctionEnv(a, a.User.Name))
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()

	// Warm every environment first, so that what follows shows the resume, not cold starts.
	warm := (&load{Envs: envs, PerEnv: 1, Event: func(int, int) string { return listEvent }, Timeout: a.requestTimeout()}).Run(ctx)
	if st := summarize(warm); st.OK != n {
		t.Fatalf("warming %d environments: %d succeeded; failures: %s", n, st.OK, failures(warm, 5))
	}

	before := db.Standin.Count("DatabaseResumingException")
	db.Standin.Pause(resumeTime)
	l := &load{Envs: envs, PerEnv: 3, Event: mixedEvents("resume"), Timeout: a.requestTimeout()}
	outs := l.Run(ctx)
	st := summarize(outs)
	resuming := db.Standin.Count("DatabaseResumingException") - before
	var slowest time.Duration
	for _, o := range outs {
		slowest = max(slowest, o.Latency)
	}
	t.Logf("resume of %v: %d requests, %d succeeded, %d DatabaseResumingException answers, slowest request %v, p50 %v",
		resumeTime, st.Requests, st.OK, resuming, slowest.Round(time.Millisecond), st.P50)

	if want := n * 3; st.Requests != want || st.OK != want {
		t.Errorf("%d of %d requests succeeded (%d made), want all, retried through the resume; failures: %s", st.OK, want, st.Requests, failures(outs, 5))
	}
	if resuming == 0 {
		t.Errorf("no request met DatabaseResumingException; the run shows nothing about resuming")
	}
	if limit := time.Duration(a.TimeoutSeconds) * time.Second; slowest >= limit {
		t.Errorf("slowest request took %v, want it within the function's %v timeout", slowest, limit)
	}
	checkPutsStored(t, db.database, outs)
}

// TestDataAPIAssemblyChecks: the harness refuses a Data API app whose function is not
// wired as the scenarios assume, each fault with its own message.
func TestDataAPIAssemblyChecks(t *testing.T) {
	t.Parallel()
	good := synthesizeDataAPI(t)
	if err := good.check(); err != nil {
		t.Fatalf("check() of the synthesized Data API app = %v", err)
	}
	for _, tc := range []struct {
		name   string
		change func(a *assembly)
		want   string
	}{
		{"in a VPC", func(a *assembly) { a.InVPC = true }, "has a VpcConfig"},
		{"a host", func(a *assembly) { a.Env[dbenv.Host] = "db.example.internal" }, dbenv.Host + " is set"},
		{"connection mode", func(a *assembly) { a.Env[dbenv.Mode] = "connection" }, dbenv.Mode + ` = "connection"`},
		{"another secret for the user", func(a *assembly) { a.UserProps["PasswordSecretArn"] = json.RawMessage(`{"Ref":"OtherSecret"}`) }, "the user's PasswordSecretArn is"},
		{"a secret of another user", func(a *assembly) {
			a.Secrets = map[string]string{}
			for k := range good.Secrets {
				a.Secrets[k] = "someone_else"
			}
		}, "want the declared user"},
		{"a cluster ARN as a string", func(a *assembly) { delete(a.EnvTokens, dbenv.ClusterARN) }, dbenv.ClusterARN + " is not a token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := *good
			a.Env, a.EnvTokens, a.UserProps = maps.Clone(good.Env), maps.Clone(good.EnvTokens), maps.Clone(good.UserProps)
			tc.change(&a)
			if err := a.check(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("check() with %s = %v, want it to say %q", tc.name, err, tc.want)
			}
		})
	}
}

package dbconn

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/internal/testdb"
)

// recordTokens makes d build an IAM token for every new connection, as it
// does in Lambda, but log in with password, since the test servers cannot
// check IAM tokens. It returns the tokens built so far.
func recordTokens(d *DB, password string) func() []string {
	var mu sync.Mutex
	var tokens []string
	d.password = func(ctx context.Context) (string, error) {
		tok, err := d.iamToken(ctx)
		if err != nil {
			return "", err
		}
		mu.Lock()
		tokens = append(tokens, tok)
		mu.Unlock()
		return password, nil
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), tokens...)
	}
}

// TestIAMTokenPerConnection checks the IAM path end to end short of the
// proxy's check: TLS on (verify-full against the test CA), the cleartext
// plugin allowed for MySQL, and one fresh token for each new physical
// connection, none for reused ones.
func TestIAMTokenPerConnection(t *testing.T) {
	t.Parallel()
	creds := credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "SECRET", "SESSION")

	type server struct {
		cfg  Config
		pw   string
		kill func(t *testing.T, id int) // ends the session with that id
		id   string                     // query returning the session id
	}
	servers := map[string]func(t *testing.T) server{
		"postgres": func(t *testing.T) server {
			pg := testdb.StartPostgres(t, testdb.PostgresOptions{SSL: true})
			pg.CreateUser(t, "iam_user", "pw")
			pg.CreateDatabase(t, "iam_db", "iam_user")
			return server{
				cfg: Config{Engine: dbspec.Postgres, Host: pg.Host, Port: pg.Port, User: "iam_user", Database: "iam_db",
					Region: "us-east-1", RootCAs: pg.RootCAs(), Credentials: creds},
				pw:   "pw",
				kill: func(t *testing.T, id int) { pg.Exec(t, "SELECT pg_terminate_backend($1)", id) },
				id:   "SELECT pg_backend_pid()",
			}
		},
		"mysql": func(t *testing.T) server {
			m := testdb.StartMariaDB(t, testdb.MariaDBOptions{SSL: true})
			m.CreateUser(t, "iam_user", "pw")
			m.CreateDatabase(t, "iam_db", "iam_user")
			return server{
				cfg: Config{Engine: dbspec.MySQL, Host: m.Host, Port: m.Port, User: "iam_user", Database: "iam_db",
					Region: "us-east-1", RootCAs: m.RootCAs(), Credentials: creds},
				pw:   "pw",
				kill: func(t *testing.T, id int) { m.Exec(t, "KILL CONNECTION ?", id) },
				id:   "SELECT CONNECTION_ID()",
			}
		},
	}
	for name, start := range servers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := start(t)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			d, err := New(s.cfg)
			if err != nil {
				t.Fatalf("New(%+v) error = %v", s.cfg, err)
			}
			defer d.Close()
			if d.Config().Auth != AuthIAM || d.Config().TLS != TLSVerifyFull {
				t.Fatalf("New() config = %+v, want IAM auth over verify-full TLS by default", d.Config())
			}
			tokens := recordTokens(d, s.pw)

			sessionID := func() int {
				t.Helper()
				var id int
				if err := d.Do(ctx, func(ctx context.Context, db *sql.DB) error {
					return db.QueryRowContext(ctx, s.id).Scan(&id)
				}); err != nil {
					t.Fatalf("Do(%s) error = %v", s.id, err)
				}
				return id
			}

			first := sessionID()
			for i := 0; i < 10; i++ {
				sessionID()
			}
			if got := tokens(); len(got) != 1 {
				t.Fatalf("tokens after 11 calls on one connection = %d, want 1", len(got))
			}
			tok := tokens()[0]
			endpoint := s.cfg.Host + ":" + strconv.Itoa(d.Config().Port) + "/?Action=connect&DBUser=iam_user&"
			if !strings.HasPrefix(tok, endpoint) || !strings.Contains(tok, "X-Amz-Security-Token=SESSION") {
				t.Errorf("token = %q, want prefix %q and the session token", tok, endpoint)
			}

			// A new physical connection gets a new token.
			s.kill(t, first)
			deadline := time.Now().Add(30 * time.Second)
			for sessionID() == first && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if got := tokens(); len(got) != 2 {
				t.Errorf("tokens after a reconnect = %d, want 2", len(got))
			}
			if got := d.connects.Load(); got != 2 {
				t.Errorf("physical connections = %d, want 2", got)
			}
		})
	}
}

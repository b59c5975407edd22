package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rdsdata/types"
	"github.com/aws/smithy-go"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/functions/dbconn"
	"github.com/lambdards/lambdards/internal/dataapi"
	"github.com/lambdards/lambdards/internal/testdb"
)

func TestParseEvent(t *testing.T) {
	name := func(s string) *string { return &s }
	limit := func(n int) *int { return &n }
	tests := []struct {
		in      string
		want    Event
		wantErr string
	}{
		{in: `{"action":"put","name":"apple"}`, want: Event{Action: "put", Name: name("apple")}},
		{in: `{"action":"put","name":"` + strings.Repeat("é", 200) + `"}`, want: Event{Action: "put", Name: name(strings.Repeat("é", 200))}},
		{in: `{"action":"list"}`, want: Event{Action: "list"}},
		{in: `{"action":"list","limit":100}`, want: Event{Action: "list", Limit: limit(100)}},
		{in: `{"action":"ping"}`, want: Event{Action: "ping"}},

		{in: ``, wantErr: "not a JSON object"},
		{in: `[1]`, wantErr: "not a JSON object"},
		{in: `{"action":"put","nme":"x"}`, wantErr: `unknown field "nme"`},
		{in: `{"action":"ping"} {}`, wantErr: "trailing data"},
		{in: `{}`, wantErr: `"action" is missing, want put, list or ping`},
		{in: `{"action":"delete"}`, wantErr: `"action" = "delete", want put, list or ping`},
		{in: `{"action":"put"}`, wantErr: `put needs a non-blank "name"`},
		{in: `{"action":"put","name":"  "}`, wantErr: `put needs a non-blank "name"`},
		{in: `{"action":"put","name":"` + strings.Repeat("x", 201) + `"}`, wantErr: `"name" has 201 characters, want at most 200`},
		{in: `{"action":"put","name":"x","limit":3}`, wantErr: `"limit" applies to list, not put`},
		{in: `{"action":"list","limit":0}`, wantErr: `"limit" = 0, want 1 to 100 (default 20)`},
		{in: `{"action":"list","limit":101,"name":"x"}`, wantErr: `"limit" = 101, want 1 to 100 (default 20); "name" applies to put, not list`},
		{in: `{"action":"list","limit":"5"}`, wantErr: "not a JSON object"},
		{in: `{"action":"ping","limit":1}`, wantErr: `ping takes no "name" or "limit"`},
	}
	for _, tt := range tests {
		got, err := parseEvent(json.RawMessage(tt.in))
		if tt.wantErr == "" {
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseEvent(%.60s) = %+v, %v, want %+v, nil", tt.in, got, err, tt.want)
			}
			continue
		}
		var ee *EventError
		if !errors.As(err, &ee) || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("parseEvent(%.60s) error = %v, want an *EventError containing %q", tt.in, err, tt.wantErr)
		}
	}
}

func TestInvokeError(t *testing.T) {
	retryable := &dbconn.RetryableError{Reason: "database busy: too many connections", Attempts: 4, Err: errors.New("53300")}
	other := errors.New("items: put: syntax error")
	tests := []struct {
		err      error
		wantType string // "" means err comes back unchanged
	}{
		{fmt.Errorf("items: put: %w", retryable), ErrorTypeRetryable},
		{retryable, ErrorTypeRetryable},
		{&EventError{Problem: "x"}, ErrorTypeEvent},
		{fmt.Errorf("wrapped: %w", &EventError{Problem: "x"}), ErrorTypeEvent},
		{fmt.Errorf("items: put: %w", &dbconn.ReadOnlyError{Target: dbconn.TargetReader, Err: &pgconn.PgError{Code: "25006"}}), ErrorTypeReadOnly},
		{other, ""},
		{nil, ""},
	}
	for _, tt := range tests {
		got := invokeError(tt.err)
		if tt.wantType == "" {
			if got != tt.err {
				t.Errorf("invokeError(%v) = %#v, want it unchanged", tt.err, got)
			}
			continue
		}
		var ire messages.InvokeResponse_Error
		if !errors.As(got, &ire) || ire.Type != tt.wantType || ire.Message != tt.err.Error() {
			t.Errorf("invokeError(%v) = %#v, want errorType %q and the same message", tt.err, got, tt.wantType)
		}
	}
}

func TestRaceLost(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "42710", Message: `type "items" already exists`}, true},
		{&pgconn.PgError{Code: "23505"}, true},
		{fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "42P07"}), true},
		// Through the Data API.
		{&smithy.OperationError{ServiceID: "RDS Data", Err: &types.DatabaseErrorException{
			Message: aws.String(`ERROR: duplicate key value violates unique constraint "pg_type_typname_nsp_index"; SQLState: 23505`)}}, true},
		{&smithy.OperationError{ServiceID: "RDS Data", Err: &types.DatabaseErrorException{
			Message: aws.String(`ERROR: permission denied for schema public; SQLState: 42501`)}}, false},
		{&pgconn.PgError{Code: "42501"}, false}, // insufficient_privilege
		{errors.New("other"), false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := raceLost(tt.err); got != tt.want {
			t.Errorf("raceLost(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// engine starts a server for one engine and returns the dbconn settings of
// a user that owns a database.
type engine struct {
	name    dbspec.Engine
	start   func(t *testing.T) dbconn.Config
	version string // what the server version starts with
}

// backend is an engine reached in one mode: with a connection, or through
// the Data API stand-in (internal/dataapi) in front of the same server.
type backend struct {
	engine
	mode dbconn.Mode
}

func (b backend) String() string { return string(b.name) + "/" + string(b.mode) }

// config starts the engine's server and returns the settings that reach
// it in b's mode.
func (b backend) config(t *testing.T) dbconn.Config {
	cfg := b.start(t)
	if b.mode == dbconn.ModeDataAPI {
		_, cfgs := dataapi.Front(t, cfg)
		return cfgs[0]
	}
	return cfg
}

// backends are every engine in every mode: the handler is the same in each.
var backends = func() []backend {
	var out []backend
	for _, e := range engines {
		for _, m := range []dbconn.Mode{dbconn.ModeConnection, dbconn.ModeDataAPI} {
			out = append(out, backend{e, m})
		}
	}
	return out
}()

var engines = []engine{
	{
		name: dbspec.Postgres,
		start: func(t *testing.T) dbconn.Config {
			pg := testdb.StartPostgres(t, testdb.PostgresOptions{})
			pg.CreateUser(t, "items", "items-pw")
			pg.CreateDatabase(t, "items", "items")
			return dbconn.Config{Engine: dbspec.Postgres, Host: pg.Host, Port: pg.Port, User: "items", Database: "items",
				Auth: dbconn.AuthPassword, Password: "items-pw", TLS: dbconn.TLSDisable}
		},
		version: "PostgreSQL ",
	},
	{
		name: dbspec.MySQL,
		start: func(t *testing.T) dbconn.Config {
			m := testdb.StartMariaDB(t, testdb.MariaDBOptions{})
			m.CreateUser(t, "items", "items-pw")
			m.CreateDatabase(t, "items", "items")
			return dbconn.Config{Engine: dbspec.MySQL, Host: m.Host, Port: m.Port, User: "items", Database: "items",
				Auth: dbconn.AuthPassword, Password: "items-pw", TLS: dbconn.TLSDisable}
		},
		version: "10.11.",
	},
}

// newHandler returns a handler with its own DB, as a new execution
// environment would have.
func newHandler(t *testing.T, cfg dbconn.Config) *Handler {
	t.Helper()
	db, err := dbconn.New(cfg)
	if err != nil {
		t.Fatalf("dbconn.New() error = %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return NewHandler(db)
}

// call runs one event and returns the result as the JSON Lambda would send.
func call(t *testing.T, ctx context.Context, h *Handler, event string) map[string]any {
	t.Helper()
	res, err := h.Handle(ctx, json.RawMessage(event))
	if err != nil {
		t.Fatalf("Handle(%s) error = %v", event, err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatalf("json.Marshal(%v): %v", res, err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("result of Handle(%s) = %s, not a JSON object: %v", event, b, err)
	}
	return out
}

func TestHandler(t *testing.T) {
	for _, e := range backends {
		t.Run(e.String(), func(t *testing.T) {
			t.Parallel()
			cfg := e.config(t)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			h := newHandler(t, cfg)

			// ping
			p1 := call(t, ctx, h, `{"action":"ping"}`)
			if p1["engine"] != string(e.name) || !strings.HasPrefix(p1["serverVersion"].(string), e.version) || p1["backendId"].(float64) <= 0 {
				t.Errorf("ping = %v, want engine %s, a %q... version and a backend id", p1, e.name, e.version)
			}
			// The Data API pools database connections itself; only a
			// connection of the function's own is sure to be the same.
			if p2 := call(t, ctx, h, `{"action":"ping"}`); e.mode == dbconn.ModeConnection && p2["backendId"] != p1["backendId"] {
				t.Errorf("second ping backendId = %v, want %v (the same connection)", p2["backendId"], p1["backendId"])
			}

			// put
			before := time.Now()
			var puts []map[string]any
			for _, name := range []string{"apple", "banana", "cherry ✓"} {
				puts = append(puts, call(t, ctx, h, `{"action":"put","name":"`+name+`"}`))
			}
			after := time.Now()
			for i, p := range puts {
				keys := make([]string, 0, len(p))
				for k := range p {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				if !reflect.DeepEqual(keys, []string{"createdAt", "id", "name"}) {
					t.Errorf("put result keys = %v, want [createdAt id name]", keys)
				}
				created, err := time.Parse(time.RFC3339Nano, p["createdAt"].(string))
				// Same machine, so the clocks agree; a minute of slack
				// keeps this from being a timing test.
				if err != nil || created.Before(before.Add(-time.Minute)) || created.After(after.Add(time.Minute)) {
					t.Errorf("put createdAt = %v (%v), want a time near %v", p["createdAt"], err, before)
				}
				if i > 0 && p["id"].(float64) <= puts[i-1]["id"].(float64) {
					t.Errorf("put ids = %v then %v, want increasing", puts[i-1]["id"], p["id"])
				}
			}
			if puts[2]["name"] != "cherry ✓" {
				t.Errorf("put name = %v, want %q", puts[2]["name"], "cherry ✓")
			}

			// list, newest first
			names := func(l map[string]any) []string {
				var out []string
				for _, it := range l["items"].([]any) {
					out = append(out, it.(map[string]any)["name"].(string))
				}
				return out
			}
			if got, want := names(call(t, ctx, h, `{"action":"list","limit":2}`)), []string{"cherry ✓", "banana"}; !reflect.DeepEqual(got, want) {
				t.Errorf("list limit 2 = %q, want %q", got, want)
			}
			l := call(t, ctx, h, `{"action":"list"}`)
			if got, want := names(l), []string{"cherry ✓", "banana", "apple"}; !reflect.DeepEqual(got, want) {
				t.Errorf("list = %q, want %q", got, want)
			}
			first := l["items"].([]any)[2].(map[string]any)
			if !reflect.DeepEqual(first, puts[0]) {
				t.Errorf("listed item = %v, want it as put returned it: %v", first, puts[0])
			}

			// bad events fail before touching the database
			if _, err := h.Handle(ctx, json.RawMessage(`{"action":"put","name":""}`)); !errors.As(err, new(*EventError)) {
				t.Errorf("Handle(put with empty name) error = %v, want an *EventError", err)
			}
		})
	}
}

// TestSchemaIdempotent starts several execution environments on one empty
// database at once: each creates the schema, none fails, and every item
// lands in the one table.
func TestSchemaIdempotent(t *testing.T) {
	for _, e := range backends {
		t.Run(e.String(), func(t *testing.T) {
			t.Parallel()
			cfg := e.config(t)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()

			const envs = 4
			handlers := make([]*Handler, envs)
			for i := range handlers {
				handlers[i] = newHandler(t, cfg)
			}
			var wg sync.WaitGroup
			errs := make(chan error, envs)
			for i, h := range handlers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := h.Handle(ctx, json.RawMessage(`{"action":"put","name":"from env `+string(rune('A'+i))+`"}`))
					errs <- err
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Errorf("Handle(put) in a new environment error = %v, want nil", err)
				}
			}
			// Each environment ran its DDL once; running again is a no-op.
			again := newHandler(t, cfg)
			l := call(t, ctx, again, `{"action":"list"}`)
			if n := len(l["items"].([]any)); n != envs {
				t.Errorf("list after %d environments put one item each = %d items, want %d", envs, n, envs)
			}
			for _, h := range handlers {
				if !h.schemaReady {
					t.Errorf("handler.schemaReady = false after a successful put, want true")
				}
			}
		})
	}
}

// TestHandlerOnReader runs the handler as a function that reads from the reader: on a
// streaming replica of the writer's database, list shows what the writer put, and put
// fails with errorType ReadOnlyError, adding nothing.
func TestHandlerOnReader(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	primary := testdb.StartPostgres(t, testdb.PostgresOptions{Replication: true})
	primary.CreateUser(t, "items", "items-pw")
	primary.CreateDatabase(t, "items", "items")
	cfg := dbconn.Config{Engine: dbspec.Postgres, Host: primary.Host, Port: primary.Port, User: "items", Database: "items",
		Auth: dbconn.AuthPassword, Password: "items-pw", TLS: dbconn.TLSDisable}
	writer := newHandler(t, cfg)
	put := call(t, ctx, writer, `{"action":"put","name":"from the writer"}`)
	replica := testdb.StartReplica(t, primary, testdb.PostgresOptions{})
	cfg.Host, cfg.Port, cfg.Target = replica.Host, replica.Port, dbconn.TargetReader
	reader := newHandler(t, cfg)
	items := call(t, ctx, reader, `{"action":"list"}`)["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["name"] != "from the writer" || items[0].(map[string]any)["id"] != put["id"] {
		t.Errorf("list on the reader = %v, want the writer's item %v", items, put)
	}
	_, err := reader.Invoke(ctx, json.RawMessage(`{"action":"put","name":"lost"}`))
	var ire messages.InvokeResponse_Error
	if !errors.As(err, &ire) || ire.Type != ErrorTypeReadOnly || !strings.Contains(ire.Message, "SQLSTATE 25006") {
		t.Errorf("put on the reader = %v, want errorType %s for SQLSTATE 25006", err, ErrorTypeReadOnly)
	}
	if got := call(t, ctx, writer, `{"action":"list"}`)["items"].([]any); len(got) != 1 {
		t.Errorf("items on the writer after the refused put = %d, want 1", len(got))
	}
}

// TestReadUserLists runs the handler as a user that may read the table but not create
// tables, as a function declared with read access is: once the writer's function has
// created the table, list works and put fails with the database's permission error.
func TestReadUserLists(t *testing.T) {
	t.Parallel()
	pg := testdb.StartPostgres(t, testdb.PostgresOptions{})
	pg.CreateUser(t, "items", "items-pw")
	pg.CreateDatabase(t, "items", "items")
	pg.CreateUser(t, "reader", "reader-pw")
	cfg := dbconn.Config{Engine: dbspec.Postgres, Host: pg.Host, Port: pg.Port, User: "items", Database: "items",
		Auth: dbconn.AuthPassword, Password: "items-pw", TLS: dbconn.TLSDisable}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	call(t, ctx, newHandler(t, cfg), `{"action":"put","name":"first"}`)
	// What the provisioner grants a read user: SELECT, no CREATE in the schema.
	owner, err := sql.Open("pgx", pg.UserDSN("items", "items-pw", "items"))
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	if _, err := owner.ExecContext(ctx, `REVOKE CREATE ON SCHEMA public FROM PUBLIC; GRANT SELECT ON items TO reader`); err != nil {
		t.Fatal(err)
	}
	cfg.User, cfg.Password = "reader", "reader-pw"
	reader := newHandler(t, cfg)
	if l := call(t, ctx, reader, `{"action":"list"}`); len(l["items"].([]any)) != 1 {
		t.Errorf("list as the read user = %v, want the one item", l)
	}
	if _, err := reader.Handle(ctx, json.RawMessage(`{"action":"put","name":"second"}`)); err == nil || dbconn.SQLState(err) != "42501" {
		t.Errorf("put as the read user: error %v, want SQLSTATE 42501 (insufficient privilege)", err)
	}
}

package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/functions/dbconn"
)

// Limits on events. They are this sample's choices, not AWS figures.
const (
	maxNameLen   = 200 // characters; the MySQL column is VARCHAR(200)
	defaultLimit = 20
	maxLimit     = 100
)

// Event is the function's input.
type Event struct {
	// Action is "put", "list" or "ping".
	Action string `json:"action"`
	// Name is the item to record; put only.
	Name *string `json:"name,omitempty"`
	// Limit is how many items to list, newest first; list only.
	Limit *int `json:"limit,omitempty"`
}

// Item is a recorded item.
type Item struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
}

// ItemList is the result of list.
type ItemList struct {
	Items []Item `json:"items"`
}

// PingResult is the result of ping: which server answered, on which
// connection.
type PingResult struct {
	Engine        dbspec.Engine `json:"engine"`
	ServerVersion string        `json:"serverVersion"`
	// BackendID is the server's id for the connection: pg_backend_pid()
	// or CONNECTION_ID(). Behind RDS Proxy it names the database
	// connection the proxy lent for this query.
	BackendID int64 `json:"backendId"`
}

// EventError reports an event the function cannot act on. Lambda reports
// its type as the invocation's errorType, "EventError", so callers can tell
// it from a database failure (errorType "RetryableError") and not retry.
type EventError struct {
	Problem string
}

func (e *EventError) Error() string { return "items: bad event: " + e.Problem }

// Error types a caller sees in the invocation's errorType.
const (
	// ErrorTypeRetryable: the database stayed busy or unreachable; retry
	// later.
	ErrorTypeRetryable = "RetryableError"
	// ErrorTypeEvent: the event is wrong; do not retry it.
	ErrorTypeEvent = "EventError"
	// ErrorTypeReadOnly: a write reached a read-only connection (a function that
	// reads from the reader was asked to write); do not retry it.
	ErrorTypeReadOnly = "ReadOnlyError"
)

// invokeError turns an error of Handle into what the function returns to
// Lambda. aws-lambda-go names errorType after the returned value's own Go
// type, which for an error wrapped with fmt.Errorf is "wrapError"; callers
// must instead see ErrorTypeRetryable or ErrorTypeEvent wherever in the
// chain those errors are, so they get an explicit type. The message is the
// whole chain's, unchanged.
func invokeError(err error) error {
	if err == nil {
		return nil
	}
	var re *dbconn.RetryableError
	if errors.As(err, &re) {
		return messages.InvokeResponse_Error{Message: err.Error(), Type: ErrorTypeRetryable}
	}
	var ee *EventError
	if errors.As(err, &ee) {
		return messages.InvokeResponse_Error{Message: err.Error(), Type: ErrorTypeEvent}
	}
	var ro *dbconn.ReadOnlyError
	if errors.As(err, &ro) {
		return messages.InvokeResponse_Error{Message: err.Error(), Type: ErrorTypeReadOnly}
	}
	return err
}

// Invoke is Handle as Lambda calls it: errors carry the errorType callers
// act on (see invokeError).
func (h *Handler) Invoke(ctx context.Context, raw json.RawMessage) (any, error) {
	out, err := h.Handle(ctx, raw)
	if err != nil {
		return nil, invokeError(err)
	}
	return out, nil
}

// Handler handles events with one database per execution environment.
type Handler struct {
	db      *dbconn.DB
	dialect dialect

	mu          sync.Mutex
	schemaReady bool
}

// NewHandler returns a handler that uses db. It does not connect.
func NewHandler(db *dbconn.DB) *Handler {
	return &Handler{db: db, dialect: dialects[db.Engine()]}
}

// Handle runs one event. Its result is an Item (put), an ItemList (list)
// or a PingResult (ping).
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	ev, err := parseEvent(raw)
	if err != nil {
		return nil, err
	}
	if ev.Action == "ping" {
		return h.ping(ctx)
	}
	if err := h.ensureSchema(ctx); err != nil {
		return nil, err
	}
	switch ev.Action {
	case "put":
		return h.put(ctx, *ev.Name)
	default: // "list"; parseEvent allows nothing else
		limit := defaultLimit
		if ev.Limit != nil {
			limit = *ev.Limit
		}
		return h.list(ctx, limit)
	}
}

// parseEvent decodes and checks an event, reporting every problem at once.
func parseEvent(raw json.RawMessage) (Event, error) {
	var ev Event
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		return Event{}, &EventError{Problem: fmt.Sprintf("not a JSON object of action, name and limit: %v", err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return Event{}, &EventError{Problem: "trailing data after the JSON object"}
	}
	var problems []string
	switch ev.Action {
	case "put":
		switch {
		case ev.Name == nil || strings.TrimSpace(*ev.Name) == "":
			problems = append(problems, `put needs a non-blank "name"`)
		case !utf8.ValidString(*ev.Name):
			problems = append(problems, `"name" is not valid UTF-8`)
		case utf8.RuneCountInString(*ev.Name) > maxNameLen:
			problems = append(problems, fmt.Sprintf(`"name" has %d characters, want at most %d`, utf8.RuneCountInString(*ev.Name), maxNameLen))
		}
		if ev.Limit != nil {
			problems = append(problems, `"limit" applies to list, not put`)
		}
	case "list":
		if ev.Limit != nil && (*ev.Limit < 1 || *ev.Limit > maxLimit) {
			problems = append(problems, fmt.Sprintf(`"limit" = %d, want 1 to %d (default %d)`, *ev.Limit, maxLimit, defaultLimit))
		}
		if ev.Name != nil {
			problems = append(problems, `"name" applies to put, not list`)
		}
	case "ping":
		if ev.Name != nil || ev.Limit != nil {
			problems = append(problems, `ping takes no "name" or "limit"`)
		}
	case "":
		problems = append(problems, `"action" is missing, want put, list or ping`)
	default:
		problems = append(problems, fmt.Sprintf(`"action" = %q, want put, list or ping`, ev.Action))
	}
	if len(problems) > 0 {
		return Event{}, &EventError{Problem: strings.Join(problems, "; ")}
	}
	return ev, nil
}

// ensureSchema creates the table, when it is missing, once per execution
// environment. A failure
// is not remembered: the next invocation tries again. On a reader it does
// nothing: a reader takes no DDL, and the writer's functions create the table.
func (h *Handler) ensureSchema(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.schemaReady || h.db.Target() == dbconn.TargetReader {
		return nil
	}
	err := h.db.Do(ctx, func(ctx context.Context, db *sql.DB) error {
		// A user with read or write access may use the table but not create it, and
		// PostgreSQL refuses CREATE TABLE IF NOT EXISTS to such a user even when the
		// table is there: look first.
		var exists bool
		if err := db.QueryRowContext(ctx, h.dialect.exists).Scan(&exists); err != nil || exists {
			return err
		}
		_, err := db.ExecContext(ctx, h.dialect.schema)
		if raceLost(err) {
			// Another environment created the table at the same moment;
			// now IF NOT EXISTS sees it.
			_, err = db.ExecContext(ctx, h.dialect.schema)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("items: creating the schema: %w", err)
	}
	h.schemaReady = true
	return nil
}

// raceLost reports whether a CREATE TABLE IF NOT EXISTS failed because a
// concurrent one created the table first. PostgreSQL checks for the table
// before taking locks, so two sessions can both miss it, and the loser
// fails instead of skipping: on the table's row type (42710
// duplicate_object, "type "items" already exists"), on the catalog's unique
// index (23505 unique_violation), or on the table itself (42P07
// duplicate_table), depending on timing.
//
// The SQLSTATE is read with dbconn.SQLState, so that the check holds in
// every mode: from pgx's error over a connection, and from the Data API's
// DatabaseErrorException.
func raceLost(err error) bool {
	switch dbconn.SQLState(err) {
	case "42710", "23505", "42P07":
		return true
	}
	return false
}

func (h *Handler) put(ctx context.Context, name string) (Item, error) {
	var it Item
	err := h.db.Do(ctx, func(ctx context.Context, db *sql.DB) error {
		var err error
		it, err = h.dialect.insert(ctx, db, name)
		return err
	})
	if err != nil {
		return Item{}, fmt.Errorf("items: put: %w", err)
	}
	return it, nil
}

func (h *Handler) list(ctx context.Context, limit int) (ItemList, error) {
	list := ItemList{Items: []Item{}}
	err := h.db.Do(ctx, func(ctx context.Context, db *sql.DB) error {
		rows, err := db.QueryContext(ctx, h.dialect.list, limit)
		if err != nil {
			return err
		}
		items, err := h.dialect.scanItems(rows)
		if err != nil {
			return err
		}
		list.Items = items
		return nil
	})
	if err != nil {
		return ItemList{}, fmt.Errorf("items: list: %w", err)
	}
	return list, nil
}

func (h *Handler) ping(ctx context.Context) (PingResult, error) {
	res := PingResult{Engine: h.db.Engine()}
	err := h.db.Do(ctx, func(ctx context.Context, db *sql.DB) error {
		return db.QueryRowContext(ctx, h.dialect.ping).Scan(&res.ServerVersion, &res.BackendID)
	})
	if err != nil {
		return PingResult{}, fmt.Errorf("items: ping: %w", err)
	}
	return res, nil
}

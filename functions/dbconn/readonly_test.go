package dbconn_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lambdards/lambdards/functions/dbconn"
	"github.com/lambdards/lambdards/internal/testdb"
)

// TestReaderRefusesWrites connects as a reader function does, to a real streaming
// replica: reads see what the primary committed, and a write fails at once with a
// *ReadOnlyError (SQLSTATE 25006), not retried, leaving the primary as it was.
func TestReaderRefusesWrites(t *testing.T) {
	t.Parallel()
	primary := testdb.StartPostgres(t, testdb.PostgresOptions{Replication: true})
	cfg := newUser(t, primary, "reports")
	ctx := testContext(t)
	writer := newDB(t, cfg)
	var lsn string
	err := writer.Do(ctx, func(ctx context.Context, s *sql.DB) error {
		for _, q := range []string{"CREATE TABLE items (name text)", "INSERT INTO items VALUES ('committed')"} {
			if _, err := s.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return s.QueryRowContext(ctx, "SELECT pg_current_wal_insert_lsn()::text").Scan(&lsn)
	})
	if err != nil {
		t.Fatal(err)
	}
	replica := testdb.StartReplica(t, primary, testdb.PostgresOptions{})
	cfg.Host, cfg.Port, cfg.Target = replica.Host, replica.Port, dbconn.TargetReader
	reader := newDB(t, cfg)
	if reader.Target() != dbconn.TargetReader || writer.Target() != dbconn.TargetWriter {
		t.Errorf("Target() = %s, %s; want reader, writer", reader.Target(), writer.Target())
	}
	var name string
	if err := reader.Do(ctx, func(ctx context.Context, s *sql.DB) error {
		return s.QueryRowContext(ctx, "SELECT name FROM items").Scan(&name)
	}); err != nil || name != "committed" {
		t.Fatalf("reading from the replica = %q, %v; want the committed row", name, err)
	}

	tries := 0
	err = reader.Do(ctx, func(ctx context.Context, s *sql.DB) error {
		tries++
		_, err := s.ExecContext(ctx, "INSERT INTO items VALUES ('lost')")
		return err
	})
	var ro *dbconn.ReadOnlyError
	var pgErr *pgconn.PgError
	switch {
	case !errors.As(err, &ro) || !errors.As(err, &pgErr) || pgErr.Code != "25006":
		t.Fatalf("writing through the reader: %v (%T), want a *ReadOnlyError wrapping SQLSTATE 25006", err, err)
	case !dbconn.IsReadOnly(err) || tries != 1:
		t.Errorf("IsReadOnly = %v after %d tries, want true after 1", dbconn.IsReadOnly(err), tries)
	case !strings.Contains(err.Error(), "this function reads from the reader (LAMBDARDS_DB_TARGET=reader)"):
		t.Errorf("error = %q, want it to say why", err)
	}
	var n int
	if err := writer.Do(ctx, func(ctx context.Context, s *sql.DB) error {
		return s.QueryRowContext(ctx, "SELECT count(*) FROM items").Scan(&n)
	}); err != nil || n != 1 {
		t.Errorf("rows on the primary = %d, %v; want the one committed", n, err)
	}
}

func TestIsReadOnly(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "25006"}, true},
		{fmt.Errorf("put: %w", &pgconn.PgError{Code: "25006"}), true},
		{&pgconn.PgError{Code: "42501"}, false}, // insufficient_privilege
		{&mysql.MySQLError{Number: 1290, Message: "The MySQL server is running with the --read-only option"}, true},
		{&mysql.MySQLError{Number: 1792}, true},
		{&mysql.MySQLError{Number: 1142}, false}, // command denied
		{errors.New("read-only"), false},
		{nil, false},
	} {
		if got := dbconn.IsReadOnly(tc.err); got != tc.want {
			t.Errorf("IsReadOnly(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

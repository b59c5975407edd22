package dbconn_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/rdsdata/types"

	"github.com/lambdards/lambdards/functions/dbconn"
	"github.com/lambdards/lambdards/internal/dataapi"
	"github.com/lambdards/lambdards/internal/testdb"
)

// dataAPIEngine is what differs between the engines in TestDataAPI.
type dataAPIEngine struct {
	name  string
	start func(t *testing.T) server
	// grantRead lets reader read owner's database: run as owner through
	// db, or as the server's administrator.
	grantRead func(t *testing.T, srv server, db *dbconn.DB)
	// denied is the SQLSTATE of a write the user may not make.
	denied string
	// The SQL: a table of every type the backend converts, an insert of
	// its eight columns, a select of one row by id, a count, and a
	// statement with placeholder characters inside a literal.
	create, insert, byID, count, literal string
}

var dataAPIEngines = []dataAPIEngine{
	{
		name:  "postgres",
		start: func(t *testing.T) server { return testdb.StartPostgres(t, testdb.PostgresOptions{}) },
		grantRead: func(t *testing.T, _ server, db *dbconn.DB) {
			t.Helper()
			mustExec(t, db, "GRANT SELECT ON things TO reader")
		},
		denied: "42501", // insufficient_privilege
		create: `CREATE TABLE things (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL,
			n bigint, x double precision, ok boolean, at timestamptz, day date, data bytea, price numeric(10,2))`,
		// A string goes as a varchar, so numeric needs its cast.
		insert:  `INSERT INTO things (name, n, x, ok, at, day, data, price) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::numeric) RETURNING id`,
		byID:    `SELECT id, name, n, x, ok, at, day, data, price FROM things WHERE id = $1`,
		count:   `SELECT count(*) FROM things`,
		literal: `SELECT '$1 -- ?', $1::int`,
	},
	{
		name:  "mysql",
		start: func(t *testing.T) server { return testdb.StartMariaDB(t, testdb.MariaDBOptions{}) },
		grantRead: func(t *testing.T, srv server, _ *dbconn.DB) {
			t.Helper()
			srv.(*testdb.MariaDB).Exec(t, "GRANT SELECT ON owner.* TO 'reader'@'%'")
		},
		denied: "42000", // ER_TABLEACCESS_DENIED_ERROR (1142)
		create: `CREATE TABLE things (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL,
			n BIGINT, x DOUBLE, ok BOOLEAN, at DATETIME(6), day DATE, data BLOB, price DECIMAL(10,2)) DEFAULT CHARSET=utf8mb4`,
		insert:  `INSERT INTO things (name, n, x, ok, at, day, data, price) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		byID:    `SELECT id, name, n, x, ok, at, day, data, price FROM things WHERE id = ?`,
		count:   `SELECT COUNT(*) FROM things`,
		literal: `SELECT '$1 -- ?', ?`,
	},
}

// mustExec runs a statement through db and fails the test on error.
func mustExec(t *testing.T, db *dbconn.DB, query string, args ...any) sql.Result {
	t.Helper()
	var res sql.Result
	err := db.Do(testContext(t), func(ctx context.Context, s *sql.DB) error {
		var err error
		res, err = s.ExecContext(ctx, query, args...)
		return err
	})
	if err != nil {
		t.Fatalf("Do(%s) error = %v", query, err)
	}
	return res
}

// countRows returns the rows in things.
func countRows(t *testing.T, db *dbconn.DB, query string) int {
	t.Helper()
	var n int
	err := db.Do(testContext(t), func(ctx context.Context, s *sql.DB) error {
		return s.QueryRowContext(ctx, query).Scan(&n)
	})
	if err != nil {
		t.Fatalf("Do(%s) error = %v", query, err)
	}
	return n
}

// TestDataAPI runs the Data API backend, through the local stand-in, on a
// real PostgreSQL and a real MariaDB: values of each type there and back,
// transactions, batches, a user who may only read, and a cluster resuming.
func TestDataAPI(t *testing.T) {
	t.Parallel()
	for _, e := range dataAPIEngines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			srv := e.start(t)
			owner := newUser(t, srv, "owner")
			reader := newUser(t, srv, "reader")
			reader.Database = owner.Database
			standin, cfgs := dataapi.Front(t, owner, reader)
			db, readerDB := newDB(t, cfgs[0]), newDB(t, cfgs[1])
			mustExec(t, db, e.create)
			e.grantRead(t, srv, db)
			testDataAPI(t, e, standin, db, readerDB)
		})
	}
}

func testDataAPI(t *testing.T, e dataAPIEngine, standin *dataapi.Server, db, readerDB *dbconn.DB) {
	// Microseconds: the precision of both engines' timestamps.
	at := time.Date(2026, 11, 3, 14, 15, 16, 123456000, time.UTC)
	day := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	row := func(name string) []any {
		return []any{name, int64(1) << 60, 2.5, true, at, day, []byte{0, 1, 2, 255}, "12.50"}
	}
	insert := func(ctx context.Context, s *sql.DB, name string) error {
		_, err := s.ExecContext(ctx, e.insert, row(name)...)
		return err
	}
	// plainInsert is the insert without RETURNING, and nullRow a row of
	// NULLs but its name.
	plainInsert := strings.TrimSuffix(e.insert, " RETURNING id")
	nullRow := func(name any) []any { return []any{name, nil, nil, nil, nil, nil, nil, nil} }

	t.Run("RoundTrip", func(t *testing.T) {
		ctx := testContext(t)
		var id int64
		err := db.Do(ctx, func(ctx context.Context, s *sql.DB) error {
			// PostgreSQL returns the id with RETURNING, MySQL as
			// LastInsertId.
			if e.name == "postgres" {
				return s.QueryRowContext(ctx, e.insert, row("café ✓")...).Scan(&id)
			}
			res, err := s.ExecContext(ctx, e.insert, row("café ✓")...)
			if err != nil {
				return err
			}
			id, err = res.LastInsertId()
			return err
		})
		if err != nil || id < 1 {
			t.Fatalf("insert through the Data API: id %d, error = %v", id, err)
		}
		var (
			gotID, n           int64
			name, price        string
			x                  float64
			ok                 bool
			gotAt, gotDay      time.Time
			data               []byte
			nullN              sql.NullInt64
			typeNames          []string
			nullName, nullData any
		)
		err = db.Do(ctx, func(ctx context.Context, s *sql.DB) error {
			rows, err := s.QueryContext(ctx, e.byID, id)
			if err != nil {
				return err
			}
			defer rows.Close()
			cts, err := rows.ColumnTypes()
			if err != nil {
				return err
			}
			for _, ct := range cts {
				typeNames = append(typeNames, ct.DatabaseTypeName())
			}
			if !rows.Next() {
				return errors.New("no row")
			}
			return rows.Scan(&gotID, &name, &n, &x, &ok, &gotAt, &gotDay, &data, &price)
		})
		if err != nil {
			t.Fatalf("select through the Data API: %v", err)
		}
		if gotID != id || name != "café ✓" || n != 1<<60 || x != 2.5 || !ok || !gotAt.Equal(at) || !gotDay.Equal(day) ||
			!bytes.Equal(data, []byte{0, 1, 2, 255}) || price != "12.50" {
			t.Errorf("row = %d %q %d %v %v %v %v %v %q, want %d %q %d 2.5 true %v %v [0 1 2 255] 12.50",
				gotID, name, n, x, ok, gotAt, gotDay, data, price, id, "café ✓", int64(1)<<60, at, day)
		}
		if len(typeNames) != 9 || typeNames[0] == "" || !strings.Contains(strings.Join(typeNames, " "), "DATE") {
			t.Errorf("column types = %q, want the database's 9 type names", typeNames)
		}

		// NULL both ways.
		mustExec(t, db, plainInsert, nullRow("nulls")...)
		err = db.Do(ctx, func(ctx context.Context, s *sql.DB) error {
			q := strings.Replace(e.byID, "WHERE id =", "WHERE name =", 1)
			var rest [6]any
			return s.QueryRowContext(ctx, q, "nulls").Scan(&gotID, &nullName, &nullN, &rest[0], &rest[1], &rest[2], &rest[3], &nullData, &rest[4])
		})
		if err != nil || nullN.Valid || nullData != nil || nullName != "nulls" {
			t.Errorf("row of NULLs: n %v, data %v, name %v, error %v; want NULL, NULL, nulls, nil", nullN, nullData, nullName, err)
		}
	})

	t.Run("PlaceholdersInLiterals", func(t *testing.T) {
		var lit string
		var v int
		err := db.Do(testContext(t), func(ctx context.Context, s *sql.DB) error {
			return s.QueryRowContext(ctx, e.literal, 7).Scan(&lit, &v)
		})
		if err != nil || lit != "$1 -- ?" || v != 7 {
			t.Errorf("%s = %q, %d, %v; want \"$1 -- ?\", 7, nil", e.literal, lit, v, err)
		}

		// A wrong argument count fails before any request.
		before := standin.Count("ExecuteStatement")
		err = db.Do(testContext(t), func(ctx context.Context, s *sql.DB) error {
			_, err := s.ExecContext(ctx, e.literal, 7, 8)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "argument 2 has no") {
			t.Errorf("two arguments for one placeholder: error = %v, want argument 2 has no placeholder", err)
		}
		if n := standin.Count("ExecuteStatement") - before; n != 0 {
			t.Errorf("ExecuteStatement requests for a statement with a wrong argument count = %d, want 0", n)
		}
	})

	t.Run("Transactions", func(t *testing.T) {
		ctx := testContext(t)
		before := countRows(t, db, e.count)
		inTx := func(commit bool, fail bool) error {
			return db.Do(ctx, func(ctx context.Context, s *sql.DB) error {
				tx, err := s.BeginTx(ctx, nil)
				if err != nil {
					return err
				}
				defer tx.Rollback()
				if _, err := tx.ExecContext(ctx, plainInsert, nullRow("in tx")...); err != nil {
					return err
				}
				if fail {
					if _, err := tx.ExecContext(ctx, "SELECT * FROM no_such_table"); err == nil {
						return errors.New("SELECT from a missing table succeeded")
					}
				}
				if !commit {
					return tx.Rollback()
				}
				return tx.Commit()
			})
		}
		if err := inTx(false, false); err != nil {
			t.Fatalf("transaction rolled back: %v", err)
		}
		if got := countRows(t, db, e.count); got != before {
			t.Errorf("rows after a rollback = %d, want %d", got, before)
		}
		// A failed statement ends the transaction in the Data API; the
		// rollback database/sql sends then still succeeds.
		if err := inTx(false, true); err != nil {
			t.Fatalf("transaction with a failed statement, rolled back: %v", err)
		}
		if got := countRows(t, db, e.count); got != before {
			t.Errorf("rows after a failed transaction = %d, want %d", got, before)
		}
		if err := inTx(true, false); err != nil {
			t.Fatalf("transaction committed: %v", err)
		}
		if got := countRows(t, db, e.count); got != before+1 {
			t.Errorf("rows after a commit = %d, want %d", got, before+1)
		}
	})

	t.Run("ExecBatch", func(t *testing.T) {
		ctx := testContext(t)
		before := countRows(t, db, e.count)
		batches := standin.Count("BatchExecuteStatement")
		err := db.Do(ctx, func(ctx context.Context, s *sql.DB) error {
			return dbconn.ExecBatch(ctx, s, plainInsert, [][]any{nullRow("b1"), nullRow("b2"), nullRow("b3")})
		})
		if err != nil {
			t.Fatalf("ExecBatch(3 rows) error = %v", err)
		}
		if got := countRows(t, db, e.count); got != before+3 {
			t.Errorf("rows after a batch of 3 = %d, want %d", got, before+3)
		}
		if n := standin.Count("BatchExecuteStatement") - batches; n != 1 {
			t.Errorf("BatchExecuteStatement requests = %d, want 1", n)
		}
		// name is NOT NULL: the second set fails, and the first is not
		// kept.
		err = db.Do(ctx, func(ctx context.Context, s *sql.DB) error {
			return dbconn.ExecBatch(ctx, s, plainInsert, [][]any{nullRow("b4"), nullRow(nil)})
		})
		var dbErr *types.DatabaseErrorException
		if !errors.As(err, &dbErr) || dbconn.SQLState(err) != "23502" && dbconn.SQLState(err) != "23000" {
			t.Errorf("ExecBatch with a NULL name error = %v (SQLSTATE %q), want a not-null violation", err, dbconn.SQLState(err))
		}
		if got := countRows(t, db, e.count); got != before+3 {
			t.Errorf("rows after a failed batch = %d, want %d (all or nothing)", got, before+3)
		}
	})

	t.Run("ReadOnlyUserCannotWrite", func(t *testing.T) {
		ctx := testContext(t)
		if got := countRows(t, readerDB, e.count); got < 1 {
			t.Fatalf("reader sees %d rows, want the owner's", got)
		}
		before := standin.Count("ExecuteStatement")
		start := time.Now()
		err := readerDB.Do(ctx, func(ctx context.Context, s *sql.DB) error { return insert(ctx, s, "from reader") })
		var dbErr *types.DatabaseErrorException
		var re *dbconn.RetryableError
		if !errors.As(err, &dbErr) || errors.As(err, &re) {
			t.Fatalf("insert as a reader: error = %v, want a DatabaseErrorException, not retried", err)
		}
		if got := dbconn.SQLState(err); got != e.denied {
			t.Errorf("SQLState(%v) = %q, want %q", err, got, e.denied)
		}
		if n := standin.Count("ExecuteStatement") - before; n != 1 {
			t.Errorf("ExecuteStatement requests for a denied insert = %d, want 1 (no retry)", n)
		}
		if elapsed := time.Since(start); elapsed > 2*time.Second {
			t.Errorf("denied insert took %v, want an answer at once", elapsed)
		}
	})

	t.Run("ResumeWithinDeadline", func(t *testing.T) {
		// An invocation with 10 s left; the cluster takes 2.5 s to
		// resume.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resuming := standin.Count("DatabaseResumingException")
		standin.Pause(2500 * time.Millisecond)
		start := time.Now()
		err := db.Do(ctx, selectOne)
		elapsed := time.Since(start)
		if err != nil {
			t.Fatalf("Do() while the cluster resumes for 2.5 s = %v, want success once it has resumed", err)
		}
		if elapsed < 2500*time.Millisecond || elapsed > 8*time.Second {
			t.Errorf("Do() while the cluster resumes for 2.5 s took %v, want a little over 2.5 s", elapsed)
		}
		if n := standin.Count("DatabaseResumingException") - resuming; n < 2 {
			t.Errorf("DatabaseResumingException answers = %d, want several retries", n)
		}
	})

	// Last: it leaves the cluster resuming.
	t.Run("ResumeLongerThanDeadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		standin.Pause(time.Minute)
		start := time.Now()
		err := db.Do(ctx, selectOne)
		elapsed := time.Since(start)
		var re *dbconn.RetryableError
		var resuming *types.DatabaseResumingException
		if !errors.As(err, &re) || !errors.As(err, &resuming) {
			t.Fatalf("Do() with 2 s left while the cluster resumes for a minute = %v, want a *RetryableError wrapping DatabaseResumingException", err)
		}
		if !strings.HasPrefix(err.Error(), "database resuming: ") || re.Attempts < 2 {
			t.Errorf("Do() error = %q after %d attempts, want \"database resuming: ...\" after several", err, re.Attempts)
		}
		if elapsed > 2500*time.Millisecond {
			t.Errorf("Do() with 2 s left took %v, want it to give up by the deadline", elapsed)
		}
	})
}

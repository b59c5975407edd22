package dataapi

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/functions/dbconn/placeholder"
)

// parameter is a SqlParameter; field is a Field, a union of which one
// member is set.
type parameter struct {
	Name     string `json:"name"`
	TypeHint string `json:"typeHint,omitempty"`
	Value    field  `json:"value"`
}

type field struct {
	IsNull       *bool    `json:"isNull,omitempty"`
	BooleanValue *bool    `json:"booleanValue,omitempty"`
	LongValue    *int64   `json:"longValue,omitempty"`
	DoubleValue  *float64 `json:"doubleValue,omitempty"`
	StringValue  *string  `json:"stringValue,omitempty"`
	BlobValue    []byte   `json:"blobValue,omitempty"`
	ArrayValue   any      `json:"arrayValue,omitempty"`
}

type columnMetadata struct {
	Name     string `json:"name"`
	Label    string `json:"label"`
	TypeName string `json:"typeName"`
}

type executeResponse struct {
	Records                [][]field        `json:"records,omitempty"`
	ColumnMetadata         []columnMetadata `json:"columnMetadata,omitempty"`
	NumberOfRecordsUpdated int64            `json:"numberOfRecordsUpdated"`
	GeneratedFields        []field          `json:"generatedFields,omitempty"`
}

// runner is what a statement runs on: the secret's pool, or a transaction.
type runner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// within runs fn on the request's transaction, or on the pool when there
// is none. A failure inside a transaction ends it, as the service ends it.
func (s *Server) within(req request, fn func(runner) error) error {
	if req.TransactionID == "" {
		p, err := s.pool(req.SecretArn, req.Database)
		if err != nil {
			return err
		}
		return fn(p)
	}
	t, err := s.take(req.TransactionID, req.SecretArn)
	if err != nil {
		return err
	}
	defer t.busy.Unlock()
	if err := fn(t.tx); err != nil {
		s.abandon(req.TransactionID)
		return err
	}
	return nil
}

func (s *Server) execute(ctx context.Context, req request) (any, error) {
	if strings.TrimSpace(req.SQL) == "" {
		return nil, &apiError{"BadRequestException", "sql is empty"}
	}
	var out executeResponse
	err := s.within(req, func(r runner) error {
		var err error
		out, err = s.run(ctx, r, req.SQL, req.Parameters, req.IncludeResultMetadata)
		return err
	})
	return out, err
}

// batchExecute runs the statement once per parameter set, all in one
// transaction: the request's, or one of its own.
func (s *Server) batchExecute(ctx context.Context, req request) (any, error) {
	type updateResult struct {
		GeneratedFields []field `json:"generatedFields"`
	}
	results := []updateResult{}
	batch := func(r runner) error {
		for _, params := range req.ParameterSets {
			out, err := s.run(ctx, r, req.SQL, params, false)
			if err != nil {
				return err
			}
			results = append(results, updateResult{out.GeneratedFields})
		}
		return nil
	}
	var err error
	if req.TransactionID != "" {
		err = s.within(req, batch)
	} else {
		err = s.within(req, func(r runner) error {
			tx, err := r.(*sql.DB).BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			if err := batch(tx); err != nil {
				return err
			}
			return tx.Commit()
		})
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"updateResults": results}, nil
}

// run runs one statement with one parameter set.
func (s *Server) run(ctx context.Context, r runner, text string, params []parameter, metadata bool) (executeResponse, error) {
	query, args, err := s.bind(text, params)
	if err != nil {
		return executeResponse{}, err
	}
	if !returnsRecords(query) {
		res, err := r.ExecContext(ctx, query, args...)
		if err != nil {
			return executeResponse{}, s.databaseError(err)
		}
		var out executeResponse
		out.NumberOfRecordsUpdated, _ = res.RowsAffected()
		// MySQL reports the AUTO_INCREMENT value; PostgreSQL reports
		// none (RDS Data API reference, ExecuteStatement,
		// generatedFields).
		if id, err := res.LastInsertId(); err == nil && id != 0 && s.opts.Engine == dbspec.MySQL {
			out.GeneratedFields = []field{{LongValue: &id}}
		}
		return out, nil
	}
	rows, err := r.QueryContext(ctx, query, args...)
	if err != nil {
		return executeResponse{}, s.databaseError(err)
	}
	defer rows.Close()
	out, err := s.records(rows, metadata)
	if err != nil {
		return executeResponse{}, s.databaseError(err)
	}
	return out, nil
}

// returnsRecords reports whether a statement is read as a query: by its
// first word, or a RETURNING clause. The service knows from the database;
// the stand-in, on database/sql, has to choose between Exec and Query.
func returnsRecords(query string) bool {
	words := strings.Fields(strings.ToUpper(strings.TrimLeft(query, " \t\r\n(")))
	if len(words) == 0 {
		return false
	}
	switch words[0] {
	case "SELECT", "WITH", "SHOW", "VALUES", "TABLE", "EXPLAIN":
		return true
	}
	for _, w := range words {
		if w == "RETURNING" {
			return true
		}
	}
	return false
}

// bind turns the Data API's :name parameters into the engine's
// placeholders and arguments. On PostgreSQL each parameter gets a cast to
// the type its field stands for, as the service sends it: a string without
// typeHint is a varchar, and a typeHint names the type (RDS Data API
// reference, SqlParameter typeHint).
func (s *Server) bind(text string, params []parameter) (string, []any, error) {
	byName := make(map[string]parameter, len(params))
	for _, p := range params {
		byName[p.Name] = p
	}
	var args []any
	var number map[string]int // PostgreSQL: $n of each name
	if s.dialect == placeholder.Postgres {
		number = map[string]int{}
	}
	var missing []string
	query := placeholder.Replace(s.dialect, placeholder.Named, text, func(ph placeholder.Placeholder) string {
		p, ok := byName[ph.Name]
		if !ok {
			missing = append(missing, ph.Name)
			return ":" + ph.Name
		}
		if number == nil {
			args = append(args, p.Value.arg())
			return "?"
		}
		n, ok := number[ph.Name]
		if !ok {
			args = append(args, p.Value.arg())
			n = len(args)
			number[ph.Name] = n
		}
		return "$" + strconv.Itoa(n) + pgCast(p)
	})
	if len(missing) > 0 {
		return "", nil, &apiError{"DatabaseErrorException", fmt.Sprintf("No value specified for parameter %s", strings.Join(missing, ", "))}
	}
	return query, args, nil
}

// arg is the field as a database/sql argument.
func (f field) arg() any {
	switch {
	case f.BooleanValue != nil:
		return *f.BooleanValue
	case f.LongValue != nil:
		return *f.LongValue
	case f.DoubleValue != nil:
		return *f.DoubleValue
	case f.StringValue != nil:
		return *f.StringValue
	case f.BlobValue != nil:
		return f.BlobValue
	}
	return nil // isNull, or an array, which the service does not take
}

// pgCast is the PostgreSQL type a parameter is sent as.
func pgCast(p parameter) string {
	if hint := map[string]string{
		"DATE": "date", "TIME": "time", "TIMESTAMP": "timestamp", "DECIMAL": "numeric", "UUID": "uuid", "JSON": "json",
	}[p.TypeHint]; hint != "" {
		return "::" + hint
	}
	v := p.Value
	switch {
	case v.BooleanValue != nil:
		return "::bool"
	case v.LongValue != nil:
		return "::int8"
	case v.DoubleValue != nil:
		return "::float8"
	case v.StringValue != nil:
		return "::varchar"
	case v.BlobValue != nil:
		return "::bytea"
	}
	return ""
}

// records reads rows as the service renders them: by the column's type,
// integers as longValue, floats as doubleValue, booleans, bytes as
// blobValue, dates and timestamps as strings in UTC, and everything else
// (decimals, text, uuid, json, ...) as stringValue.
func (s *Server) records(rows *sql.Rows, metadata bool) (executeResponse, error) {
	cols, err := rows.ColumnTypes()
	if err != nil {
		return executeResponse{}, err
	}
	var out executeResponse
	if metadata {
		for _, c := range cols {
			typeName := c.DatabaseTypeName()
			if s.opts.Engine == dbspec.Postgres {
				typeName = strings.ToLower(typeName) // as pg_type names them
			}
			out.ColumnMetadata = append(out.ColumnMetadata, columnMetadata{Name: c.Name(), Label: c.Name(), TypeName: typeName})
		}
	}
	out.Records = [][]field{}
	for rows.Next() {
		dest := make([]any, len(cols))
		for i, c := range cols {
			dest[i] = scanTarget(c.DatabaseTypeName())
		}
		if err := rows.Scan(dest...); err != nil {
			return executeResponse{}, err
		}
		record := make([]field, len(cols))
		for i, d := range dest {
			record[i] = render(d, cols[i].DatabaseTypeName())
		}
		out.Records = append(out.Records, record)
	}
	return out, rows.Err()
}

// scanTarget returns what to scan a column of the type into.
func scanTarget(typeName string) any {
	switch t := strings.TrimPrefix(strings.ToUpper(typeName), "UNSIGNED "); t {
	case "INT2", "INT4", "INT8", "SMALLINT", "INT", "INTEGER", "BIGINT", "TINYINT", "MEDIUMINT", "YEAR":
		return new(sql.NullInt64)
	case "FLOAT4", "FLOAT8", "FLOAT", "DOUBLE", "REAL":
		return new(sql.NullFloat64)
	case "BOOL", "BOOLEAN":
		return new(sql.NullBool)
	case "DATE", "TIMESTAMP", "TIMESTAMPTZ", "DATETIME":
		return new(sql.NullTime)
	case "BYTEA", "BLOB", "TINYBLOB", "MEDIUMBLOB", "LONGBLOB", "BINARY", "VARBINARY":
		return new([]byte)
	}
	return new(sql.NullString)
}

// render turns a scanned value into a field.
func render(v any, typeName string) field {
	null := true
	switch v := v.(type) {
	case *sql.NullInt64:
		if v.Valid {
			return field{LongValue: &v.Int64}
		}
	case *sql.NullFloat64:
		if v.Valid {
			return field{DoubleValue: &v.Float64}
		}
	case *sql.NullBool:
		if v.Valid {
			return field{BooleanValue: &v.Bool}
		}
	case *sql.NullTime:
		if v.Valid {
			layout := "2006-01-02 15:04:05.999999"
			if strings.EqualFold(typeName, "DATE") {
				layout = "2006-01-02"
			}
			s := v.Time.UTC().Format(layout)
			return field{StringValue: &s}
		}
	case *[]byte:
		if *v != nil {
			return field{BlobValue: *v}
		}
	case *sql.NullString:
		if v.Valid {
			return field{StringValue: &v.String}
		}
	}
	return field{IsNull: &null}
}

// databaseError is what the service answers for an error of the database:
// the database's own error as DatabaseErrorException, with its message and
// SQLSTATE as Aurora PostgreSQL's errors come through the Data API ("ERROR:
// permission denied for table items; SQLState: 42501"); a database it
// cannot reach as DatabaseUnavailableException.
func (s *Server) databaseError(err error) error {
	var ae *apiError
	if errors.As(err, &ae) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return &apiError{"DatabaseErrorException", fmt.Sprintf("ERROR: %s; SQLState: %s", pgErr.Message, pgErr.Code)}
	}
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		return &apiError{"DatabaseErrorException", fmt.Sprintf("%s; SQLState: %s", myErr.Message, myErr.SQLState[:])}
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) || errors.Is(err, context.DeadlineExceeded) {
		return &apiError{"DatabaseUnavailableException", "the database is not available: " + err.Error()}
	}
	return &apiError{"InternalServerErrorException", err.Error()}
}

package dbconn

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/rdsdata"
	"github.com/aws/aws-sdk-go-v2/service/rdsdata/types"

	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/functions/dbconn/placeholder"
)

// The Data API backend is a database/sql driver whose connections hold no
// database connection: each statement is one ExecuteStatement call, and a
// transaction is BeginTransaction, statements that carry its id, then
// CommitTransaction or RollbackTransaction. Handlers keep *sql.DB as their
// interface.

// openDataAPI returns a pool over the Data API. It does not call AWS: the
// client is made on the first connection.
func (d *DB) openDataAPI() *sql.DB {
	return sql.OpenDB(&dataAPIConnector{cfg: d.cfg})
}

// dataAPIConnector makes the connections of one pool, sharing one client.
type dataAPIConnector struct {
	cfg Config

	mu     sync.Mutex
	client *rdsdata.Client
}

func (c *dataAPIConnector) Connect(ctx context.Context) (driver.Conn, error) {
	client, err := c.dataAPIClient(ctx)
	if err != nil {
		return nil, err
	}
	return &dataAPIConn{client: client, cfg: c.cfg}, nil
}

func (c *dataAPIConnector) Driver() driver.Driver { return dataAPIDriver{} }

// dataAPIDriver is there because a driver.Connector names its Driver; the
// Data API backend is opened by New, not by sql.Open.
type dataAPIDriver struct{}

func (dataAPIDriver) Open(string) (driver.Conn, error) {
	return nil, errors.New("dbconn: the Data API driver is opened by dbconn.New, not sql.Open")
}

// dataAPIClient makes the client once. A failure is not kept: the next
// connection tries again.
func (c *dataAPIConnector) dataAPIClient(ctx context.Context) (*rdsdata.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client != nil {
		return c.client, nil
	}
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion(c.cfg.Region),
		// Do's RetryPolicy is the one bound on retries; the SDK's own
		// retryer would multiply the attempts and wait past the policy
		// and the deadline.
		awsconfig.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
		awsconfig.WithHTTPClient(awshttp.NewBuildableClient().WithDialerOptions(func(d *net.Dialer) {
			d.Timeout = c.cfg.ConnectTimeout
		})),
	}
	if c.cfg.Credentials != nil {
		opts = append(opts, awsconfig.WithCredentialsProvider(c.cfg.Credentials))
	}
	ac, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("dbconn: loading the AWS configuration for the Data API: %w", err)
	}
	c.client = rdsdata.NewFromConfig(ac, func(o *rdsdata.Options) {
		if c.cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.cfg.Endpoint)
		}
	})
	return c.client, nil
}

// dataAPIConn is one connection of the pool: it runs one statement or
// transaction at a time, as database/sql uses a connection.
type dataAPIConn struct {
	client *rdsdata.Client
	cfg    Config
	txID   string // the open transaction, or ""
}

func (c *dataAPIConn) Prepare(query string) (driver.Stmt, error) {
	return dataAPIStmt{c: c, query: query}, nil
}

func (c *dataAPIConn) Close() error { return nil }

func (c *dataAPIConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx starts a transaction. The Data API takes no isolation level or
// read-only flag: the database's defaults apply.
func (c *dataAPIConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if opts.Isolation != driver.IsolationLevel(sql.LevelDefault) || opts.ReadOnly {
		return nil, errors.New("dbconn: the Data API starts transactions at the database's default isolation level, read-write; sql.TxOptions are not supported")
	}
	out, err := c.client.BeginTransaction(ctx, &rdsdata.BeginTransactionInput{
		ResourceArn: aws.String(c.cfg.ClusterARN),
		SecretArn:   aws.String(c.cfg.SecretARN),
		Database:    aws.String(c.cfg.Database),
	})
	if err != nil {
		return nil, err
	}
	c.txID = aws.ToString(out.TransactionId)
	return dataAPITx{c: c, ctx: ctx}, nil
}

// rollbackTimeout bounds a rollback, which database/sql also sends after
// the transaction's context has ended; it is not an AWS figure. A rollback
// that does not get through is done by the Data API itself: it rolls back
// a transaction unused for three minutes (RDS Data API reference,
// BeginTransaction).
const rollbackTimeout = 10 * time.Second

// dataAPITx is an open transaction; ctx is the one it began with, which
// database/sql does not pass to Commit and Rollback.
type dataAPITx struct {
	c   *dataAPIConn
	ctx context.Context
}

func (t dataAPITx) Commit() error {
	id := t.c.txID
	t.c.txID = ""
	_, err := t.c.client.CommitTransaction(t.ctx, &rdsdata.CommitTransactionInput{
		ResourceArn: aws.String(t.c.cfg.ClusterARN), SecretArn: aws.String(t.c.cfg.SecretARN), TransactionId: aws.String(id),
	})
	return err
}

func (t dataAPITx) Rollback() error {
	id := t.c.txID
	t.c.txID = ""
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), rollbackTimeout)
	defer cancel()
	_, err := t.c.client.RollbackTransaction(ctx, &rdsdata.RollbackTransactionInput{
		ResourceArn: aws.String(t.c.cfg.ClusterARN), SecretArn: aws.String(t.c.cfg.SecretARN), TransactionId: aws.String(id),
	})
	// A statement that fails in a transaction ends it: "The transaction
	// was aborted due to an error from a previous call" (Amazon Aurora
	// User Guide, "Troubleshooting Amazon RDS Data API"). It is rolled
	// back already.
	var gone *types.TransactionNotFoundException
	if errors.As(err, &gone) {
		return nil
	}
	return err
}

func (c *dataAPIConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	out, err := c.execute(ctx, query, args, false)
	if err != nil {
		return nil, err
	}
	return dataAPIResult{out}, nil
}

func (c *dataAPIConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	out, err := c.execute(ctx, query, args, true)
	if err != nil {
		return nil, err
	}
	if len(out.Records) > 0 && len(out.ColumnMetadata) != len(out.Records[0]) {
		return nil, fmt.Errorf("dbconn: the Data API returned %d columns of metadata for records of %d", len(out.ColumnMetadata), len(out.Records[0]))
	}
	return &dataAPIRows{columns: out.ColumnMetadata, records: out.Records}, nil
}

// execute runs one statement, in the open transaction if there is one.
// Records come back as typed fields rather than as JSON text
// (formatRecordsAs): a bigint stays exact, timestamps are told from
// strings by their column's type, and the columns come in order.
func (c *dataAPIConn) execute(ctx context.Context, query string, args []driver.NamedValue, metadata bool) (*rdsdata.ExecuteStatementOutput, error) {
	text, params, err := bind(c.cfg.Engine, query, args)
	if err != nil {
		return nil, err
	}
	in := &rdsdata.ExecuteStatementInput{
		ResourceArn:           aws.String(c.cfg.ClusterARN),
		SecretArn:             aws.String(c.cfg.SecretARN),
		Database:              aws.String(c.cfg.Database),
		Sql:                   aws.String(text),
		Parameters:            params,
		IncludeResultMetadata: metadata,
	}
	if c.txID != "" {
		in.TransactionId = aws.String(c.txID)
	}
	return c.client.ExecuteStatement(ctx, in)
}

// dataAPIStmt is a statement database/sql prepared; the Data API has no
// prepared statements, so it runs as the conn runs any statement.
type dataAPIStmt struct {
	c     *dataAPIConn
	query string
}

func (s dataAPIStmt) Close() error  { return nil }
func (s dataAPIStmt) NumInput() int { return -1 } // bind counts the placeholders

func (s dataAPIStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.c.ExecContext(ctx, s.query, args)
}

func (s dataAPIStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.c.QueryContext(ctx, s.query, args)
}

// Exec and Query complete driver.Stmt; database/sql calls the Context
// methods instead.
func (s dataAPIStmt) Exec([]driver.Value) (driver.Result, error) {
	return nil, errors.New("dbconn: Stmt.Exec without a context is not supported")
}

func (s dataAPIStmt) Query([]driver.Value) (driver.Rows, error) {
	return nil, errors.New("dbconn: Stmt.Query without a context is not supported")
}

// dataAPIResult is the result of an ExecuteStatement that returned no rows
// to read.
type dataAPIResult struct {
	out *rdsdata.ExecuteStatementOutput
}

func (r dataAPIResult) RowsAffected() (int64, error) { return r.out.NumberOfRecordsUpdated, nil }

// LastInsertId returns the AUTO_INCREMENT value Aurora MySQL reports in
// generatedFields. Aurora PostgreSQL reports none: "use the RETURNING
// clause" (RDS Data API reference, ExecuteStatement, generatedFields).
func (r dataAPIResult) LastInsertId() (int64, error) {
	if len(r.out.GeneratedFields) > 0 {
		if id, ok := r.out.GeneratedFields[0].(*types.FieldMemberLongValue); ok {
			return id.Value, nil
		}
	}
	return 0, errors.New("dbconn: the Data API returned no generated key (on PostgreSQL, use RETURNING)")
}

// dataAPIRows reads the records of one ExecuteStatement, which holds the
// whole result: the Data API has no cursor, and answers at most 1 MiB
// (RDS Data API reference, ExecuteStatement).
type dataAPIRows struct {
	columns []types.ColumnMetadata
	records [][]types.Field
}

func (r *dataAPIRows) Columns() []string {
	names := make([]string, len(r.columns))
	for i, m := range r.columns {
		names[i] = aws.ToString(m.Label)
		if names[i] == "" {
			names[i] = aws.ToString(m.Name)
		}
	}
	return names
}

func (r *dataAPIRows) Close() error {
	r.records = nil
	return nil
}

func (r *dataAPIRows) Next(dest []driver.Value) error {
	if len(r.records) == 0 {
		return io.EOF
	}
	record := r.records[0]
	r.records = r.records[1:]
	for i, f := range record {
		v, err := fieldValue(f, aws.ToString(r.columns[i].TypeName))
		if err != nil {
			return fmt.Errorf("dbconn: column %q: %w", r.Columns()[i], err)
		}
		dest[i] = v
	}
	return nil
}

// ColumnTypeDatabaseTypeName returns the column's type as the database
// names it (e.g. INT8, TIMESTAMPTZ, VARCHAR).
func (r *dataAPIRows) ColumnTypeDatabaseTypeName(i int) string {
	return strings.ToUpper(aws.ToString(r.columns[i].TypeName))
}

// dataAPITime is how the Data API writes a timestamp, in UTC: the format
// it takes with typeHint TIMESTAMP, "YYYY-MM-DD HH:MM:SS[.FFF]" (RDS Data
// API reference, SqlParameter), to microseconds, the precision of both
// engines. Dates are the same without the time.
const (
	dataAPITime = "2006-01-02 15:04:05.999999"
	dataAPIDate = "2006-01-02"
)

// fieldValue converts a field of a record into a database/sql value. Dates
// and timestamps come as strings (column types date, timestamp and
// timestamptz on PostgreSQL; DATE, DATETIME and TIMESTAMP on MySQL) and
// become a time.Time in UTC, as pgx returns them and go-sql-driver/mysql
// does with parseTime. Arrays are not supported.
func fieldValue(f types.Field, typeName string) (driver.Value, error) {
	switch f := f.(type) {
	case *types.FieldMemberIsNull:
		return nil, nil
	case *types.FieldMemberBooleanValue:
		return f.Value, nil
	case *types.FieldMemberLongValue:
		return f.Value, nil
	case *types.FieldMemberDoubleValue:
		return f.Value, nil
	case *types.FieldMemberBlobValue:
		return f.Value, nil
	case *types.FieldMemberStringValue:
		switch strings.ToLower(typeName) {
		case "timestamp", "timestamptz", "datetime":
			return parseUTC(dataAPITime, f.Value)
		case "date":
			return parseUTC(dataAPIDate, f.Value)
		}
		return f.Value, nil
	case *types.FieldMemberArrayValue:
		return nil, errors.New("array values are not supported; select the array as text or JSON")
	}
	return nil, fmt.Errorf("unsupported field %T", f)
}

func parseUTC(layout, s string) (time.Time, error) {
	t, err := time.ParseInLocation(layout, s, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("the Data API returned %q, want %s: %w", s, layout, err)
	}
	return t, nil
}

// bind turns the handler's placeholders into the Data API's named
// parameters, and its arguments into typed fields. PostgreSQL's $n becomes
// :pn; MySQL's ? are numbered in order, :p1, :p2, ... Placeholders inside
// literals, quoted identifiers and comments are left alone (package
// placeholder). Named arguments (sql.Named("id", v)) go through as :id,
// for SQL written for the Data API; a statement takes named or positional
// arguments, not both.
func bind(engine dbspec.Engine, query string, args []driver.NamedValue) (string, []types.SqlParameter, error) {
	params := make([]types.SqlParameter, len(args))
	named := 0
	for i, a := range args {
		name := a.Name
		if name != "" {
			named++
		} else {
			name = "p" + strconv.Itoa(a.Ordinal)
		}
		value, hint, err := field(a.Value)
		if err != nil {
			return "", nil, fmt.Errorf("dbconn: argument %s: %w", name, err)
		}
		params[i] = types.SqlParameter{Name: aws.String(name), Value: value, TypeHint: hint}
	}
	if named > 0 {
		if named < len(args) {
			return "", nil, errors.New("dbconn: the statement mixes named and positional arguments")
		}
		return query, params, nil
	}

	dialect, mark := placeholder.Postgres, "$"
	if engine == dbspec.MySQL {
		dialect, mark = placeholder.MySQL, "?"
	}
	used := make([]bool, len(args)+1)
	highest := 0
	text := placeholder.Replace(dialect, placeholder.Positional, query, func(p placeholder.Placeholder) string {
		highest = max(highest, p.Index)
		if p.Index <= len(args) {
			used[p.Index] = true
		}
		return ":p" + strconv.Itoa(p.Index)
	})
	if highest > len(args) {
		return "", nil, fmt.Errorf("dbconn: the statement has %s placeholders up to %d but %d arguments", mark, highest, len(args))
	}
	for i := 1; i <= len(args); i++ {
		if !used[i] {
			return "", nil, fmt.Errorf("dbconn: argument %d has no %s placeholder in the statement", i, mark)
		}
	}
	return text, params, nil
}

// field converts an argument, which database/sql has already made a
// driver.Value, into a Data API field. A time.Time goes as a UTC timestamp
// with typeHint TIMESTAMP.
func field(v driver.Value) (types.Field, types.TypeHint, error) {
	switch v := v.(type) {
	case nil:
		return &types.FieldMemberIsNull{Value: true}, "", nil
	case bool:
		return &types.FieldMemberBooleanValue{Value: v}, "", nil
	case int64:
		return &types.FieldMemberLongValue{Value: v}, "", nil
	case float64:
		return &types.FieldMemberDoubleValue{Value: v}, "", nil
	case string:
		return &types.FieldMemberStringValue{Value: v}, "", nil
	case []byte:
		return &types.FieldMemberBlobValue{Value: v}, "", nil
	case time.Time:
		return &types.FieldMemberStringValue{Value: v.UTC().Format(dataAPITime)}, types.TypeHintTimestamp, nil
	}
	return nil, "", fmt.Errorf("values of type %T are not supported", v)
}

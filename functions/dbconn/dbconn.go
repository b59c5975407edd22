package dbconn

import (
	"context"
	"crypto/tls"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/lambdards/lambdards/dbspec"
)

// DB is the database of one execution environment: a database/sql pool of
// at most Config.MaxConns connections, opened on first use and kept for
// the life of the environment. Create it once, outside the handler, and
// share it between invocations. It is safe for concurrent use.
type DB struct {
	cfg Config

	mu       sync.Mutex
	pool     *sql.DB
	verified bool                    // a ping has succeeded since the pool was opened
	creds    aws.CredentialsProvider // loaded on first IAM connect

	// password returns the password for a new physical connection: the
	// configured one, or a fresh IAM token. Tests replace it.
	password func(context.Context) (string, error)
	// connects counts new physical connections, for tests.
	connects atomic.Int64
}

// New checks cfg, applies its defaults, and returns a DB that connects on
// first use. Invalid settings are reported together in a *ConfigError.
func New(cfg Config) (*DB, error) {
	cfg = cfg.withDefaults()
	if p := cfg.validate(fieldNames); len(p) > 0 {
		return nil, &ConfigError{Problems: p}
	}
	d := &DB{cfg: cfg, creds: cfg.Credentials}
	if cfg.Auth == AuthIAM {
		d.password = d.iamToken
	} else {
		d.password = func(context.Context) (string, error) { return cfg.Password, nil }
	}
	return d, nil
}

// Config returns the configuration in use, defaults applied.
func (d *DB) Config() Config { return d.cfg }

// Engine returns the engine family, for handlers whose SQL differs by
// engine.
func (d *DB) Engine() dbspec.Engine { return d.cfg.Engine }

// Get returns the pool, opening it if need be and checking, on first use,
// that a connection can be made. Busy and unreachable databases are
// retried as in Do. Later calls return the pool at once: database/sql
// replaces connections that break. Work done on the pool directly, outside
// Do, is not retried.
func (d *DB) Get(ctx context.Context) (*sql.DB, error) {
	pool, verified, err := d.open()
	if err != nil || verified {
		return pool, err
	}
	// A query rather than PingContext: pgx's Ping turns every failure
	// into driver.ErrBadConn, hiding "too many connections" or a proxy
	// borrow timeout, which deserve backoff rather than one quick retry.
	err = retry(ctx, d.cfg.Retry, func(ctx context.Context) error {
		_, err := pool.ExecContext(ctx, "SELECT 1")
		return err
	})
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.verified = true
	d.mu.Unlock()
	return pool, nil
}

// Do runs fn with the pool, opening it if need be. If fn fails because the
// database is busy or unreachable it runs again after a backoff; if it
// fails because the connection broke it runs once more at once, on a new
// connection. The retries are bounded by Config.Retry and by ctx's
// deadline; when they run out Do returns a *RetryableError. Other errors
// are returned as they are.
//
// fn may run twice, so it should be idempotent. A transaction narrows the
// risk to one case: the connection breaks after the server committed but
// before its reply arrived, and the retry writes again.
//
// In fn, check a connection with a query rather than PingContext: pgx
// reports every failed ping as driver.ErrBadConn, which reads as a lost
// connection whatever the cause, so "too many connections" would not get
// its backoff.
func (d *DB) Do(ctx context.Context, fn func(ctx context.Context, db *sql.DB) error) error {
	pool, _, err := d.open()
	if err != nil {
		return err
	}
	return d.readOnly(retry(ctx, d.cfg.Retry, func(ctx context.Context) error { return fn(ctx, pool) }))
}

// Target returns the instance the configuration connects to, for handlers that work
// differently on a reader (one creates no tables there).
func (d *DB) Target() Target { return d.cfg.Target }

// Close closes the pool. A DB can be used again after Close: it reopens on
// the next Get or Do.
func (d *DB) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pool == nil {
		return nil
	}
	err := d.pool.Close()
	d.pool, d.verified = nil, false
	return err
}

// open creates the pool once. It does not connect.
func (d *DB) open() (*sql.DB, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pool != nil {
		return d.pool, d.verified, nil
	}
	var pool *sql.DB
	var err error
	switch {
	case d.cfg.Mode == ModeDataAPI:
		pool = d.openDataAPI()
	case d.cfg.Engine == dbspec.Postgres:
		pool, err = d.openPostgres()
	case d.cfg.Engine == dbspec.MySQL:
		pool, err = d.openMySQL()
	default:
		err = fmt.Errorf("dbconn: unknown engine %q", d.cfg.Engine)
	}
	if err != nil {
		return nil, false, err
	}
	// At most MaxConns connections, all of them kept when idle: the
	// environment's whole share of the connection budget, and no churn.
	pool.SetMaxOpenConns(d.cfg.MaxConns)
	pool.SetMaxIdleConns(d.cfg.MaxConns)
	pool.SetConnMaxIdleTime(d.cfg.ConnMaxIdleTime)
	d.pool = pool
	return pool, false, nil
}

// tlsConfig returns the client TLS configuration for the mode, or nil for
// TLSDisable.
func (d *DB) tlsConfig() *tls.Config {
	switch d.cfg.TLS {
	case TLSVerifyFull:
		return &tls.Config{ServerName: d.cfg.Host, RootCAs: d.cfg.RootCAs, MinVersion: tls.VersionTLS12}
	case TLSRequire:
		// Encrypted, but any certificate is accepted: what libpq calls
		// sslmode=require.
		return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
	}
	return nil
}

// openPostgres creates a pgx-backed pool whose every new connection gets
// its password from d.password.
func (d *DB) openPostgres() (*sql.DB, error) {
	u := url.URL{
		Scheme: "postgres",
		User:   url.User(d.cfg.User),
		Host:   net.JoinHostPort(d.cfg.Host, strconv.Itoa(d.cfg.Port)),
		Path:   "/" + d.cfg.Database,
		// TLS is set below from the mode; "disable" here stops pgx from
		// building its own configuration and fallbacks.
		RawQuery: "sslmode=disable",
	}
	cc, err := pgx.ParseConfig(u.String())
	if err != nil {
		return nil, fmt.Errorf("dbconn: %w", err)
	}
	cc.TLSConfig = d.tlsConfig()
	cc.Fallbacks = nil
	cc.ConnectTimeout = d.cfg.ConnectTimeout
	// pgx fills run-time parameters from PGAPPNAME, PGOPTIONS and the
	// like; a function's connection is configured here and nowhere else.
	cc.RuntimeParams = map[string]string{}
	cc.ValidateConnect = nil // set from PGTARGETSESSIONATTRS
	before := func(ctx context.Context, c *pgx.ConnConfig) error {
		pw, err := d.password(ctx)
		if err != nil {
			return err
		}
		c.Password = pw
		d.connects.Add(1)
		return nil
	}
	return stdlib.OpenDB(*cc, stdlib.OptionBeforeConnect(before)), nil
}

// openMySQL creates a go-sql-driver/mysql pool whose every new connection
// gets its password from d.password.
func (d *DB) openMySQL() (*sql.DB, error) {
	mc := mysql.NewConfig()
	mc.User = d.cfg.User
	mc.Net = "tcp"
	mc.Addr = net.JoinHostPort(d.cfg.Host, strconv.Itoa(d.cfg.Port))
	mc.DBName = d.cfg.Database
	mc.TLS = d.tlsConfig()
	mc.Timeout = d.cfg.ConnectTimeout
	mc.ParseTime = true
	// An IAM token travels as a cleartext password (the
	// mysql_clear_password plugin); validate has made sure TLS is on.
	mc.AllowCleartextPasswords = d.cfg.Auth == AuthIAM
	err := mc.Apply(mysql.BeforeConnect(func(ctx context.Context, c *mysql.Config) error {
		pw, err := d.password(ctx)
		if err != nil {
			return err
		}
		c.Passwd = pw
		d.connects.Add(1)
		return nil
	}))
	if err != nil {
		return nil, fmt.Errorf("dbconn: %w", err)
	}
	connector, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, fmt.Errorf("dbconn: %w", err)
	}
	return sql.OpenDB(connector), nil
}

// iamToken returns a fresh IAM authentication token for the configured
// endpoint and user. It signs locally; only loading the credentials the
// first time may touch the network (in Lambda they come from environment
// variables, so it does not).
func (d *DB) iamToken(ctx context.Context) (string, error) {
	creds, err := d.credentials(ctx)
	if err != nil {
		return "", err
	}
	return buildToken(ctx, d.cfg, creds)
}

// credentials loads the SDK's default credential chain once. A failure is
// not kept: the next connection tries again.
func (d *DB) credentials(ctx context.Context) (aws.CredentialsProvider, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.creds != nil {
		return d.creds, nil
	}
	ac, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(d.cfg.Region))
	if err != nil {
		return nil, fmt.Errorf("dbconn: loading AWS credentials for IAM database authentication: %w", err)
	}
	if ac.Credentials == nil {
		return nil, fmt.Errorf("dbconn: no AWS credentials found for IAM database authentication")
	}
	d.creds = ac.Credentials
	return d.creds, nil
}

// buildToken signs an IAM authentication token for cfg's endpoint and user.
//
// The token is a presigned URL without its scheme, valid for 15 minutes
// (X-Amz-Expires=900; Amazon RDS User Guide, "IAM database
// authentication": "An authentication token has a lifetime of 15
// minutes"). feature/rds/auth v1.7.12 returns "host:port?Action=..." with
// no "/" before the "?" (aws/aws-sdk-go-v2 issue 3365), unlike the AWS CLI's
// "host:port/?Action=...", and some Aurora configurations reject it. SigV4
// signs an empty path as "/", so adding the slash leaves the signature
// valid; buildToken adds it, and leaves a token that already has it alone.
func buildToken(ctx context.Context, cfg Config, creds aws.CredentialsProvider) (string, error) {
	endpoint := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	token, err := auth.BuildAuthToken(ctx, endpoint, cfg.Region, cfg.User, creds)
	if err != nil {
		return "", fmt.Errorf("dbconn: building IAM authentication token: %w", err)
	}
	if rest, ok := strings.CutPrefix(token, endpoint+"?"); ok {
		token = endpoint + "/?" + rest
	}
	return token, nil
}

package dbconn

import (
	"crypto/x509"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/functions/dbenv"
)

// Mode is how a function reaches its database.
type Mode string

// Modes.
const (
	// ModeConnection opens database connections with the engine's own
	// protocol (pgx, go-sql-driver/mysql) to Config.Host: RDS Proxy, or
	// the database itself.
	ModeConnection Mode = "connection"
	// ModeDataAPI sends each statement over HTTPS to the RDS Data API
	// (Aurora only), signed in as the database user of Config.SecretARN.
	// The function holds no database connection and needs no VPC.
	ModeDataAPI Mode = "dataapi"
)

// Auth is how the function proves who it is to the database (or proxy).
type Auth string

// Authentication methods.
const (
	// AuthIAM uses a short-lived IAM authentication token as the password.
	AuthIAM Auth = "iam"
	// AuthPassword uses Config.Password; meant for local runs.
	AuthPassword Auth = "password"
)

// TLSMode says whether and how the connection is encrypted.
type TLSMode string

// TLS modes, named after libpq's sslmode values.
const (
	// TLSVerifyFull encrypts and checks the certificate chain and the host
	// name.
	TLSVerifyFull TLSMode = "verify-full"
	// TLSRequire encrypts without checking the certificate.
	TLSRequire TLSMode = "require"
	// TLSDisable does not encrypt; for local databases only.
	TLSDisable TLSMode = "disable"
)

// Environment variable names read by FromEnv.
const (
	EnvEngine   = dbenv.Engine
	EnvHost     = dbenv.Host
	EnvPort     = dbenv.Port
	EnvUser     = dbenv.User
	EnvName     = dbenv.Name
	EnvAuth     = dbenv.Auth
	EnvPassword = dbenv.Password
	EnvTLS      = dbenv.TLS
	EnvMaxConns = dbenv.MaxConns
	EnvMode     = dbenv.Mode
	EnvCluster  = dbenv.ClusterARN
	EnvSecret   = dbenv.SecretARN
	EnvRegion   = dbenv.Region
)

// Config says how to reach the database. The zero value of every optional
// field means its default; New applies the defaults and rejects invalid
// values. Fields marked "Connection mode" must be unset with ModeDataAPI,
// and fields marked "Data API mode" unset with ModeConnection.
type Config struct {
	// Mode is how the database is reached.
	// Default: ModeConnection.
	Mode Mode

	// Engine is the engine family.
	// Required.
	Engine dbspec.Engine

	// Target is the instance Host leads to: the writer, or a reader, where
	// every write fails (see ReadOnlyError).
	// Default: TargetWriter.
	Target Target

	// Host is the host name of the RDS Proxy endpoint (or database).
	// Connection mode; required there.
	Host string

	// Port is the TCP port.
	// Connection mode. Default: 5432 for Postgres, 3306 for MySQL.
	Port int

	// User is the database user.
	// Connection mode; required there. (With the Data API the user is
	// the one in the secret.)
	User string

	// Database is the database name.
	// Required.
	Database string

	// Auth is the authentication method.
	// Connection mode. Default: AuthIAM.
	Auth Auth

	// Password is the password for AuthPassword; it must be empty with
	// AuthIAM.
	// Connection mode. Default: none.
	Password string

	// TLS is the TLS mode. AuthIAM needs TLS: RDS Proxy rejects IAM
	// authentication without it.
	// Connection mode. Default: TLSVerifyFull.
	TLS TLSMode

	// ClusterARN is the Aurora DB cluster the Data API runs statements
	// on.
	// Data API mode; required there.
	ClusterARN string

	// SecretARN is the Secrets Manager secret holding the function's own
	// database user and password; the Data API signs in with it.
	// Data API mode; required there.
	SecretARN string

	// Endpoint is the Data API's base URL, for a local stand-in.
	// Data API mode. Default: the SDK's choice: AWS_ENDPOINT_URL_RDS_DATA
	// when set, else the Region's endpoint.
	Endpoint string

	// MaxConns is the most connections this execution environment opens.
	// Lambda runs one invocation at a time per environment, so one
	// connection is enough, and the connection budget counts on it. With
	// the Data API a connection holds no database connection, only one
	// statement or transaction at a time.
	// Default: 1.
	MaxConns int

	// Region is the AWS Region the IAM token or the Data API request is
	// signed for; needed with AuthIAM and with ModeDataAPI.
	// Default: none.
	Region string

	// RootCAs are the roots TLSVerifyFull trusts.
	// Connection mode. Default: nil, the system roots (RDS Proxy's
	// certificates come from AWS Certificate Manager and chain to
	// Amazon's public roots).
	RootCAs *x509.CertPool

	// Credentials sign IAM tokens and Data API requests.
	// Default: nil, the AWS SDK's default chain (in Lambda: the
	// function's role), loaded once, on the first connection.
	Credentials aws.CredentialsProvider

	// ConnectTimeout bounds one attempt to open a connection (TCP, TLS
	// and authentication; with the Data API, the TCP connection to it).
	// Default: 5 s.
	ConnectTimeout time.Duration

	// ConnMaxIdleTime closes a connection left idle this long.
	// Connection mode. Default: 29 minutes, just under RDS Proxy's
	// default IdleClientTimeout of 1,800 s, after which the proxy closes
	// an idle client connection itself (Amazon RDS User Guide, "RDS
	// Proxy connection considerations": IdleClientTimeout).
	ConnMaxIdleTime time.Duration

	// Retry bounds the retries of Do and Get.
	// Default: see RetryPolicy.
	Retry RetryPolicy
}

// RetryPolicy bounds retries of work that failed because the database was
// busy, resuming or unreachable, or the connection was lost. The zero value
// means the defaults, which differ by mode: see dataAPIRetry.
type RetryPolicy struct {
	// Attempts is the most tries in all, the first included.
	// Default: 4; with ModeDataAPI, 30.
	Attempts int

	// BaseDelay is the backoff before the second try; it doubles with each
	// further try, and each wait is drawn uniformly from zero to the
	// backoff ("full jitter").
	// Default: 50 ms; with ModeDataAPI, 100 ms.
	BaseDelay time.Duration

	// MaxDelay caps the backoff.
	// Default: 1 s; with ModeDataAPI, 2 s.
	MaxDelay time.Duration

	// MaxElapsed is how long retrying may go on: no new try starts after
	// it. The context's deadline bounds retrying too, whichever is sooner.
	// Default: 10 s; with ModeDataAPI, 25 s.
	MaxElapsed time.Duration
}

// Defaults. None of them is an AWS figure except where noted.
const (
	defaultPostgresPort = 5432
	defaultMySQLPort    = 3306
	defaultMaxConns     = 1
	defaultConnTimeout  = 5 * time.Second
	// RDS Proxy closes client connections idle for IdleClientTimeout,
	// default 1,800 s (Amazon RDS User Guide, "RDS Proxy connection
	// considerations"). Closing ours a minute earlier means a reused
	// connection is one the proxy still has.
	defaultConnMaxIdleTime = 1800*time.Second - time.Minute
)

// connectionRetry is the default RetryPolicy of ModeConnection: a busy
// database or proxy is retried for seconds, not minutes, below the
// functions' default 30 s timeout.
var connectionRetry = RetryPolicy{Attempts: 4, BaseDelay: 50 * time.Millisecond, MaxDelay: time.Second, MaxElapsed: 10 * time.Second}

// dataAPIRetry is the default RetryPolicy of ModeDataAPI. An auto-paused
// Aurora Serverless v2 cluster answers DatabaseResumingException until it
// has resumed, which takes about 15 s ("Wait a few seconds and try again":
// RDS Data API reference, DatabaseResumingException; resume time: Amazon
// Aurora User Guide, "Scaling to Zero ACUs with automatic pause and
// resume", as collected in ../shared/docs/aws-facts.md). So MaxElapsed
// spans a resume with room to spare and stays below the functions' default
// 30 s timeout, and Attempts is high enough (at a mean wait of MaxDelay/2
// once the backoff is capped) that time, not the count, ends the retries.
var dataAPIRetry = RetryPolicy{Attempts: 30, BaseDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second, MaxElapsed: 25 * time.Second}

// withDefaults returns c with every unset optional field at its default.
// It is the one place defaults are applied. Connection settings get
// defaults in ModeConnection only, so that validate can tell a Data API
// configuration that sets them.
func (c Config) withDefaults() Config {
	if c.Mode == "" {
		c.Mode = ModeConnection
	}
	if c.Target == "" {
		c.Target = TargetWriter
	}
	retry := connectionRetry
	switch c.Mode {
	case ModeConnection:
		if c.Port == 0 {
			switch c.Engine {
			case dbspec.Postgres:
				c.Port = defaultPostgresPort
			case dbspec.MySQL:
				c.Port = defaultMySQLPort
			}
		}
		if c.Auth == "" {
			c.Auth = AuthIAM
		}
		if c.TLS == "" {
			c.TLS = TLSVerifyFull
		}
		if c.ConnMaxIdleTime == 0 {
			c.ConnMaxIdleTime = defaultConnMaxIdleTime
		}
	case ModeDataAPI:
		retry = dataAPIRetry
	}
	if c.MaxConns == 0 {
		c.MaxConns = defaultMaxConns
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = defaultConnTimeout
	}
	if c.Retry.Attempts == 0 {
		c.Retry.Attempts = retry.Attempts
	}
	if c.Retry.BaseDelay == 0 {
		c.Retry.BaseDelay = retry.BaseDelay
	}
	if c.Retry.MaxDelay == 0 {
		c.Retry.MaxDelay = retry.MaxDelay
	}
	if c.Retry.MaxElapsed == 0 {
		c.Retry.MaxElapsed = retry.MaxElapsed
	}
	return c
}

// ConfigError reports every problem found in a configuration.
type ConfigError struct {
	// Problems are one sentence fragment per bad setting, each naming the
	// setting (environment variable or Config field), its value, and what
	// would be valid.
	Problems []string
}

func (e *ConfigError) Error() string {
	return "dbconn: invalid database configuration: " + strings.Join(e.Problems, "; ")
}

// names maps a Config field to how the user set it: an environment
// variable for FromEnv, the field itself for New.
type names map[string]string

var fieldNames = names{
	"Mode": "Config.Mode", "Engine": "Config.Engine", "Host": "Config.Host", "Port": "Config.Port",
	"User": "Config.User", "Database": "Config.Database", "Auth": "Config.Auth",
	"Password": "Config.Password", "TLS": "Config.TLS", "MaxConns": "Config.MaxConns",
	"Region": "Config.Region", "ClusterARN": "Config.ClusterARN", "SecretARN": "Config.SecretARN",
	"Target": "Config.Target",
}

var envNames = names{
	"Mode": EnvMode, "Engine": EnvEngine, "Host": EnvHost, "Port": EnvPort, "User": EnvUser,
	"Database": EnvName, "Auth": EnvAuth, "Password": EnvPassword, "TLS": EnvTLS,
	"MaxConns": EnvMaxConns, "Region": EnvRegion, "ClusterARN": EnvCluster, "SecretARN": EnvSecret,
	"Target": EnvTarget,
}

// validate returns the problems in c, which has its defaults applied.
func (c Config) validate(n names) []string {
	var p []string
	switch c.Engine {
	case dbspec.Postgres, dbspec.MySQL:
	case "":
		p = append(p, fmt.Sprintf("%s is not set, want %s or %s", n["Engine"], dbspec.Postgres, dbspec.MySQL))
	default:
		p = append(p, fmt.Sprintf("%s = %q, want %s or %s", n["Engine"], c.Engine, dbspec.Postgres, dbspec.MySQL))
	}
	switch c.Mode {
	case ModeConnection:
		p = append(p, c.connectionProblems(n)...)
	case ModeDataAPI:
		p = append(p, c.dataAPIProblems(n)...)
	default:
		p = append(p, fmt.Sprintf("%s = %q, want %s or %s", n["Mode"], c.Mode, ModeConnection, ModeDataAPI))
	}
	p = append(p, c.targetProblems(n)...)
	if c.Database == "" {
		p = append(p, fmt.Sprintf("%s is not set, want the database name", n["Database"]))
	}
	if c.MaxConns < 1 {
		p = append(p, fmt.Sprintf("%s = %d, want 1 or more", n["MaxConns"], c.MaxConns))
	}
	if c.ConnectTimeout < 0 {
		p = append(p, fmt.Sprintf("Config.ConnectTimeout = %v, want a positive duration", c.ConnectTimeout))
	}
	if c.ConnMaxIdleTime < 0 {
		p = append(p, fmt.Sprintf("Config.ConnMaxIdleTime = %v, want a positive duration", c.ConnMaxIdleTime))
	}
	r := c.Retry
	if r.Attempts < 1 {
		p = append(p, fmt.Sprintf("Config.Retry.Attempts = %d, want 1 or more", r.Attempts))
	}
	if r.BaseDelay < 0 || r.MaxDelay < 0 || r.MaxElapsed < 0 {
		p = append(p, fmt.Sprintf("Config.Retry delays = %v, %v, %v, want positive durations", r.BaseDelay, r.MaxDelay, r.MaxElapsed))
	}
	if r.MaxDelay < r.BaseDelay {
		p = append(p, fmt.Sprintf("Config.Retry.MaxDelay = %v is below BaseDelay = %v, want MaxDelay >= BaseDelay", r.MaxDelay, r.BaseDelay))
	}
	return p
}

// connectionProblems returns the problems of the settings ModeConnection
// reads, and of Data API settings that it would ignore.
func (c Config) connectionProblems(n names) []string {
	var p []string
	if c.Host == "" {
		p = append(p, fmt.Sprintf("%s is not set, want the RDS Proxy endpoint's host name", n["Host"]))
	}
	// Port 0 is left only when Engine is bad, which is reported already.
	if c.Port < 0 || c.Port > 65535 {
		p = append(p, fmt.Sprintf("%s = %d, want a TCP port, 1 to 65535", n["Port"], c.Port))
	}
	if c.User == "" {
		p = append(p, fmt.Sprintf("%s is not set, want the database user name", n["User"]))
	}
	switch c.Auth {
	case AuthIAM:
		if c.Password != "" {
			p = append(p, fmt.Sprintf("%s is set but %s is %s: unset it, or use %s=%s", n["Password"], n["Auth"], AuthIAM, n["Auth"], AuthPassword))
		}
		if c.Region == "" {
			p = append(p, fmt.Sprintf("%s is not set: IAM authentication signs its token for a Region (Lambda sets %s itself)", n["Region"], EnvRegion))
		}
		if c.TLS == TLSDisable {
			// RDS Proxy: "IAM authentication is allowed only with SSL
			// connections" (Amazon RDS User Guide, "Troubleshooting for
			// RDS Proxy").
			p = append(p, fmt.Sprintf("%s = %s with %s = %s: RDS Proxy accepts IAM tokens only over TLS, want %s or %s", n["TLS"], TLSDisable, n["Auth"], AuthIAM, TLSVerifyFull, TLSRequire))
		}
	case AuthPassword:
		if c.Password == "" {
			p = append(p, fmt.Sprintf("%s is not set, but %s = %s needs it", n["Password"], n["Auth"], AuthPassword))
		}
	default:
		p = append(p, fmt.Sprintf("%s = %q, want %s or %s", n["Auth"], c.Auth, AuthIAM, AuthPassword))
	}
	switch c.TLS {
	case TLSVerifyFull, TLSRequire, TLSDisable:
	default:
		p = append(p, fmt.Sprintf("%s = %q, want %s, %s or %s", n["TLS"], c.TLS, TLSVerifyFull, TLSRequire, TLSDisable))
	}
	for _, s := range []struct {
		name string
		set  bool
	}{{n["ClusterARN"], c.ClusterARN != ""}, {n["SecretARN"], c.SecretARN != ""}, {"Config.Endpoint", c.Endpoint != ""}} {
		if s.set {
			p = append(p, fmt.Sprintf("%s is set but %s is %s: it applies to %s only; unset it, or set %s = %s", s.name, n["Mode"], ModeConnection, ModeDataAPI, n["Mode"], ModeDataAPI))
		}
	}
	return p
}

// dataAPIProblems returns the problems of the settings ModeDataAPI reads,
// and of connection settings, which it would ignore: one that is set means
// the function and whatever configured it disagree about the mode.
func (c Config) dataAPIProblems(n names) []string {
	var p []string
	for _, s := range []struct {
		name string
		set  bool
	}{
		{n["Host"], c.Host != ""}, {n["Port"], c.Port != 0}, {n["User"], c.User != ""},
		{n["Auth"], c.Auth != ""}, {n["Password"], c.Password != ""}, {n["TLS"], c.TLS != ""},
		{"Config.RootCAs", c.RootCAs != nil}, {"Config.ConnMaxIdleTime", c.ConnMaxIdleTime != 0},
	} {
		if s.set {
			p = append(p, fmt.Sprintf("%s is set but %s is %s, which does not use it (the secret names the user); unset it", s.name, n["Mode"], ModeDataAPI))
		}
	}
	p = append(p, arnProblems(n["ClusterARN"], c.ClusterARN, "rds", "cluster:",
		"the Aurora DB cluster's ARN, arn:aws:rds:REGION:ACCOUNT:cluster:NAME")...)
	p = append(p, arnProblems(n["SecretARN"], c.SecretARN, "secretsmanager", "secret:",
		"the function's Secrets Manager secret ARN, arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME")...)
	if c.Region == "" {
		p = append(p, fmt.Sprintf("%s is not set: Data API requests are signed for the cluster's Region (Lambda sets %s itself)", n["Region"], EnvRegion))
	} else if a, err := arn.Parse(c.ClusterARN); err == nil && a.Region != c.Region {
		p = append(p, fmt.Sprintf("%s = %q is in %s but %s is %s: the Data API is called in the cluster's Region", n["ClusterARN"], c.ClusterARN, a.Region, n["Region"], c.Region))
	}
	return p
}

// arnProblems checks an ARN the Data API takes: set, and of the right
// service and resource type. Its length is left to the service: the Data
// API's model gives resourceArn and secretArn at most 100 characters (RDS
// Data API model rds-data 2018-08-01, shape Arn), yet a cluster whose
// identifier CloudFormation generated can have a longer ARN, which the
// service takes (soto-project/soto#471: an SDK that enforced the model's
// 100 refused a working 101-character cluster ARN, and raised the limit).
func arnProblems(name, value, service, resource, want string) []string {
	if value == "" {
		return []string{fmt.Sprintf("%s is not set, want %s", name, want)}
	}
	a, err := arn.Parse(value)
	if err != nil || a.Service != service || !strings.HasPrefix(a.Resource, resource) {
		return []string{fmt.Sprintf("%s = %q, want %s", name, value, want)}
	}
	return nil
}

// FromEnv reads the configuration from the environment variables listed in
// the package documentation. It returns a *ConfigError naming every
// missing or invalid variable.
func FromEnv() (Config, error) {
	return fromLookup(os.LookupEnv)
}

// fromLookup is FromEnv with the environment passed in, for tests.
func fromLookup(lookup func(string) (string, bool)) (Config, error) {
	get := func(name string) string {
		v, _ := lookup(name)
		return strings.TrimSpace(v)
	}
	c := Config{
		Mode:       Mode(strings.ToLower(get(EnvMode))),
		Engine:     dbspec.Engine(strings.ToLower(get(EnvEngine))),
		Target:     Target(strings.ToLower(get(EnvTarget))),
		Host:       get(EnvHost),
		User:       get(EnvUser),
		Database:   get(EnvName),
		Auth:       Auth(strings.ToLower(get(EnvAuth))),
		TLS:        TLSMode(strings.ToLower(get(EnvTLS))),
		ClusterARN: get(EnvCluster),
		SecretARN:  get(EnvSecret),
		Region:     get(EnvRegion),
	}
	// Passwords may legitimately start or end with spaces.
	c.Password, _ = lookup(EnvPassword)

	// A value that does not parse is reported here and left at zero, so
	// that validate, seeing the default, does not report it again.
	var problems []string
	if v := get(EnvPort); v != "" {
		port, err := strconv.Atoi(v)
		if err != nil || port < 1 || port > 65535 {
			problems = append(problems, fmt.Sprintf("%s = %q, want a TCP port, 1 to 65535", EnvPort, v))
		} else {
			c.Port = port
		}
	}
	if v := get(EnvMaxConns); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			problems = append(problems, fmt.Sprintf("%s = %q, want a whole number, 1 or more", EnvMaxConns, v))
		} else {
			c.MaxConns = n
		}
	}
	problems = append(problems, c.withDefaults().validate(envNames)...)
	if len(problems) > 0 {
		return Config{}, &ConfigError{Problems: problems}
	}
	return c, nil
}

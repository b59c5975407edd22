package dbconn

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"syscall"
	"time"

	awsretry "github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// RetryableError reports work that failed because the database stayed busy,
// resuming or unreachable through every retry Do was allowed. The condition is
// expected to pass: the caller should fail this request and have it retried
// later (for Lambda: return the error, and let the event source or client
// retry).
type RetryableError struct {
	// Reason says what kept failing, for example "database busy: too
	// many connections".
	Reason string
	// Attempts is how many tries were made.
	Attempts int
	// Elapsed is the time from the first try to giving up.
	Elapsed time.Duration
	// Err is the last error.
	Err error
}

func (e *RetryableError) Error() string {
	return fmt.Sprintf("%s after %d attempts in %v; retry later: %v",
		e.Reason, e.Attempts, e.Elapsed.Round(10*time.Millisecond), e.Err)
}

// Unwrap returns the last error, so errors.As finds the driver's error.
func (e *RetryableError) Unwrap() error { return e.Err }

// Retryable reports that the failed work may be retried later. It is always
// true; it lets callers test for the behaviour through an interface
// without importing this package.
func (e *RetryableError) Retryable() bool { return true }

// class is what an error says about retrying.
type class int

const (
	// permanent errors are returned as they are: SQL errors, bad
	// credentials, cancelled contexts.
	permanent class = iota
	// busy errors mean the database or proxy could not give a connection
	// now; retry after a backoff.
	busy
	// lost errors mean the connection broke; retry once, at once, on a
	// new connection.
	lost
)

// RDS Proxy's messages when it cannot give the client a connection, from
// the Amazon RDS User Guide, "Troubleshooting for RDS Proxy" (PostgreSQL
// table; for MySQL the proxy uses error numbers 1040 and 9501, matched
// below). The proxy's PostgreSQL errors carry no documented SQLSTATE, so
// they are matched by text.
var proxyBusyMessages = []string{
	// ConnectionBorrowTimeout ran out with every database connection in
	// use (PostgreSQL; MySQL error 9501 has the same text).
	"Timed-out waiting to acquire database connection",
	// Client-side limits of the proxy.
	"The maximum number of client connections to the proxy exceeded",
	"Rate of connection to proxy exceeded",
	"The IAM authentication failed because of too many competing requests",
}

// pgbouncer's messages for the same conditions: query_wait_timeout is its
// counterpart of the proxy's borrow timeout.
var poolerBusyMessages = []string{
	"query_wait_timeout",
	"no more connections allowed (max_client_conn)",
}

// MySQL and MariaDB error numbers that mean "no connection for you now".
const (
	mysqlTooManyConnections     = 1040 // ER_CON_COUNT_ERROR; RDS Proxy also uses it for its rate and IAM limits
	mysqlTooManyUserConnections = 1203 // ER_TOO_MANY_USER_CONNECTIONS (max_user_connections)
	mysqlServerShutdown         = 1053 // ER_SERVER_SHUTDOWN
	mysqlConnectionKilled       = 1927 // ER_CONNECTION_KILLED (MariaDB)
	rdsProxyBorrowTimeout       = 9501 // RDS Proxy: "Timed-out waiting to acquire database connection" (Amazon RDS User Guide, "Troubleshooting for RDS Proxy")
)

// classify says whether err is worth retrying, and why, in words for
// RetryableError.Reason.
func classify(err error) (class, string) {
	if err == nil {
		return permanent, ""
	}
	msg := err.Error()
	for _, m := range proxyBusyMessages {
		if strings.Contains(msg, m) {
			return busy, "database busy: RDS Proxy could not provide a connection (" + m + ")"
		}
	}
	for _, m := range poolerBusyMessages {
		if strings.Contains(msg, m) {
			return busy, "database busy: pooler could not provide a connection (" + m + ")"
		}
	}

	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "53300": // too_many_connections
			return busy, "database busy: too many connections"
		case pgErr.Code == "57P03": // cannot_connect_now: starting up, shutting down, recovering
			return busy, "database unavailable: not accepting connections yet"
		case pgErr.Code == "57P01", pgErr.Code == "57P02": // admin_shutdown, crash_shutdown: backend terminated
			return lost, "database connection lost: server ended the session"
		case pgErr.Code == "08000", pgErr.Code == "08003", pgErr.Code == "08006":
			// connection_exception, connection_does_not_exist,
			// connection_failure. Not all of class 08: poolers send
			// 08P01 (protocol_violation) for failed logins too.
			return lost, "database connection lost"
		}
		return permanent, ""
	}
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		switch myErr.Number {
		case mysqlTooManyConnections, mysqlTooManyUserConnections:
			return busy, "database busy: too many connections"
		case rdsProxyBorrowTimeout:
			return busy, "database busy: RDS Proxy could not provide a connection"
		case mysqlServerShutdown:
			return busy, "database unavailable: server shutting down"
		case mysqlConnectionKilled:
			return lost, "database connection lost: server ended the session"
		}
		return permanent, ""
	}

	// The Data API answered. Its errors are by code (RDS Data API
	// reference, ExecuteStatement, "Errors"); statement errors
	// (DatabaseErrorException, and BadRequestException from Aurora
	// Serverless v1) are the caller's, like a driver's SQL error.
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code := apiErr.ErrorCode()
		status := 0
		var respErr *awshttp.ResponseError
		if errors.As(err, &respErr) {
			status = respErr.HTTPStatusCode()
		}
		_, throttled := awsretry.DefaultThrottleErrorCodes[code]
		_, unavailable := awsretry.DefaultRetryableHTTPStatusCodes[status]
		switch {
		case code == "DatabaseResumingException":
			// "The Data API request automatically resumes the DB
			// instance. Wait a few seconds and try again."
			return busy, "database resuming: the Aurora Serverless v2 cluster was paused"
		case code == "DatabaseUnavailableException":
			return busy, "database unavailable: the cluster's writer instance is not available"
		case throttled:
			// The Data API documents no throttling error of its own,
			// and no request quota on Serverless v2 and provisioned
			// clusters (Amazon Aurora User Guide, "Limitations for the
			// Amazon RDS Data API"); these are the codes AWS services
			// throttle with (aws/retry DefaultThrottleErrorCodes).
			return busy, "Data API throttled (" + code + ")"
		case unavailable:
			// 500, 502, 503, 504: the status codes the AWS SDK
			// retries (aws/retry DefaultRetryableHTTPStatusCodes).
			return busy, fmt.Sprintf("Data API unavailable (%s, HTTP %d)", code, status)
		}
		return permanent, ""
	}

	// Context errors belong to the caller: the deadline or a cancel.
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return permanent, ""
	}
	// Nothing listening, or the listener reset us while connecting: the
	// server or proxy is restarting or overloaded.
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return busy, "database unavailable: cannot connect"
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return busy, "database unavailable: connection refused"
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return lost, "database connection lost"
	}
	return permanent, ""
}

// retry runs fn until it succeeds, fails permanently, or the policy or the
// context's deadline ends the retries. Busy errors are retried with
// exponential backoff and full jitter; a lost connection is retried once,
// at once (database/sql has by then dropped the broken connection).
func retry(ctx context.Context, p RetryPolicy, fn func(context.Context) error) error {
	start := time.Now()
	var (
		lastErr    error
		lastReason string
		lostRetry  bool
	)
	giveUp := func(attempts int, err error) error {
		return &RetryableError{Reason: lastReason, Attempts: attempts, Elapsed: time.Since(start), Err: err}
	}
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		cls, reason := classify(err)
		if cls == permanent {
			// The context ran out while we were retrying: what matters
			// is why we were retrying.
			if lastErr != nil && ctx.Err() != nil {
				return giveUp(attempt, fmt.Errorf("%w (then: %v)", lastErr, err))
			}
			return err
		}
		lastErr, lastReason = err, reason
		if attempt >= p.Attempts || ctx.Err() != nil {
			return giveUp(attempt, err)
		}
		var delay time.Duration
		if cls == lost {
			if lostRetry {
				return giveUp(attempt, err)
			}
			lostRetry = true
		} else {
			delay = backoff(p, attempt)
		}
		if time.Since(start)+delay > p.MaxElapsed {
			return giveUp(attempt, err)
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= delay {
			// Sleeping would take us past the caller's deadline (in
			// Lambda: the invocation's timeout); report now instead.
			return giveUp(attempt, err)
		}
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return giveUp(attempt, err)
			case <-t.C:
			}
		}
	}
}

// backoff returns the wait before try number attempt+1: a uniform draw
// from [0, min(MaxDelay, BaseDelay * 2^(attempt-1))], which spreads out
// environments that failed together ("full jitter").
func backoff(p RetryPolicy, attempt int) time.Duration {
	ceiling := p.MaxDelay
	if shift := attempt - 1; shift < 30 {
		if d := p.BaseDelay << shift; d > 0 && d < ceiling {
			ceiling = d
		}
	}
	if ceiling <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

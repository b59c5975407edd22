package dbconn

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/rdsdata/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want class
	}{
		{"nil", nil, permanent},
		{"pg too_many_connections", &pgconn.PgError{Code: "53300", Message: "sorry, too many clients already"}, busy},
		{"pg too_many_connections, wrapped", fmt.Errorf("connect: %w", &pgconn.PgError{Code: "53300"}), busy},
		{"pg cannot_connect_now", &pgconn.PgError{Code: "57P03", Message: "the database system is starting up"}, busy},
		{"pg admin_shutdown", &pgconn.PgError{Code: "57P01"}, lost},
		{"pg crash_shutdown", &pgconn.PgError{Code: "57P02"}, lost},
		{"pg connection_failure", &pgconn.PgError{Code: "08006"}, lost},
		{"pgbouncer login failure", &pgconn.PgError{Code: "08P01", Message: "password authentication failed"}, permanent},
		{"pg undefined_table", &pgconn.PgError{Code: "42P01"}, permanent},
		{"pg invalid_password", &pgconn.PgError{Code: "28P01"}, permanent},
		{"rds proxy borrow timeout (postgres)", errors.New("FATAL: Timed-out waiting to acquire database connection."), busy},
		{"rds proxy client limit (postgres)", errors.New("The maximum number of client connections to the proxy exceeded 100."), busy},
		{"rds proxy borrow timeout (mysql)", &mysql.MySQLError{Number: 9501, Message: "Timed-out waiting to acquire database connection"}, busy},
		{"mysql too many connections", &mysql.MySQLError{Number: 1040, Message: "Too many connections"}, busy},
		{"mysql max_user_connections", &mysql.MySQLError{Number: 1203}, busy},
		{"mysql access denied", &mysql.MySQLError{Number: 1045}, permanent},
		{"mysql connection killed", &mysql.MySQLError{Number: 1927}, lost},
		{"pgbouncer query_wait_timeout", &pgconn.PgError{Code: "08P01", Message: "query_wait_timeout"}, busy},
		{"dial refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, busy},
		{"dial reset", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNRESET}, busy},
		{"read reset", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, lost},
		{"bad conn", driver.ErrBadConn, lost},
		{"mysql invalid conn", mysql.ErrInvalidConn, lost},
		{"unexpected EOF", fmt.Errorf("receive message: %w", io.ErrUnexpectedEOF), lost},
		{"deadline", context.DeadlineExceeded, permanent},
		{"other", errors.New("syntax error"), permanent},

		{"data api resuming", dataAPIError(400, &types.DatabaseResumingException{}), busy},
		{"data api writer unavailable", dataAPIError(504, &types.DatabaseUnavailableException{}), busy},
		{"data api throttled", dataAPIError(400, &smithy.GenericAPIError{Code: "ThrottlingException"}), busy},
		{"data api too many requests", dataAPIError(429, &smithy.GenericAPIError{Code: "TooManyRequestsException"}), busy},
		{"data api unavailable", dataAPIError(503, &types.ServiceUnavailableError{}), busy},
		{"data api internal error", dataAPIError(500, &types.InternalServerErrorException{}), busy},
		{"bad gateway before the data api", dataAPIError(502, &smithy.GenericAPIError{Code: "UnknownError"}), busy},
		{"data api statement error", dataAPIError(400, &types.DatabaseErrorException{Message: aws.String("ERROR: permission denied for table items; SQLState: 42501")}), permanent},
		{"data api v1 statement error", dataAPIError(400, &types.BadRequestException{}), permanent},
		{"data api statement timeout", dataAPIError(400, &types.StatementTimeoutException{}), permanent},
		{"data api transaction gone", dataAPIError(404, &types.TransactionNotFoundException{}), permanent},
		{"data api access denied", dataAPIError(403, &types.AccessDeniedException{}), permanent},
		{"data api unreachable", &smithy.OperationError{ServiceID: "RDS Data", OperationName: "ExecuteStatement",
			Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}, busy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := classify(tt.err)
			if got != tt.want {
				t.Errorf("classify(%v) = %v (%q), want %v", tt.err, got, reason, tt.want)
			}
			if got != permanent && reason == "" {
				t.Errorf("classify(%v) reason is empty, want one for the error message", tt.err)
			}
		})
	}
}

// dataAPIError is err as the AWS SDK returns a Data API error answered
// with an HTTP status.
func dataAPIError(status int, err error) error {
	return &smithy.OperationError{ServiceID: "RDS Data", OperationName: "ExecuteStatement", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err},
	}}
}

func TestSQLState(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&pgconn.PgError{Code: "23505"}, "23505"},
		{fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "42P07"}), "42P07"},
		{&mysql.MySQLError{Number: 1142, SQLState: [5]byte{'4', '2', '0', '0', '0'}}, "42000"},
		{&mysql.MySQLError{Number: 1040}, ""},
		{dataAPIError(400, &types.DatabaseErrorException{Message: aws.String("ERROR: permission denied for table items; SQLState: 42501")}), "42501"},
		{dataAPIError(400, &types.BadRequestException{Message: aws.String("ERROR: relation \"x\" does not exist\n  Position: 15; SQLState: 42P01")}), "42P01"},
		{dataAPIError(400, &types.DatabaseErrorException{Message: aws.String("Transaction is still running a query")}), ""},
		{dataAPIError(400, &types.DatabaseResumingException{Message: aws.String("x; SQLState: 57P03")}), ""},
		{errors.New("syntax error; SQLState: 42601"), ""},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := SQLState(tt.err); got != tt.want {
			t.Errorf("SQLState(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	p := RetryPolicy{BaseDelay: 50 * time.Millisecond, MaxDelay: time.Second}
	tests := []struct {
		attempt int
		max     time.Duration
	}{
		{1, 50 * time.Millisecond},
		{2, 100 * time.Millisecond},
		{3, 200 * time.Millisecond},
		{5, 800 * time.Millisecond},
		{6, time.Second},
		{60, time.Second}, // no overflow
	}
	for _, tt := range tests {
		var most time.Duration
		for i := 0; i < 500; i++ {
			d := backoff(p, tt.attempt)
			if d < 0 || d > tt.max {
				t.Fatalf("backoff(attempt %d) = %v, want within [0, %v]", tt.attempt, d, tt.max)
			}
			most = max(most, d)
		}
		// Full jitter uses the whole range, not just a sliver of it.
		if most < tt.max/2 {
			t.Errorf("backoff(attempt %d) never exceeded %v in 500 draws, want draws up to %v", tt.attempt, most, tt.max)
		}
	}
}

// fakeWork returns a function for retry that fails with errs in turn, then
// succeeds, and counts its calls.
func fakeWork(errs ...error) (func(context.Context) error, *int) {
	calls := 0
	return func(context.Context) error {
		calls++
		if calls <= len(errs) {
			return errs[calls-1]
		}
		return nil
	}, &calls
}

func TestRetry(t *testing.T) {
	tooMany := &pgconn.PgError{Code: "53300", Message: "sorry, too many clients already"}
	terminated := &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}
	syntax := &pgconn.PgError{Code: "42601"}
	fast := RetryPolicy{Attempts: 4, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxElapsed: 10 * time.Second}

	tests := []struct {
		name         string
		errs         []error
		wantCalls    int
		wantErr      error  // errors.Is target, if not a RetryableError
		wantRetryMsg string // RetryableError message prefix, if one
	}{
		{name: "success", wantCalls: 1},
		{name: "busy then success", errs: []error{tooMany, tooMany}, wantCalls: 3},
		{name: "busy throughout", errs: []error{tooMany, tooMany, tooMany, tooMany, tooMany}, wantCalls: 4,
			wantRetryMsg: "database busy: too many connections after 4 attempts in "},
		{name: "lost once", errs: []error{terminated}, wantCalls: 2},
		{name: "lost twice", errs: []error{terminated, terminated}, wantCalls: 2,
			wantRetryMsg: "database connection lost: server ended the session after 2 attempts in "},
		{name: "lost, then busy while the server restarts", errs: []error{terminated, tooMany}, wantCalls: 3},
		{name: "permanent", errs: []error{syntax}, wantCalls: 1, wantErr: syntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			work, calls := fakeWork(tt.errs...)
			err := retry(context.Background(), fast, work)
			if *calls != tt.wantCalls {
				t.Errorf("retry(%v) called work %d times, want %d", tt.errs, *calls, tt.wantCalls)
			}
			var re *RetryableError
			switch {
			case tt.wantRetryMsg != "":
				if !errors.As(err, &re) || !re.Retryable() {
					t.Fatalf("retry(%v) = %v, want a *RetryableError", tt.errs, err)
				}
				if !strings.HasPrefix(err.Error(), tt.wantRetryMsg) || !strings.HasSuffix(err.Error(), "; retry later: "+tt.errs[len(tt.errs)-1].Error()) {
					t.Errorf("retry(%v) = %q, want %q... ending with the last error", tt.errs, err, tt.wantRetryMsg)
				}
				if re.Attempts != tt.wantCalls {
					t.Errorf("RetryableError.Attempts = %d, want %d", re.Attempts, tt.wantCalls)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) || errors.As(err, &re) {
					t.Errorf("retry(%v) = %v, want %v as is", tt.errs, err, tt.wantErr)
				}
			default:
				if err != nil {
					t.Errorf("retry(%v) = %v, want nil", tt.errs, err)
				}
			}
		})
	}
}

func TestRetryStopsAtDeadline(t *testing.T) {
	tooMany := &pgconn.PgError{Code: "53300"}
	slow := RetryPolicy{Attempts: 100, BaseDelay: time.Second, MaxDelay: time.Second, MaxElapsed: time.Hour}

	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		p    RetryPolicy
	}{
		{"context deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 100*time.Millisecond)
		}, slow},
		{"MaxElapsed", func() (context.Context, context.CancelFunc) {
			return context.WithCancel(context.Background())
		}, RetryPolicy{Attempts: 100, BaseDelay: time.Second, MaxDelay: time.Second, MaxElapsed: 100 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.ctx()
			defer cancel()
			start := time.Now()
			err := retry(ctx, tt.p, func(context.Context) error { return tooMany })
			elapsed := time.Since(start)
			var re *RetryableError
			if !errors.As(err, &re) {
				t.Fatalf("retry(always busy) = %v, want a *RetryableError", err)
			}
			// Generous: the bound is 100 ms; this only proves it does not
			// wait out 100 attempts of up to a second each.
			if elapsed > 5*time.Second {
				t.Errorf("retry(always busy) took %v, want it to stop near 100ms", elapsed)
			}
		})
	}
}

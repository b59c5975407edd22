package dataapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/rdsdata"
	"github.com/aws/aws-sdk-go-v2/service/rdsdata/types"

	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/internal/testdb"
)

func TestNewRejectsBadOptions(t *testing.T) {
	_, err := New(Options{Engine: "oracle", Addr: "localhost"})
	for _, want := range []string{`Engine = "oracle", want postgres or mysql`, `Addr = "localhost", want host:port`, "ClusterARN is not set", "Secrets is empty"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New(bad options) error = %v, want it to contain %q", err, want)
		}
	}
}

const (
	testCluster = "arn:aws:rds:us-east-1:123456789012:cluster:test"
	testSecret  = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app-AbCdEf"
)

// client is the AWS SDK's Data API client, pointed at s, without retries.
func client(s *Server) *rdsdata.Client {
	return rdsdata.New(rdsdata.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(s.URL), Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	})
}

// TestServer checks the answers the SDK sees, on a real PostgreSQL.
func TestServer(t *testing.T) {
	t.Parallel()
	pg := testdb.StartPostgres(t, testdb.PostgresOptions{})
	pg.CreateUser(t, "app", "app-pw")
	pg.CreateDatabase(t, "app", "app")
	s := Start(t, Options{
		Engine: dbspec.Postgres, Addr: net.JoinHostPort(pg.Host, strconv.Itoa(pg.Port)), ClusterARN: testCluster,
		Secrets: map[string]Credentials{testSecret: {Username: "app", Password: "app-pw"}},
	})
	c := client(s)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	exec := func(sql string, params ...types.SqlParameter) (*rdsdata.ExecuteStatementOutput, error) {
		return c.ExecuteStatement(ctx, &rdsdata.ExecuteStatementInput{
			ResourceArn: aws.String(testCluster), SecretArn: aws.String(testSecret), Database: aws.String("app"),
			Sql: aws.String(sql), Parameters: params, IncludeResultMetadata: true,
		})
	}
	param := func(name string, v types.Field, hint types.TypeHint) types.SqlParameter {
		return types.SqlParameter{Name: aws.String(name), Value: v, TypeHint: hint}
	}

	t.Run("Records", func(t *testing.T) {
		out, err := exec(`SELECT current_user, :n::int + 1 AS next, NULL::text AS nothing, '2026-11-03 14:15:16.5+01'::timestamptz AS at`,
			param("n", &types.FieldMemberLongValue{Value: 41}, ""))
		if err != nil {
			t.Fatalf("ExecuteStatement error = %v", err)
		}
		if len(out.Records) != 1 || len(out.ColumnMetadata) != 4 {
			t.Fatalf("ExecuteStatement = %d records, %d columns, want 1 and 4", len(out.Records), len(out.ColumnMetadata))
		}
		r := out.Records[0]
		user, _ := r[0].(*types.FieldMemberStringValue)
		next, _ := r[1].(*types.FieldMemberLongValue)
		_, null := r[2].(*types.FieldMemberIsNull)
		at, _ := r[3].(*types.FieldMemberStringValue)
		if user == nil || user.Value != "app" || next == nil || next.Value != 42 || !null || at == nil || at.Value != "2026-11-03 13:15:16.5" {
			t.Errorf("record = %#v, want the secret's user app, 42, NULL, the timestamp in UTC", r)
		}
		if m := out.ColumnMetadata[1]; aws.ToString(m.Label) != "next" || aws.ToString(m.TypeName) != "int4" {
			t.Errorf("column metadata = %+v, want label next, typeName int4", m)
		}
	})

	t.Run("StringsAreVarchar", func(t *testing.T) {
		id := "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
		_, err := exec(`SELECT :id::text = :u::uuid::text`, param("id", &types.FieldMemberStringValue{Value: id}, ""),
			param("u", &types.FieldMemberStringValue{Value: id}, types.TypeHintUuid))
		if err != nil {
			t.Errorf("a string with typeHint UUID: error = %v, want nil", err)
		}
		if _, err := exec(`CREATE TABLE IF NOT EXISTS ids (id uuid)`); err != nil {
			t.Fatal(err)
		}
		_, err = exec(`INSERT INTO ids VALUES (:id)`, param("id", &types.FieldMemberStringValue{Value: id}, ""))
		var dbErr *types.DatabaseErrorException
		if !errors.As(err, &dbErr) || !strings.Contains(aws.ToString(dbErr.Message), "character varying; SQLState: 42804") {
			t.Errorf("a string without typeHint into a uuid column: error = %v, want 42804, as the service sends a varchar", err)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		var (
			notEnabled *types.HttpEndpointNotEnabledException
			secrets    *types.SecretsErrorException
			noTx       *types.TransactionNotFoundException
			dbErr      *types.DatabaseErrorException
			badRequest *types.BadRequestException
		)
		_, err := c.ExecuteStatement(ctx, &rdsdata.ExecuteStatementInput{ResourceArn: aws.String(testCluster + "x"), SecretArn: aws.String(testSecret), Sql: aws.String("SELECT 1")})
		if !errors.As(err, &notEnabled) {
			t.Errorf("another cluster: error = %v, want HttpEndpointNotEnabledException", err)
		}
		_, err = c.ExecuteStatement(ctx, &rdsdata.ExecuteStatementInput{ResourceArn: aws.String(testCluster), SecretArn: aws.String(testSecret + "x"), Sql: aws.String("SELECT 1")})
		if !errors.As(err, &secrets) {
			t.Errorf("an unknown secret: error = %v, want SecretsErrorException", err)
		}
		_, err = c.CommitTransaction(ctx, &rdsdata.CommitTransactionInput{ResourceArn: aws.String(testCluster), SecretArn: aws.String(testSecret), TransactionId: aws.String("nope")})
		if !errors.As(err, &noTx) {
			t.Errorf("an unknown transaction: error = %v, want TransactionNotFoundException", err)
		}
		_, err = exec(`SELECT * FROM nope`)
		if !errors.As(err, &dbErr) || aws.ToString(dbErr.Message) != `ERROR: relation "nope" does not exist; SQLState: 42P01` {
			t.Errorf("a missing table: error = %v, want DatabaseErrorException with the database's message and SQLSTATE", err)
		}
		_, err = exec(`SELECT :a`)
		if !errors.As(err, &dbErr) || !strings.Contains(err.Error(), "No value specified for parameter a") {
			t.Errorf("a parameter without a value: error = %v, want DatabaseErrorException", err)
		}
		_, err = c.ExecuteStatement(ctx, &rdsdata.ExecuteStatementInput{ResourceArn: aws.String(testCluster), SecretArn: aws.String(testSecret),
			Sql: aws.String("SELECT 1"), Schema: aws.String("public")})
		if !errors.As(err, &badRequest) {
			t.Errorf("the schema parameter: error = %v, want BadRequestException", err)
		}
		// Over 1 MiB: refused; just under: answered.
		_, err = exec(`SELECT repeat('x', 1100000)`)
		if !errors.As(err, &dbErr) || !strings.Contains(err.Error(), "response size limit") {
			t.Errorf("a 1.1 MB result: error = %v, want the response size limit", err)
		}
		if _, err := exec(`SELECT repeat('x', 1000000)`); err != nil {
			t.Errorf("a 1.0 MB result: error = %v, want nil", err)
		}
	})

	t.Run("Unsigned", func(t *testing.T) {
		resp, err := http.Post(s.URL+"/Execute", "application/json", strings.NewReader(`{"sql":"SELECT 1"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-Amzn-ErrorType") != "AccessDeniedException" {
			t.Errorf("an unsigned request: %d %s, want 403 AccessDeniedException", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
		}
	})

	t.Run("OneStatementAtATimeInATransaction", func(t *testing.T) {
		begin, err := c.BeginTransaction(ctx, &rdsdata.BeginTransactionInput{ResourceArn: aws.String(testCluster), SecretArn: aws.String(testSecret), Database: aws.String("app")})
		if err != nil {
			t.Fatal(err)
		}
		inTx := func(sql string) error {
			_, err := c.ExecuteStatement(ctx, &rdsdata.ExecuteStatementInput{ResourceArn: aws.String(testCluster), SecretArn: aws.String(testSecret),
				Sql: aws.String(sql), TransactionId: begin.TransactionId})
			return err
		}
		var wg sync.WaitGroup
		wg.Add(1)
		var slowErr error
		before := s.Count("ExecuteStatement")
		go func() {
			defer wg.Done()
			slowErr = inTx("SELECT pg_sleep(1)")
		}()
		for s.Count("ExecuteStatement") == before {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
		err = inTx("SELECT 1")
		var dbErr *types.DatabaseErrorException
		if !errors.As(err, &dbErr) || !strings.Contains(err.Error(), "Transaction is still running a query") {
			t.Errorf("a second statement while the first runs: error = %v, want DatabaseErrorException", err)
		}
		wg.Wait()
		if slowErr != nil {
			t.Errorf("the first statement: error = %v", slowErr)
		}
		// A failed statement ends the transaction.
		if err := inTx("SELECT * FROM nope"); err == nil {
			t.Fatal("SELECT from a missing table succeeded")
		}
		var noTx *types.TransactionNotFoundException
		if err := inTx("SELECT 1"); !errors.As(err, &noTx) {
			t.Errorf("a statement after a failed one: error = %v, want TransactionNotFoundException", err)
		}
	})

	t.Run("Pause", func(t *testing.T) {
		// The resume starts with the first request, not with Pause.
		s.Pause(300 * time.Millisecond)
		time.Sleep(400 * time.Millisecond)
		var resuming *types.DatabaseResumingException
		if _, err := exec("SELECT 1"); !errors.As(err, &resuming) {
			t.Fatalf("the first request to a paused cluster: error = %v, want DatabaseResumingException", err)
		}
		if _, err := exec("SELECT 1"); !errors.As(err, &resuming) {
			t.Errorf("a request while resuming: error = %v, want DatabaseResumingException", err)
		}
		time.Sleep(400 * time.Millisecond)
		if _, err := exec("SELECT 1"); err != nil {
			t.Errorf("a request after the resume: error = %v, want nil", err)
		}
	})
}

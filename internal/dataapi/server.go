package dataapi

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx" with database/sql

	"github.com/lambdards/lambdards/dbspec"
	"github.com/lambdards/lambdards/functions/dbconn"
	"github.com/lambdards/lambdards/functions/dbconn/placeholder"
)

// Options say which database a Server fronts and which secrets it knows.
type Options struct {
	// Engine is dbspec.Postgres or dbspec.MySQL (MariaDB too).
	// Required.
	Engine dbspec.Engine

	// Addr is the database server's host:port.
	// Required.
	Addr string

	// ClusterARN is the cluster the Server answers for; a request for
	// another gets HttpEndpointNotEnabledException.
	// Required.
	ClusterARN string

	// Secrets maps secret ARNs to the database users they hold; a request
	// naming another secret gets SecretsErrorException.
	// Required.
	Secrets map[string]Credentials
}

// Credentials are what a database secret holds.
type Credentials struct {
	Username string
	Password string
}

// Server answers Data API requests with a real database. It is safe for
// concurrent use.
type Server struct {
	// URL is the base URL the SDK is pointed at; Start sets it.
	URL string

	opts    Options
	dialect placeholder.Dialect

	mu       sync.Mutex
	pools    map[poolKey]*sql.DB
	txs      map[string]*transaction
	resume   time.Duration // Pause: how long the next call's resume takes
	paused   bool
	resumed  time.Time // while resuming: when the resume is done
	counts   map[string]int
	shutdown bool
}

// poolKey names a pool: one per secret and database.
type poolKey struct{ secret, database string }

// New returns a Server for opts. It does not connect until a request
// comes.
func New(opts Options) (*Server, error) {
	var problems []string
	dialect := placeholder.Postgres
	switch opts.Engine {
	case dbspec.Postgres:
	case dbspec.MySQL:
		dialect = placeholder.MySQL
	default:
		problems = append(problems, fmt.Sprintf("Engine = %q, want %s or %s", opts.Engine, dbspec.Postgres, dbspec.MySQL))
	}
	if _, _, err := net.SplitHostPort(opts.Addr); err != nil {
		problems = append(problems, fmt.Sprintf("Addr = %q, want host:port", opts.Addr))
	}
	if opts.ClusterARN == "" {
		problems = append(problems, "ClusterARN is not set")
	}
	if len(opts.Secrets) == 0 {
		problems = append(problems, "Secrets is empty")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("dataapi: %s", strings.Join(problems, "; "))
	}
	return &Server{
		opts: opts, dialect: dialect,
		pools: map[poolKey]*sql.DB{}, txs: map[string]*transaction{}, counts: map[string]int{},
	}, nil
}

// Start serves a new Server on a free loopback port until the test ends,
// and sets its URL. It fails the test if the Server cannot start: a
// stand-in that is not there must not let a test pass.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("dataapi: listening on loopback: %v", err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	s.URL = "http://" + ln.Addr().String()
	t.Cleanup(func() {
		srv.Close()
		s.Close()
	})
	return s
}

// Close rolls back open transactions and closes the Server's connections.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shutdown = true
	for id, tx := range s.txs {
		tx.timer.Stop()
		tx.tx.Rollback()
		delete(s.txs, id)
	}
	var errs []error
	for k, p := range s.pools {
		errs = append(errs, p.Close())
		delete(s.pools, k)
	}
	return errors.Join(errs...)
}

// Pause pauses the cluster: the next request starts a resume that takes
// resume, and every request until it is done gets
// DatabaseResumingException.
func (s *Server) Pause(resume time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paused, s.resume, s.resumed = true, resume, time.Time{}
}

// Count returns how many requests an operation (e.g. "ExecuteStatement")
// got, or how many answers carried an error code (e.g.
// "DatabaseResumingException").
func (s *Server) Count(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[name]
}

// apiError is an error answer: its code goes in X-Amzn-ErrorType, which
// the SDK maps to a typed exception, and its message in the body.
type apiError struct {
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

// errorStatus is each error's HTTP status, as the Data API's model gives
// it (rds-data 2018-08-01 error shapes, httpStatusCode). The SDK reads the
// code, not the status; DatabaseResumingException is a client fault in the
// SDK, and 400 here like the other client faults that are not "not found"
// or "forbidden".
var errorStatus = map[string]int{
	"AccessDeniedException":           http.StatusForbidden,
	"BadRequestException":             http.StatusBadRequest,
	"DatabaseErrorException":          http.StatusBadRequest,
	"DatabaseResumingException":       http.StatusBadRequest,
	"DatabaseUnavailableException":    http.StatusGatewayTimeout,
	"HttpEndpointNotEnabledException": http.StatusBadRequest,
	"InternalServerErrorException":    http.StatusInternalServerError,
	"SecretsErrorException":           http.StatusBadRequest,
	"TransactionNotFoundException":    http.StatusNotFound,
	"UnknownOperationException":       http.StatusNotFound,
}

// request is the body of every operation served; each reads its fields.
type request struct {
	ResourceArn           string          `json:"resourceArn"`
	SecretArn             string          `json:"secretArn"`
	Database              string          `json:"database"`
	Schema                string          `json:"schema"`
	SQL                   string          `json:"sql"`
	Parameters            []parameter     `json:"parameters"`
	ParameterSets         [][]parameter   `json:"parameterSets"`
	TransactionID         string          `json:"transactionId"`
	IncludeResultMetadata bool            `json:"includeResultMetadata"`
	ContinueAfterTimeout  bool            `json:"continueAfterTimeout"`
	FormatRecordsAs       string          `json:"formatRecordsAs"`
	ResultSetOptions      json.RawMessage `json:"resultSetOptions"`
}

// operations are the operations served, by their request path (RDS Data
// API reference: POST /Execute, ...).
var operations = map[string]string{
	"/Execute": "ExecuteStatement", "/BatchExecute": "BatchExecuteStatement",
	"/BeginTransaction": "BeginTransaction", "/CommitTransaction": "CommitTransaction",
	"/RollbackTransaction": "RollbackTransaction",
}

// ServeHTTP answers one Data API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := operations[r.URL.Path]
	if !ok || r.Method != http.MethodPost {
		s.answer(w, nil, &apiError{"UnknownOperationException", fmt.Sprintf("%s %s is not an operation the stand-in serves", r.Method, r.URL.Path)})
		return
	}
	s.count(op)
	var req request
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequest)).Decode(&req); err != nil {
		s.answer(w, nil, &apiError{"BadRequestException", "request body: " + err.Error()})
		return
	}
	if err := s.admit(r, req); err != nil {
		s.answer(w, nil, err)
		return
	}
	var out any
	var err error
	switch op {
	case "ExecuteStatement":
		out, err = s.execute(r.Context(), req)
	case "BatchExecuteStatement":
		out, err = s.batchExecute(r.Context(), req)
	case "BeginTransaction":
		out, err = s.begin(req)
	case "CommitTransaction":
		out, err = s.end(req, true)
	case "RollbackTransaction":
		out, err = s.end(req, false)
	}
	s.answer(w, out, err)
}

// maxRequest is the largest request the Data API takes: "the maximum size
// of the HTTP request submitted through the Data API is 4 MiB" (RDS Data
// API reference, BatchExecuteStatement).
const maxRequest = 4 << 20

// maxResponse is the largest response: "The response size limit is 1 MiB.
// If the call returns more than 1 MiB of response data, the call is
// terminated." (RDS Data API reference, BatchExecuteStatement; Amazon
// Aurora User Guide, "Limitations for the Amazon RDS Data API").
const maxResponse = 1 << 20

// answer writes out as JSON, or err as the error the SDK expects.
func (s *Server) answer(w http.ResponseWriter, out any, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-RequestId", randomID(16))
	var body []byte
	if err == nil {
		body, err = json.Marshal(out)
		if err == nil && len(body) > maxResponse {
			// The message the service gives (Amazon Aurora User Guide,
			// "Troubleshooting Amazon RDS Data API").
			err = &apiError{"DatabaseErrorException", "Database returned more than the allowed response size limit"}
		}
	}
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{"InternalServerErrorException", err.Error()}
		}
		s.count(ae.code)
		status, ok := errorStatus[ae.code]
		if !ok {
			status = http.StatusInternalServerError
		}
		w.Header().Set("X-Amzn-ErrorType", ae.code)
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"message": ae.message})
		return
	}
	w.Write(body)
}

// admit checks what the service checks before running anything: the
// signature's scope (not the signature), the cluster, the secret, the
// options the stand-in serves, and whether the cluster is resuming.
func (s *Server) admit(r *http.Request, req request) error {
	if !strings.Contains(r.Header.Get("Authorization"), "/rds-data/aws4_request") {
		return &apiError{"AccessDeniedException", "the request is not signed with SigV4 for the service rds-data"}
	}
	if req.ResourceArn != s.opts.ClusterARN {
		// "HttpEndpoint isn't enabled for cluster": also when the ARN
		// does not match the cluster's exactly (Amazon Aurora User
		// Guide, "Troubleshooting Amazon RDS Data API").
		return &apiError{"HttpEndpointNotEnabledException", fmt.Sprintf("HttpEndpoint is not enabled for resource %s", req.ResourceArn)}
	}
	if _, ok := s.opts.Secrets[req.SecretArn]; !ok {
		return &apiError{"SecretsErrorException", fmt.Sprintf("Secret %s not found", req.SecretArn)}
	}
	switch {
	case req.Schema != "":
		return &apiError{"BadRequestException", "the schema parameter isn't supported"}
	case req.FormatRecordsAs != "" && req.FormatRecordsAs != "NONE", len(req.ResultSetOptions) > 0:
		return &apiError{"BadRequestException", "formatRecordsAs and resultSetOptions are not implemented by the stand-in"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paused {
		now := time.Now()
		if s.resumed.IsZero() {
			s.resumed = now.Add(s.resume) // this call wakes the cluster
		}
		if now.Before(s.resumed) {
			return &apiError{"DatabaseResumingException", "The Aurora DB instance is resuming after being auto-paused. Please wait a few seconds and try again."}
		}
		s.paused = false
	}
	return nil
}

func (s *Server) count(name string) {
	s.mu.Lock()
	s.counts[name]++
	s.mu.Unlock()
}

// pool returns the connections of a secret's user to a database.
func (s *Server) pool(secret, database string) (*sql.DB, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return nil, &apiError{"DatabaseUnavailableException", "the stand-in is closed"}
	}
	key := poolKey{secret, database}
	if p, ok := s.pools[key]; ok {
		return p, nil
	}
	c := s.opts.Secrets[secret]
	var p *sql.DB
	var err error
	if s.opts.Engine == dbspec.MySQL {
		mc := mysql.NewConfig()
		mc.User, mc.Passwd, mc.Net, mc.Addr, mc.DBName = c.Username, c.Password, "tcp", s.opts.Addr, database
		mc.ParseTime = true
		// Timestamps in UTC, as Aurora's default time_zone has them.
		mc.Params = map[string]string{"time_zone": "'+00:00'"}
		p, err = sql.Open("mysql", mc.FormatDSN())
	} else {
		u := url.URL{Scheme: "postgres", User: url.UserPassword(c.Username, c.Password), Host: s.opts.Addr,
			Path: "/" + database, RawQuery: "sslmode=disable&timezone=UTC"}
		p, err = sql.Open("pgx", u.String())
	}
	if err != nil {
		return nil, err
	}
	s.pools[key] = p
	return p, nil
}

// transactionTimeout is how long a transaction may go unused before it is
// rolled back: "A transaction times out if no calls use its transaction
// ID in three minutes" (RDS Data API reference, BeginTransaction).
const transactionTimeout = 3 * time.Minute

// transaction is an open transaction. Its lock is held while a statement
// runs in it; a second one at the same time is refused, as the service
// refuses it.
type transaction struct {
	secret string
	tx     *sql.Tx
	timer  *time.Timer
	busy   sync.Mutex
}

func (s *Server) begin(req request) (any, error) {
	p, err := s.pool(req.SecretArn, req.Database)
	if err != nil {
		return nil, err
	}
	// Not the request's context: the transaction outlives the request.
	tx, err := p.BeginTx(context.Background(), nil)
	if err != nil {
		return nil, s.databaseError(err)
	}
	id := randomID(32)
	t := &transaction{secret: req.SecretArn, tx: tx}
	t.timer = time.AfterFunc(transactionTimeout, func() { s.abandon(id) })
	s.mu.Lock()
	s.txs[id] = t
	s.mu.Unlock()
	return map[string]string{"transactionId": id}, nil
}

// end commits or rolls back a transaction.
func (s *Server) end(req request, commit bool) (any, error) {
	t, err := s.take(req.TransactionID, req.SecretArn)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	delete(s.txs, req.TransactionID)
	s.mu.Unlock()
	t.timer.Stop()
	if commit {
		if err := t.tx.Commit(); err != nil {
			return nil, s.databaseError(err)
		}
		return map[string]string{"transactionStatus": "Transaction Committed"}, nil
	}
	if err := t.tx.Rollback(); err != nil {
		return nil, s.databaseError(err)
	}
	return map[string]string{"transactionStatus": "Rollback Complete"}, nil
}

// take finds a transaction of secret and locks it for one call; the
// caller unlocks it, or ends it. A transaction that is running a
// statement is refused, as the service refuses it ("DatabaseErrorException:
// Transaction is still running a query", Amazon Aurora User Guide,
// "Troubleshooting Amazon RDS Data API").
func (s *Server) take(id, secret string) (*transaction, error) {
	s.mu.Lock()
	t, ok := s.txs[id]
	s.mu.Unlock()
	if !ok || t.secret != secret {
		return nil, &apiError{"TransactionNotFoundException", fmt.Sprintf("Transaction %s is not found", id)}
	}
	if !t.busy.TryLock() {
		return nil, &apiError{"DatabaseErrorException", "Transaction is still running a query"}
	}
	t.timer.Reset(transactionTimeout)
	return t, nil
}

// abandon rolls back and forgets a transaction: one that timed out, or one
// in which a statement failed ("The transaction was aborted due to an
// error from a previous call").
func (s *Server) abandon(id string) {
	s.mu.Lock()
	t, ok := s.txs[id]
	delete(s.txs, id)
	s.mu.Unlock()
	if ok {
		t.timer.Stop()
		t.tx.Rollback()
	}
}

func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Names Front gives the cluster, the secrets and the Region.
const (
	FrontRegion     = "us-east-1"
	FrontClusterARN = "arn:aws:rds:us-east-1:123456789012:cluster:standin"
	frontSecretARN  = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
)

// Front starts a Server in front of the database server that cfgs reach
// (all the same one, with password authentication) and gives each cfg's
// user a secret. It returns, for each cfg, the Config that reaches the
// same database as the same user through the Data API: signed with static
// credentials, sent to the Server's URL.
func Front(t testing.TB, cfgs ...dbconn.Config) (*Server, []dbconn.Config) {
	t.Helper()
	if len(cfgs) == 0 {
		t.Fatal("dataapi.Front: no Config")
	}
	opts := Options{
		Engine:     cfgs[0].Engine,
		Addr:       net.JoinHostPort(cfgs[0].Host, strconv.Itoa(cfgs[0].Port)),
		ClusterARN: FrontClusterARN,
		Secrets:    map[string]Credentials{},
	}
	out := make([]dbconn.Config, len(cfgs))
	for i, c := range cfgs {
		secret := frontSecretARN + c.User + "-AbCdEf"
		opts.Secrets[secret] = Credentials{Username: c.User, Password: c.Password}
		out[i] = dbconn.Config{
			Mode: dbconn.ModeDataAPI, Engine: c.Engine, Database: c.Database, Region: FrontRegion,
			ClusterARN: FrontClusterARN, SecretARN: secret,
			Credentials: credentials.NewStaticCredentialsProvider("AKIDSTANDIN", "standin-secret", ""),
			Retry:       c.Retry,
		}
	}
	s := Start(t, opts)
	for i := range out {
		out[i].Endpoint = s.URL
	}
	return s, out
}

package e2e

import (
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lambdards/lambdards/internal/testdb"
)

// database is the local stand-in for the deployed database, and for RDS Proxy unless
// the run connects directly.
type database struct {
	PG *testdb.Postgres
	// Pooler is nil when the functions connect straight to PG.
	Pooler *testdb.Pgbouncer
	// User, Password and Name are the function's database login.
	User, Password, Name string
}

// startDatabase starts PostgreSQL sized as the Data stack sizes the RDS instance and,
// with pooler, pgbouncer sized as RDS Proxy's target group, and creates the function's
// user and database (named as in its environment).
func startDatabase(t testing.TB, a *assembly, pooler bool) *database {
	t.Helper()
	db := &database{User: a.Env["LAMBDARDS_DB_USER"], Name: a.Env["LAMBDARDS_DB_NAME"], Password: password(t)}
	db.PG = testdb.StartPostgres(t, testdb.PostgresOptions{
		MaxConnections: a.MaxConnections,
		// The slots RDS PostgreSQL keeps from ordinary users (3 superuser + 2
		// rds_superuser; see budget.ReservedConnections). PostgreSQL 15 has only the
		// superuser kind, which has the same effect on an ordinary user.
		SuperuserReservedConnections: a.Budget.ReservedConnections,
		// A direct connection is encrypted as with RDS (the function uses TLS require).
		SSL: true,
	})
	db.PG.CreateUser(t, db.User, db.Password)
	db.PG.CreateDatabase(t, db.Name, db.User)
	if pooler {
		db.Pooler = startPooler(t, db, a)
	}
	return db
}

// startPooler starts pgbouncer in front of db.PG sized as RDS Proxy's target group of
// a's budget, for db's user.
func startPooler(t testing.TB, db *database, a *assembly) *testdb.Pgbouncer {
	t.Helper()
	return testdb.StartPgbouncer(t, db.PG, testdb.PgbouncerOptions{
		// Session mode: each client keeps its server connection, as a session
		// pinned by RDS Proxy does (pgx's extended protocol pins on PostgreSQL),
		// which is what the budget counts on.
		PoolMode: "session",
		// The proxy's share of max_connections, for the one user and database.
		MaxDBConnections: a.ProxyConnections(),
		DefaultPoolSize:  a.ProxyConnections(),
		QueryWaitTimeout: time.Duration(a.BorrowTimeoutSeconds) * time.Second,
		Users:            map[string]string{db.User: db.Password},
		TLS:              true,
	})
}

// sampled runs l while a sampler counts db's function connections, and returns the
// outcomes, the stopped sampler, the peak, the number of samples and the connections
// held at the end.
func sampled(t testing.TB, ctx context.Context, db *database, l *load) (outs []outcome, s *sampler, peak, samples, held int) {
	t.Helper()
	s = startSampler(t, db)
	outs = l.Run(ctx)
	peak, samples = s.Stop(t)
	held, err := s.Count()
	if err != nil {
		t.Fatal(err)
	}
	return outs, s, peak, samples, held
}

// Endpoint is where the functions connect: pgbouncer, or PostgreSQL itself.
func (db *database) Endpoint() (string, int) {
	if db.Pooler != nil {
		return db.Pooler.Host, db.Pooler.Port
	}
	return db.PG.Host, db.PG.Port
}

// FunctionEnv is the function's synthesized environment with the database settings of a
// local run: the local endpoint, password authentication (IAM needs AWS), and TLS
// without certificate checks (the throwaway CA cannot be passed through the
// environment).
func (db *database) FunctionEnv(a *assembly) map[string]string {
	env := map[string]string{}
	for k, v := range a.Env {
		env[k] = v
	}
	host, port := db.Endpoint()
	env["LAMBDARDS_DB_HOST"] = host
	env["LAMBDARDS_DB_PORT"] = strconv.Itoa(port)
	env["LAMBDARDS_DB_AUTH"] = "password"
	env["LAMBDARDS_DB_PASSWORD"] = db.Password
	env["LAMBDARDS_DB_TLS"] = "require"
	return env
}

// AppConn opens a superuser connection to the function's database, closed when the test
// ends. It uses a superuser-reserved slot, so it gets in when the functions hold all the
// others.
func (db *database) AppConn(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, db.PG.UserDSN(db.PG.User, db.PG.Password, db.Name))
	if err != nil {
		t.Fatalf("connecting to %s as %s: %v", db.Name, db.PG.User, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func password(t testing.TB) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "pw" + hex.EncodeToString(b)
}

// sampler counts the function's database connections (client backends of its user in
// its database, from pg_stat_activity) at a fixed interval and keeps the peak.
type sampler struct {
	conn *pgx.Conn
	user string
	name string
	stop chan struct{}
	done chan struct{}
	peak int
	// clients is the peak of every client backend, the function's and the harness's
	// superuser sessions alike: what CloudWatch's DatabaseConnections counts (client
	// network connections, without the engine's own sessions), which the connections
	// alarm compares with its threshold.
	clients int
	n       int
	fails   int
	last    error
}

// sampleInterval is how often the sampler counts.
const sampleInterval = 25 * time.Millisecond

// startSampler counts connections until Stop.
func startSampler(t testing.TB, db *database) *sampler {
	t.Helper()
	s := &sampler{conn: db.AppConn(t), user: db.User, name: db.Name, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(sampleInterval)
		defer tick.Stop()
		for {
			s.sample()
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *sampler) sample() {
	n, clients, err := s.counts()
	if err != nil {
		s.fails++
		s.last = err
		return
	}
	s.n++
	s.peak = max(s.peak, n)
	s.clients = max(s.clients, clients)
}

// Count counts the function's connections now. It may not run alongside the sampling
// goroutine: call it before startSampler's goroutine starts or after Stop.
func (s *sampler) Count() (int, error) {
	n, _, err := s.counts()
	return n, err
}

// counts counts the function's connections and every client backend now.
func (s *sampler) counts() (function, clients int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = s.conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE usename = $1 AND datname = $2), count(*)
		FROM pg_stat_activity WHERE backend_type = 'client backend'`, s.user, s.name).Scan(&function, &clients)
	return function, clients, err
}

// Clients is the peak of every client backend over the samples.
func (s *sampler) Clients() int { return s.clients }

// Stop ends the sampling, takes one last sample, and returns the peak and the number of
// samples. It fails the test if no sample succeeded.
func (s *sampler) Stop(t testing.TB) (peak, samples int) {
	t.Helper()
	close(s.stop)
	<-s.done
	s.sample()
	if s.n == 0 {
		t.Fatalf("pg_stat_activity sampler: no sample succeeded (%d failed, last: %v)", s.fails, s.last)
	}
	if s.fails > 0 {
		t.Logf("pg_stat_activity sampler: %d of %d samples failed, last: %v", s.fails, s.n+s.fails, s.last)
	}
	return s.peak, s.n
}

// environment is one Lambda execution environment: a Runtime Interface Emulator
// process that runs the function's bootstrap on its first invocation and then serves
// one invocation at a time, as Lambda gives an environment one at a time.
type environment struct {
	URL    string
	log    string
	cmd    *exec.Cmd
	exited chan struct{} // closed when the emulator has exited
}

// emulatorPath finds aws-lambda-rie: in PATH, else where `go install` puts it (make
// go-tools installs it into $(go env GOPATH)/bin, which is often not in PATH).
func emulatorPath(t testing.TB) string {
	t.Helper()
	const name = "aws-lambda-rie"
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	candidate := name
	if out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output(); err == nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		switch {
		case len(lines) > 0 && lines[0] != "":
			candidate = filepath.Join(lines[0], name)
		case len(lines) > 1:
			candidate = filepath.Join(strings.Split(lines[1], string(os.PathListSeparator))[0], "bin", name)
		}
	}
	return testdb.SkipIfMissing(t, candidate)[0]
}

// qemu is the user-mode emulator that runs an arm64 bootstrap elsewhere; Debian's
// qemu-user-static package installs it.
const qemu = "qemu-aarch64-static"

// runner returns the command that starts the bootstrap, written as a script in dir: the
// binary itself when it is built for this machine, else the binary under qemu user-mode
// emulation (an arm64 bootstrap on amd64: what synth bundles).
func runner(t testing.TB, dir, bootstrap string) string {
	t.Helper()
	f, err := elf.Open(bootstrap)
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	machine := f.Machine
	f.Close()
	cmd := bootstrap
	switch {
	case machine == elf.EM_AARCH64 && runtime.GOARCH == "arm64", machine == elf.EM_X86_64 && runtime.GOARCH == "amd64":
	case machine == elf.EM_AARCH64:
		cmd = testdb.SkipIfMissing(t, qemu)[0] + " " + bootstrap
	default:
		t.Fatalf("bootstrap %s is built for %v, which this %s machine cannot run", bootstrap, machine, runtime.GOARCH)
	}
	script := filepath.Join(dir, "bootstrap.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexec "+cmd+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return script
}

// startEnvironments starts n environments of the function with the given environment
// variables, and stops them when the test ends. The bootstrap starts on each
// environment's first invocation, as in Lambda, so that invocation is the cold one.
func startEnvironments(t testing.TB, a *assembly, n int, fnEnv map[string]string) []*environment {
	t.Helper()
	return startEnvironmentsOf(t, a, a.Bootstrap, n, fnEnv)
}

// startEnvironmentsOf is startEnvironments with another bootstrap binary.
func startEnvironmentsOf(t testing.TB, a *assembly, bootstrap string, n int, fnEnv map[string]string) []*environment {
	t.Helper()
	rie := emulatorPath(t)
	dir := t.TempDir()
	script := runner(t, dir, bootstrap)
	base := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"TZ=UTC",
		// What Lambda sets and the emulator reads (see its README, "How to configure").
		"AWS_REGION=us-east-1",
		"AWS_LAMBDA_FUNCTION_NAME=items",
		"AWS_LAMBDA_FUNCTION_TIMEOUT=" + strconv.Itoa(a.TimeoutSeconds),
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(a.MemorySize),
		"LOG_LEVEL=warn",
	}
	for k, v := range fnEnv {
		base = append(base, k+"="+v)
	}
	envs := make([]*environment, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range envs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			envs[i], errs[i] = startEnvironment(rie, script, filepath.Join(dir, fmt.Sprintf("env%02d.log", i)), base)
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		var wg sync.WaitGroup
		for _, e := range envs {
			if e != nil {
				wg.Add(1)
				go func() { defer wg.Done(); e.stop() }()
			}
		}
		wg.Wait()
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return envs
}

// startEnvironment starts one emulator on two free loopback ports (its invoke API and
// the Runtime API the bootstrap polls) and waits until it accepts connections. A start
// that loses a port race is retried.
func startEnvironment(rie, script, logPath string, env []string) (*environment, error) {
	var last error
	for try := 0; try < 3; try++ {
		invoke, api := freePort(), freePort()
		if invoke == 0 || api == 0 || invoke == api {
			last = fmt.Errorf("no two free loopback ports")
			continue
		}
		logf, err := os.Create(logPath)
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(rie,
			"--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", invoke),
			"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", api),
			script)
		cmd.Dir = filepath.Dir(script)
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = logf, logf
		// Its own process group, so that stopping it stops the bootstrap too.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			logf.Close()
			return nil, fmt.Errorf("starting %s: %v", rie, err)
		}
		e := &environment{
			URL:    fmt.Sprintf("http://127.0.0.1:%d/2015-03-31/functions/function/invocations", invoke),
			log:    logPath,
			cmd:    cmd,
			exited: make(chan struct{}),
		}
		go func() { cmd.Wait(); logf.Close(); close(e.exited) }()
		if last = waitListening(fmt.Sprintf("127.0.0.1:%d", invoke), e.exited); last == nil {
			// Something else may hold the port (another process took it after freePort
			// let it go); then this emulator could not bind it and exits.
			select {
			case <-e.exited:
				last = fmt.Errorf("exited after start-up")
			case <-time.After(300 * time.Millisecond):
				return e, nil
			}
		}
		e.stop()
		last = fmt.Errorf("emulator on port %d: %v\n%s", invoke, last, e.logTail())
	}
	return nil, last
}

func waitListening(addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("exited during start-up")
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("not listening after 30s")
}

// stop ends the emulator and the bootstrap: SIGTERM to both (the bootstrap then closes
// its connection), and once the emulator has exited, or after five seconds, SIGKILL to
// whatever is left of the group.
func (e *environment) stop() {
	pgid := e.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-e.exited:
	case <-time.After(5 * time.Second):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-e.exited
}

func (e *environment) logTail() string {
	b, err := os.ReadFile(e.log)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}

var (
	portsMu sync.Mutex
	// portsGiven are the ports freePort has handed out: environments start in parallel,
	// and a port one of them was given and has not bound yet looks free to the next.
	portsGiven = map[int]bool{}
)

// freePort returns a loopback TCP port that was free a moment ago and that it has not
// returned before.
func freePort() int {
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !portsGiven[port] {
			portsGiven[port] = true
			return port
		}
	}
	return 0
}

package testdb

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long any server may take to become ready. It is
// generous because CI machines are small and busy; a healthy start takes
// well under two seconds.
const startTimeout = 60 * time.Second

// stopTimeout bounds a graceful stop before the process group is killed.
const stopTimeout = 15 * time.Second

// server is the scaffold every server here stands on (PostgreSQL and its replicas,
// MariaDB, pgbouncer): a directory of its own under scratchDir(), a program run as an OS
// user on a free loopback port, one log of all it writes (quoted in failure messages), a
// readiness check, an orderly stop, and a quick one when the test ends.
//
// A Start function makes one with newServer, says how to run the program (program, args,
// ready, shutdown, openDB) and calls launch. Postgres and MariaDB embed it, so Stop,
// Start, Restart, DB and Exec are theirs; Pgbouncer, which has no DB, keeps it in a field.
type server struct {
	name string // in messages: "PostgreSQL", "MariaDB", "pgbouncer"
	base string // the server's directory, removed when the test ends
	as   runAs  // the OS user the program runs as

	program string
	// port is the owner's Port field: launch picks it, Start keeps it.
	port *int
	// args returns the program's arguments for a start on port. It may write files that
	// hold the port (pgbouncer's configuration).
	args func(port int) ([]string, error)
	// ready returns nil once the server takes clients.
	ready func() error
	// shutdown is how Stop, a failed start and the end of the test stop the server.
	shutdown shutdown
	// openDB opens the administrator's handle that DB shares.
	openDB func() (*sql.DB, error)

	mu   sync.Mutex
	proc *process // nil while the server is stopped
	db   *sql.DB  // DB's handle, opened on first use
}

// shutdown holds the signals that stop a server: stop asks for the orderly shutdown
// Stop waits for, quit ends the server at once, for when what it holds is about to be
// thrown away (a failed start, the end of the test).
type shutdown struct{ stop, quit syscall.Signal }

var (
	// PostgreSQL: fast shutdown (sessions end with SQLSTATE 57P01); immediate shutdown.
	postgresShutdown = shutdown{stop: syscall.SIGINT, quit: syscall.SIGQUIT}
	// MariaDB: a clean shutdown; SIGKILL, for a clean InnoDB shutdown only costs time.
	mariadbShutdown = shutdown{stop: syscall.SIGTERM, quit: syscall.SIGKILL}
	// pgbouncer: SIGTERM, its immediate shutdown (clients lose their connections), for
	// both.
	pgbouncerShutdown = shutdown{stop: syscall.SIGTERM, quit: syscall.SIGTERM}
)

// newServer makes the directory of a server, named name in messages and prefix on disk,
// whose program runs as as.
func newServer(t testing.TB, name, prefix string, as runAs) *server {
	t.Helper()
	return &server{name: name, base: makeBaseDir(t, prefix), as: as}
}

// logPath is the file that gets the program's standard output and error.
func (s *server) logPath() string { return filepath.Join(s.base, "server.log") }

// logTail returns the last lines of the server's log, for failure messages.
func (s *server) logTail() string { return tailFile(s.logPath(), 40) }

// launch starts the server on a free loopback port, waits until it is ready, and stops
// it at once when the test ends. The port is chosen before the server binds it; when
// another process takes it in between, the start is tried again on another.
func (s *server) launch(t testing.TB) {
	t.Helper()
	if err := s.as.chownAll(s.base); err != nil {
		t.Fatalf("testdb: chown %s: %v", s.base, err)
	}
	var err error
	for try := 0; try < 3; try++ {
		*s.port = freePort(t)
		if err = s.start(); err == nil || !errAddrInUse(s.logPath()) {
			break
		}
	}
	if err != nil {
		t.Fatalf("testdb: starting %s: %v\n%s", s.name, err, s.logTail())
	}
	t.Cleanup(func() {
		s.closeDB()
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.proc != nil {
			if err := s.proc.stop(s.shutdown.quit); err != nil {
				t.Logf("testdb: stopping %s: %v", s.name, err)
			}
		}
	})
}

// start runs the program on *s.port and waits until it is ready.
func (s *server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	args, err := s.args(*s.port)
	if err != nil {
		return err
	}
	proc, err := startProcess(s.as.command(s.base, s.program, args...), s.logPath())
	if err != nil {
		return err
	}
	if err := waitReady(proc, s.ready); err != nil {
		_ = proc.stop(s.shutdown.quit)
		return err
	}
	s.proc = proc
	return nil
}

// Stop shuts the server down in its orderly way and waits for it to exit: PostgreSQL's
// fast shutdown (sessions are terminated with SQLSTATE 57P01), MariaDB's clean shutdown.
// Start brings it back.
func (s *server) Stop(t testing.TB) {
	t.Helper()
	s.closeDB()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return
	}
	if err := s.proc.stop(s.shutdown.stop); err != nil {
		t.Fatalf("testdb: stopping %s: %v\n%s", s.name, err, s.logTail())
	}
	s.proc = nil
}

// Start starts a stopped server again on the same port and waits until it takes
// clients.
func (s *server) Start(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	running := s.proc != nil
	s.mu.Unlock()
	if running {
		t.Fatalf("testdb: starting %s: it is already running", s.name)
	}
	if err := s.start(); err != nil {
		t.Fatalf("testdb: restarting %s: %v\n%s", s.name, err, s.logTail())
	}
}

// Restart stops the server and starts it again on the same port.
func (s *server) Restart(t testing.TB) {
	t.Helper()
	s.Stop(t)
	s.Start(t)
}

// DB returns a database/sql handle for the administrator (PostgreSQL's superuser,
// MariaDB's root), shared by every caller and closed when the server stops or the test
// ends. It holds no more connections than the server keeps for administrators when
// ordinary users have taken every other slot: two on PostgreSQL
// (superuser_reserved_connections), one on MariaDB (its extra connection for SUPER).
func (s *server) DB(t testing.TB) *sql.DB {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		t.Fatalf("testdb: %s DB: %v", s.name, errNotStarted)
	}
	if s.db == nil {
		db, err := s.openDB()
		if err != nil {
			t.Fatalf("testdb: %v", err)
		}
		s.db = db
	}
	return s.db
}

// Exec runs a statement as the administrator and fails the test on error.
func (s *server) Exec(t testing.TB, query string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.DB(t).ExecContext(ctx, query, args...); err != nil {
		t.Fatalf("testdb: %s: %v", query, err)
	}
}

// closeDB closes DB's handle, if it is open; the next DB opens a new one.
func (s *server) closeDB() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db != nil {
		s.db.Close()
		s.db = nil
	}
}

// openAdmin opens a handle on dsn that holds at most conns connections.
func openAdmin(driver, dsn string, conns int) (*sql.DB, error) {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(1)
	return db, nil
}

// render returns the entries of base with overrides on top, in name order, each made
// into arguments or lines by format: settings on a command line or in a configuration
// file, users in pgbouncer's auth_file.
func render(base, overrides map[string]string, format func(name, value string) []string) []string {
	merged := maps.Clone(base)
	maps.Copy(merged, overrides)
	var out []string
	for _, name := range slices.Sorted(maps.Keys(merged)) {
		out = append(out, format(name, merged[name])...)
	}
	return out
}

// errNotStarted is returned by methods that need a running server.
var errNotStarted = errors.New("server is not running")

// makeBaseDir creates a fresh directory under scratchDir() for one server,
// reachable by the service user, and removes it at cleanup. t.TempDir is not
// used because its parents are private to the current user, and a server run
// as another user could not reach it.
func makeBaseDir(t testing.TB, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp(scratchDir(), "lambdards-testdb-"+prefix+"-")
	if err != nil {
		t.Fatalf("testdb: creating temp dir: %v", err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Logf("testdb: removing %s: %v", dir, err)
		}
	})
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("testdb: chmod %s: %v", dir, err)
	}
	return dir
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago. The
// caller binds it soon after; a start that loses the race is retried.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testdb: finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// process is a started server process with its log file.
type process struct {
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	waitErr error
}

// startProcess starts cmd with stdout and stderr appended to logPath.
func startProcess(cmd *exec.Cmd, logPath string) (*process, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd.Stdout = f
	cmd.Stderr = f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends sig to the process and waits for it to exit; after stopTimeout
// it kills the whole process group.
func (p *process) stop(sig syscall.Signal) error {
	if p.exited() {
		return nil
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
		return nil
	case <-time.After(stopTimeout):
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
		return fmt.Errorf("did not stop within %v of %v; killed", stopTimeout, sig)
	case <-time.After(stopTimeout):
		return fmt.Errorf("did not exit even after SIGKILL")
	}
}

// tailFile returns the last n lines of a file, or a note saying why not.
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// waitReady calls ready until it succeeds, the process exits, or
// startTimeout passes.
func waitReady(p *process, ready func() error) error {
	deadline := time.Now().Add(startTimeout)
	var last error
	for time.Now().Before(deadline) {
		if p.exited() {
			return fmt.Errorf("exited during start-up (%v)", p.waitErr)
		}
		if last = ready(); last == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %v: %w", startTimeout, last)
}

// errAddrInUse reports whether a failed start looks like a lost port race.
func errAddrInUse(logPath string) bool {
	b, _ := os.ReadFile(logPath)
	return bytes.Contains(b, []byte("Address already in use")) || bytes.Contains(b, []byte("address already in use"))
}

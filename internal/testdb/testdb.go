package testdb

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
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

// SkipIfMissing skips the test when any of the named programs cannot be
// found, or fails it when the environment variable CI is "true". It returns
// the resolved paths in the order given. A name containing a slash is
// checked as a path; any other name is looked up as lookupBinary does.
func SkipIfMissing(t testing.TB, names ...string) []string {
	t.Helper()
	paths := make([]string, len(names))
	var missing []string
	for i, name := range names {
		p, err := lookupBinary(name)
		if err != nil {
			missing = append(missing, name)
			continue
		}
		paths[i] = p
	}
	if len(missing) > 0 {
		skipOrFail(t, "testdb: %s not found (looked in PATH, /usr/lib/postgresql/*/bin, /usr/sbin, /usr/bin); install them to run this test", strings.Join(missing, ", "))
	}
	return paths
}

// skipOrFail skips the test, or fails it when CI=true so that CI never
// passes by skipping.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format+" (CI=true: failing instead of skipping)", args...)
	}
	t.Skipf(format, args...)
}

// lookupBinary finds a program by name: in LAMBDARDS_PG_BINDIR, in PATH,
// then in the places Debian installs database servers, which are often not
// in a test's PATH.
func lookupBinary(name string) (string, error) {
	if strings.Contains(name, "/") {
		if fi, err := os.Stat(name); err == nil && !fi.IsDir() {
			return name, nil
		}
		return "", fmt.Errorf("%s: no such file", name)
	}
	if dir := os.Getenv("LAMBDARDS_PG_BINDIR"); dir != "" {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	var dirs []string
	pg, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// Newest major version first; names like "9.6" and "15" sort by number.
	sort.Slice(pg, func(i, j int) bool {
		vi, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(pg[i])), 64)
		vj, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(pg[j])), 64)
		return vi > vj
	})
	dirs = append(dirs, pg...)
	dirs = append(dirs, "/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin")
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

// runAs says which OS user a server process runs as. A nil credential means
// the current user.
type runAs struct {
	cred *syscall.Credential
	uid  int
	gid  int
}

// serviceUser picks the OS user for servers that refuse to run as root: the
// current user when not root, else "postgres" (or "nobody" as a last resort).
func serviceUser(t testing.TB) runAs {
	t.Helper()
	if os.Geteuid() != 0 {
		return runAs{uid: os.Getuid(), gid: os.Getgid()}
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.Atoi(u.Uid)
		gid, err2 := strconv.Atoi(u.Gid)
		if err1 != nil || err2 != nil {
			continue
		}
		return runAs{
			cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}},
			uid:  uid,
			gid:  gid,
		}
	}
	skipOrFail(t, "testdb: running as root and neither the postgres nor the nobody OS user exists; PostgreSQL and pgbouncer refuse to run as root")
	return runAs{}
}

// chownAll gives a directory tree to the service user, when it differs from
// the current one.
func (r runAs) chownAll(dir string) error {
	if r.cred == nil {
		return nil
	}
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, r.uid, r.gid)
	})
}

// command builds a command that runs as r, in its own process group so that
// stopping it also stops any children.
func (r runAs) command(dir, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: r.cred}
	// A minimal environment: nothing from the test's environment (PGHOST,
	// PGPASSWORD, MYSQL_HOST, ...) should leak into the servers.
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "HOME=" + dir, "TZ=UTC"}
	return cmd
}

// minScratchBytes is how much free space /dev/shm must have to hold the servers' files:
// a few servers at once, each a copy of a 40 MB template plus what the tests write.
// Containers often mount a 64 MB /dev/shm, which is too small.
const minScratchBytes = 1 << 30

var (
	scratchOnce sync.Once
	scratch     string
)

// scratchDir is where servers keep their files: /dev/shm when it is a memory file system
// with room, else os.TempDir(). The servers create hundreds of files for each database;
// in memory that costs half the CPU time it does on ext4 (functions/provision/dbuser's
// tests: 11 CPU-seconds against 17 on the 2-core development machine), and nothing here
// must outlive the test.
func scratchDir() string {
	scratchOnce.Do(func() {
		scratch = os.TempDir()
		var fs syscall.Statfs_t
		if err := syscall.Statfs("/dev/shm", &fs); err != nil {
			return
		}
		const tmpfsMagic = 0x01021994 // linux/magic.h TMPFS_MAGIC
		st, err := os.Stat("/dev/shm")
		if err == nil && st.IsDir() && st.Mode()&os.ModeSticky != 0 && st.Mode().Perm() == 0o777 &&
			fs.Type == tmpfsMagic && fs.Bavail*uint64(fs.Bsize) >= minScratchBytes {
			scratch = "/dev/shm"
		}
	})
	return scratch
}

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

// randomPassword returns a password that needs no quoting in any DSN format
// or config file used here.
func randomPassword(t testing.TB) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("testdb: reading random bytes: %v", err)
	}
	return "pw" + hex.EncodeToString(b)
}

// process is a started server process with its log file.
type process struct {
	cmd     *exec.Cmd
	logPath string
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
	p := &process{cmd: cmd, logPath: logPath, done: make(chan struct{})}
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

// logTail returns the last lines of the process log, for failure messages.
func (p *process) logTail() string {
	return tailFile(p.logPath, 40)
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

// writeFile writes a file owned by the service user with the given mode.
func (r runAs) writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.WriteFile(path, data, mode); err != nil {
		return err
	}
	if err := os.Chmod(path, mode); err != nil {
		return err
	}
	if r.cred != nil {
		return os.Chown(path, r.uid, r.gid)
	}
	return nil
}

// errNotStarted is returned by methods that need a running server.
var errNotStarted = errors.New("server is not running")

package testdb

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
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
)

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

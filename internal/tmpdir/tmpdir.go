// Package tmpdir gives lambdards a directory of the current user's under os.TempDir() (or
// another shared parent, such as /dev/shm) that outlives one process, for what later runs
// reuse: compiled function bootstraps, initialized database data directories for tests, a
// built program that go build need not link again.
package tmpdir

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Private returns os.TempDir()/<name>-<uid>, creating it with mode perm (0700, or 0711
// when processes run as another OS user must pass through it). It refuses a directory
// that another user owns or others can write: nobody else may plant what it holds.
func Private(name string, perm os.FileMode) (string, error) {
	return PrivateIn(os.TempDir(), name, perm)
}

// PrivateIn is Private under parent instead of os.TempDir().
func PrivateIn(parent, name string, perm os.FileMode) (string, error) {
	dir := filepath.Join(parent, fmt.Sprintf("%s-%d", name, os.Geteuid()))
	if err := os.Mkdir(dir, perm); err == nil {
		// Past the umask.
		if err := os.Chmod(dir, perm); err != nil {
			return "", err
		}
	} else if !os.IsExist(err) {
		return "", err
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return "", err
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !st.IsDir() || !ok || int(sys.Uid) != os.Geteuid() || st.Mode().Perm()&0o022 != 0 {
		return "", fmt.Errorf("%s: not a directory of this user's that only it can write; remove it", dir)
	}
	return dir, nil
}

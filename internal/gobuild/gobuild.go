// Package gobuild compiles a Go main package into a Lambda bootstrap binary for
// provided.al2023 on arm64, locally, without Docker.
//
// Builds are reproducible: the same source and toolchain give the same bytes (CGO off,
// -trimpath, no VCS stamp, stripped; Go's build ID is a hash of the build's inputs, not
// of where they are), so the asset hash of a function changes only when its code or the
// Go toolchain does.
//
// Each entry links into a file of its own that outlives the process, so a later synth
// of unchanged code finds the binary up to date and go build does not link it again
// (about a second of CPU for each entry, in every synth).
package gobuild

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/lambdards/lambdards/internal/tmpdir"
)

// SkipContext is the CDK context key that, when true, replaces every function's
// compiled binary with a placeholder: synth gets faster and asset hashes stop depending on
// the code, while every logical ID stays the same. For snapshot tests, not deploys. It is
// defined here, the one package about bundling that needs no CDK, so that tools that
// set it (the bench) need not link aws-cdk-lib.
const SkipContext = "lambdards:skipBundling"

// Binary is the file name the provided.al2023 runtime executes (AWS Lambda Developer
// Guide, "Building Lambda functions with Go": the handler binary must be named bootstrap).
const Binary = "bootstrap"

var (
	mu    sync.Mutex
	built = map[string]string{}
)

// Build compiles the main package in dir (absolute, or relative to the working directory)
// and returns a directory holding only the bootstrap binary. Each package is built once
// per process. The directory is named after the binary's SHA-256 and never rewritten, so
// processes that build at the same time (parallel test packages) cannot disturb each
// other, and the same binary is stored once.
func Build(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	mu.Lock()
	defer mu.Unlock()
	if out, ok := built[abs]; ok {
		return out, nil
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return "", fmt.Errorf("entry %q: not a directory holding a Go main package", dir)
	}
	out, err := store(func(bin string) error { return compileLinked(abs, bin) })
	if err != nil {
		return "", fmt.Errorf("entry %q: %w", dir, err)
	}
	built[abs] = out
	return out, nil
}

// StoreBinary stores content as a bootstrap the way Build stores a compiled one, and
// returns its directory.
func StoreBinary(content []byte) (string, error) {
	return store(func(bin string) error { return os.WriteFile(bin, content, 0o755) })
}

// store has write create the bootstrap in a temporary directory, then moves that
// directory to lambdards-build-<uid>/<SHA-256 of the bootstrap> unless it exists already.
// The store is the user's own (tmpdir.Private): nobody else can plant a bootstrap that a
// deploy would upload.
func store(write func(bin string) error) (string, error) {
	root, err := storeRoot()
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(root, "tmp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, Binary)
	if err := write(bin); err != nil {
		return "", err
	}
	content, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(content)
	out := filepath.Join(root, hex.EncodeToString(sum[:]))
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.Rename(tmp, out); err != nil {
		if _, statErr := os.Stat(out); statErr == nil {
			return out, nil // another process stored the same binary first
		}
		return "", err
	}
	return out, nil
}

// compileLinked builds the main package in the absolute directory dir into
// lambdards-build-<uid>/link/<SHA-256 of dir>/bootstrap, where go build leaves an up-to-date
// binary alone, and copies that to out. An exclusive lock on the entry's directory keeps
// two processes from building the same entry at once.
func compileLinked(dir, out string) error {
	root, err := storeRoot()
	if err != nil {
		return err
	}
	key := sha256.Sum256([]byte(dir))
	linkDir := filepath.Join(root, "link", hex.EncodeToString(key[:]))
	if err := os.MkdirAll(linkDir, 0o700); err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(linkDir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close() // and with it the lock
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("locking %s: %v", linkDir, err)
	}
	linked := filepath.Join(linkDir, Binary)
	if err := Compile(dir, linked); err != nil {
		return err
	}
	content, err := os.ReadFile(linked)
	if err != nil {
		return err
	}
	return os.WriteFile(out, content, 0o755)
}

// storeRoot is the user's own directory, lambdards-build-<uid>, that holds the stored
// bootstraps and the linked binaries.
func storeRoot() (string, error) { return tmpdir.Private("lambdards-build", 0o700) }

// Compile builds the main package in dir into the binary out, reproducibly. When out
// holds the binary of the same inputs already, go build leaves it as it is.
func Compile(dir, out string) error {
	cmd := exec.Command("go", Args(out)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), Env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build failed: %v\n%s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// Env is the environment a build adds: a static linux/arm64 binary.
var Env = []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64", "GOFLAGS=-mod=readonly"}

// Args returns the go command's arguments for a reproducible build of the package in the
// working directory into out. The lambda.norpc tag drops aws-lambda-go's RPC mode, which
// only the retired go1.x runtime used (AWS Lambda Developer Guide, "Building with Go").
func Args(out string) []string {
	return []string{"build", "-trimpath", "-buildvcs=false", "-tags", "lambda.norpc",
		"-ldflags", "-s -w", "-o", out, "."}
}

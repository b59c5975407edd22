// Package gobuild compiles a Go main package into a Lambda bootstrap binary for
// provided.al2023 on arm64, locally, without Docker.
//
// Builds are reproducible: the same source and toolchain give the same bytes (CGO off,
// -trimpath, no VCS stamp, empty build ID, stripped), so the asset hash of a function
// changes only when its code does.
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
)

// Binary is the file name the provided.al2023 runtime executes (AWS Lambda Developer
// Guide, "Building Lambda functions with Go": the handler binary must be named bootstrap).
const Binary = "bootstrap"

var (
	mu    sync.Mutex
	built = map[string]string{}
)

// Build compiles the main package in dir (absolute, or relative to the working directory)
// and returns a directory holding only the bootstrap binary. Each package is built once
// per process; later calls return the same directory.
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
	sum := sha256.Sum256([]byte(abs))
	out := filepath.Join(os.TempDir(), "lambdards-build", hex.EncodeToString(sum[:8]))
	if err := os.RemoveAll(out); err != nil {
		return "", err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	if err := Compile(abs, filepath.Join(out, Binary)); err != nil {
		return "", fmt.Errorf("entry %q: %w", dir, err)
	}
	built[abs] = out
	return out, nil
}

// Compile builds the main package in dir into the binary out, reproducibly.
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
		"-ldflags", "-s -w -buildid=", "-o", out, "."}
}

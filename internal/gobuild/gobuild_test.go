package gobuild

import (
	"bytes"
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCompileIsReproducibleArm64(t *testing.T) {
	dir := t.TempDir()
	writeMain(t, dir, `package main

import "fmt"

func main() { fmt.Println("hello") }
`)
	a, b := filepath.Join(t.TempDir(), Binary), filepath.Join(t.TempDir(), Binary)
	for _, out := range []string{a, b} {
		if err := Compile(dir, out); err != nil {
			t.Fatalf("Compile(%s) = %v", dir, err)
		}
	}
	ba, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ba, bb) {
		t.Errorf("two builds of the same source differ (%d and %d bytes)", len(ba), len(bb))
	}
	f, err := elf.Open(a)
	if err != nil {
		t.Fatalf("elf.Open(%s) = %v", a, err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 || f.Type != elf.ET_EXEC {
		t.Errorf("binary is %v %v, want a static EM_AARCH64 executable", f.Machine, f.Type)
	}
	if f.Section(".symtab") != nil {
		t.Error("binary has a symbol table, want it stripped (-s)")
	}
	if _, err := f.DynamicSymbols(); err == nil {
		t.Error("binary is dynamically linked, want CGO off")
	}
	if bytes.Contains(ba, []byte(dir)) {
		t.Errorf("binary holds the build directory %s, want -trimpath", dir)
	}
}

func TestBuildReportsCompileErrors(t *testing.T) {
	dir := t.TempDir()
	writeMain(t, dir, "package main\n\nfunc main() { undefined() }\n")
	_, err := Build(dir)
	if err == nil || !strings.Contains(err.Error(), "undefined") || !strings.Contains(err.Error(), dir) {
		t.Errorf("Build(broken) = %v, want the compiler's message and the entry", err)
	}
	if _, err := Build(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("Build(missing) = %v, want a not-a-directory error", err)
	}
}

func writeMain(t *testing.T, dir, src string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/hello\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

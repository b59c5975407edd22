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

// TestCompileIsReproducibleAcrossDirectories builds the same source from two directories,
// as two checkouts of a repository would: Go's build ID, kept in the binary, must not
// depend on where the source is.
func TestCompileIsReproducibleAcrossDirectories(t *testing.T) {
	const src = "package main\n\nimport \"os\"\n\nfunc main() { os.Exit(3) }\n"
	var bins [][]byte
	for range 2 {
		dir := t.TempDir()
		writeMain(t, dir, src)
		out := filepath.Join(t.TempDir(), Binary)
		if err := Compile(dir, out); err != nil {
			t.Fatalf("Compile(%s) = %v", dir, err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		bins = append(bins, b)
	}
	if !bytes.Equal(bins[0], bins[1]) {
		t.Errorf("builds of the same source in two directories differ (%d and %d bytes)", len(bins[0]), len(bins[1]))
	}
}

// TestLinkedBinaryIsReused builds an entry twice, as two synths would: the second build
// must leave the linked binary in place (go build found it up to date) and give the same
// bytes; after the source changes it must link again.
func TestLinkedBinaryIsReused(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir()) // a store of the test's own
	dir := t.TempDir()
	writeMain(t, dir, "package main\n\nfunc main() {}\n")
	linked := func() os.FileInfo {
		t.Helper()
		root, err := storeRoot()
		if err != nil {
			t.Fatal(err)
		}
		matches, _ := filepath.Glob(filepath.Join(root, "link", "*", Binary))
		if len(matches) != 1 {
			t.Fatalf("linked binaries in the store: %v, want one", matches)
		}
		st, err := os.Stat(matches[0])
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	a, b := filepath.Join(t.TempDir(), Binary), filepath.Join(t.TempDir(), Binary)
	if err := compileLinked(dir, a); err != nil {
		t.Fatal(err)
	}
	first := linked()
	if err := compileLinked(dir, b); err != nil {
		t.Fatal(err)
	}
	// go build touches an up-to-date target but does not replace it.
	if second := linked(); !os.SameFile(first, second) {
		t.Error("the linked binary was replaced; want it left as go build found it up to date")
	}
	ba, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if len(ba) == 0 || !bytes.Equal(ba, bb) {
		t.Errorf("the two builds gave %d and %d bytes that differ, want the same binary", len(ba), len(bb))
	}
	writeMain(t, dir, "package main\n\nimport \"os\"\n\nfunc main() { os.Exit(1) }\n")
	c := filepath.Join(t.TempDir(), Binary)
	if err := compileLinked(dir, c); err != nil {
		t.Fatal(err)
	}
	if bc, _ := os.ReadFile(c); bytes.Equal(bc, ba) {
		t.Error("the build after the source changed gave the old binary")
	}
}

func TestBuildReportsCompileErrors(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir()) // a store of the test's own
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

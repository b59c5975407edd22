// Command bench measures how fast lambdards synthesizes and tests, and writes
// docs/BENCHMARKS.md. Run it with `make bench` on a quiet machine.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

var (
	runs      = flag.Int("runs", 3, "runs per measurement; the median is reported")
	out       = flag.String("o", "docs/BENCHMARKS.md", "where to write the report")
	skipTests = flag.Bool("skip-tests", false, "do not time go test ./...")
)

// sample is one timed run.
type sample struct {
	wall  time.Duration
	rssKB int64
}

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	tmp, err := os.MkdirTemp("", "lambdards-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	app := filepath.Join(tmp, "app")
	if err := cmd("", nil, "go", "build", "-o", app, ".").Run(); err != nil {
		return fmt.Errorf("building the app: %w", err)
	}
	var cdkJSON struct{ Context map[string]any }
	b, err := os.ReadFile("cdk.json")
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &cdkJSON); err != nil {
		return err
	}
	synth := func(ctx map[string]any, env ...string) (sample, map[string]int, error) {
		all := map[string]any{}
		for k, v := range cdkJSON.Context {
			all[k] = v
		}
		for k, v := range ctx {
			all[k] = v
		}
		j, _ := json.Marshal(all)
		dir, _ := os.MkdirTemp(tmp, "out-")
		c := cmd("", append(env, "CDK_CONTEXT_JSON="+string(j), "CDK_OUTDIR="+dir), app)
		s, err := timed(c)
		if err != nil {
			return s, nil, err
		}
		counts := map[string]int{}
		files, _ := filepath.Glob(filepath.Join(dir, "*.template.json"))
		for _, f := range files {
			var t struct{ Resources map[string]any }
			raw, _ := os.ReadFile(f)
			json.Unmarshal(raw, &t)
			counts[strings.TrimSuffix(filepath.Base(f), ".template.json")] = len(t.Resources)
		}
		os.RemoveAll(dir)
		return s, counts, nil
	}
	median := func(f func() (sample, error)) (sample, error) {
		var ss []sample
		for range *runs {
			s, err := f()
			if err != nil {
				return s, err
			}
			ss = append(ss, s)
		}
		slices.SortFunc(ss, func(a, b sample) int { return int(a.wall - b.wall) })
		return ss[len(ss)/2], nil
	}

	var r strings.Builder
	fmt.Fprintf(&r, "# Benchmarks\n\nMeasured by `make bench` (`go run ./internal/bench`) on %s. Each figure is the median of %d warm runs\n", time.Now().UTC().Format("2006-01-02"), *runs)
	fmt.Fprintf(&r, "(Go build cache and jsii cache warm). Peak memory is the largest resident set of the synth\nprocess tree (the Go app and the node process behind jsii).\n\n")
	fmt.Fprintf(&r, "Machine: %d cores, %s, %s, %s; JSII_NODE=%s (%s).\n\n", runtime.NumCPU(), cpuModel(), memTotal(), runtime.Version(), os.Getenv("JSII_NODE"), version(os.Getenv("JSII_NODE")))

	// The default app, as `make synth` runs it: real go build of the sample, built-in validation on.
	fmt.Fprintf(&r, "## Default app\n\n| what | wall time | peak memory |\n|---|---|---|\n")
	for _, v := range []struct {
		name string
		ctx  map[string]any
		env  []string
	}{
		{"app program, built-in template validation on (what `cdk synth` runs)", nil, nil},
		{"app program, built-in template validation off", nil, []string{"CDK_VALIDATION=false"}},
		{"app program on Node 20 (the machine's node), validation on", nil, []string{"JSII_NODE=node"}},
	} {
		s, err := median(func() (sample, error) { s, _, err := synth(v.ctx, v.env...); return s, err })
		if err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
		fmt.Fprintf(&r, "| %s | %.2f s | %d MiB |\n", v.name, s.wall.Seconds(), s.rssKB/1024)
	}
	cli, err := median(func() (sample, error) {
		return timed(cmd("", nil, filepath.Join("node_modules", ".bin", "cdk"), "synth", "-q", "--output", filepath.Join(tmp, "cli.out")))
	})
	if err != nil {
		return fmt.Errorf("cdk synth: %w", err)
	}
	fmt.Fprintf(&r, "| `npx cdk synth -q` (CLI + `go run .` + synth) | %.2f s | %d MiB |\n\n", cli.wall.Seconds(), cli.rssKB/1024)

	// Scale: N functions on one Aurora Serverless v2 cluster of 16 ACU (3,360 connections).
	fmt.Fprintf(&r, "## Functions on one database\n\nAurora PostgreSQL Serverless v2 up to 16 ACU behind RDS Proxy, N functions of weight 1, bundling skipped\n(every function shares one binary, built once, so bundling is a constant), built-in validation off and on.\n\n")
	fmt.Fprintf(&r, "| functions | stacks | resources (all stacks) | synth, validation off | synth, validation on |\n|---|---|---|---|---|\n")
	times := map[int][2]time.Duration{}
	for _, n := range []int{1, 10, 50, 100, 200} {
		fns := map[string]any{}
		for i := range n {
			fns[fmt.Sprintf("fn%03d", i)] = map[string]any{"entry": "functions/items"}
		}
		fj, _ := json.Marshal(fns)
		ctx := map[string]any{"database": "serverless", "maxAcu": "16", "functions": string(fj), "lambdards:skipBundling": true}
		var counts map[string]int
		off, err := median(func() (sample, error) {
			s, c, err := synth(ctx, "CDK_VALIDATION=false")
			counts = c
			return s, err
		})
		if err != nil {
			return fmt.Errorf("%d functions: %w", n, err)
		}
		on, err := median(func() (sample, error) { s, _, err := synth(ctx); return s, err })
		if err != nil {
			return fmt.Errorf("%d functions: %w", n, err)
		}
		total := 0
		for _, c := range counts {
			total += c
		}
		times[n] = [2]time.Duration{off.wall, on.wall}
		fmt.Fprintf(&r, "| %d | %d | %d | %.2f s | %.2f s |\n", n, len(counts), total, off.wall.Seconds(), on.wall.Seconds())
	}
	slope := func(i int) float64 { return (times[200][i] - times[10][i]).Seconds() * 1000 / 190 }
	fmt.Fprintf(&r, "\nMarginal cost per function, the slope between 10 and 200 functions: **%.1f ms** with validation off, %.1f ms with it on (target: at most 10 ms).\n\n", slope(0), slope(1))

	if !*skipTests {
		s, err := timed(cmd("", nil, "go", "test", "-count=1", "./..."))
		if err != nil {
			return fmt.Errorf("go test: %w", err)
		}
		fmt.Fprintf(&r, "## Tests\n\n`go test -count=1 ./...`, warm: **%.1f s** wall (target: at most 90 s).\n", s.wall.Seconds())
	}
	fmt.Print(r.String())
	return os.WriteFile(*out, []byte(r.String()), 0o644)
}

func cmd(dir string, env []string, name string, args ...string) *exec.Cmd {
	c := exec.Command(name, args...)
	c.Dir = dir
	c.Env = append(os.Environ(), env...)
	return c
}

// timed runs c and returns its wall time and the peak resident set of its process tree.
func timed(c *exec.Cmd) (sample, error) {
	var stderr bytes.Buffer
	c.Stderr = &stderr
	start := time.Now()
	err := c.Run()
	s := sample{wall: time.Since(start)}
	if c.ProcessState != nil {
		if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok {
			s.rssKB = ru.Maxrss
		}
	}
	if err != nil {
		return s, fmt.Errorf("%v: %v\n%s", c.Args, err, stderr.String())
	}
	return s, nil
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "model name") {
			return strings.TrimSpace(strings.SplitN(line, ":", 2)[1])
		}
	}
	return "unknown CPU"
}

func memTotal() string {
	b, _ := os.ReadFile("/proc/meminfo")
	var kb int64
	fmt.Sscanf(string(b), "MemTotal: %d kB", &kb)
	return fmt.Sprintf("%.0f GiB", float64(kb)/(1<<20))
}

func version(bin string) string {
	if bin == "" {
		bin = "node"
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

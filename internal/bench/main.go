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

	"github.com/lambdards/lambdards/internal/gobuild"
)

var (
	runs     = flag.Int("runs", 3, "runs per measurement; the median is reported")
	out      = flag.String("o", "docs/BENCHMARKS.md", "where to write the report")
	testRuns = flag.Int("test-runs", 3, "how many times to time go test ./... (0: not at all); the median is reported")
	extra    = flag.String("context", "", `context the functions-on-one-database runs add, as a JSON object (e.g. {"alarms":"true"})`)
)

// notesHeading starts the hand-written part of the report, which a new run keeps.
const notesHeading = "## Reading the figures"

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
	if *extra != "" {
		if err := json.Unmarshal([]byte(*extra), new(map[string]any)); err != nil {
			return fmt.Errorf("-context: %v", err)
		}
	}
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
	var enis int // Hyperplane ENIs in the last synth's budget report
	synth := func(ctx map[string]any, env ...string) (sample, map[string]int, error) {
		j, _ := json.Marshal(withContext(cdkJSON.Context, ctx))
		dir, _ := os.MkdirTemp(tmp, "out-")
		c := cmd("", append(env, "CDK_CONTEXT_JSON="+string(j), "CDK_OUTDIR="+dir), app)
		s, err := timed(c)
		if err != nil {
			return s, nil, err
		}
		var report struct {
			HyperplaneENIs struct{ Count int } `json:"hyperplaneEnis"`
		}
		if raw, err := os.ReadFile(filepath.Join(dir, "lambdards-budget.json")); err == nil {
			json.Unmarshal(raw, &report)
		}
		enis = report.HyperplaneENIs.Count
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
	// median runs f -runs times and returns the median sample.
	median := func(f func() (sample, error)) (sample, error) {
		var ss []sample
		for range *runs {
			s, err := f()
			if err != nil {
				return s, err
			}
			ss = append(ss, s)
		}
		med, _ := medianAndFastest(ss)
		return med, nil
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
	// The sizes take turns, run after run, so that a change in the machine's load while
	// the benchmark runs reaches every size alike instead of skewing the slope.
	scaleRuns := max(*runs, 5)
	sizes := []int{1, 10, 50, 100, 200}
	fmt.Fprintf(&r, "## Functions on one database\n\nAurora PostgreSQL Serverless v2 up to 16 ACU behind RDS Proxy, N functions of weight 1, bundling skipped\n(every function shares one binary, built once, so bundling is a constant), built-in validation off and on.\nMedian of %d runs (fastest in brackets); the sizes take turns, one run of each per round.\n\n", scaleRuns)
	fmt.Fprintf(&r, "| functions | stacks | resources (all stacks) | Hyperplane ENIs | synth, validation off | synth, validation on |\n|---|---|---|---|---|---|\n")
	type timing struct{ med, min time.Duration }
	times := map[int][2]timing{}
	fnContext := func(n int) map[string]any {
		fns := map[string]any{}
		for i := range n {
			fns[fmt.Sprintf("fn%03d", i)] = map[string]any{"entry": "functions/items"}
		}
		fj, _ := json.Marshal(fns)
		ctx := map[string]any{"database": "serverless", "maxAcu": "16", "functions": string(fj), gobuild.SkipContext: true}
		if *extra != "" {
			json.Unmarshal([]byte(*extra), &ctx) // checked in run
		}
		return ctx
	}
	type sized struct {
		off, on []sample
		counts  map[string]int
		enis    int
	}
	results := map[int]*sized{}
	for _, n := range sizes {
		results[n] = &sized{}
	}
	for range scaleRuns {
		for _, n := range sizes {
			res := results[n]
			s, c, err := synth(fnContext(n), "CDK_VALIDATION=false")
			if err != nil {
				return fmt.Errorf("%d functions: %w", n, err)
			}
			res.off, res.counts, res.enis = append(res.off, s), c, enis
			if s, _, err = synth(fnContext(n)); err != nil {
				return fmt.Errorf("%d functions: %w", n, err)
			}
			res.on = append(res.on, s)
		}
	}
	medMin := func(ss []sample) timing {
		med, fastest := medianAndFastest(ss)
		return timing{med.wall, fastest.wall}
	}
	for _, n := range sizes {
		res := results[n]
		total := 0
		for _, c := range res.counts {
			total += c
		}
		off, on := medMin(res.off), medMin(res.on)
		times[n] = [2]timing{off, on}
		fmt.Fprintf(&r, "| %d | %d | %d | %d | %.2f s (%.2f s) | %.2f s (%.2f s) |\n", n, len(res.counts), total, res.enis,
			off.med.Seconds(), off.min.Seconds(), on.med.Seconds(), on.min.Seconds())
	}
	slope := func(i int, min bool) float64 {
		a, b := times[10][i].med, times[200][i].med
		if min {
			a, b = times[10][i].min, times[200][i].min
		}
		return (b - a).Seconds() * 1000 / 190
	}
	fmt.Fprintf(&r, "\nMarginal cost per function, the slope between 10 and 200 functions (medians; fastest runs in brackets): **%.1f ms** (%.1f ms) with validation off, %.1f ms (%.1f ms) with it on (target: at most 10 ms).\n\n",
		slope(0, false), slope(0, true), slope(1, false), slope(1, true))

	// jsii round trips per function: the requests the Go side sends node, counted with
	// JSII_DEBUG (which logs each one), between 10 and 200 functions.
	requests := map[int]int{}
	for _, n := range []int{10, 200} {
		j, _ := json.Marshal(withContext(cdkJSON.Context, fnContext(n)))
		dir, _ := os.MkdirTemp(tmp, "out-")
		c := cmd("", []string{"JSII_DEBUG=1", "CDK_VALIDATION=false", "CDK_CONTEXT_JSON=" + string(j), "CDK_OUTDIR=" + dir}, app)
		var stderr bytes.Buffer
		c.Stderr = &stderr
		if err := c.Run(); err != nil {
			return fmt.Errorf("JSII_DEBUG synth of %d functions: %v", n, err)
		}
		for _, line := range strings.Split(stderr.String(), "\n") {
			if strings.HasPrefix(line, "> {") {
				requests[n]++
			}
		}
	}
	fmt.Fprintf(&r, "jsii requests per function (JSII_DEBUG, 10 to 200 functions): %.1f.\n\n", float64(requests[200]-requests[10])/190)

	if *testRuns > 0 {
		var walls []time.Duration
		for range *testRuns {
			s, err := timed(cmd("", nil, "go", "test", "-count=1", "./..."))
			if err != nil {
				return fmt.Errorf("go test: %w", err)
			}
			walls = append(walls, s.wall)
		}
		slices.Sort(walls)
		var each []string
		for _, w := range walls {
			each = append(each, fmt.Sprintf("%.1f s", w.Seconds()))
		}
		fmt.Fprintf(&r, "## Tests\n\n`go test -count=1 ./...`, warm, %d runs: median **%.1f s** wall (%s; target: at most 90 s).\n",
			len(walls), walls[len(walls)/2].Seconds(), strings.Join(each, ", "))
	}
	fmt.Print(r.String())
	// The hand-written reading of the figures, from its heading on, is kept.
	if old, err := os.ReadFile(*out); err == nil {
		if i := strings.Index(string(old), notesHeading); i >= 0 {
			r.WriteString("\n" + string(old[i:]))
		}
	}
	return os.WriteFile(*out, []byte(r.String()), 0o644)
}

// medianAndFastest returns the sample of median wall time among ss, and the fastest.
func medianAndFastest(ss []sample) (med, fastest sample) {
	ss = slices.Clone(ss)
	slices.SortFunc(ss, func(a, b sample) int { return int(a.wall - b.wall) })
	return ss[len(ss)/2], ss[0]
}

// withContext returns base with ctx's entries added or replaced.
func withContext(base, ctx map[string]any) map[string]any {
	all := map[string]any{}
	for k, v := range base {
		all[k] = v
	}
	for k, v := range ctx {
		all[k] = v
	}
	return all
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

// Command coldstart measures each Lambda function's bootstrap size and its
// cold start, locally (`make coldstart`):
//
//	go run ./infra/coldstart [-n 30] [-fn health] [-json] [-inittrace] [-baseline=false]
//
// For every function under functions/ it builds the bootstrap twice, the
// way `make build` does (CGO_ENABLED=0, -tags lambda.norpc -trimpath
// -ldflags '-s -w'), into a temp dir: for linux/arm64 (what deploys; its
// size is reported) and for this machine (what runs here). It starts
// DynamoDB Local (in memory), the SES emulator and moto on 127.0.0.1
// through infra/emulator, or reuses those infra/testrun exported
// (STEWARD_TEST_*_URL), and creates a table (store.EnsureTable) and a
// Secrets Manager secret holding a new signing key set, both deleted at
// the end.
//
// A fake Lambda Runtime API on 127.0.0.1 hands each process one event.
// Each function is started n times with the environment Lambda gives a
// provided.al2023 function plus Steward's configuration pointing at the
// emulators; each start is timed from just before exec to its first
// GET /next (init done) and to the post of its answer (first answer), the
// answer is checked, and the process is killed; the process's CPU time
// (user and system) is reported too, as the wall clock suffers most from
// other processes sharing the machine. Events: API functions get
// an API Gateway HTTP API event for a cheap route (health: GET
// /v1/health, auth: GET /.well-known/jwks.json, the others an
// authenticated GET without a token, which must answer 401); workflow a
// step input the handler rejects (Steward.StepFailed); alertsjob {} over
// the empty table. A "(baseline)" row (infra/coldstart/baseline, a no-op
// function) shows the floor: exec, the Go runtime and the runtime client.
//
// It prints a table (or JSON with -json) and exits 1 if any function
// failed to build, start or answer as expected.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/stewardhq/steward/infra/emulator"
)

// result is one function's row.
type result struct {
	Function   string     `json:"function"`
	Request    string     `json:"request"`
	MemoryMB   int        `json:"memoryMB"`
	Arm64Bytes int64      `json:"arm64Bytes,omitempty"`
	HostBytes  int64      `json:"hostBytes"`
	InitMS     quantiles  `json:"initMs"`
	FirstMS    quantiles  `json:"firstAnswerMs"`
	CPUMS      quantiles  `json:"cpuMs"`
	ToMainMS   *quantiles `json:"toMainMs,omitempty"`
	// InitGroups and TopInits (with -inittrace) are the package inits:
	// by module group and the slowest packages, medians.
	InitGroups []packageInit `json:"initGroups,omitempty"`
	TopInits   []packageInit `json:"topInits,omitempty"`
	Samples    []sample      `json:"-"`
	Error      string        `json:"error,omitempty"`
}

// report is the whole run, as -json prints it.
type report struct {
	Host      string   `json:"host"`
	CPUs      int      `json:"cpus"`
	Go        string   `json:"go"`
	N         int      `json:"n"`
	LoadStart string   `json:"loadStart"`
	LoadEnd   string   `json:"loadEnd"`
	Functions []result `json:"functions"`
}

func main() {
	n := flag.Int("n", 30, "cold starts per function")
	only := flag.String("fn", "", "measure only this function (a directory under functions/)")
	asJSON := flag.Bool("json", false, "print JSON instead of a table")
	baseline := flag.Bool("baseline", true, "add the (baseline) row: a no-op aws-lambda-go function")
	inittrace := flag.Bool("inittrace", false, "run with GODEBUG=inittrace=1 and add when package init ended (the runtime's clock; slightly slows every start)")
	flag.Parse()
	if *n < 1 || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	emulator.TermWithParent()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	rep, err := run(ctx, *n, *only, *baseline, *inittrace, os.Stderr)
	stop()
	if rep != nil {
		if *asJSON {
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			_ = enc.Encode(rep)
		} else {
			printTable(os.Stdout, rep)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

// run builds, starts the emulators and measures; rep holds the rows
// measured even when err is set.
func run(ctx context.Context, n int, only string, withBaseline, inittrace bool, progress io.Writer) (rep *report, err error) {
	root, err := emulator.ProjectRoot()
	if err != nil {
		return nil, err
	}
	names, err := listFunctions(root)
	if err != nil {
		return nil, err
	}
	if only != "" {
		if !slices.Contains(names, only) {
			return nil, fmt.Errorf("-fn %s: no such function; functions: %s", only, strings.Join(names, ", "))
		}
		names = []string{only}
	}
	var targets []target
	if withBaseline {
		targets = append(targets, baselineTarget())
	}
	for _, name := range names {
		t, err := newTarget(name)
		if err != nil {
			return nil, err
		}
		targets = append(targets, t)
	}

	tmp, err := os.MkdirTemp("", "steward-coldstart-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	hostDir, armDir := filepath.Join(tmp, "host"), filepath.Join(tmp, "linux-arm64")
	var hostPkgs, armPkgs []string
	for _, t := range targets {
		hostPkgs = append(hostPkgs, t.Pkg)
		if t.Name != baselineName {
			armPkgs = append(armPkgs, t.Pkg)
		}
	}
	for _, b := range []struct {
		goos, goarch, dir string
		pkgs              []string
	}{
		{"linux", "arm64", armDir, armPkgs},
		{runtime.GOOS, runtime.GOARCH, hostDir, hostPkgs},
	} {
		began := time.Now()
		if err := build(ctx, root, b.goos, b.goarch, b.dir, b.pkgs); err != nil {
			return nil, err
		}
		fmt.Fprintf(progress, "built %d bootstraps for %s/%s in %s\n", len(b.pkgs), b.goos, b.goarch, time.Since(began).Round(100*time.Millisecond))
	}

	emuLog, err := os.Create(filepath.Join(tmp, "emulators.log"))
	if err != nil {
		return nil, err
	}
	defer emuLog.Close()
	be, err := startBackend(ctx, root, emuLog, progress)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := be.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}()
	api, err := newRuntimeAPI()
	if err != nil {
		return nil, err
	}
	defer api.Close()

	rep = &report{
		Host: runtime.GOOS + "/" + runtime.GOARCH, CPUs: runtime.NumCPU(), Go: runtime.Version(),
		N: n, LoadStart: loadAvg(),
	}
	var failed []string
	for _, t := range targets {
		bin := filepath.Join(hostDir, filepath.Base(t.Pkg))
		r := result{Function: t.Name, Request: t.Request, MemoryMB: t.MemoryMB}
		if fi, err := os.Stat(bin); err == nil {
			r.HostBytes = fi.Size()
		}
		if t.Name != baselineName {
			fi, err := os.Stat(filepath.Join(armDir, filepath.Base(t.Pkg)))
			if err != nil {
				return rep, err
			}
			r.Arm64Bytes = fi.Size()
		}
		fmt.Fprintf(progress, "%-12s %s x%d ", t.Name, t.Request, n)
		env := lambdaEnv(t, api.Addr, filepath.Dir(bin), be)
		if inittrace {
			env = append(env, inittraceEnv)
		}
		for i := 0; i < n; i++ {
			s, err := coldStart(ctx, api, t, bin, env)
			if err != nil {
				r.Error = fmt.Sprintf("run %d: %v", i+1, err)
				break
			}
			r.Samples = append(r.Samples, s)
			if (i+1)%10 == 0 {
				fmt.Fprint(progress, ".")
			}
		}
		if r.Error == "" {
			r.InitMS, _ = summarize(durations(r.Samples, func(s sample) time.Duration { return s.Init }))
			r.FirstMS, _ = summarize(durations(r.Samples, func(s sample) time.Duration { return s.First }))
			r.CPUMS, _ = summarize(durations(r.Samples, func(s sample) time.Duration { return s.CPU }))
			if inittrace {
				q, _ := summarize(durations(r.Samples, func(s sample) time.Duration { return s.ToMain }))
				r.ToMainMS = &q
				r.InitGroups, r.TopInits = summarizeInits(r.Samples)
			}
			fmt.Fprintf(progress, " init %.1f ms, first answer %.1f ms, cpu %.1f ms (medians)\n", r.InitMS.P50, r.FirstMS.P50, r.CPUMS.P50)
		} else {
			fmt.Fprintf(progress, " FAILED\n%s\n", r.Error)
			failed = append(failed, t.Name)
		}
		rep.Functions = append(rep.Functions, r)
		if ctx.Err() != nil {
			return rep, context.Cause(ctx)
		}
	}
	rep.LoadEnd = loadAvg()
	if len(failed) > 0 {
		return rep, fmt.Errorf("failed: %s", strings.Join(failed, ", "))
	}
	return rep, nil
}

// build compiles pkgs for goos/goarch into dir (one binary per package,
// named after its directory), as `make build` does.
func build(ctx context.Context, root, goos, goarch, dir string, pkgs []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	args := append([]string{"build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", dir + string(filepath.Separator)}, pkgs...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build for %s/%s: %w\n%s", goos, goarch, err, out)
	}
	return nil
}

func durations(ss []sample, f func(sample) time.Duration) []time.Duration {
	out := make([]time.Duration, len(ss))
	for i, s := range ss {
		out[i] = f(s)
	}
	return out
}

// loadAvg is the 1, 5 and 15 minute load averages (Linux), or "".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// printTable writes the report as an aligned table.
func printTable(w io.Writer, rep *report) {
	fmt.Fprintf(w, "cold starts on %s, %d CPUs, %s, n=%d; load average (1/5/15 min) %s at start, %s at end\n",
		rep.Host, rep.CPUs, rep.Go, rep.N, rep.LoadStart, or(rep.LoadEnd, "?"))
	traced := slices.ContainsFunc(rep.Functions, func(r result) bool { return r.ToMainMS != nil })
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	line := func(cells ...string) {
		const row = "%-12s %8s %6s %9s %9s %9s %9s %7s"
		fmt.Fprintf(w, row, cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], cells[6], cells[7])
		if traced {
			fmt.Fprintf(w, " %9s", cells[8])
		}
		fmt.Fprintf(w, "  %s\n", cells[9])
	}
	line("function", "arm64 MB", "mem MB", "init p50", "init p90", "first p50", "first p90", "cpu p50", "main p50", "request -> expected")
	for _, r := range rep.Functions {
		size := "-"
		if r.Arm64Bytes > 0 {
			size = fmt.Sprintf("%.2f", float64(r.Arm64Bytes)/(1<<20))
		}
		if r.Error != "" {
			line(r.Function, size, strconv.Itoa(r.MemoryMB), "FAILED", "", "", "", "", "", r.Request)
			continue
		}
		toMain := ""
		if r.ToMainMS != nil {
			toMain = f(r.ToMainMS.P50)
		}
		line(r.Function, size, strconv.Itoa(r.MemoryMB), f(r.InitMS.P50), f(r.InitMS.P90), f(r.FirstMS.P50), f(r.FirstMS.P90), f(r.CPUMS.P50), toMain, r.Request)
	}
	fmt.Fprintln(w, "ms from just before exec: init = its first GET /next, first = its answer's post; cpu = the process's user+system CPU time; MB = MiB")
	if traced {
		fmt.Fprintln(w, "main = when the last package init ended, from the Go runtime's start (GODEBUG=inittrace=1)")
		fmt.Fprintln(w, "\npackage init, medians (ms, KB allocated): by group; slowest packages")
		for _, r := range rep.Functions {
			if r.ToMainMS == nil {
				continue
			}
			var groups, top []string
			for _, p := range r.InitGroups {
				groups = append(groups, fmt.Sprintf("%s %s (%d KB)", p.Package, f(p.MS), p.Bytes>>10))
			}
			for _, p := range r.TopInits {
				top = append(top, fmt.Sprintf("%s %s (%d KB)", shortPkg(p.Package), f(p.MS), p.Bytes>>10))
			}
			fmt.Fprintf(w, "%-12s %s\n%-12s %s\n", r.Function, strings.Join(groups, ", "), "", strings.Join(top, ", "))
		}
	}
}

// topInits is how many of the slowest package inits a row lists.
const topInits = 6

// packageInit is one package's (or group's) init: the median wall clock
// over the samples, and what it allocated.
type packageInit struct {
	Package string  `json:"package"`
	MS      float64 `json:"ms"`
	Bytes   int64   `json:"bytes"`
	Allocs  int64   `json:"allocs"`
}

// initGroup names the group of a package: Steward's own, the AWS SDK
// (and smithy-go), other modules, the standard library.
func initGroup(pkg string) string {
	switch {
	case strings.HasPrefix(pkg, "github.com/stewardhq/"):
		return "steward"
	case strings.HasPrefix(pkg, "github.com/aws/"):
		return "aws"
	case strings.Contains(strings.Split(pkg, "/")[0], "."):
		return "other"
	}
	return "std"
}

// shortPkg drops the well-known module prefixes of a package path.
func shortPkg(pkg string) string {
	for _, p := range []string{"github.com/stewardhq/steward/", "github.com/aws/aws-sdk-go-v2/"} {
		if s, ok := strings.CutPrefix(pkg, p); ok {
			return s
		}
	}
	return pkg
}

// summarizeInits returns the package inits of samples by group (the median
// of each sample's group total) and the slowest topInits packages (the
// median of each package's time).
func summarizeInits(samples []sample) (groups, top []packageInit) {
	perPkg := map[string][]time.Duration{}
	perGroup := map[string][]time.Duration{}
	last := map[string]pkgInit{}
	groupAlloc := map[string]pkgInit{}
	for i, s := range samples {
		sums := map[string]float64{}
		for pkg, p := range s.Inits {
			perPkg[pkg] = append(perPkg[pkg], time.Duration(p.MS*float64(time.Millisecond)))
			sums[initGroup(pkg)] += p.MS
			last[pkg] = p
			if i == 0 {
				g := groupAlloc[initGroup(pkg)]
				g.Bytes += p.Bytes
				g.Allocs += p.Allocs
				groupAlloc[initGroup(pkg)] = g
			}
		}
		for g, v := range sums {
			perGroup[g] = append(perGroup[g], time.Duration(v*float64(time.Millisecond)))
		}
	}
	for _, g := range []string{"steward", "aws", "other", "std"} {
		if q, err := summarize(perGroup[g]); err == nil {
			groups = append(groups, packageInit{Package: g, MS: q.P50, Bytes: groupAlloc[g].Bytes, Allocs: groupAlloc[g].Allocs})
		}
	}
	for pkg, ds := range perPkg {
		q, _ := summarize(ds)
		top = append(top, packageInit{Package: pkg, MS: q.P50, Bytes: last[pkg].Bytes, Allocs: last[pkg].Allocs})
	}
	slices.SortFunc(top, func(a, b packageInit) int {
		if c := cmp.Compare(b.MS, a.MS); c != 0 {
			return c
		}
		return strings.Compare(a.Package, b.Package)
	})
	return groups, top[:min(len(top), topInits)]
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

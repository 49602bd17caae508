package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/stewardhq/steward/infra/emulator"
	"github.com/stewardhq/steward/infra/localstack"
	"github.com/stewardhq/steward/pkg/awsclient"
	"github.com/stewardhq/steward/pkg/config"
	"github.com/stewardhq/steward/pkg/password"
	"github.com/stewardhq/steward/pkg/store"
)

// Options of a whole load run.
type Options struct {
	// Root is the project root (go.mod).
	Root string
	// ServerBin is a prebuilt infra/loadgen/server; empty builds one.
	ServerBin string
	// Data set.
	Accounts, Members, Stores int
	// SeedConcurrency is how many accounts are seeded at once;
	// SignInConcurrency how many sign-ins run at once.
	SeedConcurrency, SignInConcurrency int
	// Checks is the number of prepared check requests.
	Checks int
	// Workers of both workloads.
	Workers int
	// Warmup runs checks before workload A, not counted.
	Warmup time.Duration
	// Duration and MaxRequests bound workload A (checks); MixedDuration
	// and MaxMixed workload B (mixed). A zero duration skips it.
	Duration, MixedDuration time.Duration
	MaxRequests, MaxMixed   int64
	// Seed makes the data set and the requests reproducible.
	Seed uint64
	// CPUProfile, when set, is where the server writes a CPU profile of
	// workload A.
	CPUProfile string
	// Out receives the report.
	Out io.Writer
}

// ErrFailedRequests is returned by Run when a workload had errors.
var ErrFailedRequests = errors.New("the load run had failed requests")

// child is a process Run started, for the final check that it is gone.
type child struct {
	name string
	pid  int
}

// Run is the whole load run: emulators on free ports (DynamoDB Local in
// memory), the data set seeded through the store, the API server as a
// child process, sign-ins, workload A then workload B, the report, and
// every child stopped, on success, failure or ctx's end alike.
func Run(ctx context.Context, o Options) (err error) {
	out := o.Out
	began := time.Now()
	tmp, err := os.MkdirTemp("", "steward-loadgen-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var children []child
	defer func() {
		if left := stillRunning(children); left != "" {
			err = errors.Join(err, fmt.Errorf("processes left running: %s", left))
		} else if len(children) > 0 {
			var names []string
			for _, c := range children {
				names = append(names, fmt.Sprintf("%s (pid %d)", c.name, c.pid))
			}
			fmt.Fprintf(out, "stopped %s; none left running\n", strings.Join(names, ", "))
		}
	}()

	fmt.Fprintf(out, "== load run: %d accounts x %d members x %d stores, %d workers, %d CPUs, %s\n",
		o.Accounts, o.Members, o.Stores, o.Workers, runtime.NumCPU(), runtime.Version())

	bin := o.ServerBin
	if bin == "" {
		bin = filepath.Join(tmp, "server")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./infra/loadgen/server")
		build.Dir, build.Stdout, build.Stderr = o.Root, out, out
		if err := build.Run(); err != nil {
			return fmt.Errorf("build the server: %w", err)
		}
	}

	emuLog, err := os.Create(filepath.Join(tmp, "emulators.log"))
	if err != nil {
		return err
	}
	defer emuLog.Close()
	if err := emulator.EnsureInstalled(ctx, o.Root, out); err != nil {
		return err
	}
	t0 := time.Now()
	dynamo, err := emulator.StartDynamoDB(ctx, emulator.Options{Root: o.Root, Log: emuLog})
	if err != nil {
		return err
	}
	children = append(children, child{dynamo.Name, dynamo.PID})
	defer stopLogged(out, dynamo.Name, dynamo.Stop)
	ses, err := emulator.StartSES(ctx, emulator.Options{Root: o.Root, Log: emuLog})
	if err != nil {
		return err
	}
	children = append(children, child{ses.Name, ses.PID})
	defer stopLogged(out, ses.Name, ses.Stop)
	apiPort, err := emulator.FreePort()
	if err != nil {
		return err
	}
	settings := localstack.Settings{APIPort: apiPort, DynamoDBPort: dynamo.Port, SESPort: ses.Port, DataDir: tmp, Table: "steward"}
	fmt.Fprintf(out, "emulators: DynamoDB Local (in memory) %s, SES %s, ready in %.1fs\n", dynamo.URL, ses.URL, time.Since(t0).Seconds())

	secrets, err := settings.LoadSecrets()
	if err != nil {
		return err
	}
	cfg := settings.Config(secrets, config.Config{})
	awsCfg, err := awsclient.LoadConfig(ctx, cfg.Region, cfg.Endpoints)
	if err != nil {
		return err
	}
	db := awsclient.DynamoDB(awsCfg, cfg.Endpoints.DynamoDB)
	if err := store.EnsureTable(ctx, db, settings.Table); err != nil {
		return err
	}
	st, err := store.New(db, settings.Table, secrets.CursorKey)
	if err != nil {
		return err
	}

	const pw = "load-run password 1"
	t0 = time.Now()
	hash, err := password.Hash(pw, password.DefaultParams)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "password hashed once (argon2id, %s), reused by every signed-in member\n", time.Since(t0).Round(time.Millisecond))
	dynBefore, _ := CPUTime(dynamo.PID)
	selfBefore, _ := CPUTime(os.Getpid())
	ds, err := Seed(ctx, st, SeedOptions{Accounts: o.Accounts, Members: o.Members, Stores: o.Stores,
		Concurrency: o.SeedConcurrency, PasswordHash: hash, Seed: o.Seed, Progress: out})
	if err != nil {
		return err
	}
	dynAfter, _ := CPUTime(dynamo.PID)
	selfAfter, _ := CPUTime(os.Getpid())
	fmt.Fprintf(out, "seeded %d members in %.1fs (%d store transactions, %.0f/s; CPU: DynamoDB Local %.1fs, loadgen %.1fs)\n",
		o.Accounts*o.Members, ds.Elapsed.Seconds(), ds.Writes, float64(ds.Writes)/ds.Elapsed.Seconds(),
		(dynAfter - dynBefore).Seconds(), (selfAfter - selfBefore).Seconds())

	srvLog, err := os.Create(filepath.Join(tmp, "server.log"))
	if err != nil {
		return err
	}
	defer srvLog.Close()
	if o.CPUProfile != "" {
		if settings.CPUProfile, err = filepath.Abs(o.CPUProfile); err != nil {
			return err
		}
	}
	srv, err := StartServer(ctx, bin, o.Root, settings.APIURL(), settings.Env(), srvLog)
	if err != nil {
		return errors.Join(err, tailOf(srvLog.Name()))
	}
	children = append(children, child{"api server", srv.PID})
	defer stopLogged(out, "api server", srv.Stop)
	defer func() {
		if err != nil {
			err = errors.Join(err, tailOf(srvLog.Name()))
		}
	}()
	fmt.Fprintf(out, "api server: pid %d on %s\n", srv.PID, srv.URL)

	client, err := NewClient(srv.URL, o.Workers*2)
	if err != nil {
		return err
	}
	defer client.Close()
	t0 = time.Now()
	tokens, err := SignIn(ctx, client, ds, pw, o.SignInConcurrency)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "signed in %d members over POST /v1/auth/login in %.1fs\n", 2*len(tokens), time.Since(t0).Seconds())
	wl := NewWorkload(client, ds, tokens, o.Checks, o.Seed)

	signInMem, err := MemoryOf(srv.PID)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "server RSS peak so far %s (the sign-ins: argon2id takes 19 MiB per hash, %d at once)\n", MiB(signInMem.Peak), o.SignInConcurrency)
	if o.Warmup > 0 {
		if err := warmUp(ctx, out, wl, srv.PID, o); err != nil {
			return err
		}
	}
	procs := []proc{{"api server", srv.PID}, {"DynamoDB Local", dynamo.PID}, {"loadgen", os.Getpid()}}
	failed := false
	if o.Duration > 0 {
		fmt.Fprintf(out, "\n== workload A: POST /v1/authz/check, %d workers, %s (at most %d requests)\n", o.Workers, o.Duration, o.MaxRequests)
		if o.CPUProfile != "" {
			_ = syscall.Kill(srv.PID, syscall.SIGUSR1)
		}
		res, m, err := measure(ctx, procs, func() *Result {
			return wl.RunChecks(ctx, RunOptions{Workers: o.Workers, Duration: o.Duration, MaxOps: o.MaxRequests, Seed: o.Seed + 1})
		})
		if o.CPUProfile != "" {
			_ = syscall.Kill(srv.PID, syscall.SIGUSR2)
			fmt.Fprintf(out, "  cpu profile  of the server during workload A: %s (go tool pprof)\n", o.CPUProfile)
		}
		if err != nil {
			return err
		}
		reportChecks(out, res, m)
		failed = failed || res.Errors.Total() > 0
	}
	if ctx.Err() == nil && o.MixedDuration > 0 {
		fmt.Fprintf(out, "\n== workload B: 80%% checks, 15%% reads, 5%% writes, %d workers, %s (at most %d operations)\n", o.Workers, o.MixedDuration, o.MaxMixed)
		res, m, err := measure(ctx, procs, func() *Result {
			return wl.RunMixed(ctx, RunOptions{Workers: o.Workers, Duration: o.MixedDuration, MaxOps: o.MaxMixed, Seed: o.Seed + 2})
		})
		if err != nil {
			return err
		}
		reportMixed(out, res, m)
		failed = failed || res.Errors.Total() > 0
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-srv.Done():
		return errors.New("the api server exited during the run")
	default:
	}
	fmt.Fprintf(out, "\nload run took %.1fs\n", time.Since(began).Seconds())
	if failed {
		return ErrFailedRequests
	}
	return nil
}

// warmUp runs uncounted checks for o.Warmup, then on, one second at a
// time (15 s at most), while the server's resident set still shrinks: the
// Go runtime returns the sign-ins' argon2 memory to the system gradually,
// and workload A's peak should not be that memory.
func warmUp(ctx context.Context, out io.Writer, wl *Workload, pid int, o Options) error {
	const maxWarmup = 15 * time.Second
	began := time.Now()
	var n, errs int64
	d := o.Warmup
	prev := int64(-1)
	for {
		wr := wl.RunChecks(ctx, RunOptions{Workers: o.Workers, Duration: d, MaxOps: 1 << 20, Seed: o.Seed + 7 + uint64(n)})
		n += wr.Requests
		errs += wr.Errors.Total()
		if err := ctx.Err(); err != nil {
			return err
		}
		m, err := MemoryOf(pid)
		if err != nil {
			return err
		}
		if (prev >= 0 && m.Now > prev-(1<<20)) || time.Since(began) >= maxWarmup {
			fmt.Fprintf(out, "warm-up: %d checks in %.1fs (not counted; %d errors); server RSS %s\n", n, time.Since(began).Seconds(), errs, MiB(m.Now))
			return nil
		}
		prev, d = m.Now, time.Second
	}
}

// proc is a process whose CPU time a workload reports.
type proc struct {
	name string
	pid  int
}

// measurement is what /proc said about a workload.
type measurement struct {
	cpu map[string]time.Duration
	// start is the api server's resident set when the workload began;
	// mem its peak during the workload, and at its end.
	start int64
	mem   Memory
}

// measure resets the server's peak RSS, runs f, and returns the CPU time
// each process used meanwhile and the server's peak.
func measure(ctx context.Context, procs []proc, f func() *Result) (*Result, measurement, error) {
	m := measurement{cpu: map[string]time.Duration{}}
	if err := ResetPeak(procs[0].pid); err != nil {
		return nil, m, fmt.Errorf("reset peak RSS: %w", err)
	}
	mem, err := MemoryOf(procs[0].pid)
	if err != nil {
		return nil, m, err
	}
	m.start = mem.Now
	before := map[string]time.Duration{}
	for _, p := range procs {
		c, err := CPUTime(p.pid)
		if err != nil {
			return nil, m, err
		}
		before[p.name] = c
	}
	res := f()
	for _, p := range procs {
		c, err := CPUTime(p.pid)
		if err != nil {
			return nil, m, err
		}
		m.cpu[p.name] = c - before[p.name]
	}
	m.mem, err = MemoryOf(procs[0].pid)
	return res, m, err
}

func reportErrors(out io.Writer, res *Result) {
	e := res.Errors
	fmt.Fprintf(out, "  errors       %d (5xx %d, unexpected status %d, transport %d, cross-tenant allowed %d)\n",
		e.Total(), e.Server, e.Unexpected, e.Transport, e.Leaks)
	for _, s := range res.Samples {
		if len(s) > 300 {
			s = s[:300] + "..."
		}
		fmt.Fprintf(out, "    %s\n", s)
	}
}

func reportCPU(out io.Writer, res *Result, m measurement, per string, n int64) {
	srv := m.cpu["api server"]
	if n > 0 {
		fmt.Fprintf(out, "  server CPU   %.1fµs per %s (utime+stime %.2fs over %.1fs = %.2f cores)\n",
			float64(srv.Microseconds())/float64(n), per, srv.Seconds(), res.Elapsed.Seconds(), srv.Seconds()/res.Elapsed.Seconds())
	}
	fmt.Fprintf(out, "  CPU split    api server %.2fs, DynamoDB Local %.2fs, loadgen %.2fs (of %.1f core-seconds on %d CPUs)\n",
		srv.Seconds(), m.cpu["DynamoDB Local"].Seconds(), m.cpu["loadgen"].Seconds(), res.Elapsed.Seconds()*float64(runtime.NumCPU()), runtime.NumCPU())
	fmt.Fprintf(out, "  server RSS   peak %s during the workload (VmHWM); %s at its start, %s at its end\n", MiB(m.mem.Peak), MiB(m.start), MiB(m.mem.Now))
}

func reportChecks(out io.Writer, res *Result, m measurement) {
	all := res.Rec.Summary(CheckLabels...)
	fmt.Fprintf(out, "  checks       %d in %.1fs = %.0f req/s\n", res.Requests, res.Elapsed.Seconds(), float64(res.Requests)/res.Elapsed.Seconds())
	fmt.Fprintf(out, "  latency      p50 %s  p90 %s  p99 %s  max %s  (mean %s)\n", Ms(all.P50), Ms(all.P90), Ms(all.P99), Ms(all.Max), Ms(all.Mean))
	if res.Decided > 0 {
		fmt.Fprintf(out, "  answers      %.1f%% of in-tenant checks allowed; every cross-tenant check denied or 404\n", 100*float64(res.Allowed)/float64(res.Decided))
	}
	reportErrors(out, res)
	reportCPU(out, res, m, "check", res.Checks)
	fmt.Fprintln(out, "  by kind:")
	res.Rec.PrintTable(out, res.Elapsed, CheckLabels...)
}

func reportMixed(out io.Writer, res *Result, m measurement) {
	all := res.Rec.Summary(MixedLabels...)
	fmt.Fprintf(out, "  requests     %d in %.1fs = %.0f req/s\n", res.Requests, res.Elapsed.Seconds(), float64(res.Requests)/res.Elapsed.Seconds())
	fmt.Fprintf(out, "  latency      p50 %s  p90 %s  p99 %s  max %s (all routes)\n", Ms(all.P50), Ms(all.P90), Ms(all.P99), Ms(all.Max))
	reportErrors(out, res)
	reportCPU(out, res, m, "request", res.Requests)
	fmt.Fprintln(out, "  by route:")
	res.Rec.PrintTable(out, res.Elapsed, MixedLabels...)
}

func stopLogged(out io.Writer, name string, stop func() error) {
	if err := stop(); err != nil {
		fmt.Fprintf(out, "stop %s: %v\n", name, err)
	}
}

// stillRunning names the children whose process still exists (zombies
// count as gone).
func stillRunning(children []child) string {
	var left []string
	for _, c := range children {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.pid))
		if err != nil {
			continue
		}
		if i := strings.LastIndexByte(string(raw), ')'); i > 0 && strings.HasPrefix(string(raw[i+1:]), " Z") {
			continue
		}
		left = append(left, fmt.Sprintf("%s (pid %d)", c.name, c.pid))
	}
	return strings.Join(left, ", ")
}

// tailOf returns the last lines of a log file as an error, for a failure
// report (nil when empty).
func tailOf(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil || len(raw) == 0 {
		return nil
	}
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	var keep []string
	for _, l := range lines {
		if !strings.Contains(l, `"msg":"request"`) || strings.Contains(l, `"status":5`) {
			keep = append(keep, l)
		}
	}
	if len(keep) > 10 {
		keep = keep[len(keep)-10:]
	}
	if len(keep) == 0 {
		return nil
	}
	return fmt.Errorf("server log (last lines):\n%s", strings.Join(keep, "\n"))
}

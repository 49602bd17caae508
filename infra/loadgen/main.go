// Command loadgen is the bounded loopback load run of `make bench`: it
// starts DynamoDB Local (in memory) and the SES emulator on free ports,
// seeds 100 accounts x 100 members x 4 stores through the store, starts
// the API server (infra/loadgen/server, the production handler) as a child
// process on 127.0.0.1, signs one owner and one manager per account in
// over HTTP, then runs
//
//   - workload A: POST /v1/authz/check only (about 10% across tenants),
//     reporting requests per second, p50/p90/p99, errors, the server's CPU
//     time per check and its peak RSS;
//   - workload B: 80% checks, 15% reads, 5% writes, reporting throughput,
//     p50/p99 per route, errors and the server's peak RSS.
//
// Every loop is bounded in time and count; every child is stopped by PID
// on exit, failure, SIGINT or SIGTERM. It exits 1 when a request failed.
// BENCH_FULL=1 makes workload B's default duration 60 s (else 20 s).
// The logic lives in package loadgen.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/stewardhq/steward/infra/emulator"
	"github.com/stewardhq/steward/infra/loadgen/loadrun"
	"github.com/stewardhq/steward/infra/localstack"
)

func main() {
	settings, err := localstack.FromEnv("", os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	mixedDefault := 20 * time.Second
	if settings.BenchFull {
		mixedDefault = 60 * time.Second
	}
	o := loadgen.Options{Out: os.Stdout}
	flag.DurationVar(&o.Duration, "duration", 20*time.Second, "workload A (checks) duration; 0 skips it")
	flag.DurationVar(&o.MixedDuration, "mixed-duration", mixedDefault, "workload B (mixed) duration; 0 skips it (default 60s with BENCH_FULL=1)")
	flag.Int64Var(&o.MaxRequests, "max-requests", 2_000_000, "workload A request bound")
	flag.Int64Var(&o.MaxMixed, "max-mixed", 4_000_000, "workload B operation bound")
	flag.IntVar(&o.Workers, "workers", 8, "concurrent workers, one request in flight each")
	flag.DurationVar(&o.Warmup, "warmup", 2*time.Second, "uncounted checks before workload A")
	flag.IntVar(&o.Accounts, "accounts", 100, "accounts to seed")
	flag.IntVar(&o.Members, "members", 100, "members per account (owner included)")
	flag.IntVar(&o.Stores, "stores", 4, "stores per account")
	flag.IntVar(&o.SeedConcurrency, "seed-concurrency", 8, "accounts seeded at once")
	flag.IntVar(&o.SignInConcurrency, "signin-concurrency", 1, "sign-ins at once (each argon2id verify holds 19 MiB)")
	flag.IntVar(&o.Checks, "checks", 1<<14, "prepared check requests")
	flag.Uint64Var(&o.Seed, "seed", 1, "random seed of the data set and the requests")
	flag.StringVar(&o.ServerBin, "server", "", "prebuilt infra/loadgen/server binary (default: build one)")
	flag.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the server during workload A to this file")
	timeout := flag.Duration("timeout", 15*time.Minute, "bound on the whole run")
	flag.Parse()

	emulator.TermWithParent()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	root, err := emulator.ProjectRoot()
	if err == nil {
		o.Root = root
		err = loadgen.Run(ctx, o)
	}
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "loadgen: stopped early:", context.Cause(ctx))
		}
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		stop()
		cancel()
		os.Exit(1)
	}
}

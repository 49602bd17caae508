// Package loadgen is the bounded loopback load run of `make bench`
// (infra/loadgen): it seeds a data set straight through pkg/store, starts
// Steward's API as a child process, drives it over HTTP on 127.0.0.1 with
// a fixed number of workers for a fixed time (and at most a fixed number of
// requests), and reports throughput, latency percentiles per route, errors
// and the server's CPU time and peak memory read from /proc.
//
// Pieces:
//   - Seed writes N accounts x M members x S stores with roles spread over
//     the built-ins, a few admins and two custom roles per account.
//   - Server starts and stops the API child (its own process group, SIGTERM
//     when this process dies) and reads its /proc counters.
//   - Recorder and Summary collect latencies and compute percentiles from
//     the sorted samples (exact, no histogram buckets).
//   - RunChecks (workload A) and RunMixed (workload B) are the workloads.
//
// Linux only: the server's CPU time and memory come from /proc.
package loadgen

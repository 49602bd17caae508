package loadgen

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
)

// Recorder collects the latencies of one worker, by label (a route or a
// request kind). It is not safe for concurrent use: give each worker its
// own and Merge them afterwards.
type Recorder struct {
	samples map[string][]time.Duration
	// Errors counts failed requests by label.
	errors map[string]int
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder {
	return &Recorder{samples: map[string][]time.Duration{}, errors: map[string]int{}}
}

// Add records one finished request of label that took d.
func (r *Recorder) Add(label string, d time.Duration) {
	r.samples[label] = append(r.samples[label], d)
}

// Fail records one failed request of label (it is counted, not timed).
func (r *Recorder) Fail(label string) { r.errors[label]++ }

// Merge adds o's samples and errors to r.
func (r *Recorder) Merge(o *Recorder) {
	for k, v := range o.samples {
		r.samples[k] = append(r.samples[k], v...)
	}
	for k, v := range o.errors {
		r.errors[k] += v
	}
}

// Labels returns the labels seen, sorted.
func (r *Recorder) Labels() []string {
	seen := map[string]bool{}
	for k := range r.samples {
		seen[k] = true
	}
	for k := range r.errors {
		seen[k] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Summary of the labels given (all when none).
func (r *Recorder) Summary(labels ...string) Summary {
	if len(labels) == 0 {
		labels = r.Labels()
	}
	var all []time.Duration
	errs := 0
	for _, l := range labels {
		all = append(all, r.samples[l]...)
		errs += r.errors[l]
	}
	return Summarize(all, errs)
}

// Summary is the latency distribution of a set of requests.
type Summary struct {
	// Count is the number of timed (successful) requests; Errors the
	// failed ones.
	Count, Errors int
	// Percentiles of the timed requests.
	P50, P90, P99, Max time.Duration
	// Mean of the timed requests.
	Mean time.Duration
}

// Summarize sorts samples (in place) and computes the summary: exact
// nearest-rank percentiles of every sample, no bucketing.
func Summarize(samples []time.Duration, errors int) Summary {
	s := Summary{Count: len(samples), Errors: errors}
	if len(samples) == 0 {
		return s
	}
	slices.Sort(samples)
	var sum time.Duration
	for _, d := range samples {
		sum += d
	}
	s.Mean = sum / time.Duration(len(samples))
	s.P50 = Percentile(samples, 50)
	s.P90 = Percentile(samples, 90)
	s.P99 = Percentile(samples, 99)
	s.Max = samples[len(samples)-1]
	return s
}

// Percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted samples: the smallest sample with at least p% of the samples at
// or below it.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.999999999) - 1
	rank = max(0, min(rank, len(sorted)-1))
	return sorted[rank]
}

// Ms formats a duration in milliseconds with 2 decimals ("1.23ms").
func Ms(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}

// PrintTable writes one line per label: count, rate over elapsed, p50,
// p90, p99, max and errors.
func (r *Recorder) PrintTable(w io.Writer, elapsed time.Duration, labels ...string) {
	if len(labels) == 0 {
		labels = r.Labels()
	}
	width := len("route")
	for _, l := range labels {
		width = max(width, len(l))
	}
	fmt.Fprintf(w, "  %-*s %9s %9s %9s %9s %9s %9s %7s\n", width, "route", "requests", "req/s", "p50", "p90", "p99", "max", "errors")
	fmt.Fprintf(w, "  %s\n", strings.Repeat("-", width+9*6+7+7))
	for _, l := range labels {
		s := r.Summary(l)
		fmt.Fprintf(w, "  %-*s %9d %9.0f %9s %9s %9s %9s %7d\n", width, l, s.Count+s.Errors,
			float64(s.Count+s.Errors)/elapsed.Seconds(), Ms(s.P50), Ms(s.P90), Ms(s.P99), Ms(s.Max), s.Errors)
	}
}

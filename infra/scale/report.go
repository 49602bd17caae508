package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stewardhq/steward/infra/testkit/testenv"
)

// Result is one flow's line of the table.
type Result struct {
	// Name is the flow; Criterion what it must meet to pass.
	Name, Criterion string
	// Pass is the verdict; Reason says why it failed (or, on a pass, what
	// was seen).
	Pass   bool
	Reason string
	// Wall is the flow's wall time; Units the DynamoDB capacity its
	// requests consumed (ReturnConsumedCapacity TOTAL).
	Wall  time.Duration
	Units testenv.Usage
	// Ops, when above 1, is the number of operations the flow made: the
	// table also shows units per operation.
	Ops int
}

// Verdict is PASS or FAIL.
func (r Result) Verdict() string {
	if r.Pass {
		return "PASS"
	}
	return "FAIL"
}

// Failed counts the failed results.
func Failed(rs []Result) int {
	n := 0
	for _, r := range rs {
		if !r.Pass {
			n++
		}
	}
	return n
}

// units formats capacity units: whole numbers without decimals.
func units(v float64) string {
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%.1f", v)
}

// wall formats a duration for the table.
func wall(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	default:
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
}

// perOp is "RRU/WRU per op" when the flow made several operations.
func perOp(r Result) string {
	if r.Ops <= 1 {
		return "-"
	}
	n := float64(r.Ops)
	return fmt.Sprintf("%s/%s per op (%d ops)", units(round1(r.Units.Read/n)), units(round1(r.Units.Write/n)), r.Ops)
}

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }

// PrintTable writes the results as an aligned table, then each flow's
// criterion and reason.
func PrintTable(out io.Writer, rs []Result) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "flow\tresult\twall\tread units\twrite units\tper operation")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Verdict(), wall(r.Wall), units(round1(r.Units.Read)), units(round1(r.Units.Write)), perOp(r))
	}
	tw.Flush()
	fmt.Fprintln(out)
	for _, r := range rs {
		fmt.Fprintf(out, "%s %s\n  criterion: %s\n", r.Verdict(), r.Name, r.Criterion)
		if r.Reason != "" {
			fmt.Fprintf(out, "  %s\n", oneLine(r.Reason, 400))
		}
	}
}

// oneLine squeezes s onto one line of at most n bytes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}

// Judgements: each flow's criterion as a pure function of what it saw, so
// that the tool's verdicts are tested without a scale run.

// judgeChecks: every check answered 200 within the API function's timeout
// and a check cost at most maxRead read units on average.
func judgeChecks(n, ok int, slowest, timeout time.Duration, u testenv.Usage, maxRead float64) (bool, string) {
	per := 0.0
	if n > 0 {
		per = u.Read / float64(n)
	}
	seen := fmt.Sprintf("%d of %d checks answered 200; slowest %s; %.1f read units per check", ok, n, wall(slowest), per)
	switch {
	case n == 0 || ok < n:
		return false, seen
	case slowest > timeout:
		return false, seen + fmt.Sprintf("; over the %s timeout", wall(timeout))
	case per > maxRead:
		return false, seen + fmt.Sprintf("; over the budget of %.1f", maxRead)
	}
	return true, seen
}

// judgeWithin: an answer with status want arrived within limit.
func judgeWithin(status, want int, took, limit time.Duration, body string) (bool, string) {
	seen := fmt.Sprintf("status %d in %s", status, wall(took))
	if status != want {
		return false, seen + ": " + oneLine(body, 300)
	}
	if took > limit {
		return false, seen + fmt.Sprintf(", over the %s limit", wall(limit))
	}
	return true, seen
}

// judgeCount: got reached want within limit.
func judgeCount(what string, got, want int, took, limit time.Duration) (bool, string) {
	seen := fmt.Sprintf("%d of %d %s in %s", got, want, what, wall(took))
	switch {
	case got < want:
		return false, seen
	case took > limit:
		return false, seen + fmt.Sprintf(", over the %s limit", wall(limit))
	}
	return true, seen
}

// Statuses counts answers by status code.
type Statuses map[int]int

func (s Statuses) String() string {
	var parts []string
	for code := 100; code < 600; code++ {
		if n := s[code]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d x%d", code, n))
		}
	}
	if n := s[0]; n > 0 {
		parts = append(parts, fmt.Sprintf("transport error x%d", n))
	}
	return strings.Join(parts, ", ")
}

// judgeInvitations: every invitation created (201); no 5xx or 409.
func judgeInvitations(s Statuses, n int, took, limit time.Duration) (bool, string) {
	fivexx, conflicts := 0, s[409]
	for code, c := range s {
		if code >= 500 || code == 0 {
			fivexx += c
		}
	}
	seen := fmt.Sprintf("%d invitations in %s: %s (5xx or transport %d, 409 %d)", n, wall(took), s, fivexx, conflicts)
	if s[201] != n || took > limit {
		if took > limit {
			seen += fmt.Sprintf(", over the %s limit", wall(limit))
		}
		return false, seen
	}
	return true, seen
}

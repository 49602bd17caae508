package loadgen

import (
	"os"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 100; i++ {
		s = append(s, time.Duration(101-i)*time.Millisecond)
	}
	sum := Summarize(s, 2)
	if sum.Count != 100 || sum.Errors != 2 || sum.P50 != 50*time.Millisecond || sum.P90 != 90*time.Millisecond ||
		sum.P99 != 99*time.Millisecond || sum.Max != 100*time.Millisecond {
		t.Fatalf("summary %+v", sum)
	}
	if got := Percentile([]time.Duration{7}, 99); got != 7 {
		t.Fatalf("one sample: %v", got)
	}
	if got := Percentile(nil, 50); got != 0 {
		t.Fatalf("no samples: %v", got)
	}
}

func TestRecorderMerge(t *testing.T) {
	a, b := NewRecorder(), NewRecorder()
	a.Add("x", time.Millisecond)
	b.Add("x", 3*time.Millisecond)
	b.Add("y", 2*time.Millisecond)
	b.Fail("y")
	a.Merge(b)
	if s := a.Summary("x"); s.Count != 2 || s.Max != 3*time.Millisecond {
		t.Fatalf("x: %+v", s)
	}
	if s := a.Summary(); s.Count != 3 || s.Errors != 1 {
		t.Fatalf("all: %+v", s)
	}
}

func TestProcSelf(t *testing.T) {
	pid := os.Getpid()
	if _, err := CPUTime(pid); err != nil {
		t.Fatal(err)
	}
	m, err := MemoryOf(pid)
	if err != nil {
		t.Fatal(err)
	}
	if m.Peak <= 0 || m.Now <= 0 || m.Now > m.Peak {
		t.Fatalf("memory %+v", m)
	}
}

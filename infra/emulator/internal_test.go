package emulator

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestExitBeforeReadyQuotesOutput(t *testing.T) {
	began := time.Now()
	_, err := start(context.Background(), Options{}, spec{
		name: "failing",
		argv: func(int) []string {
			return []string{"sh", "-c", "echo first line; echo 'fatal: boom' >&2; exit 3"}
		},
		probe:    func(context.Context, string) error { return errors.New("not up") },
		timeout:  10 * time.Second,
		exitHint: map[int]string{3: "the hint for code 3"},
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"failing exited before it was ready", "exit status 3", "the hint for code 3", "first line", "fatal: boom"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("took %s to notice the exit", d)
	}
}

func TestTimeoutStopsChild(t *testing.T) {
	_, err := start(context.Background(), Options{}, spec{
		name: "silent",
		argv: func(int) []string {
			return []string{"sh", "-c", "echo waiting forever; exec sleep 60"}
		},
		probe:   func(context.Context, string) error { return errors.New("not up") },
		timeout: 300 * time.Millisecond,
	})
	if err == nil || !strings.Contains(err.Error(), "did not answer") || !strings.Contains(err.Error(), "waiting forever") {
		t.Fatalf("error %v", err)
	}
}

func TestStopEscalatesToSIGKILL(t *testing.T) {
	defer func(d time.Duration) { stopTimeout = d }(stopTimeout)
	stopTimeout = 500 * time.Millisecond
	// A child that ignores SIGTERM; it is ready once it has said so.
	marker := filepath.Join(t.TempDir(), "ready")
	p, err := start(context.Background(), Options{}, spec{
		name: "stubborn",
		argv: func(int) []string {
			return []string{"sh", "-c", "trap '' TERM; touch " + marker + "; while :; do sleep 0.1; done"}
		},
		probe: func(context.Context, string) error {
			_, err := os.Stat(marker)
			return err
		},
		timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d < stopTimeout || d > stopTimeout+2*time.Second {
		t.Errorf("stop took %s, want about %s", d, stopTimeout)
	}
	// The shell's sleep children die with it but are reaped by init a
	// moment later; until then they still count as group members. (The
	// one hand-written poll loop: testenv.Eventually is out of reach here,
	// as testenv imports this package.)
	deadline := time.Now().Add(2 * time.Second)
	for syscall.Kill(-p.PID, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("group %d survives SIGKILL", p.PID)
		}
		time.Sleep(20 * time.Millisecond) // poll interval within the deadline
	}
}

func TestLockFileExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := LockFile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := LockFile(ctx, path); err == nil {
		t.Fatal("second lock succeeded while the first is held")
	}
	unlock()
	unlock2, err := LockFile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	unlock2()
}

func TestMajorVersion(t *testing.T) {
	for in, want := range map[string]int{"17.0.15\" 2025-04-15": 17, "1.8.0_392\"": 8, "v20.20.2": 20, "11.19.1": 11, "21\"": 21} {
		if got, ok := majorVersion(in); !ok || got != want {
			t.Errorf("majorVersion(%q) = %d %v, want %d", in, got, ok, want)
		}
	}
}

func TestTailBuffer(t *testing.T) {
	tb := newTailBuffer(3, 1024)
	for _, l := range []string{"a\n", "b\nc\n", "d\n", "e"} {
		tb.Write([]byte(l))
	}
	if got := tb.String(); got != "    c\n    d\n    e" {
		t.Fatalf("tail = %q", got)
	}
}

func TestInstalledFreshness(t *testing.T) {
	dir := t.TempDir()
	lock := filepath.Join(dir, "package-lock.json")
	marker := filepath.Join(dir, "node_modules", ".package-lock.json")
	if installed(dir) {
		t.Fatal("installed without anything")
	}
	if err := os.WriteFile(lock, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if installed(dir) {
		t.Fatal("installed without node_modules")
	}
	if err := os.MkdirAll(filepath.Dir(marker), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(marker, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := os.Chtimes(lock, now, now); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(marker, now, now); err != nil {
		t.Fatal(err)
	}
	if !installed(dir) {
		t.Fatal("not installed with an up-to-date marker")
	}
	later := now.Add(time.Minute)
	if err := os.Chtimes(lock, later, later); err != nil {
		t.Fatal(err)
	}
	if installed(dir) {
		t.Fatal("installed although package-lock.json is newer")
	}
}

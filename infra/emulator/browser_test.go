package emulator

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fakeExecutable(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// Any Chrome or Chromium chromedp would find is found, not only Debian's
// chromium; with none, the error says what to install.
func TestFindBrowserLikeChromedp(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PATH", dir)
	t.Setenv(EnvBrowser, "")
	if _, err := FindBrowser(); !errors.Is(err, ErrNoBrowser) || !strings.Contains(err.Error(), "install") {
		t.Fatalf("no browser: %v", err)
	}
	want := fakeExecutable(t, dir, "google-chrome-stable")
	if got, err := FindBrowser(); err != nil || got != want {
		t.Fatalf("google-chrome-stable on PATH: %q, %v", got, err)
	}
	// chromium comes first, as in chromedp.
	want = fakeExecutable(t, dir, "chromium")
	if got, err := FindBrowser(); err != nil || got != want {
		t.Fatalf("chromium on PATH: %q, %v", got, err)
	}
	// STEWARD_BROWSER wins, and must name an executable.
	other := fakeExecutable(t, t.TempDir(), "my-chrome")
	t.Setenv(EnvBrowser, other)
	if got, err := FindBrowser(); err != nil || got != other {
		t.Fatalf("%s: %q, %v", EnvBrowser, got, err)
	}
	t.Setenv(EnvBrowser, filepath.Join(dir, "missing"))
	if _, err := FindBrowser(); err == nil {
		t.Fatal("a missing STEWARD_BROWSER was accepted")
	}
}

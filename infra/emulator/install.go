package emulator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ProjectRoot returns the directory holding go.mod, walking up from the
// working directory (go test runs in the package's directory).
func ProjectRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find project root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find project root: no go.mod in the working directory or above it")
		}
		dir = parent
	}
}

// EmulatorsDir is infra/emulators under root: package.json,
// package-lock.json, node_modules and moto_server.py.
func EmulatorsDir(root string) string { return filepath.Join(root, "infra", "emulators") }

// installLockName is the lock file, in EmulatorsDir, that serialises
// installs between processes.
const installLockName = ".npm-install.lock"

// EnsureInstalled makes sure infra/emulators/node_modules matches
// package-lock.json. When node_modules is missing, or package-lock.json is
// newer than node_modules/.package-lock.json (npm's record of the last
// install), it runs "npm ci --no-audit --no-fund" there and writes progress
// to log (nil discards). When package-lock.json itself is missing it runs
// "npm install" instead, which creates it. A file lock keeps parallel
// processes from installing at the same time; the others wait for it (as
// long as ctx allows) and then find the packages installed.
func EnsureInstalled(ctx context.Context, root string, log io.Writer) error {
	if log == nil {
		log = io.Discard
	}
	dir := EmulatorsDir(root)
	if _, err := os.Stat(filepath.Join(dir, "package.json")); err != nil {
		return fmt.Errorf("emulator packages: %w (is %s the project root?)", err, root)
	}
	if installed(dir) {
		return nil
	}
	unlock, err := LockFile(ctx, filepath.Join(dir, installLockName))
	if err != nil {
		return fmt.Errorf("emulator packages: %w", err)
	}
	defer unlock()
	if installed(dir) { // another process installed them while we waited
		return nil
	}
	if err := checkNPM(ctx); err != nil {
		return err
	}
	args := []string{"ci", "--no-audit", "--no-fund"}
	if _, err := os.Stat(filepath.Join(dir, "package-lock.json")); errors.Is(err, os.ErrNotExist) {
		args[0] = "install"
	}
	fmt.Fprintln(log, "installing emulator packages from npm (first run only)...")
	began := time.Now()
	tail := newTailBuffer(30, 8<<10)
	cmd := exec.CommandContext(ctx, "npm", args...)
	cmd.Dir = dir
	out := &outputWriter{log: log, tail: tail}
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm %s in %s failed (%v)%s", args[0], dir, err, lastOutput(tail.String()))
	}
	if !installed(dir) {
		return fmt.Errorf("npm %s in %s succeeded but node_modules/.package-lock.json is missing or older than package-lock.json", args[0], dir)
	}
	fmt.Fprintf(log, "installed emulator packages in %s\n", time.Since(began).Round(100*time.Millisecond))
	return nil
}

// installed reports whether node_modules is at least as new as
// package-lock.json.
func installed(dir string) bool {
	lock, err := os.Stat(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return false
	}
	marker, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json"))
	if err != nil {
		return false
	}
	return !marker.ModTime().Before(lock.ModTime())
}

// LockFile takes an exclusive flock on path (created if missing), polling
// until it is free or ctx ends. The returned function releases it. Locks
// are per open file, so it also excludes other goroutines of this process.
func LockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for lock %s: %w", path, ctx.Err())
		case <-tick.C:
		}
	}
}

// Tool checks run once per process.
var (
	javaCheck = onceErr{}
	nodeCheck = onceErr{}
	npmCheck  = onceErr{}
)

type onceErr struct {
	once sync.Once
	err  error
}

func (o *onceErr) do(f func() error) error {
	o.once.Do(func() { o.err = f() })
	return o.err
}

var versionRE = regexp.MustCompile(`(\d+)(?:\.(\d+))?`)

// majorVersion extracts the major version from a version string, reading
// Java's old "1.8.0" style as 8.
func majorVersion(s string) (int, bool) {
	m := versionRE.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	major, _ := strconv.Atoi(m[1])
	if major == 1 && m[2] != "" {
		major, _ = strconv.Atoi(m[2])
	}
	return major, true
}

// toolVersion runs name with args and returns its combined output.
func toolVersion(ctx context.Context, name string, args ...string) (string, error) {
	if _, err := exec.LookPath(name); err != nil {
		return "", err
	}
	// The result is cached for the process: a caller's cancellation must
	// not become the cached answer.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

func requireVersion(ctx context.Context, what, install string, min int, name string, args ...string) error {
	out, err := toolVersion(ctx, name, args...)
	if err != nil {
		return fmt.Errorf("%s needs %s %d or newer: %v (%s)", what, name, min, err, install)
	}
	// java -version: `openjdk version "17.0.15" 2025-04-15`; take the quoted part.
	s := out
	if i := strings.IndexByte(s, '"'); i >= 0 {
		s = s[i+1:]
	}
	major, ok := majorVersion(s)
	if !ok {
		return fmt.Errorf("%s needs %s %d or newer: cannot read the version from %q", what, name, min, out)
	}
	if major < min {
		first, _, _ := strings.Cut(out, "\n")
		return fmt.Errorf("%s needs %s %d or newer, found %s (%s)", what, name, min, first, install)
	}
	return nil
}

func checkJava(ctx context.Context) error {
	return javaCheck.do(func() error {
		return requireVersion(ctx, "DynamoDB Local", "install a JDK or JRE 17, e.g. apt-get install openjdk-17-jre-headless", 17, "java", "-version")
	})
}

func checkNode(ctx context.Context) error {
	return nodeCheck.do(func() error {
		return requireVersion(ctx, "aws-ses-v2-local", "install Node.js 18 or newer", 18, "node", "--version")
	})
}

func checkNPM(ctx context.Context) error {
	return npmCheck.do(func() error {
		if err := checkNode(ctx); err != nil {
			return err
		}
		return requireVersion(ctx, "installing the emulator packages", "npm 7+ ships with Node.js 16+", 7, "npm", "--version")
	})
}

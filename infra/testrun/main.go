// Command testrun runs a command (usually the test suite) against one set of
// local emulators:
//
//	go run ./infra/testrun [-log FILE] -- go test ./...
//
// It starts DynamoDB Local (in memory), aws-ses-v2-local and moto on free
// ports of 127.0.0.1, prints one line per emulator on stderr
// ("dynamodb local: http://127.0.0.1:NNNN"), runs the command with
// STEWARD_TEST_DYNAMODB_URL, STEWARD_TEST_SES_URL and STEWARD_TEST_MOTO_URL
// exported (infra/testkit/testenv reuses them instead of starting its own), and
// stops the emulators when the command ends. It exits with the command's
// exit code. SIGINT and SIGTERM are passed on to the command, and the
// emulators are stopped; a second signal kills the command.
//
// If an emulator cannot start, testrun prints why and exits 1 without
// running the command (with or without CI set: tests never skip). The
// emulators' output is discarded unless -log names a file for it; the
// last lines are quoted in any start error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/stewardhq/steward/infra/emulator"
)

func main() {
	os.Exit(run())
}

func run() int {
	logPath := flag.String("log", "", "append the emulators' output to this file")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: go run ./infra/testrun [-log FILE] -- command [args...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	args := flag.Args()
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		flag.Usage()
		return 2
	}

	var log io.Writer
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintln(os.Stderr, "testrun:", err)
			return 1
		}
		defer f.Close()
		log = f
	}

	// Signals: during the start they cancel it; afterwards they go to the
	// command.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	emulator.TermWithParent()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	started, watcherDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watcherDone)
		select {
		case <-sigs:
			cancel()
		case <-started:
		}
	}()

	began := time.Now()
	// A busy CI machine (other jobs, a first JIT) can slow DynamoDB Local
	// past the package default of 30 s; one slow start must not fail a run.
	ready := emulator.Options{ReadyTimeout: 60 * time.Second}
	stack, err := emulator.StartStack(ctx, emulator.StackOptions{Log: log, DynamoDB: ready, SES: ready, Moto: ready})
	close(started)
	<-watcherDone
	if err != nil {
		fmt.Fprintf(os.Stderr, "testrun: emulators failed to start:\n%v\n", err)
		if ctx.Err() != nil {
			return 130
		}
		return 1
	}
	defer func() {
		if err := stack.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "testrun:", err)
		}
	}()
	for _, p := range stack.Processes() {
		fmt.Fprintf(os.Stderr, "%s: %s\n", p.Name, p.URL)
	}
	fmt.Fprintf(os.Stderr, "testrun: emulators ready in %s\n", time.Since(began).Round(10*time.Millisecond))
	if ctx.Err() != nil { // a signal arrived just as the start finished
		return 130
	}

	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), stack.TestEnv()...)
	cmd.SysProcAttr = commandSysProcAttr()
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "testrun:", err)
		return 127
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	signalled := 0
	for {
		select {
		case sig := <-sigs:
			signalled++
			if signalled == 1 {
				_ = cmd.Process.Signal(sig)
			} else {
				_ = cmd.Process.Kill()
			}
		case err := <-done:
			return exitCode(err, cmd)
		}
	}
}

// exitCode maps the command's end to testrun's exit code: its own code,
// or 128+signal when a signal ended it.
func exitCode(err error, cmd *exec.Cmd) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		fmt.Fprintln(os.Stderr, "testrun:", err)
		return 1
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return cmd.ProcessState.ExitCode()
}

// Command server is the API server of the load run (infra/loadgen): the
// production handler of every route, app.Handler(..., "", ...), served on
// 127.0.0.1 in a process of its own so that the load run can read its CPU
// time and peak memory from /proc. Unlike `make run` it starts no
// emulators: the load run starts them and passes their ports.
//
// Settings (package localstack): STEWARD_API_PORT, STEWARD_DYNAMODB_PORT,
// STEWARD_SES_PORT, STEWARD_TABLE and STEWARD_DATA_DIR (required: the
// folder whose secrets.json holds the signing keys and cursor key the load
// run seeded with). It stops on SIGINT or SIGTERM, and when its parent
// dies.
//
// Profiling: with STEWARD_LOADGEN_CPUPROFILE set to a file, SIGUSR1 starts
// a CPU profile and SIGUSR2 (or the end) writes it there, so that the load
// run can profile one workload (loadgen -cpuprofile). The API handler is
// the same either way.
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/stewardhq/steward/infra/emulator"
	"github.com/stewardhq/steward/infra/localstack"
	"github.com/stewardhq/steward/infra/localstack/app"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen server:", err)
		os.Exit(1)
	}
}

func run() error {
	emulator.TermWithParent()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// No project root: the load run names the data folder.
	stack, err := localstack.Load("")
	if err != nil {
		return err
	}
	cfg := stack.Config
	handler, err := app.Handler(ctx, cfg, app.NewLogger(cfg.LogLevel), "", app.Secrets{SigningKeys: &stack.Secrets.SigningKeys})
	if err != nil {
		return err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", stack.APIPort)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	if path := stack.CPUProfile; path != "" {
		stopProfile := profileOnSignal(path)
		defer stopProfile()
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		return err
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// profileOnSignal starts a CPU profile to path on SIGUSR1 and writes it on
// SIGUSR2; the returned function writes a profile still running.
func profileOnSignal(path string) func() {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2)
	var f *os.File
	stopProfile := func() {
		if f != nil {
			pprof.StopCPUProfile()
			f.Close()
			f = nil
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for s := range sigs {
			if s == syscall.SIGUSR2 {
				stopProfile()
				continue
			}
			if f != nil {
				continue
			}
			var err error
			if f, err = os.Create(path); err != nil {
				fmt.Fprintln(os.Stderr, "cpu profile:", err)
				continue
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				fmt.Fprintln(os.Stderr, "cpu profile:", err)
				f.Close()
				f = nil
			}
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(sigs)
		<-done
		stopProfile()
	}
}

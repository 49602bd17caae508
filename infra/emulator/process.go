package emulator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Environment variables choosing the local stack's fixed ports.
const (
	EnvDynamoDBPort = "STEWARD_DYNAMODB_PORT"
	EnvSESPort      = "STEWARD_SES_PORT"
	EnvMotoPort     = "STEWARD_MOTO_PORT"
)

// Default fixed ports of the local stack (make run).
const (
	DefaultDynamoDBPort = 8000
	DefaultSESPort      = 8005
	DefaultMotoPort     = 5000
)

// Environment variables through which infra/testrun hands running
// emulators to every test process (read by infra/testkit/testenv).
const (
	EnvTestDynamoDBURL = "STEWARD_TEST_DYNAMODB_URL"
	EnvTestSESURL      = "STEWARD_TEST_SES_URL"
	EnvTestMotoURL     = "STEWARD_TEST_MOTO_URL"
)

// host is the only address the emulators are reached on.
const host = "127.0.0.1"

// stopTimeout is how long Stop waits after SIGTERM before SIGKILL (a
// variable for tests).
var stopTimeout = 5 * time.Second

// pollInterval is the pause between readiness probes.
const pollInterval = 50 * time.Millisecond

// Options configures one emulator.
type Options struct {
	// Port to serve on 127.0.0.1; 0 picks a free port.
	Port int
	// DataDir makes DynamoDB Local persist its data there (created if
	// missing). Empty means in memory. Other emulators ignore it.
	DataDir string
	// Log receives the child's stdout and stderr; nil discards them. The
	// last lines are kept regardless and quoted in start errors. A first
	// npm install reports its progress here, or on stderr when Log is nil.
	Log io.Writer
	// Root is the project root (the directory holding go.mod); empty means
	// ProjectRoot().
	Root string
	// PortEnv names the environment variable that chooses Port, quoted in
	// the error when the port is taken. Empty means the emulator's
	// STEWARD_*_PORT variable.
	PortEnv string
	// ReadyTimeout bounds the wait for the emulator to answer; 0 means 30 s
	// for DynamoDB Local and moto, 20 s for aws-ses-v2-local.
	ReadyTimeout time.Duration
	// LoopbackProxy (DynamoDB Local only) runs the jar on a free private
	// port and serves Port through a loopback-only proxy (Proxy): the jar
	// cannot bind to one address and listens on every interface, so the
	// advertised port is the proxy's. The jar's own port (BackendPort), a
	// random high port, still listens on every interface.
	LoopbackProxy bool
}

func (o Options) root() (string, error) {
	if o.Root != "" {
		return o.Root, nil
	}
	return ProjectRoot()
}

// PortFromEnv returns the port set in the environment variable env, or def
// when it is unset or empty.
func PortFromEnv(env string, def int) (int, error) {
	v := os.Getenv(env)
	if v == "" {
		return def, nil
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("%s=%q is not a port number", env, v)
	}
	return p, nil
}

// PortInUseError reports that a fixed port is already taken.
type PortInUseError struct {
	// Name of the emulator that wanted the port.
	Name string
	// Port that is taken.
	Port int
	// Env is the variable that chooses another port (may be empty).
	Env string
}

// Error explains the conflict and how to avoid it.
func (e *PortInUseError) Error() string {
	hint := `is "make run" already running?`
	if e.Env != "" {
		hint += " set " + e.Env + " to use another port"
	}
	return fmt.Sprintf("%s: port %d is already in use (%s)", e.Name, e.Port, hint)
}

// Process is a running emulator.
type Process struct {
	// Name is the emulator's display name ("dynamodb local", "ses local",
	// "moto").
	Name string
	// URL is the endpoint, http://127.0.0.1:Port.
	URL string
	// Port is the TCP port it serves on 127.0.0.1.
	Port int
	// PID is the child's process id, also its process group id.
	PID int
	// StartTime is how long the emulator took to answer after launch.
	StartTime time.Duration
	// BackendPort, behind a loopback proxy (Options.LoopbackProxy), is the
	// port the emulator itself listens on (every interface); 0 otherwise.
	BackendPort int

	proxy *Proxy

	cmd      *exec.Cmd
	tail     *tailBuffer
	done     chan struct{}
	waitErr  error
	stopOnce sync.Once
	stopErr  error
}

// Done is closed when the child process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Stop terminates the emulator: SIGTERM to its process group, up to 5 s
// for it to exit, then SIGKILL. It is safe to call more than once and from
// several goroutines; later calls return the first result.
func (p *Process) Stop() error {
	p.stopOnce.Do(func() {
		if p.proxy != nil {
			_ = p.proxy.Close()
		}
		p.stopErr = p.stop()
	})
	return p.stopErr
}

func (p *Process) stop() error {
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := syscall.Kill(-p.PID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop %s (pid %d): %w", p.Name, p.PID, err)
	}
	t := time.NewTimer(stopTimeout)
	defer t.Stop()
	select {
	case <-p.done:
		return nil
	case <-t.C:
	}
	if err := syscall.Kill(-p.PID, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill %s (pid %d): %w", p.Name, p.PID, err)
	}
	t.Reset(stopTimeout)
	select {
	case <-p.done:
		return nil
	case <-t.C:
		return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.Name, p.PID)
	}
}

// spec describes how to launch and probe one emulator.
type spec struct {
	name string
	// portEnv is the variable choosing the port, for PortInUseError.
	portEnv string
	dir     string
	argv    func(port int) []string
	env     func(port int) []string
	probe   func(ctx context.Context, url string) error
	timeout time.Duration
	// exitHint explains well-known exit codes.
	exitHint map[int]string
}

// exitedError reports a child that exited before it was ready.
type exitedError struct {
	name string
	err  error
	tail string
	hint string
}

func (e *exitedError) Error() string {
	status := "exit status 0"
	if e.err != nil {
		status = e.err.Error()
	}
	msg := fmt.Sprintf("%s exited before it was ready (%s)", e.name, status)
	if e.hint != "" {
		msg += ": " + e.hint
	}
	return msg + lastOutput(e.tail)
}

func lastOutput(tail string) string {
	if tail == "" {
		return "; it printed nothing"
	}
	return "; its last output:\n" + tail
}

// start launches s and waits until it answers. With a free port (Port 0)
// it retries when another process grabbed the port first.
func start(ctx context.Context, opts Options, s spec) (*Process, error) {
	if opts.PortEnv != "" {
		s.portEnv = opts.PortEnv
	}
	if opts.ReadyTimeout > 0 {
		s.timeout = opts.ReadyTimeout
	}
	const attempts = 3
	for i := 1; ; i++ {
		port := opts.Port
		if port == 0 {
			p, err := FreePort()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s.name, err)
			}
			port = p
		} else if portTaken(port) {
			return nil, &PortInUseError{Name: s.name, Port: port, Env: s.portEnv}
		}
		p, err := launch(ctx, opts, s, port)
		var exited *exitedError
		if err != nil && opts.Port == 0 && i < attempts && errors.As(err, &exited) && portTaken(port) {
			continue // lost the race for the free port
		}
		return p, err
	}
}

func launch(ctx context.Context, opts Options, s spec, port int) (*Process, error) {
	argv := s.argv(port)
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	tail := newTailBuffer(40, 8<<10)
	out := &outputWriter{log: log, tail: tail}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = s.dir
	cmd.Env = os.Environ()
	if s.env != nil {
		cmd.Env = append(cmd.Env, s.env(port)...)
	}
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = time.Second
	began := time.Now()
	if err := startCmd(cmd); err != nil {
		return nil, fmt.Errorf("start %s: %w", s.name, err)
	}
	p := &Process{
		Name: s.name,
		URL:  fmt.Sprintf("http://%s:%d", host, port),
		Port: port,
		PID:  cmd.Process.Pid,
		cmd:  cmd,
		tail: tail,
		done: make(chan struct{}),
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	if err := p.waitReady(ctx, s); err != nil {
		_ = p.Stop()
		return nil, err
	}
	p.StartTime = time.Since(began)
	return p, nil
}

func (p *Process) waitReady(ctx context.Context, s spec) error {
	rctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		perr := s.probe(rctx, p.URL)
		select {
		case <-p.done:
			code := -1
			if p.cmd.ProcessState != nil {
				code = p.cmd.ProcessState.ExitCode()
			}
			return &exitedError{name: s.name, err: p.waitErr, tail: p.tail.String(), hint: s.exitHint[code]}
		default:
		}
		if perr == nil {
			return nil
		}
		select {
		case <-p.done:
			continue // reported above on the next turn
		case <-rctx.Done():
			if ctx.Err() != nil {
				return fmt.Errorf("start %s: %w", s.name, ctx.Err())
			}
			return fmt.Errorf("%s did not answer on %s within %s (last probe: %v)%s",
				s.name, p.URL, s.timeout, perr, lastOutput(p.tail.String()))
		case <-tick.C:
		}
	}
}

// probeClient is used by readiness probes; each probe is short.
var probeClient = &http.Client{Timeout: 2 * time.Second}

// FreePort asks the kernel for a free TCP port on 127.0.0.1.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", host, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// portTaken reports whether something accepts connections on
// 127.0.0.1:port or holds the port so that it cannot be bound.
func portTaken(port int) bool {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	if c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond); err == nil {
		c.Close()
		return true
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return true
	}
	l.Close()
	return false
}

// outputWriter receives the child's stdout and stderr. It never fails: a
// failing log must not stop the copy and block the child on a full pipe.
type outputWriter struct {
	mu   sync.Mutex
	log  io.Writer
	tail *tailBuffer
}

func (o *outputWriter) Write(b []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.tail.Write(b)
	_, _ = o.log.Write(b)
	return len(b), nil
}

// Linux delivers Pdeathsig when the thread that forked the child exits, not
// the process. Go may end an OS thread (when a goroutine exits while locked
// to it), so every child is forked from one goroutine locked to its thread
// for the life of the process.
var (
	spawnOnce sync.Once
	spawnReqs chan spawnReq
)

type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

func startCmd(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnReqs = make(chan spawnReq)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives as long as the process
			for r := range spawnReqs {
				r.done <- r.cmd.Start()
			}
		}()
	})
	r := spawnReq{cmd: cmd, done: make(chan error, 1)}
	spawnReqs <- r
	return <-r.done
}

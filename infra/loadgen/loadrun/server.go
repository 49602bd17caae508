package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// Server is the API server child process.
type Server struct {
	// PID is the child's process id (and process group id).
	PID int
	// URL is its base URL, http://127.0.0.1:port.
	URL string

	cmd      *exec.Cmd
	done     chan struct{}
	waitErr  error
	stopOnce sync.Once
	stopErr  error
}

// StartServer runs the server binary bin with env added to this process's
// environment, output to log, and waits (up to 30 s) until GET
// url/v1/health answers 200. The child runs in its own process group (so
// a Ctrl-C reaches only this process, which then stops it) and gets
// SIGTERM from the kernel if this process dies first.
func StartServer(ctx context.Context, bin, dir, url string, env []string, log io.Writer) (*Server, error) {
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = log
	cmd.Stderr = log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	cmd.WaitDelay = time.Second
	if err := startLocked(cmd); err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	s := &Server{PID: cmd.Process.Pid, URL: url, cmd: cmd, done: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(ctx, 30*time.Second); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

// Done is closed when the child has exited.
func (s *Server) Done() <-chan struct{} { return s.done }

func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/v1/health", nil)
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("server exited before it was ready: %v", s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("server did not answer %s/v1/health within %s: %w", s.URL, timeout, ctx.Err())
		case <-tick.C:
		}
	}
}

// Stop sends SIGTERM to the child's process group, waits up to 5 s, then
// sends SIGKILL. It is safe to call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() { s.stopErr = stopGroup(s.PID, s.done) })
	return s.stopErr
}

func stopGroup(pid int, done <-chan struct{}) error {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		select {
		case <-done:
			return nil
		default:
		}
		if err := syscall.Kill(-pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("signal server (pid %d): %w", pid, err)
		}
		select {
		case <-done:
			return nil
		case <-time.After(5 * time.Second):
		}
	}
	return fmt.Errorf("server (pid %d) did not exit after SIGKILL", pid)
}

// Linux delivers Pdeathsig when the thread that forked the child exits,
// and Go may end OS threads: every child is forked from one goroutine
// locked to its thread for the life of the process.
var (
	spawnOnce sync.Once
	spawnReqs chan spawnReq
)

type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

func startLocked(cmd *exec.Cmd) error {
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

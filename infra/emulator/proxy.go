package emulator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// Proxy is a loopback-only TCP forwarder: it listens on 127.0.0.1 and
// copies each connection to a target address. The local stack puts one in
// front of DynamoDB Local, whose jar has no bind-address option and
// listens on every interface: clients use the proxy's port, which nothing
// outside the machine can reach.
type Proxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// ListenLoopbackProxy listens on 127.0.0.1:port (0 picks a free port) and
// forwards every connection to target (host:port).
func ListenLoopbackProxy(port int, target string) (*Proxy, error) {
	ln, err := net.Listen("tcp4", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is the address the proxy listens on (127.0.0.1:port).
func (p *Proxy) Addr() *net.TCPAddr { return p.ln.Addr().(*net.TCPAddr) }

// Close stops listening, closes the connections in flight and waits for
// their copies to end. It is safe to call more than once.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	err := p.ln.Close()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

// track records c while the proxy is open; false means it is closing.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// A transient accept error (too many open files): back off.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if !p.track(c) {
			c.Close()
			return
		}
		p.wg.Add(1)
		go p.forward(c)
	}
}

func (p *Proxy) forward(c net.Conn) {
	defer p.wg.Done()
	defer p.untrack(c)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	u, err := (&net.Dialer{}).DialContext(ctx, "tcp", p.target)
	cancel()
	if err != nil {
		return
	}
	if !p.track(u) {
		u.Close()
		return
	}
	defer p.untrack(u)
	defer u.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(u, c)
		if tc, ok := u.(*net.TCPConn); ok {
			_ = tc.CloseWrite() // the client finished sending
		}
	}()
	_, _ = io.Copy(c, u)
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	<-done
}

// startBehindProxy starts DynamoDB Local on a free (private) port and a
// loopback-only proxy on opts.Port (0: a free one), and returns the
// process as the proxy's address: URL and Port are the proxy's,
// BackendPort the jar's.
func startDynamoDBBehindProxy(ctx context.Context, opts Options) (*Process, error) {
	portEnv := opts.PortEnv
	if portEnv == "" {
		portEnv = EnvDynamoDBPort
	}
	if opts.Port != 0 && portTaken(opts.Port) {
		return nil, &PortInUseError{Name: NameDynamoDB, Port: opts.Port, Env: portEnv}
	}
	inner := opts
	inner.Port, inner.LoopbackProxy = 0, false
	p, err := StartDynamoDB(ctx, inner)
	if err != nil {
		return nil, err
	}
	px, err := ListenLoopbackProxy(opts.Port, net.JoinHostPort(host, strconv.Itoa(p.Port)))
	if err != nil {
		_ = p.Stop()
		if opts.Port != 0 {
			return nil, &PortInUseError{Name: NameDynamoDB, Port: opts.Port, Env: portEnv}
		}
		return nil, fmt.Errorf("%s: loopback proxy: %w", NameDynamoDB, err)
	}
	p.BackendPort = p.Port
	p.Port = px.Addr().Port
	p.URL = fmt.Sprintf("http://%s:%d", host, p.Port)
	p.proxy = px
	return p, nil
}

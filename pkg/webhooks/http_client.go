package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"
)

// AttemptTimeout bounds one delivery attempt, connection included.
const AttemptTimeout = 10 * time.Second

// maxResponse is how much of a response is read (and discarded).
const maxResponse = 4 << 10

// HTTPPoster posts deliveries: every connection's address is checked
// against the policy after resolution (a net.Dialer Control, so DNS
// rebinding gains nothing), no proxy, no redirect followed (a 3xx is a
// failed attempt), AttemptTimeout per attempt, at most 4 KB of the
// response read.
type HTTPPoster struct {
	client *http.Client
}

// NewPoster returns the poster of a policy.
func NewPoster(p URLPolicy) *HTTPPoster {
	d := &net.Dialer{
		Timeout: AttemptTimeout,
		Control: func(network, address string, _ syscall.RawConn) error {
			return p.dialAllowed(address)
		},
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   AttemptTimeout,
		ResponseHeaderTimeout: AttemptTimeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       30 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &HTTPPoster{client: &http.Client{
		Transport:     tr,
		Timeout:       AttemptTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Post sends body to target with headers and returns the response status.
// Its error is short and names no secret: "timeout", "address not
// allowed", the network error.
func (p *HTTPPoster) Post(ctx context.Context, target string, headers map[string]string, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("bad request URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Steward-Webhooks/1")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, shortError(err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// shortError reduces a client error to its cause, without the URL.
func shortError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	switch {
	case errors.Is(err, errNotPublic):
		return errors.New("address not allowed")
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return errors.New("timeout")
	case errors.Is(err, syscall.ECONNREFUSED):
		return errors.New("connection refused")
	}
	msg := err.Error()
	if len(msg) > 120 {
		msg = msg[:120]
	}
	return fmt.Errorf("%s", msg)
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"
)

// client calls the API on 127.0.0.1.
type client struct {
	base string
	hc   *http.Client
	// waits counts the answers 429 account_rate_limited the client waited
	// out (Retry-After) and sent again, as a well-behaved host app does.
	waits atomic.Int64
}

func newClient(base string) (*client, error) {
	u, err := url.Parse(base)
	if err != nil || u.Hostname() != "127.0.0.1" {
		return nil, fmt.Errorf("scale only calls 127.0.0.1, not %q", base)
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     30 * time.Second,
	}
	// The client waits longer than any API function's timeout, so that a
	// slow answer is measured rather than cut short.
	return &client{base: base, hc: &http.Client{Transport: tr, Timeout: 5 * time.Minute}}, nil
}

// response is a finished call.
type response struct {
	Status int
	Body   []byte
	Took   time.Duration
	// RetryAfter is the Retry-After header, if any.
	RetryAfter string
}

// do sends one request; body (may be nil) is sent as JSON. An answer 429
// account_rate_limited (the account's share of the API, pkg/throttle) is
// waited out for its Retry-After and the request sent again.
func (c *client) do(ctx context.Context, method, path, token string, body any) (*response, error) {
	for {
		r, err := c.once(ctx, method, path, token, body)
		if err != nil || r.Status != http.StatusTooManyRequests || !bytes.Contains(r.Body, []byte(`"account_rate_limited"`)) {
			return r, err
		}
		c.waits.Add(1)
		wait := time.Second
		if n, err := strconv.Atoi(r.RetryAfter); err == nil && n > 0 {
			wait = time.Duration(n) * time.Second
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// once sends one request.
func (c *client) once(ctx context.Context, method, path, token string, body any) (*response, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	began := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, err
	}
	return &response{Status: resp.StatusCode, Body: raw, Took: time.Since(began), RetryAfter: resp.Header.Get("Retry-After")}, nil
}

// want calls and fails unless the answer has the status.
func (c *client) want(ctx context.Context, status int, method, path, token string, body any) (*response, error) {
	r, err := c.do(ctx, method, path, token, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if r.Status != status {
		return r, fmt.Errorf("%s %s: status %d, want %d: %s", method, path, r.Status, status, oneLine(string(r.Body), 500))
	}
	return r, nil
}

// login signs in and returns the access token.
func (c *client) login(ctx context.Context, email, password, account string) (string, error) {
	body := map[string]string{"email": email, "password": password}
	if account != "" {
		body["accountId"] = account
	}
	r, err := c.want(ctx, http.StatusOK, "POST", "/v1/auth/login", "", body)
	if err != nil {
		return "", err
	}
	var out struct {
		AccessToken string `json:"accessToken"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil || out.AccessToken == "" {
		return "", fmt.Errorf("login %s: no access token in %s", email, oneLine(string(r.Body), 200))
	}
	return out.AccessToken, nil
}

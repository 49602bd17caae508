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
	"time"
)

// client calls the API on 127.0.0.1.
type client struct {
	base string
	hc   *http.Client
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
}

// do sends one request; body (may be nil) is sent as JSON.
func (c *client) do(ctx context.Context, method, path, token string, body any) (*response, error) {
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
	return &response{Status: resp.StatusCode, Body: raw, Took: time.Since(began)}, nil
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

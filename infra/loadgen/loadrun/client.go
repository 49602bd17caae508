package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Client calls the API over keep-alive connections on 127.0.0.1.
type Client struct {
	base string
	hc   *http.Client
}

// NewClient returns a client of base (which must be a 127.0.0.1 URL) that
// keeps up to conns idle connections.
func NewClient(base string, conns int) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || u.Hostname() != "127.0.0.1" {
		return nil, fmt.Errorf("loadgen only calls 127.0.0.1, not %q", base)
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	return &Client{base: base, hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}}, nil
}

// Close drops the idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// Response is a finished call.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends one request: body (may be nil) as JSON, token as bearer token
// when set, and extra headers as name, value pairs.
func (c *Client) Do(ctx context.Context, method, path, token string, body []byte, headers ...string) (*Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
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
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}, nil
}

// Tokens are the access tokens of one account's signed-in members.
type Tokens struct {
	// Owner is the owner's (an admin), Caller the manager's.
	Owner, Caller string
}

// SignIn signs in every account's owner and caller over POST
// /v1/auth/login, concurrency at a time, and returns their access tokens
// by account index.
func SignIn(ctx context.Context, c *Client, ds *Dataset, password string, concurrency int) ([]Tokens, error) {
	out := make([]Tokens, len(ds.Accounts))
	type job struct {
		acct  int
		email string
		dest  *string
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range max(1, concurrency) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				tok, err := login(ctx, c, j.email, password)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("sign in %s: %w", j.email, err)
				}
				*j.dest = tok
				mu.Unlock()
			}
		}()
	}
	func() {
		defer close(jobs)
		for i, a := range ds.Accounts {
			for _, j := range []job{{i, a.Owner().Email, &out[i].Owner}, {i, a.Caller().Email, &out[i].Caller}} {
				mu.Lock()
				failed := firstErr != nil
				mu.Unlock()
				if failed || ctx.Err() != nil {
					return
				}
				select {
				case jobs <- j:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, ctx.Err()
}

func login(ctx context.Context, c *Client, email, password string) (string, error) {
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	resp, err := c.Do(ctx, http.MethodPost, "/v1/auth/login", "", body)
	if err != nil {
		return "", err
	}
	if resp.Status != http.StatusOK {
		return "", fmt.Errorf("status %d: %s", resp.Status, resp.Body)
	}
	var out struct {
		AccessToken string `json:"accessToken"`
	}
	if err := json.Unmarshal(resp.Body, &out); err != nil || out.AccessToken == "" {
		return "", fmt.Errorf("no access token in %s", resp.Body)
	}
	return out.AccessToken, nil
}

// Package apitest runs Steward's whole HTTP API in-process for tests: the
// same handler the local server mounts, over DynamoDB Local and
// aws-ses-v2-local (through testenv), with captured JSON logs so that tests
// can assert what was (not) logged. Tests in this package drive the API
// end to end, route by route.
package apitest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/localstack/app"
	"github.com/stewardhq/steward/infra/localstack/server"
	"github.com/stewardhq/steward/infra/testkit/openapitest"
	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/accesstoken"
	"github.com/stewardhq/steward/pkg/awsclient"
	"github.com/stewardhq/steward/pkg/config"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/webhooks"
)

// Env is a running API.
type Env struct {
	URL   string
	Store *store.Store
	SES   *testenv.SESEmulator
	Keys  accesstoken.KeySet
	Logs  *Logs
	// Issuer and Audience of the access tokens.
	Issuer, Audience string
	client           *http.Client
	cfg              config.Config
	deps             server.Deps
}

// Logs collects the server's log lines.
type Logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything logged so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// New starts the API for one test (or a group of tests sharing it).
// Options adjust the dependencies before the handler is built.
func New(t testing.TB, opts ...func(*server.Deps)) *Env {
	t.Helper()
	d := testenv.DynamoDB(t)
	ses := testenv.SES(t)
	keys, err := accesstoken.NewKeySet()
	if err != nil {
		t.Fatal(err)
	}
	// One cursor key for the test process: webhook secrets are sealed
	// under a key derived from it, and the one events pipeline of the
	// process (StartEvents) opens the endpoints of every Env.
	cursorKey := processCursorKey()
	srv := httptest.NewUnstartedServer(nil)
	url := "http://" + srv.Listener.Addr().String()
	cfg := config.Config{
		Stage: "test", Table: d.Table, Region: testenv.Region,
		Endpoints: awsclient.Endpoints{DynamoDB: d.URL, SES: ses.URL},
		PublicURL: url, Issuer: url, Audience: "steward", CursorKey: cursorKey,
		MailFrom: "Steward <no-reply@steward.test>", LogLevel: slog.LevelDebug,
		// The events feed lists changes once they are this old (5 s in
		// a deployment; pkg/events tests the wait itself).
		EventsSettle: 200 * time.Millisecond,
	}
	logs := &Logs{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	deps, err := app.Deps(context.Background(), cfg, log, "", app.Secrets{SigningKeys: &keys})
	if err != nil {
		t.Fatal(err)
	}
	// Lift the per-address cap of emails: every test's mail comes from
	// this machine (the per-recipient cap stays: each test has its own
	// addresses).
	deps.Auth.MailCaps.PerAddress = 1 << 20
	// Tests name their source address in a header (the real one is
	// always 127.0.0.1 here). Without one, a request comes from this
	// Env's own address, so that the sign-in limits (the production ones:
	// only failures count against an address) see each Env's failures
	// apart, though every Env shares one table.
	envAddr := NewTestAddress()
	deps.Auth.ClientAddress = func(r *http.Request) string {
		if a := r.Header.Get("X-Test-Client-Address"); a != "" {
			return a
		}
		return envAddr
	}
	// The approval workflow runs in-process (a workflow.Runner, real
	// clock) over the same steps; it stops with the test.
	if c, ok := deps.Approvals.Engine.(io.Closer); ok {
		t.Cleanup(func() { _ = c.Close() })
	}
	// Webhook replays queue in memory (tests read the queued tasks); they
	// read the account's events from the audit log.
	deps.Webhooks.Queue = &webhooks.MemoryQueue{}
	deps.Webhooks.Source = deps.Events
	for _, o := range opts {
		o(&deps)
	}
	h, err := server.Handler(deps, "")
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)
	st, err := store.New(d.Client, d.Table, cursorKey)
	if err != nil {
		t.Fatal(err)
	}
	// Every response is checked against the OpenAPI document.
	// Redirects are answers like any other: the API never redirects, so a
	// test sees one (ServeMux cleaning a path) instead of its target.
	client := &http.Client{
		Transport:     openapitest.Must(t).Transport(t, srv.Client().Transport),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &Env{URL: url, Store: st, SES: ses, Keys: keys, Logs: logs, Issuer: url, Audience: "steward", client: client, cfg: cfg, deps: deps}
}

var processCursorKey = sync.OnceValue(func() []byte {
	k := make([]byte, store.CursorKeySize)
	_, _ = rand.Read(k)
	return k
})

var pipeline struct {
	once sync.Once
	err  error
}

// StartEvents starts the change events' pipeline of the test process
// once (the local stack's: the table's stream read as in AWS, webhooks
// delivered from an in-process delay queue), and waits until it reads
// the stream: changes made after it returns are published. One pipeline
// serves every Env of the process (they share the table and the cursor
// key), so no event is published twice.
func (e *Env) StartEvents(t testing.TB) {
	t.Helper()
	pipeline.once.Do(func() {
		d := e.deps
		d.Webhooks = nil // the Env's replays keep their memory queue
		log := slog.New(slog.NewJSONHandler(e.Logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
		ev := app.NewEvents(e.cfg, &d, log)
		started := make(chan struct{})
		failed := make(chan error, 1)
		go func() { failed <- ev.Run(context.Background(), started) }()
		select {
		case <-started:
		case err := <-failed:
			pipeline.err = err
		case <-time.After(30 * time.Second):
			pipeline.err = errors.New("the stream reader did not start within 30 s")
		}
	})
	if pipeline.err != nil {
		t.Fatalf("events pipeline: %v", pipeline.err)
	}
}

var testAddresses atomic.Uint32

// NewTestAddress returns a source address no other caller of this test
// process gets (from 10.0.0.0/8), for X-Test-Client-Address.
func NewTestAddress() string {
	n := testAddresses.Add(1)
	if n == 1 {
		// Start at a random point, in case two processes share a table.
		var b [2]byte
		_, _ = rand.Read(b[:])
		testAddresses.Add(uint32(b[0])<<16 | uint32(b[1])<<8)
		n = testAddresses.Add(1)
	}
	return fmt.Sprintf("10.%d.%d.%d", n>>16&0xff, n>>8&0xff, n&0xff)
}

// Response is a finished call.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Map decodes the body as a JSON object.
func (r *Response) Map(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.JSON(t, &m)
	return m
}

// Code returns the problem code of an error response ("" when none).
func (r *Response) Code() string {
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(r.Body, &p)
	return p.Code
}

// Call sends a request. body may be nil, a []byte / string (sent as is) or
// a value (sent as JSON). token, when set, is sent as a bearer token.
func (e *Env) Call(t testing.TB, method, path, token string, body any, headers ...string) *Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// Want fails the test unless the response has the status (and, for an
// error, the problem code when code is not "").
func (r *Response) Want(t testing.TB, status int, code string) *Response {
	t.Helper()
	if r.Status != status || (code != "" && r.Code() != code) {
		t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, status, code)
	}
	return r
}

var tokenInLink = regexp.MustCompile(`[?&]token=([A-Za-z0-9_-]+)`)

// TokenFromEmail waits for an email to addr sent at or after since whose
// subject contains subjectPart and whose link carries a token not in
// except, and returns that token (the newest such email's).
func (e *Env) TokenFromEmail(t testing.TB, addr, subjectPart string, since time.Time, except ...string) string {
	t.Helper()
	var token string
	testenv.Eventually(t, 10*time.Second, fmt.Sprintf("a %q email to %s with a new token", subjectPart, addr), func() error {
		emails := e.SES.Emails(t, since)
		for i := len(emails) - 1; i >= 0; i-- {
			m := emails[i]
			if !m.SentTo(addr) || !strings.Contains(strings.ToLower(m.Subject), strings.ToLower(subjectPart)) {
				continue
			}
			match := tokenInLink.FindStringSubmatch(m.Body.Text)
			if match == nil {
				t.Fatalf("no token link in email %q: %s", m.Subject, m.Body.Text)
			}
			if !slices.Contains(except, match[1]) {
				token = match[1]
				return nil
			}
		}
		return fmt.Errorf("none among %d emails", len(emails))
	})
	return token
}

package apitest

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/localstack/server"
	"github.com/stewardhq/steward/pkg/throttle"
)

// One tenant flooding the API is answered 429 with Retry-After past its
// account's share, while another tenant on the same deployment keeps its
// answers (the per-account throttle, over HTTP). The case runs on its own
// API, with a budget of 10 requests a window.
var _ = abuse(abuseCase{
	rule: "one tenant cannot spend another's share", who: "other tenant", name: "floods the API past its account's share",
	do: func(t *testing.T, _ *Env) *Response {
		return floodOneTenant(t)
	},
	status: http.StatusOK,
})

// floodOneTenant floods one account's share and answers the other
// tenant's next request.
func floodOneTenant(t *testing.T) *Response {
	// One window for the whole test: the clock stands still.
	now := time.Now()
	e := New(t, func(d *server.Deps) {
		d.Throttle = &throttle.Accounts{Counter: d.Store, Rate: 1, Now: func() time.Time { return now }} // 10 requests per 10-second window
	})
	_, busy := e.acctOwner(t, "throttle-busy")
	_, quiet := e.acctOwner(t, "throttle-quiet")
	var last *Response
	ok := 0
	for range 15 {
		last = e.Call(t, http.MethodGet, "/v1/me", busy, nil)
		if last.Status != http.StatusOK {
			break
		}
		ok++
	}
	if ok < 8 || ok > 10 {
		t.Fatalf("%d requests answered before the throttle, want about 10", ok)
	}
	last.Want(t, http.StatusTooManyRequests, "account_rate_limited")
	if s, err := strconv.Atoi(last.Header.Get("Retry-After")); err != nil || s < 1 || s > 10 {
		t.Fatalf("Retry-After %q, want 1..10 seconds", last.Header.Get("Retry-After"))
	}
	return e.Call(t, http.MethodGet, "/v1/me", quiet, nil)
}

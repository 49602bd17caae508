package apitest

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/localstack/server"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/authz"
	"github.com/stewardhq/steward/pkg/throttle"
)

// Review of issue 14's refactor (one shape for every capability) and the
// first scale fixes, replayed over HTTP. A test that shows a bug asserts
// the correct behaviour.

// Before the refactor the role writes refused a caller without the right
// to manage roles (403) before reading the request; the handlers now
// decode the body, the If-Match header and the query first, so a member
// without the right learns the routes' validation (400, 428) instead of
// being refused. The refusal must come first, whatever the request holds.
func TestReview14RoleWritesRefuseNonManagerBeforeReadingTheRequest(t *testing.T) {
	e := New(t)
	owner, _ := e.acctOwner(t, "r14-roles")
	_, staff := e.acctMember(t, owner, []authz.Assignment{{Role: authz.RoleTeamMember, Scope: authz.StoreScope("s1")}})
	for _, c := range []struct {
		name, method, path string
		body               any
		headers            []string
	}{
		{"create with a malformed body", "POST", "/v1/roles", map[string]any{"id": 7, "bogus": true}, nil},
		{"create with an unknown field", "POST", "/v1/roles", map[string]any{"unknownField": "x"}, nil},
		{"update with a malformed body", "PATCH", "/v1/roles/buyer", map[string]any{"permissions": "not-a-list"}, []string{"If-Match", `"1"`}},
		{"update with a malformed If-Match", "PATCH", "/v1/roles/buyer", map[string]any{"name": "x"}, []string{"If-Match", "garbage"}},
		{"delete with an unknown parameter", "DELETE", "/v1/roles/buyer?nope=1", nil, nil},
		{"delete with a malformed If-Match", "DELETE", "/v1/roles/buyer", nil, []string{"If-Match", "garbage"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.Call(t, c.method, c.path, staff, c.body, c.headers...)
			if r.Status != http.StatusForbidden {
				t.Errorf("%s %s by a member who may not manage roles: %d %s, want 403 (as before the refactor)", c.method, c.path, r.Status, r.Code())
			}
		})
	}
}

// The known-pair exemption (pkg/auth/throttle.go) lets an (email,
// address) pair that signed in before bypass the per-address limit. The
// per-address limit is what stops one address spraying guesses over many
// emails; with the exemption, somebody at a shared address (an office NAT,
// a carrier-grade NAT, a host app's backend that relays its users'
// sign-ins) sprays every email known there at the per-pair allowance
// each (10 a window), however spent the address is. Correct: failures of
// known pairs from one address stay bounded per window (e.g. their own
// per-address counter), so a spray over known emails is refused too.
func TestReview14KnownPairsDoNotReopenASprayFromTheirAddress(t *testing.T) {
	const perAddress = 5
	e := New(t, func(d *server.Deps) { d.Auth.Limits = auth.Limits{PerAddress: perAddress} })
	office := NewTestAddress()
	var known []string
	for range 6 {
		u := e.signupBare(t, newEmail("r14-known"))
		e.loginFrom(t, office, u.Email, goodPassword).Want(t, http.StatusOK, "")
		known = append(known, u.Email)
	}
	// Spend the address on unknown emails.
	for i := range perAddress {
		e.loginFrom(t, office, newEmail("r14-sprayed"), "guess-"+strconv.Itoa(i)).Want(t, http.StatusUnauthorized, "invalid_credentials")
	}
	wantRetryAfter(t, e.loginFrom(t, office, newEmail("r14-sprayed"), "guess"))
	// Now spray the known emails from the same spent address.
	compared := 0
	for round := range 3 {
		for _, email := range known {
			r := e.loginFrom(t, office, email, "wrong-"+strconv.Itoa(round))
			switch r.Status {
			case http.StatusUnauthorized:
				compared++
			case http.StatusTooManyRequests:
			default:
				t.Fatalf("guess at a known email: %d %s", r.Status, r.Body)
			}
		}
	}
	if compared > perAddress {
		t.Fatalf("after the address was spent, %d wrong passwords over %d known emails were still compared from it (per-address limit %d): the known-pair exemption reopens the spray", compared, len(known), perAddress)
	}
}

// What the exemption must keep: a stranger who makes their own pair known
// (signing in to their own account from the address) gains nothing on
// other emails, and a known pair still has its per-pair limit.
func TestReview14KnownPairExemptsOnlyItsOwnEmail(t *testing.T) {
	const perAddress = 3
	e := New(t, func(d *server.Deps) { d.Auth.Limits = auth.Limits{PerAddress: perAddress} })
	addr := NewTestAddress()
	stranger := e.signupBare(t, newEmail("r14-stranger"))
	victim := e.signupBare(t, newEmail("r14-victim"))
	e.loginFrom(t, addr, stranger.Email, goodPassword).Want(t, http.StatusOK, "")
	for i := range perAddress {
		e.loginFrom(t, addr, newEmail("r14-other"), "guess-"+strconv.Itoa(i)).Want(t, http.StatusUnauthorized, "invalid_credentials")
	}
	// The stranger's own pair is known: it still signs in...
	e.loginFrom(t, addr, stranger.Email, goodPassword).Want(t, http.StatusOK, "")
	// ...but the victim's pair is not, and is refused without comparing.
	wantRetryAfter(t, e.loginFrom(t, addr, victim.Email, "guess"))
	wantRetryAfter(t, e.loginFrom(t, addr, victim.Email, goodPassword))
	// A known pair keeps its per-pair limit (10) while the address is
	// spent.
	for i := range auth.DefaultLimits.PerPair {
		e.loginFrom(t, addr, stranger.Email, "wrong-"+strconv.Itoa(i)).Want(t, http.StatusUnauthorized, "invalid_credentials")
	}
	wantRetryAfter(t, e.loginFrom(t, addr, stranger.Email, goodPassword))
}

// The per-account throttle: an API key's requests are its own account's,
// a flooding key never spends another tenant's share, and the public
// routes (sign-in) are not counted against any account.
func TestReview14ThrottleAPIKeysAndPublicRoutes(t *testing.T) {
	now := time.Now()
	e := New(t, func(d *server.Deps) {
		d.Throttle = &throttle.Accounts{Counter: d.Store, Rate: 1, Now: func() time.Time { return now }} // 10 per window
	})
	busy, busyTk := e.acctOwner(t, "r14-th-busy")
	_, quietTk := e.acctOwner(t, "r14-th-quiet")
	key := e.createKey(t, busyTk, map[string]any{"name": "Flood", "permissions": []string{"users.view"}})
	var last *Response
	for range 15 {
		last = e.Call(t, http.MethodGet, "/v1/users", key.Secret, nil)
		if last.Status != http.StatusOK {
			break
		}
	}
	last.Want(t, http.StatusTooManyRequests, "account_rate_limited")
	// The key's account is spent for its people too; the other tenant is
	// not.
	e.Call(t, http.MethodGet, "/v1/me", busyTk, nil).Want(t, http.StatusTooManyRequests, "account_rate_limited")
	e.Call(t, http.MethodGet, "/v1/me", quietTk, nil).Want(t, http.StatusOK, "")
	// Public routes are not throttled per account: the owner of the spent
	// account still signs in.
	e.loginFrom(t, NewTestAddress(), busy.Email, goodPassword).Want(t, http.StatusOK, "")
}

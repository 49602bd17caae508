package apitest

import (
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/stewardhq/steward/pkg/auth"
)

// Abuse cases of sign-in throttling and sessions (issue 13, items 8
// and 9).

const (
	ruleThrottle = "sign-in throttling cannot lock people out"
	ruleSessions = "sessions last their configured life"
)

// loginFrom signs in (or tries to) from a named source address.
func (e *Env) loginFrom(t *testing.T, addr, email, password string) *Response {
	t.Helper()
	return e.Call(t, "POST", "/v1/auth/login", "", map[string]string{"email": email, "password": password}, "X-Test-Client-Address", addr)
}

// wantRetryAfter checks that a 429 says how long to wait: at most the
// window.
func wantRetryAfter(t *testing.T, r *Response) {
	t.Helper()
	n, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if r.Status != http.StatusTooManyRequests || err != nil || n < 1 || n > int(auth.LoginWindow.Seconds()) {
		t.Fatalf("%d with Retry-After %q: want 429 and 1..%d seconds", r.Status, r.Header.Get("Retry-After"), int(auth.LoginWindow.Seconds()))
	}
}

var _ = abuse(
	abuseCase{
		rule: ruleThrottle, who: "stranger", name: "twelve failures from one address do not refuse the owner at another",
		do: func(t *testing.T, e *Env) *Response {
			u := e.signup(t, newEmail("lockout"))
			stranger := NewTestAddress()
			for i := range 12 {
				r := e.loginFrom(t, stranger, u.Email, "wrong-password-"+strconv.Itoa(i))
				if i < auth.DefaultLimits.PerPair {
					r.Want(t, http.StatusUnauthorized, "invalid_credentials")
				} else {
					wantRetryAfter(t, r)
				}
			}
			// The stranger's own address stays refused, even with the right
			// password; the owner, elsewhere, signs in.
			wantRetryAfter(t, e.loginFrom(t, stranger, u.Email, goodPassword))
			return e.loginFrom(t, NewTestAddress(), u.Email, goodPassword)
		},
		status: http.StatusOK,
	},
	abuseCase{
		rule: ruleThrottle, who: "stranger", name: "concurrent guesses cannot pass the per-pair limit",
		do: func(t *testing.T, e *Env) *Response {
			u := e.signup(t, newEmail("concurrent"))
			addr := NewTestAddress()
			const n = 16
			statuses := make(chan int, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					statuses <- e.loginFrom(t, addr, u.Email, "wrong-password-"+strconv.Itoa(i)).Status
				}()
			}
			wg.Wait()
			close(statuses)
			compared, refused := 0, 0
			for s := range statuses {
				switch s {
				case http.StatusUnauthorized:
					compared++
				case http.StatusTooManyRequests:
					refused++
				default:
					t.Fatalf("a concurrent guess answered %d", s)
				}
			}
			if compared != auth.DefaultLimits.PerPair || refused != n-auth.DefaultLimits.PerPair {
				t.Fatalf("%d concurrent guesses: %d compared, %d refused; want %d compared", n, compared, refused, auth.DefaultLimits.PerPair)
			}
			r := e.loginFrom(t, addr, u.Email, goodPassword)
			wantRetryAfter(t, r)
			return r
		},
		status: http.StatusTooManyRequests, code: "too_many_attempts",
	},
	abuseCase{
		rule: ruleThrottle, who: "stranger", name: "a refused sign-in says when to retry",
		do: func(t *testing.T, e *Env) *Response {
			addr := NewTestAddress()
			email := newEmail("nobody")
			for range auth.DefaultLimits.PerPair {
				e.loginFrom(t, addr, email, "wrong-password-1").Want(t, http.StatusUnauthorized, "invalid_credentials")
			}
			r := e.loginFrom(t, addr, email, "wrong-password-1")
			wantRetryAfter(t, r)
			return r
		},
		status: http.StatusTooManyRequests, code: "too_many_attempts",
	},
	abuseCase{
		rule: ruleSessions, who: "member", name: "a session refreshed 60 times keeps working",
		do: func(t *testing.T, e *Env) *Response {
			u := e.signup(t, newEmail("longsession"))
			tk := e.login(t, u.Email, goodPassword, "")
			for range 60 {
				var next tokens
				e.refresh(t, tk.RefreshToken).Want(t, http.StatusOK, "").JSON(t, &next)
				tk = next
			}
			e.refresh(t, tk.RefreshToken).Want(t, http.StatusOK, "")
			return e.Call(t, "GET", "/v1/me", tk.AccessToken, nil)
		},
		status: http.StatusOK,
	},
	abuseCase{
		rule: ruleSessions, who: "stranger", name: "a replaced refresh token used again revokes the session",
		do: func(t *testing.T, e *Env) *Response {
			u := e.signup(t, newEmail("reuse"))
			tk := e.login(t, u.Email, goodPassword, "")
			stolen := tk.RefreshToken
			for range 3 {
				var next tokens
				e.refresh(t, tk.RefreshToken).Want(t, http.StatusOK, "").JSON(t, &next)
				tk = next
			}
			e.refresh(t, stolen).Want(t, http.StatusUnauthorized, "refresh_invalid")
			// The thief's replay ended the session for its holder too.
			e.Call(t, "GET", "/v1/me", tk.AccessToken, nil).Want(t, http.StatusUnauthorized, "session_ended")
			return e.refresh(t, tk.RefreshToken)
		},
		status: http.StatusUnauthorized, code: "refresh_invalid",
	},
)

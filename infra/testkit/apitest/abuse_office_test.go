package apitest

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stewardhq/steward/infra/localstack/server"
	"github.com/stewardhq/steward/pkg/auth"
)

// An office behind one NAT address: somebody spraying guesses from it
// uses up the address's failures, and a new face there is refused, but a
// colleague who signed in from that address before is not (issue 19,
// item 8). The address limit is lowered to 5 so that the case runs in
// seconds; production's is auth.DefaultLimits.PerAddress.
var _ = abuse(abuseCase{
	rule: ruleThrottle, who: "stranger", name: "failures sprayed from an office's address do not refuse a colleague known there",
	do: func(t *testing.T, _ *Env) *Response {
		e := New(t, func(d *server.Deps) { d.Auth.Limits = auth.Limits{PerAddress: 5} })
		office := NewTestAddress()
		colleague := e.signup(t, newEmail("office-known"))
		newcomer := e.signup(t, newEmail("office-new"))
		e.loginFrom(t, office, colleague.Email, goodPassword).Want(t, http.StatusOK, "")
		for i := range 5 {
			e.loginFrom(t, office, newEmail("sprayed"), "guess-"+strconv.Itoa(i)).Want(t, http.StatusUnauthorized, "invalid_credentials")
		}
		// The address is spent: a stranger's next guess and a newcomer's
		// first sign-in from it wait.
		wantRetryAfter(t, e.loginFrom(t, office, newEmail("sprayed"), "guess"))
		wantRetryAfter(t, e.loginFrom(t, office, newcomer.Email, goodPassword))
		// The newcomer signs in from anywhere else.
		e.loginFrom(t, NewTestAddress(), newcomer.Email, goodPassword).Want(t, http.StatusOK, "")
		return e.loginFrom(t, office, colleague.Email, goodPassword)
	},
	status: http.StatusOK,
})

package apitest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The access requests' abuse cases: nobody decides their own request, the
// grant ceiling (at the decision) decides who may, an impersonated session
// grants nothing, a request is what it says (no longer grant, no second
// request, none for what is held), and requests are the account's and
// their requester's.

var _ = abuse(
	abuseCase{
		rule: "access: nobody decides their own request", name: "in the app", who: "requester",
		do: func(t *testing.T, e *Env) *Response {
			tm := e.accessSetup(t)
			r := e.askAccess(t, tm.requester.Token, teamMemberS1("Let me in."))
			return e.Call(t, "POST", "/v1/access-requests/"+r.ID+"/decision", tm.requester.Token, map[string]any{"decision": "approve"})
		},
		status: http.StatusForbidden, code: "self_decision",
	},
	abuseCase{
		rule: "access: the grant ceiling decides", name: "another store's manager", who: "member",
		do: func(t *testing.T, e *Env) *Response {
			tm := e.accessSetup(t)
			r := e.askAccess(t, tm.requester.Token, teamMemberS1("Please."))
			return e.Call(t, "POST", "/v1/access-requests/"+r.ID+"/decision", tm.mgS2.Token, map[string]any{"decision": "approve"})
		},
		status: http.StatusNotFound,
	},
	abuseCase{
		rule: "access: the grant ceiling decides", name: "a manager asked for more than a manager may grant", who: "member",
		do: func(t *testing.T, e *Env) *Response {
			tm := e.accessSetup(t)
			r := e.askAccess(t, tm.mgr2.Token, map[string]any{"role": "administrator", "scope": "account", "reason": "Promote me."})
			res := e.Call(t, "POST", "/v1/access-requests/"+r.ID+"/decision", tm.mgr.Token, map[string]any{"decision": "approve"})
			if e.Call(t, "GET", "/v1/users/"+tm.mgr2.ID, tm.ownerTk, nil).Want(t, http.StatusOK, "").Map(t)["admin"] == true {
				t.Error("the manager was made an administrator")
			}
			return res
		},
		status: http.StatusNotFound,
	},
	abuseCase{
		rule: "access: the grant ceiling decides", name: "an approver demoted after the request", who: "demoted actor",
		do: func(t *testing.T, e *Env) *Response {
			tm := e.accessSetup(t)
			r := e.askAccess(t, tm.requester.Token, teamMemberS1("Please."))
			e.waitAsked(t, tm.requester.Token, r.ID)
			e.patchGrants(t, tm.ownerTk, tm.mgr.ID, grantAt("team_member", "store:s1", time.Time{}, time.Time{})).Want(t, http.StatusOK, "")
			return e.Call(t, "POST", "/v1/access-requests/"+r.ID+"/decision", tm.mgr.Token, map[string]any{"decision": "approve"})
		},
		status: http.StatusForbidden, code: "not_an_approver",
	},
	abuseCase{
		rule: "access: an impersonated session grants nothing", name: "deciding as a manager", who: "impersonator",
		do: func(t *testing.T, e *Env) *Response {
			tm := e.accessSetup(t)
			r := e.askAccess(t, tm.requester.Token, teamMemberS1("Please."))
			var imp tokens
			e.Call(t, "POST", "/v1/users/"+tm.mgr.ID+"/impersonate", tm.ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &imp)
			return e.Call(t, "POST", "/v1/access-requests/"+r.ID+"/decision", imp.AccessToken, map[string]any{"decision": "approve"})
		},
		status: http.StatusForbidden, code: "impersonation_forbidden",
	},
	abuseCase{
		rule: "access: an impersonated session grants nothing", name: "asking as the member", who: "impersonator",
		do: func(t *testing.T, e *Env) *Response {
			tm := e.accessSetup(t)
			var imp tokens
			e.Call(t, "POST", "/v1/users/"+tm.requester.ID+"/impersonate", tm.ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &imp)
			return e.Call(t, "POST", "/v1/access-requests", imp.AccessToken, teamMemberS1("As Rita."))
		},
		status: http.StatusForbidden, code: "impersonation_forbidden",
	},
	abuseCase{
		rule: "access: a request is what it says", name: "approving for longer than asked", who: "admin",
		do: func(t *testing.T, e *Env) *Response {
			tm := e.accessSetup(t)
			body := teamMemberS1("A week.")
			end := time.Now().Add(7 * 24 * time.Hour)
			body["expiresAt"] = end.UTC().Format(time.RFC3339)
			r := e.askAccess(t, tm.requester.Token, body)
			return e.Call(t, "POST", "/v1/access-requests/"+r.ID+"/decision", tm.ownerTk,
				map[string]any{"decision": "approve", "expiresAt": end.Add(365 * 24 * time.Hour).UTC().Format(time.RFC3339)})
		},
		status: http.StatusBadRequest,
	},
	abuseCase{
		rule: "access: a request is what it says", name: "a grant that ended before it started", who: "requester",
		do: func(t *testing.T, e *Env) *Response {
			tm := e.accessSetup(t)
			body := teamMemberS1("Yesterday.")
			body["expiresAt"] = time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
			return e.Call(t, "POST", "/v1/access-requests", tm.requester.Token, body)
		},
		status: http.StatusBadRequest,
	},
	abuseCase{
		rule: "access: a request is what it says", name: "a role the account does not have", who: "requester",
		do: func(t *testing.T, e *Env) *Response {
			tm := e.accessSetup(t)
			return e.Call(t, "POST", "/v1/access-requests", tm.requester.Token, map[string]any{"role": "root", "scope": "account", "reason": "x"})
		},
		status: http.StatusBadRequest,
	},
	abuseCase{
		rule: "access: a request is what it says", name: "a store that does not exist", who: "requester",
		do: func(t *testing.T, e *Env) *Response {
			tm := e.accessSetup(t)
			return e.Call(t, "POST", "/v1/access-requests", tm.requester.Token, map[string]any{"role": "team_member", "scope": "store:nowhere", "reason": "x"})
		},
		status: http.StatusBadRequest,
	},
	abuseCase{
		rule: "access: a request is what it says", name: "a second pending request", who: "requester",
		do: func(t *testing.T, e *Env) *Response {
			tm := e.accessSetup(t)
			e.askAccess(t, tm.requester.Token, teamMemberS1("Once."))
			return e.Call(t, "POST", "/v1/access-requests", tm.requester.Token, teamMemberS1("Twice."))
		},
		status: http.StatusConflict, code: "access_request_pending",
	},
	abuseCase{
		rule: "access: a request is what it says", name: "a role held already", who: "member",
		do: func(t *testing.T, e *Env) *Response {
			tm := e.accessSetup(t)
			return e.Call(t, "POST", "/v1/access-requests", tm.mgr.Token, map[string]any{"role": "manager", "scope": "store:s1", "reason": "x"})
		},
		status: http.StatusConflict, code: "access_already_granted",
	},
	abuseCase{
		rule: "access: requests are rate-limited", name: "the eleventh request in an hour", who: "requester",
		do: func(t *testing.T, e *Env) *Response {
			tm := e.accessSetup(t)
			for i := range 10 {
				r := e.askAccess(t, tm.requester.Token, teamMemberS1("Try "+strings.Repeat("i", i+1)))
				e.Call(t, "POST", "/v1/access-requests/"+r.ID+"/cancel", tm.requester.Token, nil).Want(t, http.StatusOK, "")
			}
			return e.Call(t, "POST", "/v1/access-requests", tm.requester.Token, teamMemberS1("Once more."))
		},
		status: http.StatusTooManyRequests, code: "too_many_access_requests",
	},
	abuseCase{
		rule: "access: nobody decides their own request", name: "the owner, whose grants only the owner changes", who: "admin",
		do: func(t *testing.T, e *Env) *Response {
			tm := e.accessSetup(t)
			return e.Call(t, "POST", "/v1/access-requests", tm.ownerTk, teamMemberS1("Me too."))
		},
		status: http.StatusConflict, code: "access_request_by_owner",
	},
	abuseCase{
		rule: "access: only the requester cancels", name: "an administrator", who: "admin",
		do: func(t *testing.T, e *Env) *Response {
			tm := e.accessSetup(t)
			r := e.askAccess(t, tm.requester.Token, teamMemberS1("Mine."))
			return e.Call(t, "POST", "/v1/access-requests/"+r.ID+"/cancel", tm.ownerTk, nil)
		},
		status: http.StatusForbidden, code: "cannot_cancel",
	},
	abuseCase{
		rule: "access: requests are the account's", name: "reading another account's request", who: "other tenant",
		do: func(t *testing.T, e *Env) *Response {
			tm := e.accessSetup(t)
			r := e.askAccess(t, tm.requester.Token, teamMemberS1("Mine."))
			other := e.signup(t, newEmail("acr-abuse-other"))
			otherTk := e.login(t, other.Email, goodPassword, other.AccountID).AccessToken
			return e.Call(t, "POST", "/v1/access-requests/"+r.ID+"/decision", otherTk, map[string]any{"decision": "approve"})
		},
		status: http.StatusNotFound,
	},
	abuseCase{
		rule: "access: a link is its token", name: "a made-up token", who: "stranger",
		do: func(t *testing.T, e *Env) *Response {
			return e.accessPage(t, strings.Repeat("A", 43), url.Values{"decision": {"approve"}})
		},
		status: http.StatusGone,
	},
	abuseCase{
		rule: "access: a link is its token", name: "an approval link on the access page", who: "stranger",
		do: func(t *testing.T, e *Env) *Response {
			tm := e.apAbuseSetup(t, nil, "po-acr", 100)
			since := time.Now()
			e.requestApproval(t, tm.requester.Token, "po-acr", nil)
			tok := e.approvalToken(t, tm.mgr.Email, since)
			return e.accessPage(t, tok, url.Values{"decision": {"approve"}})
		},
		status: http.StatusGone,
	},
)

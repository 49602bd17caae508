package apitest

import (
	"net/http"
	"strings"
	"testing"
)

// The cold review's abuse cases: holes found replaying issue 13 over HTTP
// after the trust work was merged.

// subaddress returns email with "+tag" added to its local part: most mail
// providers deliver name+tag@domain to name@domain's inbox.
func subaddress(email, tag string) string {
	at := strings.LastIndexByte(email, '@')
	return email[:at] + "+" + tag + email[at:]
}

var _ = abuse(
	abuseCase{
		rule: "one person, one vote", who: "requester", name: "names their own subaddress (+tag) as the external approver",
		status: http.StatusUnprocessableEntity, code: "external_approver_is_requester",
		do: func(t *testing.T, e *Env) *Response {
			tm := e.apAbuseSetup(t, openExternalPolicy(), "po-rv1", 100)
			return e.askExternal(t, tm, "po-rv1", subaddress(tm.requester.Email, "approver"))
		},
	},
	abuseCase{
		rule: "one person, one vote", who: "requester", name: "names a member's subaddress (+tag) as the external approver",
		status: http.StatusUnprocessableEntity, code: "external_approver_is_member",
		do: func(t *testing.T, e *Env) *Response {
			tm := e.apAbuseSetup(t, openExternalPolicy(), "po-rv2", 100)
			return e.askExternal(t, tm, "po-rv2", strings.ToUpper(subaddress(tm.mgr.Email, "second-vote")))
		},
	},
)

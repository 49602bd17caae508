package apitest

import (
	"net/http"
	"testing"
	"time"
)

// Token kinds stay apart: unsubscribe tokens are written by the alert job,
// whose IAM policy lets it write only that kind (store.AlertsJobLeadingKeys,
// infra/cdk/stack TestIAMPolicies); the other side of the rule is that no
// other kind of one-time token works as an unsubscribe link. A person
// holding a password-reset link of their own presents it to the
// unsubscribe route: refused as a dead link (410), their alerts stay on,
// and the reset link still works afterwards (nothing was consumed).
var _ = abuse(abuseCase{
	rule: "token kinds stay apart", name: "password reset token as an unsubscribe link", who: "member",
	status: http.StatusGone,
	do: func(t *testing.T, e *Env) *Response {
		u := e.signupBare(t, newEmail("kinds"))
		since := time.Now()
		e.Call(t, "POST", "/v1/auth/password-reset", "", map[string]string{"email": u.Email}).Want(t, http.StatusAccepted, "")
		tok := e.TokenFromEmail(t, u.Email, "reset", since)
		path := "/v1/alerts/unsubscribe?token=" + tok
		e.Call(t, "GET", path, "", nil).Want(t, http.StatusGone, "")
		r := e.Call(t, "POST", path, "", "List-Unsubscribe=One-Click", "Content-Type", "application/x-www-form-urlencoded")
		m, err := e.Store.GetMember(t.Context(), u.AccountID, u.MemberID)
		if err != nil {
			t.Fatal(err)
		}
		if m.Notifications.LowStockOff {
			t.Fatal("a password-reset token unsubscribed the member")
		}
		e.Call(t, "POST", "/v1/auth/password-reset/confirm", "", map[string]string{"token": tok, "password": "another long passphrase"}).Want(t, http.StatusNoContent, "")
		return r
	},
})

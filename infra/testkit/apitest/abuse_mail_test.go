package apitest

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/localstack/server"
	"github.com/stewardhq/steward/pkg/auth"
)

// The trust rules of the mail-sending routes (issue 13): mail-sending
// public routes are capped, no enumeration, and self-registration is
// confirmed by the email's owner.

// floodTimes is how often a flood repeats a request (issue 13 saw twelve
// password resets send twelve emails).
const floodTimes = 12

// mailCap is the default per-recipient cap of each kind.
var mailCap = auth.DefaultMailCaps.PerRecipient

// mailsTo counts every email sent to addr (a test's own address) whose
// subject contains part. Emails are sent before the request that causes
// them answers, so no wait is needed.
func (e *Env) mailsTo(t testing.TB, addr, part string) int {
	t.Helper()
	n := 0
	for _, m := range e.SES.Emails(t, time.Now().Add(-time.Hour)) {
		if m.SentTo(addr) && strings.Contains(strings.ToLower(m.Subject), strings.ToLower(part)) {
			n++
		}
	}
	return n
}

// flood posts body to path n times and checks that every answer has the
// same status and body; it returns the last answer.
func (e *Env) flood(t *testing.T, n int, path, token string, body any) *Response {
	t.Helper()
	var first, last *Response
	for i := range n {
		last = e.Call(t, "POST", path, token, body)
		if i == 0 {
			first = last
			continue
		}
		if last.Status != first.Status || !bytes.Equal(last.Body, first.Body) {
			t.Fatalf("answer %d of %d differs from the first: %d %s, then %d %s", i+1, n, first.Status, first.Body, last.Status, last.Body)
		}
	}
	return last
}

// wantMails fails unless exactly want emails to addr have part in their
// subject.
func (e *Env) wantMails(t *testing.T, addr, part string, want int) {
	t.Helper()
	if got := e.mailsTo(t, addr, part); got != want {
		t.Fatalf("%d %q emails reached %s, want %d", got, part, addr, want)
	}
}

// openSelfRegistration opens owner's account to self-registration for
// example.com with the team_member role.
func (e *Env) openSelfRegistration(t *testing.T, owner signedUp) {
	t.Helper()
	tk := e.login(t, owner.Email, goodPassword, "").AccessToken
	etag := e.Call(t, "GET", "/v1/account", tk, nil).Want(t, http.StatusOK, "").Header.Get("ETag")
	e.Call(t, "PATCH", "/v1/account", tk, map[string]any{"settings": map[string]any{
		"selfRegistration": map[string]any{"enabled": true, "domains": []string{"example.com"}, "defaultRole": "team_member"},
	}}, "If-Match", etag).Want(t, http.StatusOK, "")
}

func signupBody(email, password string) map[string]string {
	return map[string]string{"accountName": "Acme " + email, "email": email, "name": "Olive Owner", "password": password}
}

const capRule = "mail-sending public routes are capped"

var _ = abuse(
	abuseCase{rule: capRule, name: "password reset flood", who: "stranger", status: http.StatusAccepted,
		do: func(t *testing.T, e *Env) *Response {
			u := e.signupBare(t, newEmail("reset-flood"))
			r := e.flood(t, floodTimes, "/v1/auth/password-reset", "", map[string]string{"email": u.Email})
			e.wantMails(t, u.Email, "reset", mailCap)
			return r
		}},
	abuseCase{rule: capRule, name: "verification resend flood", who: "stranger", status: http.StatusAccepted,
		do: func(t *testing.T, e *Env) *Response {
			email := newEmail("verify-flood")
			e.Call(t, "POST", "/v1/signup", "", signupBody(email, goodPassword)).Want(t, http.StatusAccepted, "")
			r := e.flood(t, floodTimes, "/v1/auth/verify-email", "", map[string]string{"email": email})
			// The sign-up's own email, and the capped re-sends.
			e.wantMails(t, email, "verify", 1+mailCap)
			return r
		}},
	abuseCase{rule: capRule, name: "sign-up flood on one recipient", who: "stranger", status: http.StatusAccepted,
		do: func(t *testing.T, e *Env) *Response {
			email := newEmail("signup-flood")
			r := e.flood(t, floodTimes, "/v1/signup", "", signupBody(email, goodPassword))
			e.wantMails(t, email, "verify", mailCap)
			return r
		}},
	abuseCase{rule: capRule, name: "sign-up flood on a taken email", who: "stranger", status: http.StatusAccepted,
		do: func(t *testing.T, e *Env) *Response {
			u := e.signupBare(t, newEmail("signup-taken-flood"))
			r := e.flood(t, floodTimes, "/v1/signup", "", signupBody(u.Email, "a wrong long passphrase"))
			// The account's own sign-up counted against the same cap.
			e.wantMails(t, u.Email, "already have a Steward sign-in", mailCap-1)
			return r
		}},
	abuseCase{rule: capRule, name: "join flood", who: "stranger", status: http.StatusAccepted,
		do: func(t *testing.T, e *Env) *Response {
			owner := e.signupBare(t, newEmail("join-flood-owner"))
			e.openSelfRegistration(t, owner)
			email := newEmail("join-flood")
			r := e.flood(t, floodTimes, "/v1/join", "", map[string]string{"accountId": owner.AccountID, "email": email, "name": "Joiner", "password": goodPassword})
			e.wantMails(t, email, "verify", mailCap)
			return r
		}},
	abuseCase{rule: capRule, name: "invitation resend flood", who: "admin", status: http.StatusTooManyRequests, code: "too_many_emails",
		do: func(t *testing.T, e *Env) *Response {
			owner := e.signupBare(t, newEmail("resend-flood-owner"))
			tk := e.login(t, owner.Email, goodPassword, "").AccessToken
			email := newEmail("resend-flood")
			inv := e.invite(t, tk, map[string]any{"email": email})
			var r *Response
			for i := range floodTimes {
				r = e.Call(t, "POST", "/v1/invitations/"+inv.ID+"/resend", tk, nil)
				if i < mailCap {
					r.Want(t, http.StatusOK, "")
				} else {
					r.Want(t, http.StatusTooManyRequests, "too_many_emails")
					if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
						t.Fatalf("Retry-After = %q", ra)
					}
				}
			}
			// The invitation itself, and the capped re-sends.
			e.wantMails(t, email, "invit", 1+mailCap)
			return r
		}},
)

const enumRule = "no enumeration"

var _ = abuse(
	abuseCase{rule: enumRule, name: "sign-up with a taken email and a bad password", who: "stranger", status: http.StatusBadRequest, code: "invalid_field",
		do: func(t *testing.T, e *Env) *Response {
			u := e.signupBare(t, newEmail("enum-taken"))
			fresh := e.Call(t, "POST", "/v1/signup", "", signupBody(newEmail("enum-fresh"), "password123")).Want(t, http.StatusBadRequest, "invalid_field")
			taken := e.Call(t, "POST", "/v1/signup", "", signupBody(u.Email, "password123"))
			if a, b := problemShape(t, fresh), problemShape(t, taken); a != b {
				t.Fatalf("taken %s and fresh %s answer differently", b, a)
			}
			return taken
		}},
	abuseCase{rule: enumRule, name: "sign-up with a taken email and a good body", who: "stranger", status: http.StatusAccepted,
		do: func(t *testing.T, e *Env) *Response {
			u := e.signupBare(t, newEmail("enum-taken2"))
			fresh := e.Call(t, "POST", "/v1/signup", "", signupBody(newEmail("enum-fresh2"), goodPassword)).Want(t, http.StatusAccepted, "")
			taken := e.Call(t, "POST", "/v1/signup", "", signupBody(u.Email, "any other long passphrase"))
			if taken.Status != fresh.Status || !bytes.Equal(taken.Body, fresh.Body) {
				t.Fatalf("taken %d %s and fresh %d %s answer differently", taken.Status, taken.Body, fresh.Status, fresh.Body)
			}
			// The existing person is told how to sign in instead.
			e.wantMails(t, u.Email, "already have a Steward sign-in", 1)
			return taken
		}},
	abuseCase{rule: enumRule, name: "join with a taken email", who: "stranger", status: http.StatusAccepted,
		do: func(t *testing.T, e *Env) *Response {
			owner := e.signupBare(t, newEmail("enum-join-owner"))
			e.openSelfRegistration(t, owner)
			other := e.signupBare(t, newEmail("enum-join-taken"))
			join := func(email, password string) *Response {
				return e.Call(t, "POST", "/v1/join", "", map[string]string{"accountId": owner.AccountID, "email": email, "name": "J", "password": password})
			}
			fresh := join(newEmail("enum-join-fresh"), goodPassword).Want(t, http.StatusAccepted, "")
			for _, r := range []*Response{join(other.Email, "a wrong long passphrase"), join(owner.Email, goodPassword)} {
				if r.Status != fresh.Status || !bytes.Equal(r.Body, fresh.Body) {
					t.Fatalf("taken %d %s and fresh %d %s answer differently", r.Status, r.Body, fresh.Status, fresh.Body)
				}
			}
			return join(other.Email, goodPassword)
		}},
)

// problemShape is a problem's status, type, code and detail (without its
// request id).
func problemShape(t *testing.T, r *Response) string {
	t.Helper()
	m := r.Map(t)
	return fmt.Sprint(r.Status, m["type"], m["code"], m["detail"], m["title"])
}

const ownerRule = "self-registration is confirmed by the email's owner"

var _ = abuse(
	abuseCase{rule: ownerRule, name: "sign-up with someone else's email", who: "stranger", status: http.StatusUnauthorized, code: "invalid_credentials",
		do: func(t *testing.T, e *Env) *Response {
			victim := newEmail("victim")
			since := time.Now()
			e.Call(t, "POST", "/v1/signup", "", signupBody(victim, "the registrant's passphrase")).Want(t, http.StatusAccepted, "")
			// The email's owner clicks the link: it goes nowhere without
			// the registrant's password.
			tok := e.TokenFromEmail(t, victim, "verify", since)
			e.Call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": tok}).Want(t, http.StatusBadRequest, "invalid_field")
			e.Call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": tok, "password": goodPassword}).Want(t, http.StatusUnauthorized, "invalid_credentials")
			return e.Call(t, "POST", "/v1/auth/login", "", map[string]string{"email": victim, "password": "the registrant's passphrase"})
		}},
	abuseCase{rule: ownerRule, name: "join with someone else's email", who: "stranger", status: http.StatusUnauthorized, code: "invalid_credentials",
		do: func(t *testing.T, e *Env) *Response {
			owner := e.signupBare(t, newEmail("own-join-owner"))
			e.openSelfRegistration(t, owner)
			victim := newEmail("join-victim")
			since := time.Now()
			e.Call(t, "POST", "/v1/join", "", map[string]string{"accountId": owner.AccountID, "email": victim, "name": "Mallory", "password": "the registrant's passphrase"}).Want(t, http.StatusAccepted, "")
			tok := e.TokenFromEmail(t, victim, "verify", since)
			e.Call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": tok, "password": goodPassword}).Want(t, http.StatusUnauthorized, "invalid_credentials")
			return e.Call(t, "POST", "/v1/auth/login", "", map[string]string{"email": victim, "password": "the registrant's passphrase"})
		}},
	abuseCase{rule: ownerRule, name: "join with an existing person's email, confirmed by its owner", who: "stranger", status: http.StatusUnauthorized, code: "invalid_credentials",
		do: func(t *testing.T, e *Env) *Response {
			owner := e.signupBare(t, newEmail("own-join2-owner"))
			e.openSelfRegistration(t, owner)
			victim := e.signupBare(t, newEmail("join-victim2"))
			since := time.Now()
			e.Call(t, "POST", "/v1/join", "", map[string]string{"accountId": owner.AccountID, "email": victim.Email, "name": "Mallory", "password": "the registrant's passphrase"}).Want(t, http.StatusAccepted, "")
			// The owner of the email goes ahead with their own password;
			// the registrant's never becomes theirs.
			tok := e.TokenFromEmail(t, victim.Email, "already have a Steward sign-in", since)
			e.Call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": tok, "password": "the registrant's passphrase"}).Want(t, http.StatusUnauthorized, "invalid_credentials")
			e.Call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": tok, "password": goodPassword}).Want(t, http.StatusOK, "")
			e.login(t, victim.Email, goodPassword, owner.AccountID)
			return e.Call(t, "POST", "/v1/auth/login", "", map[string]string{"email": victim.Email, "password": "the registrant's passphrase", "accountId": owner.AccountID})
		}},
)

// TestMailCapPerAddress: one source address causes at most PerAddress
// emails an hour, whatever their recipients and kinds; the answers stay
// the same, and another address is not held back.
func TestMailCapPerAddress(t *testing.T) {
	const perAddress = 5
	e := New(t, func(d *server.Deps) { d.Auth.MailCaps.PerAddress = perAddress })
	addr := fmt.Sprintf("198.51.100.%d", time.Now().UnixNano()%250)
	var emails []string
	var first *Response
	for i := range perAddress + 3 {
		email := newEmail(fmt.Sprint("addr-cap", i))
		emails = append(emails, email)
		r := e.Call(t, "POST", "/v1/signup", "", signupBody(email, goodPassword), "X-Test-Client-Address", addr).Want(t, http.StatusAccepted, "")
		if first != nil && !bytes.Equal(r.Body, first.Body) {
			t.Fatalf("answer %d %s differs from %s", i, r.Body, first.Body)
		}
		first = r
	}
	sent := 0
	for _, email := range emails {
		sent += e.mailsTo(t, email, "verify")
	}
	if sent != perAddress {
		t.Fatalf("%d emails from one address, want %d", sent, perAddress)
	}
	other := emails[len(emails)-1]
	e.Call(t, "POST", "/v1/signup", "", signupBody(other, goodPassword), "X-Test-Client-Address", addr+"1").Want(t, http.StatusAccepted, "")
	e.wantMails(t, other, "verify", 1)
}

package apitest

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/localstack/server"
	"github.com/stewardhq/steward/pkg/rbac"
)

type invitation struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Status    string    `json:"status"`
	MemberID  string    `json:"memberId"`
	ExpiresAt time.Time `json:"expiresAt"`
}

func (e *Env) invite(t *testing.T, token string, body map[string]any) invitation {
	t.Helper()
	var inv invitation
	e.Call(t, "POST", "/v1/invitations", token, body).Want(t, http.StatusCreated, "").JSON(t, &inv)
	if inv.Status != "pending" || inv.ID == "" || inv.MemberID == "" {
		t.Fatalf("invitation %+v", inv)
	}
	return inv
}

type accepted struct {
	Member struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Name   string `json:"name"`
	} `json:"member"`
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
}

func TestInviteLookupAcceptAndCeiling(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("inv-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "")

	managerEmail := newEmail("manager")
	since := time.Now()
	inv := e.invite(t, ownerTk.AccessToken, map[string]any{"email": managerEmail, "name": "Mia Manager", "assignments": []map[string]string{{"role": "manager", "scope": "store:s1"}}})
	tok := e.TokenFromEmail(t, managerEmail, "invit", since)

	var look map[string]any
	e.Call(t, "GET", "/v1/invitations/lookup?token="+tok, "", nil).Want(t, http.StatusOK, "").JSON(t, &look)
	if look["email"] != managerEmail || look["inviterName"] != "Olive Owner" || look["hasAccount"] != false || look["accountName"] == "" {
		t.Fatalf("lookup %v", look)
	}
	// Inviting a member again is a conflict.
	e.Call(t, "POST", "/v1/invitations", ownerTk.AccessToken, map[string]any{"email": managerEmail}).Want(t, http.StatusConflict, "already_member")

	var acc accepted
	e.Call(t, "POST", "/v1/invitations/accept", "", map[string]string{"token": tok, "password": "a good long passphrase"}).Want(t, http.StatusOK, "").JSON(t, &acc)
	if acc.Member.ID != inv.MemberID || acc.Member.Status != "active" || acc.Member.Name != "Mia Manager" || acc.AccessToken == "" {
		t.Fatalf("accept %+v", acc)
	}
	e.Call(t, "POST", "/v1/invitations/accept", "", map[string]string{"token": tok, "password": "a good long passphrase"}).Want(t, http.StatusGone, "invitation_used")
	e.Call(t, "GET", "/v1/invitations/lookup?token="+tok, "", nil).Want(t, http.StatusGone, "invitation_used")

	// The manager signs in and invites within their store, not beyond.
	mgr := e.login(t, managerEmail, "a good long passphrase", "")
	e.invite(t, mgr.AccessToken, map[string]any{"email": newEmail("team"), "assignments": []map[string]string{{"role": "team_member", "scope": "store:s1"}}})
	e.Call(t, "POST", "/v1/invitations", mgr.AccessToken, map[string]any{"email": newEmail("boss"), "admin": true}).Want(t, http.StatusForbidden, "admin_only")
	e.Call(t, "POST", "/v1/invitations", mgr.AccessToken, map[string]any{"email": newEmail("other"), "assignments": []map[string]string{{"role": "team_member", "scope": "store:s2"}}}).Want(t, http.StatusForbidden, "")
	e.Call(t, "POST", "/v1/invitations", mgr.AccessToken, map[string]any{"email": newEmail("full")}).Want(t, http.StatusForbidden, "")
	e.Call(t, "POST", "/v1/invitations", mgr.AccessToken, map[string]any{"email": newEmail("adm"), "assignments": []map[string]string{{"role": "administrator", "scope": "account"}}}).Want(t, http.StatusForbidden, "")

	// A team member cannot invite at all.
	teamEmail := newEmail("tm")
	since = time.Now()
	e.invite(t, ownerTk.AccessToken, map[string]any{"email": teamEmail, "assignments": []map[string]string{{"role": "team_member", "scope": "store:s1"}}})
	ttok := e.TokenFromEmail(t, teamEmail, "invit", since)
	var tacc accepted
	e.Call(t, "POST", "/v1/invitations/accept", "", map[string]string{"token": ttok, "name": "Tim", "password": "a good long passphrase"}).Want(t, http.StatusOK, "").JSON(t, &tacc)
	e.Call(t, "POST", "/v1/invitations", tacc.AccessToken, map[string]any{"email": newEmail("x"), "assignments": []map[string]string{{"role": "team_member", "scope": "store:s1"}}}).Want(t, http.StatusForbidden, "")

	// The list shows them all.
	var list struct {
		Items []invitation `json:"items"`
	}
	e.Call(t, "GET", "/v1/invitations", ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &list)
	if len(list.Items) != 3 {
		t.Fatalf("list has %d invitations, want 3", len(list.Items))
	}
}

func TestExpiredInvitationWorksAfterResendAndRevoke(t *testing.T) {
	var shift atomic.Int64
	e := New(t, func(d *server.Deps) {
		d.Invites.Now = func() time.Time { return time.Now().Add(time.Duration(shift.Load())) }
	})
	owner := e.signup(t, newEmail("exp-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "")
	email := newEmail("late")
	since := time.Now()
	inv := e.invite(t, ownerTk.AccessToken, map[string]any{"email": email, "name": "Lee"})
	old := e.TokenFromEmail(t, email, "invit", since)

	shift.Store(int64(8 * 24 * time.Hour)) // past the 7-day lifetime
	e.Call(t, "POST", "/v1/invitations/accept", "", map[string]string{"token": old, "password": "a good long passphrase"}).Want(t, http.StatusGone, "invitation_expired")
	var list struct {
		Items []invitation `json:"items"`
	}
	e.Call(t, "GET", "/v1/invitations", ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].Status != "expired" {
		t.Fatalf("list %+v, want one expired", list.Items)
	}

	since = time.Now()
	e.Call(t, "POST", "/v1/invitations/"+inv.ID+"/resend", ownerTk.AccessToken, nil).Want(t, http.StatusOK, "")
	fresh := e.TokenFromEmail(t, email, "invit", since, old)
	// The old link stays dead; the new one works.
	e.Call(t, "POST", "/v1/invitations/accept", "", map[string]string{"token": old, "password": "a good long passphrase"}).Want(t, http.StatusGone, "")
	e.Call(t, "POST", "/v1/invitations/accept", "", map[string]string{"token": fresh, "password": "a good long passphrase"}).Want(t, http.StatusOK, "")
	e.Call(t, "POST", "/v1/invitations/"+inv.ID+"/resend", ownerTk.AccessToken, nil).Want(t, http.StatusConflict, "invitation_not_pending")

	// Revoking kills the link and frees the email.
	shift.Store(0)
	other := newEmail("revoked")
	since = time.Now()
	rinv := e.invite(t, ownerTk.AccessToken, map[string]any{"email": other})
	rtok := e.TokenFromEmail(t, other, "invit", since)
	e.Call(t, "DELETE", "/v1/invitations/"+rinv.ID, ownerTk.AccessToken, nil).Want(t, http.StatusNoContent, "")
	e.Call(t, "POST", "/v1/invitations/accept", "", map[string]string{"token": rtok, "name": "R", "password": "a good long passphrase"}).Want(t, http.StatusGone, "invitation_revoked")
	e.invite(t, ownerTk.AccessToken, map[string]any{"email": other})
}

func TestConcurrentAcceptsOneWins(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("cc-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "")
	email := newEmail("twice")
	since := time.Now()
	e.invite(t, ownerTk.AccessToken, map[string]any{"email": email, "name": "Two"})
	tok := e.TokenFromEmail(t, email, "invit", since)
	var wg sync.WaitGroup
	statuses := make(chan int, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses <- e.Call(t, "POST", "/v1/invitations/accept", "", map[string]string{"token": tok, "password": "a good long passphrase"}).Status
		}()
	}
	wg.Wait()
	close(statuses)
	ok := 0
	for s := range statuses {
		switch s {
		case http.StatusOK:
			ok++
		case http.StatusGone, http.StatusConflict, http.StatusUnauthorized:
		default:
			t.Errorf("unexpected status %d", s)
		}
	}
	if ok != 1 {
		t.Fatalf("%d accepts succeeded, want exactly 1", ok)
	}
}

func TestExistingIdentityJoinsAfterProof(t *testing.T) {
	e := New(t)
	a := e.signup(t, newEmail("acct-a"))
	b := e.signup(t, newEmail("acct-b"))
	aTk := e.login(t, a.Email, goodPassword, "")
	since := time.Now()
	e.invite(t, aTk.AccessToken, map[string]any{"email": b.Email, "assignments": []map[string]string{{"role": "accountant", "scope": "account"}}})
	tok := e.TokenFromEmail(t, b.Email, "invit", since)
	var look map[string]any
	e.Call(t, "GET", "/v1/invitations/lookup?token="+tok, "", nil).Want(t, http.StatusOK, "").JSON(t, &look)
	if look["hasAccount"] != true {
		t.Fatalf("lookup %v: want hasAccount", look)
	}
	e.Call(t, "POST", "/v1/invitations/accept", "", map[string]string{"token": tok}).Want(t, http.StatusUnauthorized, "identity_proof_required")
	e.Call(t, "POST", "/v1/invitations/accept", "", map[string]string{"token": tok, "password": "not the password"}).Want(t, http.StatusUnauthorized, "invalid_credentials")
	// Signed in as that identity (in account B), it joins account A.
	bTk := e.login(t, b.Email, goodPassword, "")
	e.Call(t, "POST", "/v1/invitations/accept", bTk.AccessToken, map[string]string{"token": tok}).Want(t, http.StatusOK, "")
	e.Call(t, "POST", "/v1/auth/login", "", map[string]string{"email": b.Email, "password": goodPassword}).Want(t, http.StatusConflict, "account_required")
	e.login(t, b.Email, goodPassword, a.AccountID)
}

func TestInvitationsAcrossTenants(t *testing.T) {
	e := New(t)
	a := e.signup(t, newEmail("ten-a"))
	b := e.signup(t, newEmail("ten-b"))
	aTk := e.login(t, a.Email, goodPassword, "")
	bTk := e.login(t, b.Email, goodPassword, "")
	inv := e.invite(t, aTk.AccessToken, map[string]any{"email": newEmail("target")})
	e.Call(t, "POST", "/v1/invitations/"+inv.ID+"/resend", bTk.AccessToken, nil).Want(t, http.StatusNotFound, "")
	e.Call(t, "DELETE", "/v1/invitations/"+inv.ID, bTk.AccessToken, nil).Want(t, http.StatusNotFound, "")
	var list struct {
		Items []invitation `json:"items"`
	}
	e.Call(t, "GET", "/v1/invitations", bTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("account B sees %d of A's invitations", len(list.Items))
	}
	// A's invitation is still pending and usable.
	e.Call(t, "POST", "/v1/invitations/"+inv.ID+"/resend", aTk.AccessToken, nil).Want(t, http.StatusOK, "")
}

func TestInvitationBadInput(t *testing.T) {
	e := New(t)
	a := e.signup(t, newEmail("bad"))
	tk := e.login(t, a.Email, goodPassword, "")
	for _, body := range []any{
		map[string]any{}, map[string]any{"email": "nope"}, map[string]any{"email": newEmail("x"), "assignments": []map[string]string{{"role": "manager", "scope": "galaxy:1"}}},
		map[string]any{"email": newEmail("x"), "assignments": []map[string]string{{"role": "no_such_role", "scope": "account"}}},
		map[string]any{"email": newEmail("x"), "assignments": []map[string]string{{"role": "supplier", "scope": "account"}}},
		map[string]any{"email": newEmail("x"), "name": "a\u0001b"}, map[string]any{"email": newEmail("x"), "color": "red"},
		`{"email": 5}`, `[`,
	} {
		r := e.Call(t, "POST", "/v1/invitations", tk.AccessToken, body)
		if r.Status != http.StatusBadRequest {
			t.Errorf("%v: %d %s", body, r.Status, r.Body)
		}
	}
	for _, q := range []string{"", "?token=", "?token=abc", "?token=" + strings.Repeat("%00", 43), "?token=" + strings.Repeat("A", 43)} {
		r := e.Call(t, "GET", "/v1/invitations/lookup"+q, "", nil)
		if r.Status < 400 || r.Status >= 500 {
			t.Errorf("lookup %q: %d", q, r.Status)
		}
	}
	e.Call(t, "GET", "/v1/invitations?limit=0", tk.AccessToken, nil).Want(t, http.StatusBadRequest, "invalid_field")
	e.Call(t, "GET", "/v1/invitations?cursor=forged", tk.AccessToken, nil).Want(t, http.StatusBadRequest, "bad_cursor")
}

func TestIdempotencyKeyReplaysCreate(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("idem"))
	tk := e.login(t, owner.Email, goodPassword, "")
	body := map[string]any{"email": newEmail("once"), "name": "Once"}
	first := e.Call(t, "POST", "/v1/invitations", tk.AccessToken, body, "Idempotency-Key", "k-123").Want(t, http.StatusCreated, "")
	again := e.Call(t, "POST", "/v1/invitations", tk.AccessToken, body, "Idempotency-Key", "k-123").Want(t, http.StatusCreated, "")
	if string(first.Body) != string(again.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay differs: %s vs %s", first.Body, again.Body)
	}
	var list struct {
		Items []invitation `json:"items"`
	}
	e.Call(t, "GET", "/v1/invitations", tk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &list)
	if len(list.Items) != 1 {
		t.Fatalf("%d invitations after a retried create, want 1", len(list.Items))
	}
	// The same key with another body is refused; a bad key too.
	e.Call(t, "POST", "/v1/invitations", tk.AccessToken, map[string]any{"email": newEmail("other")}, "Idempotency-Key", "k-123").Want(t, http.StatusUnprocessableEntity, "idempotency_key_reused")
	e.Call(t, "POST", "/v1/invitations", tk.AccessToken, body, "Idempotency-Key", "bad key!").Want(t, http.StatusBadRequest, "invalid_field")
	// A failed request forgets its key: the corrected retry runs.
	e.Call(t, "POST", "/v1/invitations", tk.AccessToken, map[string]any{"email": "broken"}, "Idempotency-Key", "k-456").Want(t, http.StatusBadRequest, "")
	e.Call(t, "POST", "/v1/invitations", tk.AccessToken, map[string]any{"email": newEmail("fixed")}, "Idempotency-Key", "k-456").Want(t, http.StatusCreated, "")
}

func TestAssignmentsMustNameExistingScopes(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("scopes"))
	tk := e.login(t, owner.Email, goodPassword, "")
	e.Call(t, "POST", "/v1/invitations", tk.AccessToken, map[string]any{"email": newEmail("x"), "assignments": []map[string]string{{"role": "manager", "scope": "store:nope"}}}).Want(t, http.StatusBadRequest, "unknown_scope")
	e.Call(t, "POST", "/v1/users", tk.AccessToken, map[string]any{"email": newEmail("y"), "name": "Y", "assignments": []map[string]string{{"role": "team_member", "scope": "store:nope"}}}).Want(t, http.StatusBadRequest, "unknown_scope")
	e.Call(t, "POST", "/v1/invitations", tk.AccessToken, map[string]any{"email": newEmail("z"), "assignments": []map[string]string{{"role": "manager", "scope": "store:s1"}}}).Want(t, http.StatusCreated, "")
}

func TestSelfRegistration(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("selfreg"))
	tk := e.login(t, owner.Email, goodPassword, "")
	join := func(email string) *Response {
		return e.Call(t, "POST", "/v1/join", "", map[string]string{"accountId": owner.AccountID, "email": email, "name": "Joiner", "password": goodPassword})
	}
	// Off by default.
	join(newEmail("early")).Want(t, http.StatusForbidden, "self_registration_closed")
	etag := e.Call(t, "GET", "/v1/account", tk.AccessToken, nil).Want(t, http.StatusOK, "").Header.Get("ETag")
	e.Call(t, "PATCH", "/v1/account", tk.AccessToken, map[string]any{"settings": map[string]any{
		"selfRegistration": map[string]any{"enabled": true, "domains": []string{"example.com"}, "defaultRole": "team_member"},
	}}, "If-Match", etag).Want(t, http.StatusOK, "")

	email := newEmail("joiner")
	since := time.Now()
	var res struct {
		Status string `json:"status"`
	}
	join(email).Want(t, http.StatusAccepted, "").JSON(t, &res)
	if res.Status != "verify_email" {
		t.Fatalf("join answered %+v", res)
	}
	// Nothing exists until the email's owner confirms the link.
	e.Call(t, "POST", "/v1/auth/login", "", map[string]string{"email": email, "password": goodPassword}).Want(t, http.StatusUnauthorized, "invalid_credentials")
	tok := e.TokenFromEmail(t, email, "verify", since)
	e.Call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": tok, "password": goodPassword}).Want(t, http.StatusOK, "")
	mtk := e.login(t, email, goodPassword, "")
	var me struct {
		Member memberView `json:"member"`
	}
	e.Call(t, "GET", "/v1/me", mtk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &me)
	if len(me.Member.Assignments) != 1 || me.Member.Assignments[0].Role != "team_member" || me.Member.Assignments[0].Scope != "account" || me.Member.Admin {
		t.Fatalf("joined member %+v", me.Member)
	}
	// A member's email answers like any other (it answered 409
	// already_member before issue 13); its link says so to its owner.
	since = time.Now()
	join(email).Want(t, http.StatusAccepted, "")
	tok = e.TokenFromEmail(t, email, "already have a Steward sign-in", since)
	e.Call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": tok, "password": goodPassword}).Want(t, http.StatusConflict, "already_member")
	e.Call(t, "POST", "/v1/join", "", map[string]string{"accountId": owner.AccountID, "email": "someone@elsewhere.org", "name": "X", "password": goodPassword}).Want(t, http.StatusForbidden, "domain_not_allowed")
	e.Call(t, "POST", "/v1/join", "", map[string]string{"accountId": "a_nope", "email": newEmail("x"), "name": "X", "password": goodPassword}).Want(t, http.StatusNotFound, "")
	// A person with a sign-in elsewhere gets the same answer whatever
	// the password (401 invalid_credentials for a wrong one and 201
	// "joined" for the right one before issue 13), and confirms the link
	// with their own password.
	other := e.signup(t, newEmail("other"))
	since = time.Now()
	e.Call(t, "POST", "/v1/join", "", map[string]string{"accountId": owner.AccountID, "email": other.Email, "name": "O", "password": "wrong password here"}).Want(t, http.StatusAccepted, "").JSON(t, &res)
	if res.Status != "verify_email" {
		t.Fatalf("existing identity join: %+v", res)
	}
	tok = e.TokenFromEmail(t, other.Email, "already have a Steward sign-in", since)
	e.Call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": tok, "password": "wrong password here"}).Want(t, http.StatusUnauthorized, "invalid_credentials")
	var v verified
	e.Call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": tok, "password": goodPassword}).Want(t, http.StatusOK, "").JSON(t, &v)
	if v.AccountID != owner.AccountID {
		t.Fatalf("joined %+v, want account %s", v, owner.AccountID)
	}
	e.login(t, other.Email, goodPassword, owner.AccountID)
}

// TestSelfRegistrationWithDeletedDefaultRole: a custom default role that
// is deleted closes self-registration (nobody joins with a role that no
// longer exists) until an admin picks another.
func TestSelfRegistrationWithDeletedDefaultRole(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("selfreg-del"))
	tk := e.login(t, owner.Email, goodPassword, "").AccessToken
	e.Call(t, "POST", "/v1/roles", tk, map[string]any{"id": "walk_in", "name": "Walk-in", "permissions": []string{"orders.view"}}).Want(t, http.StatusCreated, "")
	etag := e.Call(t, "GET", "/v1/account", tk, nil).Want(t, http.StatusOK, "").Header.Get("ETag")
	e.Call(t, "PATCH", "/v1/account", tk, map[string]any{"settings": map[string]any{
		"selfRegistration": map[string]any{"enabled": true, "domains": []string{"example.com"}, "defaultRole": "walk_in"},
	}}, "If-Match", etag).Want(t, http.StatusOK, "")
	join := func(email string) *Response {
		return e.Call(t, "POST", "/v1/join", "", map[string]string{"accountId": owner.AccountID, "email": email, "name": "Joiner", "password": goodPassword})
	}
	join(newEmail("first")).Want(t, http.StatusAccepted, "")
	e.Call(t, "DELETE", "/v1/roles/walk_in?members=remove", tk, nil).Want(t, http.StatusOK, "")
	late := newEmail("late")
	join(late).Want(t, http.StatusForbidden, "self_registration_closed")
	if member, _ := e.invitedState(t, owner.AccountID, late); member {
		t.Fatal("a member joined with a deleted default role")
	}
}

// TestInviteInactiveMember: an inactive member (created with POST
// /v1/users, no sign-in) is invited as itself: the invitation is for the
// same member id, a second one is 409 invitation_pending, revoking leaves
// the member inactive with its grants, and accepting makes that member
// active with its own grants (the invitation named none).
func TestInviteInactiveMember(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("inact-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	email := newEmail("inact")
	id := e.mbInactive(t, ownerTk, email, []map[string]string{{"role": "manager", "scope": "store:s1"}})

	first := e.invite(t, ownerTk, map[string]any{"email": email})
	if first.MemberID != id {
		t.Fatalf("invitation for %s, want %s", first.MemberID, id)
	}
	e.Call(t, "POST", "/v1/invitations", ownerTk, map[string]any{"email": email}).Want(t, http.StatusConflict, "invitation_pending")
	var m memberView
	e.Call(t, "GET", "/v1/users/"+id, ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &m)
	if m.Status != "inactive" {
		t.Fatalf("while invited the member is %q, want inactive", m.Status)
	}
	// Revoking leaves the member as it was.
	e.Call(t, "DELETE", "/v1/invitations/"+first.ID, ownerTk, nil).Want(t, http.StatusNoContent, "")
	e.Call(t, "GET", "/v1/users/"+id, ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &m)
	if m.Status != "inactive" || len(m.Assignments) != 1 || m.Assignments[0].Role != "manager" {
		t.Fatalf("after the revoke: %+v", m)
	}

	// A store manager cannot invite it with more than it holds itself.
	_, s2Tk := e.acctMember(t, owner, []rbac.Assignment{{Role: rbac.RoleManager, Scope: rbac.StoreScope("s2")}})
	e.Call(t, "POST", "/v1/invitations", s2Tk, map[string]any{"email": email}).Want(t, http.StatusForbidden, "outside_managed_scope")

	since := time.Now()
	second := e.invite(t, ownerTk, map[string]any{"email": email})
	tok := e.TokenFromEmail(t, email, "invit", since)
	var acc accepted
	e.Call(t, "POST", "/v1/invitations/accept", "", map[string]string{"token": tok, "password": goodPassword}).Want(t, http.StatusOK, "").JSON(t, &acc)
	if acc.Member.ID != id || acc.Member.Status != "active" || acc.Member.Name != "Imported Ida" {
		t.Fatalf("accepted %+v", acc.Member)
	}
	e.Call(t, "GET", "/v1/users/"+id, ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &m)
	if len(m.Assignments) != 1 || m.Assignments[0].Role != "manager" || m.Assignments[0].Scope != "store:s1" {
		t.Fatalf("grants after acceptance: %+v", m.Assignments)
	}
	e.Call(t, "GET", "/v1/me", acc.AccessToken, nil).Want(t, http.StatusOK, "")
	// The history is one member's: created, invited twice, joined.
	var page struct {
		Items []struct {
			Action string `json:"action"`
		} `json:"items"`
	}
	e.Call(t, "GET", "/v1/audit?targetType=member&targetId="+id, ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &page)
	actions := map[string]bool{}
	for _, it := range page.Items {
		actions[it.Action] = true
	}
	if !actions["member.create"] || !actions["invitation.accept"] {
		t.Fatalf("member history %v", actions)
	}
	_ = second
}

// TestInvitationInviterRechecked: a demoted inviter's invitation is revoked, with its event,
// while one within the inviter's current rights still works.
func TestInvitationInviterRechecked(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("rechk-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	mgrID, mgrTk := e.acctMember(t, owner, []rbac.Assignment{{Role: rbac.RoleManager, Scope: rbac.AccountScope}})

	within, beyond := newEmail("rechk-in"), newEmail("rechk-out")
	since := time.Now()
	e.invite(t, mgrTk, map[string]any{"email": within, "assignments": []map[string]string{{"role": "team_member", "scope": "store:s1"}}})
	e.invite(t, mgrTk, map[string]any{"email": beyond, "assignments": []map[string]string{{"role": "team_member", "scope": "store:s2"}}})
	tokIn := e.TokenFromEmail(t, within, "invit", since)
	tokOut := e.TokenFromEmail(t, beyond, "invit", since)
	// Demoted to manager of store s1 only.
	etag := e.Call(t, "GET", "/v1/users/"+mgrID, ownerTk, nil).Want(t, http.StatusOK, "").Header.Get("ETag")
	e.Call(t, "PATCH", "/v1/users/"+mgrID, ownerTk, map[string]any{"assignments": []map[string]string{{"role": "manager", "scope": "store:s1"}}}, "If-Match", etag).Want(t, http.StatusOK, "")

	// The lookup already shows it revoked (and writes nothing).
	e.Call(t, "GET", "/v1/invitations/lookup?token="+tokOut, "", nil).Want(t, http.StatusGone, "invitation_revoked")
	if n := e.auditCountAction(t, owner.AccountID, "invitation.revoke"); n != 0 {
		t.Fatalf("invitation.revoke events after a lookup: %d, want 0", n)
	}
	e.Call(t, "GET", "/v1/invitations/lookup?token="+tokIn, "", nil).Want(t, http.StatusOK, "")
	e.Call(t, "POST", "/v1/invitations/accept", "", map[string]string{"token": tokOut, "name": "Out", "password": goodPassword}).Want(t, http.StatusGone, "invitation_revoked")
	e.Call(t, "GET", "/v1/invitations/lookup?token="+tokOut, "", nil).Want(t, http.StatusGone, "invitation_revoked")
	e.Call(t, "POST", "/v1/invitations/accept", "", map[string]string{"token": tokIn, "name": "In", "password": goodPassword}).Want(t, http.StatusOK, "")
	if n := e.auditCountAction(t, owner.AccountID, "invitation.revoke"); n != 1 {
		t.Fatalf("invitation.revoke events: %d, want 1", n)
	}
}

// TestStoreManagerInvitesItsInactiveMember: a store manager invites an
// inactive member of its store without naming grants: the member keeps its
// own (the default, full access at account scope, would be beyond the
// manager).
func TestStoreManagerInvitesItsInactiveMember(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("smi-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	email := newEmail("smi")
	id := e.mbInactive(t, ownerTk, email, []map[string]string{{"role": "team_member", "scope": "store:s1"}})
	_, mgrTk := e.acctMember(t, owner, []rbac.Assignment{{Role: rbac.RoleManager, Scope: rbac.StoreScope("s1")}})
	since := time.Now()
	inv := e.invite(t, mgrTk, map[string]any{"email": email})
	if inv.MemberID != id {
		t.Fatalf("invitation for %s, want %s", inv.MemberID, id)
	}
	tok := e.TokenFromEmail(t, email, "invit", since)
	var acc accepted
	e.Call(t, "POST", "/v1/invitations/accept", "", map[string]string{"token": tok, "password": goodPassword}).Want(t, http.StatusOK, "").JSON(t, &acc)
	var m memberView
	e.Call(t, "GET", "/v1/users/"+id, ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &m)
	if m.Status != "active" || len(m.Assignments) != 1 || m.Assignments[0].Role != "team_member" || m.Assignments[0].Scope != "store:s1" {
		t.Fatalf("after acceptance: %+v", m)
	}
}

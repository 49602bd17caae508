package apitest

import (
	"net/http"
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/rbac"
)

// Abuse cases of the members area: the owner is the owner's, admin-only
// roles, grants that outlive their granter's rights, dead invitation links,
// and inviting inactive members (a "must work" case).

// mbAdmin adds an administrator (the administrator role at account scope)
// to owner's account and signs it in.
func (e *Env) mbAdmin(t *testing.T, owner signedUp) (string, string) {
	t.Helper()
	return e.acctMember(t, owner, []rbac.Assignment{{Role: rbac.RoleAdministrator, Scope: rbac.AccountScope}})
}

// mbETag reads a member's ETag as token.
func (e *Env) mbETag(t *testing.T, token, id string) string {
	t.Helper()
	return e.Call(t, "GET", "/v1/users/"+id, token, nil).Want(t, http.StatusOK, "").Header.Get("ETag")
}

// mbDemote sets member id's assignments to team_member at store s1, as the
// owner.
func (e *Env) mbDemote(t *testing.T, ownerTk, id string) {
	t.Helper()
	e.Call(t, "PATCH", "/v1/users/"+id, ownerTk, map[string]any{
		"admin": false, "assignments": []map[string]string{{"role": "team_member", "scope": "store:s1"}},
	}, "If-Match", e.mbETag(t, ownerTk, id)).Want(t, http.StatusOK, "")
}

// mbInactive creates an inactive member (no invitation, no sign-in) with
// POST /v1/users, as the seeds' imported users are.
func (e *Env) mbInactive(t *testing.T, ownerTk, email string, assignments []map[string]string) string {
	t.Helper()
	body := map[string]any{"email": email, "name": "Imported Ida"}
	if assignments != nil {
		body["assignments"] = assignments
	}
	var m struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	e.Call(t, "POST", "/v1/users", ownerTk, body).Want(t, http.StatusCreated, "").JSON(t, &m)
	if m.Status != "inactive" {
		t.Fatalf("created member %+v", m)
	}
	return m.ID
}

var _ = abuse(
	abuseCase{
		rule: "the owner is the owner's", name: "admin renames the owner", who: "admin",
		do: func(t *testing.T, e *Env) *Response {
			owner, ownerTk := e.acctOwner(t, "mb-own-name")
			_, adminTk := e.mbAdmin(t, owner)
			r := e.Call(t, "PATCH", "/v1/users/"+owner.MemberID, adminTk, map[string]any{"name": "Not Olive"}, "If-Match", e.mbETag(t, adminTk, owner.MemberID))
			var m memberView
			e.Call(t, "GET", "/v1/users/"+owner.MemberID, ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &m)
			if m.Name != "Olive Owner" {
				t.Errorf("the owner's name is now %q", m.Name)
			}
			return r
		},
		status: http.StatusForbidden, code: "owner_only",
	},
	abuseCase{
		rule: "the owner is the owner's", name: "admin edits the owner's assignments", who: "admin",
		do: func(t *testing.T, e *Env) *Response {
			owner, _ := e.acctOwner(t, "mb-own-asg")
			_, adminTk := e.mbAdmin(t, owner)
			return e.Call(t, "PATCH", "/v1/users/"+owner.MemberID, adminTk, map[string]any{
				"assignments": []map[string]string{{"role": "team_member", "scope": "account"}},
			}, "If-Match", e.mbETag(t, adminTk, owner.MemberID))
		},
		status: http.StatusForbidden, code: "owner_only",
	},
	abuseCase{
		rule: "the owner is the owner's", name: "admin turns the owner's notifications off", who: "admin",
		do: func(t *testing.T, e *Env) *Response {
			owner, _ := e.acctOwner(t, "mb-own-notif")
			_, adminTk := e.mbAdmin(t, owner)
			return e.Call(t, "PATCH", "/v1/users/"+owner.MemberID, adminTk, map[string]any{
				"notifications": map[string]bool{"lowStock": false, "duePurchaseOrders": false, "paymentReminders": false, "approvalReminders": false},
			}, "If-Match", e.mbETag(t, adminTk, owner.MemberID))
		},
		status: http.StatusForbidden, code: "owner_only",
	},
	abuseCase{
		rule: "admin-only roles", name: "senior manager makes a senior manager", who: "member",
		do: func(t *testing.T, e *Env) *Response {
			owner := e.signup(t, newEmail("mb-ao-sm"))
			_, smTk := e.acctMember(t, owner, []rbac.Assignment{{Role: rbac.RoleSeniorManager, Scope: rbac.AccountScope}})
			ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
			target, _ := e.join(t, ownerTk, newEmail("mb-ao-target"), store1("team_member"))
			return e.Call(t, "PATCH", "/v1/users/"+target, smTk, map[string]any{
				"assignments": []map[string]string{{"role": "senior_manager", "scope": "store:s1"}},
			}, "If-Match", e.mbETag(t, smTk, target))
		},
		status: http.StatusForbidden, code: "admin_only_role",
	},
	abuseCase{
		rule: "admin-only roles", name: "senior manager invites a department manager", who: "member",
		do: func(t *testing.T, e *Env) *Response {
			owner := e.signup(t, newEmail("mb-ao-dm"))
			_, smTk := e.acctMember(t, owner, []rbac.Assignment{{Role: rbac.RoleSeniorManager, Scope: rbac.AccountScope}})
			return e.Call(t, "POST", "/v1/invitations", smTk, map[string]any{
				"email": newEmail("mb-ao-dm-x"), "assignments": []map[string]string{{"role": "department_manager", "scope": "department:sales"}},
			})
		},
		status: http.StatusForbidden, code: "admin_only_role",
	},
	abuseCase{
		rule: "admin-only roles", name: "full-access member invites a junior admin", who: "member",
		do: func(t *testing.T, e *Env) *Response {
			owner := e.signup(t, newEmail("mb-ao-ja"))
			_, faTk := e.acctMember(t, owner, []rbac.Assignment{{Role: rbac.RoleFullAccess, Scope: rbac.AccountScope}})
			return e.Call(t, "POST", "/v1/invitations", faTk, map[string]any{
				"email": newEmail("mb-ao-ja-x"), "assignments": []map[string]string{{"role": "junior_admin", "scope": "store:s1"}},
			})
		},
		status: http.StatusForbidden, code: "admin_only_role",
	},
	abuseCase{
		rule: "admin-only roles", name: "full-access member grants an admin-only custom role", who: "member",
		do: func(t *testing.T, e *Env) *Response {
			owner := e.signup(t, newEmail("mb-ao-cr"))
			ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
			var role map[string]any
			e.Call(t, "POST", "/v1/roles", ownerTk, map[string]any{
				"id": "buyer_lead", "name": "Buyer lead", "permissions": []string{"purchases.view"}, "adminOnly": true,
			}).Want(t, http.StatusCreated, "").JSON(t, &role)
			if role["adminOnly"] != true {
				t.Fatalf("created role %v", role)
			}
			_, faTk := e.acctMember(t, owner, []rbac.Assignment{{Role: rbac.RoleFullAccess, Scope: rbac.AccountScope}})
			target, _ := e.join(t, ownerTk, newEmail("mb-ao-cr-t"), store1("team_member"))
			return e.Call(t, "PATCH", "/v1/users/"+target, faTk, map[string]any{
				"assignments": []map[string]string{{"role": "team_member", "scope": "store:s1"}, {"role": "buyer_lead", "scope": "store:s1"}},
			}, "If-Match", e.mbETag(t, faTk, target))
		},
		status: http.StatusForbidden, code: "admin_only_role",
	},
	abuseCase{
		rule: "grants die with the granter's rights", name: "a demoted inviter's invitation is refused at acceptance", who: "demoted actor",
		do: func(t *testing.T, e *Env) *Response {
			owner := e.signup(t, newEmail("mb-inv-dem"))
			ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
			mgrID, mgrTk := e.acctMember(t, owner, []rbac.Assignment{{Role: rbac.RoleManager, Scope: rbac.AccountScope}})
			email := newEmail("mb-inv-dem-x")
			since := time.Now()
			inv := e.invite(t, mgrTk, map[string]any{"email": email, "assignments": []map[string]string{{"role": "manager", "scope": "store:s1"}}})
			tok := e.TokenFromEmail(t, email, "invit", since)
			e.mbDemote(t, ownerTk, mgrID)
			r := e.Call(t, "POST", "/v1/invitations/accept", "", map[string]string{"token": tok, "name": "Ned", "password": goodPassword})
			if n := e.auditCountAction(t, owner.AccountID, "invitation.revoke"); n != 1 {
				t.Errorf("invitation.revoke events: %d, want 1", n)
			}
			// The invitation is revoked for good, and its member is gone.
			e.Call(t, "GET", "/v1/users/"+inv.MemberID, ownerTk, nil).Want(t, http.StatusNotFound, "")
			return r
		},
		status: http.StatusGone, code: "invitation_revoked",
	},
	abuseCase{
		rule: "grants die with the granter's rights", name: "an API key made by a demoted admin", who: "demoted actor",
		do: func(t *testing.T, e *Env) *Response {
			owner := e.signup(t, newEmail("mb-key-dem"))
			ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
			adminID, adminTk := e.mbAdmin(t, owner)
			k := e.createKey(t, adminTk, map[string]any{"name": "Backend", "permissions": []string{"users.view"}})
			e.Call(t, "GET", "/v1/users", k.Secret, nil).Want(t, http.StatusOK, "")
			e.mbDemote(t, ownerTk, adminID)
			r := e.Call(t, "GET", "/v1/users", k.Secret, nil)
			if n := e.auditCountAction(t, owner.AccountID, "apikey.revoke"); n != 1 {
				t.Errorf("apikey.revoke events: %d, want 1", n)
			}
			return r
		},
		status: http.StatusUnauthorized, code: "api_key_revoked",
	},
	abuseCase{
		rule: "dead links look dead", name: "lookup of a link replaced by a re-send", who: "stranger",
		do: func(t *testing.T, e *Env) *Response {
			_, ownerTk := e.acctOwner(t, "mb-resend")
			email := newEmail("mb-resend-x")
			since := time.Now()
			inv := e.invite(t, ownerTk, map[string]any{"email": email})
			old := e.TokenFromEmail(t, email, "invit", since)
			e.Call(t, "POST", "/v1/invitations/"+inv.ID+"/resend", ownerTk, nil).Want(t, http.StatusOK, "")
			fresh := e.TokenFromEmail(t, email, "invit", since, old)
			e.Call(t, "GET", "/v1/invitations/lookup?token="+fresh, "", nil).Want(t, http.StatusOK, "")
			r := e.Call(t, "GET", "/v1/invitations/lookup?token="+old, "", nil)
			unknown := e.Call(t, "GET", "/v1/invitations/lookup?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "", nil)
			if r.Status != unknown.Status || r.Code() != unknown.Code() || r.Map(t)["detail"] != unknown.Map(t)["detail"] {
				t.Errorf("the old link answers %d %s, an unknown one %d %s", r.Status, r.Body, unknown.Status, unknown.Body)
			}
			return r
		},
		status: http.StatusGone, code: "invitation_invalid",
	},
	abuseCase{
		rule: "inactive members can be invited", name: "must work: the imported member joins as itself", who: "admin",
		do: func(t *testing.T, e *Env) *Response {
			owner := e.signup(t, newEmail("mb-inact"))
			ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
			email := newEmail("mb-inact-x")
			id := e.mbInactive(t, ownerTk, email, []map[string]string{{"role": "team_member", "scope": "store:s1"}})
			since := time.Now()
			var inv invitation
			e.Call(t, "POST", "/v1/invitations", ownerTk, map[string]any{"email": email}).Want(t, http.StatusCreated, "").JSON(t, &inv)
			if inv.MemberID != id {
				t.Fatalf("the invitation is for member %s, not the inactive member %s", inv.MemberID, id)
			}
			tok := e.TokenFromEmail(t, email, "invit", since)
			r := e.Call(t, "POST", "/v1/invitations/accept", "", map[string]string{"token": tok, "name": "Ida", "password": goodPassword})
			var acc accepted
			r.Want(t, http.StatusOK, "").JSON(t, &acc)
			if acc.Member.ID != id || acc.Member.Status != "active" {
				t.Errorf("accepted as %+v, want member %s active", acc.Member, id)
			}
			return r
		},
		status: http.StatusOK,
	},
)

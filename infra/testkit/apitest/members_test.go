package apitest

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/rbac"
)

type memberView struct {
	ID          string `json:"id"`
	Email       string `json:"email"`
	Name        string `json:"name"`
	Status      string `json:"status"`
	Admin       bool   `json:"admin"`
	Owner       bool   `json:"owner"`
	Version     int64  `json:"version"`
	Assignments []struct {
		Role  string `json:"role"`
		Scope string `json:"scope"`
	} `json:"assignments"`
	Notifications struct {
		LowStock bool `json:"lowStock"`
	} `json:"notifications"`
}

// join invites email with body's grants as the owner and accepts it,
// returning the new member's id and tokens.
func (e *Env) join(t *testing.T, ownerToken, email string, body map[string]any) (string, tokens) {
	t.Helper()
	body["email"] = email
	since := time.Now()
	inv := e.invite(t, ownerToken, body)
	tok := e.TokenFromEmail(t, email, "invit", since)
	var acc accepted
	e.Call(t, "POST", "/v1/invitations/accept", "", map[string]string{"token": tok, "name": "Member " + email[:6], "password": goodPassword}).Want(t, http.StatusOK, "").JSON(t, &acc)
	return inv.MemberID, tokens{AccessToken: acc.AccessToken, RefreshToken: acc.RefreshToken}
}

func store1(role string) map[string]any {
	return map[string]any{"assignments": []map[string]string{{"role": role, "scope": "store:s1"}}}
}

func TestMemberLifecycle(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("life-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "")
	mgrID, mgrTk := e.join(t, ownerTk.AccessToken, newEmail("life-mgr"), store1("manager"))

	// Suspending refuses the very next request; reactivating restores.
	e.Call(t, "GET", "/v1/me", mgrTk.AccessToken, nil).Want(t, http.StatusOK, "")
	var m memberView
	e.Call(t, "POST", "/v1/users/"+mgrID+"/suspend", ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &m)
	if m.Status != "suspended" {
		t.Fatalf("after suspend: %+v", m)
	}
	e.Call(t, "GET", "/v1/me", mgrTk.AccessToken, nil).Want(t, http.StatusUnauthorized, "")
	e.Call(t, "POST", "/v1/users/"+mgrID+"/suspend", ownerTk.AccessToken, nil).Want(t, http.StatusOK, "")
	e.Call(t, "POST", "/v1/users/"+mgrID+"/reactivate", ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &m)
	if m.Status != "active" || len(m.Assignments) != 1 || m.Assignments[0].Role != "manager" {
		t.Fatalf("reactivation lost something: %+v", m)
	}
	mgrTk = e.login(t, e.memberEmail(t, owner.AccountID, mgrID), goodPassword, "")

	// The owner is protected.
	e.Call(t, "POST", "/v1/users/"+owner.MemberID+"/suspend", mgrTk.AccessToken, nil).Want(t, http.StatusForbidden, "")
	e.Call(t, "DELETE", "/v1/users/"+owner.MemberID, ownerTk.AccessToken, nil).Want(t, http.StatusForbidden, "")

	// PATCH needs If-Match and refuses a stale one; removing a grant
	// changes the very next decision.
	r := e.Call(t, "GET", "/v1/users/"+mgrID, ownerTk.AccessToken, nil).Want(t, http.StatusOK, "")
	etag := r.Header.Get("ETag")
	e.Call(t, "PATCH", "/v1/users/"+mgrID, ownerTk.AccessToken, map[string]any{"name": "Mia"}).Want(t, http.StatusPreconditionRequired, "precondition_required")
	e.Call(t, "PATCH", "/v1/users/"+mgrID, ownerTk.AccessToken, map[string]any{"name": "Mia"}, "If-Match", `"999"`).Want(t, http.StatusPreconditionFailed, "stale_version")
	e.Call(t, "PATCH", "/v1/users/"+mgrID, ownerTk.AccessToken, map[string]any{"assignments": []map[string]string{{"role": "team_member", "scope": "store:s1"}}}, "If-Match", etag).Want(t, http.StatusOK, "")
	e.Call(t, "POST", "/v1/invitations", mgrTk.AccessToken, map[string]any{"email": newEmail("x"), "assignments": []map[string]string{{"role": "team_member", "scope": "store:s1"}}}).Want(t, http.StatusForbidden, "")

	// Nobody changes their own grants, but anyone their own name.
	r = e.Call(t, "GET", "/v1/users/"+mgrID, mgrTk.AccessToken, nil).Want(t, http.StatusOK, "")
	e.Call(t, "PATCH", "/v1/users/"+mgrID, mgrTk.AccessToken, map[string]any{"admin": true}, "If-Match", r.Header.Get("ETag")).Want(t, http.StatusForbidden, "")
	e.Call(t, "PATCH", "/v1/users/"+mgrID, mgrTk.AccessToken, map[string]any{"name": "Mia M", "notifications": map[string]bool{"lowStock": false, "duePurchaseOrders": true, "paymentReminders": true, "approvalReminders": true}}, "If-Match", r.Header.Get("ETag")).Want(t, http.StatusOK, "").JSON(t, &m)
	if m.Name != "Mia M" || m.Notifications.LowStock {
		t.Fatalf("self edit: %+v", m)
	}

	// Deleting keeps the name on history and frees the email.
	email := m.Email
	e.Call(t, "DELETE", "/v1/users/"+mgrID, ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &m)
	if m.Status != "deleted" || m.Name != "Mia M" {
		t.Fatalf("after delete: %+v", m)
	}
	e.Call(t, "GET", "/v1/me", mgrTk.AccessToken, nil).Want(t, http.StatusUnauthorized, "")
	e.Call(t, "POST", "/v1/auth/login", "", map[string]string{"email": email, "password": goodPassword}).Want(t, http.StatusForbidden, "")
	var events struct {
		Items []struct {
			Actor struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"actor"`
			Action string `json:"action"`
		} `json:"items"`
	}
	e.Call(t, "GET", "/v1/audit?actor="+mgrID, ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &events)
	if len(events.Items) == 0 || events.Items[0].Actor.Name == "" || events.Items[0].Actor.ID != mgrID {
		t.Fatalf("the deleted member's events in GET /v1/audit: %+v", events.Items)
	}
	e.invite(t, ownerTk.AccessToken, map[string]any{"email": email})
}

func (e *Env) memberEmail(t *testing.T, account, id string) string {
	t.Helper()
	m, err := e.Store.GetMember(context.Background(), account, id)
	if err != nil {
		t.Fatal(err)
	}
	return m.Email
}

func TestManagersChangeOnlyTheirStores(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("mgr-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "")
	_, mgrTk := e.join(t, ownerTk.AccessToken, newEmail("mgr"), store1("manager"))
	inS1, _ := e.join(t, ownerTk.AccessToken, newEmail("s1"), store1("team_member"))
	inS2, _ := e.join(t, ownerTk.AccessToken, newEmail("s2"), map[string]any{"assignments": []map[string]string{{"role": "team_member", "scope": "store:s2"}}})

	// Managers see every member.
	var list struct {
		Items []memberView `json:"items"`
	}
	e.Call(t, "GET", "/v1/users", mgrTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &list)
	if len(list.Items) != 4 {
		t.Fatalf("manager sees %d members, want 4", len(list.Items))
	}
	e.Call(t, "GET", "/v1/users?store=s2", mgrTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != inS2 {
		t.Fatalf("store filter: %+v", list.Items)
	}
	// But change only their store's.
	e.Call(t, "POST", "/v1/users/"+inS1+"/suspend", mgrTk.AccessToken, nil).Want(t, http.StatusOK, "")
	e.Call(t, "POST", "/v1/users/"+inS2+"/suspend", mgrTk.AccessToken, nil).Want(t, http.StatusForbidden, "outside_managed_scope")
	e.Call(t, "DELETE", "/v1/users/"+inS2, mgrTk.AccessToken, nil).Want(t, http.StatusForbidden, "outside_managed_scope")
}

func TestConcurrentPatchesOneWins(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("cp-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "")
	id, _ := e.join(t, ownerTk.AccessToken, newEmail("cp"), store1("team_member"))
	etag := e.Call(t, "GET", "/v1/users/"+id, ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").Header.Get("ETag")
	names := []string{"First", "Second"}
	codes := make([]int, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = e.Call(t, "PATCH", "/v1/users/"+id, ownerTk.AccessToken, map[string]any{"name": names[i]}, "If-Match", etag).Status
		}()
	}
	wg.Wait()
	var m memberView
	e.Call(t, "GET", "/v1/users/"+id, ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &m)
	won := -1
	for i, c := range codes {
		if c == http.StatusOK {
			won = i
		} else if c != http.StatusPreconditionFailed {
			t.Fatalf("codes %v", codes)
		}
	}
	if won < 0 || (codes[0] == 200) == (codes[1] == 200) || m.Name != names[won] {
		t.Fatalf("codes %v, name %q: want one 200 and one 412, and the winner's change stored", codes, m.Name)
	}
}

func TestInactiveMembersAndOwnershipTransfer(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("tr-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "")
	var m memberView
	e.Call(t, "POST", "/v1/users", ownerTk.AccessToken, map[string]any{"email": newEmail("orderer"), "name": "Ordered For"}).Want(t, http.StatusCreated, "").JSON(t, &m)
	if m.Status != "inactive" {
		t.Fatalf("created %+v", m)
	}
	e.Call(t, "POST", "/v1/users/"+m.ID+"/reactivate", ownerTk.AccessToken, nil).Want(t, http.StatusConflict, "no_identity")
	e.Call(t, "POST", "/v1/users", ownerTk.AccessToken, map[string]any{"email": m.Email, "name": "Again"}).Want(t, http.StatusConflict, "already_member")

	adminID, adminTk := e.join(t, ownerTk.AccessToken, newEmail("admin"), map[string]any{"admin": true})
	// Only the owner transfers.
	e.Call(t, "POST", "/v1/account/transfer-ownership", adminTk.AccessToken, map[string]string{"memberId": adminID}).Want(t, http.StatusForbidden, "")
	e.Call(t, "POST", "/v1/account/transfer-ownership", ownerTk.AccessToken, map[string]string{"memberId": m.ID}).Want(t, http.StatusForbidden, "")
	e.Call(t, "POST", "/v1/account/transfer-ownership", ownerTk.AccessToken, map[string]string{"memberId": adminID}).Want(t, http.StatusOK, "").JSON(t, &m)
	if !m.Owner || !m.Admin {
		t.Fatalf("new owner %+v", m)
	}
	var old memberView
	e.Call(t, "GET", "/v1/users/"+owner.MemberID, adminTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &old)
	if old.Owner || !old.Admin {
		t.Fatalf("old owner %+v", old)
	}
	// Exactly one owner: the old one is no longer protected, the new one is.
	e.Call(t, "POST", "/v1/users/"+adminID+"/suspend", ownerTk.AccessToken, nil).Want(t, http.StatusForbidden, "owner_protected")
}

func TestMembersAcrossTenants(t *testing.T) {
	e := New(t)
	a := e.signup(t, newEmail("mt-a"))
	b := e.signup(t, newEmail("mt-b"))
	aTk := e.login(t, a.Email, goodPassword, "")
	bTk := e.login(t, b.Email, goodPassword, "")
	id, _ := e.join(t, aTk.AccessToken, newEmail("victim"), store1("team_member"))
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/users/" + id}, {"DELETE", "/v1/users/" + id}, {"POST", "/v1/users/" + id + "/suspend"},
		{"POST", "/v1/users/" + id + "/deactivate"}, {"POST", "/v1/users/" + id + "/reactivate"}, {"POST", "/v1/users/" + id + "/impersonate"},
	} {
		e.Call(t, c.method, c.path, bTk.AccessToken, nil).Want(t, http.StatusNotFound, "")
	}
	e.Call(t, "PATCH", "/v1/users/"+id, bTk.AccessToken, map[string]any{"name": "pwned"}, "If-Match", `"2"`).Want(t, http.StatusNotFound, "")
	e.Call(t, "POST", "/v1/account/transfer-ownership", bTk.AccessToken, map[string]string{"memberId": id}).Want(t, http.StatusNotFound, "")
	var m memberView
	e.Call(t, "GET", "/v1/users/"+id, aTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &m)
	if m.Status != "active" || m.Name == "pwned" {
		t.Fatalf("A's member changed: %+v", m)
	}
}

// TestOwnerEditsOnlyItself: the owner edits its own name and notification
// preferences; an administrator cannot (403 owner_only), and after a
// transfer the old owner is an ordinary administrator again.
func TestOwnerEditsOnlyItself(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("oe-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	adminID, adminTk := e.join(t, ownerTk, newEmail("oe-admin"), map[string]any{"admin": true})
	etag := e.mbETag(t, ownerTk, owner.MemberID)
	e.Call(t, "PATCH", "/v1/users/"+owner.MemberID, adminTk.AccessToken, map[string]any{"name": "Mallory"}, "If-Match", etag).Want(t, http.StatusForbidden, "owner_only")
	e.Call(t, "PATCH", "/v1/users/"+owner.MemberID, ownerTk, map[string]any{"name": "Olivia Owner"}, "If-Match", etag).Want(t, http.StatusOK, "")
	// After a transfer, the new owner is protected and the old one is not.
	e.Call(t, "POST", "/v1/account/transfer-ownership", ownerTk, map[string]string{"memberId": adminID}).Want(t, http.StatusOK, "")
	e.Call(t, "PATCH", "/v1/users/"+adminID, ownerTk, map[string]any{"name": "Not Me"}, "If-Match", e.mbETag(t, ownerTk, adminID)).Want(t, http.StatusForbidden, "owner_only")
	e.Call(t, "PATCH", "/v1/users/"+owner.MemberID, adminTk.AccessToken, map[string]any{"name": "Former Owner"}, "If-Match", e.mbETag(t, ownerTk, owner.MemberID)).Want(t, http.StatusOK, "")
}

// TestAdminOnlyRoles: the built-in junior admin, senior manager and
// department manager are admin-only; a custom role can be made so, and only
// administrators set or clear the flag, or touch such a role; an
// administrator grants them.
func TestAdminOnlyRoles(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("ao-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	var list struct {
		Roles []struct {
			ID        string `json:"id"`
			AdminOnly bool   `json:"adminOnly"`
		} `json:"roles"`
	}
	e.Call(t, "GET", "/v1/roles", ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &list)
	want := map[string]bool{"administrator": true, "junior_admin": true, "senior_manager": true, "department_manager": true}
	for _, r := range list.Roles {
		if r.AdminOnly != want[r.ID] {
			t.Errorf("role %s: adminOnly %v", r.ID, r.AdminOnly)
		}
	}

	_, faTk := e.acctMember(t, owner, []rbac.Assignment{{Role: rbac.RoleFullAccess, Scope: rbac.AccountScope}})
	e.Call(t, "POST", "/v1/roles", faTk, map[string]any{"id": "lead", "name": "Lead", "permissions": []string{"orders.view"}, "adminOnly": true}).Want(t, http.StatusForbidden, "admin_only_role")
	e.Call(t, "POST", "/v1/roles", ownerTk, map[string]any{"id": "lead", "name": "Lead", "permissions": []string{"orders.view"}, "adminOnly": true}).Want(t, http.StatusCreated, "")
	etag := e.Call(t, "GET", "/v1/roles/lead", ownerTk, nil).Want(t, http.StatusOK, "").Header.Get("ETag")
	e.Call(t, "PATCH", "/v1/roles/lead", faTk, map[string]any{"adminOnly": false}, "If-Match", etag).Want(t, http.StatusForbidden, "admin_only_role")
	e.Call(t, "PATCH", "/v1/roles/lead", faTk, map[string]any{"name": "Team lead"}, "If-Match", etag).Want(t, http.StatusForbidden, "admin_only_role")
	e.Call(t, "DELETE", "/v1/roles/lead", faTk, nil).Want(t, http.StatusForbidden, "admin_only_role")

	target, _ := e.join(t, ownerTk, newEmail("ao-target"), store1("team_member"))
	grant := func(tok string) *Response {
		return e.Call(t, "PATCH", "/v1/users/"+target, tok, map[string]any{"assignments": []map[string]string{
			{"role": "team_member", "scope": "store:s1"}, {"role": "lead", "scope": "store:s1"},
		}}, "If-Match", e.mbETag(t, ownerTk, target))
	}
	grant(faTk).Want(t, http.StatusForbidden, "admin_only_role")
	// Once the owner clears the flag, the full-access member may grant it.
	e.Call(t, "PATCH", "/v1/roles/lead", ownerTk, map[string]any{"adminOnly": false}, "If-Match", etag).Want(t, http.StatusOK, "")
	grant(faTk).Want(t, http.StatusOK, "")
	// An administrator grants the built-in admin-only roles.
	e.Call(t, "PATCH", "/v1/users/"+target, ownerTk, map[string]any{"assignments": []map[string]string{
		{"role": "senior_manager", "scope": "store:s1"}, {"role": "junior_admin", "scope": "store:s2"}, {"role": "department_manager", "scope": "department:sales"},
	}}, "If-Match", e.mbETag(t, ownerTk, target)).Want(t, http.StatusOK, "")
}

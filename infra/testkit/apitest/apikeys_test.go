package apitest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/apikeys/apikey"
	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

type apiKey struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Prefix      string     `json:"prefix"`
	Status      string     `json:"status"`
	Permissions []string   `json:"permissions"`
	Scopes      []string   `json:"scopes"`
	CreatedAt   time.Time  `json:"createdAt"`
	LastUsedAt  *time.Time `json:"lastUsedAt"`
	RevokedAt   *time.Time `json:"revokedAt"`
	CreatedBy   struct {
		ID string `json:"id"`
	} `json:"createdBy"`
	Secret string `json:"secret"`
}

type apiKeyList struct {
	Items []apiKey `json:"items"`
}

// createKey creates an API key with an admin's access token.
func (e *Env) createKey(t *testing.T, token string, body map[string]any) apiKey {
	t.Helper()
	r := e.Call(t, "POST", "/v1/api-keys", token, body).Want(t, http.StatusCreated, "")
	var k apiKey
	r.JSON(t, &k)
	if !strings.HasPrefix(k.Secret, "stk_"+k.ID+"_") || k.Prefix != "stk_"+k.ID+"_" || k.Status != "active" || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("created key %s", r.Body)
	}
	return k
}

func (e *Env) listKeys(t *testing.T, token string) (apiKeyList, string) {
	t.Helper()
	r := e.Call(t, "GET", "/v1/api-keys", token, nil).Want(t, http.StatusOK, "")
	var l apiKeyList
	r.JSON(t, &l)
	return l, string(r.Body)
}

func fullAccessPermissions(t *testing.T) []string {
	t.Helper()
	r, ok := rbac.BuiltIns().Role(rbac.RoleFullAccess)
	if !ok {
		t.Fatal("no full_access role")
	}
	return r.Permissions
}

func TestAPIKeyLifecycle(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("key-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "")

	viewer := e.createKey(t, ownerTk.AccessToken, map[string]any{"name": "Backend", "permissions": []string{"users.view"}})
	if viewer.CreatedBy.ID != owner.MemberID || len(viewer.Scopes) != 1 || viewer.Scopes[0] != "account" || viewer.LastUsedAt != nil {
		t.Fatalf("key %+v", viewer)
	}
	other := e.createKey(t, ownerTk.AccessToken, map[string]any{"name": "Orders only", "permissions": []string{"orders.view"}, "scopes": []string{"store:s1"}})

	// The secret is shown once: never in the list.
	list, raw := e.listKeys(t, ownerTk.AccessToken)
	if len(list.Items) != 2 || strings.Contains(raw, viewer.Secret[len(viewer.Prefix):]) || strings.Contains(raw, `"secret"`) {
		t.Fatalf("list %s", raw)
	}

	// The key authenticates with exactly its permissions.
	e.Call(t, "GET", "/v1/invitations", viewer.Secret, nil).Want(t, http.StatusOK, "")
	e.Call(t, "GET", "/v1/invitations", other.Secret, nil).Want(t, http.StatusForbidden, "")
	e.Call(t, "POST", "/v1/invitations", viewer.Secret, map[string]any{"email": newEmail("x")}).Want(t, http.StatusForbidden, "")
	// Routes that need a person, or an administrator, refuse it.
	e.Call(t, "GET", "/v1/me", viewer.Secret, nil).Want(t, http.StatusForbidden, "not_a_member")
	e.Call(t, "POST", "/v1/auth/logout", viewer.Secret, nil).Want(t, http.StatusForbidden, "not_a_member")
	e.Call(t, "POST", "/v1/users/"+owner.MemberID+"/impersonate", viewer.Secret, nil).Want(t, http.StatusForbidden, "not_a_member")
	e.Call(t, "GET", "/v1/api-keys", viewer.Secret, nil).Want(t, http.StatusForbidden, "admin_only")
	e.Call(t, "POST", "/v1/api-keys", viewer.Secret, map[string]any{"name": "Child", "permissions": []string{"users.view"}}).Want(t, http.StatusForbidden, "admin_only")
	e.Call(t, "DELETE", "/v1/api-keys/"+other.ID, viewer.Secret, nil).Want(t, http.StatusForbidden, "admin_only")

	// A tampered or truncated secret is refused like any bad token.
	s := viewer.Secret
	flip := "A"
	if s[len(s)-2] == 'A' {
		flip = "B"
	}
	for name, bad := range map[string]string{
		"tampered":   s[:len(s)-2] + flip + s[len(s)-1:],
		"other id":   "stk_" + other.ID + s[len("stk_"+viewer.ID):],
		"truncated":  s[:len(s)-1],
		"prefix":     viewer.Prefix,
		"unknown id": "stk_" + owner.AccountID + ".k_00000000000000000000" + s[len("stk_"+viewer.ID):],
	} {
		r := e.Call(t, "GET", "/v1/invitations", bad, nil)
		if r.Status != http.StatusUnauthorized || r.Code() != "token_invalid" || r.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s key: %d %s", name, r.Status, r.Body)
		}
	}

	// Use is recorded (to the minute).
	list, _ = e.listKeys(t, ownerTk.AccessToken)
	for _, k := range list.Items {
		if k.ID == viewer.ID && (k.LastUsedAt == nil || time.Since(*k.LastUsedAt) > time.Minute) {
			t.Fatalf("lastUsedAt of a used key: %+v", k)
		}
	}

	// Revoking refuses the very next request.
	e.Call(t, "DELETE", "/v1/api-keys/"+viewer.ID, ownerTk.AccessToken, nil).Want(t, http.StatusNoContent, "")
	e.Call(t, "GET", "/v1/invitations", viewer.Secret, nil).Want(t, http.StatusUnauthorized, "api_key_revoked")
	e.Call(t, "DELETE", "/v1/api-keys/"+viewer.ID, ownerTk.AccessToken, nil).Want(t, http.StatusConflict, "already_revoked")
	e.Call(t, "DELETE", "/v1/api-keys/"+owner.AccountID+".k_00000000000000000000", ownerTk.AccessToken, nil).Want(t, http.StatusNotFound, "not_found")
	e.Call(t, "DELETE", "/v1/api-keys/nonsense", ownerTk.AccessToken, nil).Want(t, http.StatusNotFound, "not_found")
	list, _ = e.listKeys(t, ownerTk.AccessToken)
	for _, k := range list.Items {
		if k.ID == viewer.ID && (k.Status != "revoked" || k.RevokedAt == nil) {
			t.Fatalf("revoked key listed as %+v", k)
		}
	}
	// The other key still works.
	e.Call(t, "GET", "/v1/invitations", other.Secret, nil).Want(t, http.StatusForbidden, "")

	page, err := e.Store.ListAudit(context.Background(), owner.AccountID, audit.Filter{TargetType: "apikey", TargetID: viewer.ID}, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 2 {
		t.Fatalf("%d audit events for the key, want create and revoke", len(page.Items))
	}
	for _, ev := range page.Items {
		if ev.ActorID != owner.MemberID || strings.Contains(string(ev.Before)+string(ev.After), viewer.Secret[len(viewer.Prefix):]) {
			t.Fatalf("event %+v", ev)
		}
	}

	// No key secret, nor its hash, reaches the logs.
	logs := e.Logs.String()
	for _, k := range []apiKey{viewer, other} {
		secret := k.Secret[len(k.Prefix):]
		h, _ := hashOf(secret)
		if strings.Contains(logs, secret) || strings.Contains(logs, h) {
			t.Errorf("the secret of key %s appears in the logs", k.ID)
		}
	}
}

// addStaff adds an active non-admin member with its own sign-in (a fresh
// identity) to account, and signs it in.
func (e *Env) addStaff(t *testing.T, account string, as []rbac.Assignment) (tokens, string) {
	t.Helper()
	staff := e.signup(t, newEmail("staff"))
	now := time.Now()
	m := team.Member{
		ID: store.NewID("m"), AccountID: account, IdentityID: mustIdentity(t, e, staff.Email), Email: staff.Email, Name: "Sam Staff",
		Status: rbac.StatusActive, Assignments: as, Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	if err := e.Store.AddMember(context.Background(), m, audit.Event{AccountID: account, ActorID: "system", Action: "member.create", TargetType: "member", TargetID: m.ID}); err != nil {
		t.Fatal(err)
	}
	return e.login(t, staff.Email, goodPassword, account), m.ID
}

func TestAPIKeysAdminOnly(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("keyadm"))
	ownerTk := e.login(t, owner.Email, goodPassword, "")
	body := map[string]any{"name": "Backend", "permissions": []string{"users.view"}}
	k := e.createKey(t, ownerTk.AccessToken, body)

	// A manager (users.manage, not an admin) may not manage keys.
	mgrTk, mgrID := e.addStaff(t, owner.AccountID, []rbac.Assignment{{Role: rbac.RoleManager, Scope: rbac.AccountScope}})
	e.Call(t, "POST", "/v1/api-keys", mgrTk.AccessToken, body).Want(t, http.StatusForbidden, "admin_only")
	e.Call(t, "GET", "/v1/api-keys", mgrTk.AccessToken, nil).Want(t, http.StatusForbidden, "admin_only")
	e.Call(t, "DELETE", "/v1/api-keys/"+k.ID, mgrTk.AccessToken, nil).Want(t, http.StatusForbidden, "admin_only")

	// Nor may an administrator acting as someone else.
	var imp tokens
	e.Call(t, "POST", "/v1/users/"+mgrID+"/impersonate", ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &imp)
	e.Call(t, "POST", "/v1/api-keys", imp.AccessToken, body).Want(t, http.StatusForbidden, "impersonation_forbidden")
	e.Call(t, "DELETE", "/v1/api-keys/"+k.ID, imp.AccessToken, nil).Want(t, http.StatusForbidden, "impersonation_forbidden")
}

func TestAPIKeyActsWithinItsAccountAndIsAudited(t *testing.T) {
	e := New(t)
	a := e.signup(t, newEmail("key-a"))
	b := e.signup(t, newEmail("key-b"))
	aTk := e.login(t, a.Email, goodPassword, "")
	bTk := e.login(t, b.Email, goodPassword, "")
	e.invite(t, aTk.AccessToken, map[string]any{"email": newEmail("in-a")})

	// B's key sees only B's invitations; B's admin cannot touch A's key.
	aKey := e.createKey(t, aTk.AccessToken, map[string]any{"name": "A backend", "permissions": fullAccessPermissions(t)})
	bKey := e.createKey(t, bTk.AccessToken, map[string]any{"name": "B backend", "permissions": []string{"users.view"}})
	var list struct {
		Items []invitation `json:"items"`
	}
	e.Call(t, "GET", "/v1/invitations", bKey.Secret, nil).Want(t, http.StatusOK, "").JSON(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("B's key sees %d of A's invitations", len(list.Items))
	}
	e.Call(t, "DELETE", "/v1/api-keys/"+aKey.ID, bTk.AccessToken, nil).Want(t, http.StatusNotFound, "not_found")
	if l, _ := e.listKeys(t, bTk.AccessToken); len(l.Items) != 1 || l.Items[0].ID != bKey.ID {
		t.Fatalf("B lists %+v", l.Items)
	}

	// A key with every full_access permission at account invites with
	// full access (the ceiling: it holds what it grants), but no admin.
	inv := e.invite(t, aKey.Secret, map[string]any{"email": newEmail("by-key")})
	e.Call(t, "POST", "/v1/invitations", aKey.Secret, map[string]any{"email": newEmail("adm"), "admin": true}).Want(t, http.StatusForbidden, "admin_only")
	// A key with users.manage alone cannot grant full access.
	narrow := e.createKey(t, aTk.AccessToken, map[string]any{"name": "Narrow", "permissions": []string{"users.view", "users.manage"}})
	e.Call(t, "POST", "/v1/invitations", narrow.Secret, map[string]any{"email": newEmail("full")}).Want(t, http.StatusForbidden, "exceeds_own_rights")
	// Nor can anybody assign the key's synthetic role.
	e.Call(t, "POST", "/v1/invitations", aKey.Secret, map[string]any{"email": newEmail("syn"), "assignments": []map[string]string{{"role": apikey.Role, "scope": "account"}}}).Want(t, http.StatusForbidden, "exceeds_own_rights")
	// A key scoped to a store may not act at account scope.
	scoped := e.createKey(t, aTk.AccessToken, map[string]any{"name": "Store 1", "permissions": fullAccessPermissions(t), "scopes": []string{"store:s1"}})
	e.invite(t, scoped.Secret, map[string]any{"email": newEmail("s1"), "assignments": []map[string]string{{"role": "team_member", "scope": "store:s1"}}})
	e.Call(t, "POST", "/v1/invitations", scoped.Secret, map[string]any{"email": newEmail("s2"), "assignments": []map[string]string{{"role": "team_member", "scope": "store:s2"}}}).Want(t, http.StatusForbidden, "")

	page, err := e.Store.ListAudit(context.Background(), a.AccountID, audit.Filter{TargetType: "invitation", TargetID: inv.ID}, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].ActorID != "apikey:"+aKey.ID || page.Items[0].ActorName != "A backend" || page.Items[0].ImpersonatorID != "" {
		t.Fatalf("invitation events %+v", page.Items)
	}
	// Idempotency keys are remembered per API key.
	body := map[string]any{"email": newEmail("idem")}
	first := e.Call(t, "POST", "/v1/invitations", aKey.Secret, body, "Idempotency-Key", "key-1").Want(t, http.StatusCreated, "")
	again := e.Call(t, "POST", "/v1/invitations", aKey.Secret, body, "Idempotency-Key", "key-1").Want(t, http.StatusCreated, "")
	if string(first.Body) != string(again.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay differs: %s vs %s", first.Body, again.Body)
	}
}

func TestAPIKeyBadInput(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("keybad"))
	tk := e.login(t, owner.Email, goodPassword, "")
	for _, body := range []any{
		map[string]any{"name": "x", "permissions": []string{"no.such_permission"}},
		map[string]any{"name": "x", "permissions": []string{"Users.View"}},
		map[string]any{"name": "x", "permissions": []string{"billing.manage"}},
		map[string]any{"name": "x", "permissions": []string{"users.impersonate"}},
		map[string]any{"name": "x", "permissions": []string{"account.close"}},
		map[string]any{"name": "x", "permissions": []string{"users.manage"}}, // without users.view
		map[string]any{"name": "x", "permissions": []string{"users.view", "users.view"}},
		map[string]any{"name": "x", "permissions": []string{}},
		map[string]any{"name": "x"},
		map[string]any{"name": "x", "permissions": []string{"users.view"}, "scopes": []string{"galaxy:1"}},
		map[string]any{"name": "x", "permissions": []string{"users.view"}, "scopes": []string{"store:"}},
		map[string]any{"name": "x", "permissions": []string{"users.view"}, "scopes": []string{}},
		map[string]any{"name": "x", "permissions": []string{"users.view"}, "scopes": []string{"account", "store:s1"}},
		map[string]any{"name": "", "permissions": []string{"users.view"}},
		map[string]any{"name": "   ", "permissions": []string{"users.view"}},
		map[string]any{"name": "a\u0001b", "permissions": []string{"users.view"}},
		map[string]any{"name": strings.Repeat("n", 101), "permissions": []string{"users.view"}},
		map[string]any{"name": "x", "permissions": []string{"users.view"}, "admin": true},
		`{"name": "x", "permissions": "users.view"}`, `[`, ``,
	} {
		r := e.Call(t, "POST", "/v1/api-keys", tk.AccessToken, body)
		if r.Status != http.StatusBadRequest {
			t.Errorf("%v: %d %s", body, r.Status, r.Body)
		}
	}
	e.Call(t, "GET", "/v1/api-keys?limit=0", tk.AccessToken, nil).Want(t, http.StatusBadRequest, "invalid_field")
	e.Call(t, "GET", "/v1/api-keys?cursor=forged", tk.AccessToken, nil).Want(t, http.StatusBadRequest, "bad_cursor")
	if l, _ := e.listKeys(t, tk.AccessToken); len(l.Items) != 0 {
		t.Fatalf("bad input created %d keys", len(l.Items))
	}
}

// TestAPIKeyFollowsItsCreator: a key keeps working while its creator holds
// its permissions at its scopes (an administrator demoted to a manager of
// the key's store still does); once the creator does not, the key is
// revoked at its next use, by "system" with an event, and stays revoked
// when the creator is promoted again.
func TestAPIKeyFollowsItsCreator(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("kc-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	adminID, adminTk := e.mbAdmin(t, owner)
	k := e.createKey(t, adminTk, map[string]any{"name": "Backend", "permissions": []string{"users.view"}, "scopes": []string{"store:s1"}})
	check := func() *Response { return e.Call(t, "GET", "/v1/users", k.Secret, nil) }
	check().Want(t, http.StatusOK, "")
	set := func(role, scope string) {
		e.Call(t, "PATCH", "/v1/users/"+adminID, ownerTk, map[string]any{"admin": false, "assignments": []map[string]string{{"role": role, "scope": scope}}},
			"If-Match", e.mbETag(t, ownerTk, adminID)).Want(t, http.StatusOK, "")
	}
	set("manager", "store:s1") // still holds users.view at store s1
	check().Want(t, http.StatusOK, "")
	set("team_member", "store:s2")
	check().Want(t, http.StatusUnauthorized, "api_key_revoked")
	check().Want(t, http.StatusUnauthorized, "api_key_revoked")
	set("administrator", "account")
	check().Want(t, http.StatusUnauthorized, "api_key_revoked")
	if n := e.auditCountAction(t, owner.AccountID, "apikey.revoke"); n != 1 {
		t.Fatalf("apikey.revoke events: %d, want 1", n)
	}
}

package apitest

import (
	"net/http"
	"testing"
	"time"
)

// TestPermissionRoutes drives every permission route through the whole HTTP
// stack as the owner (and once about a member holding a custom role), so
// that the OpenAPI validator checks each answer's shape and headers.
func TestPermissionRoutes(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("perm-owner"))
	tk := e.login(t, owner.Email, goodPassword, "").AccessToken

	// The catalogue.
	cat := e.Call(t, "GET", "/v1/permissions", tk, nil).Want(t, http.StatusOK, "")
	if cc := cat.Header.Get("Cache-Control"); cc != "private, max-age=300" {
		t.Fatalf("catalogue Cache-Control %q", cc)
	}
	if m := cat.Map(t); len(m["permissions"].([]any)) == 0 || len(m["documentTypes"].([]any)) == 0 {
		t.Fatalf("catalogue %s", cat.Body)
	}

	// The roles: the built-ins only, at version 0.
	list := e.Call(t, "GET", "/v1/roles", tk, nil).Want(t, http.StatusOK, "")
	if list.Header.Get("ETag") != `"0"` || list.Map(t)["version"] != float64(0) {
		t.Fatalf("roles %v %s", list.Header, list.Body)
	}

	// Create a custom role; presets.edit_shared without reports.view warns.
	role := map[string]any{
		"id": "store_buyer", "name": "Store buyer", "description": "Buys for one store",
		"permissions": []string{"purchases.edit", "purchases.view", "presets.edit_shared"},
		"scopeKinds":  []string{"store"},
	}
	created := e.Call(t, "POST", "/v1/roles", tk, role, "Idempotency-Key", "role-1").Want(t, http.StatusCreated, "")
	if created.Header.Get("ETag") != `"1"` || created.Header.Get("Location") != "/v1/roles/store_buyer" {
		t.Fatalf("create headers %v", created.Header)
	}
	if c := created.Map(t); c["builtIn"] != false || len(c["warnings"].([]any)) != 1 {
		t.Fatalf("created %s", created.Body)
	}
	// A retry with the same key replays the answer (without ETag).
	replay := e.Call(t, "POST", "/v1/roles", tk, role, "Idempotency-Key", "role-1").Want(t, http.StatusCreated, "")
	if replay.Header.Get("Idempotent-Replayed") != "true" || string(replay.Body) != string(created.Body) {
		t.Fatalf("replay %v %s", replay.Header, replay.Body)
	}
	e.Call(t, "POST", "/v1/roles", tk, role).Want(t, http.StatusConflict, "role_exists")

	// Read it, with the ETag to change it.
	got := e.Call(t, "GET", "/v1/roles/store_buyer", tk, nil).Want(t, http.StatusOK, "")
	etag := got.Header.Get("ETag")
	if etag != `"1"` {
		t.Fatalf("get ETag %q", etag)
	}
	if _, ok := got.Map(t)["warnings"]; ok {
		t.Fatalf("a read carries no warnings: %s", got.Body)
	}
	e.Call(t, "GET", "/v1/roles/nope", tk, nil).Want(t, http.StatusNotFound, "role_not_found")

	// Change it: If-Match is required and must be current.
	patch := map[string]any{"name": "Store purchaser", "permissions": []string{"purchases.view", "purchases.edit"}}
	e.Call(t, "PATCH", "/v1/roles/store_buyer", tk, patch).Want(t, http.StatusPreconditionRequired, "precondition_required")
	e.Call(t, "PATCH", "/v1/roles/store_buyer", tk, patch, "If-Match", `"7"`).Want(t, http.StatusPreconditionFailed, "stale_version")
	e.Call(t, "PATCH", "/v1/roles/manager", tk, patch, "If-Match", etag).Want(t, http.StatusForbidden, "built_in_role")
	upd := e.Call(t, "PATCH", "/v1/roles/store_buyer", tk, patch, "If-Match", etag).Want(t, http.StatusOK, "")
	if upd.Header.Get("ETag") != `"2"` || upd.Map(t)["name"] != "Store purchaser" {
		t.Fatalf("update %v %s", upd.Header, upd.Body)
	}

	// A member who holds the role at store:s1.
	buyerEmail := newEmail("buyer")
	since := time.Now()
	inv := e.invite(t, tk, map[string]any{"email": buyerEmail, "name": "Bea Buyer",
		"assignments": []map[string]string{{"role": "store_buyer", "scope": "store:s1"}}})
	tok := e.TokenFromEmail(t, buyerEmail, "invit", since)
	e.Call(t, "POST", "/v1/invitations/accept", "", map[string]string{"token": tok, "password": "a good long passphrase"}).Want(t, http.StatusOK, "")

	// Checks: allowed and denied, for the caller and for the member.
	check := func(body map[string]any) map[string]any {
		t.Helper()
		return e.Call(t, "POST", "/v1/authz/check", tk, body).Want(t, http.StatusOK, "").Map(t)
	}
	if c := check(map[string]any{"action": "orders.view", "resource": map[string]any{}}); c["allowed"] != true || c["code"] != "owner" {
		t.Fatalf("owner check %v", c)
	}
	if c := check(map[string]any{"action": "documents.approve", "resource": map[string]any{"type": "invoice", "store": "s1"}}); c["allowed"] != false || c["code"] != "no_approval_step" {
		t.Fatalf("invoice approval %v", c)
	}
	c := check(map[string]any{"action": "purchases.edit", "resource": map[string]any{"store": "s1", "supplier": "acme",
		"docType": "purchase_order", "docStatus": "draft", "approvalRequired": true}, "userId": inv.MemberID})
	if g, _ := c["grantedBy"].(map[string]any); c["allowed"] != true || c["code"] != "role" || g["role"] != "store_buyer" || g["scope"] != "store:s1" {
		t.Fatalf("member check %v", c)
	}
	if c := check(map[string]any{"action": "purchases.edit", "resource": map[string]any{"store": "s2"}, "userId": inv.MemberID}); c["allowed"] != false || c["code"] != "no_grant" || c["missing"] != "purchases.edit" {
		t.Fatalf("member check at s2 %v", c)
	}
	e.Call(t, "POST", "/v1/authz/check", tk, map[string]any{"action": "orders.view", "resource": map[string]any{}, "userId": "m_nobody"}).Want(t, http.StatusNotFound, "user_not_found")
	e.Call(t, "POST", "/v1/authz/check", tk, map[string]any{"action": "orders.view", "resource": map[string]any{}, "admin": true}).Want(t, http.StatusBadRequest, "unknown_field")

	// A batch, answered in order.
	batch := e.Call(t, "POST", "/v1/authz/check-batch", tk, map[string]any{"checks": []map[string]any{
		{"action": "purchases.view", "resource": map[string]any{"store": "s1"}, "userId": inv.MemberID},
		{"action": "purchases.view", "resource": map[string]any{"store": "s2"}, "userId": inv.MemberID},
		{"action": "billing.manage", "resource": map[string]any{}},
	}}).Want(t, http.StatusOK, "").Map(t)["results"].([]any)
	if len(batch) != 3 || batch[0].(map[string]any)["allowed"] != true || batch[1].(map[string]any)["allowed"] != false || batch[2].(map[string]any)["code"] != "owner" {
		t.Fatalf("batch %v", batch)
	}

	// Who can edit purchases at store:s1: the owner and the buyer.
	who := e.Call(t, "GET", "/v1/authz/who-can?action=purchases.edit&store=s1&approvalRequired=false&limit=10", tk, nil).Want(t, http.StatusOK, "").Map(t)
	codes := map[string]string{}
	for _, it := range who["items"].([]any) {
		it := it.(map[string]any)
		codes[it["id"].(string)] = it["code"].(string)
	}
	if who["action"] != "purchases.edit" || codes[owner.MemberID] != "owner" || codes[inv.MemberID] != "role" {
		t.Fatalf("who-can %v", who)
	}
	e.Call(t, "GET", "/v1/authz/who-can?action=purchases.edit&bogus=1", tk, nil).Want(t, http.StatusBadRequest, "unknown_parameter")

	// The caller's own permissions.
	me := e.Call(t, "GET", "/v1/me/permissions", tk, nil).Want(t, http.StatusOK, "")
	if m := me.Map(t); me.Header.Get("Cache-Control") != "no-store" || m["memberId"] != owner.MemberID || m["owner"] != true || m["impersonated"] != false {
		t.Fatalf("me/permissions %v %s", me.Header, me.Body)
	}

	// Delete the role: its holder must go somewhere.
	e.Call(t, "DELETE", "/v1/roles/store_buyer", tk, nil).Want(t, http.StatusConflict, "role_in_use")
	e.Call(t, "DELETE", "/v1/roles/store_buyer?members=sideways", tk, nil).Want(t, http.StatusBadRequest, "invalid_parameter")
	e.Call(t, "DELETE", "/v1/roles/manager", tk, nil).Want(t, http.StatusForbidden, "built_in_role")
	del := e.Call(t, "DELETE", "/v1/roles/store_buyer?members=reassign&to=team_member", tk, nil, "If-Match", `"2"`).Want(t, http.StatusOK, "")
	d := del.Map(t)
	mv := d["members"].(map[string]any)
	if del.Header.Get("ETag") != `"3"` || d["deleted"] != "store_buyer" || d["version"] != float64(3) ||
		mv["action"] != "reassign" || mv["to"] != "team_member" || mv["count"] != float64(1) {
		t.Fatalf("delete %v %s", del.Header, del.Body)
	}
	e.Call(t, "GET", "/v1/roles/store_buyer", tk, nil).Want(t, http.StatusNotFound, "role_not_found")
}

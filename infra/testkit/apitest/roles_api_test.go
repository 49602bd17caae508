package apitest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/permissions"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
)

func TestCatalogueListsEveryPermission(t *testing.T) {
	e := newPermEnv(t)
	body := e.do(e.owner, "GET", "/v1/permissions", nil).ok(t, http.StatusOK)
	perms := body["permissions"].([]any)
	if len(perms) != len(rbac.Permissions()) {
		t.Fatalf("%d permissions, catalogue has %d", len(perms), len(rbac.Permissions()))
	}
	found := false
	for _, p := range perms {
		p := p.(map[string]any)
		if p["key"] == "presets.edit_shared" {
			found = true
			if fmt.Sprint(p["requires"]) != "[reports.view]" || p["area"] != "reports" || p["tier"] != "normal" || p["description"] == "" {
				t.Fatalf("presets.edit_shared: %v", p)
			}
		}
		if p["key"] == "billing.manage" && p["tier"] != "critical" {
			t.Fatalf("billing.manage: %v", p)
		}
	}
	if !found || len(body["tiers"].([]any)) != 3 || len(body["areas"].([]any)) == 0 || len(body["documentActions"].([]any)) != 5 {
		t.Fatalf("catalogue %s", e.do(e.owner, "GET", "/v1/permissions", nil).body)
	}
	e.do(e.owner, "GET", "/v1/permissions?x=1", nil).problem(t, http.StatusBadRequest, "unknown_parameter")
}

func TestRolesListAndGet(t *testing.T) {
	e := newPermEnv(t)
	tm := e.member(e.acct, "Tina", "team_member@store:s1")
	r := e.do(tm, "GET", "/v1/roles", nil)
	body := r.ok(t, http.StatusOK)
	if r.header.Get("ETag") != `"0"` {
		t.Fatalf("etag %q", r.header.Get("ETag"))
	}
	roles := body["roles"].([]any)
	if len(roles) != len(rbac.BuiltInRoles()) {
		t.Fatalf("%d roles, want the %d built-ins", len(roles), len(rbac.BuiltInRoles()))
	}
	for _, x := range roles {
		x := x.(map[string]any)
		if x["builtIn"] != true || len(x["permissions"].([]any)) == 0 || len(x["scopeKinds"].([]any)) == 0 {
			t.Fatalf("role %v", x)
		}
	}
	sup := e.do(tm, "GET", "/v1/roles/supplier", nil).ok(t, http.StatusOK)
	if fmt.Sprint(sup["scopeKinds"]) != "[supplier]" {
		t.Fatalf("supplier %v", sup)
	}
	e.do(tm, "GET", "/v1/roles/nope", nil).problem(t, http.StatusNotFound, "role_not_found")
}

// The scenario: an owner creates a custom role, assigns it at
// store:s1; the check allows at store:s1 and denies at store:s2, with
// reasons; removing the grant changes the very next check.
func TestOwnerCreatesRoleAssignsAndChecks(t *testing.T) {
	e := newPermEnv(t)
	r := e.do(e.owner, "POST", "/v1/roles", map[string]any{
		"id": "store_buyer", "name": "Store buyer", "description": "Buys for one store",
		"permissions": []string{"purchases.edit", "purchases.view", "presets.edit_shared"},
		"scopeKinds":  []string{"store"},
	})
	created := r.ok(t, http.StatusCreated)
	if r.header.Get("ETag") != `"1"` || r.header.Get("Location") != "/v1/roles/store_buyer" {
		t.Fatalf("headers %v", r.header)
	}
	if fmt.Sprint(created["permissions"]) != "[purchases.view purchases.edit presets.edit_shared]" || created["builtIn"] != false {
		t.Fatalf("created %v", created)
	}
	ws := created["warnings"].([]any)
	if len(ws) != 1 || !strings.Contains(ws[0].(map[string]any)["message"].(string), "presets.edit_shared is useless without reports.view") {
		t.Fatalf("warnings %v", ws)
	}
	if e.auditCount(e.acct, "role.create") != 1 {
		t.Fatal("no role.create event")
	}
	got := e.do(e.owner, "GET", "/v1/roles/store_buyer", nil)
	if got.ok(t, http.StatusOK)["name"] != "Store buyer" || got.header.Get("ETag") != `"1"` {
		t.Fatalf("get %s", got.body)
	}

	bob := e.member(e.acct, "Bob")
	bob = e.assign(bob, "store_buyer@store:s1")

	at := func(storeID string) map[string]any {
		return e.do(e.owner, "POST", "/v1/authz/check", permCheck("purchases.edit", map[string]any{"type": "purchase_order", "id": "po-1", "store": storeID}, bob.ID)).ok(t, http.StatusOK)
	}
	allowed := at("s1")
	if allowed["allowed"] != true || allowed["code"] != "role" || allowed["reason"] != `allowed by role "store_buyer" at store:s1` {
		t.Fatalf("at s1: %v", allowed)
	}
	if g := allowed["grantedBy"].(map[string]any); g["role"] != "store_buyer" || g["scope"] != "store:s1" {
		t.Fatalf("grantedBy %v", g)
	}
	denied := at("s2")
	if denied["allowed"] != false || denied["code"] != "no_grant" || denied["reason"] != "denied: no role grants purchases.edit at store:s2" || denied["grantedBy"] != nil {
		t.Fatalf("at s2: %v", denied)
	}
	// Bob asks for himself: the same answer.
	self := e.do(bob, "POST", "/v1/authz/check", permCheck("purchases.edit", map[string]any{"store": "s1"}, "")).ok(t, http.StatusOK)
	if self["allowed"] != true {
		t.Fatalf("self: %v", self)
	}
	// Removing the grant changes the very next check.
	e.assign(bob, "team_member@store:s1")
	if again := at("s1"); again["allowed"] != false || again["code"] != "no_grant" {
		t.Fatalf("after removing the grant: %v", again)
	}
	self = e.do(bob, "POST", "/v1/authz/check", permCheck("purchases.edit", map[string]any{"store": "s1"}, "")).ok(t, http.StatusOK)
	if self["allowed"] != false {
		t.Fatalf("self after removal: %v", self)
	}
}

func TestRoleManagementNeedsSettingsAndTheCeiling(t *testing.T) {
	e := newPermEnv(t)
	role := func(id string, perms ...string) map[string]any {
		return map[string]any{"id": id, "name": id, "permissions": perms}
	}
	manager := e.member(e.acct, "Mona", "manager@store:s1")
	d := e.do(manager, "POST", "/v1/roles", role("x_role", "orders.view")).problem(t, http.StatusForbidden, "forbidden")
	if !strings.Contains(d, "settings.manage") {
		t.Fatalf("detail %q", d)
	}
	junior := e.member(e.acct, "Jun", "junior_admin@store:s1")
	e.do(junior, "POST", "/v1/roles", role("x_role", "orders.view")).problem(t, http.StatusForbidden, "forbidden")

	// A clerk with settings.manage and orders.view at account scope.
	e.do(e.owner, "POST", "/v1/roles", role("settings_clerk", "settings.manage", "orders.view")).ok(t, http.StatusCreated)
	clerk := e.member(e.acct, "Cleo", "settings_clerk@account")
	d = e.do(clerk, "POST", "/v1/roles", role("payout_viewer", "orders.view", "finance.payouts.view")).problem(t, http.StatusForbidden, "exceeds_own_rights")
	if !strings.Contains(d, "finance.payouts.view") || strings.Contains(d, "orders.view") {
		t.Fatalf("detail %q should name only the missing permission", d)
	}
	// Held at a store only is not enough: roles are account-wide objects.
	e.assign(clerk, "settings_clerk@account", "accountant@store:s1")
	e.do(clerk, "POST", "/v1/roles", role("payout_viewer", "finance.payouts.view")).problem(t, http.StatusForbidden, "exceeds_own_rights")
	e.do(clerk, "POST", "/v1/roles", role("order_viewer", "orders.view")).ok(t, http.StatusCreated)
	// Nothing was written by the refusals.
	if v := e.rolesVersion(e.acct); v != 2 {
		t.Fatalf("roles version %d, want 2", v)
	}
	// The clerk cannot change or delete a role stronger than itself.
	e.do(e.owner, "POST", "/v1/roles", role("payouts", "finance.payouts.view")).ok(t, http.StatusCreated)
	e.do(clerk, "PATCH", "/v1/roles/payouts", map[string]any{"name": "Renamed"}, "If-Match", `"3"`).problem(t, http.StatusForbidden, "exceeds_own_rights")
	e.do(clerk, "DELETE", "/v1/roles/payouts", nil).problem(t, http.StatusForbidden, "exceeds_own_rights")
	e.do(clerk, "PATCH", "/v1/roles/order_viewer", map[string]any{"permissions": []string{"orders.view", "billing.manage"}}, "If-Match", `"3"`).problem(t, http.StatusBadRequest, "reserved_permission")
}

func TestCreateRoleBadInput(t *testing.T) {
	e := newPermEnv(t)
	for name, tc := range map[string]struct {
		body   any
		status int
		code   string
	}{
		"unknown field":       {map[string]any{"id": "r1", "name": "R", "permissions": []string{"orders.view"}, "admin": true}, 400, "unknown_field"},
		"no id":               {map[string]any{"name": "R", "permissions": []string{"orders.view"}}, 400, "missing_field"},
		"no name":             {map[string]any{"id": "r1", "name": "  ", "permissions": []string{"orders.view"}}, 400, "missing_field"},
		"no permissions":      {map[string]any{"id": "r1", "name": "R", "permissions": []string{}}, 400, "missing_field"},
		"bad id":              {map[string]any{"id": "R 1", "name": "R", "permissions": []string{"orders.view"}}, 400, "invalid_role"},
		"unknown permission":  {map[string]any{"id": "r1", "name": "R", "permissions": []string{"orders.fly"}}, 400, "unknown_permission"},
		"critical permission": {map[string]any{"id": "r1", "name": "R", "permissions": []string{"sync.manage"}}, 400, "reserved_permission"},
		"owner permission":    {map[string]any{"id": "r1", "name": "R", "permissions": []string{"account.close"}}, 400, "reserved_permission"},
		"duplicate":           {map[string]any{"id": "r1", "name": "R", "permissions": []string{"orders.view", "orders.view"}}, 400, "invalid_role"},
		"bad scope kind":      {map[string]any{"id": "r1", "name": "R", "permissions": []string{"orders.view"}, "scopeKinds": []string{"galaxy"}}, 400, "invalid_role"},
		"built-in id":         {map[string]any{"id": "manager", "name": "R", "permissions": []string{"orders.view"}}, 409, "role_exists"},
		"not json":            {"{", 400, "invalid_json"},
	} {
		t.Run(name, func(t *testing.T) {
			e.do(e.owner, "POST", "/v1/roles", tc.body).problem(t, tc.status, tc.code)
		})
	}
	if v := e.rolesVersion(e.acct); v != 0 {
		t.Fatalf("a refused request wrote the roles (version %d)", v)
	}
	e.do(e.owner, "POST", "/v1/roles", map[string]any{"id": "r1", "name": "R", "permissions": []string{"orders.view"}}).ok(t, http.StatusCreated)
	e.do(e.owner, "POST", "/v1/roles", map[string]any{"id": "r1", "name": "R", "permissions": []string{"orders.view"}}).problem(t, http.StatusConflict, "role_exists")
}

func TestUpdateRoleNeedsIfMatch(t *testing.T) {
	e := newPermEnv(t)
	e.do(e.owner, "POST", "/v1/roles", map[string]any{"id": "viewer", "name": "Viewer", "permissions": []string{"orders.view"}}).ok(t, http.StatusCreated)
	patch := map[string]any{"name": "Order viewer", "permissions": []string{"orders.view", "orders.close"}}
	e.do(e.owner, "PATCH", "/v1/roles/viewer", patch).problem(t, http.StatusPreconditionRequired, "precondition_required")
	e.do(e.owner, "PATCH", "/v1/roles/viewer", patch, "If-Match", `"7"`).problem(t, http.StatusPreconditionFailed, "stale_version")
	e.do(e.owner, "PATCH", "/v1/roles/viewer", map[string]any{"id": "other"}, "If-Match", `"1"`).problem(t, http.StatusBadRequest, "unknown_field")
	e.do(e.owner, "PATCH", "/v1/roles/viewer", map[string]any{}, "If-Match", `"1"`).problem(t, http.StatusBadRequest, "empty_update")
	e.do(e.owner, "PATCH", "/v1/roles/viewer", map[string]any{"permissions": []string{}}, "If-Match", `"1"`).problem(t, http.StatusBadRequest, "invalid_field")
	e.do(e.owner, "PATCH", "/v1/roles/manager", patch, "If-Match", `"1"`).problem(t, http.StatusForbidden, "built_in_role")
	e.do(e.owner, "DELETE", "/v1/roles/manager", nil).problem(t, http.StatusForbidden, "built_in_role")
	e.do(e.owner, "PATCH", "/v1/roles/ghost", patch, "If-Match", `"1"`).problem(t, http.StatusNotFound, "role_not_found")
	if v := e.rolesVersion(e.acct); v != 1 {
		t.Fatalf("version %d after refusals, want 1", v)
	}
	r := e.do(e.owner, "PATCH", "/v1/roles/viewer", patch, "If-Match", `"1"`)
	body := r.ok(t, http.StatusOK)
	if r.header.Get("ETag") != `"2"` || body["name"] != "Order viewer" || fmt.Sprint(body["permissions"]) != "[orders.view orders.close]" {
		t.Fatalf("updated %v %s", r.header, r.body)
	}
	// The old ETag is stale now.
	e.do(e.owner, "PATCH", "/v1/roles/viewer", patch, "If-Match", `"1"`).problem(t, http.StatusPreconditionFailed, "stale_version")
	if e.auditCount(e.acct, "role.update") != 1 {
		t.Fatal("want one role.update event")
	}
}

func TestNarrowingScopeKindsInUseIsRefused(t *testing.T) {
	e := newPermEnv(t)
	e.do(e.owner, "POST", "/v1/roles", map[string]any{"id": "viewer", "name": "Viewer", "permissions": []string{"orders.view"}}).ok(t, http.StatusCreated)
	m := e.member(e.acct, "Sam")
	e.assign(m, "viewer@store:s1")
	e.do(e.owner, "PATCH", "/v1/roles/viewer", map[string]any{"scopeKinds": []string{"account"}}, "If-Match", `"1"`).problem(t, http.StatusConflict, "role_in_use")
	e.do(e.owner, "PATCH", "/v1/roles/viewer", map[string]any{"scopeKinds": []string{"store"}}, "If-Match", `"1"`).ok(t, http.StatusOK)
}

func TestDeleteRoleInUse(t *testing.T) {
	e := newPermEnv(t)
	e.do(e.owner, "POST", "/v1/roles", map[string]any{"id": "buyer", "name": "Buyer", "permissions": []string{"purchases.view", "purchases.edit"}}).ok(t, http.StatusCreated)
	a := e.assign(e.member(e.acct, "Ann"), "buyer@store:s1", "team_member@store:s2")
	b := e.assign(e.member(e.acct, "Ben"), "buyer@store:s1", "team_member@store:s1")
	c := e.member(e.acct, "Cid", "team_member@store:s1")

	d := e.do(e.owner, "DELETE", "/v1/roles/buyer", nil).problem(t, http.StatusConflict, "role_in_use")
	if !strings.Contains(d, "2 member(s)") || !strings.Contains(d, "members=reassign") {
		t.Fatalf("detail %q", d)
	}
	if n := e.do(e.owner, "DELETE", "/v1/roles/buyer", nil).json(t)["members"]; n != float64(2) {
		t.Fatalf("members %v", n)
	}
	for q, code := range map[string]string{
		"?members=later":                  "invalid_parameter",
		"?members=reassign":               "missing_parameter",
		"?members=remove&to=team_member":  "invalid_parameter",
		"?members=reassign&to=nope":       "unknown_role",
		"?members=reassign&to=buyer":      "invalid_parameter",
		"?members=reassign&to=x&also=1":   "unknown_parameter",
		"?members=remove&members=remove":  "invalid_parameter",
		"?members=reassign&to=supplier":   "", // 409 below: supplier only at supplier scopes
		"?members=reassign&to=%zz":        "invalid_query",
		"?members=reassign&to=team_membe": "unknown_role",
	} {
		r := e.do(e.owner, "DELETE", "/v1/roles/buyer"+q, nil)
		if code == "" {
			r.problem(t, http.StatusConflict, "reassign_not_allowed")
			continue
		}
		r.problem(t, http.StatusBadRequest, code)
	}
	e.do(e.owner, "DELETE", "/v1/roles/buyer", nil, "If-Match", `"9"`).problem(t, http.StatusPreconditionFailed, "stale_version")
	if v := e.rolesVersion(e.acct); v != 1 {
		t.Fatalf("refusals changed the roles: version %d", v)
	}

	r := e.do(e.owner, "DELETE", "/v1/roles/buyer?members=reassign&to=team_member", nil, "If-Match", `"1"`)
	body := r.ok(t, http.StatusOK)
	moves := body["members"].(map[string]any)
	if moves["action"] != "reassign" || moves["to"] != "team_member" || moves["count"] != float64(2) || r.header.Get("ETag") != `"2"` {
		t.Fatalf("delete answered %s", r.body)
	}
	for _, tc := range []struct {
		id   string
		want []string
	}{
		{a.ID, []string{"team_member@store:s1", "team_member@store:s2"}},
		{b.ID, []string{"team_member@store:s1"}}, // no duplicate
		{c.ID, []string{"team_member@store:s1"}}, // untouched
	} {
		m, err := e.store.GetMember(context.Background(), e.acct, tc.id)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, x := range m.Assignments {
			got = append(got, x.String())
		}
		if !slices.Equal(got, tc.want) {
			t.Fatalf("member %s: %v, want %v", tc.id, got, tc.want)
		}
	}
	e.do(e.owner, "GET", "/v1/roles/buyer", nil).problem(t, http.StatusNotFound, "role_not_found")
	if e.auditCount(e.acct, "role.delete") != 1 {
		t.Fatal("want one role.delete event")
	}

	// members=remove drops the assignments; a role nobody holds needs no
	// parameter.
	e.do(e.owner, "POST", "/v1/roles", map[string]any{"id": "temp", "name": "Temp", "permissions": []string{"orders.view"}}).ok(t, http.StatusCreated)
	e.assign(c, "temp@account", "team_member@store:s1")
	e.do(e.owner, "DELETE", "/v1/roles/temp?members=remove", nil).ok(t, http.StatusOK)
	m, _ := e.store.GetMember(context.Background(), e.acct, c.ID)
	if len(m.Assignments) != 1 || m.Assignments[0].Role != "team_member" {
		t.Fatalf("after remove: %v", m.Assignments)
	}
	e.do(e.owner, "POST", "/v1/roles", map[string]any{"id": "unused", "name": "Unused", "permissions": []string{"orders.view"}}).ok(t, http.StatusCreated)
	e.do(e.owner, "DELETE", "/v1/roles/unused", nil).ok(t, http.StatusOK)
}

func TestDeleteRoleCannotChangeOwnGrants(t *testing.T) {
	e := newPermEnv(t)
	e.do(e.owner, "POST", "/v1/roles", map[string]any{"id": "boss", "name": "Boss", "permissions": []string{"settings.manage", "users.view", "users.manage", "orders.view"}}).ok(t, http.StatusCreated)
	boss := e.member(e.acct, "Bea")
	e.assign(boss, "boss@account", "full_access@account")
	e.do(boss, "DELETE", "/v1/roles/boss?members=remove", nil).problem(t, http.StatusForbidden, "self_change")
}

// TestDeleteRoleWithManyMembers: a role held by 150 members (more than
// one transaction moves) is deleted with reassignment in one request: it
// is marked, its holders move in chunks, and the last chunk deletes it.
// (Before chunked deletions this was 409 too_many_members.)
func TestDeleteRoleWithManyMembers(t *testing.T) {
	e := newPermEnv(t)
	e.do(e.owner, "POST", "/v1/roles", map[string]any{"id": "crowd", "name": "Crowd", "permissions": []string{"orders.view"}}).ok(t, http.StatusCreated)
	const n = 150
	ids := crowd(e, n)
	r := e.do(e.owner, "DELETE", "/v1/roles/crowd?members=reassign&to=team_member", nil)
	body := r.ok(t, http.StatusOK)
	moves := body["members"].(map[string]any)
	if moves["action"] != "reassign" || moves["to"] != "team_member" || moves["count"] != float64(n) || len(moves["ids"].([]any)) != n || r.header.Get("ETag") != `"3"` {
		t.Fatalf("delete answered %d %v %s", r.status, r.header, r.body)
	}
	wantMoved(t, e, ids)
	e.do(e.owner, "GET", "/v1/roles/crowd", nil).problem(t, http.StatusNotFound, "role_not_found")
	if e.auditCount(e.acct, "role.delete") != 1 || e.auditCount(e.acct, "role.delete_started") != 1 || e.auditCount(e.acct, "role.members_moved") != 1 {
		t.Fatal("want one role.delete_started, one role.members_moved and one role.delete event")
	}
	if d := e.api.danglingAssignments(t, e.acct); len(d) > 0 {
		t.Fatalf("dangling assignments: %v", d)
	}
}

// TestDeleteRoleResumes: a deletion whose time budget runs out answers 202
// with the role marked "deleting" and its holdersLeft; meanwhile nobody can
// be given the role or change it, a DELETE with other parameters is
// refused, and the next DELETE finishes the work.
func TestDeleteRoleResumes(t *testing.T) {
	e := newPermEnvWith(t, func(s *permissions.Service) { s.DeleteBudget = time.Nanosecond })
	e.do(e.owner, "POST", "/v1/roles", map[string]any{"id": "crowd", "name": "Crowd", "permissions": []string{"orders.view"}}).ok(t, http.StatusCreated)
	const n = 150
	ids := crowd(e, n)
	r := e.do(e.owner, "DELETE", "/v1/roles/crowd?members=reassign&to=team_member", nil)
	body := r.ok(t, http.StatusAccepted)
	left := n - store.MaxMembersPerRoleChange
	if body["status"] != "deleting" || body["holdersLeft"] != float64(left) || body["members"].(map[string]any)["count"] != float64(store.MaxMembersPerRoleChange) ||
		r.header.Get("Location") != "/v1/roles/crowd" {
		t.Fatalf("202 answered %s", r.body)
	}
	got := e.do(e.owner, "GET", "/v1/roles/crowd", nil).ok(t, http.StatusOK)
	if got["status"] != "deleting" || got["holdersLeft"] != float64(left) || got["deletion"].(map[string]any)["to"] != "team_member" {
		t.Fatalf("GET of a role being deleted: %v", got)
	}
	etag := fmt.Sprintf(`"%d"`, e.rolesVersion(e.acct))
	e.do(e.owner, "PATCH", "/v1/roles/crowd", map[string]any{"name": "Renamed"}, "If-Match", etag).problem(t, http.StatusConflict, "role_deleting")
	e.do(e.owner, "DELETE", "/v1/roles/crowd?members=remove", nil).problem(t, http.StatusConflict, "role_deleting")
	late := e.member(e.acct, "Late")
	m, err := e.store.GetMember(context.Background(), e.acct, late.ID)
	if err != nil {
		t.Fatal(err)
	}
	m.Assignments = permAssignments(t, "crowd@store:s1")
	if _, err := e.store.UpdateMember(context.Background(), m, audit.Event{AccountID: e.acct, Action: "member.update"}); !errors.Is(err, store.ErrRoleGone) {
		t.Fatalf("grant of a role being deleted: %v", err)
	}
	body = e.do(e.owner, "DELETE", "/v1/roles/crowd", nil).ok(t, http.StatusOK)
	if body["members"].(map[string]any)["count"] != float64(left) {
		t.Fatalf("resumed deletion answered %v", body)
	}
	wantMoved(t, e, ids)
	e.do(e.owner, "GET", "/v1/roles/crowd", nil).problem(t, http.StatusNotFound, "role_not_found")
	if d := e.api.danglingAssignments(t, e.acct); len(d) > 0 {
		t.Fatalf("dangling assignments: %v", d)
	}
}

// crowd adds n members holding crowd@store:s1 and returns their ids.
func crowd(e *permEnv, n int) []string {
	ids := make([]string, 0, n)
	for i := range n {
		ids = append(ids, e.member(e.acct, fmt.Sprint("member ", i), "crowd@store:s1").ID)
	}
	return ids
}

// wantMoved checks that every member of ids holds team_member@store:s1
// instead of the crowd role.
func wantMoved(t *testing.T, e *permEnv, ids []string) {
	t.Helper()
	for _, id := range ids {
		m, err := e.store.GetMember(context.Background(), e.acct, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Assignments) != 1 || m.Assignments[0].String() != "team_member@store:s1" {
			t.Fatalf("member %s: %v", id, m.Assignments)
		}
	}
}

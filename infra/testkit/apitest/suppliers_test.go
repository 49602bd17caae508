package apitest

import (
	"net/http"
	"slices"
	"testing"

	"github.com/stewardhq/steward/pkg/rbac"
)

// Suppliers are the third kind of scope item: registered with PUT
// /v1/suppliers/{id}, listed and read like stores, and the only suppliers
// that assignments may name.
func TestSuppliers(t *testing.T) {
	e := New(t)
	owner, tk := e.acctOwner(t, "suppliers")

	r := e.Call(t, "PUT", "/v1/suppliers/acme", tk, map[string]any{"name": "Acme Supply"}).Want(t, http.StatusCreated, "")
	wantETag(t, r, `"1"`)
	if p := r.Map(t); p["id"] != "acme" || p["name"] != "Acme Supply" || p["version"] != float64(1) || p["createdAt"] == nil {
		t.Fatalf("created supplier %v", p)
	}
	e.Call(t, "PUT", "/v1/suppliers/bolt", tk, map[string]any{"name": "Bolt & Co"}).Want(t, http.StatusCreated, "")
	e.Call(t, "PUT", "/v1/suppliers/acme", tk, map[string]any{"name": "Again"}).Want(t, http.StatusPreconditionRequired, "precondition_required")
	r = e.Call(t, "PUT", "/v1/suppliers/acme", tk, map[string]any{"name": "Acme Supply EU"}, "If-Match", `"1"`).Want(t, http.StatusOK, "")
	wantETag(t, r, `"2"`)
	e.Call(t, "PUT", "/v1/suppliers/acme", tk, map[string]any{"name": "Lost"}, "If-Match", `"1"`).Want(t, http.StatusPreconditionFailed, "stale_version")
	r = e.Call(t, "GET", "/v1/suppliers/acme", tk, nil).Want(t, http.StatusOK, "")
	wantETag(t, r, `"2"`)
	if p := r.Map(t); p["name"] != "Acme Supply EU" {
		t.Fatalf("supplier %v", p)
	}
	e.Call(t, "GET", "/v1/suppliers/nope", tk, nil).Want(t, http.StatusNotFound, "not_found")
	e.Call(t, "GET", "/v1/suppliers/bad.id", tk, nil).Want(t, http.StatusBadRequest, "invalid_field")
	e.Call(t, "PUT", "/v1/suppliers/c", tk, map[string]any{"name": ""}).Want(t, http.StatusBadRequest, "invalid_field")
	e.Call(t, "PUT", "/v1/suppliers/c", tk, map[string]any{"name": "C", "kind": "x"}).Want(t, http.StatusBadRequest, "unknown_field")
	ids, pages := e.acctList(t, tk, "/v1/suppliers", 1)
	if !slices.Equal(ids, []string{"acme", "bolt"}) || pages < 2 {
		t.Fatalf("suppliers %v in %d pages", ids, pages)
	}

	// The audit log has the supplier's creation and replacement.
	var audit struct {
		Items []struct {
			Action string `json:"action"`
		} `json:"items"`
	}
	e.Call(t, "GET", "/v1/audit?target=supplier:acme", tk, nil).Want(t, http.StatusOK, "").JSON(t, &audit)
	var actions []string
	for _, ev := range audit.Items {
		actions = append(actions, ev.Action)
	}
	if !slices.Equal(actions, []string{"supplier.replace", "supplier.create"}) {
		t.Fatalf("audit of supplier acme: %v", actions)
	}

	// A supplier's user sees its own supplier only; a team member none.
	_, supTk := e.acctMember(t, owner, []rbac.Assignment{{Role: "supplier", Scope: rbac.SupplierScope("acme")}})
	e.Call(t, "GET", "/v1/suppliers/acme", supTk, nil).Want(t, http.StatusOK, "")
	e.Call(t, "GET", "/v1/suppliers/bolt", supTk, nil).Want(t, http.StatusForbidden, "forbidden")
	if ids, _ := e.acctList(t, supTk, "/v1/suppliers", 10); !slices.Equal(ids, []string{"acme"}) {
		t.Fatalf("the supplier's user lists %v", ids)
	}
	e.Call(t, "PUT", "/v1/suppliers/acme", supTk, map[string]any{"name": "Mine"}, "If-Match", `"2"`).Want(t, http.StatusForbidden, "")
	_, tmTk := e.acctMember(t, owner, []rbac.Assignment{{Role: "team_member", Scope: rbac.AccountScope}})
	e.Call(t, "GET", "/v1/suppliers", tmTk, nil).Want(t, http.StatusForbidden, "forbidden")

	// Another tenant's supplier is not found, and not changed.
	_, otherTk := e.acctOwner(t, "suppliers-other")
	e.Call(t, "GET", "/v1/suppliers/acme", otherTk, nil).Want(t, http.StatusNotFound, "not_found")
	if ids, _ := e.acctList(t, otherTk, "/v1/suppliers", 10); len(ids) != 0 {
		t.Fatalf("another tenant lists %v", ids)
	}
	e.Call(t, "PUT", "/v1/suppliers/acme", otherTk, map[string]any{"name": "Theirs"}, "If-Match", `"2"`).Want(t, http.StatusPreconditionFailed, "stale_version")
	if p := e.Call(t, "GET", "/v1/suppliers/acme", tk, nil).Want(t, http.StatusOK, "").Map(t); p["name"] != "Acme Supply EU" {
		t.Fatalf("supplier after another tenant's PUT %v", p)
	}
}

// Assignments may name only registered suppliers, like stores and
// departments: invitations, new users, PATCH /v1/users/{id} and access
// requests refuse an unknown one.
func TestAssignmentsMustNameRegisteredSuppliers(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("sup-scopes"))
	tk := e.login(t, owner.Email, goodPassword, "").AccessToken
	unknown := []map[string]string{{"role": "supplier", "scope": "supplier:nope"}}
	e.Call(t, "POST", "/v1/invitations", tk, map[string]any{"email": newEmail("x"), "assignments": unknown}).Want(t, http.StatusBadRequest, "unknown_scope")
	e.Call(t, "POST", "/v1/users", tk, map[string]any{"email": newEmail("y"), "name": "Y", "assignments": unknown}).Want(t, http.StatusBadRequest, "unknown_scope")
	id, memberTk := e.join(t, tk, newEmail("sup-member"), store1("team_member"))
	e.Call(t, "PATCH", "/v1/users/"+id, tk, map[string]any{"assignments": unknown}, "If-Match", e.mbETag(t, tk, id)).Want(t, http.StatusBadRequest, "unknown_scope")
	e.Call(t, "POST", "/v1/access-requests", memberTk.AccessToken, map[string]any{"role": "supplier", "scope": "supplier:nope", "reason": "Need it"}).Want(t, http.StatusBadRequest, "unknown_scope")
	// Another tenant's supplier is unknown here too.
	_, otherTk := e.acctOwner(t, "sup-scopes-other")
	e.Call(t, "PUT", "/v1/suppliers/theirs", otherTk, map[string]any{"name": "Theirs"}).Want(t, http.StatusCreated, "")
	e.Call(t, "POST", "/v1/invitations", tk, map[string]any{"email": newEmail("t"), "assignments": []map[string]string{{"role": "supplier", "scope": "supplier:theirs"}}}).Want(t, http.StatusBadRequest, "unknown_scope")
	// Once registered, the supplier may be assigned.
	e.Call(t, "PUT", "/v1/suppliers/nope", tk, map[string]any{"name": "Nope Ltd"}).Want(t, http.StatusCreated, "")
	e.Call(t, "POST", "/v1/invitations", tk, map[string]any{"email": newEmail("z"), "assignments": unknown}).Want(t, http.StatusCreated, "")
	e.Call(t, "PATCH", "/v1/users/"+id, tk, map[string]any{"assignments": unknown}, "If-Match", e.mbETag(t, tk, id)).Want(t, http.StatusOK, "")
}

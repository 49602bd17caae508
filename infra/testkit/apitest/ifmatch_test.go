package apitest

import (
	"net/http"
	"testing"

	"github.com/stewardhq/steward/pkg/rbac"
)

// TestIfMatchOneRule replays issue 20's If-Match "0" on a member and a
// role: every route reads If-Match by the one rule (httpapi.ParseIfMatch,
// RFC 9110). A well-formed entity tag that does not match ("0", an unknown
// version, a weak tag, a tag naming no version) is 412 stale_version; only
// a malformed header is 400 invalid_field; "*" matches what is stored.
func TestIfMatchOneRule(t *testing.T) {
	e := New(t)
	owner, tk := e.acctOwner(t, "ifm-owner")
	id, _ := e.acctMember(t, owner, []rbac.Assignment{at("team_member", "account")})
	e.Call(t, "POST", "/v1/roles", tk, map[string]any{"id": "buyer", "name": "Buyer", "permissions": []string{"orders.view"}}).Want(t, http.StatusCreated, "")

	for _, c := range []struct {
		name, method, path string
		body               any
	}{
		{"member", "PATCH", "/v1/users/" + id, map[string]any{"name": "Renamed"}},
		{"role", "PATCH", "/v1/roles/buyer", map[string]any{"name": "Renamed"}},
	} {
		etag := e.Call(t, "GET", c.path, tk, nil).Want(t, http.StatusOK, "").Header.Get("ETag")
		for _, h := range []string{`"0"`, `"999"`, `"abc"`, `""`, "W/" + etag, `W/"0"`, `"-1"`} {
			if r := e.Call(t, c.method, c.path, tk, c.body, "If-Match", h); r.Status != http.StatusPreconditionFailed || r.Code() != "stale_version" {
				t.Errorf("%s: If-Match %s answered %d %s, want 412 stale_version", c.name, h, r.Status, r.Body)
			}
		}
		for _, h := range []string{"0", "abc", `"1`, `"1" "2"`, `*, "1"`, "W/1", ","} {
			if r := e.Call(t, c.method, c.path, tk, c.body, "If-Match", h); r.Status != http.StatusBadRequest || r.Code() != "invalid_field" {
				t.Errorf("%s: If-Match %s answered %d %s, want 400 invalid_field", c.name, h, r.Status, r.Body)
			}
		}
		e.Call(t, c.method, c.path, tk, c.body).Want(t, http.StatusPreconditionRequired, "precondition_required")
		e.Call(t, c.method, c.path, tk, c.body, "If-Match", `"0", `+etag).Want(t, http.StatusOK, "")
		e.Call(t, c.method, c.path, tk, map[string]any{"name": "Again"}, "If-Match", "*").Want(t, http.StatusOK, "")
	}
	// The lifecycle POSTs and DELETEs follow the same rule.
	e.Call(t, "POST", "/v1/users/"+id+"/suspend", tk, nil, "If-Match", `"0"`).Want(t, http.StatusPreconditionFailed, "stale_version")
	e.Call(t, "POST", "/v1/users/"+id+"/suspend", tk, nil, "If-Match", `0`).Want(t, http.StatusBadRequest, "invalid_field")
	e.Call(t, "DELETE", "/v1/roles/buyer", tk, nil, "If-Match", `"0"`).Want(t, http.StatusPreconditionFailed, "stale_version")
	e.Call(t, "DELETE", "/v1/roles/buyer", tk, nil, "If-Match", `0`).Want(t, http.StatusBadRequest, "invalid_field")
	e.Call(t, "DELETE", "/v1/roles/buyer", tk, nil, "If-Match", `*`).Want(t, http.StatusOK, "")
}

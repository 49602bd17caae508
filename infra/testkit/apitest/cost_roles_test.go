package apitest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/rbac"
)

// manyRolesBudget bounds what an account with 100 realistic custom roles
// costs: a check naming userId (authentication plus the other member's
// facts) and a member write that grants a custom role. Neither may grow
// with the number or the size of the account's roles. Measured with one
// item per role and the per-version cache: 5.0 RRU and 14.0 WRU (with the
// roles in one item they were 39.0 RRU and 156.0 WRU); a check about
// oneself reads only what authentication reads.
var manyRolesBudget = struct{ checkRead, grantWrite float64 }{checkRead: 5, grantWrite: 15}

// realisticRoles are n custom roles of 20 normal-tier permissions each,
// with a description of a few hundred bytes: what a tenant with a large
// custom role catalogue stores.
func realisticRoles(n int) []map[string]any {
	var keys []string
	for _, p := range rbac.Permissions() {
		if p.Tier == rbac.TierNormal {
			keys = append(keys, p.Key)
		}
	}
	out := make([]map[string]any, 0, n)
	for i := range n {
		perms := make([]string, 0, 20)
		for j := 0; len(perms) < 20 && j < len(keys); j++ {
			k := keys[(i*7+j)%len(keys)]
			perms = append(perms, k)
		}
		out = append(out, map[string]any{
			"id": fmt.Sprintf("custom_role_%03d", i), "name": fmt.Sprintf("Custom role %d", i),
			"description": strings.Repeat(fmt.Sprintf("Role %d of a large catalogue, for one team of the tenant. ", i), 5),
			"permissions": perms,
		})
	}
	return out
}

// TestCostWithManyCustomRoles measures, with 100 realistic custom roles,
// the read units of one check naming userId and the write units of one
// member write granting a custom role, and fails above manyRolesBudget.
func TestCostWithManyCustomRoles(t *testing.T) {
	meter := &testenv.Capacity{}
	e := New(t, withDynamoOptions(t, meter.Option))
	owner := e.signup(t, newEmail("mr-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	member, memberTk := e.join(t, ownerTk, newEmail("mr-member"), store1("team_member"))
	for _, r := range realisticRoles(100) {
		if res := e.Call(t, "POST", "/v1/roles", ownerTk, r); res.Status != http.StatusCreated {
			t.Fatalf("create %s: %d %s", r["id"], res.Status, res.Body)
		}
	}
	resource := map[string]any{"type": "purchase_order", "store": "s1"}
	check := func() {
		e.Call(t, "POST", "/v1/authz/check", ownerTk, map[string]any{"userId": member, "action": "purchases.view", "resource": resource}).Want(t, http.StatusOK, "")
	}
	check() // warm the role caches, as a running service has them
	const n = 20
	meter.Reset()
	for range n {
		check()
	}
	u := meter.Reset()
	checkRead := u.Read / n
	for range n {
		e.check(t, memberTk.AccessToken, "purchases.view", resource)
	}
	ownRead := meter.Reset().Read / n

	etag := e.Call(t, "GET", "/v1/users/"+member, ownerTk, nil).Want(t, http.StatusOK, "").Header.Get("ETag")
	const grants = 10
	var write float64
	for i := range grants {
		meter.Reset()
		r := e.Call(t, "PATCH", "/v1/users/"+member, ownerTk, map[string]any{"assignments": []map[string]string{
			{"role": "team_member", "scope": "store:s1"}, {"role": fmt.Sprintf("custom_role_%03d", i*9), "scope": "store:s1"},
		}}, "If-Match", etag).Want(t, http.StatusOK, "")
		write += meter.Reset().Write
		etag = r.Header.Get("ETag")
	}
	grantWrite := write / grants
	t.Logf("100 custom roles: check naming userId %.1f RRU, check about oneself %.1f RRU; member write granting a custom role %.1f WRU", checkRead, ownRead, grantWrite)
	if checkRead > manyRolesBudget.checkRead || ownRead > manyRolesBudget.checkRead || grantWrite > manyRolesBudget.grantWrite {
		t.Errorf("over budget: check %.1f RRU (budget %.1f), grant %.1f WRU (budget %.1f)", checkRead, manyRolesBudget.checkRead, grantWrite, manyRolesBudget.grantWrite)
	}
}

package apikey_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/stewardhq/steward/pkg/apikeys/apikey"
	"github.com/stewardhq/steward/pkg/rbac"
)

func TestRoleSet(t *testing.T) {
	rs, err := apikey.RoleSet(rbac.BuiltIns(), []string{"users.view", "users.manage", "orders.view"})
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(rs.Roles(), func(r rbac.Role) bool { return r.ID == apikey.Role }) {
		t.Fatal("Roles lists the synthetic role")
	}
	if len(rbac.BuiltIns().Roles()) != len(rs.Roles()) {
		t.Fatal("RoleSet changed the role list")
	}
	if _, ok := rbac.BuiltIns().Role(apikey.Role); ok {
		t.Fatal("RoleSet changed the receiver")
	}
	key := rbac.Member{ID: "apikey:k", Account: "a", Status: rbac.StatusActive,
		Assignments: []rbac.Assignment{{Role: apikey.Role, Scope: rbac.StoreScope("s1")}}}
	p := rs.Compile(key)
	if !p.Holds("users.manage", rbac.StoreScope("s1")) || p.Holds("users.manage", rbac.AccountScope) || p.Holds("stock.view", rbac.StoreScope("s1")) || p.IsAdmin() {
		t.Fatal("the key holds more or less than its permissions at its scope")
	}
	if eff := p.Effective(); len(eff) != 2 || !slices.Equal(eff[1].Permissions, []string{"orders.view", "users.view", "users.manage"}) {
		t.Fatalf("Effective = %+v", eff)
	}
	// Nobody, the key included, can assign the synthetic role.
	target := rbac.Member{ID: "m2", Account: "a", Status: rbac.StatusInvited,
		Assignments: []rbac.Assignment{{Role: apikey.Role, Scope: rbac.StoreScope("s1")}}}
	if err := rs.CheckChange(key, rbac.Member{}, target); !errors.Is(err, rbac.ErrExceedsOwnRights) {
		t.Fatalf("CheckChange assigning %s: %v", apikey.Role, err)
	}
	owner := rbac.Member{ID: "o", Account: "a", Status: rbac.StatusActive, Owner: true, Admin: true}
	if err := rs.CheckChange(owner, rbac.Member{}, target); !errors.Is(err, rbac.ErrExceedsOwnRights) {
		t.Fatalf("owner assigning %s: %v", apikey.Role, err)
	}
	// It can grant what it holds.
	target.Assignments = []rbac.Assignment{{Role: rbac.RoleTeamMember, Scope: rbac.StoreScope("s1")}}
	if err := rs.CheckChange(key, rbac.Member{}, target); !errors.Is(err, rbac.ErrExceedsOwnRights) {
		t.Fatalf("team_member needs more than the key holds: %v", err)
	}

	for _, bad := range [][]string{nil, {"billing.manage"}, {"account.close"}, {"nope.nope"}, {"Bad"}, {"orders.view", "orders.view"}} {
		if _, err := apikey.RoleSet(rbac.BuiltIns(), bad); err == nil {
			t.Errorf("RoleSet(%q) accepted", bad)
		}
		if err := apikey.ValidatePermissions(bad); err == nil {
			t.Errorf("ValidatePermissions(%q) accepted", bad)
		}
	}
	if _, err := apikey.RoleSet(rs, []string{"orders.view"}); !errors.Is(err, rbac.ErrRoleCollision) {
		t.Fatalf("a second synthetic role: %v", err)
	}
}

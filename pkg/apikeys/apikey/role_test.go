package apikey_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/stewardhq/steward/pkg/apikeys/apikey"
	"github.com/stewardhq/steward/pkg/authz"
)

func TestRoleSet(t *testing.T) {
	rs, err := apikey.RoleSet(authz.BuiltIns(), []string{"users.view", "users.manage", "orders.view"})
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(rs.Roles(), func(r authz.Role) bool { return r.ID == apikey.Role }) {
		t.Fatal("Roles lists the synthetic role")
	}
	if len(authz.BuiltIns().Roles()) != len(rs.Roles()) {
		t.Fatal("RoleSet changed the role list")
	}
	if _, ok := authz.BuiltIns().Role(apikey.Role); ok {
		t.Fatal("RoleSet changed the receiver")
	}
	key := authz.Member{ID: "apikey:k", Account: "a", Status: authz.StatusActive,
		Assignments: []authz.Assignment{{Role: apikey.Role, Scope: authz.StoreScope("s1")}}}
	p := rs.Compile(key)
	if !p.Holds("users.manage", authz.StoreScope("s1")) || p.Holds("users.manage", authz.AccountScope) || p.Holds("stock.view", authz.StoreScope("s1")) || p.IsAdmin() {
		t.Fatal("the key holds more or less than its permissions at its scope")
	}
	if eff := p.Effective(); len(eff) != 2 || !slices.Equal(eff[1].Permissions, []string{"orders.view", "users.view", "users.manage"}) {
		t.Fatalf("Effective = %+v", eff)
	}
	// Nobody, the key included, can assign the synthetic role.
	target := authz.Member{ID: "m2", Account: "a", Status: authz.StatusInvited,
		Assignments: []authz.Assignment{{Role: apikey.Role, Scope: authz.StoreScope("s1")}}}
	if err := rs.CheckChange(key, authz.Member{}, target); !errors.Is(err, authz.ErrExceedsOwnRights) {
		t.Fatalf("CheckChange assigning %s: %v", apikey.Role, err)
	}
	owner := authz.Member{ID: "o", Account: "a", Status: authz.StatusActive, Owner: true, Admin: true}
	if err := rs.CheckChange(owner, authz.Member{}, target); !errors.Is(err, authz.ErrExceedsOwnRights) {
		t.Fatalf("owner assigning %s: %v", apikey.Role, err)
	}
	// It can grant what it holds.
	target.Assignments = []authz.Assignment{{Role: authz.RoleTeamMember, Scope: authz.StoreScope("s1")}}
	if err := rs.CheckChange(key, authz.Member{}, target); !errors.Is(err, authz.ErrExceedsOwnRights) {
		t.Fatalf("team_member needs more than the key holds: %v", err)
	}

	for _, bad := range [][]string{nil, {"billing.manage"}, {"account.close"}, {"nope.nope"}, {"Bad"}, {"orders.view", "orders.view"}} {
		if _, err := apikey.RoleSet(authz.BuiltIns(), bad); err == nil {
			t.Errorf("RoleSet(%q) accepted", bad)
		}
		if err := apikey.ValidatePermissions(bad); err == nil {
			t.Errorf("ValidatePermissions(%q) accepted", bad)
		}
	}
	if _, err := apikey.RoleSet(rs, []string{"orders.view"}); !errors.Is(err, authz.ErrRoleCollision) {
		t.Fatalf("a second synthetic role: %v", err)
	}
}

package rbac_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/rbac"
)

// A non-administrator must not rebuild an admin-only role out of
// permission assignments: a payments manager (admin-only, "managers
// invite team members only") granting the manager's own keys as toggles,
// a storefront senior manager making another senior manager.
func TestPermissionAssignmentCannotRebuildAdminOnlyRole(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		preset string
		actor  rbac.Assignment
		grant  []string
		scope  rbac.Scope
		ok     bool
	}{
		{"payments", rbac.Assignment{Role: "manager", Scope: rbac.StoreScope("s1")},
			[]string{"users.view", "users.manage", "directory.view", "stores.view"}, rbac.StoreScope("s1"), false},
		{"payments", rbac.Assignment{Role: "manager", Scope: rbac.StoreScope("s1")},
			[]string{"finance.bank_accounts.view"}, rbac.StoreScope("s1"), false},
		{"payments", rbac.Assignment{Role: "manager", Scope: rbac.StoreScope("s1")},
			[]string{"stores.view", "orders.view"}, rbac.StoreScope("s1"), true}, // a team member's keys
		{"storefront", rbac.Assignment{Role: "senior_manager", Scope: rbac.AccountScope},
			[]string{"users.view", "users.manage", "directory.view"}, rbac.AccountScope, false},
		{"storefront", rbac.Assignment{Role: "senior_manager", Scope: rbac.AccountScope},
			[]string{"products.view", "orders.view", "orders.edit"}, rbac.AccountScope, true}, // an end user's keys
		{"general", rbac.Assignment{Role: rbac.RoleFullAccess, Scope: rbac.AccountScope},
			[]string{"users.view", "users.manage"}, rbac.AccountScope, true},
	}
	for _, c := range cases {
		rs := presetSet(t, rbac.Options{Preset: c.preset})
		actor := rbac.Member{ID: "boss", Account: "acme", Status: rbac.StatusActive, At: now, Assignments: []rbac.Assignment{c.actor}}
		after := rbac.Member{ID: "new", Account: "acme", Status: rbac.StatusInvited, At: now,
			Assignments: []rbac.Assignment{{Permissions: c.grant, Scope: c.scope}}}
		err := rs.CheckChange(actor, rbac.Member{}, after)
		if c.ok && err != nil {
			t.Errorf("%s: %s grants %v: %v", c.preset, c.actor.Role, c.grant, err)
		}
		if !c.ok && !errors.Is(err, rbac.ErrAdminOnlyRole) {
			t.Errorf("%s: %s grants %v: err = %v, want ErrAdminOnlyRole", c.preset, c.actor.Role, c.grant, err)
		}
		admin := rbac.Member{ID: "adm", Account: "acme", Status: rbac.StatusActive, Admin: true, At: now}
		if err := rs.CheckChange(admin, rbac.Member{}, after); err != nil {
			t.Errorf("%s: an administrator grants %v: %v", c.preset, c.grant, err)
		}
	}
}

// Under single billing an accountant's grant at a store reaches the whole
// account: a manager of that one store must not manage the accountant
// (suspend, delete, strip its role) as if it were one of its store's team.
func TestStoreManagerCannotManageAccountWideAccountant(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	rs := presetSet(t, rbac.Options{Preset: "payments", Billing: rbac.BillingSingle})
	mgr := rbac.Member{ID: "mgr", Account: "acme", Status: rbac.StatusActive, At: now,
		Assignments: []rbac.Assignment{{Role: "manager", Scope: rbac.StoreScope("s1")}}}
	acc := rbac.Member{ID: "acc", Account: "acme", Status: rbac.StatusActive, At: now,
		Assignments: []rbac.Assignment{{Role: "accountant", Scope: rbac.StoreScope("s1")}}}
	suspended := acc
	suspended.Status = rbac.StatusSuspended
	if err := rs.CheckChange(mgr, acc, suspended); !errors.Is(err, rbac.ErrOutsideManagedScope) {
		t.Errorf("store manager suspends an account-wide accountant: err = %v, want ErrOutsideManagedScope", err)
	}
	stripped := acc
	stripped.Assignments = nil
	if err := rs.CheckChange(mgr, acc, stripped); !errors.Is(err, rbac.ErrOutsideManagedScope) {
		t.Errorf("store manager strips an account-wide accountant: err = %v, want ErrOutsideManagedScope", err)
	}
	// Per-store billing: the accountant is the store's, the manager manages it.
	ps := presetSet(t, rbac.Options{Preset: "payments", Billing: rbac.BillingPerStore})
	if err := ps.CheckChange(mgr, acc, suspended); err != nil {
		t.Errorf("per_store: store manager suspends its store's accountant: %v", err)
	}
}

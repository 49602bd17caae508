package rbac_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/rbac"
)

func presetSet(t *testing.T, o rbac.Options) *rbac.RoleSet {
	t.Helper()
	rs, err := rbac.NewRoleSetFor(o)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestPresetsLoadWithProductNames(t *testing.T) {
	want := map[string][]string{
		"inventory":  {"Admin", "Normal user"},
		"planning":   {"Full access", "Overview", "Modify shared presets"},
		"storefront": {"Admin", "Junior admin", "Supplier", "End user", "Senior manager", "Department manager", "Approver"},
		"payments":   {"Administrator", "Accountant", "Manager", "Team member"},
	}
	for id, names := range want {
		rs := presetSet(t, rbac.Options{Preset: id})
		if got := rs.Preset().ID; got != id {
			t.Errorf("%s: Preset().ID = %q", id, got)
		}
		var have []string
		for _, r := range rs.Roles() {
			have = append(have, r.Name)
		}
		for _, n := range names {
			if !slices.Contains(have, n) {
				t.Errorf("%s: no role named %q in %v", id, n, have)
			}
		}
	}
	if rs := presetSet(t, rbac.Options{}); rs.Preset().ID != rbac.PresetGeneral || len(rs.Roles()) != len(rbac.BuiltInRoles()) {
		t.Errorf("the zero options are not the general preset")
	}
	if _, err := rbac.NewRoleSetFor(rbac.Options{Preset: "nope"}); !errors.Is(err, rbac.ErrInvalidOptions) {
		t.Errorf("unknown preset: err = %v", err)
	}
	if _, err := rbac.NewRoleSetFor(rbac.Options{Billing: "monthly"}); !errors.Is(err, rbac.ErrInvalidOptions) {
		t.Errorf("unknown billing: err = %v", err)
	}
}

func TestPermissionAssignment(t *testing.T) {
	rs := presetSet(t, rbac.Options{Preset: "inventory"})
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	m := rbac.Member{ID: "u", Account: "acme", Status: rbac.StatusActive, At: now, Assignments: []rbac.Assignment{
		{Permissions: []string{"stock.view", "orders.view"}, Scope: rbac.StoreScope("s1")},
	}}
	p := rs.Compile(m)
	if d := p.Decide("orders.view", rbac.Resource{Account: "acme", Store: "s1"}); !d.Allowed || d.Role != "" || d.Reason() != "allowed by a permission assignment at store:s1" {
		t.Errorf("orders.view at s1: %+v %s", d, d.Reason())
	}
	if d := p.Decide("orders.view", rbac.Resource{Account: "acme", Store: "s2"}); d.Allowed {
		t.Errorf("orders.view at s2 allowed")
	}
	if d := p.Decide("stock.edit", rbac.Resource{Account: "acme", Store: "s1"}); d.Allowed {
		t.Errorf("stock.edit allowed")
	}
	for _, bad := range []rbac.Assignment{
		{Permissions: []string{"billing.manage"}, Scope: rbac.AccountScope},             // critical
		{Permissions: []string{"documents.sign"}, Scope: rbac.AccountScope},             // owner-only
		{Permissions: []string{"quotes.view"}, Scope: rbac.AccountScope},                // not in the inventory catalogue
		{Permissions: []string{"orders.view", "orders.view"}, Scope: rbac.AccountScope}, // twice
		{Role: "normal_user", Permissions: []string{"orders.view"}, Scope: rbac.AccountScope},
		{Scope: rbac.AccountScope},
	} {
		if err := rs.ValidateAssignment(bad); err == nil {
			t.Errorf("%v: valid", bad)
		}
	}
	// The ceiling: a manager holding orders.view and users.manage at s1
	// may grant orders.view there, not stock.edit.
	actor := rbac.Member{ID: "boss", Account: "acme", Status: rbac.StatusActive, At: now, Assignments: []rbac.Assignment{
		{Permissions: []string{"users.view", "users.manage", "orders.view"}, Scope: rbac.StoreScope("s1")},
	}}
	target := rbac.Member{ID: "t", Account: "acme", Status: rbac.StatusActive, At: now}
	ok := target
	ok.Assignments = []rbac.Assignment{{Permissions: []string{"orders.view"}, Scope: rbac.StoreScope("s1")}}
	if err := rs.CheckChange(actor, rbac.Member{}, ok); err != nil {
		t.Errorf("grant orders.view at s1: %v", err)
	}
	over := target
	over.Assignments = []rbac.Assignment{{Permissions: []string{"orders.view", "stock.edit", "stock.view"}, Scope: rbac.StoreScope("s1")}}
	if err := rs.CheckChange(actor, rbac.Member{}, over); !errors.Is(err, rbac.ErrExceedsOwnRights) {
		t.Errorf("grant stock.edit: err = %v", err)
	}
	// Same set, another order: the same assignment.
	a := rbac.Assignment{Permissions: []string{"a.b", "c.d"}, Scope: rbac.AccountScope}
	if !a.Equal(rbac.Assignment{Permissions: []string{"c.d", "a.b"}, Scope: rbac.AccountScope}) {
		t.Error("Equal depends on the order of permissions")
	}
}

func TestBillingVariants(t *testing.T) {
	now := time.Now()
	accountant := rbac.Member{ID: "acc", Account: "acme", Status: rbac.StatusActive, At: now,
		Assignments: []rbac.Assignment{{Role: "accountant", Scope: rbac.StoreScope("s1")}}}
	manager := rbac.Member{ID: "mgr", Account: "acme", Status: rbac.StatusActive, At: now,
		Assignments: []rbac.Assignment{{Role: "manager", Scope: rbac.StoreScope("s1")}}}
	s2 := rbac.Resource{Account: "acme", Store: "s2"}
	s1 := rbac.Resource{Account: "acme", Store: "s1"}
	perStore := presetSet(t, rbac.Options{Preset: "payments", Billing: rbac.BillingPerStore})
	single := presetSet(t, rbac.Options{Preset: "payments", Billing: rbac.BillingSingle})
	if perStore.Decide(accountant, "finance.invoices.view", s2).Allowed {
		t.Error("per-store billing: an s1 accountant sees s2's invoices")
	}
	if !single.Decide(accountant, "finance.invoices.view", s2).Allowed {
		t.Error("single billing: the accountant does not see every store")
	}
	if !perStore.Decide(manager, "finance.bank_accounts.view", s1).Allowed || !perStore.Decide(manager, "finance.invoices.view", s1).Allowed {
		t.Error("per-store billing: the manager does not see its store's bank accounts and invoices")
	}
	if single.Decide(manager, "finance.bank_accounts.view", s1).Allowed || single.Decide(manager, "finance.invoices.view", s1).Allowed {
		t.Error("single billing: the manager sees bank accounts or invoices")
	}
	// An account-wide role is admin-only: no store manager grants it.
	target := rbac.Member{ID: "t", Account: "acme", Status: rbac.StatusActive, At: now,
		Assignments: []rbac.Assignment{{Role: "accountant", Scope: rbac.StoreScope("s1")}}}
	if err := single.CheckChange(manager, rbac.Member{}, target); err == nil {
		t.Error("a store manager granted an account-wide accountant")
	}
	for _, k := range []string{"ownership.view", "stores.activation_codes.view"} {
		if perStore.Decide(accountant, k, s1).Allowed || perStore.Decide(manager, k, s1).Allowed {
			t.Errorf("%s held by a non-administrator", k)
		}
	}
}

func TestLockByAge(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	rs := presetSet(t, rbac.Options{Preset: "inventory", LockAfterDays: 30})
	user := rbac.Member{ID: "u", Account: "acme", Status: rbac.StatusActive, At: now,
		Assignments: []rbac.Assignment{{Role: "normal_user", Scope: rbac.AccountScope}}}
	boss := user
	boss.Assignments = []rbac.Assignment{{Role: "management", Scope: rbac.AccountScope}}
	old := rbac.Resource{Account: "acme", DocType: rbac.DocPurchaseOrder, DocStatus: rbac.DocDraft, Date: now.AddDate(0, 0, -30)}
	recent := old
	recent.Date = now.AddDate(0, 0, -29)
	if d := rs.Decide(user, rbac.ActionDocumentEdit, old); d.Allowed || d.Code != rbac.CodeDocumentAgeLocked || d.Missing != "locked.edit" {
		t.Errorf("old document: %+v", d)
	}
	if !rs.Decide(user, rbac.ActionDocumentEdit, recent).Allowed {
		t.Error("a recent document is locked")
	}
	if !rs.Decide(user, rbac.ActionDocumentView, old).Allowed {
		t.Error("an old document cannot be read")
	}
	if !rs.Decide(boss, rbac.ActionDocumentEdit, old).Allowed {
		t.Error("locked.edit does not unlock an old document")
	}
	off := presetSet(t, rbac.Options{Preset: "inventory"})
	if !off.Decide(user, rbac.ActionDocumentEdit, old).Allowed {
		t.Error("no lock-by-age, yet the old document is locked")
	}
}

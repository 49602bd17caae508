package rbac_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stewardhq/steward/pkg/rbac"
)

// vocabulary is the permission vocabulary clients are written against
// (DESIGN.md, Vocabulary) plus the owner-only keys.
var vocabulary = []string{
	"orders.view", "orders.close", "purchases.view", "purchases.edit", "products.edit",
	"stock.view", "stock.edit", "reports.view", "presets.edit_shared",
	"planning.replenishment", "planning.open_to_buy", "planning.overstock", "forecast.edit",
	"finance.transactions.view", "finance.payouts.view", "finance.invoices.view",
	"finance.bank_accounts.view", "records.read", "records.write", "records.delete",
	"approve.purchase_order", "approve.sales_order", "approve.write_off", "approve.bom",
	"approve.purchase_rate", "locked.edit", "users.view", "users.manage", "audit.view",
	"store.disconnect", "sync.manage", "billing.manage", "settings.manage",
	"ownership.transfer", "documents.sign", "account.close",
}

var builtInIDs = []string{
	"full_access", "administrator", "junior_admin", "accountant", "manager", "team_member",
	"senior_manager", "department_manager", "approver", "supplier",
}

func TestCatalogueHasVocabulary(t *testing.T) {
	for _, k := range vocabulary {
		if _, ok := rbac.LookupPermission(k); !ok {
			t.Errorf("catalogue lacks %q", k)
		}
	}
}

func TestCatalogueIntegrity(t *testing.T) {
	areas := map[string]bool{}
	for _, a := range rbac.Areas() {
		areas[a.ID] = true
	}
	seen := map[string]bool{}
	for _, p := range rbac.Permissions() {
		t.Run(p.Key, func(t *testing.T) {
			if err := rbac.ValidatePermissionKey(p.Key); err != nil {
				t.Error(err)
			}
			if seen[p.Key] {
				t.Error("listed twice")
			}
			seen[p.Key] = true
			if !areas[p.Area] {
				t.Errorf("unknown area %q", p.Area)
			}
			if p.Description == "" {
				t.Error("no description")
			}
			for _, d := range p.DependsOn {
				dp, ok := rbac.LookupPermission(d)
				if !ok {
					t.Errorf("depends on unknown %q", d)
					continue
				}
				if p.Tier == rbac.TierNormal && dp.Tier != rbac.TierNormal {
					t.Errorf("normal permission depends on %s %q", dp.Tier, d)
				}
			}
			if slices.Contains(rbac.Dependencies(p.Key), p.Key) {
				t.Error("depends on itself (cycle)")
			}
		})
	}
	for _, k := range []string{"store.disconnect", "sync.manage", "billing.manage", "users.impersonate", "policies.manage"} {
		if p, _ := rbac.LookupPermission(k); p.Tier != rbac.TierCritical {
			t.Errorf("%s tier = %q, want critical", k, p.Tier)
		}
	}
	for _, k := range []string{"ownership.transfer", "documents.sign", "account.close"} {
		if p, _ := rbac.LookupPermission(k); p.Tier != rbac.TierOwner {
			t.Errorf("%s tier = %q, want owner", k, p.Tier)
		}
	}
	if got := rbac.Dependencies("presets.edit_shared"); !slices.Equal(got, []string{"reports.view"}) {
		t.Errorf("presets.edit_shared dependencies = %v, want [reports.view]", got)
	}
}

func TestDocumentTypesResolve(t *testing.T) {
	admin := rbac.BuiltIns().Compile(rbac.Member{ID: "a", Account: "acme", Status: rbac.StatusActive, Admin: true})
	for _, dt := range rbac.DocTypes() {
		for _, action := range rbac.DocumentActions() {
			d := admin.Decide(action, rbac.Resource{Account: "acme", DocType: dt})
			if !d.Allowed && d.Code != rbac.CodeNoApproval {
				t.Errorf("%s on %s: %s", action, dt, d.Reason())
			}
			if d.Allowed {
				if err := rbac.ValidatePermissionKey(d.Permission); err != nil {
					t.Errorf("%s on %s resolves to %v", action, dt, err)
				}
			}
		}
	}
}

func TestBuiltInRolesIntegrity(t *testing.T) {
	roles := rbac.BuiltInRoles()
	byID := map[string]rbac.Role{}
	for _, r := range roles {
		byID[r.ID] = r
	}
	for _, id := range builtInIDs {
		if _, ok := byID[id]; !ok {
			t.Errorf("built-in role %q missing", id)
		}
	}
	var normal []string
	for _, p := range rbac.Permissions() {
		if p.Tier == rbac.TierNormal {
			normal = append(normal, p.Key)
		}
	}
	for _, r := range roles {
		t.Run(r.ID, func(t *testing.T) {
			if !r.BuiltIn || r.Name == "" || r.Description == "" {
				t.Errorf("BuiltIn=%v name=%q description empty=%v", r.BuiltIn, r.Name, r.Description == "")
			}
			if len(r.Permissions) == 0 || len(r.ScopeKinds) == 0 {
				t.Fatal("no permissions or no scope kinds")
			}
			for _, k := range r.Permissions {
				p, ok := rbac.LookupPermission(k)
				if !ok {
					t.Errorf("unknown permission %q", k)
					continue
				}
				if p.Tier == rbac.TierOwner {
					t.Errorf("lists owner-only %q", k)
				}
				if p.Tier == rbac.TierCritical && !r.Admin {
					t.Errorf("non-admin role lists critical %q", k)
				}
				for _, d := range rbac.Dependencies(k) {
					if !slices.Contains(r.Permissions, d) {
						t.Errorf("%s needs %s, which the role lacks", k, d)
					}
				}
			}
			for _, k := range r.ScopeKinds {
				if !k.Valid() {
					t.Errorf("bad scope kind %q", k)
				}
			}
			if !rbac.IsBuiltInRole(r.ID) {
				t.Error("IsBuiltInRole = false")
			}
		})
	}
	if diff := cmp.Diff(normal, byID["full_access"].Permissions); diff != "" {
		t.Errorf("full_access is not every normal permission (-want +got):\n%s", diff)
	}
	if !byID["administrator"].Admin || slices.ContainsFunc(roles, func(r rbac.Role) bool { return r.Admin && r.ID != "administrator" }) {
		t.Error("administrator must be the only admin role")
	}
}

// TestSeedRoles pins what each seed says a role can and cannot do, on the
// role definitions themselves.
func TestSeedRoles(t *testing.T) {
	tests := []struct {
		role    string
		has     []string
		lacks   []string
		kinds   []rbac.ScopeKind
		noKinds []rbac.ScopeKind
	}{
		{role: "accountant",
			has:   []string{"business.view", "stores.view", "finance.bank_accounts.view", "products.view", "finance.transactions.view", "orders.view", "finance.payouts.view", "finance.invoices.view"},
			lacks: []string{"users.manage", "users.view", "settings.manage"}},
		{role: "manager",
			has:   []string{"stores.view", "products.view", "finance.transactions.view", "orders.view", "users.manage", "directory.view"},
			lacks: []string{"finance.payouts.view", "business.view", "settings.manage"}},
		{role: "team_member",
			has:   []string{"stores.view", "products.view", "finance.transactions.view", "orders.view"},
			lacks: []string{"users.manage", "users.view", "directory.view"}},
		{role: "junior_admin", has: []string{"users.manage", "orders.view", "orders.close"}, lacks: []string{"settings.manage", "billing.manage", "store.disconnect"},
			kinds: []rbac.ScopeKind{rbac.ScopeStore}, noKinds: []rbac.ScopeKind{rbac.ScopeAccount}},
		{role: "senior_manager", has: []string{"products.view", "users.view", "users.manage", "orders.view", "approve.sales_order", "approve.purchase_order", "purchases.edit"}, lacks: []string{"settings.manage"}},
		{role: "department_manager", has: []string{"products.view", "users.view", "orders.view", "approve.sales_order", "purchases.edit"}, lacks: []string{"users.manage"},
			kinds: []rbac.ScopeKind{rbac.ScopeDepartment}, noKinds: []rbac.ScopeKind{rbac.ScopeAccount, rbac.ScopeStore}},
		{role: "approver", has: []string{"approve.purchase_order", "approve.sales_order", "approve.write_off", "approve.bom", "approve.purchase_rate"}, lacks: []string{"users.manage", "purchases.edit"}},
		{role: "supplier", has: []string{"purchases.view"}, lacks: []string{"purchases.edit", "users.view"},
			kinds: []rbac.ScopeKind{rbac.ScopeSupplier}, noKinds: []rbac.ScopeKind{rbac.ScopeAccount, rbac.ScopeStore, rbac.ScopeDepartment}},
		{role: "full_access", has: []string{"users.manage", "settings.manage", "locked.edit", "audit.view"}, lacks: []string{"store.disconnect", "sync.manage", "billing.manage", "users.impersonate", "policies.manage", "documents.sign"}},
		{role: "administrator", has: []string{"store.disconnect", "sync.manage", "billing.manage", "users.impersonate"}, lacks: []string{"ownership.transfer", "documents.sign", "account.close"},
			kinds: []rbac.ScopeKind{rbac.ScopeAccount}, noKinds: []rbac.ScopeKind{rbac.ScopeStore}},
		{role: "planner_shared_presets", has: []string{"presets.edit_shared", "reports.view"}},
	}
	for _, tt := range tests {
		t.Run(tt.role, func(t *testing.T) {
			r, ok := rbac.BuiltIns().Role(tt.role)
			if !ok {
				t.Fatal("missing")
			}
			for _, k := range tt.has {
				if !slices.Contains(r.Permissions, k) {
					t.Errorf("lacks %s", k)
				}
			}
			for _, k := range tt.lacks {
				if slices.Contains(r.Permissions, k) {
					t.Errorf("has %s", k)
				}
			}
			for _, k := range tt.kinds {
				if !slices.Contains(r.ScopeKinds, k) {
					t.Errorf("not assignable at %s", k)
				}
			}
			for _, k := range tt.noKinds {
				if slices.Contains(r.ScopeKinds, k) {
					t.Errorf("assignable at %s", k)
				}
			}
		})
	}
}

func TestParseScope(t *testing.T) {
	tests := []struct {
		in      string
		want    rbac.Scope
		wantErr string
	}{
		{in: "account", want: rbac.AccountScope},
		{in: "store:s1", want: rbac.StoreScope("s1")},
		{in: "department:sales", want: rbac.DepartmentScope("sales")},
		{in: "supplier:acme-supply_2.x", want: rbac.SupplierScope("acme-supply_2.x")},
		{in: "store:01HZX3K4M5", want: rbac.StoreScope("01HZX3K4M5")},
		{in: "", wantErr: "empty scope"},
		{in: "store", wantErr: `"store" needs an id`},
		{in: "store:", wantErr: `missing id after "store:"`},
		{in: "account:x", wantErr: `"account" takes no id`},
		{in: "shop:s1", wantErr: `unknown scope kind "shop"`},
		{in: "global", wantErr: `unknown scope "global"`},
		{in: "store:s 1", wantErr: "has character ' '"},
		{in: "store:s1:x", wantErr: "has character ':'"},
		{in: "Store:s1", wantErr: `unknown scope kind "Store"`},
		{in: "store:" + strings.Repeat("x", 129), wantErr: "longer than 128"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := rbac.ParseScope(tt.in)
			if tt.wantErr != "" {
				if !errors.Is(err, rbac.ErrInvalidScope) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want ErrInvalidScope containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || got.String() != tt.in {
				t.Errorf("got %+v (%s), want %+v", got, got, tt.want)
			}
		})
	}
}

func TestAssignmentJSON(t *testing.T) {
	in := `{"role":"manager","scope":"store:s1"}`
	var a rbac.Assignment
	if err := json.Unmarshal([]byte(in), &a); err != nil {
		t.Fatal(err)
	}
	if !a.Equal(rbac.Assignment{Role: "manager", Scope: rbac.StoreScope("s1")}) {
		t.Errorf("got %+v", a)
	}
	if err := json.Unmarshal([]byte(`{"role":"manager","scope":"store:"}`), &a); !errors.Is(err, rbac.ErrInvalidScope) {
		t.Errorf("bad scope: err = %v", err)
	}
	out, err := json.Marshal(rbac.Assignment{Role: "manager", Scope: rbac.StoreScope("s1")})
	if err != nil || string(out) != `{"Role":"manager","Scope":"store:s1"}` {
		t.Errorf("marshal = %s, %v", out, err)
	}
}

func TestValidatePermissionKey(t *testing.T) {
	tests := []struct {
		key  string
		want error
	}{
		{"orders.view", nil},
		{"finance.bank_accounts.view", nil},
		{"orders.delete", rbac.ErrUnknownPermission},
		{"documents.edit", rbac.ErrUnknownPermission},
		{"", rbac.ErrInvalidPermissionKey},
		{"orders", rbac.ErrInvalidPermissionKey},
		{"Orders.view", rbac.ErrInvalidPermissionKey},
		{"orders..view", rbac.ErrInvalidPermissionKey},
		{".orders", rbac.ErrInvalidPermissionKey},
		{"orders.", rbac.ErrInvalidPermissionKey},
		{"orders.1view", rbac.ErrInvalidPermissionKey},
		{"orders.view*", rbac.ErrInvalidPermissionKey},
		{strings.Repeat("a.", 40) + "b", rbac.ErrInvalidPermissionKey},
	}
	for _, tt := range tests {
		err := rbac.ValidatePermissionKey(tt.key)
		if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("ValidatePermissionKey(%q) = %v, want %v", tt.key, err, tt.want)
		}
	}
}

func TestNewRoleSet(t *testing.T) {
	a := rbac.Role{ID: "dept_writer", Name: "W", Permissions: []string{"records.write", "records.read"}}
	rs, err := rbac.NewRoleSet(a)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := rs.Role("dept_writer")
	if !ok {
		t.Fatal("custom role missing")
	}
	want := rbac.Role{ID: "dept_writer", Name: "W", Permissions: []string{"records.read", "records.write"},
		ScopeKinds: []rbac.ScopeKind{rbac.ScopeAccount, rbac.ScopeStore, rbac.ScopeDepartment}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("custom role (-want +got):\n%s", diff)
	}
	if n := len(rs.Roles()); n != len(rbac.BuiltInRoles())+1 {
		t.Errorf("%d roles", n)
	}
	if _, err := rbac.NewRoleSet(a, a); !errors.Is(err, rbac.ErrRoleCollision) {
		t.Errorf("duplicate custom role: err = %v", err)
	}
	if _, err := rbac.NewRoleSet(rbac.Role{ID: "manager", Permissions: []string{"orders.view"}}); !errors.Is(err, rbac.ErrRoleCollision) {
		t.Errorf("built-in collision: err = %v", err)
	}
	if err := rs.ValidateAssignment(rbac.Assignment{Role: "dept_writer", Scope: rbac.SupplierScope("x")}); !errors.Is(err, rbac.ErrScopeNotAllowed) {
		t.Errorf("supplier scope: err = %v", err)
	}
	// The built-in set is not modified by a custom set.
	if _, ok := rbac.BuiltIns().Role("dept_writer"); ok {
		t.Error("custom role leaked into the built-ins")
	}
}

// TestEffectiveMatchesDecide checks, for every built-in role at every
// scope kind it allows, that the effective permissions list exactly what
// Decide allows on a resource at that scope.
func TestEffectiveMatchesDecide(t *testing.T) {
	rs := rbac.BuiltIns()
	scopeFor := map[rbac.ScopeKind]rbac.Scope{
		rbac.ScopeAccount: rbac.AccountScope, rbac.ScopeStore: rbac.StoreScope("s1"),
		rbac.ScopeDepartment: rbac.DepartmentScope("d1"), rbac.ScopeSupplier: rbac.SupplierScope("p1"),
	}
	resourceAt := func(s rbac.Scope) rbac.Resource {
		r := rbac.Resource{Account: "acme"}
		switch s.Kind {
		case rbac.ScopeStore:
			r.Store = s.ID
		case rbac.ScopeDepartment:
			r.Department = s.ID
		case rbac.ScopeSupplier:
			r.Supplier = s.ID
		}
		return r
	}
	var members []rbac.Member
	for _, r := range rs.Roles() {
		for _, k := range r.ScopeKinds {
			members = append(members, rbac.Member{ID: "m", Account: "acme", Status: rbac.StatusActive,
				Assignments: []rbac.Assignment{{Role: r.ID, Scope: scopeFor[k]}}})
		}
	}
	members = append(members,
		rbac.Member{ID: "a", Account: "acme", Status: rbac.StatusActive, Admin: true},
		rbac.Member{ID: "o", Account: "acme", Status: rbac.StatusActive, Owner: true},
		rbac.Member{ID: "x", Account: "acme", Status: rbac.StatusActive, Assignments: []rbac.Assignment{
			{Role: "team_member", Scope: rbac.AccountScope}, {Role: "manager", Scope: rbac.StoreScope("s1")},
			{Role: "approver", Scope: rbac.DepartmentScope("d1")}}},
	)
	for _, m := range members {
		p := rs.Compile(m)
		for _, e := range p.Effective() {
			for _, perm := range rbac.Permissions() {
				d := p.Decide(perm.Key, resourceAt(e.Scope))
				if in := slices.Contains(e.Permissions, perm.Key); in != d.Allowed {
					t.Errorf("%v at %s: effective has %s = %v, Decide = %s", m.Assignments, e.Scope, perm.Key, in, d.Reason())
				}
				if in := slices.Contains(e.Permissions, perm.Key); in != p.Holds(perm.Key, e.Scope) {
					t.Errorf("%v at %s: Holds(%s) disagrees with Effective", m.Assignments, e.Scope, perm.Key)
				}
			}
		}
	}
}

func TestDecideDoesNotAllocate(t *testing.T) {
	p := rbac.BuiltIns().Compile(rbac.Member{ID: "m", Account: "acme", Status: rbac.StatusActive,
		Assignments: []rbac.Assignment{{Role: "manager", Scope: rbac.StoreScope("s1")}, {Role: "approver", Scope: rbac.AccountScope}}})
	reqs := []struct {
		action string
		r      rbac.Resource
	}{
		{"users.manage", rbac.Resource{Account: "acme", Store: "s1"}},
		{"users.manage", rbac.Resource{Account: "acme", Store: "s2"}},
		{"documents.approve", rbac.Resource{Account: "acme", Store: "s2", DocType: rbac.DocPurchaseOrder, DocStatus: rbac.DocPendingApproval}},
		{"documents.edit", rbac.Resource{Account: "acme", Store: "s1", DocType: rbac.DocPurchaseOrder, DocStatus: rbac.DocCompleted}},
		{"orders.view", rbac.Resource{Account: "globex", Store: "s1"}},
		{"nope", rbac.Resource{Account: "acme"}},
	}
	for _, q := range reqs {
		if n := testing.AllocsPerRun(100, func() { _ = p.Decide(q.action, q.r) }); n != 0 {
			t.Errorf("Decide(%s) allocates %v times", q.action, n)
		}
	}
}

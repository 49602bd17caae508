package authz_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stewardhq/steward/pkg/authz"
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
		if _, ok := authz.LookupPermission(k); !ok {
			t.Errorf("catalogue lacks %q", k)
		}
	}
}

func TestCatalogueIntegrity(t *testing.T) {
	areas := map[string]bool{}
	for _, a := range authz.Areas() {
		areas[a.ID] = true
	}
	seen := map[string]bool{}
	for _, p := range authz.Permissions() {
		t.Run(p.Key, func(t *testing.T) {
			if err := authz.ValidatePermissionKey(p.Key); err != nil {
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
				dp, ok := authz.LookupPermission(d)
				if !ok {
					t.Errorf("depends on unknown %q", d)
					continue
				}
				if p.Tier == authz.TierNormal && dp.Tier != authz.TierNormal {
					t.Errorf("normal permission depends on %s %q", dp.Tier, d)
				}
			}
			if slices.Contains(authz.Dependencies(p.Key), p.Key) {
				t.Error("depends on itself (cycle)")
			}
		})
	}
	for _, k := range []string{"store.disconnect", "sync.manage", "billing.manage", "users.impersonate", "policies.manage"} {
		if p, _ := authz.LookupPermission(k); p.Tier != authz.TierCritical {
			t.Errorf("%s tier = %q, want critical", k, p.Tier)
		}
	}
	for _, k := range []string{"ownership.transfer", "documents.sign", "account.close"} {
		if p, _ := authz.LookupPermission(k); p.Tier != authz.TierOwner {
			t.Errorf("%s tier = %q, want owner", k, p.Tier)
		}
	}
	if got := authz.Dependencies("presets.edit_shared"); !slices.Equal(got, []string{"reports.view"}) {
		t.Errorf("presets.edit_shared dependencies = %v, want [reports.view]", got)
	}
}

func TestDocumentTypesResolve(t *testing.T) {
	admin := authz.BuiltIns().Compile(authz.Member{ID: "a", Account: "acme", Status: authz.StatusActive, Admin: true})
	for _, dt := range authz.DocTypes() {
		for _, action := range authz.DocumentActions() {
			d := admin.Decide(action, authz.Resource{Account: "acme", DocType: dt})
			if !d.Allowed && d.Code != authz.CodeNoApproval {
				t.Errorf("%s on %s: %s", action, dt, d.Reason())
			}
			if d.Allowed {
				if err := authz.ValidatePermissionKey(d.Permission); err != nil {
					t.Errorf("%s on %s resolves to %v", action, dt, err)
				}
			}
		}
	}
}

func TestBuiltInRolesIntegrity(t *testing.T) {
	roles := authz.BuiltInRoles()
	byID := map[string]authz.Role{}
	for _, r := range roles {
		byID[r.ID] = r
	}
	for _, id := range builtInIDs {
		if _, ok := byID[id]; !ok {
			t.Errorf("built-in role %q missing", id)
		}
	}
	var normal []string
	for _, p := range authz.Permissions() {
		if p.Tier == authz.TierNormal {
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
				p, ok := authz.LookupPermission(k)
				if !ok {
					t.Errorf("unknown permission %q", k)
					continue
				}
				if p.Tier == authz.TierOwner {
					t.Errorf("lists owner-only %q", k)
				}
				if p.Tier == authz.TierCritical && !r.Admin {
					t.Errorf("non-admin role lists critical %q", k)
				}
				for _, d := range authz.Dependencies(k) {
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
			if !authz.IsBuiltInRole(r.ID) {
				t.Error("IsBuiltInRole = false")
			}
		})
	}
	if diff := cmp.Diff(normal, byID["full_access"].Permissions); diff != "" {
		t.Errorf("full_access is not every normal permission (-want +got):\n%s", diff)
	}
	if !byID["administrator"].Admin || slices.ContainsFunc(roles, func(r authz.Role) bool { return r.Admin && r.ID != "administrator" }) {
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
		kinds   []authz.ScopeKind
		noKinds []authz.ScopeKind
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
			kinds: []authz.ScopeKind{authz.ScopeStore}, noKinds: []authz.ScopeKind{authz.ScopeAccount}},
		{role: "senior_manager", has: []string{"products.view", "users.view", "users.manage", "orders.view", "approve.sales_order", "approve.purchase_order", "purchases.edit"}, lacks: []string{"settings.manage"}},
		{role: "department_manager", has: []string{"products.view", "users.view", "orders.view", "approve.sales_order", "purchases.edit"}, lacks: []string{"users.manage"},
			kinds: []authz.ScopeKind{authz.ScopeDepartment}, noKinds: []authz.ScopeKind{authz.ScopeAccount, authz.ScopeStore}},
		{role: "approver", has: []string{"approve.purchase_order", "approve.sales_order", "approve.write_off", "approve.bom", "approve.purchase_rate"}, lacks: []string{"users.manage", "purchases.edit"}},
		{role: "supplier", has: []string{"purchases.view"}, lacks: []string{"purchases.edit", "users.view"},
			kinds: []authz.ScopeKind{authz.ScopeSupplier}, noKinds: []authz.ScopeKind{authz.ScopeAccount, authz.ScopeStore, authz.ScopeDepartment}},
		{role: "full_access", has: []string{"users.manage", "settings.manage", "locked.edit", "audit.view"}, lacks: []string{"store.disconnect", "sync.manage", "billing.manage", "users.impersonate", "policies.manage", "documents.sign"}},
		{role: "administrator", has: []string{"store.disconnect", "sync.manage", "billing.manage", "users.impersonate"}, lacks: []string{"ownership.transfer", "documents.sign", "account.close"},
			kinds: []authz.ScopeKind{authz.ScopeAccount}, noKinds: []authz.ScopeKind{authz.ScopeStore}},
		{role: "planner_shared_presets", has: []string{"presets.edit_shared", "reports.view"}},
	}
	for _, tt := range tests {
		t.Run(tt.role, func(t *testing.T) {
			r, ok := authz.BuiltIns().Role(tt.role)
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
		want    authz.Scope
		wantErr string
	}{
		{in: "account", want: authz.AccountScope},
		{in: "store:s1", want: authz.StoreScope("s1")},
		{in: "department:sales", want: authz.DepartmentScope("sales")},
		{in: "supplier:acme-supply_2.x", want: authz.SupplierScope("acme-supply_2.x")},
		{in: "store:01HZX3K4M5", want: authz.StoreScope("01HZX3K4M5")},
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
			got, err := authz.ParseScope(tt.in)
			if tt.wantErr != "" {
				if !errors.Is(err, authz.ErrInvalidScope) || !strings.Contains(err.Error(), tt.wantErr) {
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
	var a authz.Assignment
	if err := json.Unmarshal([]byte(in), &a); err != nil {
		t.Fatal(err)
	}
	if a != (authz.Assignment{Role: "manager", Scope: authz.StoreScope("s1")}) {
		t.Errorf("got %+v", a)
	}
	if err := json.Unmarshal([]byte(`{"role":"manager","scope":"store:"}`), &a); !errors.Is(err, authz.ErrInvalidScope) {
		t.Errorf("bad scope: err = %v", err)
	}
	out, err := json.Marshal(authz.Assignment{Role: "manager", Scope: authz.StoreScope("s1")})
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
		{"orders.delete", authz.ErrUnknownPermission},
		{"documents.edit", authz.ErrUnknownPermission},
		{"", authz.ErrInvalidPermissionKey},
		{"orders", authz.ErrInvalidPermissionKey},
		{"Orders.view", authz.ErrInvalidPermissionKey},
		{"orders..view", authz.ErrInvalidPermissionKey},
		{".orders", authz.ErrInvalidPermissionKey},
		{"orders.", authz.ErrInvalidPermissionKey},
		{"orders.1view", authz.ErrInvalidPermissionKey},
		{"orders.view*", authz.ErrInvalidPermissionKey},
		{strings.Repeat("a.", 40) + "b", authz.ErrInvalidPermissionKey},
	}
	for _, tt := range tests {
		err := authz.ValidatePermissionKey(tt.key)
		if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("ValidatePermissionKey(%q) = %v, want %v", tt.key, err, tt.want)
		}
	}
}

func TestNewRoleSet(t *testing.T) {
	a := authz.Role{ID: "dept_writer", Name: "W", Permissions: []string{"records.write", "records.read"}}
	rs, err := authz.NewRoleSet(a)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := rs.Role("dept_writer")
	if !ok {
		t.Fatal("custom role missing")
	}
	want := authz.Role{ID: "dept_writer", Name: "W", Permissions: []string{"records.read", "records.write"},
		ScopeKinds: []authz.ScopeKind{authz.ScopeAccount, authz.ScopeStore, authz.ScopeDepartment}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("custom role (-want +got):\n%s", diff)
	}
	if n := len(rs.Roles()); n != len(authz.BuiltInRoles())+1 {
		t.Errorf("%d roles", n)
	}
	if _, err := authz.NewRoleSet(a, a); !errors.Is(err, authz.ErrRoleCollision) {
		t.Errorf("duplicate custom role: err = %v", err)
	}
	if _, err := authz.NewRoleSet(authz.Role{ID: "manager", Permissions: []string{"orders.view"}}); !errors.Is(err, authz.ErrRoleCollision) {
		t.Errorf("built-in collision: err = %v", err)
	}
	if err := rs.ValidateAssignment(authz.Assignment{Role: "dept_writer", Scope: authz.SupplierScope("x")}); !errors.Is(err, authz.ErrScopeNotAllowed) {
		t.Errorf("supplier scope: err = %v", err)
	}
	// The built-in set is not modified by a custom set.
	if _, ok := authz.BuiltIns().Role("dept_writer"); ok {
		t.Error("custom role leaked into the built-ins")
	}
}

// TestEffectiveMatchesDecide checks, for every built-in role at every
// scope kind it allows, that the effective permissions list exactly what
// Decide allows on a resource at that scope.
func TestEffectiveMatchesDecide(t *testing.T) {
	rs := authz.BuiltIns()
	scopeFor := map[authz.ScopeKind]authz.Scope{
		authz.ScopeAccount: authz.AccountScope, authz.ScopeStore: authz.StoreScope("s1"),
		authz.ScopeDepartment: authz.DepartmentScope("d1"), authz.ScopeSupplier: authz.SupplierScope("p1"),
	}
	resourceAt := func(s authz.Scope) authz.Resource {
		r := authz.Resource{Account: "acme"}
		switch s.Kind {
		case authz.ScopeStore:
			r.Store = s.ID
		case authz.ScopeDepartment:
			r.Department = s.ID
		case authz.ScopeSupplier:
			r.Supplier = s.ID
		}
		return r
	}
	var members []authz.Member
	for _, r := range rs.Roles() {
		for _, k := range r.ScopeKinds {
			members = append(members, authz.Member{ID: "m", Account: "acme", Status: authz.StatusActive,
				Assignments: []authz.Assignment{{Role: r.ID, Scope: scopeFor[k]}}})
		}
	}
	members = append(members,
		authz.Member{ID: "a", Account: "acme", Status: authz.StatusActive, Admin: true},
		authz.Member{ID: "o", Account: "acme", Status: authz.StatusActive, Owner: true},
		authz.Member{ID: "x", Account: "acme", Status: authz.StatusActive, Assignments: []authz.Assignment{
			{Role: "team_member", Scope: authz.AccountScope}, {Role: "manager", Scope: authz.StoreScope("s1")},
			{Role: "approver", Scope: authz.DepartmentScope("d1")}}},
	)
	for _, m := range members {
		p := rs.Compile(m)
		for _, e := range p.Effective() {
			for _, perm := range authz.Permissions() {
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
	p := authz.BuiltIns().Compile(authz.Member{ID: "m", Account: "acme", Status: authz.StatusActive,
		Assignments: []authz.Assignment{{Role: "manager", Scope: authz.StoreScope("s1")}, {Role: "approver", Scope: authz.AccountScope}}})
	reqs := []struct {
		action string
		r      authz.Resource
	}{
		{"users.manage", authz.Resource{Account: "acme", Store: "s1"}},
		{"users.manage", authz.Resource{Account: "acme", Store: "s2"}},
		{"documents.approve", authz.Resource{Account: "acme", Store: "s2", DocType: authz.DocPurchaseOrder, DocStatus: authz.DocPendingApproval}},
		{"documents.edit", authz.Resource{Account: "acme", Store: "s1", DocType: authz.DocPurchaseOrder, DocStatus: authz.DocCompleted}},
		{"orders.view", authz.Resource{Account: "globex", Store: "s1"}},
		{"nope", authz.Resource{Account: "acme"}},
	}
	for _, q := range reqs {
		if n := testing.AllocsPerRun(100, func() { _ = p.Decide(q.action, q.r) }); n != 0 {
			t.Errorf("Decide(%s) allocates %v times", q.action, n)
		}
	}
}

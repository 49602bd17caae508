package rbac_test

import (
	"errors"
	"fmt"

	"github.com/stewardhq/steward/pkg/rbac"
)

func ExamplePrincipal_Decide() {
	rs := rbac.BuiltIns()
	p := rs.Compile(rbac.Member{
		ID: "m1", Account: "acme", Status: rbac.StatusActive,
		Assignments: []rbac.Assignment{{Role: "manager", Scope: rbac.StoreScope("s1")}},
	})
	fmt.Println(p.Decide("users.manage", rbac.Resource{Account: "acme", Store: "s1"}).Reason())
	fmt.Println(p.Decide("users.manage", rbac.Resource{Account: "acme", Store: "s2"}).Reason())
	fmt.Println(p.Decide("users.manage", rbac.Resource{Account: "globex", Store: "s1"}).Reason())

	d := p.Decide("purchases.edit", rbac.Resource{Account: "acme", Store: "s1"})
	fmt.Println(d.Allowed, d.Code, d.Missing, d.Scope)
	// Output:
	// allowed by role "manager" at store:s1
	// denied: no role grants users.manage at store:s2
	// denied: resource belongs to another account
	// false no_grant purchases.edit store:s1
}

func ExamplePrincipal_Decide_documents() {
	p := rbac.BuiltIns().Compile(rbac.Member{
		ID: "m1", Account: "acme", Status: rbac.StatusActive,
		Assignments: []rbac.Assignment{{Role: "planner_purchase_orders", Scope: rbac.AccountScope}},
	})
	po := rbac.Resource{Account: "acme", Store: "s1", DocType: rbac.DocPurchaseOrder, ApprovalRequired: true}

	po.DocStatus = rbac.DocDraft
	fmt.Println(p.Decide(rbac.ActionDocumentUse, po).Reason())
	po.DocStatus = rbac.DocPendingApproval
	fmt.Println(p.Decide(rbac.ActionDocumentEdit, po).Reason())
	po.DocStatus = rbac.DocApproved
	fmt.Println(p.Decide(rbac.ActionDocumentUse, po).Reason())
	po.DocStatus = rbac.DocCompleted
	fmt.Println(p.Decide(rbac.ActionDocumentEdit, po).Reason())
	// Output:
	// denied: purchase_order must be approved before use (status draft)
	// denied: purchase_order is pending_approval and cannot be changed
	// allowed by role "planner_purchase_orders" at account
	// denied: completed purchase_order is locked: changing it needs locked.edit at store:s1
}

func ExampleRoleSet_Decide_suspended() {
	m := rbac.Member{ID: "m1", Account: "acme", Status: rbac.StatusSuspended, Admin: true}
	fmt.Println(rbac.BuiltIns().Decide(m, "orders.view", rbac.Resource{Account: "acme"}).Reason())
	// Output:
	// denied: member is suspended
}

func ExampleParseScope() {
	s, err := rbac.ParseScope("store:s1")
	fmt.Println(s.Kind, s.ID, err)
	_, err = rbac.ParseScope("store:")
	fmt.Println(err)
	_, err = rbac.ParseScope("shop:s1")
	fmt.Println(errors.Is(err, rbac.ErrInvalidScope))
	// Output:
	// store s1 <nil>
	// invalid scope: missing id after "store:"
	// true
}

func ExampleValidateRole() {
	warnings, err := rbac.ValidateRole(rbac.Role{ID: "presets_only", Name: "Presets", Permissions: []string{"presets.edit_shared"}})
	fmt.Println(warnings, err)
	_, err = rbac.ValidateRole(rbac.Role{ID: "manager", Permissions: []string{"orders.view"}})
	fmt.Println(err)
	_, err = rbac.ValidateRole(rbac.Role{ID: "biller", Permissions: []string{"billing.manage"}})
	fmt.Println(err)
	// Output:
	// [presets.edit_shared is useless without reports.view] <nil>
	// role id collides with an existing role: "manager" is a built-in role
	// permission reserved to administrators or the owner: role "biller": billing.manage is held only by administrators
}

func ExampleRoleSet_CheckChange() {
	rs := rbac.BuiltIns()
	manager := rbac.Member{ID: "boss", Account: "acme", Status: rbac.StatusActive,
		Assignments: []rbac.Assignment{{Role: "manager", Scope: rbac.StoreScope("s1")}}}
	invite := func(role string, scope rbac.Scope) rbac.Member {
		return rbac.Member{ID: "new", Account: "acme", Status: rbac.StatusInvited,
			Assignments: []rbac.Assignment{{Role: role, Scope: scope}}}
	}
	fmt.Println(rs.CheckChange(manager, rbac.Member{}, invite("team_member", rbac.StoreScope("s1"))))
	fmt.Println(rs.CheckChange(manager, rbac.Member{}, invite("team_member", rbac.StoreScope("s2"))))
	fmt.Println(rs.CheckChange(manager, rbac.Member{}, invite("accountant", rbac.StoreScope("s1"))))
	// Output:
	// <nil>
	// member outside the scopes you manage: you need users.manage at store:s2 to manage member "new"
	// grant exceeds your own rights: cannot grant role "accountant" at store:s1: you lack finance.payouts.view, business.view there
}

func ExamplePrincipal_Effective() {
	p := rbac.BuiltIns().Compile(rbac.Member{ID: "m1", Account: "acme", Status: rbac.StatusActive,
		Assignments: []rbac.Assignment{{Role: "team_member", Scope: rbac.StoreScope("s1")}}})
	for _, e := range p.Effective() {
		fmt.Println(e.Scope, e.Permissions)
	}
	// Output:
	// account []
	// store:s1 [orders.view products.view finance.transactions.view stores.view]
}

func ExampleRoleSet_WhoCan() {
	members := []rbac.Member{
		{ID: "ann", Account: "acme", Status: rbac.StatusActive, Assignments: []rbac.Assignment{{Role: "approver", Scope: rbac.StoreScope("s1")}}},
		{ID: "bob", Account: "acme", Status: rbac.StatusActive, Assignments: []rbac.Assignment{{Role: "approver", Scope: rbac.StoreScope("s2")}}},
		{ID: "cat", Account: "acme", Status: rbac.StatusSuspended, Admin: true},
		{ID: "dan", Account: "acme", Status: rbac.StatusActive, Assignments: []rbac.Assignment{{Role: "senior_manager", Scope: rbac.AccountScope}}},
	}
	po := rbac.Resource{Account: "acme", Store: "s1", DocType: rbac.DocPurchaseOrder, DocStatus: rbac.DocPendingApproval}
	for _, m := range rbac.BuiltIns().WhoCan(members, rbac.ActionDocumentApprove, po) {
		fmt.Println(m.ID)
	}
	// Output:
	// ann
	// dan
}

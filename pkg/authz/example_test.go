package authz_test

import (
	"errors"
	"fmt"

	"github.com/stewardhq/steward/pkg/authz"
)

func ExamplePrincipal_Decide() {
	rs := authz.BuiltIns()
	p := rs.Compile(authz.Member{
		ID: "m1", Account: "acme", Status: authz.StatusActive,
		Assignments: []authz.Assignment{{Role: "manager", Scope: authz.StoreScope("s1")}},
	})
	fmt.Println(p.Decide("users.manage", authz.Resource{Account: "acme", Store: "s1"}).Reason())
	fmt.Println(p.Decide("users.manage", authz.Resource{Account: "acme", Store: "s2"}).Reason())
	fmt.Println(p.Decide("users.manage", authz.Resource{Account: "globex", Store: "s1"}).Reason())

	d := p.Decide("purchases.edit", authz.Resource{Account: "acme", Store: "s1"})
	fmt.Println(d.Allowed, d.Code, d.Missing, d.Scope)
	// Output:
	// allowed by role "manager" at store:s1
	// denied: no role grants users.manage at store:s2
	// denied: resource belongs to another account
	// false no_grant purchases.edit store:s1
}

func ExamplePrincipal_Decide_documents() {
	p := authz.BuiltIns().Compile(authz.Member{
		ID: "m1", Account: "acme", Status: authz.StatusActive,
		Assignments: []authz.Assignment{{Role: "planner_purchase_orders", Scope: authz.AccountScope}},
	})
	po := authz.Resource{Account: "acme", Store: "s1", DocType: authz.DocPurchaseOrder, ApprovalRequired: true}

	po.DocStatus = authz.DocDraft
	fmt.Println(p.Decide(authz.ActionDocumentUse, po).Reason())
	po.DocStatus = authz.DocPendingApproval
	fmt.Println(p.Decide(authz.ActionDocumentEdit, po).Reason())
	po.DocStatus = authz.DocApproved
	fmt.Println(p.Decide(authz.ActionDocumentUse, po).Reason())
	po.DocStatus = authz.DocCompleted
	fmt.Println(p.Decide(authz.ActionDocumentEdit, po).Reason())
	// Output:
	// denied: purchase_order must be approved before use (status draft)
	// denied: purchase_order is pending_approval and cannot be changed
	// allowed by role "planner_purchase_orders" at account
	// denied: completed purchase_order is locked: changing it needs locked.edit at store:s1
}

func ExampleRoleSet_Decide_suspended() {
	m := authz.Member{ID: "m1", Account: "acme", Status: authz.StatusSuspended, Admin: true}
	fmt.Println(authz.BuiltIns().Decide(m, "orders.view", authz.Resource{Account: "acme"}).Reason())
	// Output:
	// denied: member is suspended
}

func ExampleParseScope() {
	s, err := authz.ParseScope("store:s1")
	fmt.Println(s.Kind, s.ID, err)
	_, err = authz.ParseScope("store:")
	fmt.Println(err)
	_, err = authz.ParseScope("shop:s1")
	fmt.Println(errors.Is(err, authz.ErrInvalidScope))
	// Output:
	// store s1 <nil>
	// invalid scope: missing id after "store:"
	// true
}

func ExampleValidateRole() {
	warnings, err := authz.ValidateRole(authz.Role{ID: "presets_only", Name: "Presets", Permissions: []string{"presets.edit_shared"}})
	fmt.Println(warnings, err)
	_, err = authz.ValidateRole(authz.Role{ID: "manager", Permissions: []string{"orders.view"}})
	fmt.Println(err)
	_, err = authz.ValidateRole(authz.Role{ID: "biller", Permissions: []string{"billing.manage"}})
	fmt.Println(err)
	// Output:
	// [presets.edit_shared is useless without reports.view] <nil>
	// role id collides with an existing role: "manager" is a built-in role
	// permission reserved to administrators or the owner: role "biller": billing.manage is held only by administrators
}

func ExampleRoleSet_CheckChange() {
	rs := authz.BuiltIns()
	manager := authz.Member{ID: "boss", Account: "acme", Status: authz.StatusActive,
		Assignments: []authz.Assignment{{Role: "manager", Scope: authz.StoreScope("s1")}}}
	invite := func(role string, scope authz.Scope) authz.Member {
		return authz.Member{ID: "new", Account: "acme", Status: authz.StatusInvited,
			Assignments: []authz.Assignment{{Role: role, Scope: scope}}}
	}
	fmt.Println(rs.CheckChange(manager, authz.Member{}, invite("team_member", authz.StoreScope("s1"))))
	fmt.Println(rs.CheckChange(manager, authz.Member{}, invite("team_member", authz.StoreScope("s2"))))
	fmt.Println(rs.CheckChange(manager, authz.Member{}, invite("accountant", authz.StoreScope("s1"))))
	// Output:
	// <nil>
	// member outside the scopes you manage: you need users.manage at store:s2 to manage member "new"
	// grant exceeds your own rights: cannot grant role "accountant" at store:s1: you lack finance.payouts.view, business.view there
}

func ExamplePrincipal_Effective() {
	p := authz.BuiltIns().Compile(authz.Member{ID: "m1", Account: "acme", Status: authz.StatusActive,
		Assignments: []authz.Assignment{{Role: "team_member", Scope: authz.StoreScope("s1")}}})
	for _, e := range p.Effective() {
		fmt.Println(e.Scope, e.Permissions)
	}
	// Output:
	// account []
	// store:s1 [orders.view products.view finance.transactions.view stores.view]
}

func ExampleRoleSet_WhoCan() {
	members := []authz.Member{
		{ID: "ann", Account: "acme", Status: authz.StatusActive, Assignments: []authz.Assignment{{Role: "approver", Scope: authz.StoreScope("s1")}}},
		{ID: "bob", Account: "acme", Status: authz.StatusActive, Assignments: []authz.Assignment{{Role: "approver", Scope: authz.StoreScope("s2")}}},
		{ID: "cat", Account: "acme", Status: authz.StatusSuspended, Admin: true},
		{ID: "dan", Account: "acme", Status: authz.StatusActive, Assignments: []authz.Assignment{{Role: "senior_manager", Scope: authz.AccountScope}}},
	}
	po := authz.Resource{Account: "acme", Store: "s1", DocType: authz.DocPurchaseOrder, DocStatus: authz.DocPendingApproval}
	for _, m := range authz.BuiltIns().WhoCan(members, authz.ActionDocumentApprove, po) {
		fmt.Println(m.ID)
	}
	// Output:
	// ann
	// dan
}

package apitest

import (
	"net/http"
	"strings"
	"testing"
)

// privilegeRoles places each built-in role at a scope it allows: account
// for the account-only role and for full_access (the default grant of a new
// member), store:s1 for the store roles, department:sales and supplier:sup1
// for the roles bound to those kinds.
var privilegeRoles = []struct{ role, scope string }{
	{"full_access", "account"},
	{"administrator", "account"},
	{"junior_admin", "store:s1"},
	{"accountant", "store:s1"},
	{"manager", "store:s1"},
	{"team_member", "store:s1"},
	{"senior_manager", "store:s1"},
	{"department_manager", "department:sales"},
	{"approver", "store:s1"},
	{"supplier", "supplier:sup1"},
}

// privilegeOps are the changing routes of the matrix, in call order.
var privilegeOps = []string{
	"createInvitation", "createUser", "putStore", "updateAccount", "createRole",
	"createApiKey", "putApprovalPolicy", "putDocument", "putStockLevels", "suspendUser",
}

// privileges is the expected answer of each (role, operation), derived
// from pkg/authz/roles.json and each route's requirement, not recorded from
// the server:
//
//   - createInvitation, createUser (invitee team_member@store:s1): the
//     grant ceiling — users.manage at store:s1 and every permission of
//     team_member (stores.view, products.view, finance.transactions.view,
//     orders.view) held at store:s1. senior_manager lacks
//     finance.transactions.view, so it may not grant team_member.
//   - putStore, updateAccount, putApprovalPolicy: settings.manage on the
//     account (an account-scope grant); createRole: settings.manage held at
//     account scope. junior_admin excludes settings.manage.
//   - createApiKey: administrators only (not full_access: "*" is not admin).
//   - putDocument purchase_order at store s1: documents.edit → purchases.edit
//     at store:s1 (a department grant does not cover a store document).
//   - putStockLevels at s1: stock.edit at store:s1 (only the "*" roles hold
//     it; senior_manager has stock.view only).
//   - suspendUser of a team_member@store:s1: users.manage at store:s1.
var privileges = map[string]map[string]string{
	"full_access": {
		"createInvitation": "allow", "createUser": "allow", "putStore": "allow", "updateAccount": "allow", "createRole": "allow",
		"createApiKey": "deny", "putApprovalPolicy": "allow", "putDocument": "allow", "putStockLevels": "allow", "suspendUser": "allow",
	},
	"administrator": {
		"createInvitation": "allow", "createUser": "allow", "putStore": "allow", "updateAccount": "allow", "createRole": "allow",
		"createApiKey": "allow", "putApprovalPolicy": "allow", "putDocument": "allow", "putStockLevels": "allow", "suspendUser": "allow",
	},
	"junior_admin": {
		"createInvitation": "allow", "createUser": "allow", "putStore": "deny", "updateAccount": "deny", "createRole": "deny",
		"createApiKey": "deny", "putApprovalPolicy": "deny", "putDocument": "allow", "putStockLevels": "allow", "suspendUser": "allow",
	},
	"accountant": {
		"createInvitation": "deny", "createUser": "deny", "putStore": "deny", "updateAccount": "deny", "createRole": "deny",
		"createApiKey": "deny", "putApprovalPolicy": "deny", "putDocument": "deny", "putStockLevels": "deny", "suspendUser": "deny",
	},
	"manager": {
		"createInvitation": "allow", "createUser": "allow", "putStore": "deny", "updateAccount": "deny", "createRole": "deny",
		"createApiKey": "deny", "putApprovalPolicy": "deny", "putDocument": "deny", "putStockLevels": "deny", "suspendUser": "allow",
	},
	"team_member": {
		"createInvitation": "deny", "createUser": "deny", "putStore": "deny", "updateAccount": "deny", "createRole": "deny",
		"createApiKey": "deny", "putApprovalPolicy": "deny", "putDocument": "deny", "putStockLevels": "deny", "suspendUser": "deny",
	},
	"senior_manager": {
		"createInvitation": "deny", "createUser": "deny", "putStore": "deny", "updateAccount": "deny", "createRole": "deny",
		"createApiKey": "deny", "putApprovalPolicy": "deny", "putDocument": "allow", "putStockLevels": "deny", "suspendUser": "allow",
	},
	"department_manager": {
		"createInvitation": "deny", "createUser": "deny", "putStore": "deny", "updateAccount": "deny", "createRole": "deny",
		"createApiKey": "deny", "putApprovalPolicy": "deny", "putDocument": "deny", "putStockLevels": "deny", "suspendUser": "deny",
	},
	"approver": {
		"createInvitation": "deny", "createUser": "deny", "putStore": "deny", "updateAccount": "deny", "createRole": "deny",
		"createApiKey": "deny", "putApprovalPolicy": "deny", "putDocument": "deny", "putStockLevels": "deny", "suspendUser": "deny",
	},
	"supplier": {
		"createInvitation": "deny", "createUser": "deny", "putStore": "deny", "updateAccount": "deny", "createRole": "deny",
		"createApiKey": "deny", "putApprovalPolicy": "deny", "putDocument": "deny", "putStockLevels": "deny", "suspendUser": "deny",
	},
}

func teamMemberAtS1() []map[string]string {
	return []map[string]string{{"role": "team_member", "scope": "store:s1"}}
}

// TestPrivilegeMatrix has a member of every built-in role call every
// changing route of privilegeOps and checks the answer against privileges.
func TestPrivilegeMatrix(t *testing.T) {
	// The data covers exactly the roles and operations driven.
	for _, r := range privilegeRoles {
		row, ok := privileges[r.role]
		if !ok {
			t.Fatalf("no expectations for role %s", r.role)
		}
		for _, op := range privilegeOps {
			if v := row[op]; v != "allow" && v != "deny" {
				t.Fatalf("%s/%s: expectation %q, want allow or deny", r.role, op, v)
			}
		}
		if len(row) != len(privilegeOps) {
			t.Fatalf("%s: %d expectations for %d operations", r.role, len(row), len(privilegeOps))
		}
	}

	e := New(t)
	owner := e.signup(t, newEmail("priv-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	target, _ := e.join(t, ownerTk, newEmail("priv-target"), map[string]any{"assignments": teamMemberAtS1()})

	callers := map[string]string{}
	for _, r := range privilegeRoles {
		_, tk := e.join(t, ownerTk, newEmail("priv-"+strings.ReplaceAll(r.role, "_", "")),
			map[string]any{"assignments": []map[string]string{{"role": r.role, "scope": r.scope}}})
		callers[r.role] = tk.AccessToken
	}

	type call struct {
		method, path string
		body         any
		headers      []string
	}
	build := func(role, op string) call {
		id := "priv_" + role
		switch op {
		case "createInvitation":
			return call{"POST", "/v1/invitations", map[string]any{"email": newEmail("priv-inv"), "assignments": teamMemberAtS1()}, nil}
		case "createUser":
			return call{"POST", "/v1/users", map[string]any{"email": newEmail("priv-user"), "name": "Priv User", "assignments": teamMemberAtS1()}, nil}
		case "putStore":
			return call{"PUT", "/v1/stores/" + id, map[string]any{"name": "Store of " + role}, nil}
		case "updateAccount":
			// The current version, read as the owner.
			etag := e.Call(t, "GET", "/v1/account", ownerTk, nil).Want(t, http.StatusOK, "").Header.Get("ETag")
			return call{"PATCH", "/v1/account", map[string]any{"name": "Renamed by " + role}, []string{"If-Match", etag}}
		case "createRole":
			return call{"POST", "/v1/roles", map[string]any{"id": id, "name": "Role by " + role, "permissions": []string{"orders.view"}}, nil}
		case "createApiKey":
			return call{"POST", "/v1/api-keys", map[string]any{"name": "key by " + role, "permissions": []string{"orders.view"}}, nil}
		case "putApprovalPolicy":
			return call{"PUT", "/v1/approval-policies/purchase_order", map[string]any{"enabled": false, "expiresAfterHours": 24}, nil}
		case "putDocument":
			return call{"PUT", "/v1/documents/purchase_order/" + strings.ReplaceAll(id, "_", "-"), map[string]any{"store": "s1", "amount": 10, "currency": "EUR", "title": "PO by " + role}, nil}
		case "putStockLevels":
			return call{"PUT", "/v1/stock-levels", map[string]any{"items": []any{map[string]any{"sku": "SKU-" + role, "name": "Item", "store": "s1", "onHand": 3, "threshold": 5}}}, nil}
		case "suspendUser":
			return call{"POST", "/v1/users/" + target + "/suspend", nil, nil}
		}
		t.Fatalf("no request for %s", op)
		return call{}
	}

	pairs, allows := 0, 0
	for _, r := range privilegeRoles {
		for _, op := range privilegeOps {
			want := privileges[r.role][op]
			c := build(r.role, op)
			res := e.Call(t, c.method, c.path, callers[r.role], c.body, c.headers...)
			pairs++
			ok := want == "allow" && res.Status >= 200 && res.Status < 300 || want == "deny" && res.Status == http.StatusForbidden
			if !ok {
				t.Errorf("%s@%s %s %s: got %d %s, want %s", r.role, r.scope, c.method, c.path, res.Status, res.Body, want)
			}
			if want == "allow" {
				allows++
			}
			if op == "suspendUser" && res.Status == http.StatusOK {
				// Put the target back for the next role.
				e.Call(t, "POST", "/v1/users/"+target+"/reactivate", ownerTk, nil).Want(t, http.StatusOK, "")
			}
		}
	}
	if want := len(privilegeRoles) * len(privilegeOps); pairs != want {
		t.Errorf("tried %d pairs, want %d", pairs, want)
	}
	t.Logf("privilege matrix: %d (role, route) pairs tried (%d roles x %d routes), %d expected allow, %d expected deny",
		pairs, len(privilegeRoles), len(privilegeOps), allows, pairs-allows)
}

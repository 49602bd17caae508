package rbac_test

import (
	"strings"
	"testing"

	"github.com/stewardhq/steward/pkg/rbac"
)

// FuzzDecide decides on arbitrary members, actions and resources and
// checks the invariants: no panic; the reason agrees with the answer; a
// non-active member is never allowed; another account's resource is never
// allowed; owner-only permissions are allowed only to the owner; an
// active admin is allowed every known non-owner-only action on its own
// account's resources, unless the document's state forbids it.
func FuzzDecide(f *testing.F) {
	f.Add("active", false, false, "manager@store:s1", "users.manage", "s1", "", "", "", "", false, false)
	f.Add("active", true, false, "", "documents.edit", "s1", "", "", "purchase_order", "completed", false, false)
	f.Add("suspended", true, true, "full_access@account", "orders.view", "", "", "", "", "", false, false)
	f.Add("active", false, false, "supplier@supplier:p1", "purchases.view", "s1", "", "p1", "purchase_order", "approved", true, false)
	f.Add("active", false, true, "", "account.close", "", "", "", "", "", false, true)
	f.Fuzz(func(t *testing.T, status string, admin, owner bool, grants, action, store, department, supplier, docType, docStatus string, approvalRequired, crossTenant bool) {
		m := rbac.Member{ID: "m", Account: "acme", Status: rbac.Status(status), Admin: admin, Owner: owner}
		for _, g := range strings.Split(grants, ",") {
			role, scope, ok := strings.Cut(g, "@")
			if !ok {
				continue
			}
			kind, id, _ := strings.Cut(scope, ":")
			m.Assignments = append(m.Assignments, rbac.Assignment{Role: role, Scope: rbac.Scope{Kind: rbac.ScopeKind(kind), ID: id}})
		}
		r := rbac.Resource{Account: "acme", Store: store, Department: department, Supplier: supplier,
			DocType: rbac.DocType(docType), DocStatus: rbac.DocStatus(docStatus), ApprovalRequired: approvalRequired}
		if crossTenant {
			r.Account = "globex"
		}
		p := rbac.BuiltIns().Compile(m)
		d := p.Decide(action, r)
		reason := d.Reason()
		if d.Allowed != strings.HasPrefix(reason, "allowed") || (!d.Allowed && !strings.HasPrefix(reason, "denied")) {
			t.Fatalf("reason %q disagrees with allowed=%v", reason, d.Allowed)
		}
		if d.Allowed {
			switch d.Code {
			case rbac.CodeOwner, rbac.CodeAdmin:
			case rbac.CodeRole:
				if d.Role == "" || d.Scope.Validate() != nil {
					t.Fatalf("allowed by role without a valid grant: %+v", d)
				}
			default:
				t.Fatalf("allowed with code %q", d.Code)
			}
		}
		if m.Status != rbac.StatusActive && d.Allowed {
			t.Fatalf("non-active member (%q) allowed: %s", status, reason)
		}
		if crossTenant && d.Allowed {
			t.Fatalf("cross-tenant request allowed: %s", reason)
		}
		if perm, ok := rbac.LookupPermission(d.Permission); ok && perm.Tier == rbac.TierOwner && d.Allowed && !owner {
			t.Fatalf("owner-only %s allowed to a non-owner", d.Permission)
		}
		if (admin || owner) && m.Status == rbac.StatusActive && !crossTenant && rbac.IsAction(action) && !d.Allowed {
			switch d.Code {
			case rbac.CodeDocumentPending, rbac.CodeNotApproved, rbac.CodeDocumentStatus, rbac.CodeNoApproval,
				rbac.CodeDocumentTypeRequired, rbac.CodeUnknownDocType, rbac.CodeUnknownDocStatus:
				// the document's state or description forbids it
			case rbac.CodeOwnerOnly:
				if owner {
					t.Fatalf("owner denied owner-only %s", action)
				}
			default:
				t.Fatalf("admin denied %s: %s", action, reason)
			}
		}
		// Allocation-free and deterministic: the same question, the same answer.
		if again := p.Decide(action, r); again != d {
			t.Fatalf("not deterministic: %+v vs %+v", d, again)
		}
	})
}

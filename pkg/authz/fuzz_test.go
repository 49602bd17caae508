package authz_test

import (
	"strings"
	"testing"

	"github.com/stewardhq/steward/pkg/authz"
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
		m := authz.Member{ID: "m", Account: "acme", Status: authz.Status(status), Admin: admin, Owner: owner}
		for _, g := range strings.Split(grants, ",") {
			role, scope, ok := strings.Cut(g, "@")
			if !ok {
				continue
			}
			kind, id, _ := strings.Cut(scope, ":")
			m.Assignments = append(m.Assignments, authz.Assignment{Role: role, Scope: authz.Scope{Kind: authz.ScopeKind(kind), ID: id}})
		}
		r := authz.Resource{Account: "acme", Store: store, Department: department, Supplier: supplier,
			DocType: authz.DocType(docType), DocStatus: authz.DocStatus(docStatus), ApprovalRequired: approvalRequired}
		if crossTenant {
			r.Account = "globex"
		}
		p := authz.BuiltIns().Compile(m)
		d := p.Decide(action, r)
		reason := d.Reason()
		if d.Allowed != strings.HasPrefix(reason, "allowed") || (!d.Allowed && !strings.HasPrefix(reason, "denied")) {
			t.Fatalf("reason %q disagrees with allowed=%v", reason, d.Allowed)
		}
		if d.Allowed {
			switch d.Code {
			case authz.CodeOwner, authz.CodeAdmin:
			case authz.CodeRole:
				if d.Role == "" || d.Scope.Validate() != nil {
					t.Fatalf("allowed by role without a valid grant: %+v", d)
				}
			default:
				t.Fatalf("allowed with code %q", d.Code)
			}
		}
		if m.Status != authz.StatusActive && d.Allowed {
			t.Fatalf("non-active member (%q) allowed: %s", status, reason)
		}
		if crossTenant && d.Allowed {
			t.Fatalf("cross-tenant request allowed: %s", reason)
		}
		if perm, ok := authz.LookupPermission(d.Permission); ok && perm.Tier == authz.TierOwner && d.Allowed && !owner {
			t.Fatalf("owner-only %s allowed to a non-owner", d.Permission)
		}
		if (admin || owner) && m.Status == authz.StatusActive && !crossTenant && authz.IsAction(action) && !d.Allowed {
			switch d.Code {
			case authz.CodeDocumentPending, authz.CodeNotApproved, authz.CodeDocumentStatus, authz.CodeNoApproval,
				authz.CodeDocumentTypeRequired, authz.CodeUnknownDocType, authz.CodeUnknownDocStatus:
				// the document's state or description forbids it
			case authz.CodeOwnerOnly:
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

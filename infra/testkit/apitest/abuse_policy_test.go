package apitest

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/routes"
)

// impersonationRefused is the decided list of operations an impersonated
// session may not call (routes.Route.NoImpersonation): requesting,
// deciding or cancelling approvals and access requests; grants (invitations, members created,
// deleted or moved between statuses), roles, settings and policies, API
// keys, ownership, and impersonating again. Everything else (reading, the
// member's documents, stock levels, checks, host-app activity records,
// which name the impersonator, signing out) stays open, and
// PATCH /v1/users/{id} refuses only the grant fields (field-level, in its
// handler).
var impersonationRefused = []string{
	"createInvitation", "resendInvitation", "revokeInvitation",
	"createApiKey", "revokeApiKey",
	"createRole", "updateRole", "deleteRole",
	"updateAccount", "putStore", "putDepartment", "putSupplier",
	"createUser", "importUsers", "deleteUser", "suspendUser", "reactivateUser", "deactivateUser",
	"transferOwnership", "impersonateUser",
	"createApprovalRequest", "decideApprovalRequest", "cancelApprovalRequest",
	"putApprovalPolicy",
	"createAccessRequest", "decideAccessRequest", "cancelAccessRequest",
	"createWebhook", "updateWebhook", "deleteWebhook", "rotateWebhookSecret", "replayWebhook",
	"putMyDelegation", "deleteMyDelegation",
	"createPortalSession",
}

// impersonating signs up an account whose owner impersonates a member
// holding full access at account scope (the default grant): whatever the
// session is refused, it is refused for being impersonated, not for
// lacking rights.
func (e *Env) impersonating(t *testing.T) (owner signedUp, ownerTk, memberID, impTk string) {
	t.Helper()
	owner = e.signup(t, newEmail("imp-owner"))
	ownerTk = e.login(t, owner.Email, goodPassword, "").AccessToken
	memberID, _ = e.acctMember(t, owner, []rbac.Assignment{at("full_access", "account")})
	var imp tokens
	e.Call(t, "POST", "/v1/users/"+memberID+"/impersonate", ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &imp)
	return owner, ownerTk, memberID, imp.AccessToken
}

// TestImpersonationRefusedRoutes derives its calls from the route table:
// the routes flagged NoImpersonation are exactly impersonationRefused, and
// every one of them answers an impersonated token 403
// impersonation_forbidden without writing anything, while the member's
// ordinary work and the PATCH fields that grant nothing still work.
func TestImpersonationRefusedRoutes(t *testing.T) {
	var flagged []string
	for _, r := range routes.Table {
		if r.NoImpersonation {
			flagged = append(flagged, r.Operation)
			if r.Public {
				t.Errorf("%s: a public route cannot refuse impersonation", r.Pattern())
			}
		}
	}
	want := slices.Clone(impersonationRefused)
	slices.Sort(flagged)
	slices.Sort(want)
	if !slices.Equal(flagged, want) {
		t.Fatalf("routes flagged NoImpersonation:\n%v\nwant:\n%v", flagged, want)
	}

	e := New(t)
	owner, ownerTk, memberID, imp := e.impersonating(t)
	before := e.auditCount(t, owner.AccountID)
	for _, r := range routes.Table {
		if !r.NoImpersonation {
			continue
		}
		path := r.Path
		for _, p := range r.Params() {
			v := "x1"
			switch p {
			case "id":
				v = memberID
			case "type", "docType":
				v = "purchase_order"
			}
			path = strings.ReplaceAll(path, "{"+p+"}", v)
		}
		var body any
		if r.Body {
			body = map[string]any{}
		}
		e.Call(t, r.Method, path, imp, body, "If-Match", `"1"`).Want(t, http.StatusForbidden, "impersonation_forbidden")
	}
	// The field-level case: grants refused, the profile is ordinary work.
	etag := e.Call(t, "GET", "/v1/users/"+memberID, ownerTk, nil).Want(t, http.StatusOK, "").Header.Get("ETag")
	for _, change := range []map[string]any{
		{"assignments": []map[string]string{{"role": "team_member", "scope": "store:s1"}}},
		{"admin": true},
		{"name": "Renamed", "admin": false},
	} {
		e.Call(t, "PATCH", "/v1/users/"+memberID, imp, change, "If-Match", etag).Want(t, http.StatusForbidden, "impersonation_forbidden")
	}
	if after := e.auditCount(t, owner.AccountID); after != before {
		t.Fatalf("refused impersonated calls wrote %d audit events", after-before)
	}
	e.Call(t, "PATCH", "/v1/users/"+memberID, imp, map[string]any{"name": "Renamed while looking"}, "If-Match", etag).Want(t, http.StatusOK, "")
	e.Call(t, "GET", "/v1/me", imp, nil).Want(t, http.StatusOK, "")
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-imp", imp, poBody(10)).Want(t, http.StatusCreated, "")
	e.Call(t, "POST", "/v1/authz/check", imp, map[string]any{"action": "orders.view", "resource": map[string]any{}}).Want(t, http.StatusOK, "")
	e.Call(t, "PUT", "/v1/stock-levels", imp, map[string]any{"items": []any{stockItem("s1", "SKU-1", 3, 5)}}).Want(t, http.StatusOK, "")
	e.Call(t, "POST", "/v1/activity", imp, map[string]any{"action": "order.view"}).Want(t, http.StatusCreated, "")
}

// policyDoc prepares an account whose purchase orders need one approval,
// with a purchase order pending approval: the owner, a full-access member
// who may request, and the document's id.
func (e *Env) policyDoc(t *testing.T) (tm apTeam, docID, requestID string) {
	t.Helper()
	tm = e.apSetup(t)
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, map[string]any{
		"enabled": true, "selfApproval": false, "expiresAfterHours": 24,
		"externalApprovers": map[string]any{"allowed": false, "domains": []string{}},
		"levels":            []map[string]any{{"minAmount": 0, "required": 1, "scope": "document"}},
	}).Want(t, http.StatusOK, "")
	docID = "po-pending"
	e.Call(t, "PUT", "/v1/documents/purchase_order/"+docID, tm.requester.Token, poBody(100)).Want(t, http.StatusCreated, "")
	r := e.requestApproval(t, tm.requester.Token, docID, map[string]any{})
	e.waitRequest(t, tm.ownerTk, r.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 })
	return tm, docID, r.ID
}

// impersonate has the owner of tm impersonate member id.
func (e *Env) impersonate(t *testing.T, ownerTk, id string) string {
	t.Helper()
	var imp tokens
	e.Call(t, "POST", "/v1/users/"+id+"/impersonate", ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &imp)
	return imp.AccessToken
}

// storedDocCheck is a check of documents.use on the pending purchase
// order, with the caller's resource fields.
func storedDocCheck(docID string, extra map[string]any) map[string]any {
	res := map[string]any{"type": "purchase_order", "id": docID}
	for k, v := range extra {
		res[k] = v
	}
	return map[string]any{"action": "documents.use", "resource": res}
}

var _ = abuse(
	abuseCase{rule: "impersonation is for looking", who: "impersonator", name: "decides an approval as the approver",
		status: http.StatusForbidden, code: "impersonation_forbidden",
		do: func(t *testing.T, e *Env) *Response {
			tm, _, req := e.policyDoc(t)
			imp := e.impersonate(t, tm.ownerTk, tm.mgr1.ID)
			r := e.Call(t, "POST", "/v1/approval-requests/"+req+"/decision", imp, map[string]any{"decision": "approve"})
			if got := e.getRequest(t, tm.ownerTk, req); got.Status != "pending" || len(got.Decisions) != 0 {
				t.Errorf("after the impersonated decision the request is %+v", got)
			}
			return r
		}},
	abuseCase{rule: "impersonation is for looking", who: "impersonator", name: "deletes a role reassigning its members",
		status: http.StatusForbidden, code: "impersonation_forbidden",
		do: func(t *testing.T, e *Env) *Response {
			_, ownerTk, _, imp := e.impersonating(t)
			e.Call(t, "POST", "/v1/roles", ownerTk, map[string]any{"id": "buyers", "name": "Buyers", "permissions": []string{"orders.view"}}).Want(t, http.StatusCreated, "")
			r := e.Call(t, "DELETE", "/v1/roles/buyers?members=reassign&to=team_member", imp, nil)
			e.Call(t, "GET", "/v1/roles/buyers", ownerTk, nil).Want(t, http.StatusOK, "")
			return r
		}},
	abuseCase{rule: "impersonation is for looking", who: "impersonator", name: "suspends a member",
		status: http.StatusForbidden, code: "impersonation_forbidden",
		do: func(t *testing.T, e *Env) *Response {
			owner, _, _, imp := e.impersonating(t)
			other, _ := e.acctMember(t, owner, []rbac.Assignment{at("team_member", "store:s1")})
			return e.Call(t, "POST", "/v1/users/"+other+"/suspend", imp, nil)
		}},
	abuseCase{rule: "impersonation is for looking", who: "impersonator", name: "forces a member out past their approval duties",
		status: http.StatusForbidden, code: "impersonation_forbidden",
		do: func(t *testing.T, e *Env) *Response {
			owner, _, _, imp := e.impersonating(t)
			other, _ := e.acctMember(t, owner, []rbac.Assignment{at("team_member", "store:s1")})
			return e.Call(t, "DELETE", "/v1/users/"+other, imp, map[string]any{"force": true})
		}},
	abuseCase{rule: "impersonation is for looking", who: "impersonator", name: "creates an API key",
		status: http.StatusForbidden, code: "impersonation_forbidden",
		do: func(t *testing.T, e *Env) *Response {
			_, _, _, imp := e.impersonating(t)
			return e.Call(t, "POST", "/v1/api-keys", imp, map[string]any{"name": "backdoor", "permissions": []string{"orders.view"}})
		}},
	abuseCase{rule: "policies are admin business", who: "member", name: "full access rewrites the approval policy",
		status: http.StatusForbidden, code: "forbidden",
		do: func(t *testing.T, e *Env) *Response {
			owner := e.signup(t, newEmail("pol-owner"))
			ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
			_, tk := e.join(t, ownerTk, newEmail("pol-full"), map[string]any{}) // the default grant: full access
			return e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tk.AccessToken, map[string]any{
				"enabled": true, "selfApproval": true, "expiresAfterHours": 24,
				"externalApprovers": map[string]any{"allowed": false, "domains": []string{}},
				"levels":            []map[string]any{{"minAmount": 0, "required": 1, "scope": "document"}},
			})
		}},
	abuseCase{rule: "policies are admin business", who: "member", name: "full access opens self-registration",
		status: http.StatusForbidden, code: "forbidden",
		do: func(t *testing.T, e *Env) *Response {
			owner := e.signup(t, newEmail("pol-owner"))
			ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
			_, tk := e.join(t, ownerTk, newEmail("pol-full"), map[string]any{})
			etag := e.Call(t, "GET", "/v1/account", tk.AccessToken, nil).Want(t, http.StatusOK, "").Header.Get("ETag")
			r := e.Call(t, "PATCH", "/v1/account", tk.AccessToken, map[string]any{"settings": map[string]any{
				"selfRegistration": map[string]any{"enabled": true, "domains": []string{"gmail.com"}, "defaultRole": "team_member"},
			}}, "If-Match", etag)
			// The other settings are still theirs to change.
			e.Call(t, "PATCH", "/v1/account", tk.AccessToken, map[string]any{"settings": map[string]any{"alertHour": 9}}, "If-Match", etag).Want(t, http.StatusOK, "")
			return r
		}},
	abuseCase{rule: "policies are admin business", who: "member", name: "full access sets external approver domains",
		status: http.StatusForbidden, code: "forbidden",
		do: func(t *testing.T, e *Env) *Response {
			owner := e.signup(t, newEmail("pol-owner"))
			ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
			_, tk := e.join(t, ownerTk, newEmail("pol-full"), map[string]any{})
			etag := e.Call(t, "GET", "/v1/account", tk.AccessToken, nil).Want(t, http.StatusOK, "").Header.Get("ETag")
			return e.Call(t, "PATCH", "/v1/account", tk.AccessToken, map[string]any{"settings": map[string]any{
				"externalApproverDomains": []string{"example.com"}, "invitationTtlHours": 720,
			}}, "If-Match", etag)
		}},
	abuseCase{rule: "the stored document wins", who: "member", name: "check claims approved for a pending document",
		status: http.StatusBadRequest, code: "resource_mismatch",
		do: func(t *testing.T, e *Env) *Response {
			tm, doc, _ := e.policyDoc(t)
			var d struct {
				Allowed bool `json:"allowed"`
			}
			e.Call(t, "POST", "/v1/authz/check", tm.requester.Token, storedDocCheck(doc, nil)).Want(t, http.StatusOK, "").JSON(t, &d)
			if d.Allowed {
				t.Error("a pending purchase order that needs approval is usable")
			}
			return e.Call(t, "POST", "/v1/authz/check", tm.requester.Token, storedDocCheck(doc, map[string]any{"docStatus": "approved"}))
		}},
	abuseCase{rule: "the stored document wins", who: "member", name: "check moves a document to another store",
		status: http.StatusBadRequest, code: "resource_mismatch",
		do: func(t *testing.T, e *Env) *Response {
			tm, doc, _ := e.policyDoc(t)
			return e.Call(t, "POST", "/v1/authz/check", tm.requester.Token, storedDocCheck(doc, map[string]any{"store": "s2"}))
		}},
	abuseCase{rule: "the stored document wins", who: "member", name: "check-batch claims approved for a pending document",
		status: http.StatusBadRequest, code: "resource_mismatch",
		do: func(t *testing.T, e *Env) *Response {
			tm, doc, _ := e.policyDoc(t)
			var b struct {
				Results []struct {
					Allowed bool `json:"allowed"`
				} `json:"results"`
			}
			e.Call(t, "POST", "/v1/authz/check-batch", tm.requester.Token, map[string]any{"checks": []any{
				storedDocCheck(doc, nil), storedDocCheck(doc, map[string]any{"store": "s1", "docStatus": "pending_approval"}),
			}}).Want(t, http.StatusOK, "").JSON(t, &b)
			if len(b.Results) != 2 || b.Results[0].Allowed || b.Results[1].Allowed {
				t.Errorf("batch on the pending document answered %+v", b)
			}
			return e.Call(t, "POST", "/v1/authz/check-batch", tm.requester.Token, map[string]any{"checks": []any{
				storedDocCheck(doc, nil), storedDocCheck(doc, map[string]any{"docStatus": "approved"}),
			}})
		}},
)

// TestStoredDocumentWins: checks naming a stored document decide on its
// stored facts; fields that agree with them are accepted, contradicting
// ones refused; a document that is not stored is decided as given; and a
// batch of 100 checks naming 100 documents (101 keys: two BatchGetItems
// sent at once) still finds the stored one.
func TestStoredDocumentWins(t *testing.T) {
	e := New(t)
	tm, doc, _ := e.policyDoc(t)
	tk := tm.requester.Token
	type result struct {
		Allowed bool   `json:"allowed"`
		Code    string `json:"code"`
	}
	var r result
	e.Call(t, "POST", "/v1/authz/check", tk, storedDocCheck(doc, map[string]any{"store": "s1", "docStatus": "pending_approval"})).Want(t, http.StatusOK, "").JSON(t, &r)
	if r.Allowed {
		t.Errorf("using a pending purchase order: %+v", r)
	}
	e.Call(t, "POST", "/v1/authz/check", tk, map[string]any{"action": "documents.edit", "resource": map[string]any{"type": "purchase_order", "id": doc}}).Want(t, http.StatusOK, "").JSON(t, &r)
	if r.Allowed {
		t.Errorf("editing a pending purchase order: %+v", r)
	}
	for field, v := range map[string]any{"department": "sales", "supplier": "sup1", "docStatus": "draft"} {
		res := e.Call(t, "POST", "/v1/authz/check", tk, storedDocCheck(doc, map[string]any{field: v})).Want(t, http.StatusBadRequest, "resource_mismatch")
		if got := res.Map(t)["errors"]; got == nil || !strings.Contains(string(res.Body), "resource."+field) {
			t.Errorf("mismatch of %s names %s", field, res.Body)
		}
	}
	// Not stored: decided as the host app describes it.
	e.Call(t, "POST", "/v1/authz/check", tk, storedDocCheck("po-unregistered", map[string]any{"store": "s1", "docStatus": "approved"})).Want(t, http.StatusOK, "").JSON(t, &r)
	if !r.Allowed {
		t.Errorf("using an approved purchase order the host app describes: %+v", r)
	}
	checks := []any{}
	for i := range 99 {
		checks = append(checks, storedDocCheck("po-x"+strings.Repeat("9", i%3)+string(rune('a'+i%26))+string(rune('a'+i/26)), map[string]any{"store": "s1", "docStatus": "approved"}))
	}
	var b struct {
		Results []result `json:"results"`
	}
	e.Call(t, "POST", "/v1/authz/check-batch", tk, map[string]any{"checks": append(slices.Clone(checks), storedDocCheck(doc, nil))}).Want(t, http.StatusOK, "").JSON(t, &b)
	if len(b.Results) != 100 || !b.Results[0].Allowed || b.Results[99].Allowed {
		t.Errorf("batch of 100: first %+v, last %+v", b.Results[0], b.Results[len(b.Results)-1])
	}
	res := e.Call(t, "POST", "/v1/authz/check-batch", tk, map[string]any{"checks": append(slices.Clone(checks), storedDocCheck(doc, map[string]any{"docStatus": "approved"}))}).Want(t, http.StatusBadRequest, "resource_mismatch")
	if !strings.Contains(string(res.Body), "checks[99].resource.docStatus") {
		t.Errorf("batch mismatch names %s", res.Body)
	}
}

// TestPolicyChangesAudited: an administrator changes the approval policy
// and the account's policies; each change's audit event carries the
// policy before and after.
func TestPolicyChangesAudited(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("pol-audit"))
	tk := e.login(t, owner.Email, goodPassword, "").AccessToken
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tk, twoLevelPolicy()).Want(t, http.StatusOK, "")
	pol := twoLevelPolicy()
	pol["selfApproval"] = true
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tk, pol).Want(t, http.StatusOK, "")
	etag := e.Call(t, "GET", "/v1/account", tk, nil).Want(t, http.StatusOK, "").Header.Get("ETag")
	e.Call(t, "PATCH", "/v1/account", tk, map[string]any{"settings": map[string]any{
		"selfRegistration": map[string]any{"enabled": true, "domains": []string{"partner.example"}, "defaultRole": "team_member"},
	}}, "If-Match", etag).Want(t, http.StatusOK, "")

	type event struct {
		Before map[string]any `json:"before"`
		After  map[string]any `json:"after"`
	}
	var pols struct{ Items []event }
	e.Call(t, "GET", "/v1/audit?action=approval_policy.put", tk, nil).Want(t, http.StatusOK, "").JSON(t, &pols)
	if len(pols.Items) != 2 {
		t.Fatalf("approval_policy.put events: %+v", pols.Items)
	}
	last := pols.Items[0] // newest first
	if last.Before["selfApproval"] != false || last.After["selfApproval"] != true {
		t.Errorf("policy change audited as %+v", last)
	}
	var accts struct{ Items []event }
	e.Call(t, "GET", "/v1/audit?action=account.update", tk, nil).Want(t, http.StatusOK, "").JSON(t, &accts)
	if len(accts.Items) != 1 {
		t.Fatalf("account.update events: %+v", accts.Items)
	}
	sr := func(m map[string]any) any {
		s, _ := m["settings"].(map[string]any)
		r, _ := s["selfRegistration"].(map[string]any)
		return r["enabled"]
	}
	if a := accts.Items[0]; sr(a.Before) != false || sr(a.After) != true {
		t.Errorf("self-registration change audited as %+v", a)
	}
}

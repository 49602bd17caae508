package apitest

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/routes"
)

// sampleBodies are well-formed bodies per operation, so that a
// cross-tenant call fails on tenancy, not on validation.
var sampleBodies = map[string]any{
	"createInvitation":      map[string]any{"email": "iso-invite@example.com"},
	"createUser":            map[string]any{"email": "iso-user@example.com", "name": "Iso"},
	"importUsers":           map[string]any{"users": []any{map[string]any{"email": "iso-import@example.com", "name": "Iso"}}},
	"updateUser":            map[string]any{"name": "Changed by another tenant"},
	"transferOwnership":     map[string]any{"memberId": "{member}"},
	"deleteUser":            map[string]any{"force": false},
	"suspendUser":           map[string]any{"force": false},
	"deactivateUser":        map[string]any{"force": false},
	"createRole":            map[string]any{"id": "iso_role", "name": "Iso", "permissions": []string{"orders.view"}},
	"updateRole":            map[string]any{"name": "Changed by another tenant"},
	"checkPermission":       map[string]any{"action": "orders.view", "resource": map[string]any{"store": "s1"}, "userId": "{member}"},
	"checkPermissionBatch":  map[string]any{"checks": []any{map[string]any{"action": "orders.view", "resource": map[string]any{"store": "s1"}, "userId": "{member}"}}},
	"updateAccount":         map[string]any{"name": "Changed by another tenant"},
	"putStore":              map[string]any{"name": "Changed by another tenant"},
	"putDepartment":         map[string]any{"name": "Changed by another tenant", "kind": "sales"},
	"putSupplier":           map[string]any{"name": "Changed by another tenant"},
	"createApiKey":          map[string]any{"name": "iso", "permissions": []string{"orders.view"}},
	"putStockLevels":        map[string]any{"items": []any{map[string]any{"sku": "ISO", "name": "Iso", "store": "s1", "onHand": 1, "threshold": 5}}},
	"putDocument":           map[string]any{"amount": 1, "currency": "EUR", "title": "Changed by another tenant"},
	"createApprovalRequest": map[string]any{"note": "by another tenant"},
	"decideApprovalRequest": map[string]any{"decision": "approve"},
	"createAccessRequest":   map[string]any{"role": "team_member", "scope": "store:s1", "reason": "by another tenant"},
	"decideAccessRequest":   map[string]any{"decision": "approve"},
	"putApprovalPolicy":     map[string]any{"enabled": false, "expiresAfterHours": 1},
	"createWebhook":         map[string]any{"url": "http://127.0.0.1:9/iso"},
	"updateWebhook":         map[string]any{"description": "Changed by another tenant"},
	"replayWebhook":         map[string]any{"since": sweepSince},
	"recordActivity":        map[string]any{"action": "order.export", "userId": "{member}"},
	"createPortalSession":   map[string]any{"userId": "{member}"},
	// A valid window (from now for a day): what is refused is the member.
	"putMyDelegation": map[string]any{"delegateId": "{member}", "note": "Away",
		"from": time.Now().UTC().Format(time.RFC3339), "until": time.Now().UTC().Add(24 * time.Hour).Format(time.RFC3339)},
}

// typeParams are path parameters that name a kind, not an object of A:
// the same for every account.
var typeParams = map[string]string{"type": "purchase_order", "docType": "purchase_order"}

// TestTenantIsolationMatrix calls every authenticated route of the table
// as the owner of account B with account A's ids. Routes that name an
// object answer 404 or 403; routes that act on the caller's own account
// (lists, creates, PUT with a client-chosen id) may succeed, but only in
// B: their answers never carry A's ids. Afterwards A's audit log, where
// every change lands, has no new event: nothing of A changed. A route
// whose path parameter has no fixture here fails the test, so a new route
// cannot slip by.
func TestTenantIsolationMatrix(t *testing.T) {
	e := New(t)
	a := e.signup(t, newEmail("iso-a"))
	b := e.signup(t, newEmail("iso-b"))
	aTk := e.login(t, a.Email, goodPassword, "")
	bTk := e.login(t, b.Email, goodPassword, "")

	// A's objects, one of each kind a path can name.
	memberID, _ := e.join(t, aTk.AccessToken, newEmail("iso-a-member"), store1("team_member"))
	inv := e.invite(t, aTk.AccessToken, map[string]any{"email": newEmail("iso-a-pending")})
	e.Call(t, "POST", "/v1/roles", aTk.AccessToken, map[string]any{"id": "a_only_role", "name": "A only", "permissions": []string{"orders.view"}}).Want(t, http.StatusCreated, "")
	var key struct {
		ID string `json:"id"`
	}
	e.Call(t, "POST", "/v1/api-keys", aTk.AccessToken, map[string]any{"name": "a-key", "permissions": []string{"orders.view"}}).Want(t, http.StatusCreated, "").JSON(t, &key)
	var wh struct {
		ID string `json:"id"`
	}
	e.Call(t, "POST", "/v1/webhooks", aTk.AccessToken, map[string]any{"url": "http://127.0.0.1:9/a-only"}).Want(t, http.StatusCreated, "").JSON(t, &wh)
	e.Call(t, "PUT", "/v1/stores/a_only_store", aTk.AccessToken, map[string]any{"name": "A only"}).Want(t, http.StatusCreated, "")
	e.Call(t, "PUT", "/v1/departments/a_only_dept", aTk.AccessToken, map[string]any{"name": "A only", "kind": "sales"}).Want(t, http.StatusCreated, "")
	e.Call(t, "PUT", "/v1/suppliers/a_only_supplier", aTk.AccessToken, map[string]any{"name": "A only"}).Want(t, http.StatusCreated, "")
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", aTk.AccessToken, map[string]any{
		"enabled": true, "expiresAfterHours": 24,
		"levels": []map[string]any{{"minAmount": 0, "role": "approver", "required": 1, "scope": "account"}},
	}).Want(t, http.StatusOK, "")
	e.Call(t, "PUT", "/v1/documents/purchase_order/a_only_doc", aTk.AccessToken, map[string]any{"amount": 5, "currency": "EUR", "title": "A only"}).Want(t, http.StatusCreated, "")
	var apr struct {
		ID string `json:"id"`
	}
	e.Call(t, "POST", "/v1/documents/purchase_order/a_only_doc/approval-requests", aTk.AccessToken, map[string]any{}).Want(t, http.StatusAccepted, "").JSON(t, &apr)
	// Its workflow writes A's audit log once it awaits level 1: wait for
	// that before counting A's events.
	e.waitRequest(t, aTk.AccessToken, apr.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 })
	_, reqTk := e.join(t, aTk.AccessToken, newEmail("iso-a-requester"), store1("team_member"))
	acr := e.askAccess(t, reqTk.AccessToken, map[string]any{"role": "accountant", "scope": "store:s1", "reason": "A only"})
	e.waitAsked(t, aTk.AccessToken, acr.ID)
	fixtures := map[string]string{
		"/v1/access-requests/{id}":   acr.ID,
		"/v1/documents/{id}":         "a_only_doc",
		"/v1/approval-requests/{id}": apr.ID,
		"/v1/users/{id}":             memberID,
		"/v1/invitations/{id}":       inv.ID,
		"/v1/roles/{id}":             "a_only_role",
		"/v1/api-keys/{id}":          key.ID,
		"/v1/webhooks/{id}":          wh.ID,
		"/v1/stores/{id}":            "a_only_store",
		"/v1/departments/{id}":       "a_only_dept",
		"/v1/suppliers/{id}":         "a_only_supplier",
	}
	secretsOfA := []string{a.AccountID, memberID, inv.ID, key.ID, a.MemberID, apr.ID, wh.ID, acr.ID}

	// B calls as its owner and as an API key with every permission a key
	// may hold.
	var full struct {
		Permissions []string `json:"permissions"`
	}
	e.Call(t, "GET", "/v1/roles/full_access", bTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &full)
	var bKey struct {
		Secret string `json:"secret"`
	}
	e.Call(t, "POST", "/v1/api-keys", bTk.AccessToken, map[string]any{"name": "b-key", "permissions": full.Permissions}).Want(t, http.StatusCreated, "").JSON(t, &bKey)

	before := e.auditCount(t, a.AccountID)
	covered := 0
	for _, caller := range []struct{ name, token string }{{"B's API key", bKey.Secret}, {"B's owner", bTk.AccessToken}} {
		// Sign-out ends B's session: call it last.
		table := slices.Clone(routes.Table)
		slices.SortStableFunc(table, func(x, y routes.Route) int {
			return cmpBool(x.Operation == "logout", y.Operation == "logout")
		})
		for _, r := range table {
			if r.Public {
				continue
			}
			path := r.Path
			named := false
			for _, param := range r.Params() {
				if v, ok := typeParams[param]; ok {
					path = strings.ReplaceAll(path, "{"+param+"}", v)
					continue
				}
				id := ""
				for prefix, v := range fixtures {
					if strings.HasPrefix(r.Path, strings.TrimSuffix(prefix, "{id}")) {
						id = v
					}
				}
				if id == "" {
					t.Errorf("%s: no fixture of account A for {%s}; add one to TestTenantIsolationMatrix", r.Pattern(), param)
					continue
				}
				path = strings.ReplaceAll(path, "{"+param+"}", id)
				named = true
			}
			var body any
			sent := path
			if sb, ok := sampleBodies[r.Operation]; ok {
				body = fillMember(sb, memberID)
				raw, _ := json.Marshal(body)
				sent += string(raw)
			} else if r.Body {
				t.Errorf("%s: no sample body; add one to sampleBodies", r.Pattern())
				continue
			}
			res := e.Call(t, r.Method, path, caller.token, body, "If-Match", `"1"`)
			covered++
			switch {
			case res.Status >= 500:
				t.Errorf("%s as %s on A's ids: %d %s", r.Pattern(), caller.name, res.Status, res.Body)
			case named && r.Method != "PUT" && res.Status != http.StatusNotFound && res.Status != http.StatusForbidden:
				t.Errorf("%s as %s on A's ids: %d %s, want 404 or 403", r.Pattern(), caller.name, res.Status, res.Body)
			}
			for _, s := range secretsOfA {
				// An answer may echo what B sent (the problem's instance,
				// the userId of a check).
				if !strings.Contains(sent, s) && strings.Contains(string(res.Body), s) {
					t.Errorf("%s as %s: the answer names A's %s: %s", r.Pattern(), caller.name, s, res.Body)
				}
			}
		}
	}
	if after := e.auditCount(t, a.AccountID); after != before {
		t.Errorf("account A's audit log went from %d to %d events: B changed something of A", before, after)
	}
	t.Logf("%d cross-tenant calls (authenticated routes x {owner, API key})", covered)
}

func cmpBool(x, y bool) int {
	switch {
	case x == y:
		return 0
	case x:
		return 1
	}
	return -1
}

func fillMember(v any, member string) any {
	switch x := v.(type) {
	case string:
		return strings.ReplaceAll(x, "{member}", member)
	case map[string]any:
		out := map[string]any{}
		for k, vv := range x {
			out[k] = fillMember(vv, member)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, vv := range x {
			out[i] = fillMember(vv, member)
		}
		return out
	}
	return v
}

// maxAuditPages bounds auditCount's paging (a cursor that never ends
// fails the test instead of looping).
const maxAuditPages = 1000

// auditCount counts an account's audit events.
func (e *Env) auditCount(t *testing.T, account string) int {
	t.Helper()
	n, cursor := 0, ""
	for range maxAuditPages {
		page, err := e.Store.ListAudit(context.Background(), account, audit.Filter{}, 200, cursor)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Items)
		if page.Next == "" {
			return n
		}
		cursor = page.Next
	}
	t.Fatal("audit log does not end")
	return 0
}

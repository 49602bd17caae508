package apitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/openapi"
	"github.com/stewardhq/steward/pkg/routes"
)

// The bad-input sweep (TestBadInputSweep) sends every route of the table,
// as the owner of an account and with ids that exist, input that is wrong
// in one place: a body field missing, of the wrong JSON type, oversized,
// with control characters, a huge or negative number, an unknown enum
// value, an extra field; a bad path id; a bad query parameter; a missing,
// stale or malformed If-Match. The mutations are driven by the OpenAPI
// document (types, enums, required fields), so a new route or field is
// swept without touching this file; a route needs only a valid sample body
// (sweepBodies or sampleBodies) and a fixture for its path parameters
// (sweepFixtures), and the test fails naming what to add when one is
// missing.
//
// Every answer must be a 4xx problem (never a 5xx), and nothing may change:
// the account's audit log gets no new event and the resource (the GET at
// the route's path or the nearest one above it) reads the same. A mutation
// that is valid and accepted must be listed in sweepAccepted with the
// reason; the sweep then takes a new baseline.

// sweepBodies are valid bodies per operation with their optional fields
// filled in, so that every field is mutated. Placeholders in braces are
// filled per account (sweepAccount.fill). Operations without an entry use
// sampleBodies (isolation_test.go).
var sweepBodies = map[string]any{
	"createPortalSession":  map[string]any{"userId": "{owner}", "returnUrl": "/portal/team"},
	"signup":               map[string]any{"accountName": "Sweep", "email": "{newEmail}", "name": "Sweep Owner", "password": goodPassword},
	"verifyEmail":          map[string]any{"token": "sweep-not-a-real-token-000000000000000000000"},
	"login":                map[string]any{"email": "{email}", "password": goodPassword, "accountId": "{account}"},
	"refresh":              map[string]any{"refreshToken": "{refresh}"},
	"requestPasswordReset": map[string]any{"email": "{email}"},
	"confirmPasswordReset": map[string]any{"token": "sweep-not-a-real-token-000000000000000000000", "password": goodPassword + " new"},
	"acceptInvitation":     map[string]any{"token": "sweep-not-a-real-token-000000000000000000000", "name": "Sweep Joiner", "password": goodPassword},
	"joinAccount":          map[string]any{"accountId": "{account}", "email": "{newEmail}", "name": "Sweep Joiner", "password": goodPassword},
	"createInvitation": map[string]any{"email": "{newEmail}", "name": "Sweep Invitee", "admin": false,
		"assignments": []any{map[string]any{"role": "team_member", "scope": "store:s1"}}},
	"createUser": map[string]any{"email": "{newEmail}", "name": "Sweep User", "admin": false,
		"assignments": []any{map[string]any{"role": "team_member", "scope": "store:s1"}}},
	"importUsers": map[string]any{"users": []any{map[string]any{"email": "{newEmail}", "name": "Sweep User", "admin": false,
		"assignments": []any{map[string]any{"role": "team_member", "scope": "store:s1"}}}}},
	"updateUser": map[string]any{"name": "Sweep Renamed", "admin": false,
		"assignments":   []any{map[string]any{"role": "team_member", "scope": "store:s2"}},
		"notifications": map[string]any{"lowStock": false, "duePurchaseOrders": true, "paymentReminders": true, "approvalReminders": true}},
	"createRole": map[string]any{"id": "sweep_new_role", "name": "Sweep role", "description": "For the sweep",
		"permissions": []any{"orders.view"}, "scopeKinds": []any{"store"}},
	"updateRole": map[string]any{"name": "Sweep role renamed", "description": "Changed",
		"permissions": []any{"orders.view", "stock.view"}, "scopeKinds": []any{"account", "store"}},
	"checkPermission": map[string]any{"action": "orders.view", "userId": "{member}",
		"resource": map[string]any{"type": "purchase_order", "id": "po1", "store": "s1", "department": "purchase", "supplier": "acme", "docType": "purchase_order", "docStatus": "draft", "approvalRequired": false}},
	"checkPermissionBatch": map[string]any{"checks": []any{map[string]any{"action": "orders.view", "userId": "{member}",
		"resource": map[string]any{"store": "s1"}}}},
	"updateAccount": map[string]any{"name": "Sweep account", "settings": map[string]any{
		"invitationTtlHours": 48, "timeZone": "Europe/Berlin", "alertHour": 8, "externalApproverDomains": []any{"example.com"},
		"selfRegistration": map[string]any{"enabled": false, "open": false, "domains": []any{"example.com"}, "defaultRole": "team_member", "firstRegistrantRole": "team_member"}}},
	"putStore":       map[string]any{"name": "Sweep store", "address": "1 Main Street", "timeZone": "Europe/Berlin"},
	"recordActivity": map[string]any{"action": "order.export", "target": map[string]any{"type": "order", "id": "o-1"}, "summary": "Exported", "userId": "{owner}"},
	"putDepartment":  map[string]any{"name": "Sweep department", "kind": "sales"},
	"putSupplier":    map[string]any{"name": "Sweep supplier"},
	"createApiKey":   map[string]any{"name": "sweep", "permissions": []any{"orders.view"}, "scopes": []any{"store:s1"}},
	"putStockLevels": map[string]any{"items": []any{map[string]any{"sku": "SWEEP-1", "name": "Sweep item", "store": "s1", "onHand": 3, "threshold": 5}}},
	"putDocument": map[string]any{"store": "s1", "department": "purchase", "supplier": "acme", "amount": 10, "currency": "EUR",
		"title": "Sweep document", "summary": "Ten things", "dueDate": "2030-01-31", "url": "https://example.com/po/1", "status": "draft"},
	"createApprovalRequest": map[string]any{"note": "Please", "externalApprover": map[string]any{"email": "ext@example.com", "name": "Ext Approver"}},
	"decideApprovalRequest": map[string]any{"decision": "approve", "comment": "Fine"},
	"createAccessRequest":   map[string]any{"role": "team_member", "scope": "store:s1", "reason": "Sweep", "expiresAt": "2099-01-01T00:00:00Z"},
	"decideAccessRequest":   map[string]any{"decision": "deny", "comment": "No", "expiresAt": "2099-01-01T00:00:00Z"},
	"createWebhook":         map[string]any{"url": "http://127.0.0.1:9/sweep", "types": []any{"member.invited"}, "description": "Sweep"},
	"updateWebhook":         map[string]any{"url": "http://127.0.0.1:9/sweep2", "types": []any{"member.joined"}, "description": "Sweep 2", "status": "active"},
	"replayWebhook":         map[string]any{"since": sweepSince},
	"putApprovalPolicy": map[string]any{"enabled": true, "selfApproval": false, "expiresAfterHours": 24,
		"levels":            []any{map[string]any{"minAmount": 0, "permission": "approve.sales_order", "role": "approver", "required": 1, "scope": "account"}},
		"externalApprovers": map[string]any{"allowed": true, "domains": []any{"example.com"}}},
}

// sweepFixtures name, per path prefix (the longest matching one wins), the
// values of a route's path parameters that exist in the sweeping account,
// so that a bad input is refused for what it is, not with a 404.
var sweepFixtures = map[string]func(t *testing.T, a *sweepAccount) map[string]string{
	"/v1/users/{id}":       func(t *testing.T, a *sweepAccount) map[string]string { return map[string]string{"id": a.member(t)} },
	"/v1/invitations/{id}": func(t *testing.T, a *sweepAccount) map[string]string { return map[string]string{"id": a.invitation(t)} },
	"/v1/roles/{id}":       func(t *testing.T, a *sweepAccount) map[string]string { return map[string]string{"id": a.role(t)} },
	"/v1/api-keys/{id}":    func(t *testing.T, a *sweepAccount) map[string]string { return map[string]string{"id": a.apiKey(t)} },
	"/v1/webhooks/{id}":    func(t *testing.T, a *sweepAccount) map[string]string { return map[string]string{"id": a.webhook(t)} },
	"/v1/stores/{id}":      func(*testing.T, *sweepAccount) map[string]string { return map[string]string{"id": "s1"} },
	"/v1/departments/{id}": func(*testing.T, *sweepAccount) map[string]string { return map[string]string{"id": "sales"} },
	"/v1/suppliers/{id}":   func(*testing.T, *sweepAccount) map[string]string { return map[string]string{"id": "sup1"} },
	"/v1/documents/{type}/{id}": func(t *testing.T, a *sweepAccount) map[string]string {
		if res := a.e.Call(t, "PUT", "/v1/documents/purchase_order/sweep_doc", a.token, map[string]any{"amount": 5, "currency": "EUR", "title": "Sweep"}); res.Status != http.StatusCreated && res.Status != http.StatusOK {
			t.Fatalf("PUT sweep_doc: %d %s", res.Status, res.Body)
		}
		return map[string]string{"type": "purchase_order", "id": "sweep_doc"}
	},
	// A document with a pending request: a valid new request is refused
	// (409), so an accepted mutation cannot start a workflow.
	"/v1/documents/{type}/{id}/approval-requests": func(t *testing.T, a *sweepAccount) map[string]string {
		a.pendingRequest(t)
		return map[string]string{"type": "purchase_order", "id": "sweep_pending"}
	},
	"/v1/approval-requests/{id}": func(t *testing.T, a *sweepAccount) map[string]string {
		return map[string]string{"id": a.pendingRequest(t)}
	},
	"/v1/approval-policies/{docType}": func(*testing.T, *sweepAccount) map[string]string { return map[string]string{"docType": "sales_order"} },
	"/v1/access-requests/{id}": func(t *testing.T, a *sweepAccount) map[string]string {
		return map[string]string{"id": a.accessRequest(t)}
	},
	"/access/{token}": func(*testing.T, *sweepAccount) map[string]string {
		return map[string]string{"token": "sweep-not-a-real-token"}
	},
	"/approve/{token}": func(*testing.T, *sweepAccount) map[string]string {
		return map[string]string{"token": "sweep-not-a-real-token"}
	},
}

// sweepAccepted lists the mutations that are valid and may be accepted
// (2xx), each with the reason. Op and field "*" match any; kind is a
// mutation kind (see sweepCase.kind).
var sweepAccepted = []struct{ op, field, kind, reason string }{
	{"*", "*", "missing-optional", "the schema makes the field optional: leaving it out is a valid request"},
	{"signup", "password", "control:U+202E", "a password is a secret that is never shown: any Unicode text is accepted (NIST SP 800-63B), format characters included; C0/C1 control characters are refused"},
	{"putStockLevels", "items.0.onHand", "number:-1", "on-hand stock goes below zero when more is sold than was counted (the schema sets no minimum); the threshold may not"},
}

// sweepRowWise are the operations that answer a bad row in their 200
// answer (each row failed with its code, nothing of it written) rather
// than refusing the whole request: POST /v1/users/import.
var sweepRowWise = map[string]bool{"importUsers": true}

// sweepNewEmail stands for a new email address in a body.
const sweepNewEmail = "sweep-new-address@example.com"

// sweepAccount is one account that sweeps one group of routes.
type sweepAccount struct {
	e       *Env
	owner   signedUp
	token   string
	refresh string

	memberID, invitationID, roleID, keyID, requestID, webhookID string
	accessID                                                    string
}

// accessRequest is a pending access request of a member of the account
// (team_member at store s1 asks for accountant there), which the owner may
// decide but not cancel.
func (a *sweepAccount) accessRequest(t *testing.T) string {
	if a.accessID == "" {
		_, tk := a.e.join(t, a.token, newEmail("sweep-acr"), store1("team_member"))
		a.accessID = a.e.askAccess(t, tk.AccessToken, map[string]any{"role": "accountant", "scope": "store:s1", "reason": "Sweep fixture"}).ID
		a.e.waitAsked(t, a.token, a.accessID)
	}
	return a.accessID
}

// sweepSince is a valid replay start: an hour before the sweep.
var sweepSince = time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)

func (a *sweepAccount) webhook(t *testing.T) string {
	if a.webhookID == "" {
		var wh struct {
			ID string `json:"id"`
		}
		a.e.Call(t, "POST", "/v1/webhooks", a.token, map[string]any{"url": "http://127.0.0.1:9/sweep-fixture"}).Want(t, http.StatusCreated, "").JSON(t, &wh)
		a.webhookID = wh.ID
	}
	return a.webhookID
}

func (a *sweepAccount) fill(v any) any {
	switch x := v.(type) {
	case string:
		r := strings.NewReplacer("{email}", a.owner.Email, "{account}", a.owner.AccountID, "{member}", a.memberID, "{owner}", a.owner.MemberID, "{refresh}", a.refresh)
		x = r.Replace(x)
		// A new address per request (sweepCall): an accepted one must not
		// make the next a conflict.
		return strings.ReplaceAll(x, "{newEmail}", sweepNewEmail)
	case map[string]any:
		out := map[string]any{}
		for k, vv := range x {
			out[k] = a.fill(vv)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, vv := range x {
			out[i] = a.fill(vv)
		}
		return out
	}
	return v
}

func (a *sweepAccount) member(t *testing.T) string {
	if a.memberID == "" {
		a.memberID, _ = a.e.join(t, a.token, newEmail("sweep-member"), store1("team_member"))
	}
	return a.memberID
}

func (a *sweepAccount) invitation(t *testing.T) string {
	if a.invitationID == "" {
		a.invitationID = a.e.invite(t, a.token, map[string]any{"email": newEmail("sweep-pending")}).ID
	}
	return a.invitationID
}

func (a *sweepAccount) role(t *testing.T) string {
	if a.roleID == "" {
		a.roleID = "sweep_role"
		a.e.Call(t, "POST", "/v1/roles", a.token, map[string]any{"id": a.roleID, "name": "Sweep", "permissions": []string{"orders.view"}}).Want(t, http.StatusCreated, "")
	}
	return a.roleID
}

func (a *sweepAccount) apiKey(t *testing.T) string {
	if a.keyID == "" {
		var key struct {
			ID string `json:"id"`
		}
		a.e.Call(t, "POST", "/v1/api-keys", a.token, map[string]any{"name": "sweep-key", "permissions": []string{"orders.view"}}).Want(t, http.StatusCreated, "").JSON(t, &key)
		a.keyID = key.ID
	}
	return a.keyID
}

// pendingRequest makes document sweep_pending with a request awaiting its
// first level (the workflow's audit events are written by then).
func (a *sweepAccount) pendingRequest(t *testing.T) string {
	if a.requestID == "" {
		a.e.Call(t, "PUT", "/v1/approval-policies/purchase_order", a.token, map[string]any{
			"enabled": true, "expiresAfterHours": 24,
			"levels": []map[string]any{{"minAmount": 0, "role": "approver", "required": 1, "scope": "account"}},
		}).Want(t, http.StatusOK, "")
		a.e.Call(t, "PUT", "/v1/documents/purchase_order/sweep_pending", a.token, map[string]any{"amount": 5, "currency": "EUR", "title": "Pending"}).Want(t, http.StatusCreated, "")
		var apr struct {
			ID string `json:"id"`
		}
		a.e.Call(t, "POST", "/v1/documents/purchase_order/sweep_pending/approval-requests", a.token, map[string]any{}).Want(t, http.StatusAccepted, "").JSON(t, &apr)
		a.e.waitRequest(t, a.token, apr.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 })
		a.requestID = apr.ID
	}
	return a.requestID
}

// sweepCase is one bad request.
type sweepCase struct {
	category string // body, path, query, if-match, header
	field    string // the body field, path or query parameter, or header
	kind     string // what is wrong: missing, missing-optional, type:number, oversized, control:U+0000, ...
	path     string // raw path and query
	body     []byte // nil: none
	headers  []string
	// want is the exact status when it matters (404 for an id that does
	// not exist, 428/412 for If-Match); 0 means any 4xx.
	want     int
	wantCode string
}

func (c sweepCase) String() string {
	s := c.category + " " + c.field + " " + c.kind
	return strings.TrimSpace(s)
}

// sweepStats counts the sweep.
type sweepStats struct {
	mu         sync.Mutex
	routes     int
	requests   int
	byCategory map[string]int
	accepted   int
	fiveXX     atomic.Int64
}

func (s *sweepStats) add(category string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.byCategory[category]++
}

func TestBadInputSweep(t *testing.T) {
	start := time.Now()
	e := New(t)
	spec := loadSweepSpec(t)
	stats := &sweepStats{byCategory: map[string]int{}}

	// One account per function's routes; the groups run in parallel, the
	// routes of a group in table order (each one's "nothing changed" check
	// needs the account to itself).
	groups := map[string][]routes.Route{}
	for _, r := range routes.Table {
		// The admin portal's pages authenticate a session cookie, not a
		// bearer token: this sweep would only see their redirect to the
		// sign-in page. TestPortalBadInputSweep sweeps them with a session.
		if portalPage(r) {
			continue
		}
		groups[r.Function] = append(groups[r.Function], r)
	}
	t.Run("group", func(t *testing.T) {
		for _, fn := range routes.Functions() {
			rs := groups[fn]
			t.Run(fn, func(t *testing.T) {
				t.Parallel()
				a := &sweepAccount{e: e}
				a.owner = e.signup(t, newEmail("sweep-"+fn))
				tk := e.login(t, a.owner.Email, goodPassword, "")
				a.token = tk.AccessToken
				a.refresh = e.login(t, a.owner.Email, goodPassword, "").RefreshToken
				for _, r := range rs {
					t.Run(r.Operation, func(t *testing.T) { sweepRoute(t, a, spec, r, stats) })
				}
			})
		}
	})
	var cats []string
	for c, n := range stats.byCategory {
		cats = append(cats, fmt.Sprintf("%s %d", c, n))
	}
	sort.Strings(cats)
	t.Logf("bad-input sweep: %d routes, %d requests (%s), %d accepted as valid (allow-listed), %d 5xx, in %s",
		stats.routes, stats.requests, strings.Join(cats, ", "), stats.accepted, stats.fiveXX.Load(), time.Since(start).Round(time.Second))
}

// sweepRoute sweeps one route.
func sweepRoute(t *testing.T, a *sweepAccount, spec *sweepSpec, r routes.Route, stats *sweepStats) {
	e := a.e
	op := spec.operation(t, r)
	// Fill the path with ids of the account.
	var fix map[string]string
	if len(r.Params()) > 0 {
		best := ""
		for prefix := range sweepFixtures {
			if (r.Path == prefix || strings.HasPrefix(r.Path, prefix+"/")) && len(prefix) > len(best) {
				best = prefix
			}
		}
		if best == "" {
			t.Fatalf("%s: no fixture for its path parameters; add one to sweepFixtures in badinput_test.go", r.Pattern())
		}
		fix = sweepFixtures[best](t, a)
		for _, p := range r.Params() {
			if fix[p] == "" {
				t.Fatalf("%s: fixture %q gives no {%s}; fix it in sweepFixtures", r.Pattern(), best, p)
			}
		}
	}
	path := fillPath(r.Path, fix)

	// A valid body to start from.
	var sample map[string]any
	bodySchema := spec.bodySchema(op)
	if bodySchema != nil {
		sb, ok := sweepBodies[r.Operation]
		if !ok {
			sb, ok = sampleBodies[r.Operation]
		}
		if !ok {
			t.Fatalf("%s: no sample body; add a valid one to sweepBodies in badinput_test.go", r.Pattern())
		}
		sample = a.fill(jsonCopy(sb)).(map[string]any)
	}

	// The resource the route acts on: the GET at its path, or the nearest
	// one above it (none for a GET: the audit log shows any change).
	resource := ""
	for p := r.Path; r.Method != "GET"; {
		if hasRoute("GET", p) {
			resource = fillPath(p, fix)
			break
		}
		i := strings.LastIndex(p, "/")
		if i <= 0 {
			break
		}
		p = p[:i]
	}
	ifMatch := spec.ifMatch(op) // "", "required", "optional", "replace"

	var cases []sweepCase
	if sample != nil {
		cases = append(cases, bodyCases(spec, bodySchema, sample, path)...)
	}
	cases = append(cases, pathCases(r, fix, sample)...)
	cases = append(cases, queryCases(t, a, spec, op, r, path)...)
	if ifMatch != "" && resource != "" {
		cases = append(cases, ifMatchCases(ifMatch, path, sample)...)
	}
	if r.Idempotent && sample != nil {
		for _, k := range []string{"not a key!", strings.Repeat("k", 129)} {
			cases = append(cases, sweepCase{category: "header", field: "Idempotency-Key", kind: "malformed", path: path, body: mustJSON(sample), headers: []string{"Idempotency-Key", k}})
		}
	}
	// The cases that may be accepted go last: what they create (a role, a
	// key) would otherwise turn the later cases into conflicts that hide
	// whether the input itself is refused.
	slices.SortStableFunc(cases, func(x, y sweepCase) int {
		return cmpBool(sweepAllowed(r.Operation, x), sweepAllowed(r.Operation, y))
	})
	stats.mu.Lock()
	stats.routes++
	stats.mu.Unlock()

	token := a.token
	if r.Operation == "logout" {
		// A refused sign-out must not end the session; use a session of
		// its own all the same.
		token = e.login(t, a.owner.Email, goodPassword, "").AccessToken
	}

	base := takeSweepBaseline(t, a, resource, token)
	for _, c := range cases {
		// Other cases on routes with If-Match send the current ETag, so
		// that what they break is what is refused.
		if ifMatch != "" && c.category != "if-match" && !hasHeader(c.headers, "If-Match") {
			etag := base.etag
			if etag == "" {
				etag = `"1"`
			}
			c.headers = append(c.headers, "If-Match", etag)
		}
		allowed := sweepAllowed(r.Operation, c)
		if allowed {
			// Everything before this case changed nothing.
			base.check(t, a, r, "before "+c.String())
		}
		res := sweepCall(t, e, r.Method, c.path, token, c.body, c.headers...)
		stats.add(c.category)
		if res.Status >= 500 {
			stats.fiveXX.Add(1)
		}
		if sweepRowWise[r.Operation] && res.Status == http.StatusOK && !allowed {
			// A route answering row by row refuses a bad row in its
			// answer: every row failed with a code, nothing created.
			var ans importAnswer
			if err := json.Unmarshal(res.Body, &ans); err != nil || ans.Created != 0 || len(ans.Results) == 0 {
				t.Errorf("%s %s: %d %s, want every row failed", r.Pattern(), c, res.Status, snippet(res.Body))
			}
			for _, row := range ans.Results {
				if row.Status != "failed" || row.Error == nil || row.Error.Code == "" {
					t.Errorf("%s %s: row %+v, want failed with a code", r.Pattern(), c, row)
				}
			}
			continue
		}
		switch {
		case res.Status >= 200 && res.Status < 300 && allowed:
			stats.mu.Lock()
			stats.accepted++
			stats.mu.Unlock()
			base = takeSweepBaseline(t, a, resource, token)
			continue
		case res.Status < 400 || res.Status >= 500:
			t.Errorf("%s %s: %d %s, want a 4xx problem", r.Pattern(), c, res.Status, snippet(res.Body))
			base = takeSweepBaseline(t, a, resource, token)
			continue
		case c.want != 0 && res.Status != c.want, c.wantCode != "" && res.Code() != c.wantCode:
			t.Errorf("%s %s: %d %s, want %d %s", r.Pattern(), c, res.Status, snippet(res.Body), c.want, c.wantCode)
		}
		ct := res.Header.Get("Content-Type")
		if r.Public && strings.HasPrefix(ct, "text/html") {
			continue
		}
		if !strings.HasPrefix(ct, "application/problem+json") || res.Code() == "" {
			t.Errorf("%s %s: %d with Content-Type %q and body %s, want a problem with a code", r.Pattern(), c, res.Status, ct, snippet(res.Body))
		}
	}
	base.check(t, a, r, "after the sweep")
}

// sweepBaseline is what must not change.
type sweepBaseline struct {
	resource string
	audit    int
	body     string
	etag     string
	token    string
}

func takeSweepBaseline(t *testing.T, a *sweepAccount, resource, token string) sweepBaseline {
	t.Helper()
	b := sweepBaseline{resource: resource, audit: a.e.auditCount(t, a.owner.AccountID), token: token}
	if resource != "" {
		res := a.e.Call(t, "GET", resource, a.token, nil)
		if res.Status == http.StatusOK {
			b.body, b.etag = string(res.Body), res.Header.Get("ETag")
		}
	}
	return b
}

func (b sweepBaseline) check(t *testing.T, a *sweepAccount, r routes.Route, when string) {
	t.Helper()
	if n := a.e.auditCount(t, a.owner.AccountID); n != b.audit {
		t.Errorf("%s: %s the audit log went from %d to %d events: a refused request changed something", r.Pattern(), when, b.audit, n)
	}
	if b.resource != "" && b.body != "" {
		res := a.e.Call(t, "GET", b.resource, a.token, nil)
		if string(res.Body) != b.body {
			t.Errorf("%s: %s GET %s changed:\nbefore %s\nafter  %s", r.Pattern(), when, b.resource, snippet([]byte(b.body)), snippet(res.Body))
		}
	}
}

func sweepAllowed(op string, c sweepCase) bool {
	for _, a := range sweepAccepted {
		if (a.op == "*" || a.op == op) && (a.field == "*" || a.field == c.field) && a.kind == c.kind {
			return true
		}
	}
	return false
}

func hasHeader(h []string, name string) bool {
	for i := 0; i+1 < len(h); i += 2 {
		if strings.EqualFold(h[i], name) {
			return true
		}
	}
	return false
}

func hasRoute(method, path string) bool {
	for _, r := range routes.Table {
		if r.Method == method && r.Path == path {
			return true
		}
	}
	return false
}

func fillPath(p string, fix map[string]string) string {
	for k, v := range fix {
		p = strings.ReplaceAll(p, "{"+k+"}", v)
	}
	return p
}

func snippet(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

func mustJSON(v any) []byte {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return raw
}

func jsonCopy(v any) any {
	var out any
	if err := json.Unmarshal(mustJSON(v), &out); err != nil {
		panic(err)
	}
	return out
}

// sweepCall sends one request as is (the raw path is not cleaned, no
// redirect is followed), with a JSON Content-Type when it has a body.
func sweepCall(t *testing.T, e *Env, method, path, token string, body []byte, headers ...string) *Response {
	t.Helper()
	if body == nil {
		return e.Call(t, method, path, token, nil, headers...)
	}
	return e.Call(t, method, path, token, bytes.ReplaceAll(body, []byte(sweepNewEmail), []byte(newEmail("sweep"))), headers...)
}

// --- the OpenAPI document, as plain JSON ---

type sweepSpec struct{ doc map[string]any }

func loadSweepSpec(t *testing.T) *sweepSpec {
	var doc map[string]any
	if err := json.Unmarshal(openapi.Spec(), &doc); err != nil {
		t.Fatal(err)
	}
	return &sweepSpec{doc: doc}
}

// resolve follows $ref (within the document).
func (s *sweepSpec) resolve(v any) map[string]any {
	m, _ := v.(map[string]any)
	for m != nil {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		var cur any = s.doc
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			cur = cur.(map[string]any)[part]
		}
		m, _ = cur.(map[string]any)
	}
	return m
}

func (s *sweepSpec) operation(t *testing.T, r routes.Route) map[string]any {
	paths, _ := s.doc["paths"].(map[string]any)
	item, _ := paths[r.Path].(map[string]any)
	op, _ := item[strings.ToLower(r.Method)].(map[string]any)
	if op == nil {
		t.Fatalf("%s: not in the OpenAPI document", r.Pattern())
	}
	return op
}

type sweepParam struct {
	name, in string
	required bool
	schema   map[string]any
}

func (s *sweepSpec) params(op map[string]any) []sweepParam {
	var out []sweepParam
	list, _ := op["parameters"].([]any)
	for _, p := range list {
		m := s.resolve(p)
		req, _ := m["required"].(bool)
		out = append(out, sweepParam{name: m["name"].(string), in: m["in"].(string), required: req, schema: s.resolve(m["schema"])})
	}
	return out
}

func (s *sweepSpec) bodySchema(op map[string]any) map[string]any {
	rb := s.resolve(op["requestBody"])
	if rb == nil {
		return nil
	}
	content, _ := rb["content"].(map[string]any)
	mt, _ := content["application/json"].(map[string]any)
	if mt == nil {
		return nil
	}
	return s.resolve(mt["schema"])
}

// ifMatch says how the operation takes If-Match: "required", "optional",
// "replace" (optional, but required to replace what exists) or "".
func (s *sweepSpec) ifMatch(op map[string]any) string {
	list, _ := op["parameters"].([]any)
	for _, ref := range list {
		switch r, _ := ref.(map[string]any)["$ref"].(string); r {
		case "#/components/parameters/IfMatch":
			return "required"
		case "#/components/parameters/IfMatchOptional":
			return "optional"
		case "#/components/parameters/IfMatchToReplace":
			return "replace"
		}
	}
	return ""
}

func schemaType(s map[string]any) string {
	switch t := s["type"].(type) {
	case string:
		return t
	case []any:
		for _, x := range t {
			if x != "null" {
				return x.(string)
			}
		}
	}
	if s["properties"] != nil {
		return "object"
	}
	return ""
}

// --- mutations ---

// wrongTypes are a value of each JSON type.
var wrongTypes = []struct{ kind, raw string }{
	{"type:string", `"x"`}, {"type:number", `42`}, {"type:boolean", `true`},
	{"type:object", `{}`}, {"type:array", `[]`}, {"type:null", `null`},
}

func bodyCases(spec *sweepSpec, schema map[string]any, sample map[string]any, path string) []sweepCase {
	var out []sweepCase
	emit := func(field, kind string, body any) {
		out = append(out, sweepCase{category: "body", field: field, kind: kind, path: path, body: mustJSON(body)})
	}
	var walk func(prefix []string, schema map[string]any, value map[string]any, depth int)
	walk = func(prefix []string, schema map[string]any, value map[string]any, depth int) {
		props, _ := schema["properties"].(map[string]any)
		required := map[string]bool{}
		if rq, ok := schema["required"].([]any); ok {
			for _, f := range rq {
				required[f.(string)] = true
			}
		}
		names := make([]string, 0, len(value))
		for k := range value {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, name := range names {
			at := append(slices.Clone(prefix), name)
			field := strings.Join(at, ".")
			fs := spec.resolve(props[name])
			if fs == nil {
				continue
			}
			// Missing.
			kind := "missing"
			if !required[name] {
				kind = "missing-optional"
			}
			emit(field, kind, deleteAt(sample, at))
			typ := schemaType(fs)
			for _, w := range wrongTypes {
				if "type:"+typ == w.kind || (typ == "integer" && w.kind == "type:number") {
					continue
				}
				emit(field, w.kind, setAt(sample, at, json.RawMessage(w.raw)))
			}
			cur := value[name]
			switch typ {
			case "string":
				s, _ := cur.(string)
				emit(field, "oversized", setAt(sample, at, strings.Repeat("x", 100<<10)))
				for _, c := range []string{"\u0000", "\u001b", "\u202e"} {
					emit(field, fmt.Sprintf("control:U+%04X", []rune(c)[0]), setAt(sample, at, s+c+"x"))
				}
				if fs["enum"] != nil {
					emit(field, "enum", setAt(sample, at, "bogus_value"))
				}
			case "number", "integer":
				for _, raw := range []string{"1e309", "9999999999999999999999", "-1"} {
					emit(field, "number:"+raw, setAt(sample, at, json.RawMessage(raw)))
				}
				if typ == "integer" {
					emit(field, "number:1.5", setAt(sample, at, json.RawMessage("1.5")))
				}
			case "object":
				if depth == 0 {
					if m, ok := cur.(map[string]any); ok {
						walk(at, fs, m, depth+1)
						emit(field, "extra", setAt(sample, append(at, "sweepUnknownField"), true))
					}
				}
			case "array":
				items := spec.resolve(fs["items"])
				list, _ := cur.([]any)
				if items == nil || len(list) == 0 || depth > 0 {
					break
				}
				el := append(slices.Clone(at), "0")
				switch schemaType(items) {
				case "object":
					if m, ok := list[0].(map[string]any); ok {
						walk(el, items, m, depth+1)
						emit(field+".0", "extra", setAt(sample, append(el, "sweepUnknownField"), true))
					}
				case "string":
					s, _ := list[0].(string)
					emit(field+".0", "type:number", setAt(sample, el, json.RawMessage(`42`)))
					emit(field+".0", "type:null", setAt(sample, el, json.RawMessage(`null`)))
					emit(field+".0", "oversized", setAt(sample, el, strings.Repeat("x", 100<<10)))
					emit(field+".0", "control:U+0000", setAt(sample, el, s+"\u0000x"))
					if items["enum"] != nil {
						emit(field+".0", "enum", setAt(sample, el, "bogus_value"))
					}
				}
			}
		}
	}
	walk(nil, schema, sample, 0)
	emit("sweepUnknownField", "extra", setAt(sample, []string{"sweepUnknownField"}, true))
	return out
}

// setAt returns a copy of v with the value at path (object keys, array
// indexes) set.
func setAt(v map[string]any, path []string, value any) any {
	root := jsonCopy(v)
	var cur any = root
	for i, p := range path {
		last := i == len(path)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[p] = value
			} else {
				cur = c[p]
			}
		case []any:
			n, _ := strconv.Atoi(p)
			if last {
				c[n] = value
			} else {
				cur = c[n]
			}
		}
	}
	return root
}

func deleteAt(v map[string]any, path []string) any {
	root := jsonCopy(v)
	var cur any = root
	for i, p := range path {
		switch c := cur.(type) {
		case map[string]any:
			if i == len(path)-1 {
				delete(c, p)
			} else {
				cur = c[p]
			}
		case []any:
			n, _ := strconv.Atoi(p)
			cur = c[n]
		}
	}
	return root
}

// badIDs replace a path parameter.
var badIDs = []struct{ kind, raw string }{
	{"blank", "%20"},
	{"long", strings.Repeat("a", 300)},
	{"dot-dot", "..%2Fx"},
	{"NUL", "%00"},
	{"non-ASCII", "caf%C3%A9%E2%80%AE"},
}

func pathCases(r routes.Route, fix map[string]string, sample map[string]any) []sweepCase {
	var out []sweepCase
	var body []byte
	if sample != nil {
		body = mustJSON(sample)
	}
	for _, p := range r.Params() {
		other := map[string]string{}
		for k, v := range fix {
			other[k] = v
		}
		for _, b := range badIDs {
			other[p] = b.raw
			out = append(out, sweepCase{category: "path", field: p, kind: b.kind, path: fillPath(r.Path, other), body: body})
		}
		// Well-formed, but no such thing: 404 (a PUT with a client-chosen
		// id creates it: not bad input).
		if r.Method == "PUT" && p != "type" && p != "docType" {
			continue
		}
		other[p] = "sweepnosuchid"
		want := http.StatusNotFound
		if r.Public {
			want = 0
		}
		if p == "type" || p == "docType" {
			other[p] = "bogus_type"
		}
		out = append(out, sweepCase{category: "path", field: p, kind: "no-such", path: fillPath(r.Path, other), body: body, want: want})
	}
	return out
}

func queryCases(t *testing.T, a *sweepAccount, spec *sweepSpec, op map[string]any, r routes.Route, path string) []sweepCase {
	var out []sweepCase
	add := func(field, kind, q string) {
		out = append(out, sweepCase{category: "query", field: field, kind: kind, path: path + "?" + q})
	}
	for _, p := range spec.params(op) {
		if p.in != "query" {
			continue
		}
		switch {
		case p.name == "cursor":
			add("cursor", "garbage", "cursor=garbage")
			add("cursor", "foreign", "cursor="+a.foreignCursor(t, r.Path))
			add("cursor", "repeated", "cursor=garbage&cursor=garbage2")
		case p.name == "limit":
			for _, v := range []string{"0", "-1", "abc", "100000", "1.5"} {
				add("limit", v, "limit="+v)
			}
			add("limit", "repeated", "limit=1&limit=2")
		case p.name == "from" || p.name == "to":
			add(p.name, "garbage", p.name+"=yesterday")
			add(p.name, "repeated", p.name+"=2020-01-01T00:00:00Z&"+p.name+"=2021-01-01T00:00:00Z")
			if p.name == "to" {
				add("from,to", "reversed", "from=2030-01-01T00:00:00Z&to=2020-01-01T00:00:00Z")
			}
		case p.schema["enum"] != nil:
			add(p.name, "enum", p.name+"=bogus_value")
			add(p.name, "repeated", fmt.Sprintf("%s=%v&%s=%v", p.name, p.schema["enum"].([]any)[0], p.name, p.schema["enum"].([]any)[0]))
		case schemaType(p.schema) == "boolean":
			add(p.name, "type", p.name+"=maybe")
		default:
			add(p.name, "control:U+0000", p.name+"=a%00b")
			add(p.name, "oversized", p.name+"="+strings.Repeat("a", 2000))
			add(p.name, "repeated", p.name+"=a&"+p.name+"=b")
		}
	}
	return out
}

// foreignCursor is a valid cursor of another list of the account.
func (a *sweepAccount) foreignCursor(t *testing.T, path string) string {
	other := "/v1/stores"
	if path == other {
		other = "/v1/departments"
	}
	var page struct {
		NextCursor string `json:"nextCursor"`
	}
	a.e.Call(t, "GET", other+"?limit=1", a.token, nil).Want(t, http.StatusOK, "").JSON(t, &page)
	if page.NextCursor == "" {
		t.Fatalf("GET %s?limit=1 gave no cursor", other)
	}
	return page.NextCursor
}

func ifMatchCases(mode, path string, sample map[string]any) []sweepCase {
	var body []byte
	if sample != nil {
		body = mustJSON(sample)
	}
	var out []sweepCase
	add := func(kind, v string, want int, code string) {
		var h []string
		if kind != "missing" {
			h = []string{"If-Match", v}
		}
		out = append(out, sweepCase{category: "if-match", field: "If-Match", kind: kind, path: path, body: body, headers: h, want: want, wantCode: code})
	}
	if mode == "required" || mode == "replace" {
		add("missing", "", http.StatusPreconditionRequired, "precondition_required")
	}
	add("stale", `"999"`, http.StatusPreconditionFailed, "stale_version")
	for _, g := range []string{"abc", `W/"x"`, "-1", `"-1"`, `"` + strings.Repeat("9", 300) + `"`} {
		add("garbage "+g[:min(len(g), 8)], g, 0, "")
	}
	return out
}

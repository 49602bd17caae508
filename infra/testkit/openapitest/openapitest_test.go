package openapitest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/health"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/openapi"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/team"
	"github.com/stewardhq/steward/pkg/views"
)

// recordTB records Errorf calls instead of failing the test, to prove the
// helpers report mismatches.
type recordTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recordTB) Helper() {}

func (r *recordTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recordTB) errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}

type pinger struct{ err error }

func (p pinger) Ping(context.Context) error { return p.err }

var discard = slog.New(slog.DiscardHandler)

var jsonHeader = http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"no-store"}}

func get(path string) *http.Request { return httptest.NewRequest(http.MethodGet, path, nil) }

// TestHealthResponses runs the real health handler, healthy and not,
// through Middleware.
func TestHealthResponses(t *testing.T) {
	v := Must(t)
	for _, p := range []pinger{{}, {errors.New("down")}} {
		rec := &recordTB{TB: t}
		h := v.Middleware(rec, httpapi.Middleware(discard, httpapi.HandlerFunc(health.Handler{DB: p, Version: "test"}.Get)))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, get("/v1/health"))
		if errs := rec.errors(); len(errs) > 0 {
			t.Errorf("status %d: %v", w.Code, errs)
		}
	}
}

// TestProblemResponse checks a real problem from httpapi.WriteError.
func TestProblemResponse(t *testing.T) {
	v := Must(t)
	rec := &recordTB{TB: t}
	h := v.Middleware(rec, httpapi.Middleware(discard, httpapi.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		e := fault.New(fault.Invalid, "body_not_allowed", "This route takes no request body.")
		e.Fields = []httpapi.FieldError{{Field: "x", Detail: "unknown field"}}
		return e
	})))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, get("/v1/health"))
	if w.Code != 400 || len(rec.errors()) > 0 {
		t.Fatalf("status %d: %v", w.Code, rec.errors())
	}
}

func TestCheckRejects(t *testing.T) {
	v := Must(t)
	problemHeader := http.Header{"Content-Type": {"application/problem+json"}}
	okProblem := `{"type":"https://steward.dev/problems/internal","title":"Internal Server Error","status":500,"code":"internal"}`
	tests := []struct {
		name   string
		req    *http.Request
		status int
		header http.Header
		body   string
		want   string // substring of the error; "" means valid
	}{
		{"healthy", get("/v1/health"), 200, jsonHeader, `{"status":"ok","version":"v1","dynamodb":"ok"}`, ""},
		{"degraded", get("/v1/health"), 503, jsonHeader, `{"status":"degraded","version":"v1","dynamodb":"unavailable"}`, ""},
		{"problem", get("/v1/health"), 500, problemHeader, okProblem, ""},
		{"problem with extension member", get("/v1/health"), 500, problemHeader, `{"type":"t","title":"x","status":500,"code":"internal","accounts":["a"]}`, ""},
		{"HEAD as GET", httptest.NewRequest("HEAD", "/v1/health", nil), 200, jsonHeader, "", ""},
		{"missing required field", get("/v1/health"), 200, jsonHeader, `{"status":"ok","version":"v1"}`, "dynamodb"},
		{"unknown field", get("/v1/health"), 200, jsonHeader, `{"status":"ok","version":"v1","dynamodb":"ok","extra":1}`, "doesn't match schema"},
		{"bad enum", get("/v1/health"), 200, jsonHeader, `{"status":"fine","version":"v1","dynamodb":"ok"}`, "doesn't match schema"},
		{"not JSON", get("/v1/health"), 200, jsonHeader, `{"status":`, "decode"},
		{"wrong content type", get("/v1/health"), 200, http.Header{"Content-Type": {"text/plain"}, "Cache-Control": {"no-store"}}, `{}`, "text/plain"},
		{"missing required header", get("/v1/health"), 200, http.Header{"Content-Type": {"application/json"}}, `{"status":"ok","version":"v1","dynamodb":"ok"}`, "Cache-Control"},
		{"undocumented status", get("/v1/health"), 418, problemHeader, `{"type":"t","title":"x","status":418,"code":"teapot"}`, "not documented"},
		{"problem as JSON", get("/v1/health"), 500, jsonHeader, okProblem, "application/json"},
		{"problem without code", get("/v1/health"), 500, problemHeader, `{"type":"t","title":"x","status":500}`, "code"},
		{"problem status differs", get("/v1/health"), 500, problemHeader, strings.Replace(okProblem, "500", "502", 1), "differs"},
		{"HEAD undocumented status", httptest.NewRequest("HEAD", "/v1/health", nil), 201, jsonHeader, "", "not documented"},
		{"unknown path, 404 problem", get("/v1/nope"), 404, problemHeader, `{"type":"t","title":"Not Found","status":404,"code":"route_not_found"}`, ""},
		{"unknown path, 200", get("/v1/nope"), 200, jsonHeader, `{}`, "want a 404 problem"},
		{"unknown path, bad problem", get("/v1/nope"), 404, problemHeader, `{"status":404}`, "Problem"},
		{"wrong method, 405 problem", httptest.NewRequest("DELETE", "/v1/health", nil), 405, problemHeader, `{"type":"t","title":"x","status":405,"code":"method_not_allowed"}`, ""},
		{"wrong method, 404", httptest.NewRequest("DELETE", "/v1/health", nil), 404, problemHeader, `{"type":"t","title":"x","status":404,"code":"not_found"}`, "want a 405 problem"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := v.Check(tc.req, tc.status, tc.header, []byte(tc.body))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("want an error mentioning %q, got none", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

// TestMiddlewareReports proves Middleware reports a bad response.
func TestMiddlewareReports(t *testing.T) {
	v := Must(t)
	rec := &recordTB{TB: t}
	h := v.Middleware(rec, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, `{"status":"ok"}`) // implicit 200, fields missing
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, get("/v1/health"))
	if errs := rec.errors(); len(errs) != 1 || !strings.Contains(errs[0], "GET /v1/health -> 200") {
		t.Fatalf("errors %v", errs)
	}
	if w.Body.String() != `{"status":"ok"}` {
		t.Fatalf("body not passed through: %q", w.Body.String())
	}
}

// TestTransport checks responses seen by a client.
func TestTransport(t *testing.T) {
	v := Must(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if r.URL.Query().Get("bad") != "" {
			io.WriteString(w, `{"status":"ok","version":1,"dynamodb":"ok"}`)
			return
		}
		io.WriteString(w, `{"status":"ok","version":"1","dynamodb":"ok"}`)
	}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		query string
		errs  int
	}{{"", 0}, {"?bad=1", 1}} {
		rec := &recordTB{TB: t}
		client := &http.Client{Transport: v.Transport(rec, nil)}
		resp, err := client.Get(srv.URL + "/v1/health" + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		var h map[string]any
		err = json.NewDecoder(resp.Body).Decode(&h)
		resp.Body.Close()
		if err != nil || h["status"] != "ok" {
			t.Fatalf("body %+v: %v", h, err)
		}
		if got := rec.errors(); len(got) != tc.errs {
			t.Errorf("%q: errors %v, want %d", tc.query, got, tc.errs)
		}
	}
}

// testValidator is Steward's document plus test operations that use the
// shared components the way later routes will, including a templated path.
func testValidator(t *testing.T) *Validator {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(openapi.Spec(), &doc); err != nil {
		t.Fatal(err)
	}
	var extra map[string]any
	err := json.Unmarshal([]byte(`{
	  "/v1/users": {"get": {"operationId": "listUsers",
	    "parameters": [{"$ref": "#/components/parameters/Cursor"}, {"$ref": "#/components/parameters/Limit"}],
	    "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object",
	      "required": ["items"], "additionalProperties": false,
	      "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/User"}}, "nextCursor": {"$ref": "#/components/schemas/Cursor"}}}}}},
	      "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"}}}},
	  "/v1/users/{id}": {
	    "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[a-z0-9-]{1,64}$"}}],
	    "get": {"operationId": "getUser",
	      "responses": {"200": {"description": "ok", "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
	        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}},
	        "404": {"$ref": "#/components/responses/NotFound"}}},
	    "patch": {"operationId": "updateUser",
	      "parameters": [{"$ref": "#/components/parameters/IfMatch"}],
	      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false,
	        "properties": {"assignments": {"type": "array", "items": {"$ref": "#/components/schemas/Assignment"}}}}}}},
	      "responses": {"204": {"description": "changed"}, "412": {"$ref": "#/components/responses/PreconditionFailed"}}}},
	  "/v1/authz/check": {"post": {"operationId": "checkPermission",
	    "parameters": [{"$ref": "#/components/parameters/IdempotencyKey"}],
	    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CheckRequest"}}}},
	    "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CheckResponse"}}}}}}}
	}`), &extra)
	if err != nil {
		t.Fatal(err)
	}
	for k, p := range extra {
		doc["paths"].(map[string]any)[k] = p
	}
	doc["components"].(map[string]any)["schemas"].(map[string]any)["User"] = map[string]any{
		"type": "object", "required": []any{"id", "status", "assignments"}, "additionalProperties": false,
		"properties": map[string]any{
			"id":          map[string]any{"type": "string"},
			"status":      map[string]any{"$ref": "#/components/schemas/MemberStatus"},
			"assignments": map[string]any{"type": "array", "items": map[string]any{"$ref": "#/components/schemas/Assignment"}},
		},
	}
	spec, _ := json.Marshal(doc)
	v, err := newValidator(spec)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCheckTemplatedPathsAndVocabulary(t *testing.T) {
	v := testValidator(t)
	hdr := func(etag string) http.Header {
		h := http.Header{"Content-Type": {"application/json"}}
		if etag != "" {
			h.Set("ETag", etag)
		}
		return h
	}
	tests := []struct {
		name   string
		method string
		path   string
		status int
		header http.Header
		body   string
		ok     bool
	}{
		{"user", "GET", "/v1/users/u-1", 200, hdr(`"v3"`), `{"id":"u-1","status":"active","assignments":[{"role":"manager","scope":"store:s1"}]}`, true},
		{"user without ETag", "GET", "/v1/users/u-1", 200, hdr(""), `{"id":"u-1","status":"active","assignments":[]}`, false},
		{"bad member status", "GET", "/v1/users/u-1", 200, hdr(`"v3"`), `{"id":"u-1","status":"gone","assignments":[]}`, false},
		{"bad scope", "GET", "/v1/users/u-1", 200, hdr(`"v3"`), `{"id":"u-1","status":"active","assignments":[{"role":"manager","scope":"warehouse:w1"}]}`, false},
		{"empty scope id", "GET", "/v1/users/u-1", 200, hdr(`"v3"`), `{"id":"u-1","status":"active","assignments":[{"role":"manager","scope":"store:"}]}`, false},
		{"account scope", "GET", "/v1/users/u-1", 200, hdr(`"v3"`), `{"id":"u-1","status":"active","assignments":[{"role":"full_access","scope":"account"}]}`, true},
		{"assignment without scope", "GET", "/v1/users/u-1", 200, hdr(`"v3"`), `{"id":"u-1","status":"active","assignments":[{"role":"manager"}]}`, false},
		{"user not found", "GET", "/v1/users/u-2", 404, http.Header{"Content-Type": {"application/problem+json"}}, `{"type":"t","title":"Not Found","status":404,"code":"not_found"}`, true},
		{"no content", "PATCH", "/v1/users/u-1", 204, http.Header{}, ``, true},
		{"body on 204", "PATCH", "/v1/users/u-1", 204, hdr(""), `{}`, false},
		{"list", "GET", "/v1/users?limit=2", 200, hdr(""), `{"items":[{"id":"u-1","status":"invited","assignments":[]}],"nextCursor":"abc"}`, true},
		{"list, empty cursor", "GET", "/v1/users", 200, hdr(""), `{"items":[],"nextCursor":""}`, false},
		{"check", "POST", "/v1/authz/check", 200, hdr(""), `{"allowed":false,"reason":"no grant","code":"no_grant"}`, true},
		{"check without reason", "POST", "/v1/authz/check", 200, hdr(""), `{"allowed":false}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := v.Check(httptest.NewRequest(tc.method, tc.path, nil), tc.status, tc.header, []byte(tc.body))
			if tc.ok != (err == nil) {
				t.Fatalf("ok = %v, err = %v", tc.ok, err)
			}
		})
	}
}

func TestCheckRequest(t *testing.T) {
	v := testValidator(t)
	req := func(method, path, body string, h ...string) *http.Request {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(h); i += 2 {
			r.Header.Set(h[i], h[i+1])
		}
		return r
	}
	const bearer = "Bearer eyJ.x.y"
	check := `{"action":"documents.approve","resource":{"type":"purchase_order","id":"po-1","store":"s1"}}`
	tests := []struct {
		name string
		req  *http.Request
		ok   bool
	}{
		{"check", req("POST", "/v1/authz/check", check, "Authorization", bearer, "Idempotency-Key", "k-1"), true},
		{"no token", req("POST", "/v1/authz/check", check), false},
		{"not bearer", req("POST", "/v1/authz/check", check, "Authorization", "Basic eDp5"), false},
		{"unknown field", req("POST", "/v1/authz/check", `{"action":"orders.view","resource":{},"admin":true}`, "Authorization", bearer), false},
		{"bad action", req("POST", "/v1/authz/check", `{"action":"Orders","resource":{}}`, "Authorization", bearer), false},
		{"no resource", req("POST", "/v1/authz/check", `{"action":"orders.view"}`, "Authorization", bearer), false},
		{"bad idempotency key", req("POST", "/v1/authz/check", check, "Authorization", bearer, "Idempotency-Key", "has space"), false},
		{"public health", req("GET", "/v1/health", ""), true},
		{"limit", req("GET", "/v1/users?limit=200&cursor=abc", "", "Authorization", bearer), true},
		{"limit too big", req("GET", "/v1/users?limit=201", "", "Authorization", bearer), false},
		{"bad path id", req("GET", "/v1/users/U_1", "", "Authorization", bearer), false},
		{"patch", req("PATCH", "/v1/users/u-1", `{"assignments":[{"role":"manager","scope":"store:s1"}]}`, "Authorization", bearer, "If-Match", `"v3"`), true},
		{"patch without If-Match", req("PATCH", "/v1/users/u-1", `{"assignments":[]}`, "Authorization", bearer), false},
		{"unknown route", req("GET", "/v1/nope", ""), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := v.CheckRequest(tc.req)
			if tc.ok != (err == nil) {
				t.Fatalf("ok = %v, err = %v", tc.ok, err)
			}
		})
	}
	// The body is still there for the handler.
	r := req("POST", "/v1/authz/check", check, "Authorization", bearer)
	if err := v.CheckRequest(r); err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(r.Body); string(b) != check {
		t.Fatalf("body after check: %q", b)
	}
}

// TestVocabularySchemas checks the shared schemas directly.
func TestVocabularySchemas(t *testing.T) {
	doc := Must(t).Document()
	tests := []struct {
		schema string
		value  string
		ok     bool
	}{
		{"Scope", `"account"`, true},
		{"Scope", `"store:s1"`, true},
		{"Scope", `"department:purchase.east"`, true},
		{"Scope", `"supplier:acme_1"`, true},
		{"Scope", `"store:"`, false},
		{"Scope", `"account:x"`, false},
		{"Scope", `"store:a b"`, false},
		{"Scope", `"store:` + strings.Repeat("a", 129) + `"`, false},
		{"RoleId", `"senior_manager"`, true},
		{"RoleId", `"Manager"`, false},
		{"PermissionKey", `"finance.bank_accounts.view"`, true},
		{"PermissionKey", `"orders"`, false},
		{"MemberStatus", `"suspended"`, true},
		{"MemberStatus", `"banned"`, false},
		{"DocumentType", `"purchase_rate"`, true},
		{"DocumentType", `"quote"`, false},
		{"DocumentStatus", `"pending_approval"`, true},
		{"DocumentStatus", `"pending"`, false},
		{"Assignment", `{"role":"manager","scope":"store:s1"}`, true},
		{"Assignment", `{"role":"manager","scope":"store:s1","admin":true}`, false},
		{"CheckRequest", `{"action":"stock.edit","resource":{"store":"s1","department":"sales"},"userId":"u-1"}`, true},
		{"CheckRequest", `{"action":"stock.edit","resource":{"store":"store:s1"}}`, false},
		{"CheckResponse", `{"allowed":true,"reason":"admin"}`, true},
		{"CheckResponse", `{"allowed":"yes","reason":"admin"}`, false},
		{"Problem", `{"type":"t","title":"x","status":400,"code":"bad","errors":[{"field":"a","detail":"b"}]}`, true},
		{"Problem", `{"type":"t","title":"x","status":400,"code":"bad","errors":[{"field":"a"}]}`, false},
		{"Problem", `{"type":"t","title":"x","status":200,"code":"bad"}`, false},
	}
	for _, tc := range tests {
		var value any
		if err := json.Unmarshal([]byte(tc.value), &value); err != nil {
			t.Fatal(err)
		}
		err := doc.Components.Schemas[tc.schema].Value.VisitJSON(value, openapi3.EnableJSONSchema2020())
		if tc.ok != (err == nil) {
			t.Errorf("%s %s: ok = %v, err = %v", tc.schema, tc.value, tc.ok, err)
		}
	}
}

// TestViewsMatchSchemas: the shared API views (package views) marshal to
// what the document's Member and Account schemas say, so a field added on
// one side only is caught here.
func TestViewsMatchSchemas(t *testing.T) {
	doc := Must(t).Document()
	now := time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)
	m := team.Member{
		ID: "m-1", AccountID: "a-1", Email: "ann@example.com", Name: "Ann", Status: rbac.StatusActive,
		Assignments:   []rbac.Assignment{{Role: "manager", Scope: rbac.StoreScope("s1")}, {Role: "approver", Scope: rbac.AccountScope}},
		Notifications: team.Notifications{LowStockOff: true}, Version: 3, CreatedAt: now, UpdatedAt: now,
	}
	a := team.Account{ID: "a-1", Name: "Acme", OwnerID: "m-1", Settings: team.DefaultSettings(), Version: 1, CreatedAt: now}
	for name, v := range map[string]any{
		"Member":    views.FromMember(m),
		"Account":   views.FromAccount(a),
		"MemberRef": views.RefOf(m),
		"Me":        map[string]any{"member": views.FromMember(m), "account": views.FromAccount(a), "impersonated": true, "impersonator": views.RefOf(m)},
	} {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var value any
		_ = json.Unmarshal(raw, &value)
		if err := doc.Components.Schemas[name].Value.VisitJSON(value, openapi3.EnableJSONSchema2020()); err != nil {
			t.Errorf("%s %s: %v", name, raw, err)
		}
	}
}

// TestExtensionProblem: login's 409 carries the accounts to choose from,
// written by httpapi.WriteError from Error.Extra.
func TestExtensionProblem(t *testing.T) {
	v := Must(t)
	for _, extra := range []map[string]any{{"accounts": []map[string]string{{"id": "a-1", "name": "Acme"}}}, nil} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/v1/auth/login", nil)
		e := fault.New(fault.Conflict, "account_required", "Say which account.")
		e.Extra = extra
		httpapi.WriteError(w, r, e)
		err := v.Check(r, w.Code, w.Header(), w.Body.Bytes())
		if (extra != nil) != (err == nil) {
			t.Errorf("extra %v: %v", extra, err)
		}
	}
}

package openapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/stewardhq/steward/infra/testkit/openapitest"
	"github.com/stewardhq/steward/pkg/openapi"
	"github.com/stewardhq/steward/pkg/routes"
)

// loadDoc loads the served document with kin-openapi, independently of
// openapitest.
func loadDoc(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapi.Spec())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("validate: %v", err)
	}
	return doc
}

func TestDocumentLoadsAndValidates(t *testing.T) {
	doc := loadDoc(t)
	if doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	if _, err := openapitest.New(); err != nil {
		t.Fatal(err)
	}
	// The vocabulary every later route will use is there.
	for _, name := range []string{"Problem", "FieldError", "Health", "Cursor", "Scope", "RoleId", "PermissionKey",
		"Action", "Assignment", "MemberStatus", "DocumentType", "DocumentStatus", "CheckRequest", "CheckResponse"} {
		if doc.Components.Schemas[name] == nil {
			t.Errorf("components.schemas.%s is missing", name)
		}
	}
	for _, name := range []string{"Cursor", "Limit", "IfMatch", "IdempotencyKey"} {
		if doc.Components.Parameters[name] == nil {
			t.Errorf("components.parameters.%s is missing", name)
		}
	}
	bearer := doc.Components.SecuritySchemes["bearerAuth"]
	if bearer == nil || bearer.Value.Type != "http" || bearer.Value.Scheme != "bearer" || bearer.Value.BearerFormat != "JWT" {
		t.Errorf("bearerAuth scheme = %+v", bearer)
	}
	for name, r := range doc.Components.Responses {
		if r.Value.Content.Get("application/problem+json") == nil {
			t.Errorf("components.responses.%s is not a problem", name)
		}
	}
}

// TestRoutesMatchDocument: the document's operations are exactly the route
// table, with the same operation ids and security.
func TestRoutesMatchDocument(t *testing.T) {
	doc := loadDoc(t)
	inTable := map[string]bool{}
	for _, rt := range routes.Table {
		key := rt.Method + " " + rt.Path
		inTable[key] = true
		item := doc.Paths.Value(rt.Path)
		if item == nil {
			t.Errorf("route %s: path %s is not in the document", key, rt.Path)
			continue
		}
		op := item.GetOperation(rt.Method)
		if op == nil {
			t.Errorf("route %s: method %s is not documented", key, rt.Method)
			continue
		}
		if op.OperationID != rt.Operation {
			t.Errorf("route %s: operationId %q, want %q", key, op.OperationID, rt.Operation)
		}
		var params []string
		for _, p := range op.Parameters {
			if p.Value.In == openapi3.ParameterInPath {
				params = append(params, p.Value.Name)
			}
		}
		for _, p := range item.Parameters {
			if p.Value.In == openapi3.ParameterInPath {
				params = append(params, p.Value.Name)
			}
		}
		slices.Sort(params)
		want := slices.Sorted(slices.Values(rt.Params()))
		if !slices.Equal(params, want) {
			t.Errorf("route %s: documented path parameters %v, want %v", key, params, want)
		}
		if rt.Body != (op.RequestBody != nil) {
			t.Errorf("route %s: Body is %v but the document says requestBody present = %v", key, rt.Body, op.RequestBody != nil)
		}
		checkSecurity(t, doc, key, rt.Public, op)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			key := method + " " + path
			if !inTable[key] {
				t.Errorf("documented operation %s (%s) is not in routes.Table", key, op.OperationID)
			}
		}
	}
}

func checkSecurity(t *testing.T, doc *openapi3.T, key string, public bool, op *openapi3.Operation) {
	t.Helper()
	if public {
		if op.Security == nil || len(*op.Security) != 0 {
			t.Errorf("public route %s: want security: [], got %v", key, op.Security)
		}
		return
	}
	sec := doc.Security
	if op.Security != nil {
		sec = *op.Security
	}
	if len(sec) != 1 || len(sec[0]) != 1 || sec[0]["bearerAuth"] == nil {
		t.Errorf("authenticated route %s: want security [{bearerAuth: []}], got %v", key, sec)
	}
}

func TestHandlerServesDocument(t *testing.T) {
	v := openapitest.Must(t)
	srv := httptest.NewServer(v.Middleware(t, openapi.Handler()))
	t.Cleanup(srv.Close)

	resp, err := http.Get(srv.URL + "/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	err = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("body: %v", err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" ||
		resp.Header.Get("Cache-Control") != openapi.CacheControl || resp.Header.Get("ETag") != openapi.ETag() {
		t.Fatalf("status %d, headers %v", resp.StatusCode, resp.Header)
	}
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi = %v", doc["openapi"])
	}

	for _, inm := range []string{openapi.ETag(), "W/" + openapi.ETag(), `"other", ` + openapi.ETag(), "*"} {
		req, _ := http.NewRequest("GET", srv.URL+"/v1/openapi.json", nil)
		req.Header.Set("If-None-Match", inm)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotModified || resp.Header.Get("ETag") != openapi.ETag() {
			t.Errorf("If-None-Match %s: status %d, ETag %q", inm, resp.StatusCode, resp.Header.Get("ETag"))
		}
	}

	req, _ := http.NewRequest("GET", srv.URL+"/v1/openapi.json", nil)
	req.Header.Set("If-None-Match", `"stale"`)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("stale If-None-Match: status %d", resp.StatusCode)
	}

	resp, err = http.Head(srv.URL + "/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != int64(len(openapi.Spec())) {
		t.Errorf("HEAD: status %d, length %d", resp.StatusCode, resp.ContentLength)
	}

	resp, err = http.Post(srv.URL+"/v1/openapi.json", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("POST: status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestSpecIsACopy(t *testing.T) {
	a := openapi.Spec()
	a[0] = 'x'
	if openapi.Spec()[0] != '{' {
		t.Fatal("Spec shares its bytes")
	}
}

package apitest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/openapi"
	"github.com/stewardhq/steward/pkg/routes"
)

// htmlOperations lists the operations whose OpenAPI responses include an
// HTML page.
func htmlOperations(t *testing.T) map[string]bool {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			Responses   map[string]struct {
				Content map[string]json.RawMessage `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(openapi.Spec(), &doc); err != nil {
		t.Fatal(err)
	}
	ops := map[string]bool{}
	for _, methods := range doc.Paths {
		for _, op := range methods {
			for _, resp := range op.Responses {
				if _, ok := resp.Content["text/html"]; ok {
					ops[op.OperationID] = true
				}
			}
		}
	}
	return ops
}

// TestEveryPageCarriesSecurityHeaders calls every route that answers an
// HTML page (found in the OpenAPI document, so a new page is covered) with
// a token that does not exist: the answer, a page saying so, carries the
// content security policy (no framing: frame-ancestors 'none'), nosniff,
// no caching and no referrer, since the pages' URLs hold one-time tokens.
func TestEveryPageCarriesSecurityHeaders(t *testing.T) {
	e := New(t)
	pages := htmlOperations(t)
	if len(pages) < 4 {
		t.Fatalf("found %d HTML operations in the OpenAPI document, want at least 4", len(pages))
	}
	bogus := strings.Repeat("x", 43)
	for _, rt := range routes.Table {
		// The portal's pages (PortalCSP) are checked by
		// TestPortalPagesCarrySecurityHeaders.
		if !pages[rt.Operation] || portalPage(rt) {
			continue
		}
		t.Run(rt.Operation, func(t *testing.T) {
			path := strings.ReplaceAll(rt.Path, "{token}", bogus)
			if strings.Contains(path, "{") {
				t.Fatalf("%s: no test value for a parameter of %s", rt.Operation, rt.Path)
			}
			var body *strings.Reader
			if rt.Method == http.MethodPost {
				body = strings.NewReader(url.Values{"decision": {"approve"}, "token": {bogus}}.Encode())
			} else {
				path += "?token=" + bogus
				body = strings.NewReader("")
			}
			req, err := http.NewRequest(rt.Method, e.URL+path, body)
			if err != nil {
				t.Fatal(err)
			}
			if rt.Method == http.MethodPost {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			resp, err := e.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Fatalf("%s %s: %d %s, want a 4xx HTML page", rt.Method, path, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			want := map[string]string{
				"Content-Security-Policy": httpapi.PageCSP,
				"X-Frame-Options":         "DENY",
				"X-Content-Type-Options":  "nosniff",
				"Cache-Control":           "no-store",
				"Referrer-Policy":         "no-referrer",
			}
			for k, v := range want {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %s = %q, want %q", rt.Operation, k, got, v)
				}
			}
			if !strings.Contains(httpapi.PageCSP, "frame-ancestors 'none'") || strings.Contains(httpapi.PageCSP, "script-src") {
				t.Errorf("page CSP %q must forbid framing and allow no script", httpapi.PageCSP)
			}
		})
	}
}

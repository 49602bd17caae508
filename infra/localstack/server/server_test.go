package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/routes"
	"github.com/stewardhq/steward/pkg/store"
)

// Every route of the table has a handler and every handler a route.
func TestEveryOperationBound(t *testing.T) {
	ops := operations(Deps{})
	seen := map[string]bool{}
	for _, r := range routes.Table {
		if _, ok := ops[r.Operation]; !ok {
			t.Errorf("route %s: no handler for %q", r.Pattern(), r.Operation)
		}
		if seen[r.Operation] {
			t.Errorf("operation %q used twice", r.Operation)
		}
		seen[r.Operation] = true
	}
	for op := range ops {
		if !seen[op] {
			t.Errorf("handler %q has no route", op)
		}
	}
}

// Every function of the route table has a Lambda main, and every main
// serves routes.
func TestEveryFunctionHasAMain(t *testing.T) {
	dirs, err := os.ReadDir(filepath.Join("..", "..", "..", "functions"))
	if err != nil {
		t.Fatal(err)
	}
	var mains []string
	for _, d := range dirs {
		if d.IsDir() {
			mains = append(mains, d.Name())
		}
	}
	for _, fn := range routes.Functions() {
		if !slices.Contains(mains, fn) {
			t.Errorf("function %q has no functions/%s/main.go", fn, fn)
		}
	}
	for _, m := range mains {
		// The workflow's step Lambda serves no route: Step Functions
		// invokes it; nor does the alert job: EventBridge invokes it; nor
		// does webhook delivery: its SQS queue invokes it; nor does the
		// event publisher: the table's stream invokes it.
		if m != routes.FunctionWorkflow && m != routes.FunctionAlertsJob && m != routes.FunctionWebhookDelivery && m != routes.FunctionEventPublisher && len(routes.ForFunction(m)) == 0 {
			t.Errorf("functions/%s serves no route of the table", m)
		}
	}
}

func TestUnknownRouteAndMethodAreProblems(t *testing.T) {
	h, err := Handler(Deps{Auth: &auth.Service{}, Store: &store.Store{}}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"GET", "/v1/nope", 404, "route_not_found", ""},
		{"DELETE", "/v1/health", 405, "method_not_allowed", "GET"},
		{"GET", "/v1/auth/login", 405, "method_not_allowed", "POST"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		var p struct{ Code string }
		_ = json.Unmarshal(rec.Body.Bytes(), &p)
		if rec.Code != tc.status || p.Code != tc.code || rec.Header().Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d %s allow %q", tc.method, tc.path, rec.Code, rec.Body, rec.Header().Get("Allow"))
		}
	}
}

func TestAuthenticatedRoutesRefuseAnonymousCalls(t *testing.T) {
	h, err := Handler(Deps{Auth: &auth.Service{}, Store: &store.Store{}}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes.Table {
		if r.Public {
			continue
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(r.Method, samplePath(r), nil))
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d %s", r.Pattern(), rec.Code, rec.Body)
		}
	}
}

// samplePath fills a route's parameters with sample values.
func samplePath(r routes.Route) string {
	p := r.Path
	for _, name := range r.Params() {
		p = strings.ReplaceAll(p, "{"+name+"}", "x1")
	}
	return p
}

func TestIdempotentRoutesAreAuthenticatedPosts(t *testing.T) {
	for _, r := range routes.Table {
		if r.Idempotent && (r.Public || r.Method != http.MethodPost) {
			t.Errorf("%s: idempotent routes must be authenticated POSTs", r.Pattern())
		}
	}
}

package apitest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stewardhq/steward/pkg/routes"
)

// samplePath fills a route's parameters with ids that exist nowhere.
func samplePath(r routes.Route) string {
	p := r.Path
	for _, name := range r.Params() {
		v := "x1"
		if name == "type" || name == "docType" {
			v = "purchase_order"
		}
		p = strings.ReplaceAll(p, "{"+name+"}", v)
	}
	return p
}

// Every route of the table, public or not, answers a malformed, truncated
// or oversized body with a 4xx problem: never a 5xx, never a success.
func TestEveryRouteRefusesBadBodies(t *testing.T) {
	e := New(t)
	u := e.signup(t, newEmail("bodies"))
	tk := e.login(t, u.Email, goodPassword, "")
	bodies := map[string]string{
		"malformed":     `{"a":`,
		"not an object": `[1,2,3]`,
		"invalid utf-8": "{\"name\":\"\xff\"}",
		"unknown field": `{"definitelyNotAField":true}`,
		"oversized":     `{"x":"` + strings.Repeat("a", 1<<20+10) + `"}`,
	}
	tried := 0
	for _, r := range routes.Table {
		for name, body := range bodies {
			res := e.Call(t, r.Method, samplePath(r), tk.AccessToken, body)
			tried++
			if res.Status < 400 || res.Status >= 500 {
				t.Errorf("%s with a %s body: %d %s", r.Pattern(), name, res.Status, res.Body)
				continue
			}
			// Public pages for people (approval links, unsubscribe) answer
			// HTML; everything else answers a problem.
			ct := res.Header.Get("Content-Type")
			if !(r.Public && strings.HasPrefix(ct, "text/html")) && !strings.HasPrefix(ct, "application/problem+json") {
				t.Errorf("%s with a %s body: %d with Content-Type %q, want a problem", r.Pattern(), name, res.Status, ct)
			}
			if name == "oversized" && res.Status != http.StatusRequestEntityTooLarge && res.Status != http.StatusNotFound && res.Status != http.StatusForbidden && res.Status != http.StatusMethodNotAllowed {
				t.Errorf("%s oversized: %d, want 413", r.Pattern(), res.Status)
			}
		}
	}
	t.Logf("%d routes x %d bodies = %d requests, all 4xx", len(routes.Table), len(bodies), tried)
}

// Every authenticated route refuses a request without a token, and one
// with a garbage token, with 401.
func TestEveryAuthenticatedRouteNeedsAToken(t *testing.T) {
	e := New(t)
	for _, r := range routes.Table {
		if r.Public {
			continue
		}
		for _, tok := range []string{"", "garbage.token.here"} {
			res := e.Call(t, r.Method, samplePath(r), tok, nil)
			if res.Status != http.StatusUnauthorized {
				t.Errorf("%s with token %q: %d %s", r.Pattern(), tok, res.Status, res.Body)
			}
		}
	}
}

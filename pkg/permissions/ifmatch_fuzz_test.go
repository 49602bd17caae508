package permissions

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzParseIfMatch reads arbitrary If-Match headers on the role routes: no
// panic; a header matches a version only if it is "*" or lists that
// version's ETag (weak or strong); and every ETag the server sends
// matches its own version.
func FuzzParseIfMatch(f *testing.F) {
	for _, s := range []string{`"1"`, `W/"1"`, `*`, `"1", "2"`, `"1","2"`, ``, `,`, `"01"`, `"-1"`, `1`, `""`, `W/`, `"3" ,*`} {
		f.Add(s, int64(1))
	}
	f.Fuzz(func(t *testing.T, header string, version int64) {
		r := httptest.NewRequest("PATCH", "/v1/roles/x", nil)
		r.Header["If-Match"] = []string{header}
		im := parseIfMatch(r)
		if !im.present {
			t.Fatalf("If-Match %q not seen", header)
		}
		if im.matches(version) && !strings.Contains(header, "*") && !strings.Contains(header, etag(version)) {
			t.Fatalf("If-Match %q matches version %d", header, version)
		}
		r.Header.Set("If-Match", etag(version))
		if !parseIfMatch(r).matches(version) {
			t.Fatalf("ETag %s does not match its version", etag(version))
		}
		r.Header.Del("If-Match")
		if im := parseIfMatch(r); im.present || im.matches(version) {
			t.Fatal("no If-Match parsed as present")
		}
	})
}

package rbac_test

import (
	"testing"

	"github.com/stewardhq/steward/pkg/rbac"
)

// FuzzParseScope parses arbitrary scope texts (assignments and API key
// scopes come from request bodies): no panic; a parsed scope is valid and
// prints back as the text it came from.
func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"account", "store:s1", "department:sales", "supplier:p-1.x", "store:", "store", ":s1", "account:x", "store:a:b", "store:a#b", "region:eu", "", "store:" + string(make([]byte, 129))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := rbac.ParseScope(text)
		if err != nil {
			if s != (rbac.Scope{}) {
				t.Fatalf("ParseScope(%q) failed but returned %+v", text, s)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("ParseScope(%q) = %+v, which is invalid: %v", text, s, err)
		}
		if s.String() != text {
			t.Fatalf("ParseScope(%q) prints as %q", text, s.String())
		}
		if again, err := rbac.ParseScope(s.String()); err != nil || again != s {
			t.Fatalf("round trip of %q: %+v, %v", text, again, err)
		}
	})
}

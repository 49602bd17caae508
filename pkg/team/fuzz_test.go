package team_test

import (
	"strings"
	"testing"

	"github.com/stewardhq/steward/pkg/team"
)

// FuzzNormalizeEmail normalizes arbitrary email input: no panic; an
// accepted address is lower-case printable ASCII of at most 254
// characters, with one '@' and a dotted domain, and normalizing it again
// changes nothing.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"a@example.com", "  Mia@Example.COM ", "a@b", "a@b.", "@b.c", "a@@b.c", `"a@b"@c.d`, "Mia <mia@example.com>", "a@xn--bcher-kva.example", "mia@exämple.com", "a b@c.d", "a@b.c\n", "(c)a@b.c", "a@[1.2.3.4]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		e, err := team.NormalizeEmail(in)
		if err != nil {
			if e != "" {
				t.Fatalf("NormalizeEmail(%q) failed but returned %q", in, e)
			}
			return
		}
		if e != strings.ToLower(e) || len(e) == 0 || len(e) > 254 || strings.Count(e, "@") != 1 {
			t.Fatalf("NormalizeEmail(%q) = %q", in, e)
		}
		for i := 0; i < len(e); i++ {
			if e[i] <= ' ' || e[i] >= 0x7f {
				t.Fatalf("NormalizeEmail(%q) = %q with byte %#x", in, e, e[i])
			}
		}
		local, domain, _ := strings.Cut(e, "@")
		if local == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
			t.Fatalf("NormalizeEmail(%q) = %q", in, e)
		}
		if again, err := team.NormalizeEmail(e); err != nil || again != e {
			t.Fatalf("NormalizeEmail(%q) = %q, then %q, %v", in, e, again, err)
		}
	})
}

package accesstoken

import (
	"strings"
	"testing"
)

// FuzzVerify verifies arbitrary strings as access tokens: no panic, every
// failure is ErrInvalidToken, and only a token the issuer signed verifies,
// with exactly the claims it was signed with (flipping, cutting or
// re-encoding any part of one does not yield other claims).
func FuzzVerify(f *testing.F) {
	ks := KeySet{Current: keys()[0], Previous: []Key{keys()[1]}}
	is := testIssuer(ks)
	c := member()
	good, _, err := is.Sign(c)
	if err != nil {
		f.Fatal(err)
	}
	parts := strings.Split(good, ".")
	old, _, err := testIssuer(KeySet{Current: keys()[1]}).Sign(c)
	if err != nil {
		f.Fatal(err)
	}
	foreign, _, err := testIssuer(KeySet{Current: keys()[2]}).Sign(c)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		good, old, foreign, "", ".", "..", "a.b.c", "garbage.token.here",
		parts[0] + "." + parts[1] + ".", parts[0] + "." + parts[1], "." + parts[1] + "." + parts[2],
		"eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + ".",
		"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + parts[1] + "." + parts[2],
		parts[0] + "." + parts[1] + "." + parts[2] + "=",
		parts[0] + "." + parts[1] + "." + strings.ToUpper(parts[2]),
		strings.Repeat("A", maxTokenLen+1),
	} {
		f.Add(s)
	}
	v := testVerifier(ks, t0)
	f.Fuzz(func(t *testing.T, token string) {
		got, err := v.Verify(token)
		if err != nil {
			if got != nil || !strings.HasPrefix(err.Error(), ErrInvalidToken.Error()) {
				t.Fatalf("Verify(%q) = %v, %v", token, got, err)
			}
			return
		}
		if token != good && token != old {
			t.Fatalf("Verify accepted a token the issuer never signed: %q (claims %+v)", token, got)
		}
		if got.Subject != c.Subject || got.AccountID != c.AccountID || got.SessionID != c.SessionID || got.IdentityID != c.IdentityID {
			t.Fatalf("Verify(%q) = %+v, signed %+v", token, got, c)
		}
	})
}

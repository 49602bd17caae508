package accesstoken

import (
	"encoding/json"
	"strings"
	"testing"
)

// The public half of a key set round-trips through JSON, carries no
// private key, verifies what the set signs, and bad keys are refused.
func TestPublicKeys(t *testing.T) {
	ks, err := NewKeySet()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(ks.Public())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "PRIVATE") || strings.Contains(string(raw), `"d"`) {
		t.Fatalf("public keys hold private material: %s", raw)
	}
	var pk PublicKeys
	if err := json.Unmarshal(raw, &pk); err != nil {
		t.Fatal(err)
	}
	iss := &Issuer{Keys: ks, Issuer: "https://steward.example", Audience: "steward"}
	c := Claims{AccountID: "a", SessionID: "s", IdentityID: "i"}
	c.Subject = "m"
	tok, _, err := iss.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewPublicVerifier(pk, iss.Issuer, iss.Audience)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(tok); err != nil {
		t.Fatal(err)
	}

	good := pk.Keys[0]
	for name, bad := range map[string]PublicKeys{
		"none":      {},
		"no kid":    {Keys: []JWK{{Kty: "RSA", Use: "sig", Alg: "RS256", N: good.N, E: good.E}}},
		"wrong alg": {Keys: []JWK{{Kty: "RSA", Use: "sig", Alg: "HS256", Kid: "k", N: good.N, E: good.E}}},
		"twice":     {Keys: []JWK{good, good}},
		"short":     {Keys: []JWK{{Kty: "RSA", Use: "sig", Alg: "RS256", Kid: "k", N: good.N[:100], E: good.E}}},
		"even e":    {Keys: []JWK{{Kty: "RSA", Use: "sig", Alg: "RS256", Kid: "k", N: good.N, E: "Ag"}}},
		"cursor":    {Keys: []JWK{good}, CursorKey: []byte("short")},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

package accesstoken

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	testIss = "https://auth.steward.test"
	testAud = "steward-api"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// keys are generated once: RSA generation is slow.
var keys = sync.OnceValue(func() []Key {
	ks := make([]Key, 5)
	for i := range ks {
		k, err := NewKey(2048)
		if err != nil {
			panic(err)
		}
		ks[i] = k
	}
	return ks
})

func fixedAt(t time.Time) func() time.Time { return func() time.Time { return t } }

func testIssuer(ks KeySet) *Issuer {
	return &Issuer{Keys: ks, Issuer: testIss, Audience: testAud, Now: fixedAt(t0)}
}

func testVerifier(ks KeySet, at time.Time) *Verifier {
	v := NewVerifier(ks, testIss, testAud)
	v.Now = fixedAt(at)
	return v
}

func member() Claims {
	c := Claims{AccountID: "a_1", SessionID: "s_0123456789abcdef0123", IdentityID: "i_9"}
	c.Subject = "m_42"
	return c
}

func sign(t *testing.T, is *Issuer, c Claims) string {
	t.Helper()
	tok, _, err := is.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestSignVerify(t *testing.T) {
	ks := KeySet{Current: keys()[0]}
	tok, exp, err := testIssuer(ks).Sign(member())
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(15 * time.Minute); !exp.Equal(want) {
		t.Fatalf("expiry %v, want %v", exp, want)
	}
	c, err := testVerifier(ks, t0.Add(time.Minute)).Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "m_42" || c.AccountID != "a_1" || c.SessionID != "s_0123456789abcdef0123" || c.IdentityID != "i_9" || c.Actor != nil {
		t.Fatalf("claims %+v", c)
	}
	if c.Issuer != testIss || len(c.Audience) != 1 || c.Audience[0] != testAud {
		t.Fatalf("iss/aud %q %q", c.Issuer, c.Audience)
	}
	if !c.ExpiresAt.Equal(exp) || !c.IssuedAt.Equal(t0) || !c.NotBefore.Equal(t0) || len(c.ID) != 22 {
		t.Fatalf("registered claims %+v", c.RegisteredClaims)
	}
	// The header names the key.
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, &Claims{})
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Header["kid"] != ks.Current.ID || parsed.Header["alg"] != "RS256" {
		t.Fatalf("header %v", parsed.Header)
	}
	// Two tokens get different jti.
	c2, _ := testVerifier(ks, t0).Verify(sign(t, testIssuer(ks), member()))
	if c2 == nil || c2.ID == c.ID {
		t.Fatal("jti repeated")
	}
}

func TestImpersonationClaim(t *testing.T) {
	ks := KeySet{Current: keys()[0]}
	c := member()
	c.Actor = &Actor{Subject: "m_admin"}
	tok := sign(t, testIssuer(ks), c)
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	var raw map[string]any
	if err := json.Unmarshal(payload, &raw); err != nil {
		t.Fatal(err)
	}
	if act, _ := raw["act"].(map[string]any); act["sub"] != "m_admin" {
		t.Fatalf("act claim %v in %s", raw["act"], payload)
	}
	for _, k := range []string{"iss", "aud", "sub", "exp", "iat", "nbf", "jti", "acc", "sid", "idn"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("claim %q missing from %s", k, payload)
		}
	}
	got, err := testVerifier(ks, t0).Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.Actor == nil || got.Actor.Subject != "m_admin" {
		t.Fatalf("actor %+v", got.Actor)
	}
}

func TestSignRejectsIncompleteClaims(t *testing.T) {
	ks := KeySet{Current: keys()[0]}
	for name, mod := range map[string]func(*Claims){
		"sub":      func(c *Claims) { c.Subject = "" },
		"acc":      func(c *Claims) { c.AccountID = "" },
		"sid":      func(c *Claims) { c.SessionID = "" },
		"idn":      func(c *Claims) { c.IdentityID = "" },
		"act.sub":  func(c *Claims) { c.Actor = &Actor{} },
		"self-act": func(c *Claims) { c.Actor = &Actor{Subject: c.Subject} },
	} {
		c := member()
		mod(&c)
		if _, _, err := testIssuer(ks).Sign(c); err == nil {
			t.Errorf("%s: Sign accepted incomplete claims", name)
		}
	}
	is := testIssuer(ks)
	is.Audience = ""
	if _, _, err := is.Sign(member()); err == nil {
		t.Error("Sign without audience")
	}
	if _, _, err := (&Issuer{Issuer: testIss, Audience: testAud}).Sign(member()); err == nil {
		t.Error("Sign without key")
	}
}

func TestTTL(t *testing.T) {
	ks := KeySet{Current: keys()[0]}
	is := testIssuer(ks)
	is.TTL = 5 * time.Minute
	tok := sign(t, is, member())
	if _, err := testVerifier(ks, t0.Add(5*time.Minute+Leeway-time.Second)).Verify(tok); err != nil {
		t.Fatalf("within leeway: %v", err)
	}
	if _, err := testVerifier(ks, t0.Add(5*time.Minute+Leeway+time.Second)).Verify(tok); !errors.Is(err, jwt.ErrTokenExpired) {
		t.Fatalf("after leeway: %v", err)
	}
}

// forge signs arbitrary claims and header with any method and key.
func forge(t *testing.T, m jwt.SigningMethod, claims jwt.Claims, header map[string]any, key any) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// full returns complete, valid claims as Sign would set them.
func full() Claims {
	c := member()
	c.Issuer = testIss
	c.Audience = jwt.ClaimStrings{testAud}
	c.IssuedAt = jwt.NewNumericDate(t0)
	c.NotBefore = jwt.NewNumericDate(t0)
	c.ExpiresAt = jwt.NewNumericDate(t0.Add(15 * time.Minute))
	c.ID = "jti-1"
	return c
}

func TestVerifyRejects(t *testing.T) {
	k := keys()[0]
	ks := KeySet{Current: k}
	good := sign(t, testIssuer(ks), member())
	kid := map[string]any{"kid": k.ID}

	pubDER, err := x509.MarshalPKIXPublicKey(&k.Private.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	pubJWKSJSON, _ := json.Marshal(JWKS(ks))

	parts := strings.Split(good, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"m_42"`, `"m_43"`, 1))) + "." + parts[2]
	badSig := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 256))
	noneHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT","kid":"` + k.ID + `"}`))

	wrongAud, wrongIss, noExp, noIat, noJti, noNbf, noAcc, noSid, noIdn, noSub := full(), full(), full(), full(), full(), full(), full(), full(), full(), full()
	wrongAud.Audience = jwt.ClaimStrings{"someone-else"}
	wrongIss.Issuer = "https://evil.test"
	noExp.ExpiresAt = nil
	noIat.IssuedAt = nil
	noJti.ID = ""
	noNbf.NotBefore = nil
	noAcc.AccountID = ""
	noSid.SessionID = ""
	noIdn.IdentityID = ""
	noSub.Subject = ""
	future := full()
	future.IssuedAt = jwt.NewNumericDate(t0.Add(time.Hour))
	future.NotBefore = jwt.NewNumericDate(t0.Add(time.Hour))
	future.ExpiresAt = jwt.NewNumericDate(t0.Add(2 * time.Hour))

	cases := map[string]struct {
		tok  string
		at   time.Time
		want error // an extra reason to find in the chain, besides ErrInvalidToken
	}{
		"expired":          {tok: good, at: t0.Add(16 * time.Minute), want: jwt.ErrTokenExpired},
		"not yet valid":    {tok: forge(t, jwt.SigningMethodRS256, future, kid, k.Private), at: t0, want: jwt.ErrTokenNotValidYet},
		"wrong audience":   {tok: forge(t, jwt.SigningMethodRS256, wrongAud, kid, k.Private), want: jwt.ErrTokenInvalidAudience},
		"wrong issuer":     {tok: forge(t, jwt.SigningMethodRS256, wrongIss, kid, k.Private), want: jwt.ErrTokenInvalidIssuer},
		"no exp":           {tok: forge(t, jwt.SigningMethodRS256, noExp, kid, k.Private), want: jwt.ErrTokenRequiredClaimMissing},
		"no nbf":           {tok: forge(t, jwt.SigningMethodRS256, noNbf, kid, k.Private), want: jwt.ErrTokenRequiredClaimMissing},
		"no iat":           {tok: forge(t, jwt.SigningMethodRS256, noIat, kid, k.Private)},
		"no jti":           {tok: forge(t, jwt.SigningMethodRS256, noJti, kid, k.Private)},
		"no sub":           {tok: forge(t, jwt.SigningMethodRS256, noSub, kid, k.Private)},
		"no acc":           {tok: forge(t, jwt.SigningMethodRS256, noAcc, kid, k.Private)},
		"no sid":           {tok: forge(t, jwt.SigningMethodRS256, noSid, kid, k.Private)},
		"no idn":           {tok: forge(t, jwt.SigningMethodRS256, noIdn, kid, k.Private)},
		"unknown kid":      {tok: forge(t, jwt.SigningMethodRS256, full(), map[string]any{"kid": keys()[1].ID}, keys()[1].Private)},
		"kid of other key": {tok: forge(t, jwt.SigningMethodRS256, full(), kid, keys()[1].Private), want: jwt.ErrTokenSignatureInvalid},
		"no kid":           {tok: forge(t, jwt.SigningMethodRS256, full(), nil, k.Private)},
		"numeric kid":      {tok: forge(t, jwt.SigningMethodRS256, full(), map[string]any{"kid": 1}, k.Private)},
		"crit header":      {tok: forge(t, jwt.SigningMethodRS256, full(), map[string]any{"kid": k.ID, "crit": []string{"exp"}}, k.Private)},
		"alg none":         {tok: forge(t, jwt.SigningMethodNone, full(), kid, jwt.UnsafeAllowNoneSignatureType)},
		"alg none, RS sig": {tok: noneHeader + "." + parts[1] + "." + parts[2]},
		"alg none, no sig": {tok: noneHeader + "." + parts[1] + "."},
		"HS256 public PEM": {tok: forge(t, jwt.SigningMethodHS256, full(), kid, pubPEM), want: jwt.ErrTokenSignatureInvalid},
		"HS256 public DER": {tok: forge(t, jwt.SigningMethodHS256, full(), kid, pubDER), want: jwt.ErrTokenSignatureInvalid},
		"HS256 JWKS bytes": {tok: forge(t, jwt.SigningMethodHS256, full(), kid, pubJWKSJSON), want: jwt.ErrTokenSignatureInvalid},
		"RS512":            {tok: forge(t, jwt.SigningMethodRS512, full(), kid, k.Private), want: jwt.ErrTokenSignatureInvalid},
		"PS256":            {tok: forge(t, jwt.SigningMethodPS256, full(), kid, k.Private), want: jwt.ErrTokenSignatureInvalid},
		"tampered payload": {tok: tampered, want: jwt.ErrTokenSignatureInvalid},
		"bad signature":    {tok: badSig, want: jwt.ErrTokenSignatureInvalid},
		"padded segments":  {tok: parts[0] + "=." + parts[1] + "." + parts[2]},
		"empty":            {tok: ""},
		"garbage":          {tok: "not.a.jwt"},
		"two segments":     {tok: parts[0] + "." + parts[1]},
		"too long":         {tok: good + strings.Repeat("A", maxTokenLen)},
	}
	for name, tc := range cases {
		at := tc.at
		if at.IsZero() {
			at = t0
		}
		c, err := testVerifier(ks, at).Verify(tc.tok)
		if c != nil || !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: Verify = %v, %v; want ErrInvalidToken", name, c, err)
			continue
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v does not wrap %v", name, err, tc.want)
		}
	}
	// Control: the good token verifies at t0.
	if _, err := testVerifier(ks, t0).Verify(good); err != nil {
		t.Fatal(err)
	}
	// A verifier without issuer or audience accepts nothing.
	if _, err := NewVerifier(ks, "", testAud).Verify(good); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("verifier without issuer: %v", err)
	}
	if _, err := (&Verifier{}).Verify(good); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("zero verifier: %v", err)
	}
}

func TestRotate(t *testing.T) {
	ks := KeySet{Current: keys()[0]}
	old := sign(t, testIssuer(ks), member())

	ks.rotateTo(keys()[1])
	if ks.Current.ID != keys()[1].ID || len(ks.Previous) != 1 || ks.Previous[0].ID != keys()[0].ID {
		t.Fatalf("after one rotation: current %s previous %v", ks.Current.ID, ids(ks.Previous))
	}
	if _, err := testVerifier(ks, t0).Verify(old); err != nil {
		t.Fatalf("token of previous key: %v", err)
	}
	newer := sign(t, testIssuer(ks), member())
	if h := header(t, newer); h["kid"] != keys()[1].ID {
		t.Fatalf("new token signed with %v, want the new current key", h["kid"])
	}

	ks.rotateTo(keys()[2])
	if _, err := testVerifier(ks, t0).Verify(old); err != nil {
		t.Fatalf("token of second previous key: %v", err)
	}
	ks.rotateTo(keys()[3])
	if len(ks.Previous) != MaxPrevious || ks.Previous[0].ID != keys()[2].ID || ks.Previous[1].ID != keys()[1].ID {
		t.Fatalf("previous %v", ids(ks.Previous))
	}
	// keys()[0] has been dropped: its tokens no longer verify.
	if _, err := testVerifier(ks, t0).Verify(old); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("token of dropped key: %v", err)
	}
	if _, err := testVerifier(ks, t0).Verify(newer); err != nil {
		t.Fatalf("token of kept key: %v", err)
	}
	if n := len(JWKS(ks).Keys); n != 1+MaxPrevious {
		t.Fatalf("JWKS has %d keys", n)
	}
}

func TestRotateGenerates(t *testing.T) {
	ks := KeySet{Current: keys()[0]}
	if err := ks.Rotate(); err != nil {
		t.Fatal(err)
	}
	if ks.Current.ID == keys()[0].ID || ks.Current.Private.N.BitLen() != DefaultKeyBits || ks.Previous[0].ID != keys()[0].ID {
		t.Fatalf("Rotate: current %s (%d bits), previous %v", ks.Current.ID, ks.Current.Private.N.BitLen(), ids(ks.Previous))
	}
	if err := ks.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestCursorKeyTravelsAndSurvivesRotation: a new key set has a cursor
// key, it survives the JSON round trip and a rotation, and a key set
// stored without one (an older release) gets one from EnsureCursorKey.
func TestCursorKeyTravelsAndSurvivesRotation(t *testing.T) {
	ks, err := NewKeySet()
	if err != nil {
		t.Fatal(err)
	}
	if len(ks.CursorKey) != CursorKeySize {
		t.Fatalf("new key set has a %d-byte cursor key", len(ks.CursorKey))
	}
	cursor := bytes.Clone(ks.CursorKey)
	if err := ks.Rotate(); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(ks)
	if err != nil {
		t.Fatal(err)
	}
	var back KeySet
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.CursorKey, cursor) || back.EnsureCursorKey() {
		t.Fatal("the cursor key changed across a rotation and a round trip")
	}
	old := KeySet{Current: keys()[0]}
	if !old.EnsureCursorKey() || len(old.CursorKey) != CursorKeySize || old.Validate() != nil {
		t.Fatalf("EnsureCursorKey on an old key set: %d bytes", len(old.CursorKey))
	}
}

func ids(ks []Key) []string {
	var s []string
	for _, k := range ks {
		s = append(s, k.ID)
	}
	return s
}

func header(t *testing.T, tok string) map[string]any {
	t.Helper()
	p, _, err := jwt.NewParser().ParseUnverified(tok, &Claims{})
	if err != nil {
		t.Fatal(err)
	}
	return p.Header
}

func TestKeySetJSON(t *testing.T) {
	ks := KeySet{Current: keys()[2], Previous: []Key{keys()[1], keys()[0]}}
	data, err := json.Marshal(ks)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `-----BEGIN PRIVATE KEY-----`) || !strings.Contains(string(data), `"kid":"`+keys()[2].ID+`"`) {
		t.Fatalf("stored form %s", data)
	}
	var back KeySet
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	want, got := ks.Keys(), back.Keys()
	if len(got) != len(want) {
		t.Fatalf("%d keys back, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].ID != want[i].ID || !got[i].Private.Equal(want[i].Private) || !got[i].Created.Equal(want[i].Created) {
			t.Fatalf("key %d differs after round trip", i)
		}
	}
	// A token signed before the round trip verifies after it.
	tok := sign(t, testIssuer(ks), member())
	if _, err := testVerifier(back, t0).Verify(tok); err != nil {
		t.Fatal(err)
	}
}

func TestKeySetJSONRejects(t *testing.T) {
	enc := func(k Key) string {
		b, err := json.Marshal(k)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	pemOf := func(key any) string {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := json.Marshal(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
		return string(s)
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1, _ := json.Marshal(string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(keys()[0].Private)})))
	k0 := enc(keys()[0])
	for name, data := range map[string]string{
		"empty":          `{}`,
		"not json":       `nope`,
		"no kid":         `{"current":{"privateKey":` + pemOf(keys()[0].Private) + `}}`,
		"1024 bits":      `{"current":{"kid":"x","privateKey":` + pemOf(small) + `}}`,
		"ecdsa":          `{"current":{"kid":"x","privateKey":` + pemOf(ec) + `}}`,
		"pkcs1":          `{"current":{"kid":"x","privateKey":` + string(pkcs1) + `}}`,
		"garbage pem":    `{"current":{"kid":"x","privateKey":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}}`,
		"trailing data":  `{"current":{"kid":"x","privateKey":` + strings.TrimSuffix(pemOf(keys()[0].Private), `"`) + `junk"}}`,
		"duplicate kid":  `{"current":` + k0 + `,"previous":[` + k0 + `]}`,
		"bad previous":   `{"current":` + k0 + `,"previous":[{}]}`,
		"no private key": `{"current":{"kid":"x"}}`,
		"short cursor":   `{"current":` + k0 + `,"cursorKey":"AAAA"}`,
	} {
		var ks KeySet
		if err := json.Unmarshal([]byte(data), &ks); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := json.Marshal(KeySet{}); err == nil {
		t.Error("marshalled an empty key set")
	}
	if _, err := NewKey(1024); err == nil {
		t.Error("NewKey(1024) accepted")
	}
}

// TestJWKSWithStandardLibrary proves that a standard JWT library, given
// only the served JWKS JSON, validates an access token: the keys are
// rebuilt from n and e here, by hand, not with this package's code.
func TestJWKSWithStandardLibrary(t *testing.T) {
	ks := KeySet{Current: keys()[1], Previous: []Key{keys()[0]}}
	served, err := json.Marshal(JWKS(ks))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(served, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Keys) != 2 {
		t.Fatalf("JWKS %s", served)
	}
	pub := map[string]*rsa.PublicKey{}
	for _, j := range doc.Keys {
		if j["kty"] != "RSA" || j["use"] != "sig" || j["alg"] != "RS256" || j["kid"] == "" {
			t.Fatalf("JWK %v", j)
		}
		n, err1 := base64.RawURLEncoding.DecodeString(j["n"])
		e, err2 := base64.RawURLEncoding.DecodeString(j["e"])
		if err1 != nil || err2 != nil {
			t.Fatalf("JWK %v: %v %v", j, err1, err2)
		}
		key := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if j["e"] != "AQAB" || key.N.BitLen() != 2048 {
			t.Fatalf("JWK %v", j)
		}
		if Thumbprint(key) != j["kid"] {
			t.Fatalf("kid %s is not the key's thumbprint", j["kid"])
		}
		pub[j["kid"]] = key
	}
	keyfunc := func(tok *jwt.Token) (any, error) {
		k, ok := pub[tok.Header["kid"].(string)]
		if !ok {
			return nil, errors.New("unknown kid")
		}
		return k, nil
	}
	for _, k := range []Key{keys()[1], keys()[0]} {
		tok := sign(t, testIssuer(KeySet{Current: k}), member())
		parsed, err := jwt.Parse(tok, keyfunc,
			jwt.WithValidMethods([]string{"RS256"}),
			jwt.WithIssuer(testIss), jwt.WithAudience(testAud),
			jwt.WithTimeFunc(fixedAt(t0.Add(time.Minute))))
		if err != nil || !parsed.Valid {
			t.Fatalf("jwt.Parse with JWKS key %s: %v", k.ID, err)
		}
		if sub, _ := parsed.Claims.GetSubject(); sub != "m_42" {
			t.Fatalf("sub %q", sub)
		}
	}
	// A key not in the JWKS does not verify.
	tok := sign(t, testIssuer(KeySet{Current: keys()[2]}), member())
	if _, err := jwt.Parse(tok, keyfunc, jwt.WithTimeFunc(fixedAt(t0))); err == nil {
		t.Fatal("token of an unpublished key verified")
	}
}

func TestThumbprintRFC7638(t *testing.T) {
	// RFC 7638 section 3.1.
	n, err := base64.RawURLEncoding.DecodeString("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
	if err != nil {
		t.Fatal(err)
	}
	got := Thumbprint(&rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537})
	if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Fatalf("thumbprint %s, want %s", got, want)
	}
}

func TestOpenIDConfiguration(t *testing.T) {
	for _, iss := range []string{"https://api.steward.example", "https://api.steward.example/"} {
		data, err := json.Marshal(OpenIDConfiguration(iss))
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		if doc["issuer"] != iss || doc["jwks_uri"] != "https://api.steward.example/.well-known/jwks.json" {
			t.Fatalf("discovery %s", data)
		}
		algs, _ := doc["id_token_signing_alg_values_supported"].([]any)
		if len(algs) != 1 || algs[0] != "RS256" {
			t.Fatalf("algs %v", algs)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	is := &Issuer{Keys: KeySet{Current: keys()[0]}, Issuer: testIss, Audience: testAud}
	for b.Loop() {
		if _, _, err := is.Sign(member()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	ks := KeySet{Current: keys()[0]}
	tok, _, err := (&Issuer{Keys: ks, Issuer: testIss, Audience: testAud}).Sign(member())
	if err != nil {
		b.Fatal(err)
	}
	v := NewVerifier(ks, testIss, testAud)
	for b.Loop() {
		if _, err := v.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

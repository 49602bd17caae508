package accesstoken

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// PublicKeys is what the functions that only verify access tokens read
// (the stack's VerifyKeys secret): the public keys of a KeySet, in JWK
// form, and the cursor key. It holds nothing that signs; `make keys`
// writes it from the KeySet, whose secret only the functions that sign
// tokens may read.
//
//	{"keys": [{"kty":"RSA","use":"sig","alg":"RS256","kid","n","e"}, ...], "cursorKey": "<base64>"}
type PublicKeys struct {
	// Keys are the current key followed by the previous keys.
	Keys []JWK `json:"keys"`
	// CursorKey seals pagination cursors (see KeySet.CursorKey).
	CursorKey []byte `json:"cursorKey,omitempty"`
}

// Public returns the public half of ks and its cursor key.
func (ks KeySet) Public() PublicKeys {
	return PublicKeys{Keys: JWKS(ks).Keys, CursorKey: ks.CursorKey}
}

// rsaKeys decodes the keys by kid, checking each: RSA, RS256, signature
// use, at least MinKeyBits, a kid that appears once.
func (pk PublicKeys) rsaKeys() (map[string]*rsa.PublicKey, error) {
	if len(pk.Keys) == 0 {
		return nil, errors.New("accesstoken: the public key set has no key")
	}
	out := make(map[string]*rsa.PublicKey, len(pk.Keys))
	for _, k := range pk.Keys {
		if k.Kid == "" {
			return nil, errors.New("accesstoken: public key has no kid")
		}
		if k.Kty != "RSA" || k.Alg != "RS256" || k.Use != "sig" {
			return nil, fmt.Errorf("accesstoken: public key %q is %s/%s/%s, want RSA/RS256/sig", k.Kid, k.Kty, k.Alg, k.Use)
		}
		if _, dup := out[k.Kid]; dup {
			return nil, fmt.Errorf("accesstoken: kid %q appears twice in the public key set", k.Kid)
		}
		n, err1 := base64.RawURLEncoding.Strict().DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.Strict().DecodeString(k.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			return nil, fmt.Errorf("accesstoken: public key %q: n or e is not base64url", k.Kid)
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if pub.N.BitLen() < MinKeyBits {
			return nil, fmt.Errorf("accesstoken: public key %q has %d bits; want at least %d", k.Kid, pub.N.BitLen(), MinKeyBits)
		}
		if pub.E < 3 || pub.E%2 == 0 {
			return nil, fmt.Errorf("accesstoken: public key %q has an invalid exponent", k.Kid)
		}
		out[k.Kid] = pub
	}
	return out, nil
}

// Validate checks every key and the cursor key's size when there is one.
func (pk PublicKeys) Validate() error {
	if n := len(pk.CursorKey); n != 0 && n != CursorKeySize {
		return fmt.Errorf("accesstoken: the cursor key has %d bytes, want %d", n, CursorKeySize)
	}
	_, err := pk.rsaKeys()
	return err
}

// UnmarshalJSON decodes a stored public key set and validates it.
func (pk *PublicKeys) UnmarshalJSON(data []byte) error {
	type plain PublicKeys
	var v plain
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	if err := PublicKeys(v).Validate(); err != nil {
		return err
	}
	*pk = PublicKeys(v)
	return nil
}

// NewPublicVerifier returns a Verifier that accepts tokens signed by one
// of the keys of pk, issued by issuer for audience.
func NewPublicVerifier(pk PublicKeys, issuer, audience string) (*Verifier, error) {
	keys, err := pk.rsaKeys()
	if err != nil {
		return nil, err
	}
	return &Verifier{issuer: issuer, audience: audience, keys: keys}, nil
}

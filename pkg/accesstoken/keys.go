// Package accesstoken issues and verifies Steward's access tokens: short
// lived RS256 JWTs that carry a member, account, session and identity,
// and the RSA key set that signs them. It also serves what third parties
// need to verify the tokens themselves: the JWKS document and the minimal
// OpenID discovery document that API Gateway's JWT authorizer reads.
package accesstoken

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// MinKeyBits is the smallest RSA modulus NewKey and the JSON decoding of
// a key accept.
const MinKeyBits = 2048

// DefaultKeyBits is the modulus size Rotate uses for new keys.
const DefaultKeyBits = 2048

// MaxPrevious is how many previous keys a KeySet keeps after Rotate.
// Rotating at most once per token TTL keeps every unexpired token
// verifiable.
const MaxPrevious = 2

// Key is one RSA signing key.
type Key struct {
	// ID is the JWS "kid": the RFC 7638 JWK thumbprint of the public key
	// for keys made by NewKey.
	ID string
	// Private is the RSA private key.
	Private *rsa.PrivateKey
	// Created is when the key was made.
	Created time.Time
}

// NewKey generates an RSA key of bits bits (at least MinKeyBits; use
// 2048) with its thumbprint as ID.
func NewKey(bits int) (Key, error) {
	if bits < MinKeyBits {
		return Key{}, fmt.Errorf("accesstoken: RSA key of %d bits is too small; want at least %d", bits, MinKeyBits)
	}
	priv, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return Key{}, fmt.Errorf("accesstoken: generate RSA key: %w", err)
	}
	return Key{ID: Thumbprint(&priv.PublicKey), Private: priv, Created: time.Now().UTC().Truncate(time.Second)}, nil
}

// Thumbprint returns the RFC 7638 JWK thumbprint (SHA-256, base64url) of
// an RSA public key.
func Thumbprint(pub *rsa.PublicKey) string {
	// Members in lexicographic order, no whitespace (RFC 7638 section 3).
	canonical := `{"e":"` + b64(big.NewInt(int64(pub.E)).Bytes()) + `","kty":"RSA","n":"` + b64(pub.N.Bytes()) + `"}`
	sum := sha256.Sum256([]byte(canonical))
	return b64(sum[:])
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// keyJSON is how a Key is stored: the private key as a PKCS#8 PEM block.
type keyJSON struct {
	ID         string    `json:"kid"`
	Created    time.Time `json:"created"`
	PrivateKey string    `json:"privateKey"`
}

// MarshalJSON encodes the key as {"kid", "created", "privateKey"}, the
// private key as a PKCS#8 "PRIVATE KEY" PEM block.
func (k Key) MarshalJSON() ([]byte, error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.Private)
	if err != nil {
		return nil, fmt.Errorf("accesstoken: encode key %s: %w", k.ID, err)
	}
	return json.Marshal(keyJSON{
		ID:         k.ID,
		Created:    k.Created,
		PrivateKey: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
	})
}

// UnmarshalJSON decodes what MarshalJSON encodes and checks the key: RSA,
// at least MinKeyBits, consistent, with a non-empty kid.
func (k *Key) UnmarshalJSON(data []byte) error {
	var j keyJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return fmt.Errorf("accesstoken: decode key: %w", err)
	}
	block, rest := pem.Decode([]byte(j.PrivateKey))
	if block == nil || block.Type != "PRIVATE KEY" || len(bytes.TrimSpace(rest)) != 0 {
		return fmt.Errorf("accesstoken: key %q: privateKey is not one PKCS#8 PEM block", j.ID)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return fmt.Errorf("accesstoken: key %q: %w", j.ID, err)
	}
	priv, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return fmt.Errorf("accesstoken: key %q is %T, not RSA", j.ID, parsed)
	}
	nk := Key{ID: j.ID, Private: priv, Created: j.Created}
	if err := nk.check(); err != nil {
		return err
	}
	*k = nk
	return nil
}

func (k Key) check() error {
	if k.ID == "" {
		return errors.New("accesstoken: key has no kid")
	}
	if k.Private == nil {
		return fmt.Errorf("accesstoken: key %q has no private key", k.ID)
	}
	if k.Private.N.BitLen() < MinKeyBits {
		return fmt.Errorf("accesstoken: key %q has %d bits; want at least %d", k.ID, k.Private.N.BitLen(), MinKeyBits)
	}
	if err := k.Private.Validate(); err != nil {
		return fmt.Errorf("accesstoken: key %q: %w", k.ID, err)
	}
	return nil
}

// KeySet is the signing key and the previous keys whose tokens are still
// accepted. It is stored as JSON (Secrets Manager, or a local file in
// development):
//
//	{"current": {"kid", "created", "privateKey"}, "previous": [...]}
type KeySet struct {
	// Current signs new tokens.
	Current Key `json:"current"`
	// Previous keys, newest first, still verify the tokens they signed.
	Previous []Key `json:"previous,omitempty"`
	// CursorKey (CursorKeySize bytes, base64 in JSON) seals pagination
	// cursors. It travels in the same secret, so a function reads one
	// secret at start and no key sits in its configuration. Rotate keeps
	// it: rotating it would only invalidate the cursors in flight.
	CursorKey []byte `json:"cursorKey,omitempty"`
}

// CursorKeySize is the size of KeySet.CursorKey (an AES-256 key).
const CursorKeySize = 32

// NewKeySet returns a key set with one new DefaultKeyBits key and a new
// cursor key.
func NewKeySet() (KeySet, error) {
	k, err := NewKey(DefaultKeyBits)
	if err != nil {
		return KeySet{}, err
	}
	ks := KeySet{Current: k}
	ks.EnsureCursorKey()
	return ks, nil
}

// EnsureCursorKey gives a key set written before cursor keys lived in it
// a new cursor key; it reports whether it did.
func (ks *KeySet) EnsureCursorKey() bool {
	if len(ks.CursorKey) == CursorKeySize {
		return false
	}
	ks.CursorKey = make([]byte, CursorKeySize)
	_, _ = rand.Read(ks.CursorKey) // crypto/rand.Read never fails (Go 1.24+)
	return true
}

// Rotate makes a new DefaultKeyBits current key; the old current key
// becomes the newest previous key, and only the MaxPrevious newest
// previous keys are kept. Tokens signed by a dropped key stop verifying.
func (ks *KeySet) Rotate() error {
	k, err := NewKey(DefaultKeyBits)
	if err != nil {
		return err
	}
	ks.rotateTo(k)
	return nil
}

func (ks *KeySet) rotateTo(k Key) {
	prev := make([]Key, 0, MaxPrevious)
	if ks.Current.Private != nil {
		prev = append(prev, ks.Current)
	}
	prev = append(prev, ks.Previous...)
	if len(prev) > MaxPrevious {
		prev = prev[:MaxPrevious]
	}
	ks.Current, ks.Previous = k, prev
}

// Keys returns the current key followed by the previous keys.
func (ks KeySet) Keys() []Key {
	return append([]Key{ks.Current}, ks.Previous...)
}

// Validate checks every key, that no kid appears twice and the cursor
// key's size when there is one.
func (ks KeySet) Validate() error {
	if n := len(ks.CursorKey); n != 0 && n != CursorKeySize {
		return fmt.Errorf("accesstoken: the cursor key has %d bytes, want %d", n, CursorKeySize)
	}
	seen := map[string]bool{}
	for _, k := range ks.Keys() {
		if err := k.check(); err != nil {
			return err
		}
		if seen[k.ID] {
			return fmt.Errorf("accesstoken: kid %q appears twice in the key set", k.ID)
		}
		seen[k.ID] = true
	}
	return nil
}

// UnmarshalJSON decodes a stored key set and validates it.
func (ks *KeySet) UnmarshalJSON(data []byte) error {
	type plain KeySet
	var v plain
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	if err := KeySet(v).Validate(); err != nil {
		return err
	}
	*ks = KeySet(v)
	return nil
}

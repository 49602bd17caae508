package accesstoken

import (
	"math/big"
	"strings"
)

// JWK is an RSA public signing key in JSON Web Key form (RFC 7517,
// RFC 7518 section 6.3.1); n and e are unsigned big-endian base64url.
type JWK struct {
	// Kty is the key type, always "RSA".
	Kty string `json:"kty"`
	// Use is the intended use, always "sig".
	Use string `json:"use"`
	// Alg is the algorithm, always "RS256".
	Alg string `json:"alg"`
	// Kid is the key id tokens name in their header.
	Kid string `json:"kid"`
	// N is the modulus.
	N string `json:"n"`
	// E is the public exponent.
	E string `json:"e"`
}

// JWKSDocument is the JSON Web Key Set served at
// /.well-known/jwks.json.
type JWKSDocument struct {
	// Keys are the current key followed by the previous keys.
	Keys []JWK `json:"keys"`
}

// JWKS returns the public keys of ks, current first. Previous keys stay
// published so that tokens they signed still verify elsewhere until the
// key is dropped.
func JWKS(ks KeySet) JWKSDocument {
	doc := JWKSDocument{Keys: []JWK{}}
	for _, k := range ks.Keys() {
		if k.ID == "" || k.Private == nil {
			continue
		}
		pub := k.Private.PublicKey
		doc.Keys = append(doc.Keys, JWK{
			Kty: "RSA",
			Use: "sig",
			Alg: "RS256",
			Kid: k.ID,
			N:   b64(pub.N.Bytes()),
			E:   b64(big.NewInt(int64(pub.E)).Bytes()),
		})
	}
	return doc
}

// OpenIDConfig is the minimal OpenID Connect discovery document. Steward
// is not an OpenID provider; it serves this only because API Gateway's
// JWT authorizer finds the signing keys through
// <issuer>/.well-known/openid-configuration.
type OpenIDConfig struct {
	// Issuer equals the tokens' "iss" claim, character for character.
	Issuer string `json:"issuer"`
	// JWKSURI is where the JWKSDocument is served.
	JWKSURI string `json:"jwks_uri"`
	// ResponseTypesSupported is required by the discovery spec; Steward
	// has no authorization endpoint, so it lists only "token".
	ResponseTypesSupported []string `json:"response_types_supported"`
	// SubjectTypesSupported is ["public"]: sub is the same member id for
	// every audience.
	SubjectTypesSupported []string `json:"subject_types_supported"`
	// IDTokenSigningAlgValuesSupported is ["RS256"].
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
}

// OpenIDConfiguration returns the discovery document for issuer (the
// tokens' "iss", an https base URL without a trailing slash).
func OpenIDConfiguration(issuer string) OpenIDConfig {
	return OpenIDConfig{
		Issuer:                           issuer,
		JWKSURI:                          strings.TrimSuffix(issuer, "/") + "/.well-known/jwks.json",
		ResponseTypesSupported:           []string{"token"},
		SubjectTypesSupported:            []string{"public"},
		IDTokenSigningAlgValuesSupported: []string{"RS256"},
	}
}

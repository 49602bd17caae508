// Package onetime makes and checks the secrets sent to people: one-time
// tokens (invitations, email verification, password reset, approval
// links) and refresh tokens.
//
// A token is 256 random bits, base64url without padding (43 characters).
// Only its hash, hex(SHA-256(token)), is stored; the token itself exists
// only in the email or the client. A fast unsalted hash is right here,
// unlike for passwords: the input has 256 bits of entropy, so there is
// nothing to guess, and the hash must be a lookup key.
//
// Hash and ParseRefresh check the exact shape of their input before
// hashing, so garbage from a URL or a request body is rejected cheaply and
// never reaches the database.
package onetime

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

const (
	// TokenBytes is the number of random bytes in a token.
	TokenBytes = 32
	// TokenLen is the length of an encoded token.
	TokenLen = 43
	// HashLen is the length of a token hash (hex SHA-256).
	HashLen = 64
	// MaxSessionIDLen is the longest session id a refresh token carries.
	MaxSessionIDLen = 64
)

// ErrMalformed is returned for input that cannot be a token this package
// made. It says nothing about whether a well-formed token exists.
var ErrMalformed = errors.New("onetime: malformed token")

var enc = base64.RawURLEncoding.Strict()

// New returns a fresh token and its hash. Send the token; store only the
// hash.
func New() (token string, hash string) {
	var b [TokenBytes]byte
	// crypto/rand.Read never returns an error: it crashes the program if
	// the system's randomness fails.
	_, _ = rand.Read(b[:])
	token = enc.EncodeToString(b[:])
	return token, sum(token)
}

// Hash returns the hash of token, to look up or compare with the stored
// one. It returns ErrMalformed, without hashing, unless token is exactly
// TokenLen base64url characters encoding TokenBytes bytes canonically.
func Hash(token string) (string, error) {
	if !wellFormed(token) {
		return "", ErrMalformed
	}
	return sum(token), nil
}

// Equal reports whether two hashes are equal, in time that depends only
// on their lengths.
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func sum(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// wellFormed checks length and alphabet first (encoding/base64 would
// silently skip '\r' and '\n'), then that the last character carries no
// stray bits, so that each 256-bit value has exactly one spelling.
func wellFormed(token string) bool {
	if len(token) != TokenLen {
		return false
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	var b [TokenBytes + 1]byte
	n, err := enc.Decode(b[:], []byte(token))
	return err == nil && n == TokenBytes
}

// NewRefresh returns a refresh token for the session sessionID and the
// hash of its secret part; store the hash on the session. The token is
// "<sessionID>.<secret>", where secret is a token as New makes. sessionID
// must be a valid session id (1 to MaxSessionIDLen characters of
// [a-z0-9_]); Steward generates them, so an invalid one is a programming
// error and NewRefresh panics.
func NewRefresh(sessionID string) (token, hash string) {
	if !validSessionID(sessionID) {
		panic(fmt.Sprintf("onetime: invalid session id %q", sessionID))
	}
	secret, hash := New()
	return sessionID + "." + secret, hash
}

// ParseRefresh splits a refresh token into its session id and the hash of
// its secret, to compare (with Equal) with the hash stored on the
// session. It returns ErrMalformed unless token is exactly a valid
// session id, one '.', and a well-formed secret.
func ParseRefresh(token string) (sessionID, secretHash string, err error) {
	if len(token) > MaxSessionIDLen+1+TokenLen {
		return "", "", ErrMalformed
	}
	sessionID, secret, ok := strings.Cut(token, ".")
	if !ok || !validSessionID(sessionID) || !wellFormed(secret) {
		return "", "", ErrMalformed
	}
	return sessionID, sum(secret), nil
}

func validSessionID(s string) bool {
	if s == "" || len(s) > MaxSessionIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

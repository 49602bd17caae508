// Package apikey is the API key itself, linked by every authenticated
// function: its format and parsing, the verification of a presented key
// against its stored item, the synthetic member and role a key acts as,
// and the rule that a key never exceeds its creator's rights. Managing
// keys (create, list, revoke) is the parent package, pkg/apikeys, which
// only the apikeys function links; the key's DynamoDB item is pkg/store's
// (apikeys.go), since the store owns the table.
//
// A key is
//
//	stk_<id>_<secret>
//
// where id is "<account>.k_<20 hex>" (the account in the id lets one
// BatchGetItem read the key and the account's roles) and secret is a
// onetime token (256 random bits, 43 base64url characters). Only the
// secret's SHA-256 is stored.
package apikey

import (
	"errors"
	"strings"

	"github.com/stewardhq/steward/pkg/onetime"
	"github.com/stewardhq/steward/pkg/store"
)

// Prefix starts every API key, so that a bearer token is told apart from
// an access token (a JWT) by its first characters.
const Prefix = "stk_"

// ActorPrefix starts the member id (and so the audit actor id) of an API
// key's principal: "apikey:<id>".
const ActorPrefix = "apikey:"

// Lengths of the parts of an API key.
const (
	maxAccountLen = 64
	randomLen     = len("k_") + 20
	maxIDLen      = maxAccountLen + 1 + randomLen
	// MaxLen bounds an API key; longer bearer tokens are refused without
	// parsing.
	MaxLen = len(Prefix) + maxIDLen + 1 + onetime.TokenLen
)

// ErrMalformed: a token that cannot be an API key Steward issued. It says
// nothing about whether a key with that id exists.
var ErrMalformed = errors.New("apikey: malformed API key")

// NewID returns a new API key id in account.
func NewID(account string) string { return account + "." + store.NewID("k") }

// Format returns the key a client presents: "stk_<id>_<secret>".
func Format(id, secret string) string { return Prefix + id + "_" + secret }

// ListedPrefix is the non-secret start of a key, "stk_<id>_", shown in
// lists to match a key in hand to its entry.
func ListedPrefix(id string) string { return Prefix + id + "_" }

// Parse splits an API key into its account, its id and the hash of its
// secret (to compare, with onetime.Equal, with the stored hash). It
// returns ErrMalformed, without hashing, unless token is exactly "stk_", a
// well-formed id, '_' and a well-formed secret.
func Parse(token string) (account, id, secretHash string, err error) {
	if len(token) > MaxLen || len(token) < len(Prefix)+1+onetime.TokenLen+1 || !strings.HasPrefix(token, Prefix) {
		return "", "", "", ErrMalformed
	}
	// The secret is the last TokenLen characters (it may contain '_').
	cut := len(token) - onetime.TokenLen - 1
	if token[cut] != '_' {
		return "", "", "", ErrMalformed
	}
	id = token[len(Prefix):cut]
	account, ok := Account(id)
	if !ok {
		return "", "", "", ErrMalformed
	}
	secretHash, err = onetime.Hash(token[cut+1:])
	if err != nil {
		return "", "", "", ErrMalformed
	}
	return account, id, secretHash, nil
}

// Account returns the account of a well-formed API key id; ok is false
// for anything else (use it to refuse ids from a URL cheaply).
func Account(id string) (account string, ok bool) {
	if len(id) > maxIDLen {
		return "", false
	}
	account, random, found := strings.Cut(id, ".")
	if !found || account == "" || len(account) > maxAccountLen || len(random) != randomLen || !strings.HasPrefix(random, "k_") {
		return "", false
	}
	for i := 0; i < len(account); i++ {
		c := account[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return "", false
		}
	}
	for i := 2; i < len(random); i++ {
		c := random[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", false
		}
	}
	return account, true
}

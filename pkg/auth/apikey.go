package auth

import (
	"context"
	"errors"
	"strings"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/authz"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/onetime"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// API keys authenticate the host app's backend. A key is
//
//	stk_<id>_<secret>
//
// where id is "<account>.k_<20 hex>" (the account in the id lets one
// BatchGetItem read the key and the account's roles) and secret is a
// onetime token (256 random bits, 43 base64url characters). Only the
// secret's SHA-256 is stored. The package that issues keys (apikeys) and
// this one share the format through NewAPIKeyID, FormatAPIKey and
// ParseAPIKey; authentication lives here because every authenticated route
// needs it.

// APIKeyPrefix starts every API key, so that a bearer token is told apart
// from an access token (a JWT) by its first characters.
const APIKeyPrefix = "stk_"

// APIKeyActorPrefix starts the member id (and so the audit actor id) of an
// API key's principal: "apikey:<id>".
const APIKeyActorPrefix = "apikey:"

// Lengths of the parts of an API key.
const (
	maxAPIKeyAccountLen = 64
	apiKeyRandomLen     = len("k_") + 20
	maxAPIKeyIDLen      = maxAPIKeyAccountLen + 1 + apiKeyRandomLen
	// MaxAPIKeyLen bounds an API key; longer bearer tokens are refused
	// without parsing.
	MaxAPIKeyLen = len(APIKeyPrefix) + maxAPIKeyIDLen + 1 + onetime.TokenLen
)

// ErrMalformedAPIKey: a token that cannot be an API key Steward issued. It
// says nothing about whether a key with that id exists.
var ErrMalformedAPIKey = errors.New("auth: malformed API key")

// NewAPIKeyID returns a new API key id in account.
func NewAPIKeyID(account string) string { return account + "." + store.NewID("k") }

// FormatAPIKey returns the key a client presents: "stk_<id>_<secret>".
func FormatAPIKey(id, secret string) string { return APIKeyPrefix + id + "_" + secret }

// ParseAPIKey splits an API key into its account, its id and the hash of
// its secret (to compare, with onetime.Equal, with the stored hash). It
// returns ErrMalformedAPIKey, without hashing, unless token is exactly
// "stk_", a well-formed id, '_' and a well-formed secret.
func ParseAPIKey(token string) (account, id, secretHash string, err error) {
	if len(token) > MaxAPIKeyLen || len(token) < len(APIKeyPrefix)+1+onetime.TokenLen+1 || !strings.HasPrefix(token, APIKeyPrefix) {
		return "", "", "", ErrMalformedAPIKey
	}
	// The secret is the last TokenLen characters (it may contain '_').
	cut := len(token) - onetime.TokenLen - 1
	if token[cut] != '_' {
		return "", "", "", ErrMalformedAPIKey
	}
	id = token[len(APIKeyPrefix):cut]
	account, ok := APIKeyAccount(id)
	if !ok {
		return "", "", "", ErrMalformedAPIKey
	}
	secretHash, err = onetime.Hash(token[cut+1:])
	if err != nil {
		return "", "", "", ErrMalformedAPIKey
	}
	return account, id, secretHash, nil
}

// APIKeyAccount returns the account of a well-formed API key id; ok is
// false for anything else (use it to refuse ids from a URL cheaply).
func APIKeyAccount(id string) (account string, ok bool) {
	if len(id) > maxAPIKeyIDLen {
		return "", false
	}
	account, random, found := strings.Cut(id, ".")
	if !found || account == "" || len(account) > maxAPIKeyAccountLen || len(random) != apiKeyRandomLen || !strings.HasPrefix(random, "k_") {
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

// APIKeyInfo names the API key a principal authenticated with.
type APIKeyInfo struct {
	ID   string
	Name string
}

var (
	errAPIKeyRevoked = unauthenticated("api_key_revoked", "The API key was revoked.")
	errAPIKeyInvalid = unauthenticated("api_key_invalid", "The API key's permissions are no longer valid; create a new key.")
	// ErrNotAMember answers routes that only a person may call (their own
	// profile, signing out, logging in as someone) when an API key calls.
	ErrNotAMember = fault.New(fault.Forbidden, "not_a_member", "An API key is not a member of the account; this route needs a signed-in person.")
)

// authenticateKey authenticates an API key: the key and the account's
// custom roles in one strongly consistent BatchGetItem, the secret's hash
// compared in constant time, revoked keys refused. The principal is a
// synthetic active member, "apikey:<id>", holding exactly the key's
// permissions at the key's scopes.
func (s *Service) authenticateKey(ctx context.Context, token string) (*Principal, error) {
	errInvalid := unauthenticated("token_invalid", "The access token is not valid or has expired.")
	account, id, hash, err := ParseAPIKey(token)
	if err != nil {
		return nil, errInvalid
	}
	st, err := s.Store.LoadAPIKeyAuth(ctx, account, id)
	switch {
	case errors.Is(err, store.ErrAPIKeyNotFound):
		return nil, errInvalid
	case err != nil:
		return nil, err
	}
	key := st.Key
	// The secret first: without it, nobody learns whether a key id exists
	// or was revoked.
	if !onetime.Equal(key.SecretHash, hash) || key.AccountID != account {
		return nil, errInvalid
	}
	if !key.RevokedAt.IsZero() {
		return nil, errAPIKeyRevoked
	}
	p, err := s.keyPrincipal(ctx, st)
	if err != nil {
		return nil, err
	}
	if err := s.checkKeyCreator(ctx, key, p); err != nil {
		return nil, err
	}
	now := s.Now.Now()
	if now.Sub(key.LastUsedAt) >= store.APIKeyTouchInterval {
		// At most one write a minute per key; a lost race or a failure
		// costs only the timestamp, never the request.
		if err := s.Store.TouchAPIKey(ctx, account, id, now); err != nil {
			httpapi.Logger(ctx).Warn("record API key use", "apiKey", id, "error", err.Error())
		}
	}
	return p, nil
}

// keyPrincipal is the principal of a key as loaded: a synthetic active
// member, "apikey:<id>", holding exactly the key's permissions at the
// key's scopes (status deleted when the key is revoked).
func (s *Service) keyPrincipal(ctx context.Context, st store.APIKeyAuth) (*Principal, error) {
	key := st.Key
	base, err := s.roleSets.Get(key.AccountID, st.Roles.Version, st.Roles.Roles)
	if err != nil {
		return nil, err
	}
	rs, err := base.WithAPIKey(key.Permissions)
	if err != nil {
		// The catalogue changed under a stored key: fail closed.
		httpapi.Logger(ctx).Warn("API key permissions no longer valid", "apiKey", key.ID, "error", err.Error())
		return nil, errAPIKeyInvalid
	}
	m := team.Member{
		ID: APIKeyActorPrefix + key.ID, AccountID: key.AccountID, Name: key.Name, Status: authz.StatusActive,
		Version: key.Version, CreatedAt: key.CreatedAt, UpdatedAt: key.CreatedAt,
	}
	if !key.RevokedAt.IsZero() {
		m.Status = authz.StatusDeleted
	}
	for _, sc := range key.Scopes {
		m.Assignments = append(m.Assignments, authz.Assignment{Role: authz.APIKeyRole, Scope: sc})
	}
	return &Principal{
		Member: m, APIKey: &APIKeyInfo{ID: key.ID, Name: key.Name},
		Roles: rs, Authz: rs.Compile(m.Authz()),
	}, nil
}

// checkKeyCreator is the rule "a key never exceeds its creator's current
// rights": the key works only while the member who created it is active
// and holds every permission of the key at every scope of the key (what
// creating it required). Otherwise the key is revoked at its first use
// since, by "system", with an apikey.revoke event saying why, and the
// request is refused like any revoked key's (401 api_key_revoked). It
// costs one strongly consistent GetItem per request made with a key (the
// creator's member item: its id is in the key item, so it cannot join the
// key's BatchGetItem).
func (s *Service) checkKeyCreator(ctx context.Context, key store.APIKey, p *Principal) error {
	reason := ""
	creator, err := s.Store.GetMember(ctx, key.AccountID, key.CreatedByID)
	switch {
	case errors.Is(err, team.ErrMemberNotFound):
		reason = "creator_gone"
	case err != nil:
		return err
	default:
		// The creator compiled with the account's roles (p.Roles is them
		// plus the key's synthetic role, which no member holds).
		c := p.Roles.Compile(creator.Authz())
		if creator.Status != authz.StatusActive {
			reason = "creator_" + string(creator.Status)
		}
		for _, sc := range key.Scopes {
			for _, k := range key.Permissions {
				if reason == "" && !c.Holds(k, sc) {
					reason = "creator_rights"
				}
			}
		}
	}
	if reason == "" {
		return nil
	}
	now := s.Now.Now().UTC()
	ev := audit.Event{
		AccountID: key.AccountID, ActorID: "system", ActorName: "Steward", Action: "apikey.revoke",
		TargetType: "apikey", TargetID: key.ID, RequestID: httpapi.RequestID(ctx),
		After: audit.Snapshot(map[string]any{"revokedAt": now, "reason": reason, "createdBy": key.CreatedByID}),
	}
	if err := s.Store.RevokeAPIKey(ctx, key.AccountID, key.ID, now, "system", ev); err != nil && !errors.Is(err, store.ErrAPIKeyRevoked) {
		return err
	}
	httpapi.Logger(ctx).Info("API key revoked: beyond its creator's rights", "apiKey", key.ID, "reason", reason)
	return errAPIKeyRevoked
}

// PrincipalOf loads the member memberID of account (or the API key
// "apikey:<id>") fresh, with the account's roles, as authentication would
// but without a session: to re-check, later, the rights of whoever made a
// change (an invitation's inviter when it is accepted). A member or key
// that does not exist is team.ErrMemberNotFound; a revoked key (or one
// revoked now for exceeding its creator's rights) is a principal with
// status deleted.
func (s *Service) PrincipalOf(ctx context.Context, account, memberID string) (*Principal, error) {
	if id, ok := strings.CutPrefix(memberID, APIKeyActorPrefix); ok {
		st, err := s.Store.LoadAPIKeyAuth(ctx, account, id)
		if errors.Is(err, store.ErrAPIKeyNotFound) {
			return nil, team.ErrMemberNotFound
		}
		if err != nil {
			return nil, err
		}
		p, err := s.keyPrincipal(ctx, st)
		if err != nil || !st.Key.RevokedAt.IsZero() {
			return p, err
		}
		// A key beyond its creator's rights is revoked here too.
		switch err := s.checkKeyCreator(ctx, st.Key, p); {
		case errors.Is(err, errAPIKeyRevoked):
			p.Member.Status = authz.StatusDeleted
			p.Authz = p.Roles.Compile(p.Member.Authz())
		case err != nil:
			return nil, err
		}
		return p, nil
	}
	lm, err := s.Store.LoadMembers(ctx, account, []string{memberID})
	if err != nil {
		return nil, err
	}
	m, ok := lm.Members[memberID]
	if !ok {
		return nil, team.ErrMemberNotFound
	}
	rs, err := s.roleSets.Get(account, lm.Roles.Version, lm.Roles.Roles)
	if err != nil {
		return nil, err
	}
	return &Principal{Member: m, Roles: rs, Authz: rs.Compile(m.Authz())}, nil
}

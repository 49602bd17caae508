package apikey

import (
	"context"
	"errors"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/clock"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/onetime"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// Errors of a presented key. An unknown key and a wrong secret are the
// same error as an invalid access token.
var (
	ErrInvalid = fault.New(fault.Unauthenticated, "token_invalid", "The access token is not valid or has expired.")
	ErrRevoked = fault.New(fault.Unauthenticated, "api_key_revoked", "The API key was revoked.")
	// ErrPermissionsInvalid: the catalogue changed under a stored key.
	ErrPermissionsInvalid = fault.New(fault.Unauthenticated, "api_key_invalid", "The API key's permissions are no longer valid; create a new key.")
	// ErrNotAMember answers routes that only a person may call (their own
	// profile, signing out, logging in as someone) when an API key calls.
	ErrNotAMember = fault.New(fault.Forbidden, "not_a_member", "An API key is not a member of the account; this route needs a signed-in person.")
)

// Info names the API key a principal authenticated with.
type Info struct {
	ID   string
	Name string
}

// Identity is what a key acts as: its synthetic member (see Member) and
// the account's roles plus the key's synthetic role (see RoleSet).
type Identity struct {
	Key    Info
	Member team.Member
	Roles  *rbac.RoleSet
}

// Keys verifies presented keys against the store.
type Keys struct {
	Store *store.Store
	Now   clock.Clock
	// Roles caches the accounts' compiled role sets (shared with the
	// authentication of members).
	Roles *rbac.RoleSetCache
}

// Authenticate verifies a presented key: the key and the account's custom
// roles in one strongly consistent BatchGetItem, the secret's hash
// compared in constant time, revoked keys refused (ErrRevoked), and a key
// beyond its creator's rights revoked now (see checkCreator). An unknown
// key or a wrong secret is ErrInvalid. The key's last use is recorded at
// most once per store.APIKeyTouchInterval.
func (k Keys) Authenticate(ctx context.Context, token string) (Identity, error) {
	account, id, hash, err := Parse(token)
	if err != nil {
		return Identity{}, ErrInvalid
	}
	st, err := k.Store.LoadAPIKeyAuth(ctx, account, id)
	switch {
	case errors.Is(err, store.ErrAPIKeyNotFound):
		return Identity{}, ErrInvalid
	case err != nil:
		return Identity{}, err
	}
	key := st.Key
	// The secret first: without it, nobody learns whether a key id exists
	// or was revoked.
	if !onetime.Equal(key.SecretHash, hash) || key.AccountID != account {
		return Identity{}, ErrInvalid
	}
	if !key.RevokedAt.IsZero() {
		return Identity{}, ErrRevoked
	}
	ident, err := k.identity(ctx, st)
	if err != nil {
		return Identity{}, err
	}
	if err := k.checkCreator(ctx, key, ident.Roles); err != nil {
		return Identity{}, err
	}
	now := k.Now.Now()
	if now.Sub(key.LastUsedAt) >= store.APIKeyTouchInterval {
		// At most one write a minute per key; a lost race or a failure
		// costs only the timestamp, never the request.
		if err := k.Store.TouchAPIKey(ctx, account, id, now); err != nil {
			httpapi.Logger(ctx).Warn("record API key use", "apiKey", id, "error", err.Error())
		}
	}
	return ident, nil
}

// Load reads key id of account fresh, as Authenticate would but without
// its secret: to re-check, later, the rights of a change the key made (an
// invitation it sent). A key that does not exist is
// store.ErrAPIKeyNotFound; a revoked key (or one revoked now for exceeding
// its creator's rights) acts as a member with status deleted.
func (k Keys) Load(ctx context.Context, account, id string) (Identity, error) {
	st, err := k.Store.LoadAPIKeyAuth(ctx, account, id)
	if err != nil {
		return Identity{}, err
	}
	ident, err := k.identity(ctx, st)
	if err != nil || !st.Key.RevokedAt.IsZero() {
		return ident, err
	}
	// A key beyond its creator's rights is revoked here too.
	switch err := k.checkCreator(ctx, st.Key, ident.Roles); {
	case errors.Is(err, ErrRevoked):
		ident.Member.Status = rbac.StatusDeleted
	case err != nil:
		return Identity{}, err
	}
	return ident, nil
}

// identity is the identity of a key as loaded.
func (k Keys) identity(ctx context.Context, st store.APIKeyAuth) (Identity, error) {
	key := st.Key
	base, err := k.Roles.Get(key.AccountID, st.Roles.Options, st.Roles.Version, st.Roles.Roles)
	if err != nil {
		return Identity{}, err
	}
	rs, err := RoleSet(base, key.Permissions)
	if err != nil {
		// The catalogue changed under a stored key: fail closed.
		httpapi.Logger(ctx).Warn("API key permissions no longer valid", "apiKey", key.ID, "error", err.Error())
		return Identity{}, ErrPermissionsInvalid
	}
	return Identity{Key: Info{ID: key.ID, Name: key.Name}, Member: Member(key), Roles: rs}, nil
}

// checkCreator is the rule "a key never exceeds its creator's current
// rights": the key works only while the member who created it is active
// and holds every permission of the key at every scope of the key (what
// creating it required). Otherwise the key is revoked at its first use
// since, by "system", with an apikey.revoke event saying why, and the
// request is refused like any revoked key's (ErrRevoked). It costs one
// strongly consistent GetItem per request made with a key (the creator's
// member item: its id is in the key item, so it cannot join the key's
// BatchGetItem). roles is the key's role set: the account's roles plus
// the key's synthetic role, which no member holds.
func (k Keys) checkCreator(ctx context.Context, key store.APIKey, roles *rbac.RoleSet) error {
	reason := ""
	creator, err := k.Store.GetMember(ctx, key.AccountID, key.CreatedByID)
	switch {
	case errors.Is(err, team.ErrMemberNotFound):
		reason = "creator_gone"
	case err != nil:
		return err
	default:
		c := roles.Compile(creator.Authz(k.Now.Now()))
		if creator.Status != rbac.StatusActive {
			reason = "creator_" + string(creator.Status)
		}
		for _, sc := range key.Scopes {
			for _, p := range key.Permissions {
				if reason == "" && !c.Holds(p, sc) {
					reason = "creator_rights"
				}
			}
		}
	}
	if reason == "" {
		return nil
	}
	now := k.Now.Now().UTC()
	ev := audit.Event{
		AccountID: key.AccountID, ActorID: "system", ActorName: "Steward", Action: "apikey.revoke",
		TargetType: "apikey", TargetID: key.ID, RequestID: httpapi.RequestID(ctx),
		After: audit.Snapshot(map[string]any{"revokedAt": now, "reason": reason, "createdBy": key.CreatedByID}),
	}
	if err := k.Store.RevokeAPIKey(ctx, key.AccountID, key.ID, now, "system", ev); err != nil && !errors.Is(err, store.ErrAPIKeyRevoked) {
		return err
	}
	httpapi.Logger(ctx).Info("API key revoked: beyond its creator's rights", "apiKey", key.ID, "reason", reason)
	return ErrRevoked
}

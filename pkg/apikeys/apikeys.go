// Package apikeys is the API keys of the host app's backend: creating,
// listing and revoking them. The backend is a principal too: with a key it
// registers documents, pushes stock levels and asks for decisions on behalf
// of its users. The key itself (its format, its verification, the member
// and role it acts as) is package apikey, beneath this one, which every
// authenticated function links to authenticate keys; this package, the
// management service, only the apikeys function links.
//
// Decisions:
//   - Only administrators manage keys (403 admin_only), and not from an
//     impersonated session (403 impersonation_forbidden). A key cannot
//     manage keys: it is never an administrator.
//   - A key is "stk_<id>_<secret>" (see apikey.Parse). The whole key is
//     in the create response only; Steward keeps the SHA-256 of the secret.
//     The list shows a non-secret prefix, "stk_<id>_", to match a key in
//     hand to its entry. POST /v1/api-keys takes no Idempotency-Key: a
//     replayed answer would have to store the secret.
//   - A key holds a permission set at one or more scopes (default
//     account), like a custom role assigned at those scopes: normal-tier
//     catalogue permissions only (critical and owner-only ones stay with
//     people), each with its dependencies in the same set (a key has one
//     set, so a missing dependency would make the permission useless). The
//     grant ceiling applies: the creating administrator must hold every
//     permission at every scope. Scopes are checked for form, not for the
//     existence of the store, department or supplier.
//   - A key acts as the member "apikey:<id>", so audit events record that
//     actor. Routes that need a person (GET /v1/me, sign-out, logging in as
//     someone) answer a key 403 not_a_member.
//   - A key never exceeds its creator's current rights: once the creating
//     member is not active or lacks a permission of the key at a scope of
//     the key, the key is revoked at its next use, with an event (see
//     apikey.Keys.Authenticate).
//   - Revoking is final and takes effect on the next request (401
//     api_key_revoked); revoked keys stay in the list. Last use is recorded
//     at most once a minute per key.
package apikeys

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/stewardhq/steward/pkg/apikeys/apikey"
	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/clock"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/onetime"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
)

// Service implements the API key routes.
type Service struct {
	Store *store.Store
	Now   clock.Clock
}

// Limits of one key.
const (
	MaxNameLen = 100
	MaxScopes  = 100
)

// Public errors.
var (
	errAdminOnly    = fault.New(fault.Forbidden, "admin_only", "Only administrators manage API keys.")
	errImpersonated = fault.New(fault.Forbidden, "impersonation_forbidden", "An impersonated session cannot manage API keys.")
	errNotFound     = fault.New(fault.NotFound, "not_found", "The API key does not exist.")
	errRevoked      = fault.New(fault.Conflict, "already_revoked", "The API key was revoked already.")
)

// guard lets only a signed-in administrator, acting as themself, manage
// keys.
func guard(p *auth.Principal) error {
	if p.Impersonated() {
		return errImpersonated
	}
	if p.IsAPIKey() || !p.Authz.IsAdmin() {
		return errAdminOnly
	}
	return nil
}

// CreateInput is POST /v1/api-keys.
type CreateInput struct {
	Name        string
	Permissions []string
	// Scopes in text form; nil means ["account"].
	Scopes []string
}

// Created is a new key and the key itself, "stk_<id>_<secret>", which is
// never available again.
type Created struct {
	Key    store.APIKey
	Secret string
}

// Create makes a key; the grant ceiling applies.
func (s *Service) Create(ctx context.Context, p *auth.Principal, in CreateInput) (Created, error) {
	if err := guard(p); err != nil {
		return Created{}, err
	}
	name, err := httpapi.CleanName("name", in.Name, MaxNameLen, true)
	if err != nil {
		return Created{}, err
	}
	perms, err := validatePermissions(in.Permissions)
	if err != nil {
		return Created{}, err
	}
	scopes, err := parseScopes(in.Scopes)
	if err != nil {
		return Created{}, err
	}
	for _, sc := range scopes {
		for _, k := range perms {
			if !p.Authz.Holds(k, sc) {
				return Created{}, auth.Forbidden(fmt.Errorf("%w: you do not hold %s at %s", rbac.ErrExceedsOwnRights, k, sc))
			}
		}
	}
	id := apikey.NewID(p.AccountID())
	secret, hash := onetime.New()
	k := store.APIKey{
		ID: id, AccountID: p.AccountID(), Name: name, SecretHash: hash, Permissions: perms, Scopes: scopes,
		CreatedAt: s.Now.Now().UTC(), CreatedByID: p.Member.ID, CreatedByName: p.Member.Name, Version: 1,
	}
	ev := p.Event(ctx, "apikey.create", "apikey", id)
	ev.After = audit.Snapshot(snapshot(k))
	if err := p.Acting(s.Store).CreateAPIKey(ctx, k, ev); err != nil {
		return Created{}, err
	}
	return Created{Key: k, Secret: apikey.Format(id, secret)}, nil
}

// List lists the account's keys, revoked ones included.
func (s *Service) List(ctx context.Context, p *auth.Principal, limit int, cursor string) (store.Page[store.APIKey], error) {
	if err := guard(p); err != nil {
		return store.Page[store.APIKey]{}, err
	}
	page, err := s.Store.ListAPIKeys(ctx, p.AccountID(), limit, cursor)
	return page, err
}

// Revoke stops a key working from the next request. Another account's key
// is not found.
func (s *Service) Revoke(ctx context.Context, p *auth.Principal, id string) error {
	if err := guard(p); err != nil {
		return err
	}
	if account, ok := apikey.Account(id); !ok || account != p.AccountID() {
		return errNotFound
	}
	k, err := s.Store.GetAPIKey(ctx, p.AccountID(), id)
	switch {
	case errors.Is(err, store.ErrAPIKeyNotFound):
		return errNotFound
	case err != nil:
		return err
	case !k.RevokedAt.IsZero():
		return errRevoked
	}
	ev := p.Event(ctx, "apikey.revoke", "apikey", id)
	ev.Before = audit.Snapshot(snapshot(k))
	switch err := p.Acting(s.Store).RevokeAPIKey(ctx, p.AccountID(), id, s.Now.Now().UTC(), p.Member.ID, ev); {
	case errors.Is(err, store.ErrAPIKeyNotFound):
		return errNotFound
	case errors.Is(err, store.ErrAPIKeyRevoked):
		return errRevoked
	default:
		return err
	}
}

// snapshot is a key as the audit log records it: never its secret hash.
func snapshot(k store.APIKey) map[string]any {
	scopes := make([]string, 0, len(k.Scopes))
	for _, sc := range k.Scopes {
		scopes = append(scopes, sc.String())
	}
	return map[string]any{"name": k.Name, "permissions": k.Permissions, "scopes": scopes}
}

// validatePermissions checks a key's permissions (see the package comment)
// and returns them in catalogue order.
func validatePermissions(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, httpapi.InvalidField("permissions", "give at least one permission")
	}
	catalogue := rbac.Permissions()
	if len(in) > len(catalogue) {
		return nil, httpapi.InvalidField("permissions", fmt.Sprintf("at most %d", len(catalogue)))
	}
	seen := make(map[string]bool, len(in))
	for i, k := range in {
		field := httpapi.Indexed("permissions", i)
		if err := rbac.ValidatePermissionKey(k); err != nil {
			return nil, httpapi.InvalidField(field, err.Error())
		}
		switch pm, _ := rbac.LookupPermission(k); pm.Tier {
		case rbac.TierNormal:
		case rbac.TierOwner:
			return nil, httpapi.InvalidField(field, k+" is held only by the account owner; an API key cannot have it")
		default:
			return nil, httpapi.InvalidField(field, k+" is held only by administrators; an API key cannot have it")
		}
		if seen[k] {
			return nil, httpapi.InvalidField(field, k+" is listed twice")
		}
		seen[k] = true
	}
	for i, k := range in {
		for _, d := range rbac.Dependencies(k) {
			if !seen[d] {
				return nil, httpapi.InvalidField(httpapi.Indexed("permissions", i), k+" is useless without "+d+"; add it too")
			}
		}
	}
	out := make([]string, 0, len(in))
	for _, pm := range catalogue {
		if seen[pm.Key] {
			out = append(out, pm.Key)
		}
	}
	if err := apikey.ValidatePermissions(out); err != nil {
		return nil, httpapi.InvalidField("permissions", err.Error())
	}
	return out, nil
}

// parseScopes parses a key's scopes; nil means the whole account.
func parseScopes(in []string) ([]rbac.Scope, error) {
	if in == nil {
		return []rbac.Scope{rbac.AccountScope}, nil
	}
	if len(in) == 0 {
		return nil, httpapi.InvalidField("scopes", "give at least one scope, or leave scopes out for the whole account")
	}
	if len(in) > MaxScopes {
		return nil, httpapi.InvalidField("scopes", fmt.Sprintf("at most %d", MaxScopes))
	}
	out := make([]rbac.Scope, 0, len(in))
	for i, text := range in {
		sc, err := rbac.ParseScope(text)
		if err != nil {
			return nil, httpapi.InvalidField(httpapi.Indexed("scopes", i), err.Error())
		}
		if slices.Contains(out, sc) {
			return nil, httpapi.InvalidField(httpapi.Indexed("scopes", i), text+" is listed twice")
		}
		out = append(out, sc)
	}
	if len(out) > 1 && slices.Contains(out, rbac.AccountScope) {
		return nil, httpapi.InvalidField("scopes", "account already covers every store, department and supplier; give it alone")
	}
	return out, nil
}

package auth

import (
	"time"

	"context"

	"github.com/stewardhq/steward/pkg/apikeys/apikey"
	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// Principal is who is calling an authenticated route: a member of one
// account, loaded fresh for this request, with the account's roles
// compiled for decisions. When an admin impersonates, Member is the member
// acted as and Impersonator the admin.
//
// When an API key calls, APIKey names it and Member is synthetic
// (apikey.Member): id "apikey:<key id>", the key's name, status active, no
// admin flag, and the role apikey.Role (exactly the key's permissions) at
// each of the key's scopes; Roles includes that role. SessionID is empty. Audit events
// then record "apikey:<key id>" as the actor.
type Principal struct {
	Member       team.Member
	Impersonator *team.Member
	SessionID    string
	Roles        *rbac.RoleSet
	Authz        *rbac.Principal
	// APIKey is set when the caller authenticated with an API key.
	APIKey *apikey.Info
	// At is the instant Authz was compiled at (the request's time): the
	// decisions of the request about anyone (the grant ceiling, checks of
	// other members) take their time-bound grants at At too
	// (team.Member.Authz(p.At)).
	At time.Time
}

// IsAPIKey reports whether the caller is an API key, not a person.
func (p *Principal) IsAPIKey() bool { return p.APIKey != nil }

// RequireMember refuses an API key (apikey.ErrNotAMember) on a route that only a
// signed-in person may call.
func (p *Principal) RequireMember() error {
	if p.IsAPIKey() {
		return apikey.ErrNotAMember
	}
	return nil
}

// AccountID is the principal's account.
func (p *Principal) AccountID() string { return p.Member.AccountID }

// Impersonated reports whether an admin is acting as this member.
func (p *Principal) Impersonated() bool { return p.Impersonator != nil }

// Decide answers whether the principal may do action on r.
func (p *Principal) Decide(action string, r rbac.Resource) rbac.Decision {
	return p.Authz.Decide(action, r)
}

// Event starts the audit event of a change the principal makes, with
// both identities when impersonating and the request id.
func (p *Principal) Event(ctx context.Context, action, targetType, targetID string) audit.Event {
	ev := audit.Event{
		AccountID: p.AccountID(), ActorID: p.Member.ID, ActorName: p.Member.Name, Action: action,
		TargetType: targetType, TargetID: targetID, RequestID: httpapi.RequestID(ctx),
	}
	if p.Impersonator != nil {
		ev.ImpersonatorID = p.Impersonator.ID
	}
	return ev
}

// Self is GET /v1/me: the caller, its account, and the administrator
// acting as it, if any.
type Self struct {
	Member       team.Member
	Account      team.Account
	Impersonator *team.Member
}

// Me answers GET /v1/me; an API key is not a member (403 not_a_member).
func (s *Service) Me(ctx context.Context, p *Principal) (Self, error) {
	if err := p.RequireMember(); err != nil {
		return Self{}, err
	}
	acct, err := s.Store.GetAccount(ctx, p.AccountID())
	if err != nil {
		return Self{}, err
	}
	return Self{Member: p.Member, Account: acct, Impersonator: p.Impersonator}, nil
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the request's principal; nil on a public route.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// ErrActorChanged answers a change whose actor (the calling member, or API
// key) changed between the request's checks and its commit: demoted,
// suspended, revoked, or simply edited. Nothing was written.
var ErrActorChanged = fault.New(fault.Conflict, "actor_changed",
	"Your own membership (or API key) changed while this request was being made; nothing was written. Retry.")

// Acting returns st bound to the principal as read by this request (see
// store.Acting): every change it commits requires the principal's member
// item (or API key) to be still at the version read and active, so that a
// write resting on the caller's rights fails with ErrActorChanged when those
// rights changed meanwhile.
func (p *Principal) Acting(st *store.Store) *store.Store {
	a := store.Actor{AccountID: p.AccountID(), Version: p.Member.Version, OnFail: ErrActorChanged}
	if p.APIKey != nil {
		a.APIKeyID = p.APIKey.ID
	} else {
		a.MemberID = p.Member.ID
	}
	return st.Acting(a)
}

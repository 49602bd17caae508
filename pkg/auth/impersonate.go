package auth

import (
	"context"
	"errors"

	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/team"
)

// Impersonate opens a session in which the calling admin acts as another
// member of the account, for at most an hour. An impersonated session
// cannot impersonate again, nor can an API key (403 not_a_member).
func (s *Service) Impersonate(ctx context.Context, p *Principal, targetID, requestID string) (Tokens, error) {
	target, err := s.impersonationTarget(ctx, p, targetID)
	if err != nil {
		return Tokens{}, err
	}
	actor := p.Member
	return s.openSession(ctx, target.IdentityID, target, &actor, ImpersonationTTL, requestID)
}

// impersonationTarget is the member p (a member, not impersonating) may
// act as: RoleSet.CheckImpersonation's rule, and a sign-in to act as.
// The API's impersonation and the portal's share it.
func (s *Service) impersonationTarget(ctx context.Context, p *Principal, targetID string) (team.Member, error) {
	if err := p.RequireMember(); err != nil {
		return team.Member{}, err
	}
	if p.Impersonated() {
		return team.Member{}, errImpersonated
	}
	target, err := s.Store.GetMember(ctx, p.AccountID(), targetID)
	if errors.Is(err, team.ErrMemberNotFound) {
		return team.Member{}, httpapi.ErrNotFound
	}
	if err != nil {
		return team.Member{}, err
	}
	if err := p.Roles.CheckImpersonation(p.Member.Authz(p.At), target.Authz(p.At)); err != nil {
		return team.Member{}, Forbidden(err)
	}
	if target.IdentityID == "" {
		return team.Member{}, fault.New(fault.Conflict, "no_identity", "This member has no sign-in to act as.")
	}
	return target, nil
}

// Forbidden turns a grant-ceiling error into a 403 problem that says why,
// with the error's stable code.
func Forbidden(err error) error {
	return fault.New(fault.Forbidden, rbac.ErrorCode(err), err.Error())
}

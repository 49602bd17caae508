// Package invites is inviting people by email: creating, listing,
// re-sending and revoking invitations, and the public lookup and accept
// that the invitee's link leads to.
//
// Decisions:
//   - An invitation creates the member at once, with status invited, so the
//     email is claimed in the account (inviting a member again answers 409)
//     and the grant ceiling is checked against the member as it will be.
//   - Except for an inactive member (created with POST /v1/users): the
//     invitation is for that member, which stays inactive until it is
//     accepted and then becomes active with the invitation's grants (its
//     own when the invitation names none); see inviteExisting.
//   - Accepting re-checks the grant ceiling against the inviter's current
//     rights: an invitation beyond them is revoked with an event (410
//     invitation_revoked); see checkInviter.
//   - Re-sending deletes the old token: the old link is simply unknown.
//   - No admin flag and no assignments means full access: full_access at
//     account scope, which the inviter must hold themselves.
//   - The link is {public URL}/invitations/accept?token=...; the host app
//     serves that page and calls lookup and accept. Re-sending makes a new
//     token and expiry, and the old link stops working.
//   - An email that already has a Steward identity (a member elsewhere)
//     joins with it after proving it: signed in as that identity, or with
//     its password (failures count like sign-in failures). Accepting
//     verifies the email and signs the person in.
package invites

import (
	"github.com/stewardhq/steward/pkg/views"

	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/clock"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/mail"
	"github.com/stewardhq/steward/pkg/members"
	"github.com/stewardhq/steward/pkg/onetime"
	"github.com/stewardhq/steward/pkg/password"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// Service implements the invitation flows.
type Service struct {
	Store     *store.Store
	Auth      *auth.Service
	Mail      *mail.Outbox
	PublicURL string
	Now       clock.Clock
}

// Public errors.
var (
	errAlreadyMember = fault.New(fault.Conflict, "already_member", "This email is already a member of the account.")
	errExpired       = fault.New(fault.Gone, "invitation_expired", "The invitation has expired. Ask for a new one.")
	errUsed          = fault.New(fault.Gone, "invitation_used", "The invitation was accepted already.")
	errRevoked       = fault.New(fault.Gone, "invitation_revoked", "The invitation was withdrawn.")
	errInvalid       = fault.New(fault.Gone, "invitation_invalid", "This link is no longer valid. Use the newest invitation email, or ask for a new one.")
	errNotFound      = fault.New(fault.NotFound, "not_found", "The invitation does not exist.")
	errNotPending    = fault.New(fault.Conflict, "invitation_not_pending", "Only a pending or expired invitation can be re-sent or revoked.")
	errProof         = fault.New(fault.Unauthenticated, "identity_proof_required", "This email already has a Steward sign-in: sign in as it, or give its password, to join.")
	errCannotInvite  = fault.New(fault.Forbidden, "cannot_invite", "You may not invite people to this account.")
	// errInvitationPending: an existing (inactive) member has a pending
	// invitation already, or changed while being invited.
	errInvitationPending = fault.New(fault.Conflict, "invitation_pending", "This member has a pending invitation (or changed meanwhile): re-send or revoke it, or read the member again.")
	errInviterChanged    = fault.New(fault.Conflict, "retry", "The invitation's sender changed meanwhile; try again.")
)

// CreateInput is POST /v1/invitations.
type CreateInput struct {
	Email       string
	Name        string
	Admin       bool
	Assignments []rbac.Assignment
}

// Create invites a person; the grant ceiling applies.
func (s *Service) Create(ctx context.Context, p *auth.Principal, in CreateInput) (team.Invitation, error) {
	if p.Impersonated() {
		return team.Invitation{}, fault.New(fault.Forbidden, "impersonation_forbidden", "An impersonated session cannot invite people.")
	}
	email, err := team.NormalizeEmail(in.Email)
	if err != nil {
		return team.Invitation{}, httpapi.InvalidField("email", err.Error())
	}
	name, err := httpapi.CleanName("name", in.Name, 120, false)
	if err != nil {
		return team.Invitation{}, err
	}
	assignments := in.Assignments
	if !in.Admin && len(assignments) == 0 {
		assignments = []rbac.Assignment{p.Roles.Preset().DefaultGrant}
	}
	if assignments, err = views.StampAssignments(nil, assignments, p.Member.ID, p.At); err != nil {
		return team.Invitation{}, err
	}
	for i, a := range assignments {
		if err := p.Roles.ValidateAssignment(a); err != nil {
			return team.Invitation{}, httpapi.InvalidField(httpapi.Indexed("assignments", i), err.Error())
		}
	}
	if err := members.CheckScopes(ctx, s.Store, p.AccountID(), assignments); err != nil {
		return team.Invitation{}, err
	}
	now := s.Now.Now()
	acct, err := s.Store.GetAccount(ctx, p.AccountID())
	if err != nil {
		return team.Invitation{}, err
	}
	member := team.Member{
		ID: store.NewID("m"), AccountID: acct.ID, Email: email, Name: name, Status: rbac.StatusInvited,
		Admin: in.Admin, Assignments: assignments, Version: 1, CreatedAt: now, UpdatedAt: now,
		Notifications: team.NotificationsFor(p.Roles.Preset()),
	}
	if !p.Authz.Holds(rbac.PermUsersManage, rbac.AccountScope) && !holdsUsersManageSomewhere(p) {
		return team.Invitation{}, errCannotInvite
	}
	if err := p.Roles.CheckChange(p.Member.Authz(p.At), rbac.Member{}, member.Authz(p.At)); err != nil {
		// The grants a new member would get are beyond the inviter; an
		// inactive member of that email is invited with its own grants
		// (when the invitation names none), checked on their own.
		if m, merr := s.Store.MemberByEmail(ctx, acct.ID, email); merr == nil && m.Status == rbac.StatusInactive {
			return s.inviteExisting(ctx, p, acct, in, email, name)
		}
		return team.Invitation{}, auth.Forbidden(err)
	}
	inv := team.Invitation{
		ID: store.NewID("inv"), AccountID: acct.ID, MemberID: member.ID, Email: email, Name: name,
		Admin: in.Admin, Assignments: assignments, InviterID: p.Member.ID, InviterName: p.Member.Name,
		Status: team.InvitationPending, ExpiresAt: now.Add(acct.Settings.InvitationTTL), CreatedAt: now, Version: 1,
	}
	tok, hash := onetime.New()
	t := store.Token{Hash: hash, Kind: store.TokenInvitation, AccountID: acct.ID, SubjectID: inv.ID, ExpiresAt: inv.ExpiresAt}
	ev := event(ctx, p, "invitation.create", inv.ID)
	ev.After = audit.Snapshot(invitationSnapshot(inv))
	if err := p.Acting(s.Store).CreateInvitation(ctx, inv, member, t, ev); err != nil {
		if errors.Is(err, team.ErrAlreadyMember) {
			// The email is a member already: an inactive one (e.g.
			// imported with POST /v1/users) is invited as itself.
			return s.inviteExisting(ctx, p, acct, in, email, name)
		}
		if errors.Is(err, store.ErrRoleGone) {
			return team.Invitation{}, members.ErrRoleGone
		}
		return team.Invitation{}, err
	}
	if err := s.send(ctx, acct, inv, tok, hash); err != nil {
		// Without its email the invitation is useless: undo it, so that
		// the client's retry creates it afresh instead of hitting 409.
		undo := event(ctx, p, "invitation.undo_unsent", inv.ID)
		if uerr := s.Store.UndoInvitation(context.WithoutCancel(ctx), inv, undo); uerr != nil {
			httpapi.Logger(ctx).Error("undo unsent invitation", "invitation", inv.ID, "error", uerr.Error())
		}
		return team.Invitation{}, fmt.Errorf("send invitation %s: %w", inv.ID, err)
	}
	return inv, nil
}

// inviteExisting invites the existing member with the email, which must be
// inactive (any other status answers 409 already_member) and without a
// pending invitation (409 invitation_pending). The invitation is for that
// member (same id, history kept); it stays inactive until the invitation
// is accepted, which makes it active with the invitation's grants. An
// invitation without admin and assignments keeps the member's own grants
// (full access when it has none). The grant ceiling applies to the member
// as it will be once active: the inviter must be able to manage it as
// stored and to grant every grant it will hold.
func (s *Service) inviteExisting(ctx context.Context, p *auth.Principal, acct team.Account, in CreateInput, email, name string) (team.Invitation, error) {
	m, err := s.Store.MemberByEmail(ctx, acct.ID, email)
	if errors.Is(err, team.ErrMemberNotFound) {
		return team.Invitation{}, fault.New(fault.Conflict, "retry", "This email changed meanwhile; try again.")
	}
	if err != nil {
		return team.Invitation{}, err
	}
	if m.Status != rbac.StatusInactive {
		return team.Invitation{}, errAlreadyMember
	}
	admin, assignments := in.Admin, in.Assignments
	if !admin && len(assignments) == 0 {
		admin, assignments = m.Admin, m.Assignments
	}
	if !admin && len(assignments) == 0 {
		assignments = []rbac.Assignment{p.Roles.Preset().DefaultGrant}
	}
	if name == "" {
		name = m.Name
	}
	assignments, err = views.StampAssignments(m.Assignments, assignments, p.Member.ID, p.At)
	if err != nil {
		return team.Invitation{}, err
	}
	after := m
	after.Admin, after.Assignments = admin, assignments
	asNew := after.Authz(p.At)
	asNew.Status = rbac.StatusInvited
	if err := p.Roles.CheckChange(p.Member.Authz(p.At), m.Authz(p.At), after.Authz(p.At)); err != nil {
		return team.Invitation{}, auth.Forbidden(err)
	}
	if err := p.Roles.CheckChange(p.Member.Authz(p.At), rbac.Member{}, asNew); err != nil {
		return team.Invitation{}, auth.Forbidden(err)
	}
	now := s.Now.Now()
	inv := team.Invitation{
		ID: store.NewID("inv"), AccountID: acct.ID, MemberID: m.ID, Email: email, Name: name,
		Admin: admin, Assignments: assignments, InviterID: p.Member.ID, InviterName: p.Member.Name,
		Status: team.InvitationPending, ExpiresAt: now.Add(acct.Settings.InvitationTTL), CreatedAt: now, Version: 1,
		ExistingMember: true,
	}
	tok, hash := onetime.New()
	t := store.Token{Hash: hash, Kind: store.TokenInvitation, AccountID: acct.ID, SubjectID: inv.ID, ExpiresAt: inv.ExpiresAt}
	ev := event(ctx, p, "invitation.create", inv.ID)
	ev.After = audit.Snapshot(invitationSnapshot(inv))
	if err := p.Acting(s.Store).CreateInvitationForMember(ctx, inv, m, t, ev); err != nil {
		if errors.Is(err, store.ErrMemberNotInvitable) {
			return team.Invitation{}, errInvitationPending
		}
		return team.Invitation{}, err
	}
	if err := s.send(ctx, acct, inv, tok, hash); err != nil {
		undo := event(ctx, p, "invitation.undo_unsent", inv.ID)
		if uerr := s.Store.UndoInvitation(context.WithoutCancel(ctx), inv, undo); uerr != nil {
			httpapi.Logger(ctx).Error("undo unsent invitation", "invitation", inv.ID, "error", uerr.Error())
		}
		return team.Invitation{}, fmt.Errorf("send invitation %s: %w", inv.ID, err)
	}
	return inv, nil
}

func holdsUsersManageSomewhere(p *auth.Principal) bool {
	for _, sp := range p.Authz.Effective() {
		for _, k := range sp.Permissions {
			if k == rbac.PermUsersManage {
				return true
			}
		}
	}
	return false
}

func (s *Service) send(ctx context.Context, acct team.Account, inv team.Invitation, tok, hash string) error {
	subject, text, html, err := mail.Render(mail.TemplateInvitation, mail.InvitationData{
		Name: inv.Name, AccountName: acct.Name, InviterName: inv.InviterName,
		Link: s.PublicURL + "/invitations/accept?token=" + tok, ExpiresAt: inv.ExpiresAt,
	})
	if err != nil {
		return err
	}
	_, _, err = s.Mail.Send(ctx, "invite:"+hash, mail.Message{To: []mail.Address{{Name: inv.Name, Email: inv.Email}}, Subject: subject, Text: text, HTML: html})
	return err
}

// load reads an invitation of the caller's account; another account's
// is not found.
func (s *Service) load(ctx context.Context, p *auth.Principal, id string) (team.Invitation, error) {
	inv, err := s.Store.GetInvitation(ctx, p.AccountID(), id)
	if errors.Is(err, store.ErrInvitationNotFound) {
		return team.Invitation{}, errNotFound
	}
	return inv, err
}

// mayManage checks the caller may manage the invited member (the same rule
// as changing that member's grants).
func mayManage(p *auth.Principal, inv team.Invitation) error {
	target := rbac.Member{ID: inv.MemberID, Account: inv.AccountID, Status: rbac.StatusInvited, Admin: inv.Admin, Assignments: inv.Assignments}
	removed := target
	removed.Status = rbac.StatusDeleted
	if err := p.Roles.CheckChange(p.Member.Authz(p.At), target, removed); err != nil {
		return auth.Forbidden(err)
	}
	return nil
}

// Resend gives an invitation a new link and expiry and emails it again,
// within the mail caps of the invitee and of the caller's address,
// sourceIP.
func (s *Service) Resend(ctx context.Context, p *auth.Principal, id, sourceIP string) (team.Invitation, error) {
	inv, err := s.load(ctx, p, id)
	if err != nil {
		return team.Invitation{}, err
	}
	if err := mayManage(p, inv); err != nil {
		return team.Invitation{}, err
	}
	if inv.Status != team.InvitationPending {
		return team.Invitation{}, errNotPending
	}
	if err := s.capResend(ctx, inv, sourceIP); err != nil {
		return team.Invitation{}, err
	}
	acct, err := s.Store.GetAccount(ctx, p.AccountID())
	if err != nil {
		return team.Invitation{}, err
	}
	tok, hash := onetime.New()
	expires := s.Now.Now().Add(acct.Settings.InvitationTTL)
	t := store.Token{Hash: hash, Kind: store.TokenInvitation, AccountID: acct.ID, SubjectID: inv.ID, ExpiresAt: expires}
	ev := event(ctx, p, "invitation.resend", inv.ID)
	ev.Before = audit.Snapshot(map[string]any{"expiresAt": inv.ExpiresAt})
	ev.After = audit.Snapshot(map[string]any{"expiresAt": expires})
	if err := p.Acting(s.Store).ResendInvitation(ctx, inv, t, ev); err != nil {
		if errors.Is(err, store.ErrInvitationNotPending) {
			return team.Invitation{}, errNotPending
		}
		return team.Invitation{}, err
	}
	inv.ExpiresAt, inv.Version = expires, inv.Version+1
	return inv, s.send(ctx, acct, inv, tok, hash)
}

// Revoke withdraws a pending invitation; its link stops working and its
// invited member goes.
func (s *Service) Revoke(ctx context.Context, p *auth.Principal, id string) error {
	inv, err := s.load(ctx, p, id)
	if err != nil {
		return err
	}
	if err := mayManage(p, inv); err != nil {
		return err
	}
	if inv.Status != team.InvitationPending {
		return errNotPending
	}
	ev := event(ctx, p, "invitation.revoke", inv.ID)
	ev.Before = audit.Snapshot(invitationSnapshot(inv))
	if err := p.Acting(s.Store).RevokeInvitation(ctx, inv, ev); err != nil {
		if errors.Is(err, store.ErrInvitationNotPending) || errors.Is(err, store.ErrMemberNotInvited) {
			return errNotPending
		}
		return err
	}
	return nil
}

// List lists the account's invitations; anyone who may view users may.
func (s *Service) List(ctx context.Context, p *auth.Principal, limit int, cursor string) (store.Page[team.Invitation], error) {
	if !p.Authz.Holds("users.view", rbac.AccountScope) && !holdsUsersManageSomewhere(p) {
		return store.Page[team.Invitation]{}, httpapi.ErrForbidden
	}
	page, err := s.Store.ListInvitations(ctx, p.AccountID(), limit, cursor)
	return page, err
}

// resolve finds the invitation of a token and checks it can be used.
func (s *Service) resolve(ctx context.Context, token string) (team.Invitation, string, error) {
	hash, err := onetime.Hash(token)
	if err != nil {
		return team.Invitation{}, "", errInvalid
	}
	t, err := s.Store.GetToken(ctx, hash)
	if err != nil || t.Kind != store.TokenInvitation {
		if err != nil && !errors.Is(err, store.ErrTokenInvalid) {
			return team.Invitation{}, "", err
		}
		return team.Invitation{}, "", errInvalid
	}
	inv, err := s.Store.GetInvitation(ctx, t.AccountID, t.SubjectID)
	if errors.Is(err, store.ErrInvitationNotFound) {
		return team.Invitation{}, "", errInvalid
	}
	if err != nil {
		return team.Invitation{}, "", err
	}
	switch inv.StatusAt(s.Now.Now()) {
	case team.InvitationAccepted:
		return team.Invitation{}, "", errUsed
	case team.InvitationRevoked:
		return team.Invitation{}, "", errRevoked
	case team.InvitationExpired:
		return team.Invitation{}, "", errExpired
	}
	if !t.UsedAt.IsZero() {
		return team.Invitation{}, "", errUsed
	}
	if !s.Now.Now().Before(t.ExpiresAt) {
		return team.Invitation{}, "", errInvalid
	}
	return inv, hash, nil
}

// Lookup is what the accept page shows.
type Lookup struct {
	Invitation  team.Invitation
	AccountName string
	// HasIdentity says the email already has a Steward sign-in, so the
	// page asks for its password instead of a new one.
	HasIdentity bool
}

// LookupToken answers the public lookup of an invitation link.
func (s *Service) LookupToken(ctx context.Context, token string) (Lookup, error) {
	if token == "" {
		return Lookup{}, httpapi.InvalidField("token", "is required")
	}
	inv, _, err := s.resolve(ctx, token)
	if err != nil {
		return Lookup{}, err
	}
	// An invitation its inviter could no longer make looks like what
	// accepting it will make it: revoked (the lookup itself writes
	// nothing).
	if _, err := s.checkInviter(ctx, inv, "", false); err != nil {
		return Lookup{}, err
	}
	acct, err := s.Store.GetAccount(ctx, inv.AccountID)
	if err != nil {
		return Lookup{}, err
	}
	_, err = s.Store.IdentityIDByEmail(ctx, inv.Email)
	if err != nil && !errors.Is(err, team.ErrIdentityNotFound) {
		return Lookup{}, err
	}
	return Lookup{Invitation: inv, AccountName: acct.Name, HasIdentity: err == nil}, nil
}

// AcceptInput is POST /v1/invitations/accept.
type AcceptInput struct {
	Token    string
	Name     string
	Password string
	// Authorization is the request's Authorization header value: a
	// signed-in caller (empty for none) may join with its own sign-in.
	Authorization string
	SourceIP      string
	RequestID     string
}

// Accepted is the result of an accept: the active member and a session.
type Accepted struct {
	Member team.Member
	Tokens auth.Tokens
}

// Accept joins the invitee to the account.
func (s *Service) Accept(ctx context.Context, in AcceptInput) (Accepted, error) {
	if in.Token == "" {
		return Accepted{}, httpapi.InvalidField("token", "is required")
	}
	caller, err := s.Auth.OptionalBearer(ctx, in.Authorization)
	if err != nil {
		return Accepted{}, err
	}
	inv, hash, err := s.resolve(ctx, in.Token)
	if err != nil {
		return Accepted{}, err
	}
	name := inv.Name
	if in.Name != "" {
		if name, err = httpapi.CleanName("name", in.Name, 120, false); err != nil {
			return Accepted{}, err
		}
	}
	inviter, err := s.checkInviter(ctx, inv, in.RequestID, true)
	if err != nil {
		return Accepted{}, err
	}
	now := s.Now.Now()
	acc := store.Acceptance{Invitation: inv, TokenHash: hash, Now: now}
	switch id, err := s.Store.IdentityIDByEmail(ctx, inv.Email); {
	case err == nil:
		ident, err := s.Store.GetIdentity(ctx, id)
		if err != nil {
			return Accepted{}, err
		}
		if err := s.prove(ctx, ident, caller, in); err != nil {
			return Accepted{}, err
		}
		acc.Identity = ident
	case errors.Is(err, team.ErrIdentityNotFound):
		if in.Password == "" {
			return Accepted{}, httpapi.InvalidField("password", "is required to create your sign-in")
		}
		if err := password.Validate(in.Password, inv.Email); err != nil {
			return Accepted{}, httpapi.InvalidField("password", err.Error())
		}
		ph, err := password.Hash(in.Password, password.DefaultParams)
		if err != nil {
			return Accepted{}, err
		}
		acc.Identity = team.Identity{ID: store.NewID("i"), Email: inv.Email, PasswordHash: ph, EmailVerified: true, CreatedAt: now, UpdatedAt: now, Version: 1}
		acc.NewIdentity = true
	default:
		return Accepted{}, err
	}
	if name == "" && caller != nil {
		name = caller.Member.Name
	}
	if name == "" && !acc.NewIdentity {
		name = inv.Email[:strings.IndexByte(inv.Email, '@')]
	}
	if name == "" {
		return Accepted{}, httpapi.InvalidField("name", "is required")
	}
	acc.Name = name
	ev := audit.Event{
		AccountID: inv.AccountID, ActorID: inv.MemberID, ActorName: name, Action: "invitation.accept",
		TargetType: "member", TargetID: inv.MemberID, RequestID: in.RequestID,
		After: audit.Snapshot(map[string]any{"status": rbac.StatusActive, "identity": acc.Identity.ID}),
	}
	// The inviter must still be as checked when the acceptance commits.
	if err := s.Store.Acting(inviter).AcceptInvitation(ctx, acc, ev); err != nil {
		switch {
		case errors.Is(err, store.ErrRoleGone):
			return Accepted{}, members.ErrRoleGone
		case errors.Is(err, store.ErrTokenInvalid), errors.Is(err, store.ErrInvitationNotPending), errors.Is(err, store.ErrMemberNotInvited):
			// Lost a race with another accept (or a revoke): say which.
			if _, _, rerr := s.resolve(ctx, in.Token); rerr != nil {
				return Accepted{}, rerr
			}
			return Accepted{}, errUsed
		case errors.Is(err, team.ErrEmailTaken):
			return Accepted{}, fault.New(fault.Conflict, "retry", "This email got a sign-in meanwhile; try again.")
		}
		return Accepted{}, err
	}
	member, err := s.Store.GetMember(ctx, inv.AccountID, inv.MemberID)
	if err != nil {
		return Accepted{}, err
	}
	tokens, err := s.Auth.OpenSession(ctx, acc.Identity.ID, member, in.RequestID)
	if err != nil {
		return Accepted{}, err
	}
	return Accepted{Member: member, Tokens: tokens}, nil
}

// checkInviter re-checks, at acceptance, the grant ceiling of the
// invitation against its inviter's rights now: an invitation whose grants
// exceed them (the inviter was demoted, suspended, deleted, or lost a
// role's permissions; an API key inviter was revoked) is revoked, by
// "system" with an invitation.revoke event giving the reason, and the
// accept answers 410 invitation_revoked. Otherwise it returns the inviter
// as read, for the acceptance to require it unchanged at commit. With
// revoke false (the lookup) it only answers.
func (s *Service) checkInviter(ctx context.Context, inv team.Invitation, requestID string, revoke bool) (store.Actor, error) {
	actor := store.Actor{AccountID: inv.AccountID, OnFail: errInviterChanged}
	target := rbac.Member{ID: inv.MemberID, Account: inv.AccountID, Status: rbac.StatusInvited, Admin: inv.Admin, Assignments: inv.Assignments}
	var reason string
	p, err := s.Auth.PrincipalOf(ctx, inv.AccountID, inv.InviterID)
	switch {
	case errors.Is(err, team.ErrMemberNotFound):
		reason = "inviter_gone"
	case err != nil:
		return actor, err
	default:
		if cerr := p.Roles.CheckChange(p.Member.Authz(p.At), rbac.Member{}, target); cerr != nil {
			reason = "inviter_rights: " + cerr.Error()
		}
	}
	if reason == "" {
		actor.Version = p.Member.Version
		if p.APIKey != nil {
			actor.APIKeyID = p.APIKey.ID
		} else {
			actor.MemberID = p.Member.ID
		}
		return actor, nil
	}
	if !revoke {
		return actor, errRevoked
	}
	ev := audit.Event{
		AccountID: inv.AccountID, ActorID: "system", ActorName: "Steward", Action: "invitation.revoke",
		TargetType: "invitation", TargetID: inv.ID, RequestID: requestID,
		Before: audit.Snapshot(invitationSnapshot(inv)),
		After:  audit.Snapshot(map[string]any{"status": team.InvitationRevoked, "reason": reason}),
	}
	if err := s.Store.RevokeInvitation(ctx, inv, ev); err != nil && !errors.Is(err, store.ErrInvitationNotPending) && !errors.Is(err, store.ErrMemberNotInvited) {
		return actor, err
	}
	httpapi.Logger(ctx).Info("invitation revoked at acceptance: beyond its inviter's rights", "invitation", inv.ID, "reason", reason)
	return actor, errRevoked
}

// prove checks the caller owns an existing identity: signed in as it, or
// with its password (rate-limited like sign-in).
func (s *Service) prove(ctx context.Context, ident team.Identity, caller *auth.Principal, in AcceptInput) error {
	if caller != nil && caller.Member.IdentityID == ident.ID && !caller.Impersonated() {
		return nil
	}
	if in.Password == "" {
		return errProof
	}
	return s.Auth.CheckPassword(ctx, ident, in.Password, in.SourceIP)
}

func event(ctx context.Context, p *auth.Principal, action, invitationID string) audit.Event {
	return p.Event(ctx, action, "invitation", invitationID)
}

func invitationSnapshot(inv team.Invitation) map[string]any {
	as := make([]string, 0, len(inv.Assignments))
	for _, a := range inv.Assignments {
		as = append(as, a.String())
	}
	return map[string]any{"memberId": inv.MemberID, "email": inv.Email, "name": inv.Name, "admin": inv.Admin, "assignments": as, "expiresAt": inv.ExpiresAt, "status": inv.Status}
}

package approvals

import (
	"context"
	"errors"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/documents"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// MaxDelegationAhead is how far ahead a delegation may end: its until is
// at most 90 days after it is set.
const MaxDelegationAhead = 90 * 24 * time.Hour

// Delegation errors.
var (
	errNoDelegation        = fault.New(fault.NotFound, "delegation_not_found", "You have no delegation.")
	errDelegationChanged   = fault.New(fault.Conflict, "delegation_changed", "Your delegation changed meanwhile; read it again and retry.")
	errSelfDelegation      = fault.New(fault.Unprocessable, "self_delegation", "You cannot delegate to yourself.")
	errUnknownDelegate     = fault.New(fault.Unprocessable, "unknown_delegate", "The delegate is not a member of this account.")
	errDelegateNotActive   = fault.New(fault.Unprocessable, "delegate_not_active", "The delegate must be an active member of this account.")
	errDelegationWindow    = fault.New(fault.Unprocessable, "invalid_delegation_window", "until must be after from, and after now.")
	errDelegationTooLong   = fault.New(fault.Unprocessable, "delegation_too_long", "A delegation ends at most 90 days from now.")
	errNotDelegate         = fault.New(fault.Forbidden, "not_a_delegate", "You do not stand in for that member now.")
	errDelegateIsRequester = fault.New(fault.Forbidden, "delegate_is_requester", "You requested this approval: you cannot decide it on anyone's behalf.")
	errDelegationLost      = fault.New(fault.Conflict, "on_behalf_changed", "The delegation or the member you act for changed meanwhile; read the request again.")
)

// DelegationInput is the body of PUT /v1/me/delegation.
type DelegationInput struct {
	DelegateID  string
	From, Until time.Time
	Note        string
}

// GetMyDelegation reads the caller's delegation, active or not (404
// delegation_not_found when none is stored; an ended one is swept some
// time after its end).
func (s *Service) GetMyDelegation(ctx context.Context, p *auth.Principal) (team.Delegation, error) {
	if err := p.RequireMember(); err != nil {
		return team.Delegation{}, err
	}
	d, err := s.Store.GetDelegation(ctx, p.AccountID(), p.Member.ID)
	if errors.Is(err, team.ErrDelegationNotFound) {
		return d, errNoDelegation
	}
	return d, err
}

// PutMyDelegation sets (or replaces) the caller's delegation. The delegate
// is another active member of the caller's account (422 self_delegation,
// unknown_delegate, delegate_not_active); until is after from and after
// now, and at most MaxDelegationAhead from now (422
// invalid_delegation_window, delegation_too_long). Nothing more is
// checked: the delegate decides with the member's authority, which is
// checked when they decide, so nobody delegates more than they hold.
func (s *Service) PutMyDelegation(ctx context.Context, p *auth.Principal, in DelegationInput) (team.Delegation, bool, error) {
	if err := p.RequireMember(); err != nil {
		return team.Delegation{}, false, err
	}
	if in.DelegateID == "" {
		return team.Delegation{}, false, fault.InvalidField("delegateId", "is required")
	}
	if len(in.DelegateID) > 80 {
		return team.Delegation{}, false, errUnknownDelegate
	}
	if in.From.IsZero() {
		return team.Delegation{}, false, fault.InvalidField("from", "is required")
	}
	if in.Until.IsZero() {
		return team.Delegation{}, false, fault.InvalidField("until", "is required")
	}
	note, err := cleanText("note", in.Note, 500)
	if err != nil {
		return team.Delegation{}, false, err
	}
	if in.DelegateID == p.Member.ID {
		return team.Delegation{}, false, errSelfDelegation
	}
	now := s.Now.Now()
	if !in.Until.After(in.From) || !in.Until.After(now) {
		return team.Delegation{}, false, errDelegationWindow
	}
	if in.Until.After(now.Add(MaxDelegationAhead)) {
		return team.Delegation{}, false, errDelegationTooLong
	}
	m, err := s.Store.GetMember(ctx, p.AccountID(), in.DelegateID)
	switch {
	case errors.Is(err, team.ErrMemberNotFound), err == nil && m.Status == rbac.StatusDeleted:
		return team.Delegation{}, false, errUnknownDelegate
	case err != nil:
		return team.Delegation{}, false, err
	case m.Status != rbac.StatusActive:
		return team.Delegation{}, false, errDelegateNotActive
	}
	var prev *team.Delegation
	cur, err := s.Store.GetDelegation(ctx, p.AccountID(), p.Member.ID)
	switch {
	case err == nil:
		prev = &cur
	case !errors.Is(err, team.ErrDelegationNotFound):
		return team.Delegation{}, false, err
	}
	d := team.Delegation{
		AccountID: p.AccountID(), MemberID: p.Member.ID, DelegateID: m.ID, From: in.From.UTC(), Until: in.Until.UTC(),
		Note: note, Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	ev := p.Event(ctx, "delegation.put", "delegation", p.Member.ID)
	if prev != nil {
		d.Version, d.CreatedAt = prev.Version+1, prev.CreatedAt
		ev.Before = audit.Snapshot(delegationSnapshot(*prev, ""))
	}
	ev.After = audit.Snapshot(delegationSnapshot(d, m.Name))
	switch err := p.Acting(s.Store).PutDelegation(ctx, d, prev, ev); {
	case errors.Is(err, team.ErrDelegateNotActive):
		return team.Delegation{}, false, errDelegateNotActive
	case errors.Is(err, team.ErrDelegationChanged):
		return team.Delegation{}, false, errDelegationChanged
	case err != nil:
		return team.Delegation{}, false, err
	}
	return d, prev == nil, nil
}

// DeleteMyDelegation removes the caller's delegation (404 when none).
func (s *Service) DeleteMyDelegation(ctx context.Context, p *auth.Principal) error {
	d, err := s.GetMyDelegation(ctx, p)
	if err != nil {
		return err
	}
	ev := p.Event(ctx, "delegation.delete", "delegation", p.Member.ID)
	ev.Before = audit.Snapshot(delegationSnapshot(d, ""))
	switch err := p.Acting(s.Store).DeleteDelegation(ctx, d, ev); {
	case errors.Is(err, team.ErrDelegationChanged):
		return errDelegationChanged
	case err != nil:
		return err
	}
	return nil
}

// delegationSnapshot is a delegation's audit snapshot (the source of the
// delegation.set and delegation.removed events).
func delegationSnapshot(d team.Delegation, delegateName string) map[string]any {
	m := map[string]any{"memberId": d.MemberID, "delegateId": d.DelegateID, "from": d.From.UTC(), "until": d.Until.UTC()}
	if d.Note != "" {
		m["note"] = d.Note
	}
	if delegateName != "" {
		m["delegateName"] = delegateName
	}
	return m
}

// delegateOf is the member who stands in for member at now (see
// store.ActiveDelegate), or ok false.
func (s *Service) delegateOf(ctx context.Context, account, member string, now time.Time) (team.Member, bool, error) {
	id, ok, err := s.Store.ActiveDelegate(ctx, account, member, now)
	if err != nil || !ok {
		return team.Member{}, false, err
	}
	m, err := s.Store.GetMember(ctx, account, id)
	if errors.Is(err, team.ErrMemberNotFound) {
		return team.Member{}, false, nil
	}
	if err != nil {
		return team.Member{}, false, err
	}
	return m, m.Status == rbac.StatusActive, nil
}

// onBehalfCheck checks that delegate may decide at level of r on behalf
// of member now: the member's delegation names the delegate and is
// active, the delegate did not request r, and the member may still
// approve at the level (the member's authority, read now). It returns the
// member and the delegation the vote rests on.
func (s *Service) onBehalfCheck(ctx context.Context, req documents.ApprovalRequest, level int, delegate team.Member, memberID string) (team.Member, team.Delegation, error) {
	if req.RequesterID == delegate.ID {
		return team.Member{}, team.Delegation{}, errDelegateIsRequester
	}
	now := s.Now.Now()
	d, err := s.Store.GetDelegation(ctx, req.AccountID, memberID)
	if errors.Is(err, team.ErrDelegationNotFound) {
		return team.Member{}, team.Delegation{}, errNotDelegate
	}
	if err != nil {
		return team.Member{}, team.Delegation{}, err
	}
	if d.DelegateID != delegate.ID || !d.ActiveAt(now) || delegate.Status != rbac.StatusActive {
		return team.Member{}, team.Delegation{}, errNotDelegate
	}
	m, err := s.Store.GetMember(ctx, req.AccountID, memberID)
	if errors.Is(err, team.ErrMemberNotFound) {
		return team.Member{}, team.Delegation{}, errNotApprover
	}
	if err != nil {
		return team.Member{}, team.Delegation{}, err
	}
	asked := askedAt(req, level, memberID)
	rs, err := s.roleSet(ctx, req.AccountID)
	if err != nil {
		return team.Member{}, team.Delegation{}, err
	}
	if !asked || !mayDecide(rs, m.Authz(now), req, level) {
		return team.Member{}, team.Delegation{}, errNotApprover
	}
	return m, d, nil
}

// onBehalfOf is what a delegate's vote rests on (store.OnBehalf).
func onBehalfOf(m team.Member, d team.Delegation) *store.OnBehalf {
	return &store.OnBehalf{MemberVersion: m.Version, DelegationVersion: d.Version}
}

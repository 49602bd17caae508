package access

import (
	"context"
	"errors"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/onetime"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// DecideInput is one decision on an access request, in the app or by an
// emailed link. Exactly one way is set: Principal (a signed-in member
// deciding on RequestID) or Token (the raw token of a decision link, which
// names the request and the member it was sent to).
type DecideInput struct {
	Principal *auth.Principal
	RequestID string
	Token     string
	// Decision is "approve" or "deny"; Comment is optional.
	Decision, Comment string
	// ExpiresAt, when set on an approval, ends the grant earlier than
	// asked (never later).
	ExpiresAt *time.Time
	// OnBehalfOf (in the app only) is the member the principal decides
	// for as their delegate; empty: the principal decides for themselves.
	OnBehalfOf string
}

// LinkView is what a decision link's page shows.
type LinkView struct {
	Requester, Role, Scope, Reason string
	// GrantExpiresAt is when the grant would end (zero: no end).
	GrantExpiresAt time.Time
	DecideBy       time.Time
	// OnBehalfOf names the member a delegate's link decides for.
	OnBehalfOf string
}

// Result is a recorded decision.
type Result struct {
	Request  team.AccessRequest
	Approved bool
	// Link is what the link's page shows once it decided (by link only).
	Link *LinkView
}

// decider is who decides and how the decision is written.
type decider struct {
	// member is whose authority the decision rests on (and who grants):
	// the decider, or the member a delegate stands in for.
	member team.Member
	// delegate, when set, is who decides on member's behalf; ob is what
	// that rests on (the member and the delegation as read).
	delegate *team.Member
	ob       *store.OnBehalf
	roles    *rbac.RoleSet
	// impersonator is never set: impersonated sessions do not decide.
	event  audit.Event
	writer *store.Store
	use    *store.TokenUse
	hash   string
}

// Decide records one decision, in the app or by an emailed link. The
// decider must not be the requester and must be allowed by the grant
// ceiling, at the decision, to give the requester exactly that role at
// that scope (rbac.RoleSet.CheckChange; in the app the caller's rights
// as loaded for this request, by link the member's rights today). The
// decision commits with the decider's member item unchanged since it was
// read (so rights lost meanwhile refuse it) and, on an approval, with the
// requester's new assignment in the same transaction (the requester as
// read: a change meanwhile is read again and checked again, a few times).
// A link's token is consumed in that transaction too. The workflow is then
// told, and its Finalize step emails the requester.
func (s *Service) Decide(ctx context.Context, in DecideInput) (Result, error) {
	approve := false
	switch in.Decision {
	case "approve":
		approve = true
	case "deny":
	default:
		return Result{}, fault.InvalidField("decision", `must be "approve" or "deny"`)
	}
	comment, err := cleanText("comment", in.Comment, 1000, false)
	if err != nil {
		return Result{}, err
	}
	for attempt := 0; ; attempt++ {
		res, err := s.decideOnce(ctx, in, approve, comment)
		if errors.Is(err, team.ErrStaleVersion) {
			if attempt < 3 {
				continue
			}
			return Result{}, errChanged
		}
		return res, err
	}
}

func (s *Service) decideOnce(ctx context.Context, in DecideInput, approve bool, comment string) (Result, error) {
	var (
		r   team.AccessRequest
		d   decider
		err error
	)
	if in.Principal != nil {
		r, d, err = s.appDecider(ctx, in.Principal, in.RequestID, in.OnBehalfOf)
	} else {
		r, d, err = s.linkDecider(ctx, in.Token)
	}
	if err != nil {
		return Result{}, err
	}
	if r.Status != team.AccessPending {
		return Result{}, errNotPending
	}
	now := s.Now.Now()
	expires := r.ExpiresAt
	if approve && in.ExpiresAt != nil {
		e := in.ExpiresAt.UTC()
		switch {
		case !e.After(now):
			return Result{}, fault.InvalidField("expiresAt", "must be in the future")
		case !r.ExpiresAt.IsZero() && e.After(r.ExpiresAt):
			return Result{}, fault.InvalidField("expiresAt", "may only shorten the requested duration (at most "+r.ExpiresAt.UTC().Format(time.RFC3339)+")")
		}
		expires = e
	}
	requester, err := s.Store.GetMember(ctx, r.AccountID, r.RequesterID)
	gone := errors.Is(err, team.ErrMemberNotFound) || err == nil && requester.Status == rbac.StatusDeleted
	if err != nil && !gone {
		return Result{}, err
	}
	if d.member.ID == r.RequesterID {
		return Result{}, errSelfDecision
	}
	switch {
	case gone && approve:
		return Result{}, errRequesterGone
	case approve && requester.Status != rbac.StatusActive:
		// A grant to a suspended or inactive member is not given (the
		// store checks the status again in the decision's transaction).
		return Result{}, errRequesterNotActive
	case gone:
		// Denying a request of a member who left: administrators only.
		if !d.roles.IsAdmin(d.member.Authz(now)) {
			return Result{}, notApprover(errors.New("the requester left: only administrators decide"))
		}
	default:
		if err := mayGrant(d.roles, d.member, requester, r, expires, now); err != nil {
			if errors.Is(err, errSelfDecision) {
				return Result{}, err
			}
			if in.Principal == nil {
				return Result{}, errLinkNotApprover
			}
			return Result{}, notApprover(err)
		}
	}
	if approve && !expires.IsZero() && !expires.After(now) {
		return Result{}, errWindowPassed
	}
	r.DeciderID, r.DeciderName, r.Comment, r.ByLink = d.member.ID, d.member.Name, comment, d.use != nil
	if d.delegate != nil {
		// Recorded as made by the delegate on behalf of the member; the
		// grant is the member's (GrantedBy below).
		r.DeciderID, r.DeciderName = d.delegate.ID, d.delegate.Name
		r.OnBehalfOfID, r.OnBehalfOfName = d.member.ID, d.member.Name
	}
	r.FinishedAt, r.UpdatedAt = now, now
	var after *team.Member
	snap := map[string]any{}
	if approve {
		r.Status, r.GrantExpiresAt = team.AccessApproved, expires
		if m, added := withGrant(requester, r, expires, d.member.ID); added {
			after = &m
			snap["member"], snap["previous"] = audit.Snapshot(m), audit.Snapshot(requester)
		}
	} else {
		r.Status = team.AccessDenied
	}
	snap["request"] = summary(r)
	ev := d.event
	ev.Action = "access_request." + map[bool]string{true: "approve", false: "deny"}[approve]
	ev.After = audit.Snapshot(snap)
	if d.ob != nil {
		_, err = d.writer.DecideAccessRequestOnBehalf(ctx, r, after, d.use, *d.ob, ev)
	} else {
		_, err = d.writer.DecideAccessRequest(ctx, r, after, d.use, ev)
	}
	switch {
	case errors.Is(err, store.ErrDelegationLost):
		if in.Principal == nil {
			return Result{}, errLinkNotDelegate
		}
		return Result{}, errDelegationLost
	case errors.Is(err, store.ErrTokenInvalid):
		return Result{}, s.tokenFailure(ctx, d.hash)
	case errors.Is(err, team.ErrAccessRequestNotPending):
		s.tellWorkflow(ctx, r.AccountID, r.ID)
		if in.Principal == nil {
			return Result{}, errRequestDecided
		}
		return Result{}, errNotPending
	case errors.Is(err, store.ErrRoleGone):
		return Result{}, errRoleGone
	case errors.Is(err, store.ErrRequesterNotActive):
		return Result{}, errRequesterNotActive
	case errors.Is(err, team.ErrStaleVersion):
		return Result{}, err // Decide reads the requester again
	case err != nil:
		return Result{}, err
	}
	s.tellWorkflow(ctx, r.AccountID, r.ID)
	res := Result{Request: r, Approved: approve}
	if fresh, err := s.Store.GetAccessRequest(ctx, r.AccountID, r.ID); err == nil {
		res.Request = fresh
	}
	if in.Principal == nil {
		v := linkView(res.Request)
		res.Link = &v
	}
	return res, nil
}

// appDecider is a signed-in member deciding in the app: for themselves,
// or, with onBehalfOf, for a member they stand in for (onBehalf).
func (s *Service) appDecider(ctx context.Context, p *auth.Principal, id, onBehalfOf string) (team.AccessRequest, decider, error) {
	if err := p.RequireMember(); err != nil {
		return team.AccessRequest{}, decider{}, err
	}
	r, err := s.Get(ctx, p, id)
	if err != nil {
		return team.AccessRequest{}, decider{}, err
	}
	if p.Impersonated() {
		// As every grant change: an impersonated session looks, it does
		// not grant (routes.NoImpersonation refuses it first).
		return team.AccessRequest{}, decider{}, errImpersonate
	}
	d := decider{
		member: p.Member, roles: p.Roles,
		event: p.Event(ctx, "", "access_request", r.ID),
		// Rights at commit time: the decider's member item must be as
		// read (409 actor_changed when it was changed meanwhile).
		writer: p.Acting(s.Store),
	}
	if onBehalfOf != "" {
		if onBehalfOf == p.Member.ID {
			return team.AccessRequest{}, decider{}, fault.InvalidField("onBehalfOf", "is you: leave it out to decide for yourself")
		}
		if len(onBehalfOf) > 80 {
			return team.AccessRequest{}, decider{}, errNotDelegate
		}
		m, ob, err := s.onBehalf(ctx, r, p.Member, onBehalfOf)
		if err != nil {
			return team.AccessRequest{}, decider{}, err
		}
		delegate := p.Member
		d.member, d.delegate, d.ob = m, &delegate, ob
	}
	return r, d, nil
}

// onBehalf checks that delegate may decide r on behalf of memberID now:
// the member's delegation names the delegate and is active, the delegate
// is active and did not request r (errDelegateIsRequester), and the
// member is active (the member's rights are checked by the grant ceiling
// at the decision). It returns the member and what the decision rests on.
// Chains are not followed.
func (s *Service) onBehalf(ctx context.Context, r team.AccessRequest, delegate team.Member, memberID string) (team.Member, *store.OnBehalf, error) {
	if r.RequesterID == delegate.ID {
		return team.Member{}, nil, errDelegateIsRequester
	}
	d, err := s.Store.GetDelegation(ctx, r.AccountID, memberID)
	if errors.Is(err, team.ErrDelegationNotFound) {
		return team.Member{}, nil, errNotDelegate
	}
	if err != nil {
		return team.Member{}, nil, err
	}
	if d.DelegateID != delegate.ID || !d.ActiveAt(s.Now.Now()) || delegate.Status != rbac.StatusActive {
		return team.Member{}, nil, errNotDelegate
	}
	m, err := s.Store.GetMember(ctx, r.AccountID, memberID)
	if errors.Is(err, team.ErrMemberNotFound) || err == nil && m.Status != rbac.StatusActive {
		return team.Member{}, nil, errNotDelegate
	}
	if err != nil {
		return team.Member{}, nil, err
	}
	return m, &store.OnBehalf{MemberVersion: m.Version, DelegationVersion: d.Version}, nil
}

// linkDecider is the member an emailed link was sent to, or, for a link
// sent to the member's delegate in their stead, the delegate deciding on
// the member's behalf (while the delegation lasts and names them).
func (s *Service) linkDecider(ctx context.Context, raw string) (team.AccessRequest, decider, error) {
	r, t, hash, err := s.resolve(ctx, raw)
	if err != nil {
		return team.AccessRequest{}, decider{}, err
	}
	m, err := s.Store.GetMember(ctx, r.AccountID, t.Data["memberId"])
	if errors.Is(err, team.ErrMemberNotFound) {
		return team.AccessRequest{}, decider{}, errLinkNotApprover
	}
	if err != nil {
		return team.AccessRequest{}, decider{}, err
	}
	if m.Status != rbac.StatusActive {
		return team.AccessRequest{}, decider{}, errLinkNotApprover
	}
	rs, err := s.roleSet(ctx, r.AccountID)
	if err != nil {
		return team.AccessRequest{}, decider{}, err
	}
	ev := audit.Event{AccountID: r.AccountID, ActorID: m.ID, ActorName: m.Name, TargetType: "access_request", TargetID: r.ID, RequestID: httpapi.RequestID(ctx)}
	d := decider{
		member: m, roles: rs, event: ev,
		writer: s.Store.Acting(store.Actor{AccountID: r.AccountID, MemberID: m.ID, Version: m.Version, OnFail: errLinkNotApprover}),
		use:    &store.TokenUse{Hash: hash, Subject: t.SubjectID, Now: s.Now.Now()},
		hash:   hash,
	}
	if del := t.Data["delegateId"]; del != "" {
		dm, err := s.Store.GetMember(ctx, r.AccountID, del)
		if errors.Is(err, team.ErrMemberNotFound) {
			return team.AccessRequest{}, decider{}, errLinkNotDelegate
		}
		if err != nil {
			return team.AccessRequest{}, decider{}, err
		}
		m, ob, err := s.onBehalf(ctx, r, dm, m.ID)
		if errors.Is(err, errNotDelegate) || errors.Is(err, errDelegateIsRequester) {
			return team.AccessRequest{}, decider{}, errLinkNotDelegate
		}
		if err != nil {
			return team.AccessRequest{}, decider{}, err
		}
		d.member, d.delegate, d.ob = m, &dm, ob
		d.event.ActorID, d.event.ActorName = dm.ID, dm.Name
		// The decision rests on the delegate as read too.
		d.writer = s.Store.Acting(store.Actor{AccountID: r.AccountID, MemberID: dm.ID, Version: dm.Version, OnFail: errLinkNotDelegate})
	}
	return r, d, nil
}

// resolve checks a decision link and returns its request and token, or
// the refusal that ends it.
func (s *Service) resolve(ctx context.Context, raw string) (team.AccessRequest, store.Token, string, error) {
	hash, err := onetime.Hash(raw)
	if err != nil {
		return team.AccessRequest{}, store.Token{}, "", errLinkInvalid
	}
	t, err := s.Store.GetToken(ctx, hash)
	if errors.Is(err, store.ErrTokenInvalid) {
		return team.AccessRequest{}, store.Token{}, "", errLinkInvalid
	}
	if err != nil {
		return team.AccessRequest{}, store.Token{}, "", err
	}
	switch {
	case t.Kind != store.TokenAccessRequest || t.Data["request"] == "" || t.Data["memberId"] == "":
		return team.AccessRequest{}, store.Token{}, "", errLinkInvalid
	case !t.UsedAt.IsZero():
		return team.AccessRequest{}, store.Token{}, "", errLinkUsed
	case !s.Now.Now().Before(t.ExpiresAt):
		return team.AccessRequest{}, store.Token{}, "", errLinkExpired
	}
	r, err := s.Store.GetAccessRequest(ctx, t.AccountID, t.Data["request"])
	if errors.Is(err, team.ErrAccessRequestNotFound) {
		return team.AccessRequest{}, store.Token{}, "", errLinkInvalid
	}
	if err != nil {
		return team.AccessRequest{}, store.Token{}, "", err
	}
	switch r.Status {
	case team.AccessPending:
	case team.AccessCancelled:
		return team.AccessRequest{}, store.Token{}, "", errRequestCancelled
	case team.AccessExpired:
		return team.AccessRequest{}, store.Token{}, "", errLinkExpired
	default:
		return team.AccessRequest{}, store.Token{}, "", errRequestDecided
	}
	return r, t, hash, nil
}

// tokenFailure explains a link the decision's transaction refused.
func (s *Service) tokenFailure(ctx context.Context, hash string) error {
	switch s.Store.TokenFailure(ctx, hash, store.TokenAccessRequest, s.Now.Now()) {
	case store.ErrTokenUsed:
		return errLinkUsed
	case store.ErrTokenExpired:
		return errLinkExpired
	default:
		return errLinkInvalid
	}
}

// Link reads what a decision link decides on, for its page; it consumes
// nothing. Its refusals are the link's; a member who may no longer grant
// is refused here already.
func (s *Service) Link(ctx context.Context, raw string) (LinkView, error) {
	r, d, err := s.linkDecider(ctx, raw)
	if err != nil {
		return LinkView{}, err
	}
	requester, err := s.Store.GetMember(ctx, r.AccountID, r.RequesterID)
	if err == nil {
		if err := mayGrant(d.roles, d.member, requester, r, r.ExpiresAt, s.Now.Now()); err != nil {
			return LinkView{}, errLinkNotApprover
		}
	} else if !errors.Is(err, team.ErrMemberNotFound) {
		return LinkView{}, err
	}
	v := linkView(r)
	if d.delegate != nil {
		v.OnBehalfOf = orDefault(d.member.Name, d.member.Email)
	}
	return v, nil
}

func linkView(r team.AccessRequest) LinkView {
	v := LinkView{Requester: r.RequesterName, Role: r.Role, Scope: r.Scope.String(), Reason: r.Reason, GrantExpiresAt: r.ExpiresAt, DecideBy: r.DecideBy}
	if v.Requester == "" {
		v.Requester = r.RequesterEmail
	}
	if !r.GrantExpiresAt.IsZero() {
		v.GrantExpiresAt = r.GrantExpiresAt
	}
	if r.OnBehalfOfID != "" {
		v.OnBehalfOf = orDefault(r.OnBehalfOfName, r.OnBehalfOfID)
	}
	return v
}

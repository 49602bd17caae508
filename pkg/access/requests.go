package access

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
	"github.com/stewardhq/steward/pkg/workflow"
)

// RequestInput is the body of POST /v1/access-requests.
type RequestInput struct {
	Role, Scope, Reason string
	// ExpiresAt, when set, is when the grant should end.
	ExpiresAt *time.Time
}

// rateKey is the member's request counter (store.RateCharge).
func rateKey(account, member string) string { return "access-request#" + account + "#" + member }

// Request makes the caller's access request and starts its workflow.
func (s *Service) Request(ctx context.Context, p *auth.Principal, in RequestInput) (team.AccessRequest, error) {
	if err := p.RequireMember(); err != nil {
		return team.AccessRequest{}, err
	}
	if p.Impersonated() {
		return team.AccessRequest{}, errImpersonate
	}
	if p.Member.Owner {
		return team.AccessRequest{}, errOwner
	}
	now := s.Now.Now()
	if _, ok := p.Roles.Role(in.Role); !ok {
		return team.AccessRequest{}, fault.InvalidField("role", "no such role in this account")
	}
	scope, err := rbac.ParseScope(in.Scope)
	if err != nil {
		return team.AccessRequest{}, fault.InvalidField("scope", err.Error())
	}
	reason, err := cleanText("reason", in.Reason, 1000, true)
	if err != nil {
		return team.AccessRequest{}, err
	}
	var expires time.Time
	if in.ExpiresAt != nil {
		if expires = in.ExpiresAt.UTC(); !expires.After(now) {
			return team.AccessRequest{}, fault.InvalidField("expiresAt", "must be in the future")
		}
	}
	a := rbac.Assignment{Role: in.Role, Scope: scope, ExpiresAt: expires}
	if err := p.Roles.ValidateAssignment(a); err != nil {
		return team.AccessRequest{}, fault.InvalidField("scope", err.Error())
	}
	// The scope must exist (as for any grant: members.CheckScopes; not
	// imported, so that the approvals function links no member service).
	missing, err := s.Store.ScopesExist(ctx, p.AccountID(), []rbac.Scope{scope})
	if err != nil {
		return team.AccessRequest{}, err
	}
	if len(missing) > 0 {
		return team.AccessRequest{}, fault.New(fault.Invalid, "unknown_scope", "No such "+string(missing[0].Kind)+" in this account: "+missing[0].String()+". Create it first (PUT /v1/"+string(missing[0].Kind)+"s/{id}).")
	}
	r := team.AccessRequest{
		ID: store.NewAccessRequestID(now), AccountID: p.AccountID(),
		RequesterID: p.Member.ID, RequesterName: p.Member.Name, RequesterEmail: p.Member.Email,
		Role: in.Role, Scope: scope, Reason: reason, ExpiresAt: expires, Status: team.AccessPending,
		DecideBy: now.Add(s.decideWithin()), CreatedAt: now, UpdatedAt: now,
	}
	if holds(p.Member, r, now) {
		return team.AccessRequest{}, errAlreadyGranted
	}
	perHour := s.PerHour
	if perHour <= 0 {
		perHour = DefaultPerHour
	}
	count, ok, err := s.Store.RateCharge(ctx, rateKey(r.AccountID, r.RequesterID), perHour, now, time.Hour)
	if err != nil {
		return team.AccessRequest{}, err
	}
	if !ok {
		e := fault.New(fault.TooMany, "too_many_access_requests", "You made "+strconv.Itoa(perHour)+" access requests in the last hour; try again later.")
		e.RetryAfter = max(time.Second, count.End.Sub(now))
		return team.AccessRequest{}, e
	}
	ev := p.Event(ctx, "access_request.request", "access_request", r.ID)
	ev.After = audit.Snapshot(map[string]any{"request": summary(r)})
	if err := p.Acting(s.Store).CreateAccessRequest(ctx, r, ev); err != nil {
		// Only requests made count against the member's hour.
		if gerr := s.Store.RateGiveBack(context.WithoutCancel(ctx), rateKey(r.AccountID, r.RequesterID), count.End); gerr != nil {
			s.log().WarnContext(ctx, "access: give back a request's count", "error", gerr)
		}
		if errors.Is(err, team.ErrAccessRequestDuplicate) {
			return team.AccessRequest{}, errDuplicate
		}
		return team.AccessRequest{}, err
	}
	timeout := max(1, min(int(s.decideWithin()/time.Second), workflow.MaxTimeoutSeconds))
	err = s.Engine.Start(ctx, workflow.StartInput{RequestID: r.ID, AccountID: r.AccountID, Levels: 1, TimeoutSeconds: timeout})
	if err != nil && !errors.Is(err, workflow.ErrExecutionExists) {
		s.log().ErrorContext(ctx, "access: start workflow", "request", r.ID, "error", err)
		// Undo: the request never ran.
		r.Status, r.FinishedAt = team.AccessCancelled, s.Now.Now()
		uev := p.Event(ctx, "access_request.start_failed", "access_request", r.ID)
		uev.After = audit.Snapshot(map[string]any{"request": summary(r), "reason": "start_failed"})
		if uerr := s.Store.FinishAccessRequest(context.WithoutCancel(ctx), r, uev); uerr != nil {
			s.log().ErrorContext(ctx, "access: undo a request that did not start", "request", r.ID, "error", uerr)
		}
		return team.AccessRequest{}, errStartFailed
	}
	return r, nil
}

// Approvers are the members asked to decide r: the account's active
// members with an email, but the requester, whom the grant ceiling allows
// to give the requester exactly that role at that scope (administrators
// always), at now. It is the one place that says who is asked (the
// workflow snapshots it when it starts waiting); whoever may grant at
// decision time may decide, asked or not.
func (s *Service) Approvers(ctx context.Context, r team.AccessRequest, now time.Time) ([]team.AccessApprover, error) {
	requester, err := s.Store.GetMember(ctx, r.AccountID, r.RequesterID)
	if errors.Is(err, team.ErrMemberNotFound) || err == nil && requester.Status == rbac.StatusDeleted {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rs, err := s.roleSet(ctx, r.AccountID)
	if err != nil {
		return nil, err
	}
	var out []team.AccessApprover
	cursor := ""
	for {
		page, err := s.Store.ListLiveMembers(ctx, r.AccountID, store.MaxPageSize, cursor)
		if err != nil {
			return nil, err
		}
		for _, m := range page.Items {
			if m.Email == "" || m.Status != rbac.StatusActive || m.ID == r.RequesterID {
				continue
			}
			if mayGrant(rs, m, requester, r, r.ExpiresAt, now) == nil {
				out = append(out, team.AccessApprover{MemberID: m.ID, Name: m.Name, Email: m.Email})
			}
		}
		if page.Next == "" {
			return out, nil
		}
		cursor = page.Next
	}
}

// visible reports whether the caller may see r: its requester, a member
// asked, one who may grant it now, its decider, or the delegate of a
// member asked or who may grant it now (while the delegation is active).
func (s *Service) visible(ctx context.Context, p *auth.Principal, r team.AccessRequest) (bool, error) {
	if r.AccountID != p.AccountID() {
		return false, nil
	}
	if r.RequesterID == p.Member.ID || r.DeciderID == p.Member.ID {
		return true, nil
	}
	for _, a := range r.Asked {
		if a.MemberID == p.Member.ID {
			return true, nil
		}
	}
	requester, err := s.Store.GetMember(ctx, r.AccountID, r.RequesterID)
	gone := errors.Is(err, team.ErrMemberNotFound)
	if err != nil && !gone {
		return false, err
	}
	if gone && p.Authz.IsAdmin() || !gone && mayGrant(p.Roles, p.Member, requester, r, r.ExpiresAt, p.At) == nil {
		return true, nil
	}
	// The members the caller stands in for now.
	del, err := s.delegators(ctx, p)
	if err != nil || len(del) == 0 {
		return false, err
	}
	for _, a := range r.Asked {
		if slices.Contains(del, a.MemberID) {
			return true, nil
		}
	}
	if gone {
		return false, nil
	}
	for _, id := range del {
		m, err := s.Store.GetMember(ctx, r.AccountID, id)
		if errors.Is(err, team.ErrMemberNotFound) {
			continue
		}
		if err != nil {
			return false, err
		}
		if m.Status == rbac.StatusActive && mayGrant(p.Roles, m, requester, r, r.ExpiresAt, p.At) == nil {
			return true, nil
		}
	}
	return false, nil
}

// delegators lists the members the caller stands in for now.
func (s *Service) delegators(ctx context.Context, p *auth.Principal) ([]string, error) {
	if p.IsAPIKey() || p.Member.ID == "" {
		return nil, nil
	}
	return s.Store.Delegators(ctx, p.AccountID(), p.Member.ID, s.Now.Now())
}

// Get reads a request the caller may see (else 404).
func (s *Service) Get(ctx context.Context, p *auth.Principal, id string) (team.AccessRequest, error) {
	if err := p.RequireMember(); err != nil {
		return team.AccessRequest{}, err
	}
	if !validID(id) {
		return team.AccessRequest{}, fault.ErrNotFound
	}
	r, err := s.Store.GetAccessRequest(ctx, p.AccountID(), id)
	if errors.Is(err, team.ErrAccessRequestNotFound) {
		return team.AccessRequest{}, fault.ErrNotFound
	}
	if err != nil {
		return team.AccessRequest{}, err
	}
	ok, err := s.visible(ctx, p, r)
	if err != nil {
		return team.AccessRequest{}, err
	}
	if !ok {
		return team.AccessRequest{}, fault.ErrNotFound
	}
	return r, nil
}

// ListFilter narrows List.
type ListFilter struct {
	Status team.AccessStatus
	// Mine is "" (both), "requested" or "decide" (pending requests the
	// caller was asked to decide).
	Mine string
}

// List lists the caller's requests and those the caller was asked to
// decide, newest first. mine=decide reads only the pending requests the
// caller, or a member the caller stands in for, is asked to decide
// (decideList).
func (s *Service) List(ctx context.Context, p *auth.Principal, f ListFilter, limit int, cursor string) (store.Page[team.AccessRequest], error) {
	if err := p.RequireMember(); err != nil {
		return store.Page[team.AccessRequest]{}, err
	}
	if f.Status != "" && !f.Status.Valid() {
		return store.Page[team.AccessRequest]{}, fault.InvalidField("status", "must be pending, approved, denied, cancelled or expired")
	}
	as := ""
	switch f.Mine {
	case "":
	case "requested":
		as = "requester"
	case "decide":
		if f.Status != "" && f.Status != team.AccessPending {
			return store.Page[team.AccessRequest]{Items: []team.AccessRequest{}}, nil
		}
		return s.decideList(ctx, p, limit, cursor)
	default:
		return store.Page[team.AccessRequest]{}, fault.InvalidField("mine", `must be "decide" or "requested"`)
	}
	page, err := s.Store.ListAccessRequests(ctx, p.AccountID(), p.Member.ID, as, limit, cursor)
	if err != nil {
		return page, err
	}
	out := page.Items[:0]
	for _, r := range page.Items {
		if f.Status == "" || r.Status == f.Status {
			out = append(out, r)
		}
	}
	page.Items = out
	return page, nil
}

// decideList is mine=decide: the pending requests the caller is asked to
// decide and may decide now (the ceiling of now), and those the active
// members the caller stands in for now (store.Delegators) are asked to
// decide and may decide now (checked with the member's rights), but the
// caller's own requests (a delegate never decides their own); chains are
// not followed. One page of awaiting entries (store.ListAccessAwaiting:
// one query for the caller and one per member stood in for, each at
// most a page), so pages are full but for a request whose ceiling no
// longer allows it.
func (s *Service) decideList(ctx context.Context, p *auth.Principal, limit int, cursor string) (store.Page[team.AccessRequest], error) {
	del, err := s.delegators(ctx, p)
	if err != nil {
		return store.Page[team.AccessRequest]{}, err
	}
	deciders := map[string]team.Member{p.Member.ID: p.Member}
	var active []string
	for _, id := range del {
		if id == p.Member.ID {
			continue
		}
		m, err := s.Store.GetMember(ctx, p.AccountID(), id)
		if errors.Is(err, team.ErrMemberNotFound) {
			continue
		}
		if err != nil {
			return store.Page[team.AccessRequest]{}, err
		}
		if m.Status == rbac.StatusActive {
			deciders[id] = m
			active = append(active, id)
		}
	}
	page, err := s.Store.ListAccessAwaiting(ctx, p.AccountID(), p.Member.ID, active, limit, cursor)
	if err != nil {
		return store.Page[team.AccessRequest]{}, err
	}
	var rs []team.AccessRequest
	for _, a := range page.Items {
		rs = append(rs, a.Request)
	}
	requesters, err := s.requesters(ctx, p.AccountID(), rs)
	if err != nil {
		return store.Page[team.AccessRequest]{}, err
	}
	out := store.Page[team.AccessRequest]{Items: make([]team.AccessRequest, 0, len(page.Items)), Next: page.Next}
	for _, a := range page.Items {
		r := a.Request
		requester, ok := requesters[r.RequesterID]
		if !ok {
			continue
		}
		for _, id := range a.For {
			if id != p.Member.ID && r.RequesterID == p.Member.ID {
				continue
			}
			if mayGrant(p.Roles, deciders[id], requester, r, r.ExpiresAt, p.At) == nil {
				out.Items = append(out.Items, r)
				break
			}
		}
	}
	return out, nil
}

// requesters reads the requesters of rs in batches.
func (s *Service) requesters(ctx context.Context, account string, rs []team.AccessRequest) (map[string]team.Member, error) {
	var ids []string
	for _, r := range rs {
		if !slices.Contains(ids, r.RequesterID) {
			ids = append(ids, r.RequesterID)
		}
	}
	members := map[string]team.Member{}
	for chunk := range slices.Chunk(ids, store.MaxLoadMembers) {
		lm, err := s.Store.LoadMembers(ctx, account, chunk)
		if err != nil {
			return nil, err
		}
		for id, m := range lm.Members {
			members[id] = m
		}
	}
	return members, nil
}

// Cancel cancels a pending request; only its requester may.
func (s *Service) Cancel(ctx context.Context, p *auth.Principal, id string) (team.AccessRequest, error) {
	r, err := s.Get(ctx, p, id)
	if err != nil {
		return team.AccessRequest{}, err
	}
	if r.RequesterID != p.Member.ID {
		return team.AccessRequest{}, errCannotCancel
	}
	if p.Impersonated() {
		return team.AccessRequest{}, errImpersonate
	}
	if r.Status != team.AccessPending {
		return team.AccessRequest{}, errNotPending
	}
	now := s.Now.Now()
	r.Status, r.FinishedAt, r.UpdatedAt = team.AccessCancelled, now, now
	ev := p.Event(ctx, "access_request.cancel", "access_request", r.ID)
	ev.After = audit.Snapshot(map[string]any{"request": summary(r), "reason": "cancelled"})
	err = p.Acting(s.Store).FinishAccessRequest(ctx, r, ev)
	if errors.Is(err, team.ErrAccessRequestNotPending) {
		return team.AccessRequest{}, errNotPending
	}
	if err != nil {
		return team.AccessRequest{}, err
	}
	s.tellWorkflow(ctx, r.AccountID, r.ID)
	return r, nil
}

// tellWorkflow sends the workflow how the request ended (a decision's
// outcome, or the cancellation), with the stored task token. Without one
// yet, the workflow's Await finds the request ended and does it. A failed
// send is logged: the request expires in the workflow, and the Expire step
// leaves an ended request alone.
func (s *Service) tellWorkflow(ctx context.Context, account, id string) {
	r, err := s.Store.GetAccessRequest(ctx, account, id)
	if err != nil || r.TaskToken == "" {
		return
	}
	if err := settle(ctx, s.Engine, r, r.TaskToken); err != nil {
		s.log().ErrorContext(ctx, "access: tell the workflow", "request", id, "error", err)
	}
}

// settle tells the workflow waiting with token that r ended.
func settle(ctx context.Context, e workflow.Engine, r team.AccessRequest, token string) error {
	var err error
	switch r.Status {
	case team.AccessApproved:
		err = e.SendTaskSuccess(ctx, token, workflow.Decision{Outcome: workflow.Approved})
	case team.AccessDenied:
		err = e.SendTaskSuccess(ctx, token, workflow.Decision{Outcome: workflow.Denied})
	case team.AccessCancelled:
		err = e.SendTaskFailure(ctx, token, workflow.ErrorCancelled)
	}
	if errors.Is(err, workflow.ErrTaskNotFound) {
		return nil
	}
	return err
}

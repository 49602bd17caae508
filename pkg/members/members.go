// Package members is the member lifecycle: listing and reading members,
// editing their name, admin flag, assignments and notification
// preferences, creating inactive members (one, or up to 1,000 by an
// import, each row as one: see Import), suspending, reactivating,
// deactivating and deleting them, and transferring ownership.
//
// Decisions:
//   - Every change passes the grant ceiling (rbac.RoleSet.CheckChange):
//     managers change only members of the stores they manage; only admins
//     touch admins; nobody changes their own grants or status, but anyone
//     may change their own name and notification preferences.
//   - Only the owner changes the owner (403 owner_only); admin-only roles
//     are granted by administrators only (403 admin_only_role).
//   - Every write requires the caller's own member item unchanged since the
//     request read it (auth.Principal.Acting): a caller demoted meanwhile
//     gets 409 actor_changed and nothing is written.
//   - PATCH needs If-Match with the member's ETag ("<version>"): 428
//     without it, 412 when stale. Lifecycle POSTs take If-Match too when
//     given.
//   - Suspending, deactivating or deleting a member awaited at a pending
//     approval request's current level, where the other active members
//     awaited there cannot give the approvals it still needs, is refused
//     (409 approvers_left_without, naming the requests) unless the body
//     sends force=true (Offboard); the check reads the member's awaiting
//     entries (one Query) and those requests.
//   - reassignTo (an active member of the account, not the leaver) hands
//     the leaver's duties over in the one transaction that changes its
//     status (store.OffboardMember), with one audit event member.<verb>
//     whose after names reassignedTo, moved and dropped
//     ([{requestId, level}]). Duties come from sources by kind
//     (store.DutyKind, dutySources): approval seats and access-request
//     decisions. An approval seat moves when the reassignee is neither
//     awaited nor decided at that level (a vote it cast there on another
//     member's behalf, as a delegate, counts as decided); otherwise the
//     leaver's seat is just dropped (one person, one vote). The reassignee must be allowed
//     to approve each seat it takes by the level's own rules (never the
//     requester, unless self-approval): else 409 reassignee_not_eligible
//     naming the requests. The leaver's approval links at those levels
//     are deleted (410 link_invalid). Each request is conditioned on its
//     version, level and status as read: a decision landing meanwhile
//     fails the transaction, the duties are read again and it is tried
//     once more, then 409 duties_changed. At most
//     store.MaxHandoverDuties (20) duties move in one step (409
//     too_many_duties with the count). After the commit the reassignee
//     gets each moved seat's approval email with a fresh link (a failed
//     email is logged). The approvers_left_without check counts the
//     reassignee where it takes a seat.
//   - An access request the leaver was asked to decide moves to the
//     reassignee when the grant ceiling lets it grant it (Access
//     .MayGrantAs), else the leaver's seat is dropped (listed in
//     dropped, level 1); the leaver's access links are deleted (410) and
//     the reassignee gets the access-request email, in the same
//     transaction and limits as the approval seats (too_many_duties
//     counts both; an access request takes six of the transaction's
//     writes, a seat four: store.MaxHandoverDuties). Administrators may always decide an access request,
//     so access requests never join the approvers_left_without check.
//   - Taking a member out cancels its own pending access requests
//     (access_request.cancelled, reason requester_left) right after the
//     status change (Access.CancelForLeaver; a failure is logged).
//   - Suspending, deactivating or deleting ends the member's sessions; the
//     next request is refused anyway, since authentication reloads the
//     member every time.
//   - A deleted member keeps its name and email on history; its email is
//     freed in the account (it may be invited again) and its sign-in no
//     longer lists the account.
//   - Reactivating an inactive member that has no sign-in is refused (409
//     no_identity): invite them instead.
//   - Everyone in the account may list members when they hold users.view
//     or directory.view (managers see every member) or users.manage
//     somewhere.
package members

import (
	"time"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/clock"
	"github.com/stewardhq/steward/pkg/documents"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
	"github.com/stewardhq/steward/pkg/views"
)

// Service implements the member routes.
type Service struct {
	Store *store.Store
	Now   clock.Clock
	// Approvals hands approval seats over (reassignTo); without it
	// reassignTo answers 503 reassign_unavailable.
	Approvals Approvals
	// Access hands access-request decisions over (reassignTo) and cancels
	// a leaver's own pending access requests; without it a leaver with
	// access requests to decide answers reassignTo with 503
	// reassign_unavailable, and their own requests are left to be
	// denied or to expire.
	Access AccessRequests
}

var (
	errNotFound    = fault.New(fault.NotFound, "not_found", "The member does not exist.")
	errStale       = fault.New(fault.Stale, "stale_version", "The member changed since you read it; read it again and retry.")
	errNoIdentity  = fault.New(fault.Conflict, "no_identity", "This member has no sign-in to reactivate; invite them instead.")
	errMayNotView  = fault.New(fault.Forbidden, "forbidden", "You may not view the members of this account.")
	errImpersonate = fault.New(fault.Forbidden, "impersonation_forbidden", "An impersonated session cannot change grants.")
)

// ErrRoleGone answers a change (a member write or an invitation) whose
// custom role was deleted while the change was being made: like naming a
// role that does not exist (400), with its own code.
var ErrRoleGone = &fault.Error{
	Kind: fault.Invalid, Code: "role_deleted",
	Detail: "A custom role of the assignments was deleted meanwhile; read the roles again.",
	Fields: []fault.Field{{Field: "assignments", Detail: "names a role that was deleted meanwhile"}},
}

// mayView reports whether the principal may see the member directory.
func mayView(p *auth.Principal) bool {
	if p.Authz.Holds("users.view", rbac.AccountScope) || p.Authz.Holds("directory.view", rbac.AccountScope) {
		return true
	}
	for _, sp := range p.Authz.Effective() {
		if slices.Contains(sp.Permissions, rbac.PermUsersManage) || slices.Contains(sp.Permissions, "users.view") {
			return true
		}
	}
	return false
}

// Get reads a member of the caller's account. A member may always read
// itself.
func (s *Service) Get(ctx context.Context, p *auth.Principal, id string) (team.Member, error) {
	if id != p.Member.ID && !mayView(p) {
		return team.Member{}, errMayNotView
	}
	m, err := s.Store.GetMember(ctx, p.AccountID(), id)
	if errors.Is(err, team.ErrMemberNotFound) {
		return team.Member{}, errNotFound
	}
	return m, err
}

// Filter narrows GET /v1/users.
type Filter struct {
	Status rbac.Status
	Role   string
	Store  string
}

// Validate checks a filter's form: a known status, a role id's shape, a
// valid store id.
func (f Filter) Validate() error {
	if f.Status != "" && !f.Status.Valid() {
		return httpapi.InvalidField("status", "must be one of invited, active, inactive, suspended, deleted")
	}
	if f.Role != "" && !roleIDLike(f.Role) {
		return httpapi.InvalidField("role", "must be a role id: 2 to 48 lower-case letters, digits or '_', starting with a letter")
	}
	if f.Store != "" {
		if err := rbac.StoreScope(f.Store).Validate(); err != nil {
			return httpapi.InvalidField("store", err.Error())
		}
	}
	return nil
}

// roleIDLike reports whether v has the shape of a role id.
func roleIDLike(v string) bool {
	if len(v) < 2 || len(v) > 48 || v[0] < 'a' || v[0] > 'z' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// match reports whether m passes the filter at now: role and store match
// the assignments that count at now (an expired grant no longer makes a
// member a "manager at s1", as decisions agree).
func (f Filter) match(m team.Member, now time.Time) bool {
	if f.Status != "" && m.Status != f.Status {
		return false
	}
	if f.Role == "" && f.Store == "" {
		return true
	}
	for _, a := range m.Assignments {
		if a.ActiveAt(now) && (f.Role == "" || a.Role == f.Role) && (f.Store == "" || a.Scope == rbac.StoreScope(f.Store)) {
			return true
		}
	}
	return false
}

// List lists the account's members, filtered. Filters apply to each page,
// so a page may hold fewer than limit members; follow the cursor to the
// end.
func (s *Service) List(ctx context.Context, p *auth.Principal, f Filter, limit int, cursor string) (store.Page[team.Member], error) {
	if err := f.Validate(); err != nil {
		return store.Page[team.Member]{}, err
	}
	if !mayView(p) {
		return store.Page[team.Member]{}, errMayNotView
	}
	page, err := s.Store.ListMembers(ctx, p.AccountID(), limit, cursor)
	if err != nil {
		return page, err
	}
	page.Items = slices.DeleteFunc(page.Items, func(m team.Member) bool { return !f.match(m, p.At) })
	return page, nil
}

// Change is a PATCH: nil fields stay.
type Change struct {
	Name          *string
	Admin         *bool
	Assignments   *[]rbac.Assignment
	Notifications *team.Notifications
	// KeepDueSalesOrder, with Notifications, keeps the member's
	// DueSalesOrderOff as it is (the request left dueSalesOrders out).
	KeepDueSalesOrder bool
}

// Update applies a change at the version the client read.
func (s *Service) Update(ctx context.Context, p *auth.Principal, id string, version int64, c Change) (team.Member, error) {
	before, err := s.Get(ctx, p, id)
	if err != nil {
		return team.Member{}, err
	}
	if !httpapi.VersionMatches(version, before.Version) {
		return team.Member{}, errStale
	}
	after := before
	if c.Name != nil {
		if after.Name, err = httpapi.CleanName("name", *c.Name, 120, true); err != nil {
			return team.Member{}, err
		}
	}
	if c.Admin != nil {
		after.Admin = *c.Admin
	}
	if c.Assignments != nil {
		if after.Assignments, err = views.StampAssignments(before.Assignments, *c.Assignments, p.Member.ID, p.At); err != nil {
			return team.Member{}, err
		}
		for i, a := range after.Assignments {
			if err := p.Roles.ValidateAssignment(a); err != nil {
				return team.Member{}, httpapi.InvalidField(httpapi.Indexed("assignments", i), err.Error())
			}
		}
		if err := CheckScopes(ctx, s.Store, p.AccountID(), after.Assignments); err != nil {
			return team.Member{}, err
		}
	}
	if c.Notifications != nil {
		after.Notifications = *c.Notifications
		if c.KeepDueSalesOrder {
			after.Notifications.DueSalesOrderOff = before.Notifications.DueSalesOrderOff
		}
	}
	if (c.Admin != nil || c.Assignments != nil) && p.Impersonated() {
		return team.Member{}, errImpersonate
	}
	saved, _, err := s.save(ctx, p, before, after, "member.update", nil)
	return saved, err
}

// save checks the ceiling and writes after with its event; h, when set,
// hands the leaver's duties over in the same transaction, and the event
// names the reassignee and the seats moved and dropped.
func (s *Service) save(ctx context.Context, p *auth.Principal, before, after team.Member, action string, h *store.Handover) (team.Member, []store.Handed, error) {
	if err := p.Roles.CheckChange(p.Member.Authz(p.At), before.Authz(p.At), after.Authz(p.At)); err != nil {
		return team.Member{}, nil, auth.Forbidden(err)
	}
	ev := p.Event(ctx, action, "member", before.ID)
	ev.Before, ev.After = snapshot(before), snapshot(after)
	if h != nil {
		moved, dropped := []movedSeat{}, []movedSeat{}
		for _, d := range h.Duties {
			if d.SeatMovesTo(h.To.ID) {
				moved = append(moved, movedSeat{RequestID: d.RequestID, Level: d.Level()})
			} else {
				dropped = append(dropped, movedSeat{RequestID: d.RequestID, Level: d.Level()})
			}
		}
		var m map[string]any
		if err := json.Unmarshal(ev.After, &m); err != nil {
			return team.Member{}, nil, err
		}
		m["reassignedTo"], m["moved"], m["dropped"] = h.To.ID, moved, dropped
		ev.After = snapshotOf(m)
	}
	// The write requires the actor to be still as read (p.Acting): a
	// demoted or suspended actor's request in flight fails with 409
	// actor_changed and writes nothing.
	st := p.Acting(s.Store)
	var saved team.Member
	var handed []store.Handed
	var err error
	if h != nil || after.Status == rbac.StatusDeleted {
		saved, handed, err = st.OffboardMember(ctx, after, h, ev)
	} else {
		saved, err = st.UpdateMember(ctx, after, ev)
	}
	switch {
	case errors.Is(err, store.ErrDutiesChanged), errors.Is(err, store.ErrTooManyDuties):
		return team.Member{}, nil, err
	case errors.Is(err, store.ErrRoleGone):
		return team.Member{}, nil, ErrRoleGone
	case errors.Is(err, team.ErrStaleVersion):
		return team.Member{}, nil, errStale
	case errors.Is(err, team.ErrMemberNotFound):
		return team.Member{}, nil, errNotFound
	case err != nil:
		return team.Member{}, nil, err
	}
	if ends(before.Status, after.Status) && before.IdentityID != "" {
		if err := s.Store.RevokeSessions(ctx, before.IdentityID, before.AccountID, before.ID, s.Now.Now()); err != nil {
			httpapi.Logger(ctx).Warn("end sessions", "error", err.Error())
		}
	}
	return saved, handed, nil
}

// ends reports whether a status change ends the member's sessions.
func ends(from, to rbac.Status) bool {
	return from == rbac.StatusActive && to != rbac.StatusActive
}

// Transitions of the lifecycle routes: which statuses each accepts.
var transitions = map[string]struct {
	to   rbac.Status
	from []rbac.Status
}{
	"suspend":    {rbac.StatusSuspended, []rbac.Status{rbac.StatusActive, rbac.StatusInactive}},
	"reactivate": {rbac.StatusActive, []rbac.Status{rbac.StatusSuspended, rbac.StatusInactive}},
	"deactivate": {rbac.StatusInactive, []rbac.Status{rbac.StatusActive, rbac.StatusSuspended}},
	"delete":     {rbac.StatusDeleted, []rbac.Status{rbac.StatusActive, rbac.StatusInactive, rbac.StatusSuspended}},
}

// Transition moves a member to another status. version 0 means "as
// stored now" (no If-Match).
func (s *Service) Transition(ctx context.Context, p *auth.Principal, id, verb string, version int64) (team.Member, error) {
	return s.Offboard(ctx, p, id, verb, version, OffboardOptions{Force: true})
}

// OffboardOptions are the options of the lifecycle routes that take a
// member out (suspend, deactivate, delete).
type OffboardOptions struct {
	// Force proceeds even when pending approval requests would be left
	// with no possible approver.
	Force bool
	// ReassignTo, when set, is the member who takes over the leaver's
	// duties (see Offboard).
	ReassignTo string
}

// Offboard is Transition with the offboarding check: taking a member out
// who is awaited at a pending approval request's current level where the
// other awaited members cannot give the approvals it still needs is
// refused (409 approvers_left_without, naming the requests) unless
// o.Force.
//
// With o.ReassignTo the leaver's duties move to that member in the
// transaction that takes the leaver out (handOver); the check then counts
// the reassignee where it takes a seat.
func (s *Service) Offboard(ctx context.Context, p *auth.Principal, id, verb string, version int64, o OffboardOptions) (team.Member, error) {
	t := transitions[verb]
	before, err := s.Get(ctx, p, id)
	if err != nil {
		return team.Member{}, err
	}
	if version != 0 && !httpapi.VersionMatches(version, before.Version) {
		return team.Member{}, errStale
	}
	if o.ReassignTo != "" && t.to != rbac.StatusActive {
		if err := httpapi.CheckID("reassignTo", o.ReassignTo); err != nil {
			return team.Member{}, err
		}
		if o.ReassignTo == before.ID {
			return team.Member{}, httpapi.InvalidField("reassignTo", "must be another member than the one taken out")
		}
	}
	if before.Status == t.to {
		return before, nil // already there: a retry changes nothing
	}
	if !slices.Contains(t.from, before.Status) {
		return team.Member{}, fault.New(fault.Conflict, "invalid_transition", "A member who is "+string(before.Status)+" cannot be "+verb+"d.")
	}
	if t.to == rbac.StatusActive && before.IdentityID == "" {
		return team.Member{}, errNoIdentity
	}
	after := before
	after.Status = t.to
	if t.to != rbac.StatusActive && o.ReassignTo != "" {
		saved, err := s.handOver(ctx, p, before, after, verb, o)
		if err == nil {
			s.cancelOwnRequests(ctx, p, before)
		}
		return saved, err
	}
	if t.to != rbac.StatusActive && !o.Force {
		duties, err := s.duties(ctx, before)
		if err != nil {
			return team.Member{}, err
		}
		if err := s.leftWithout(ctx, before, duties, ""); err != nil {
			return team.Member{}, err
		}
	}
	saved, _, err := s.save(ctx, p, before, after, "member."+verb, nil)
	if err == nil && t.to != rbac.StatusActive {
		s.cancelOwnRequests(ctx, p, before)
	}
	return saved, err
}

// cancelOwnRequests cancels the pending access requests of leaver, who
// was just taken out (access.Service.CancelForLeaver: after the status
// change's transaction, which has no room for them; a failure is
// logged, and such a request can still be denied or expires).
func (s *Service) cancelOwnRequests(ctx context.Context, p *auth.Principal, leaver team.Member) {
	if s.Access == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if _, err := s.Access.CancelForLeaver(ctx, p.Event(ctx, "", "", ""), leaver); err != nil {
		httpapi.Logger(ctx).Warn("cancel the leaver's access requests", "member", leaver.ID, "error", err.Error())
	}
}

// dutySources read the duties a leaver hands over, one source per kind
// (store.DutyKind): approval seats (store.Duties) and access-request
// decisions (store.AccessDuties).
func (s *Service) dutySources() []func(ctx context.Context, account, member string) ([]store.Duty, error) {
	return []func(ctx context.Context, account, member string) ([]store.Duty, error){s.Store.Duties, s.Store.AccessDuties}
}

// duties reads m's duties of every kind.
func (s *Service) duties(ctx context.Context, m team.Member) ([]store.Duty, error) {
	var all []store.Duty
	for _, read := range s.dutySources() {
		ds, err := read(ctx, m.AccountID, m.ID)
		if err != nil {
			return nil, err
		}
		all = append(all, ds...)
	}
	return all, nil
}

// leftWithout refuses (409 approvers_left_without, naming them) taking m
// out when some of its duties would be left with too few possible
// approvers: their other awaited members, counting the active ones only,
// plus the reassignee to where it takes the seat, cannot give the
// approvals the level still needs.
func (s *Service) leftWithout(ctx context.Context, m team.Member, duties []store.Duty, to string) error {
	// The other awaited members, read once each: one BatchGetItem per
	// store.MaxLoadMembers of them.
	var others []string
	for _, d := range duties {
		others = append(others, d.Others...)
	}
	slices.Sort(others)
	others = slices.Compact(others)
	active := make(map[string]bool, len(others))
	for chunk := range slices.Chunk(others, store.MaxLoadMembers) {
		loaded, err := s.Store.LoadMembers(ctx, m.AccountID, chunk)
		if err != nil {
			return err
		}
		for id, om := range loaded.Members {
			active[id] = om.Status == rbac.StatusActive
		}
	}
	left := []string{}
	for _, d := range duties {
		if d.Kind == store.DutyAccessRequest {
			// Administrators may always decide an access request.
			continue
		}
		n := 0
		for _, o := range d.Others {
			if active[o] {
				n++
			}
		}
		if to != "" && d.SeatMovesTo(to) {
			n++
		}
		if n < d.Needed {
			left = append(left, d.RequestID)
		}
	}
	if len(left) == 0 {
		return nil
	}
	e := fault.New(fault.Conflict, "approvers_left_without", "Pending approval requests would be left without enough possible approvers; send force=true to proceed anyway.")
	e.Extra = map[string]any{"requests": left}
	return e
}

// Approvals is what handing approval seats over needs of the approvals
// service (*approvals.Service): who may take a seat, and the email with
// a fresh link to the member who took it.
type Approvals interface {
	MayApprove(rs *rbac.RoleSet, m rbac.Member, r documents.ApprovalRequest, level int) bool
	NotifyReassigned(ctx context.Context, r documents.ApprovalRequest, level int, to team.Member, ref string) error
}

// AccessRequests is what offboarding needs of the access requests
// service (*access.Service): whether the reassignee may decide a request
// the leaver was asked to decide, its email with a fresh link, and the
// cancellation of the leaver's own pending requests.
type AccessRequests interface {
	MayGrantAs(ctx context.Context, rs *rbac.RoleSet, m team.Member, r team.AccessRequest, at time.Time) (bool, error)
	NotifyReassigned(ctx context.Context, r team.AccessRequest, to team.Member, ref string) error
	CancelForLeaver(ctx context.Context, ev audit.Event, leaver team.Member) ([]string, error)
}

// movedSeat is one handed-over duty in the audit event.
type movedSeat struct {
	RequestID string `json:"requestId"`
	Level     int    `json:"level"`
}

// handOver takes before out (after is before with its new status) and
// hands its duties to o.ReassignTo in one transaction
// (store.OffboardMember): see the package doc. A duty that changed
// between the read and the commit (a decision landed) fails the
// transaction; the duties are read again and the handover tried once
// more, then 409 duties_changed.
func (s *Service) handOver(ctx context.Context, p *auth.Principal, before, after team.Member, verb string, o OffboardOptions) (team.Member, error) {
	if s.Approvals == nil {
		return team.Member{}, fault.New(fault.Unavailable, "reassign_unavailable", "Reassigning duties is not available here.")
	}
	for attempt := 0; ; attempt++ {
		to, err := s.Store.GetMember(ctx, p.AccountID(), o.ReassignTo)
		if errors.Is(err, team.ErrMemberNotFound) {
			return team.Member{}, httpapi.InvalidField("reassignTo", "is not a member of this account")
		}
		if err != nil {
			return team.Member{}, err
		}
		if to.Status != rbac.StatusActive {
			return team.Member{}, fault.New(fault.Conflict, "reassignee_not_active", "The member to reassign the duties to is "+string(to.Status)+"; pick an active member.")
		}
		duties, err := s.duties(ctx, before)
		if err != nil {
			return team.Member{}, err
		}
		if len(duties) > store.MaxHandoverDuties {
			e := fault.New(fault.Conflict, "too_many_duties", fmt.Sprintf("The member has %d pending duties; at most %d are reassigned in one step. Reassign some first, or send force=true without reassignTo.", len(duties), store.MaxHandoverDuties))
			e.Extra = map[string]any{"duties": len(duties), "limit": store.MaxHandoverDuties}
			return team.Member{}, e
		}
		var ineligible []string
		for i, d := range duties {
			if d.Kind == store.DutyApproval && d.SeatMovesTo(to.ID) && !s.Approvals.MayApprove(p.Roles, to.Authz(p.At), d.Request, d.Level()) {
				ineligible = append(ineligible, d.RequestID)
			}
			if d.Kind == store.DutyAccessRequest {
				// The reassignee takes the decision when the grant
				// ceiling lets it grant it; else the leaver's is dropped.
				if s.Access == nil {
					return team.Member{}, fault.New(fault.Unavailable, "reassign_unavailable", "Reassigning access-request decisions is not available here.")
				}
				ok, err := s.Access.MayGrantAs(ctx, p.Roles, to, d.Access, p.At)
				if err != nil {
					return team.Member{}, err
				}
				duties[i].Ineligible = !ok
			}
		}
		if len(ineligible) > 0 {
			e := fault.New(fault.Conflict, "reassignee_not_eligible", "The member to reassign the duties to may not approve some of the pending requests at their current level (or requested them).")
			e.Extra = map[string]any{"requests": ineligible}
			return team.Member{}, e
		}
		if !o.Force {
			if err := s.leftWithout(ctx, before, duties, to.ID); err != nil {
				return team.Member{}, err
			}
		}
		saved, handed, err := s.save(ctx, p, before, after, "member."+verb, &store.Handover{From: before.ID, To: to, Duties: duties})
		if errors.Is(err, store.ErrTooManyDuties) {
			// The member's own change (its expiring grants' index) leaves
			// less room than the usual limit.
			e := fault.New(fault.Conflict, "too_many_duties", fmt.Sprintf("The member has %d pending duties: too many to reassign in one step together with this change. Reassign some first, or send force=true without reassignTo.", len(duties)))
			e.Extra = map[string]any{"duties": len(duties), "limit": store.MaxHandoverDuties}
			return team.Member{}, e
		}
		if errors.Is(err, store.ErrDutiesChanged) {
			if attempt == 0 {
				continue
			}
			return team.Member{}, fault.New(fault.Conflict, "duties_changed", "The member's pending duties changed while they were being reassigned; try again.")
		}
		if err != nil {
			return team.Member{}, err
		}
		s.notifyReassigned(ctx, duties, handed, to, saved)
		return saved, nil
	}
}

// notifyReassigned emails the reassignee each seat it took, with a fresh
// link, after the commit: a failed email is logged (the seat is moved;
// the request shows in the reassignee's "waiting for me").
func (s *Service) notifyReassigned(ctx context.Context, duties []store.Duty, handed []store.Handed, to, leaver team.Member) {
	for i, h := range handed {
		if !h.Moved {
			continue
		}
		ref := leaver.ID + "-" + strconv.FormatInt(leaver.Version, 10)
		switch h.Kind {
		case store.DutyApproval:
			if err := s.Approvals.NotifyReassigned(ctx, duties[i].Request, h.Level, to, ref); err != nil {
				httpapi.Logger(ctx).Warn("approval email to the reassignee", "request", h.RequestID, "error", err.Error())
			}
		case store.DutyAccessRequest:
			if err := s.Access.NotifyReassigned(ctx, duties[i].Access, to, ref); err != nil {
				httpapi.Logger(ctx).Warn("access-request email to the reassignee", "request", h.RequestID, "error", err.Error())
			}
		}
	}
}

// CreateInactive creates a member without an invitation: status inactive,
// no sign-in.
func (s *Service) CreateInactive(ctx context.Context, p *auth.Principal, email, name string, admin bool, assignments []rbac.Assignment) (team.Member, error) {
	e, err := team.NormalizeEmail(email)
	if err != nil {
		return team.Member{}, httpapi.InvalidField("email", err.Error())
	}
	if name, err = httpapi.CleanName("name", name, 120, true); err != nil {
		return team.Member{}, err
	}
	if assignments, err = views.StampAssignments(nil, assignments, p.Member.ID, p.At); err != nil {
		return team.Member{}, err
	}
	for i, a := range assignments {
		if err := p.Roles.ValidateAssignment(a); err != nil {
			return team.Member{}, httpapi.InvalidField(httpapi.Indexed("assignments", i), err.Error())
		}
	}
	if err := CheckScopes(ctx, s.Store, p.AccountID(), assignments); err != nil {
		return team.Member{}, err
	}
	now := s.Now.Now()
	m := team.Member{
		ID: store.NewID("m"), AccountID: p.AccountID(), Email: e, Name: name, Status: rbac.StatusInactive,
		Admin: admin, Assignments: assignments, Version: 1, CreatedAt: now, UpdatedAt: now,
		Notifications: team.NotificationsFor(p.Roles.Preset()),
	}
	if err := p.Roles.CheckChange(p.Member.Authz(p.At), rbac.Member{}, m.Authz(p.At)); err != nil {
		return team.Member{}, auth.Forbidden(err)
	}
	ev := p.Event(ctx, "member.create", "member", m.ID)
	ev.After = snapshot(m)
	if err := p.Acting(s.Store).AddMember(ctx, m, ev); err != nil {
		if errors.Is(err, team.ErrAlreadyMember) {
			return team.Member{}, fault.New(fault.Conflict, "already_member", "This email is already a member of the account.")
		}
		if errors.Is(err, store.ErrRoleGone) {
			return team.Member{}, ErrRoleGone
		}
		return team.Member{}, err
	}
	return m, nil
}

// TransferOwnership moves ownership from the calling owner to another
// active member, who becomes an administrator too.
func (s *Service) TransferOwnership(ctx context.Context, p *auth.Principal, toID string) (team.Member, error) {
	if err := httpapi.CheckID("memberId", toID); err != nil {
		return team.Member{}, err
	}
	if p.Impersonated() {
		return team.Member{}, errImpersonate
	}
	to, err := s.Get(ctx, p, toID)
	if err != nil {
		return team.Member{}, err
	}
	if err := p.Roles.CheckOwnershipTransfer(p.Member.Authz(p.At), to.Authz(p.At)); err != nil {
		return team.Member{}, auth.Forbidden(err)
	}
	acct, err := s.Store.GetAccount(ctx, p.AccountID())
	if err != nil {
		return team.Member{}, err
	}
	ev := p.Event(ctx, "account.transfer_ownership", "account", acct.ID)
	ev.Before = snapshotOf(map[string]string{"owner": p.Member.ID})
	ev.After = snapshotOf(map[string]string{"owner": to.ID})
	if err := s.Store.TransferOwnership(ctx, acct, p.Member, to, ev); err != nil {
		if errors.Is(err, team.ErrStaleVersion) {
			return team.Member{}, errStale
		}
		return team.Member{}, err
	}
	return s.Store.GetMember(ctx, p.AccountID(), to.ID)
}

// CheckScopes refuses assignments that name a store, department or
// supplier the account does not have (400 unknown_scope, naming the
// first), in one BatchGetItem.
func CheckScopes(ctx context.Context, st *store.Store, account string, as []rbac.Assignment) error {
	if len(as) == 0 {
		return nil
	}
	scopes := make([]rbac.Scope, 0, len(as))
	for _, a := range as {
		scopes = append(scopes, a.Scope)
	}
	missing, err := st.ScopesExist(ctx, account, scopes)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return fault.New(fault.Invalid, "unknown_scope", "No such "+string(missing[0].Kind)+" in this account: "+missing[0].String()+". Create it first (PUT /v1/"+string(missing[0].Kind)+"s/{id}).")
	}
	return nil
}

// snapshot is the audited shape of a member.
func snapshot(m team.Member) json.RawMessage {
	return audit.Snapshot(views.FromMemberAt(m, time.Time{}))
}

func snapshotOf(v any) json.RawMessage { return audit.Snapshot(v) }

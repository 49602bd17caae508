package access

import (
	"context"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/clock"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/mail"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
	"github.com/stewardhq/steward/pkg/workflow"
)

// Service implements access requests and their workflow steps (Steps).
type Service struct {
	Store *store.Store
	// Mail sends the emails; only the workflow's steps send any.
	Mail *mail.Outbox
	// Engine runs the approval workflow (Step Functions, or a Runner).
	Engine workflow.Engine
	// PublicURL is the base of the decision links.
	PublicURL string
	// Now is the clock; nil means time.Now.
	Now clock.Clock
	// DecideWithin is how long a request waits for a decision before it
	// expires; zero means DefaultDecideWithin.
	DecideWithin time.Duration
	// PerHour is how many requests a member may make in an hour; zero
	// means DefaultPerHour.
	PerHour int
	Logger  *slog.Logger
}

// DefaultDecideWithin is how long a request waits for a decision: 7 days.
const DefaultDecideWithin = 7 * 24 * time.Hour

// DefaultPerHour is how many access requests a member may make an hour.
const DefaultPerHour = 10

func (s *Service) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Service) decideWithin() time.Duration {
	if s.DecideWithin > 0 {
		return s.DecideWithin
	}
	return DefaultDecideWithin
}

// Public errors.
var (
	errAlreadyGranted     = fault.New(fault.Conflict, "access_already_granted", "You hold this role at this scope already, for at least as long as you ask.")
	errOwner              = fault.New(fault.Conflict, "access_request_by_owner", "Only the owner changes the owner's grants, and nobody decides their own request: the owner cannot ask for access.")
	errDuplicate          = fault.New(fault.Conflict, "access_request_pending", "You have a pending request for this role at this scope already.")
	errNotPending         = fault.New(fault.Conflict, "access_request_not_pending", "The access request is no longer pending.")
	errSelfDecision       = fault.New(fault.Forbidden, "self_decision", "Nobody decides their own access request.")
	errCannotCancel       = fault.New(fault.Forbidden, "cannot_cancel", "Only the requester may cancel an access request.")
	errImpersonate        = fault.New(fault.Forbidden, "impersonation_forbidden", "An impersonated session cannot request or decide access.")
	errRequesterGone      = fault.New(fault.Conflict, "requester_not_a_member", "The requester is no longer a member of this account; the request can only be denied.")
	errRequesterNotActive = fault.New(fault.Conflict, "requester_not_active", "The requester is suspended or inactive; the request can only be denied.")
	errWindowPassed       = fault.New(fault.Unprocessable, "grant_window_passed", "The requested grant would have ended already; deny the request, or approve it with a later expiresAt within the requested one.")
	errRoleGone           = fault.New(fault.Conflict, "role_gone", "The role was deleted meanwhile.")
	errStartFailed        = fault.New(fault.Unavailable, "workflow_unavailable", "The access request could not be started; nothing changed. Try again.")
	errChanged            = fault.New(fault.Conflict, "member_changed", "The requester's membership kept changing; try again.")

	// The link's refusals (410, each with its page).
	errLinkInvalid      = fault.New(fault.Gone, "link_invalid", "This link is not valid.")
	errLinkUsed         = fault.New(fault.Gone, "link_used", "A decision was made with this link already; each link works once.")
	errLinkExpired      = fault.New(fault.Gone, "link_expired", "The time to decide on this request is over.")
	errRequestCancelled = fault.New(fault.Gone, "request_cancelled", "The access request was cancelled by its requester.")
	errRequestDecided   = fault.New(fault.Gone, "request_decided", "The access request was decided already.")
	errLinkNotApprover  = fault.New(fault.Gone, "not_an_approver", "You may no longer grant this role at this scope.")
	errLinkNotDelegate  = fault.New(fault.Gone, "not_a_delegate", "You no longer stand in for the member this link was sent for.")

	// A delegate's refusals in the app.
	errNotDelegate         = fault.New(fault.Forbidden, "not_a_delegate", "You do not stand in for that member now.")
	errDelegateIsRequester = fault.New(fault.Forbidden, "delegate_is_requester", "You requested this access: you cannot decide it on anyone's behalf.")
	errDelegationLost      = fault.New(fault.Conflict, "on_behalf_changed", "The delegation or the member you act for changed meanwhile; read the request again.")
)

// notApprover refuses a decider the grant ceiling does not allow.
func notApprover(err error) error {
	return fault.New(fault.Forbidden, "not_an_approver", "You may not grant this role at this scope: "+detail(err)+".")
}

func detail(err error) string {
	s := err.Error()
	if i := strings.Index(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}

func cleanText(field, v string, max int, required bool) (string, error) {
	v = strings.TrimSpace(v)
	if required && v == "" {
		return "", fault.InvalidField(field, "is required")
	}
	if utf8.RuneCountInString(v) > max {
		return "", fault.InvalidField(field, "is too long")
	}
	for _, r := range v {
		if r != '\n' && r != '\t' && r != '\r' && httpapi.IsControl(r) {
			return "", fault.InvalidField(field, "must not contain control characters")
		}
	}
	return v, nil
}

// validID reports whether id may be an access request id.
func validID(id string) bool {
	return strings.HasPrefix(id, store.AccessRequestIDPrefix) && len(id) <= 80 && !strings.ContainsAny(id, "#/ ")
}

// roleSet returns the account's roles.
func (s *Service) roleSet(ctx context.Context, account string) (*rbac.RoleSet, error) {
	cr, err := s.Store.GetCustomRoles(ctx, account)
	if err != nil {
		return nil, err
	}
	return rbac.NewRoleSetFor(cr.Options, cr.Roles...)
}

// withGrant is member m with the assignment r asks for, ending at
// expires and granted by grantor: a time-bound assignment of the same role
// at the same scope is replaced (a renewal or an extension); a permanent
// one is kept, and then nothing is added (added is false).
func withGrant(m team.Member, r team.AccessRequest, expires time.Time, grantor string) (after team.Member, added bool) {
	after = m
	after.Assignments = make([]rbac.Assignment, 0, len(m.Assignments)+1)
	for _, a := range m.Assignments {
		if a.Role == r.Role && a.Scope == r.Scope {
			if !a.TimeBound() {
				after.Assignments = m.Assignments
				return after, false
			}
			continue
		}
		after.Assignments = append(after.Assignments, a)
	}
	after.Assignments = append(after.Assignments, r.Assignment(expires, grantor))
	return after, true
}

// holds reports whether m holds r's role at r's scope for at least as
// long as r asks (permanently, or until r.ExpiresAt or later), counting
// from now.
func holds(m team.Member, r team.AccessRequest, now time.Time) bool {
	for _, a := range m.Assignments {
		if a.Role != r.Role || a.Scope != r.Scope || (!a.StartsAt.IsZero() && a.StartsAt.After(now)) {
			continue
		}
		if a.ExpiresAt.IsZero() || !r.ExpiresAt.IsZero() && !a.ExpiresAt.Before(r.ExpiresAt) {
			return true
		}
	}
	return false
}

// mayGrant applies the grant ceiling at now: decider may give requester
// the assignment r asks for (ending at expires), exactly as an edit of
// the member's roles would (rbac.RoleSet.CheckChange: the managed scope,
// admin-only roles, and the role's permissions held at that scope;
// administrators always may, the owner's grants only the owner changes).
// Nobody decides their own request.
func mayGrant(rs *rbac.RoleSet, decider, requester team.Member, r team.AccessRequest, expires, now time.Time) error {
	if decider.ID == r.RequesterID {
		return errSelfDecision
	}
	after := requester
	after.Assignments = append(dropSame(requester.Assignments, r), r.Assignment(expires, decider.ID))
	return rs.CheckChange(decider.Authz(now), requester.Authz(now), after.Authz(now))
}

// dropSame returns as without the assignments of r's role at r's scope.
func dropSame(as []rbac.Assignment, r team.AccessRequest) []rbac.Assignment {
	out := make([]rbac.Assignment, 0, len(as))
	for _, a := range as {
		if a.Role != r.Role || a.Scope != r.Scope {
			out = append(out, a)
		}
	}
	return out
}

// summary is a request's audit and event snapshot.
func summary(r team.AccessRequest) map[string]any {
	m := map[string]any{
		"id": r.ID, "requesterId": r.RequesterID, "requesterName": r.RequesterName, "role": r.Role, "scope": r.Scope.String(),
		"reason": r.Reason, "status": string(r.Status), "decideBy": r.DecideBy.UTC(),
	}
	if !r.ExpiresAt.IsZero() {
		m["expiresAt"] = r.ExpiresAt.UTC()
	}
	if r.DeciderID != "" {
		m["deciderId"], m["deciderName"] = r.DeciderID, r.DeciderName
	}
	if r.OnBehalfOfID != "" {
		m["onBehalfOfId"], m["onBehalfOfName"] = r.OnBehalfOfID, r.OnBehalfOfName
	}
	if r.Comment != "" {
		m["comment"] = r.Comment
	}
	if !r.GrantExpiresAt.IsZero() {
		m["grantExpiresAt"] = r.GrantExpiresAt.UTC()
	}
	if r.ByLink {
		m["byLink"] = true
	}
	return m
}

// workflowEvent is the audit event of a change the workflow makes.
func workflowEvent(r team.AccessRequest, action string) audit.Event {
	return audit.Event{
		AccountID: r.AccountID, ActorID: "system", ActorName: "Approval workflow", Action: action,
		TargetType: "access_request", TargetID: r.ID,
	}
}

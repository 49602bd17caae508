package access

import (
	"context"
	"errors"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/onetime"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// What offboarding (pkg/members, store.OffboardMember) needs of access
// requests: whether the reassignee may take a leaver's decision, the
// email of a decision it took, and the end of the leaver's own requests.

// MayGrantAs reports whether member m may decide r by the grant ceiling at
// at (rs: the account's roles), as it would in the app: never the
// requester; a request whose requester left is for administrators only.
func (s *Service) MayGrantAs(ctx context.Context, rs *rbac.RoleSet, m team.Member, r team.AccessRequest, at time.Time) (bool, error) {
	if m.ID == r.RequesterID {
		return false, nil
	}
	requester, err := s.Store.GetMember(ctx, r.AccountID, r.RequesterID)
	if errors.Is(err, team.ErrMemberNotFound) || err == nil && requester.Status == rbac.StatusDeleted {
		return rs.IsAdmin(m.Authz(at)), nil
	}
	if err != nil {
		return false, err
	}
	return mayGrant(rs, m, requester, r, r.ExpiresAt, at) == nil, nil
}

// NotifyReassigned emails to the access-request email of r, a decision it
// took over from a leaver, with a fresh one-time link, under an outbox
// key of its own (ref names the handover, so a retry sends it once); to
// its delegate instead while one stands in for it.
func (s *Service) NotifyReassigned(ctx context.Context, r team.AccessRequest, to team.Member, ref string) error {
	if s.Mail == nil {
		return errors.New("access: no mail sender")
	}
	if r.Status != team.AccessPending || to.Email == "" {
		return nil
	}
	k := requestEmailKey(r.ID, to.ID) + "/handover/" + ref
	if sent, err := s.Store.OutboxSent(ctx, k); err != nil || sent {
		return err
	}
	st := Steps{Service: s}
	via, err := st.recipientDelegate(ctx, r, to.ID, s.Now.Now())
	if err != nil {
		return err
	}
	data := map[string]string{"request": r.ID, "memberId": to.ID}
	if via != nil {
		data["delegateId"] = via.ID
	}
	tok, hash := onetime.New()
	err = s.Store.IssueLinkTokens(ctx, []store.Token{{
		Hash: hash, Kind: store.TokenAccessRequest, AccountID: r.AccountID, SubjectID: subject(r.ID, to.ID), ExpiresAt: r.DecideBy,
		Data: data,
	}})
	if err != nil {
		return err
	}
	a := team.AccessApprover{MemberID: to.ID, Name: to.Name, Email: to.Email}
	return s.sendRequestEmail(ctx, k, r, s.accountName(ctx, r.AccountID), a, via, tok)
}

// CancelForLeaver cancels the pending access requests leaver made, once
// leaver was suspended, deactivated or deleted: a grant to a member who
// left is not to be decided. Each request ends in its own write (status
// cancelled, its pending item removed) with the event ev (the offboarding
// actor's) as access_request.cancelled, reason requester_left, and its
// workflow is told when an engine is at hand (else it times out, and its
// Expire and Finalize leave the ended request alone). It runs after the
// offboarding's own transaction: a member may have many pending requests
// (DefaultPerHour an hour, each pending DefaultDecideWithin), more than
// that transaction has room for. A request that ended meanwhile is left
// alone; it returns the ids cancelled and the first error.
func (s *Service) CancelForLeaver(ctx context.Context, ev audit.Event, leaver team.Member) ([]string, error) {
	var out []string
	var first error
	cursor := ""
	for {
		page, err := s.Store.ListAccessRequests(ctx, leaver.AccountID, leaver.ID, "requester", store.MaxPageSize, cursor)
		if err != nil {
			return out, err
		}
		for _, r := range page.Items {
			if r.Status != team.AccessPending || r.RequesterID != leaver.ID {
				continue
			}
			now := s.Now.Now()
			r.Status, r.FinishedAt, r.UpdatedAt = team.AccessCancelled, now, now
			e := ev
			e.Action, e.TargetType, e.TargetID, e.Before = "access_request.cancelled", "access_request", r.ID, nil
			e.After = audit.Snapshot(map[string]any{"request": summary(r), "reason": "requester_left"})
			err := s.Store.FinishAccessRequest(ctx, r, e)
			switch {
			case errors.Is(err, team.ErrAccessRequestNotPending):
				continue
			case err != nil:
				if first == nil {
					first = err
				}
				continue
			}
			out = append(out, r.ID)
			if s.Engine != nil {
				s.tellWorkflow(ctx, r.AccountID, r.ID)
			}
		}
		if page.Next == "" {
			return out, first
		}
		cursor = page.Next
	}
}

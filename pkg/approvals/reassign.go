package approvals

import (
	"context"
	"errors"
	"strconv"

	"github.com/stewardhq/steward/pkg/documents"
	"github.com/stewardhq/steward/pkg/onetime"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// Helpers for handing a leaving member's seats over (pkg/members,
// Offboard with reassignTo): the store moves the seat (store.OffboardMember);
// these say who may take it and email the one who did.

// MayApprove reports whether m may decide at level of r: the rule a
// level asks its approvers by and Decide checks (active, allowed
// documents.approve, holding the level's role and permission, not the
// requester unless self-approval), or the level's escalation allows.
func (s *Service) MayApprove(rs *rbac.RoleSet, m rbac.Member, r documents.ApprovalRequest, level int) bool {
	if level < 1 || level > len(r.Levels) {
		return false
	}
	return mayDecide(rs, m, r, level)
}

// NotifyReassigned emails to the approval email of r at level, as the
// level's fan-out does, with a fresh one-time link (subject
// "<request>:<level>:<member>", the current token of the seat). Its
// outbox key is "approval/<request>/<level>/<member>/handover/<ref>": ref
// names the handover (one per handover, e.g. the leaver and its version
// after it), so a seat handed to the same member again is emailed again,
// and a retry of the same handover's email is not.
// A request no longer pending at level, or a member without an email, is
// left alone.
func (s *Service) NotifyReassigned(ctx context.Context, r documents.ApprovalRequest, level int, to team.Member, ref string) error {
	if s.Mail == nil {
		return errors.New("approvals: no mail sender")
	}
	if r.Status != documents.RequestPending || r.Level != level || to.Email == "" {
		return nil
	}
	st := Steps{Service: s}
	a := documents.Approver{Level: level, MemberID: to.ID, Name: to.Name, Email: to.Email}
	k := approvalEmailKey(r.ID, level, a.Key()) + "/handover/" + ref
	if sent, err := s.Store.OutboxSent(ctx, k); err != nil || sent {
		return err
	}
	tok, hash := onetime.New()
	err := s.Store.IssueLinkTokens(ctx, []store.Token{{
		Hash: hash, Kind: store.TokenApproval, AccountID: r.AccountID, SubjectID: subject(r.ID, level, a.Key()),
		ExpiresAt: st.expiresAt(r, level),
		Data:      map[string]string{"request": r.ID, "level": strconv.Itoa(level), "approver": a.Key(), "memberId": a.MemberID, "email": a.Email, "name": a.Name},
	}})
	if err != nil {
		return err
	}
	// A reassignee away with a delegate: the email goes to the delegate.
	via, err := st.recipientDelegate(ctx, r, a, s.Now.Now())
	if err != nil {
		return err
	}
	return st.sendApprovalEmail(ctx, k, r, st.requestEmailView(ctx, r), level, "", a, via, tok)
}

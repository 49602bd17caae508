package access

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/mail"
	"github.com/stewardhq/steward/pkg/onetime"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
	"github.com/stewardhq/steward/pkg/workflow"
)

// Steps are the approval workflow's steps for access requests (request
// ids starting with store.AccessRequestIDPrefix; workflow.Mux sends them
// here). An access request has one level that one decision ends.
type Steps struct {
	*Service
	// SendInterval is the least time between two emails of one Notify
	// step; zero means workflow.DefaultSendInterval.
	SendInterval time.Duration
}

var _ workflow.Steps = Steps{}

func (st Steps) load(ctx context.Context, in workflow.StepInput) (team.AccessRequest, error) {
	r, err := st.Store.GetAccessRequest(ctx, in.AccountID, in.RequestID)
	if errors.Is(err, team.ErrAccessRequestNotFound) {
		return r, fmt.Errorf("access: request %s of %s does not exist", in.RequestID, in.AccountID)
	}
	return r, workflow.Transient(err)
}

// Prepare checks that the request exists; its one level is 1.
func (st Steps) Prepare(ctx context.Context, in workflow.StepInput) (workflow.StepOutput, error) {
	if _, err := st.load(ctx, in); err != nil {
		return workflow.StepOutput{}, err
	}
	if in.Levels != 1 {
		return workflow.StepOutput{}, fmt.Errorf("access: request %s: the workflow has %d levels, not 1", in.RequestID, in.Levels)
	}
	return workflow.StepOutput{Level: 1}, nil
}

// Await stores the task token and who is asked (Approvers, at this
// moment), and their entries. A request that ended meanwhile (decided
// before any token was stored, or cancelled) is settled at once with this
// token.
func (st Steps) Await(ctx context.Context, in workflow.StepInput) error {
	r, err := st.load(ctx, in)
	if err != nil {
		return err
	}
	if r.Status != team.AccessPending {
		return workflow.Transient(settle(ctx, st.Engine, r, in.TaskToken))
	}
	now := st.Now.Now()
	asked, err := st.Approvers(ctx, r, now)
	if err != nil {
		return workflow.Transient(err)
	}
	if len(asked) == 0 {
		st.log().WarnContext(ctx, "access: nobody may grant this request; it will expire", "request", r.ID)
	}
	earlier := map[string]time.Time{}
	for _, a := range r.Asked {
		earlier[a.MemberID] = a.AskedAt
	}
	for i := range asked {
		if t, ok := earlier[asked[i].MemberID]; ok {
			asked[i].AskedAt = t
		} else {
			asked[i].AskedAt = now
		}
	}
	ev := workflowEvent(r, "access_request.await")
	ev.After = audit.Snapshot(map[string]any{"asked": len(asked)})
	err = st.Store.AwaitAccessRequest(ctx, r, in.TaskToken, asked, ev)
	if err != nil && !errors.Is(err, team.ErrAccessRequestNotPending) {
		return workflow.Transient(err)
	}
	// Decided or cancelled while this step ran: the decider may have read
	// the request without a token.
	if r, err = st.load(ctx, in); err != nil {
		return err
	}
	if r.Status != team.AccessPending {
		return workflow.Transient(settle(ctx, st.Engine, r, in.TaskToken))
	}
	return nil
}

// PlanNotify returns the asked members' ids in batches once the await is
// stored; a request no longer pending has nobody to email.
func (st Steps) PlanNotify(ctx context.Context, in workflow.StepInput) (workflow.StepOutput, error) {
	return workflow.PlanBatches(ctx, func(ctx context.Context) ([]string, bool, bool, error) {
		r, err := st.load(ctx, in)
		if err != nil || r.Status != team.AccessPending {
			return nil, false, err == nil, err
		}
		var ids []string
		for _, a := range r.Asked {
			ids = append(ids, a.MemberID)
		}
		return ids, r.TaskToken != "", false, nil
	}, fmt.Errorf("access: request %s: the await is not stored yet", in.RequestID))
}

func subject(request, member string) string { return request + ":" + member }

func requestEmailKey(request, member string) string {
	return "access-request/" + request + "/" + member
}

// delegateEmailKey is the outbox key of a member's access-request email
// sent to their delegate instead (as approvals' delegateEmailKey).
func delegateEmailKey(key, delegate string) string { return key + "/via/" + delegate }

// recipientDelegate is the delegate who receives an asked member's email
// instead of them at now: their active delegate (store.ActiveDelegate),
// unless the delegate requested r (a delegate never decides their own
// request: the member's own email applies then). nil: the member does.
func (st Steps) recipientDelegate(ctx context.Context, r team.AccessRequest, member string, now time.Time) (*team.Member, error) {
	id, ok, err := st.Store.ActiveDelegate(ctx, r.AccountID, member, now)
	if err != nil || !ok || id == r.RequesterID {
		return nil, err
	}
	m, err := st.Store.GetMember(ctx, r.AccountID, id)
	if errors.Is(err, team.ErrMemberNotFound) {
		return nil, nil
	}
	if err != nil || m.Status != rbac.StatusActive || m.Email == "" {
		return nil, err
	}
	return &m, nil
}

// Notify emails the asked members of the batch not emailed yet, each with
// a one-time decision link (stored hashed; the raw token lives only in
// the email), paced by SendInterval. A failed send is reported (transient)
// once every member of the batch was tried, so a retry sends only what is
// missing. A request no longer pending is left alone. A member with an
// active delegation at send time (recipientDelegate) is emailed through
// their delegate: the email goes to the delegate, says on whose behalf,
// has its own outbox key (delegateEmailKey) and its link decides on the
// member's behalf; either email sent counts as sent.
func (st Steps) Notify(ctx context.Context, in workflow.StepInput) error {
	r, err := st.load(ctx, in)
	if err != nil || r.Status != team.AccessPending {
		return err
	}
	byID := map[string]team.AccessApprover{}
	for _, a := range r.Asked {
		byID[a.MemberID] = a
	}
	now := st.Now.Now()
	var mints []mint
	var tokens []store.Token
	for _, id := range in.Approvers {
		a, ok := byID[id]
		if !ok {
			continue
		}
		key := requestEmailKey(r.ID, id)
		sent, err := st.Store.OutboxSent(ctx, key)
		if err != nil {
			return workflow.Transient(err)
		}
		if sent {
			continue
		}
		via, err := st.recipientDelegate(ctx, r, id, now)
		if err != nil {
			return workflow.Transient(err)
		}
		data := map[string]string{"request": r.ID, "memberId": id}
		if via != nil {
			if sent, err = st.Store.OutboxSent(ctx, delegateEmailKey(key, via.ID)); err != nil {
				return workflow.Transient(err)
			}
			if sent {
				continue
			}
			data["delegateId"] = via.ID
		}
		tok, hash := onetime.New()
		mints = append(mints, mint{a: a, token: tok, via: via})
		tokens = append(tokens, store.Token{
			Hash: hash, Kind: store.TokenAccessRequest, AccountID: r.AccountID, SubjectID: subject(r.ID, id), ExpiresAt: r.DecideBy,
			Data: data,
		})
	}
	if len(mints) == 0 {
		return nil
	}
	if err := st.Store.IssueLinkTokens(ctx, tokens); err != nil {
		return workflow.Transient(err)
	}
	account := st.accountName(ctx, r.AccountID)
	var failed []error
	if err := workflow.Paced(ctx, len(mints), st.SendInterval, func(i int) {
		m := mints[i]
		if err := st.sendRequestEmail(ctx, r, account, m.a, m.via, m.token); err != nil {
			st.log().WarnContext(ctx, "access: request email not sent", "request", r.ID, "approver", m.a.MemberID, "error", err)
			failed = append(failed, fmt.Errorf("approver %s: %w", m.a.MemberID, err))
		}
	}); err != nil {
		return err
	}
	if len(failed) > 0 {
		return workflow.Transient(errors.Join(failed...))
	}
	return nil
}

// mint is one decision link about to be emailed: to a, or to via, a's
// delegate.
type mint struct {
	a     team.AccessApprover
	token string
	via   *team.Member
}

// accountName is the account's name for an email ("" when unread).
func (s *Service) accountName(ctx context.Context, account string) string {
	if acct, err := s.Store.GetAccount(ctx, account); err == nil {
		return acct.Name
	}
	return ""
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func (st Steps) sendRequestEmail(ctx context.Context, r team.AccessRequest, account string, a team.AccessApprover, via *team.Member, token string) error {
	return st.Service.sendRequestEmail(ctx, requestEmailKey(r.ID, a.MemberID), r, account, a, via, token)
}

// sendRequestEmail sends a the access-request email of r with the link of
// token under the outbox key k (to via instead, a's delegate, under k's
// delegate variant, saying on whose behalf, when via is set).
func (s *Service) sendRequestEmail(ctx context.Context, k string, r team.AccessRequest, account string, a team.AccessApprover, via *team.Member, token string) error {
	data := mail.AccessRequestData{
		ApproverName: a.Name, RequesterName: orDefault(r.RequesterName, r.RequesterEmail), AccountName: account,
		Role: r.Role, Scope: r.Scope.String(), Reason: r.Reason, GrantExpiresAt: r.ExpiresAt,
		DecideLink: s.PublicURL + "/access/" + token, ExpiresAt: r.DecideBy,
	}
	to := mail.Address{Name: a.Name, Email: a.Email}
	if via != nil {
		data.ApproverName, data.OnBehalfOf = via.Name, orDefault(a.Name, a.Email)
		k, to = delegateEmailKey(k, via.ID), mail.Address{Name: via.Name, Email: via.Email}
	}
	subj, text, html, err := mail.Render(mail.TemplateAccessRequest, data)
	if err != nil {
		return err
	}
	_, _, err = s.Mail.Send(ctx, k, mail.Message{
		To: []mail.Address{to}, Subject: subj, Text: text, HTML: html,
		Tags: map[string]string{"kind": "access_request"},
	})
	return err
}

// Tick is never reached: access requests start without timers (no
// reminders, no escalation), so their workflow runs no Tick step.
func (st Steps) Tick(_ context.Context, in workflow.StepInput) (workflow.StepOutput, error) {
	return workflow.StepOutput{}, fmt.Errorf("access: request %s has no timers", in.RequestID)
}

// Expire marks a request still pending expired.
func (st Steps) Expire(ctx context.Context, in workflow.StepInput) error {
	r, err := st.load(ctx, in)
	if err != nil {
		return err
	}
	return st.end(ctx, r, team.AccessExpired)
}

// end ends a pending request with status; one that ended already is left
// alone.
func (st Steps) end(ctx context.Context, r team.AccessRequest, status team.AccessStatus) error {
	if r.Status != team.AccessPending {
		return nil
	}
	now := st.Now.Now()
	r.Status, r.FinishedAt, r.UpdatedAt = status, now, now
	ev := workflowEvent(r, "access_request."+string(status))
	ev.After = audit.Snapshot(map[string]any{"request": summary(r), "reason": string(status)})
	err := st.Store.FinishAccessRequest(ctx, r, ev)
	if errors.Is(err, team.ErrAccessRequestNotPending) {
		return nil
	}
	return workflow.Transient(err)
}

// Finalize emails the requester how the request ended (approved, denied
// or expired; a cancellation is the requester's own and sends nothing).
// The status is the stored one: a decision commits it before the
// workflow hears of it. A cancelled execution whose request is still
// pending (stopped) ends it as cancelled.
func (st Steps) Finalize(ctx context.Context, in workflow.StepInput) error {
	r, err := st.load(ctx, in)
	if err != nil {
		return err
	}
	if r.Status == team.AccessPending {
		status := team.AccessExpired
		if in.Outcome == workflow.Cancelled {
			status = team.AccessCancelled
		}
		if err := st.end(ctx, r, status); err != nil {
			return err
		}
		if r, err = st.load(ctx, in); err != nil {
			return err
		}
	}
	var o mail.Outcome
	switch r.Status {
	case team.AccessApproved:
		o = mail.OutcomeApproved
	case team.AccessDenied:
		o = mail.OutcomeDenied
	case team.AccessExpired:
		o = mail.OutcomeExpired
	default:
		return nil
	}
	if r.RequesterEmail == "" {
		return nil
	}
	data := mail.AccessOutcomeData{RequesterName: r.RequesterName, Role: r.Role, Scope: r.Scope.String(), Outcome: o}
	if o != mail.OutcomeExpired {
		data.DeciderName, data.Comment, data.GrantExpiresAt = r.DeciderName, r.Comment, r.GrantExpiresAt
	}
	subj, text, html, err := mail.Render(mail.TemplateAccessOutcome, data)
	if err != nil {
		return err
	}
	_, _, err = st.Mail.Send(ctx, "access-outcome/"+r.ID, mail.Message{
		To: []mail.Address{{Name: r.RequesterName, Email: r.RequesterEmail}}, Subject: subj, Text: text, HTML: html,
		Tags: map[string]string{"kind": "access_outcome"},
	})
	return workflow.Transient(err)
}

package approvals

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/documents"
	"github.com/stewardhq/steward/pkg/mail"
	"github.com/stewardhq/steward/pkg/onetime"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
	"github.com/stewardhq/steward/pkg/workflow"
)

// Steps are the approval workflow's steps over a Service.
type Steps struct {
	*Service
	// SendInterval is the least time between two approval emails of one
	// Notify step; zero means workflow.DefaultSendInterval.
	SendInterval time.Duration
}

var _ workflow.Steps = Steps{}

func workflowEvent(r documents.ApprovalRequest, action string) audit.Event {
	return audit.Event{
		AccountID: r.AccountID, ActorID: "system", ActorName: "Approval workflow", Action: action,
		TargetType: "approval_request", TargetID: r.ID,
	}
}

func (st Steps) load(ctx context.Context, in workflow.StepInput) (documents.ApprovalRequest, error) {
	r, err := st.Store.GetApprovalRequest(ctx, in.AccountID, in.RequestID)
	if errors.Is(err, documents.ErrRequestNotFound) {
		return r, fmt.Errorf("approvals: request %s of %s does not exist", in.RequestID, in.AccountID)
	}
	return r, workflow.Transient(err)
}

// Prepare checks that the request exists; the levels were snapshotted
// when it was made. The first level is 1.
func (st Steps) Prepare(ctx context.Context, in workflow.StepInput) (workflow.StepOutput, error) {
	r, err := st.load(ctx, in)
	if err != nil {
		return workflow.StepOutput{}, err
	}
	if len(r.Levels) != in.Levels {
		return workflow.StepOutput{}, fmt.Errorf("approvals: request %s has %d levels, the workflow %d", r.ID, len(r.Levels), in.Levels)
	}
	return workflow.StepOutput{Level: 1}, nil
}

// subject is an approval token's subject.
func subject(request string, level int, approver string) string {
	return request + ":" + strconv.Itoa(level) + ":" + approver
}

func approvalEmailKey(request string, level int, approver string) string {
	return "approval/" + request + "/" + strconv.Itoa(level) + "/" + approver
}

// delegateEmailKey is the outbox key of an approver's approval email sent
// to their delegate instead (key is the approver's own key): distinct, so
// that the approver's own email (sent before the delegation, or after it
// ends) and the delegate's are told apart.
func delegateEmailKey(key, delegate string) string { return key + "/via/" + delegate }

// recipientDelegate is the delegate who receives a member approver's
// email instead of them at now: their active delegate (store.ActiveDelegate),
// unless the delegate requested r (a delegate never decides their own
// request: the approver's own email applies then). nil: the approver
// receives it.
func (st Steps) recipientDelegate(ctx context.Context, r documents.ApprovalRequest, a documents.Approver, now time.Time) (*team.Member, error) {
	if a.MemberID == "" {
		return nil, nil
	}
	m, ok, err := st.delegateOf(ctx, r.AccountID, a.MemberID, now)
	if err != nil || !ok || m.ID == r.RequesterID || m.Email == "" {
		return nil, err
	}
	return &m, nil
}

// approvers lists who is asked at level of r.
func (st Steps) approvers(ctx context.Context, r documents.ApprovalRequest, level int) ([]documents.Approver, error) {
	rule := r.Levels[level-1]
	out, err := st.membersFor(ctx, r, level, func(rs *rbac.RoleSet, m rbac.Member) bool { return mayApprove(rs, m, r, rule) })
	if err != nil {
		return nil, err
	}
	if level == 1 && r.External != nil {
		// An external approver the rules no longer allow (policy or
		// domain changed, or now a member) gets no link.
		switch err := st.externalStillAllowed(ctx, r, r.External.Email); {
		case err == nil:
			out = append(out, documents.Approver{Level: 1, Name: r.External.Name, Email: r.External.Email})
		case !externalRefusal(err):
			return nil, err
		}
	}
	return out, nil
}

// membersFor lists the live members with an email that allow accepts,
// as approvers of level.
func (st Steps) membersFor(ctx context.Context, r documents.ApprovalRequest, level int, allow func(*rbac.RoleSet, rbac.Member) bool) ([]documents.Approver, error) {
	rs, err := st.roleSet(ctx, r.AccountID)
	if err != nil {
		return nil, err
	}
	now := st.Now.Now()
	var out []documents.Approver
	cursor := ""
	for {
		page, err := st.Store.ListLiveMembers(ctx, r.AccountID, store.MaxPageSize, cursor)
		if err != nil {
			return nil, err
		}
		for _, m := range page.Items {
			if m.Email != "" && allow(rs, m.Authz(now)) {
				out = append(out, documents.Approver{Level: level, MemberID: m.ID, Name: m.Name, Email: m.Email})
			}
		}
		if page.Next == "" {
			return out, nil
		}
		cursor = page.Next
	}
}

// Await stores the level's task token and who is asked at it (and which
// members the level awaits). It sends no email: the workflow's fan-out
// (PlanNotify, then Notify per batch) does, while the level waits.
func (st Steps) Await(ctx context.Context, in workflow.StepInput) error {
	r, err := st.load(ctx, in)
	if err != nil {
		return err
	}
	if r.Status != documents.RequestPending {
		return st.notPending(ctx, r, in.TaskToken)
	}
	if in.Level > len(r.Levels) {
		return fmt.Errorf("approvals: request %s has no level %d", r.ID, in.Level)
	}
	asked, err := st.approvers(ctx, r, in.Level)
	if err != nil {
		return workflow.Transient(err)
	}
	if len(asked) == 0 {
		st.log().WarnContext(ctx, "approvals: nobody may approve this level; the request will expire", "request", r.ID, "level", in.Level)
	}
	decided := map[string]bool{}
	if r.Level == in.Level {
		if decided, _, err = st.decidedAt(ctx, r, in.Level); err != nil {
			return workflow.Transient(err)
		}
	}
	// The level's escalation asked more people than its rule: they stay
	// asked when the level awaits again (after a Tick).
	if r.Level == in.Level && r.EscalatedLevel == in.Level {
		rule := map[string]bool{}
		for _, a := range asked {
			rule[a.Key()] = true
		}
		for _, a := range r.Asked {
			if a.Level == in.Level && a.Escalated && !rule[a.Key()] {
				asked = append(asked, a)
			}
		}
	}
	now := st.Now.Now()
	var all []documents.Approver
	earlier := map[string]documents.Approver{}
	for _, a := range r.Asked {
		if a.Level != in.Level {
			all = append(all, a)
		} else {
			earlier[a.Key()] = a
		}
	}
	var awaiting []string
	for _, a := range asked {
		if e, ok := earlier[a.Key()]; ok {
			a.AskedAt = e.AskedAt
		} else {
			a.AskedAt = now
		}
		all = append(all, a)
		if a.MemberID != "" && !decided[a.Key()] {
			awaiting = append(awaiting, a.MemberID)
		}
	}
	ev := workflowEvent(r, "approval.await")
	ev.After = audit.Snapshot(map[string]any{"level": in.Level, "asked": len(asked)})
	err = st.Store.AwaitLevel(ctx, r, in.Level, in.TaskToken, all, awaiting, nil, ev)
	if errors.Is(err, documents.ErrRequestNotPending) {
		if r, err = st.load(ctx, in); err != nil {
			return err
		}
		return st.notPending(ctx, r, in.TaskToken)
	}
	if err != nil {
		return workflow.Transient(err)
	}
	// A retried await (new task token), or the await of a level after a
	// Tick, of a level already decided finishes it at once: a decision
	// sent meanwhile went to the previous token.
	if r.Level == in.Level {
		if o := st.levelOutcome(ctx, r, in.Level); o != "" {
			if err := st.Engine.SendTaskSuccess(ctx, in.TaskToken, workflow.Decision{Outcome: o}); err != nil && !errors.Is(err, workflow.ErrTaskNotFound) {
				return workflow.Transient(err)
			}
		}
	}
	return nil
}

// levelOutcome is the level's result when it is decided (a denial
// recorded, or its approvals), else "".
func (st Steps) levelOutcome(ctx context.Context, r documents.ApprovalRequest, level int) workflow.Outcome {
	fresh, err := st.Store.GetApprovalRequest(ctx, r.AccountID, r.ID)
	if err != nil || fresh.Status != documents.RequestPending || fresh.Level != level {
		return ""
	}
	if fresh.DecidedBy != "" || fresh.Approvals > 0 {
		if _, denied, err := st.decidedAt(ctx, fresh, level); err == nil && denied {
			return workflow.Denied
		}
	}
	if fresh.Approvals >= levelRequired(fresh, level) {
		return workflow.Approved
	}
	return ""
}

// decidedAt returns the approver keys that decided at level of r, and
// whether one of them denied.
func (st Steps) decidedAt(ctx context.Context, r documents.ApprovalRequest, level int) (map[string]bool, bool, error) {
	ds, err := st.Store.ListDecisions(ctx, r.AccountID, r.ID)
	if err != nil {
		return nil, false, err
	}
	decided, denied := map[string]bool{}, false
	for _, d := range ds {
		if d.Level == level {
			decided[d.Approver] = true
			denied = denied || d.Outcome == string(documents.RequestDenied)
		}
	}
	return decided, denied, nil
}

// externalNotifyID names the external approver in the fan-out's batches:
// the workflow's state holds ids, never addresses.
const externalNotifyID = "external"

// notifyID is a's id in the fan-out's batches: the member id, or
// externalNotifyID.
func notifyID(a documents.Approver) string {
	if a.MemberID != "" {
		return a.MemberID
	}
	return externalNotifyID
}

// PlanNotify returns the ids of the approvers asked at the level, in
// batches of workflow.NotifyBatchSize, once the level's await is stored
// (the request at that level with a task token). A request no longer
// pending, or past the level, has nobody to email.
func (st Steps) PlanNotify(ctx context.Context, in workflow.StepInput) (workflow.StepOutput, error) {
	return workflow.PlanBatches(ctx, func(ctx context.Context) ([]string, bool, bool, error) {
		r, err := st.load(ctx, in)
		if err != nil || r.Status != documents.RequestPending || r.Level > in.Level {
			return nil, false, err == nil, err
		}
		var ids []string
		for _, a := range r.Asked {
			if a.Level == in.Level {
				ids = append(ids, notifyID(a))
			}
		}
		return ids, r.Level == in.Level && r.TaskToken != "", false, nil
	}, fmt.Errorf("approvals: request %s: level %d is not stored yet", in.RequestID, in.Level))
}

// Notify emails the approvers in.Approvers asked at the level who have
// neither been emailed (the outbox remembers each approval email by its
// key) nor decided, members only while active (store.ActiveMembers, one
// BatchGetItem: one suspended, deactivated or deleted since the level
// asked them gets no email, reminder or escalation's): it mints each one's one-time link (stored hashed; the
// raw token lives only in the email) and sends the emails, paced by
// SendInterval. Every approver of the batch is tried; a failed send is
// reported (transient) once all are, so that the workflow retries the
// batch and the retry sends only what is missing. A request no longer
// pending, past the level, or whose level is decided (its approvals, or
// a denial) is left alone. A member with an active delegation at send time
// (recipientDelegate) is emailed through their delegate: the email goes to
// the delegate, says on whose behalf, and has its own outbox key
// (delegateEmailKey); either email sent counts as sent.
func (st Steps) Notify(ctx context.Context, in workflow.StepInput) error {
	r, err := st.load(ctx, in)
	if err != nil {
		return err
	}
	if r.Status != documents.RequestPending || r.Level != in.Level {
		return nil
	}
	byID := map[string]documents.Approver{}
	for _, a := range r.Asked {
		if a.Level == in.Level {
			byID[notifyID(a)] = a
		}
	}
	// Every decision sets decidedBy: a request without one has none to
	// list (the usual case of a first level's batches).
	decided, denied := map[string]bool{}, false
	if r.DecidedBy != "" || r.Approvals > 0 {
		if decided, denied, err = st.decidedAt(ctx, r, in.Level); err != nil {
			return workflow.Transient(err)
		}
	}
	if denied || r.Approvals >= levelRequired(r, in.Level) {
		return nil // the level is decided: its links would be refused
	}
	now := st.Now.Now()
	expires := now.Add(timeoutOf(r))
	type mint struct {
		a     documents.Approver
		token string
		// via is the delegate who receives a's email (nil: a does).
		via *team.Member
	}
	var members []string
	for _, id := range in.Approvers {
		if a, ok := byID[id]; ok && a.MemberID != "" && !decided[a.Key()] {
			members = append(members, a.MemberID)
		}
	}
	active, err := st.Store.ActiveMembers(ctx, r.AccountID, members)
	if err != nil {
		return workflow.Transient(err)
	}
	var mints []mint
	var tokens []store.Token
	for _, id := range in.Approvers {
		a, ok := byID[id]
		if !ok || decided[a.Key()] {
			continue // no longer asked, or decided already
		}
		if a.MemberID != "" && !active[a.MemberID] {
			continue // suspended, deactivated or deleted since asked
		}
		key := notifyEmailKey(r, in, a)
		sent, err := st.Store.OutboxSent(ctx, key)
		if err != nil {
			return workflow.Transient(err)
		}
		if sent {
			continue
		}
		via, err := st.recipientDelegate(ctx, r, a, now)
		if err != nil {
			return workflow.Transient(err)
		}
		data := map[string]string{"request": r.ID, "level": strconv.Itoa(in.Level), "approver": a.Key(), "memberId": a.MemberID, "email": a.Email, "name": a.Name}
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
			Hash: hash, Kind: store.TokenApproval, AccountID: r.AccountID, SubjectID: notifySubject(r, in, a), ExpiresAt: expires,
			Data: data,
		})
	}
	if len(mints) == 0 {
		return nil
	}
	// The level's await event is the audit trail's; the links add none.
	if err := st.Store.IssueLinkTokens(ctx, tokens); err != nil {
		return workflow.Transient(err)
	}
	view := st.requestEmailView(ctx, r)
	var failed []error
	if err := workflow.Paced(ctx, len(mints), st.SendInterval, func(i int) {
		m := mints[i]
		if err := st.sendRequestEmail(ctx, r, view, in, m.a, m.via, m.token); err != nil {
			// Ids only: no address, no link.
			st.log().WarnContext(ctx, "approvals: approval email not sent", "request", r.ID, "level", in.Level, "approver", notifyID(m.a), "error", err)
			failed = append(failed, fmt.Errorf("approver %s: %w", notifyID(m.a), err))
		}
	}); err != nil {
		return err
	}
	if len(failed) > 0 {
		return workflow.Transient(errors.Join(failed...))
	}
	return nil
}

// expiresAt is when the level expires, as its emails say: its timeout
// after its start (with timers), or from now (the level's first emails
// go out as it starts).
func (st Steps) expiresAt(r documents.ApprovalRequest, level int) time.Time {
	if r.TimerLevel == level && !r.LevelStartedAt.IsZero() {
		return r.LevelStartedAt.Add(timeoutOf(r))
	}
	return st.Now.Now().Add(timeoutOf(r))
}

func timeoutOf(r documents.ApprovalRequest) time.Duration {
	return time.Duration(r.TimeoutSeconds) * time.Second
}

// notPending handles an await on a request that ended meanwhile: a
// cancelled one fails its task with ErrorCancelled.
func (st Steps) notPending(ctx context.Context, r documents.ApprovalRequest, token string) error {
	if r.Status != documents.RequestCancelled {
		return nil
	}
	err := st.Engine.SendTaskFailure(ctx, token, workflow.ErrorCancelled)
	if err != nil && !errors.Is(err, workflow.ErrTaskNotFound) {
		return workflow.Transient(err)
	}
	return nil
}

func docTypeLabel(t rbac.DocType) string {
	s := strings.ReplaceAll(string(t), "_", " ")
	switch t {
	case rbac.DocBOM:
		return "BOM"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func amountText(a float64) string { return strconv.FormatFloat(a, 'f', 2, 64) }

// emailView is what every approval email of a request shows beside the
// approver's own name and link.
type emailView struct {
	account string
	names   names
}

// requestEmailView reads the account's name and the request's scope
// names once for a batch of approval emails.
func (st Steps) requestEmailView(ctx context.Context, r documents.ApprovalRequest) emailView {
	v := emailView{names: st.scopeNames(ctx, r)}
	if acct, err := st.Store.GetAccount(ctx, r.AccountID); err == nil {
		v.account = acct.Name
	}
	return v
}

// notifySubject is the subject of the link a Notify of in mints for a:
// the approver's at the level, or, for a reminder, one of the reminder's
// own, so that the link of the first email keeps working beside it (the
// approver still votes once: decisions are one per approver and level).
func notifySubject(r documents.ApprovalRequest, in workflow.StepInput, a documents.Approver) string {
	if in.Kind == workflow.ActionRemind {
		return subject(r.ID, in.Level, a.Key()) + ":r" + strconv.Itoa(r.Reminders)
	}
	return subject(r.ID, in.Level, a.Key())
}

// notifyEmailKey is the outbox key of the email a Notify of in sends to
// a: the approval email (a level's first ask, or its escalation's), or
// the level's current reminder.
func notifyEmailKey(r documents.ApprovalRequest, in workflow.StepInput, a documents.Approver) string {
	if in.Kind == workflow.ActionRemind {
		return reminderEmailKey(r.ID, in.Level, r.Reminders, a.Key())
	}
	return approvalEmailKey(r.ID, in.Level, a.Key())
}

// sendRequestEmail sends a's email of the Notify in (the level's ask, a
// reminder or an escalation's) with its link: to a, or to via, a's
// delegate, saying on whose behalf (under its own outbox key).
func (st Steps) sendRequestEmail(ctx context.Context, r documents.ApprovalRequest, v emailView, in workflow.StepInput, a documents.Approver, via *team.Member, token string) error {
	var reason mail.ApprovalReason
	switch in.Kind {
	case workflow.ActionRemind:
		reason = mail.ReasonReminder
	case workflow.ActionEscalate:
		reason = mail.ReasonEscalation
	}
	return st.sendApprovalEmail(ctx, notifyEmailKey(r, in, a), r, v, in.Level, reason, a, via, token)
}

// sendApprovalEmail sends a the approval email of r at level with the
// link of token, under the outbox key k (to via instead, a's delegate,
// under k's delegate variant, when via is set).
func (st Steps) sendApprovalEmail(ctx context.Context, k string, r documents.ApprovalRequest, v emailView, level int, reason mail.ApprovalReason, a documents.Approver, via *team.Member, token string) error {
	n := v.names
	data := mail.ApprovalRequestData{
		ApproverName: a.Name, RequesterName: orDefault(r.RequesterName, r.RequesterEmail), AccountName: v.account,
		DocumentType: docTypeLabel(r.DocType), DocumentTitle: r.DocTitle, StoreName: n.store,
		DepartmentName: n.department, SupplierName: n.supplier,
		Amount: amountText(r.Amount), Currency: r.Currency, Note: r.Note,
		ApproveLink: st.PublicURL + "/approve/" + token, ExpiresAt: st.expiresAt(r, level), Reason: reason,
	}
	key, to := k, mail.Address{Name: a.Name, Email: a.Email}
	if via != nil {
		data.ApproverName, data.OnBehalfOf = via.Name, orDefault(a.Name, a.Email)
		key, to = delegateEmailKey(key, via.ID), mail.Address{Name: via.Name, Email: via.Email}
	}
	subj, text, html, err := mail.Render(mail.TemplateApprovalRequest, data)
	if err != nil {
		return err
	}
	_, _, err = st.Mail.Send(ctx, key, mail.Message{
		To: []mail.Address{to}, Subject: subj, Text: text, HTML: html,
	})
	return err
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Expire marks the request and its document expired.
func (st Steps) Expire(ctx context.Context, in workflow.StepInput) error {
	r, err := st.load(ctx, in)
	if err != nil {
		return err
	}
	return st.finish(ctx, r, documents.RequestExpired, rbac.DocExpired)
}

// finish ends a pending request; one that ended already is left alone.
func (st Steps) finish(ctx context.Context, r documents.ApprovalRequest, s documents.RequestStatus, doc rbac.DocStatus) error {
	if r.Status != documents.RequestPending {
		return nil
	}
	ev := workflowEvent(r, "approval."+string(s))
	ev.After = audit.Snapshot(endSnapshot(r, s, doc, ""))
	err := st.Store.FinishRequest(ctx, r, s, doc, st.Now.Now(), ev)
	if errors.Is(err, documents.ErrDocumentChanged) {
		// The document no longer waits on this request: end the request
		// alone.
		ev.After = audit.Snapshot(endSnapshot(r, s, "", ""))
		err = st.Store.FinishRequest(ctx, r, s, "", st.Now.Now(), ev)
	}
	if errors.Is(err, documents.ErrRequestNotPending) {
		return nil
	}
	return workflow.Transient(err)
}

// Finalize records the outcome and emails the requester.
func (st Steps) Finalize(ctx context.Context, in workflow.StepInput) error {
	r, err := st.load(ctx, in)
	if err != nil {
		return err
	}
	var (
		status documents.RequestStatus
		doc    rbac.DocStatus
		mo     mail.Outcome
	)
	switch in.Outcome {
	case workflow.Approved:
		status, doc, mo = documents.RequestApproved, rbac.DocApproved, mail.OutcomeApproved
	case workflow.Denied:
		status, doc, mo = documents.RequestDenied, rbac.DocDenied, mail.OutcomeDenied
	case workflow.Expired:
		status, doc, mo = documents.RequestExpired, rbac.DocExpired, mail.OutcomeExpired
	default:
		return st.finish(ctx, r, documents.RequestCancelled, rbac.DocDraft)
	}
	if err := st.finish(ctx, r, status, doc); err != nil {
		return err
	}
	if r, err = st.load(ctx, in); err != nil {
		return err
	}
	if r.Status != status || r.RequesterEmail == "" {
		return nil
	}
	link := ""
	if d, err := st.Store.GetDocument(ctx, r.AccountID, r.DocType, r.DocID); err == nil {
		link = d.URL
	}
	decider, comment := r.DecidedBy, r.Comment
	if mo == mail.OutcomeExpired {
		decider, comment = "", ""
	}
	subj, text, html, err := mail.Render(mail.TemplateApprovalOutcome, mail.ApprovalOutcomeData{
		RequesterName: r.RequesterName, DocumentType: docTypeLabel(r.DocType), DocumentTitle: r.DocTitle,
		Amount: amountText(r.Amount), Currency: r.Currency, Outcome: mo, DeciderName: decider, Comment: comment, Link: link,
	})
	if err != nil {
		return err
	}
	_, _, err = st.Mail.Send(ctx, "approval-outcome/"+r.ID, mail.Message{
		To: []mail.Address{{Name: r.RequesterName, Email: r.RequesterEmail}}, Subject: subj, Text: text, HTML: html,
	})
	return workflow.Transient(err)
}

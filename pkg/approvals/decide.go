package approvals

import (
	"context"
	"errors"
	"strconv"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/documents"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/onetime"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
	"github.com/stewardhq/steward/pkg/workflow"
)

// DecideInput is one decision on an approval request, made in the app or
// by an emailed link. Exactly one way is set: Principal (a signed-in
// member deciding on RequestID in the app) or Token (the raw token of an
// approval link, which names the request, the level and the approver).
type DecideInput struct {
	Principal *auth.Principal
	RequestID string
	Token     string
	// Decision is "approve" or "deny"; Comment is optional.
	Decision, Comment string
	// OnBehalfOf (in the app only) is the member the principal decides
	// for as their delegate; empty: the principal's own vote.
	OnBehalfOf string
}

// Result is a recorded decision.
type Result struct {
	// Request is the request after the decision.
	Request documents.ApprovalRequest
	// Decisions are the request's decisions, this one included (in the
	// app only).
	Decisions []documents.ApprovalDecision
	// Approved is the decision: approve, or deny.
	Approved bool
	// Link is what the link's page shows once it decided (by link only).
	Link *LinkView
}

// LinkView is what an approval link's page shows: the request, its store
// and department by name (see scopeNames), and the link's level.
type LinkView struct {
	DocType, Title, Amount, Currency string
	// Store, Department and Supplier are names (see scopeNames).
	Store, Department, Supplier string
	Requester                   string
	Note                        string
	Level, Levels               int
	// OnBehalfOf names the member a delegate's link decides for.
	OnBehalfOf string
}

// Decision is a decision as the app or the approval page gives it.
type Decision struct {
	Approve bool
	Comment string
}

func parseDecision(decision, comment string) (Decision, error) {
	var d Decision
	switch decision {
	case "approve":
		d.Approve = true
	case "deny":
	default:
		return d, fault.InvalidField("decision", `must be "approve" or "deny"`)
	}
	c, err := cleanText("comment", comment, 1000)
	if err != nil {
		return d, err
	}
	d.Comment = c
	return d, nil
}

func outcome(approve bool) string {
	if approve {
		return string(documents.RequestApproved)
	}
	return string(documents.RequestDenied)
}

// ballot is a vote about to be recorded: the request and level it is
// cast at, the approver (the decision's identity fields), the audit event,
// the store it is written through and, by link, the token it consumes.
type ballot struct {
	request documents.ApprovalRequest
	level   int
	dec     documents.ApprovalDecision
	event   audit.Event
	// writer is the store the vote is written through: in the app, the
	// principal's acting store, which requires the approver's member item
	// unchanged since the request read it (rights at commit time).
	writer *store.Store
	// link is the link's token, when the vote is cast by link.
	link *store.Token
	hash string
	// ob is what a delegate's vote on behalf of dec.MemberID rests on.
	ob *store.OnBehalf
}

// Decide records one decision, in the app or by an emailed link: every
// rule of deciding is here. The approver must be asked at the request's
// current level and still allowed to approve (in the app: the member's
// rights, required unchanged when the vote commits; by link: the member's
// rights today, or, for an external approver, today's policy, domains and
// membership); one person votes once per level (an approver key per
// level, and a member who voted by an external link does not vote again
// in the app); a link is consumed in the decision's transaction. The
// decision records the approver and, in an impersonated session, the
// admin acting. A level ends when it has its approvals or on a denial:
// the decider sends the workflow the level's result (in the app a
// failure to send is the caller's error; by link it is logged, and the
// level's retry or the request's expiry catches up).
//
// Refusals by link are the link's: errLinkInvalid, errLinkUsed,
// errLinkExpired, errRequestCancelled, errNotPending (the request or its
// level was decided), errAlreadyDecided, errNotApprover, the external
// rules' errors (errExternalOff, errExternalDomain, errExternalIsMember,
// errExternalIsRequester), a delegate's (errNotDelegate,
// errDelegateIsRequester) and an invalid decision.
//
// A delegate decides on behalf of a member (in the app with OnBehalfOf,
// or by the link emailed to them in the member's stead): the vote is the
// member's, resting on the member's rights and the delegation (see
// onBehalfCheck), and the decision records the delegate too.
func (s *Service) Decide(ctx context.Context, in DecideInput) (Result, error) {
	if in.Principal != nil {
		if err := in.Principal.RequireMember(); err != nil {
			return Result{}, err
		}
	}
	d, err := parseDecision(in.Decision, in.Comment)
	if err != nil {
		return Result{}, err
	}
	var b ballot
	if in.Principal != nil {
		b, err = s.memberBallot(ctx, in.Principal, in.RequestID, in.OnBehalfOf)
	} else {
		b, err = s.linkBallot(ctx, in.Token)
	}
	if err != nil {
		return Result{}, err
	}
	r := b.request
	b.dec.RequestID, b.dec.Level, b.dec.Outcome, b.dec.Comment, b.dec.DecidedAt = r.ID, b.level, outcome(d.Approve), d.Comment, s.Now.Now()
	var use *store.TokenUse
	if b.link != nil {
		b.dec.ByLink = true
		use = &store.TokenUse{Hash: b.hash, Subject: b.link.SubjectID, Now: b.dec.DecidedAt}
	}
	snap := decisionSnapshot(b.dec)
	snap["request"] = requestSummary(r, r.Status)
	b.event.After = audit.Snapshot(snap)
	var err2 error
	if b.ob != nil {
		err2 = b.writer.RecordDecisionOnBehalf(ctx, r.AccountID, b.dec, levelRequired(r, b.level), use, *b.ob, b.event)
	} else {
		err2 = b.writer.RecordDecision(ctx, r.AccountID, b.dec, levelRequired(r, b.level), use, b.event)
	}
	switch err := err2; {
	case errors.Is(err, store.ErrDelegationLost):
		if b.link != nil {
			return Result{}, errNotApprover
		}
		return Result{}, errDelegationLost
	case errors.Is(err, store.ErrTokenInvalid):
		return Result{}, s.tokenFailure(ctx, b.hash)
	case errors.Is(err, documents.ErrAlreadyDecided):
		// A decision whose level result was lost (see below) reaches the
		// workflow when its decider tries again.
		s.redeliver(ctx, r.AccountID, r.ID, b.level)
		return Result{}, errAlreadyDecided
	case errors.Is(err, documents.ErrRequestNotPending):
		s.redeliver(ctx, r.AccountID, r.ID, b.level)
		return Result{}, errNotPending
	case err != nil:
		return Result{}, err
	}
	res := Result{Request: r, Approved: d.Approve}
	after, err := s.afterDecision(ctx, r.AccountID, r.ID, b.level, d.Approve)
	if err == nil {
		res.Request = after
	} else {
		// The decision is recorded, whichever path it came by: answering
		// an error (a 503 "retry") would make the retry meet
		// already_decided. The workflow hears of it on a retry of the
		// level, or when the decider's next attempt redelivers it (or the
		// request expires). Log loudly.
		httpapi.Logger(ctx).ErrorContext(ctx, "approvals: send level result", "request", r.ID, "error", err)
	}
	if b.link != nil {
		v := s.linkView(ctx, r, b.level)
		if b.dec.DelegateID != "" {
			v.OnBehalfOf = orDefault(b.dec.Name, b.dec.Email)
		}
		res.Link = &v
		return res, nil
	}
	if res.Decisions, err = s.Store.ListDecisions(ctx, r.AccountID, r.ID); err != nil {
		return Result{}, err
	}
	return res, nil
}

// decisionSnapshot is a decision's audit snapshot: the level, the
// outcome, and who decided: the member or external email, and the admin
// impersonating the member, if any. A delegate's vote names the delegate
// (decidedBy) and the member it counts for (onBehalfOf); memberId and
// email are then the member's.
func decisionSnapshot(d documents.ApprovalDecision) map[string]any {
	m := map[string]any{"level": d.Level, "outcome": d.Outcome, "comment": d.Comment, "byLink": d.ByLink, "email": d.Email}
	if d.MemberID != "" {
		m["memberId"] = d.MemberID
	}
	if d.DelegateID != "" {
		m["decidedBy"] = map[string]any{"id": d.DelegateID, "name": d.DelegateName, "email": d.DelegateEmail}
		m["onBehalfOf"] = map[string]any{"id": d.MemberID, "name": d.Name, "email": d.Email}
	}
	if d.ImpersonatorID != "" {
		m["impersonatorId"], m["impersonatorName"] = d.ImpersonatorID, d.ImpersonatorName
	}
	return m
}

// levelRequired is the approvals level needs (0 for a level r does not
// have: the store then refuses the decision).
func levelRequired(r documents.ApprovalRequest, level int) int {
	if level < 1 || level > len(r.Levels) {
		return 0
	}
	return r.Levels[level-1].Required
}

// redeliver sends the workflow a closed level's result again. A decision
// is refused once its level has its approvals or a denial; the decision
// that closed the level sent the result, but that send may have failed
// (throttled, or the function timed out after the commit). A later
// decision that finds the level closed sends it again, so the request
// does not wait until it expires. A token already used answers
// ErrTaskNotFound: sending twice is harmless.
func (s *Service) redeliver(ctx context.Context, account, id string, level int) {
	r, err := s.Store.GetApprovalRequest(ctx, account, id)
	if err != nil || r.Status != documents.RequestPending || r.Level != level || r.TaskToken == "" {
		return
	}
	ds, err := s.Store.ListDecisions(ctx, account, id)
	if err != nil {
		s.log().Error("approvals: redeliver: list decisions", "request", id, "error", err)
		return
	}
	var o workflow.Outcome
	for _, d := range ds {
		if d.Level == level && d.Outcome == string(documents.RequestDenied) {
			o = workflow.Denied
		}
	}
	if o == "" && levelRequired(r, level) > 0 && r.Approvals >= levelRequired(r, level) {
		o = workflow.Approved
	}
	if o == "" {
		return
	}
	if err := s.Engine.SendTaskSuccess(ctx, r.TaskToken, workflow.Decision{Outcome: o}); err != nil && !errors.Is(err, workflow.ErrTaskNotFound) {
		s.log().Error("approvals: redeliver the level's result", "request", id, "level", level, "error", err)
	}
}

// afterDecision ends the level when it has its approvals, or on a
// denial, by sending the workflow the level's result.
func (s *Service) afterDecision(ctx context.Context, account, id string, level int, approve bool) (documents.ApprovalRequest, error) {
	r, err := s.Store.GetApprovalRequest(ctx, account, id)
	if err != nil {
		return r, err
	}
	if r.Status != documents.RequestPending || r.Level != level || r.TaskToken == "" {
		return r, nil
	}
	var o workflow.Outcome
	switch {
	case !approve:
		o = workflow.Denied
	case r.Approvals >= r.Levels[level-1].Required:
		o = workflow.Approved
	default:
		return r, nil
	}
	if err := s.Engine.SendTaskSuccess(ctx, r.TaskToken, workflow.Decision{Outcome: o}); err != nil && !errors.Is(err, workflow.ErrTaskNotFound) {
		return r, err
	}
	return r, nil
}

// memberBallot is a signed-in member's vote in the app on request id at
// its current level: their own, or, with onBehalfOf, the vote of a member
// they stand in for (see onBehalfCheck).
func (s *Service) memberBallot(ctx context.Context, p *auth.Principal, id, onBehalfOf string) (ballot, error) {
	r, ds, err := s.GetRequest(ctx, p, id)
	if err != nil {
		return ballot{}, err
	}
	if r.Status != documents.RequestPending {
		return ballot{}, errNotPending
	}
	if r.TaskToken == "" || r.Level < 1 || r.Level > len(r.Levels) {
		return ballot{}, errNotReady
	}
	if onBehalfOf != "" {
		return s.delegateBallot(ctx, p, r, ds, onBehalfOf)
	}
	if !mayDecide(p.Roles, p.Member.Authz(p.At), r, r.Level) {
		return ballot{}, errNotApprover
	}
	// One person, one vote: a member who voted at this level by an
	// external link (before becoming a member) does not vote again.
	for _, x := range ds {
		if x.Level == r.Level && x.MemberID == "" && baseAddress(x.Email) == baseAddress(p.Member.Email) {
			return ballot{}, errAlreadyDecided
		}
	}
	dec := documents.ApprovalDecision{Approver: p.Member.ID, MemberID: p.Member.ID, Name: p.Member.Name, Email: p.Member.Email}
	if p.Impersonator != nil {
		dec.ImpersonatorID, dec.ImpersonatorName = p.Impersonator.ID, p.Impersonator.Name
	}
	// The vote rests on the approver's rights: the acting store requires
	// the approver's member item unchanged since this request read it
	// (409 actor_changed when it was demoted or suspended meanwhile).
	return ballot{
		request: r, level: r.Level, dec: dec,
		event:  p.Event(ctx, "approval.decide", "approval_request", r.ID),
		writer: p.Acting(s.Store),
	}, nil
}

// delegateBallot is a delegate's vote in the app on behalf of member at
// r's current level.
func (s *Service) delegateBallot(ctx context.Context, p *auth.Principal, r documents.ApprovalRequest, ds []documents.ApprovalDecision, member string) (ballot, error) {
	if member == p.Member.ID {
		return ballot{}, fault.InvalidField("onBehalfOf", "is you: leave it out to decide for yourself")
	}
	if len(member) > 80 {
		return ballot{}, errNotDelegate
	}
	m, d, err := s.onBehalfCheck(ctx, r, r.Level, p.Member, member)
	if err != nil {
		return ballot{}, err
	}
	for _, x := range ds {
		if x.Level == r.Level && x.MemberID == "" && baseAddress(x.Email) == baseAddress(m.Email) {
			return ballot{}, errAlreadyDecided
		}
	}
	dec := documents.ApprovalDecision{
		Approver: m.ID, MemberID: m.ID, Name: m.Name, Email: m.Email,
		DelegateID: p.Member.ID, DelegateName: p.Member.Name, DelegateEmail: p.Member.Email,
	}
	if p.Impersonator != nil {
		dec.ImpersonatorID, dec.ImpersonatorName = p.Impersonator.ID, p.Impersonator.Name
	}
	return ballot{
		request: r, level: r.Level, dec: dec,
		event:  p.Event(ctx, "approval.decide", "approval_request", r.ID),
		writer: p.Acting(s.Store), ob: onBehalfOf(m, d),
	}, nil
}

// linkBallot is the vote of an emailed link's holder: the member or
// external approver the link was minted for, at the link's level.
func (s *Service) linkBallot(ctx context.Context, raw string) (ballot, error) {
	lt, err := s.resolve(ctx, raw)
	if err != nil {
		return ballot{}, err
	}
	req, tok := lt.request, lt.token
	writer := s.Store
	dec := documents.ApprovalDecision{
		Approver: tok.Data["approver"], MemberID: tok.Data["memberId"], Name: tok.Data["name"], Email: tok.Data["email"],
	}
	ev := audit.Event{AccountID: req.AccountID, ActorID: dec.MemberID, ActorName: dec.Name, Action: "approval.decide_by_link",
		TargetType: "approval_request", TargetID: req.ID, RequestID: httpapi.RequestID(ctx)}
	if del := tok.Data["delegateId"]; del != "" && dec.MemberID != "" {
		// A link sent to the member's delegate: it works while the
		// delegation does (see onBehalfCheck).
		dm, err := s.Store.GetMember(ctx, req.AccountID, del)
		if errors.Is(err, team.ErrMemberNotFound) {
			return ballot{}, errNotDelegate
		}
		if err != nil {
			return ballot{}, err
		}
		m, d, err := s.onBehalfCheck(ctx, req, lt.level, dm, dec.MemberID)
		if err != nil {
			return ballot{}, err
		}
		dec.Name, dec.Email = m.Name, m.Email
		dec.DelegateID, dec.DelegateName, dec.DelegateEmail = dm.ID, dm.Name, dm.Email
		ev.ActorID, ev.ActorName = dm.ID, dm.Name
		writer = s.Store.Acting(store.Actor{AccountID: req.AccountID, MemberID: dm.ID, Version: dm.Version, OnFail: errNotDelegate})
		return ballot{request: req, level: lt.level, dec: dec, event: ev, writer: writer, link: &lt.token, hash: lt.hash, ob: onBehalfOf(m, d)}, nil
	}
	if dec.MemberID == "" {
		ev.ActorID = "external:" + dec.Email
	} else {
		// A member's link works while the member may still approve.
		m, err := s.Store.GetMember(ctx, req.AccountID, dec.MemberID)
		if errors.Is(err, team.ErrMemberNotFound) {
			return ballot{}, errNotApprover
		}
		if err != nil {
			return ballot{}, err
		}
		rs, err := s.roleSet(ctx, req.AccountID)
		if err != nil {
			return ballot{}, err
		}
		if !mayDecide(rs, m.Authz(s.Now.Now()), req, lt.level) {
			return ballot{}, errNotApprover
		}
		dec.Name, dec.Email = m.Name, m.Email
		// Rights at commit time, as in the app: the vote rests on the
		// member as read; a change meanwhile refuses it.
		writer = s.Store.Acting(store.Actor{AccountID: req.AccountID, MemberID: m.ID, Version: m.Version, OnFail: errNotApprover})
	}
	return ballot{request: req, level: lt.level, dec: dec, event: ev, writer: writer, link: &lt.token, hash: lt.hash}, nil
}

// tokenFailure explains a link the decision's transaction refused: used
// or expired meanwhile, else not valid.
func (s *Service) tokenFailure(ctx context.Context, hash string) error {
	switch s.Store.TokenFailure(ctx, hash, store.TokenApproval, s.Now.Now()) {
	case store.ErrTokenUsed:
		return errLinkUsed
	case store.ErrTokenExpired:
		return errLinkExpired
	default:
		return errLinkInvalid
	}
}

// Link reads what an approval link decides on, for its page. It consumes
// nothing. Its refusals are the link's (see Decide).
func (s *Service) Link(ctx context.Context, raw string) (LinkView, error) {
	lt, err := s.resolve(ctx, raw)
	if err != nil {
		return LinkView{}, err
	}
	v := s.linkView(ctx, lt.request, lt.level)
	if del := lt.token.Data["delegateId"]; del != "" {
		// A delegate's link: shown while the delegation lasts.
		id, ok, err := s.Store.ActiveDelegate(ctx, lt.request.AccountID, lt.token.Data["memberId"], s.Now.Now())
		if err != nil {
			return LinkView{}, err
		}
		if !ok || id != del || lt.request.RequesterID == del {
			return LinkView{}, errNotDelegate
		}
		v.OnBehalfOf = orDefault(lt.token.Data["name"], lt.token.Data["email"])
	}
	return v, nil
}

// linkTarget is what a valid link decides on.
type linkTarget struct {
	hash    string
	token   store.Token
	request documents.ApprovalRequest
	level   int
}

// resolve checks a link and returns its target, or the refusal that ends
// it. A member's link (their own, or their delegate's) works only while
// the member is still asked at the link's level: a seat handed over ends
// its links (errLinkInvalid).
func (s *Service) resolve(ctx context.Context, raw string) (linkTarget, error) {
	hash, err := onetime.Hash(raw)
	if err != nil {
		return linkTarget{}, errLinkInvalid
	}
	t, err := s.Store.GetToken(ctx, hash)
	if errors.Is(err, store.ErrTokenInvalid) {
		return linkTarget{}, errLinkInvalid
	}
	if err != nil {
		return linkTarget{}, err
	}
	level, _ := strconv.Atoi(t.Data["level"])
	switch {
	case t.Kind != store.TokenApproval || t.Data["request"] == "" || level < 1:
		return linkTarget{}, errLinkInvalid
	case !t.UsedAt.IsZero():
		return linkTarget{}, errLinkUsed
	case !s.Now.Now().Before(t.ExpiresAt):
		return linkTarget{}, errLinkExpired
	}
	r, err := s.Store.GetApprovalRequest(ctx, t.AccountID, t.Data["request"])
	if errors.Is(err, documents.ErrRequestNotFound) {
		return linkTarget{}, errLinkInvalid
	}
	if err != nil {
		return linkTarget{}, err
	}
	switch r.Status {
	case documents.RequestPending:
	case documents.RequestCancelled:
		return linkTarget{}, errRequestCancelled
	case documents.RequestExpired:
		return linkTarget{}, errLinkExpired
	default:
		return linkTarget{}, errNotPending
	}
	if r.Level != level {
		return linkTarget{}, errNotPending
	}
	if m := t.Data["memberId"]; m != "" && !askedAt(r, level, m) {
		// The member's seat at the level went to someone else (a
		// hand-over): every link of that seat ended with it, the
		// reminders' links (subjects of their own) included.
		return linkTarget{}, errLinkInvalid
	}
	if t.Data["memberId"] == "" {
		if err := s.externalStillAllowed(ctx, r, t.Data["email"]); err != nil {
			return linkTarget{}, err
		}
	}
	return linkTarget{hash: hash, token: t, request: r, level: level}, nil
}

// externalStillAllowed re-checks an external approver against the rules
// of today: the document type's policy and the account must still allow
// external approvers from the email's domain (else errExternalOff or
// errExternalDomain), and the email must not belong to the requester or a
// member of the account (errExternalIsRequester, errExternalIsMember):
// members decide in the app. The level's emails send no link then, and a
// link sent before ends.
func (s *Service) externalStillAllowed(ctx context.Context, r documents.ApprovalRequest, email string) error {
	pol, err := s.Store.GetApprovalPolicy(ctx, r.AccountID, r.DocType)
	if err != nil {
		return err
	}
	acct, err := s.Store.GetAccount(ctx, r.AccountID)
	if err != nil {
		return err
	}
	if err := externalAllowed(pol, acct, email); err != nil {
		return err
	}
	return s.notAMember(ctx, r.AccountID, email, r.RequesterEmail)
}

// externalRefusal reports whether err is one of the rules that refuse an
// external approver (externalStillAllowed's refusals).
func externalRefusal(err error) bool {
	return errors.Is(err, errExternalOff) || errors.Is(err, errExternalDomain) ||
		errors.Is(err, errExternalIsMember) || errors.Is(err, errExternalIsRequester)
}

func (s *Service) linkView(ctx context.Context, r documents.ApprovalRequest, level int) LinkView {
	n := s.scopeNames(ctx, r)
	return LinkView{
		DocType: docTypeLabel(r.DocType), Title: r.DocTitle, Amount: amountText(r.Amount), Currency: r.Currency,
		Store: n.store, Department: n.department, Supplier: n.supplier, Requester: orDefault(r.RequesterName, r.RequesterEmail), Note: r.Note,
		Level: level, Levels: len(r.Levels),
	}
}

// names are how people know a request's store, department and supplier.
type names struct{ store, department, supplier string }

// scopeNames names the request's store and department by their stored
// names, falling back to the id when the scope is not stored (or has no
// name, or cannot be read: the email or page still goes out). A supplier
// is named by its id (its registry name is not read).
func (s *Service) scopeNames(ctx context.Context, r documents.ApprovalRequest) names {
	n := names{store: r.Store, department: r.Department, supplier: r.Supplier}
	if r.Store != "" {
		st, err := s.Store.GetStore(ctx, r.AccountID, r.Store)
		if err == nil && st.Name != "" {
			n.store = st.Name
		} else if err != nil && !errors.Is(err, team.ErrStoreNotFound) {
			s.log().WarnContext(ctx, "approvals: read the store's name", "request", r.ID, "error", err)
		}
	}
	if r.Department != "" {
		d, err := s.Store.GetDepartment(ctx, r.AccountID, r.Department)
		if err == nil && d.Name != "" {
			n.department = d.Name
		} else if err != nil && !errors.Is(err, team.ErrDepartmentNotFound) {
			s.log().WarnContext(ctx, "approvals: read the department's name", "request", r.ID, "error", err)
		}
	}
	return n
}

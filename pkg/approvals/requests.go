package approvals

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/documents"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
	"github.com/stewardhq/steward/pkg/workflow"
)

// RequestInput is the body of POST /v1/documents/{type}/{id}/approval-requests.
type RequestInput struct {
	Note     string
	External *documents.External
}

func (s *Service) hour() time.Duration {
	if s.Hour > 0 {
		return s.Hour
	}
	return time.Hour
}

// externalAllowed applies the domain rule: the policy allows external
// approvers, the email's domain is in the policy's domains (when it lists
// any) and in the account's external-approver domains (when set).
func externalAllowed(pol documents.ApprovalPolicy, acct team.Account, email string) error {
	if !pol.ExternalAllowed {
		return errExternalOff
	}
	domain := email[strings.LastIndexByte(email, '@')+1:]
	if len(pol.ExternalDomains) > 0 && !slices.Contains(pol.ExternalDomains, domain) {
		return errExternalDomain
	}
	if ds := acct.Settings.ExternalApproverDomains; len(ds) > 0 && !slices.ContainsFunc(ds, func(d string) bool { return strings.EqualFold(d, domain) }) {
		return errExternalDomain
	}
	return nil
}

// notAMember refuses an external approver who is the requester or a
// member of the account in any status but deleted (invited, inactive and
// suspended members included: they decide in the app once active, and a
// link would give them a second vote). A deleted member's email is freed
// in the account: that person is an outsider again.
//
// Subaddresses count as their mailbox: most providers deliver
// name+tag@domain to name@domain, so "rita+x@acme.example" is Rita. The
// requester is compared without either side's "+tag", and the member
// lookup is made for the email as given and without its "+tag". (A member
// registered under a subaddress is found only by that exact address.)
func (s *Service) notAMember(ctx context.Context, account, email, requester string) error {
	if requester != "" && strings.EqualFold(baseAddress(email), baseAddress(requester)) {
		return errExternalIsRequester
	}
	for _, addr := range slices.Compact([]string{email, baseAddress(email)}) {
		id, err := s.Store.MemberIDByEmail(ctx, account, addr)
		if err != nil {
			return err
		}
		if id != "" {
			return errExternalIsMember
		}
	}
	return nil
}

// baseAddress is a normalized email without the subaddress ("+tag") of
// its local part: the mailbox that most providers deliver it to.
func baseAddress(email string) string {
	email = strings.ToLower(email)
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return email
	}
	if i := strings.IndexByte(email[:at], '+'); i > 0 {
		return email[:i] + email[at:]
	}
	return email
}

// RequestApproval creates a request for the document and starts its
// workflow.
func (s *Service) RequestApproval(ctx context.Context, p *auth.Principal, typ, id string, in RequestInput) (documents.ApprovalRequest, error) {
	if err := p.RequireMember(); err != nil {
		return documents.ApprovalRequest{}, err
	}
	t, err := parseDocType(typ)
	if err != nil {
		return documents.ApprovalRequest{}, err
	}
	if id, err = parseDocID(id); err != nil {
		return documents.ApprovalRequest{}, err
	}
	note, err := cleanText("note", in.Note, 1000)
	if err != nil {
		return documents.ApprovalRequest{}, err
	}
	var ext *documents.External
	if in.External != nil {
		email, err := team.NormalizeEmail(in.External.Email)
		if err != nil {
			return documents.ApprovalRequest{}, fault.InvalidField("externalApprover.email", err.Error())
		}
		name, err := httpapi.CleanName("externalApprover.name", in.External.Name, 120, false)
		if err != nil {
			return documents.ApprovalRequest{}, err
		}
		ext = &documents.External{Email: email, Name: name}
	}
	doc, err := s.Store.GetDocument(ctx, p.AccountID(), t, id)
	if errors.Is(err, documents.ErrDocumentNotFound) {
		return documents.ApprovalRequest{}, fault.ErrNotFound
	}
	if err != nil {
		return documents.ApprovalRequest{}, err
	}
	if dec := p.Decide(rbac.ActionDocumentRequestApproval, docResource(doc)); !dec.Allowed {
		if dec.Code == rbac.CodeDocumentStatus || dec.Code == rbac.CodeDocumentPending {
			return documents.ApprovalRequest{}, errNotRequestable
		}
		return documents.ApprovalRequest{}, forbidden(dec)
	}
	pol, err := s.Store.GetApprovalPolicy(ctx, p.AccountID(), t)
	if err != nil {
		return documents.ApprovalRequest{}, err
	}
	levels := pol.LevelsFor(doc.Amount)
	if !pol.Enabled || len(levels) == 0 {
		return documents.ApprovalRequest{}, errNotRequired
	}
	if ext != nil {
		acct, err := s.Store.GetAccount(ctx, p.AccountID())
		if err != nil {
			return documents.ApprovalRequest{}, err
		}
		if err := externalAllowed(pol, acct, ext.Email); err != nil {
			return documents.ApprovalRequest{}, err
		}
		if err := s.notAMember(ctx, p.AccountID(), ext.Email, p.Member.Email); err != nil {
			return documents.ApprovalRequest{}, err
		}
	}
	now := s.Now.Now()
	timeout := int(time.Duration(pol.ExpiresAfterHours) * s.hour() / time.Second)
	timeout = max(1, min(timeout, workflow.MaxTimeoutSeconds))
	r := documents.ApprovalRequest{
		ID: store.NewApprovalRequestID(now), AccountID: p.AccountID(), DocType: t, DocID: id, DocTitle: doc.Title,
		Amount: doc.Amount, Currency: doc.Currency, Store: doc.Store, Department: doc.Department,
		Supplier: doc.Supplier, RequesterID: p.Member.ID, RequesterName: p.Member.Name, RequesterEmail: p.Member.Email, Note: note, External: ext,
		Levels: levels, SelfApproval: pol.SelfApproval, TimeoutSeconds: timeout, Status: documents.RequestPending,
		Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	ev := p.Event(ctx, "approval.request", "approval_request", r.ID)
	ev.After = audit.Snapshot(map[string]any{"request": requestSummary(r, documents.RequestPending), "documentStatus": rbac.DocPendingApproval})
	if err := p.Acting(s.Store).CreateApprovalRequest(ctx, r, doc, ev); err != nil {
		if errors.Is(err, documents.ErrDocumentChanged) {
			return documents.ApprovalRequest{}, errStale
		}
		return documents.ApprovalRequest{}, err
	}
	err = s.Engine.Start(ctx, workflow.StartInput{RequestID: r.ID, AccountID: r.AccountID, Levels: len(levels), TimeoutSeconds: timeout, Timers: hasTimers(levels)})
	if err != nil && !errors.Is(err, workflow.ErrExecutionExists) {
		s.log().ErrorContext(ctx, "approvals: start workflow", "request", r.ID, "error", err)
		// Undo: the request never ran, the document is a draft again.
		uev := p.Event(ctx, "approval.start_failed", "approval_request", r.ID)
		uev.After = audit.Snapshot(endSnapshot(r, documents.RequestCancelled, rbac.DocDraft, "start_failed"))
		if uerr := s.Store.FinishRequest(context.WithoutCancel(ctx), r, documents.RequestCancelled, rbac.DocDraft, s.Now.Now(), uev); uerr != nil {
			s.log().ErrorContext(ctx, "approvals: undo a request that did not start", "request", r.ID, "error", uerr)
		}
		return documents.ApprovalRequest{}, errStartFailed
	}
	return r, nil
}

// hasTimers reports whether a level reminds or escalates: the workflow
// then runs its Tick steps.
func hasTimers(levels []documents.ApprovalLevel) bool {
	for _, l := range levels {
		if l.RemindAfterHours > 0 || l.EscalateAfterHours > 0 {
			return true
		}
	}
	return false
}

// roleSet returns the account's roles.
func (s *Service) roleSet(ctx context.Context, account string) (*rbac.RoleSet, error) {
	cr, err := s.Store.GetCustomRoles(ctx, account)
	if err != nil {
		return nil, err
	}
	return rbac.NewRoleSetFor(cr.Options, cr.Roles...)
}

// levelResource is what a level's approvers must be allowed to approve:
// the document itself (scope document) or an account-level resource of
// its type (scope account).
func levelResource(r documents.ApprovalRequest, l documents.ApprovalLevel) rbac.Resource {
	res := rbac.Resource{Account: r.AccountID, Type: "document", ID: r.DocID, DocType: r.DocType, DocStatus: rbac.DocPendingApproval}
	if l.Scope != documents.ApprovalScopeAccount {
		res.Store, res.Department = r.Store, r.Department
	}
	return res
}

// mayApprove reports whether member m may decide at level l of r.
func mayApprove(rs *rbac.RoleSet, m rbac.Member, r documents.ApprovalRequest, l documents.ApprovalLevel) bool {
	if m.Status != rbac.StatusActive || m.Account != r.AccountID {
		return false
	}
	if m.ID == r.RequesterID && !r.SelfApproval {
		return false
	}
	res := levelResource(r, l)
	p := rs.Compile(m)
	if !p.Decide(rbac.ActionDocumentApprove, res).Allowed {
		return false
	}
	if l.Permission != "" && !p.Decide(l.Permission, res).Allowed {
		return false
	}
	if l.Role == "" {
		return true
	}
	for _, a := range m.Assignments {
		if a.Role != l.Role || !a.ActiveAt(m.At) {
			continue
		}
		switch {
		case a.Scope.IsAccount():
			return true
		case l.Scope == documents.ApprovalScopeAccount:
		case a.Scope == rbac.StoreScope(r.Store) && r.Store != "",
			a.Scope == rbac.DepartmentScope(r.Department) && r.Department != "":
			return true
		}
	}
	return false
}

// visible reports whether the caller may see request r: its requester,
// those asked, members who may view the document, and the delegates of
// the members it awaits (delegators: the members the caller stands in for
// now; see delegators). A delegation passes on pending decisions only:
// through it the delegate sees a pending request whose current level
// still awaits a member they stand in for, not the member's other (past,
// decided or closed) requests.
func visible(p *auth.Principal, r documents.ApprovalRequest, delegators []string) bool {
	if r.AccountID != p.AccountID() {
		return false
	}
	if r.RequesterID == p.Member.ID {
		return true
	}
	for _, a := range r.Asked {
		if a.MemberID != "" && a.MemberID == p.Member.ID {
			return true
		}
	}
	if r.Status == documents.RequestPending && slices.ContainsFunc(delegators, func(m string) bool { return slices.Contains(r.Awaiting, m) }) {
		return true
	}
	res := rbac.Resource{Account: r.AccountID, Type: "document", ID: r.DocID, Store: r.Store, Department: r.Department, DocType: r.DocType}
	return p.Decide(rbac.ActionDocumentView, res).Allowed
}

// askedAt reports whether member was asked at level of r.
func askedAt(r documents.ApprovalRequest, level int, member string) bool {
	return slices.ContainsFunc(r.Asked, func(a documents.Approver) bool { return a.Level == level && a.MemberID == member })
}

// delegators lists the members the caller stands in for now (none for an
// API key).
func (s *Service) delegators(ctx context.Context, p *auth.Principal) ([]string, error) {
	if p.IsAPIKey() || p.Member.ID == "" {
		return nil, nil
	}
	return s.Store.Delegators(ctx, p.AccountID(), p.Member.ID, s.Now.Now())
}

// GetRequest reads a request the caller may see (visible; a delegate also
// sees a request they decided on someone's behalf, whatever its status),
// with its decisions.
func (s *Service) GetRequest(ctx context.Context, p *auth.Principal, id string) (documents.ApprovalRequest, []documents.ApprovalDecision, error) {
	if len(id) > 80 || id == "" {
		return documents.ApprovalRequest{}, nil, fault.ErrNotFound
	}
	r, err := s.Store.GetApprovalRequest(ctx, p.AccountID(), id)
	if errors.Is(err, documents.ErrRequestNotFound) || (err == nil && r.AccountID != p.AccountID()) {
		return documents.ApprovalRequest{}, nil, fault.ErrNotFound
	}
	if err != nil {
		return documents.ApprovalRequest{}, nil, err
	}
	seen := visible(p, r, nil)
	if !seen {
		// Read only for those the simple rules do not let in.
		del, err := s.delegators(ctx, p)
		if err != nil {
			return documents.ApprovalRequest{}, nil, err
		}
		seen = visible(p, r, del)
	}
	ds, err := s.Store.ListDecisions(ctx, p.AccountID(), id)
	if err != nil {
		return documents.ApprovalRequest{}, nil, err
	}
	if !seen && !p.IsAPIKey() {
		seen = slices.ContainsFunc(ds, func(d documents.ApprovalDecision) bool { return d.DelegateID == p.Member.ID })
	}
	if !seen {
		return documents.ApprovalRequest{}, nil, fault.ErrNotFound
	}
	return r, ds, nil
}

// ListFilter narrows ListRequests.
type ListFilter struct {
	Status documents.RequestStatus
	// Mine is "", "decide" or "requested".
	Mine string
}

// ListRequests lists the requests the caller may see.
func (s *Service) ListRequests(ctx context.Context, p *auth.Principal, f ListFilter, limit int, cursor string) (store.Page[documents.ApprovalRequest], error) {
	if f.Status != "" && !f.Status.Valid() {
		return store.Page[documents.ApprovalRequest]{}, fault.InvalidField("status", "must be pending, approved, denied, expired or cancelled")
	}
	sf := store.RequestFilter{Status: f.Status}
	var del []string
	delRead := false
	switch f.Mine {
	case "":
	case "decide":
		// The caller's own, and those of the members they stand in for.
		var err error
		if del, err = s.delegators(ctx, p); err != nil {
			return store.Page[documents.ApprovalRequest]{}, err
		}
		delRead = true
		sf.AwaitingID, sf.AwaitingFor = p.Member.ID, del
		sf.Status = documents.RequestPending
		if f.Status != "" && f.Status != documents.RequestPending {
			return store.Page[documents.ApprovalRequest]{Items: []documents.ApprovalRequest{}}, nil
		}
	case "requested":
		sf.RequesterID = p.Member.ID
	default:
		return store.Page[documents.ApprovalRequest]{}, fault.InvalidField("mine", `must be "decide" or "requested"`)
	}
	page, err := s.Store.ListApprovalRequests(ctx, p.AccountID(), sf, limit, cursor)
	if err != nil {
		return page, err
	}
	out := page.Items[:0]
	for _, r := range page.Items {
		if !visible(p, r, nil) {
			if !delRead {
				// Read once, only when the simple rules leave one out.
				if del, err = s.delegators(ctx, p); err != nil {
					return store.Page[documents.ApprovalRequest]{}, err
				}
				delRead = true
			}
			if !visible(p, r, del) {
				continue
			}
		}
		if f.Mine == "decide" && r.RequesterID == p.Member.ID && !askedAt(r, r.Level, p.Member.ID) {
			// Awaiting only members the caller stands in for: a delegate
			// never decides their own request.
			continue
		}
		out = append(out, r)
	}
	page.Items = out
	return page, nil
}

// Cancel cancels a pending request (its requester, or an admin): the
// document is a draft again and the workflow ends.
func (s *Service) Cancel(ctx context.Context, p *auth.Principal, id string) (documents.ApprovalRequest, error) {
	r, _, err := s.GetRequest(ctx, p, id)
	if err != nil {
		return documents.ApprovalRequest{}, err
	}
	if r.RequesterID != p.Member.ID && !p.Authz.IsAdmin() {
		return documents.ApprovalRequest{}, errCannotCancel
	}
	if r.Status != documents.RequestPending {
		return documents.ApprovalRequest{}, errNotPending
	}
	now := s.Now.Now()
	ev := p.Event(ctx, "approval.cancel", "approval_request", r.ID)
	ev.After = audit.Snapshot(endSnapshot(r, documents.RequestCancelled, rbac.DocDraft, "cancelled"))
	err = p.Acting(s.Store).FinishRequest(ctx, r, documents.RequestCancelled, rbac.DocDraft, now, ev)
	if errors.Is(err, documents.ErrRequestNotPending) || errors.Is(err, documents.ErrDocumentChanged) {
		return documents.ApprovalRequest{}, errNotPending
	}
	if err != nil {
		return documents.ApprovalRequest{}, err
	}
	s.stopWorkflow(ctx, r)
	r.Status, r.FinishedAt, r.UpdatedAt = documents.RequestCancelled, now, now
	return r, nil
}

package approvals

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/clock"
	"github.com/stewardhq/steward/pkg/documents"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/mail"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
	"github.com/stewardhq/steward/pkg/workflow"
)

// Service implements documents, policies, requests and the workflow steps.
type Service struct {
	Store *store.Store
	Mail  *mail.Outbox
	// Engine runs the approval workflow (Step Functions, or a Runner).
	Engine workflow.Engine
	// PublicURL is the base of the approval links.
	PublicURL string
	// Now is the clock; nil means time.Now.
	Now clock.Clock
	// Hour is how long a policy hour lasts; zero means time.Hour. Tests
	// shorten it to see requests expire.
	Hour   time.Duration
	Logger *slog.Logger
}

func (s *Service) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Public errors.
var (
	// errStale: the document or policy changed since the caller read it
	// (or, for a document, its approval request ended meanwhile).
	errStale               = fault.New(fault.Stale, "stale_version", "The resource changed since you read it; read it again and retry.")
	errNotRequired         = fault.New(fault.Conflict, "approval_not_required", "The approval policy of this document type does not require an approval for this document.")
	errNotRequestable      = fault.New(fault.Conflict, "document_not_requestable", "Approval can be requested only for a draft, denied or expired document.")
	errExternalOff         = fault.New(fault.Forbidden, "external_approvers_not_allowed", "The approval policy of this document type does not allow external approvers.")
	errExternalDomain      = fault.New(fault.Forbidden, "external_approver_domain_not_allowed", "The external approver's email domain is not allowed for this account.")
	errNotPending          = fault.New(fault.Conflict, "approval_not_pending", "The approval request is no longer pending.")
	errNotReady            = fault.New(fault.Conflict, "approval_not_ready", "The approvers of this request are still being notified; try again in a moment.")
	errAlreadyDecided      = fault.New(fault.Conflict, "already_decided", "You decided on this level of the request already.")
	errNotApprover         = fault.New(fault.Forbidden, "not_an_approver", "You may not decide on this approval request at its current level.")
	errCannotCancel        = fault.New(fault.Forbidden, "cannot_cancel", "Only the requester or an administrator may cancel an approval request.")
	errApprovalRequired    = fault.New(fault.Conflict, "approval_required", "This document needs an approval before it can be completed: the approval policy of its type applies at its amount. Request an approval, and complete it once approved.")
	errExternalIsRequester = fault.New(fault.Unprocessable, "external_approver_is_requester", "You cannot name yourself as the external approver: one person, one vote.")
	errExternalIsMember    = fault.New(fault.Unprocessable, "external_approver_is_member", "The external approver is a member of this account: members decide in the app, never by an external link.")
	errStartFailed         = fault.New(fault.Unavailable, "workflow_unavailable", "The approval could not be started; nothing changed. Try again.")

	// An approval link that no longer works (the page shows each its own
	// way; see page.go).
	errLinkInvalid      = fault.New(fault.Gone, "link_invalid", "This approval link is not valid.")
	errLinkUsed         = fault.New(fault.Gone, "link_used", "A decision was made with this link already; each link works once.")
	errLinkExpired      = fault.New(fault.Gone, "link_expired", "The time to decide on this request is over.")
	errRequestCancelled = fault.New(fault.Gone, "request_cancelled", "The approval request was cancelled, or its document changed.")
)

// validDocID reports whether v is a document id: 1 to 64 letters,
// digits, '_' or '-'.
func validDocID(v string) bool { return httpapi.IDLike(v, 64, false) }

// validCurrency reports whether v is ^[A-Z]{3}$.
func validCurrency(v string) bool {
	return len(v) == 3 && 'A' <= v[0] && v[0] <= 'Z' && 'A' <= v[1] && v[1] <= 'Z' && 'A' <= v[2] && v[2] <= 'Z'
}

// domainPattern is compiled on first use: only approval policies with
// external approvers need it.
var domainPattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
})

// MaxAmount is the largest document amount (and level minimum).
const MaxAmount = 1e12

func parseDocType(v string) (rbac.DocType, error) {
	t := rbac.DocType(v)
	if !t.Valid() {
		return "", fault.New(fault.NotFound, "unknown_document_type", "No such document type: use purchase_order, sales_order, write_off, bom, purchase_rate, invoice or bill.")
	}
	return t, nil
}

func parseDocID(v string) (string, error) {
	if !validDocID(v) {
		return "", fault.InvalidField("id", "must be 1 to 64 letters, digits, '_' or '-'")
	}
	return v, nil
}

// DocumentInput is the body of PUT /v1/documents/{type}/{id}.
type DocumentInput struct {
	Store, Department, Supplier string
	Amount                      *float64
	Currency, Title, Summary    string
	DueDate, URL, Status        string
}

// forbidden answers a denied decision.
func forbidden(d rbac.Decision) error {
	return fault.New(fault.Forbidden, "forbidden", "You are not allowed to do this: "+d.Reason()+".")
}

func docResource(d documents.Document) rbac.Resource { return d.Resource() }

func cleanText(field, v string, max int) (string, error) {
	v = strings.TrimSpace(v)
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

func scopeID(field, kind, v string) error {
	if v == "" {
		return nil
	}
	if err := (rbac.Scope{Kind: rbac.ScopeKind(kind), ID: v}).Validate(); err != nil {
		return fault.InvalidField(field, "is not a valid id")
	}
	return nil
}

func checkAmount(field string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > MaxAmount {
		return fault.InvalidField(field, "must be a number from 0 to 1e12")
	}
	return nil
}

// validate checks in and returns the document fields it sets.
func (in DocumentInput) validate() (documents.Document, error) {
	var d documents.Document
	for _, f := range []struct{ field, kind, v string }{
		{"store", "store", in.Store}, {"department", "department", in.Department}, {"supplier", "supplier", in.Supplier},
	} {
		if err := scopeID(f.field, f.kind, f.v); err != nil {
			return d, err
		}
	}
	if in.Amount == nil {
		return d, fault.InvalidField("amount", "is required")
	}
	if err := checkAmount("amount", *in.Amount); err != nil {
		return d, err
	}
	if !validCurrency(in.Currency) {
		return d, fault.InvalidField("currency", "must be an ISO 4217 code of three capital letters")
	}
	title, err := httpapi.CleanName("title", in.Title, 200, true)
	if err != nil {
		return d, err
	}
	summary, err := cleanText("summary", in.Summary, 2000)
	if err != nil {
		return d, err
	}
	if in.DueDate != "" {
		if _, err := time.Parse(time.DateOnly, in.DueDate); err != nil {
			return d, fault.InvalidField("dueDate", "must be a date YYYY-MM-DD")
		}
	}
	if in.URL != "" {
		u, err := url.Parse(in.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(in.URL) > 2000 || strings.IndexFunc(in.URL, httpapi.IsControl) >= 0 {
			return d, fault.InvalidField("url", "must be an absolute http or https URL")
		}
	}
	switch rbac.DocStatus(in.Status) {
	case "", rbac.DocDraft, rbac.DocCompleted:
	default:
		return d, fault.InvalidField("status", `may only be set to "draft" or "completed"`)
	}
	return documents.Document{
		Store: in.Store, Department: in.Department, Supplier: in.Supplier, Amount: *in.Amount, Currency: in.Currency,
		Title: title, Summary: summary, DueDate: in.DueDate, URL: in.URL, Status: rbac.DocStatus(in.Status),
	}, nil
}

func sameContent(a, b documents.Document) bool {
	return a.Store == b.Store && a.Department == b.Department && a.Supplier == b.Supplier && a.Amount == b.Amount &&
		a.Currency == b.Currency && a.Title == b.Title && a.Summary == b.Summary && a.DueDate == b.DueDate && a.URL == b.URL
}

// GetDocument reads a document the caller may view.
func (s *Service) GetDocument(ctx context.Context, p *auth.Principal, typ, id string) (documents.Document, error) {
	t, err := parseDocType(typ)
	if err != nil {
		return documents.Document{}, err
	}
	if id, err = parseDocID(id); err != nil {
		return documents.Document{}, err
	}
	d, err := s.Store.GetDocument(ctx, p.AccountID(), t, id)
	if errors.Is(err, documents.ErrDocumentNotFound) {
		return documents.Document{}, fault.ErrNotFound
	}
	if err != nil {
		return documents.Document{}, err
	}
	if dec := p.Decide(rbac.ActionDocumentView, docResource(d)); !dec.Allowed {
		return documents.Document{}, forbidden(dec)
	}
	return d, nil
}

// PutDocument creates or replaces a document; created reports a create.
// ifMatch (0: none) must be the stored version.
func (s *Service) PutDocument(ctx context.Context, p *auth.Principal, typ, id string, ifMatch int64, in DocumentInput) (doc documents.Document, created bool, err error) {
	t, err := parseDocType(typ)
	if err != nil {
		return doc, false, err
	}
	if id, err = parseDocID(id); err != nil {
		return doc, false, err
	}
	next, err := in.validate()
	if err != nil {
		return doc, false, err
	}
	next.AccountID, next.Type, next.ID = p.AccountID(), t, id
	old, err := s.Store.GetDocument(ctx, p.AccountID(), t, id)
	exists := err == nil
	if err != nil && !errors.Is(err, documents.ErrDocumentNotFound) {
		return doc, false, err
	}
	if ifMatch != 0 && (!exists || !httpapi.VersionMatches(ifMatch, old.Version)) {
		return doc, false, errStale
	}
	now := s.Now.Now()
	asked := next.Status
	if asked == "" {
		asked = rbac.DocDraft
	}
	// The caller must be allowed to edit the document where it is and
	// where it goes. A pending document is edited as a draft: the edit
	// cancels its request.
	check := next
	check.Status = rbac.DocDraft
	if exists {
		before := old
		if before.Status == rbac.DocPendingApproval {
			before.Status = rbac.DocDraft
		}
		if dec := p.Decide(rbac.ActionDocumentEdit, docResource(before)); !dec.Allowed {
			return doc, false, forbidden(dec)
		}
		check.Status = before.Status
	}
	if dec := p.Decide(rbac.ActionDocumentEdit, docResource(check)); !dec.Allowed {
		return doc, false, forbidden(dec)
	}
	if exists && sameContent(old, next) && (next.Status == "" || next.Status == old.Status) {
		return old, false, nil
	}
	next.Status = asked
	// Completed only from approved (terms unchanged), or when no level of
	// the type's policy applies at the amount: a document that needs an
	// approval is never completed around it.
	var guard *documents.ApprovalPolicy
	termsChanged := exists && documents.ApprovedTermsChanged(old, next)
	if asked == rbac.DocCompleted && !(exists && !termsChanged && (old.Status == rbac.DocApproved || old.Status == rbac.DocCompleted)) {
		pol, err := s.Store.GetApprovalPolicy(ctx, p.AccountID(), t)
		if err != nil {
			return doc, false, err
		}
		if pol.Requires(next.Amount) {
			return doc, false, errApprovalRequired
		}
		guard = &pol
	}
	// An approved document that goes back to draft (its terms changed,
	// or the caller asked) loses its approval: the PUT's event says so.
	voided := exists && old.Status == rbac.DocApproved && asked != rbac.DocCompleted
	next.UpdatedAt, next.UpdatedBy = now, p.Member.ID
	next.CreatedAt, next.Version = now, 1
	var cancel *documents.ApprovalRequest
	var pending documents.ApprovalRequest
	if exists {
		next.CreatedAt, next.Version, next.RequestID = old.CreatedAt, old.Version+1, old.RequestID
		if old.Status == rbac.DocPendingApproval && old.RequestID != "" {
			pending, err = s.Store.GetApprovalRequest(ctx, p.AccountID(), old.RequestID)
			if err != nil {
				return doc, false, err
			}
			if pending.Status == documents.RequestPending {
				cancel = &pending
			}
		}
	}
	ev := p.Event(ctx, "document.put", "document", string(t)+"/"+id)
	switch {
	case cancel != nil:
		ev.Action = "document.put_cancelling_approval"
	case voided:
		ev.Action = "document.put_voiding_approval"
	}
	if exists {
		ev.Before = docSnapshot(old)
	}
	ev.After = docSnapshot(next)
	read := int64(0)
	if exists {
		read = old.Version
	}
	if err := s.Store.PutDocument(ctx, next, read, cancel, guard, ev); err != nil {
		if errors.Is(err, documents.ErrDocumentChanged) || errors.Is(err, documents.ErrRequestNotPending) {
			return doc, false, errStale
		}
		if errors.Is(err, team.ErrStaleVersion) {
			return doc, false, errStale
		}
		return doc, false, err
	}
	if cancel != nil {
		s.stopWorkflow(ctx, *cancel)
	}
	return next, !exists, nil
}

// docSnapshot is a document's audit snapshot: its status and the terms
// an approval covers.
func docSnapshot(d documents.Document) json.RawMessage {
	return audit.Snapshot(map[string]any{
		"status": d.Status, "amount": d.Amount, "currency": d.Currency, "store": d.Store, "department": d.Department,
		"supplier": d.Supplier, "approvalRequestId": d.RequestID, "version": d.Version,
	})
}

// stopWorkflow tells the engine that a request was cancelled: a task
// failure when a level is awaited, else Stop. Failures are logged: the
// request is cancelled already, and a late Await finds it so.
func (s *Service) stopWorkflow(ctx context.Context, r documents.ApprovalRequest) {
	var err error
	if r.TaskToken != "" {
		err = s.Engine.SendTaskFailure(ctx, r.TaskToken, workflow.ErrorCancelled)
	} else {
		err = s.Engine.Stop(ctx, r.ID)
	}
	if err != nil && !errors.Is(err, workflow.ErrTaskNotFound) && !errors.Is(err, workflow.ErrExecutionNotFound) {
		s.log().WarnContext(ctx, "approvals: could not stop the workflow of a cancelled request", "request", r.ID, "error", err)
	}
}

// checkTimers checks level l's reminder and escalation (field prefix f):
// each, when set, at least an hour and less than expiresAfterHours, and
// an escalation names where it goes: "admins", "next_level" or a role.
func checkTimers(p *auth.Principal, f string, l documents.ApprovalLevel, expiresAfterHours int) error {
	if l.RemindAfterHours != 0 && (l.RemindAfterHours < 1 || l.RemindAfterHours >= expiresAfterHours) {
		return fault.InvalidField(f+".remindAfterHours", "must be at least 1 and less than expiresAfterHours")
	}
	if l.EscalateAfterHours != 0 && (l.EscalateAfterHours < 1 || l.EscalateAfterHours >= expiresAfterHours) {
		return fault.InvalidField(f+".escalateAfterHours", "must be at least 1 and less than expiresAfterHours")
	}
	switch {
	case l.EscalateAfterHours != 0 && l.EscalateTo == "":
		return fault.InvalidField(f+".escalateTo", `is required with escalateAfterHours: "admins", "next_level" or a role id`)
	case l.EscalateAfterHours == 0 && l.EscalateTo != "":
		return fault.InvalidField(f+".escalateAfterHours", "is required with escalateTo")
	case l.EscalateTo == "", l.EscalateTo == documents.EscalateToAdmins, l.EscalateTo == documents.EscalateToNextLevel:
		return nil
	}
	if _, ok := p.Roles.Role(l.EscalateTo); !ok {
		return fault.InvalidField(f+".escalateTo", `must be "admins", "next_level" or a role id: no such role`)
	}
	return nil
}

// PolicyInput is the body of PUT /v1/approval-policies/{docType}.
type PolicyInput struct {
	Enabled           bool
	Levels            []documents.ApprovalLevel
	SelfApproval      bool
	ExternalAllowed   bool
	ExternalDomains   []string
	ExpiresAfterHours int
}

// GetPolicy reads a document type's policy (any member or key of the
// account).
func (s *Service) GetPolicy(ctx context.Context, p *auth.Principal, typ string) (documents.ApprovalPolicy, error) {
	t, err := parseDocType(typ)
	if err != nil {
		return documents.ApprovalPolicy{}, err
	}
	return s.Store.GetApprovalPolicy(ctx, p.AccountID(), t)
}

// MaxLevels bounds a policy's levels.
const MaxLevels = 10

// PutPolicy replaces a document type's policy (policies.manage: a critical
// permission, administrators and the owner only); its audit event carries
// the policy before and after.
func (s *Service) PutPolicy(ctx context.Context, p *auth.Principal, typ string, ifMatch int64, in PolicyInput) (documents.ApprovalPolicy, error) {
	t, err := parseDocType(typ)
	if err != nil {
		return documents.ApprovalPolicy{}, err
	}
	if dec := p.Decide("policies.manage", rbac.Resource{Account: p.AccountID()}); !dec.Allowed {
		return documents.ApprovalPolicy{}, forbidden(dec)
	}
	if t == rbac.DocInvoice || t == rbac.DocBill {
		if in.Enabled {
			return documents.ApprovalPolicy{}, fault.InvalidField("enabled", "invoices and bills have no approval step")
		}
	}
	if in.Enabled && len(in.Levels) == 0 {
		return documents.ApprovalPolicy{}, fault.InvalidField("levels", "an enabled policy needs at least one level")
	}
	if len(in.Levels) > MaxLevels {
		return documents.ApprovalPolicy{}, fault.InvalidField("levels", "at most 10 levels")
	}
	for i, l := range in.Levels {
		f := fault.Indexed("levels", i)
		if err := checkAmount(f+".minAmount", l.MinAmount); err != nil {
			return documents.ApprovalPolicy{}, err
		}
		if l.Required < 1 || l.Required > 10 {
			return documents.ApprovalPolicy{}, fault.InvalidField(f+".required", "must be 1 to 10")
		}
		if l.Scope != documents.ApprovalScopeDocument && l.Scope != documents.ApprovalScopeAccount {
			return documents.ApprovalPolicy{}, fault.InvalidField(f+".scope", `must be "document" or "account"`)
		}
		if l.Role != "" {
			if _, ok := p.Roles.Role(l.Role); !ok {
				return documents.ApprovalPolicy{}, fault.InvalidField(f+".role", "no such role")
			}
		}
		if l.Permission != "" && (!rbac.IsAction(l.Permission) || strings.HasPrefix(l.Permission, "documents.")) {
			return documents.ApprovalPolicy{}, fault.InvalidField(f+".permission", "no such permission")
		}
		if err := checkTimers(p, f, l, in.ExpiresAfterHours); err != nil {
			return documents.ApprovalPolicy{}, err
		}
	}
	if in.ExpiresAfterHours < 1 || in.ExpiresAfterHours > 720 {
		return documents.ApprovalPolicy{}, fault.InvalidField("expiresAfterHours", "must be 1 to 720")
	}
	if len(in.ExternalDomains) > 50 {
		return documents.ApprovalPolicy{}, fault.InvalidField("externalApprovers.domains", "at most 50 domains")
	}
	domains := make([]string, 0, len(in.ExternalDomains))
	for i, d := range in.ExternalDomains {
		d = strings.ToLower(strings.TrimSpace(d))
		if len(d) > 253 || !domainPattern().MatchString(d) {
			return documents.ApprovalPolicy{}, fault.InvalidField(fault.Indexed("externalApprovers.domains", i), "is not a domain name")
		}
		domains = append(domains, d)
	}
	old, err := s.Store.GetApprovalPolicy(ctx, p.AccountID(), t)
	if err != nil {
		return documents.ApprovalPolicy{}, err
	}
	if ifMatch != 0 && !httpapi.VersionMatches(ifMatch, old.Version) {
		return documents.ApprovalPolicy{}, errStale
	}
	np := documents.ApprovalPolicy{
		AccountID: p.AccountID(), DocType: t, Enabled: in.Enabled, Levels: in.Levels, SelfApproval: in.SelfApproval,
		ExternalAllowed: in.ExternalAllowed, ExternalDomains: domains, ExpiresAfterHours: in.ExpiresAfterHours,
		Version: old.Version + 1, UpdatedAt: s.Now.Now(),
	}
	if np.Levels == nil {
		np.Levels = []documents.ApprovalLevel{}
	}
	ev := p.Event(ctx, "approval_policy.put", "approval_policy", string(t))
	ev.Before, ev.After = audit.Snapshot(toPolicyView(old)), audit.Snapshot(toPolicyView(np))
	if err := p.Acting(s.Store).PutApprovalPolicy(ctx, np, old.Version, ev); err != nil {
		if errors.Is(err, team.ErrStaleVersion) {
			return documents.ApprovalPolicy{}, errStale
		}
		return documents.ApprovalPolicy{}, err
	}
	return np, nil
}

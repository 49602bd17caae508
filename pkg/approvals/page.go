package approvals

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"strconv"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/documents"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/onetime"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// MaxFormBytes bounds the approval page's form body.
const MaxFormBytes = 16 << 10

type pageRequest struct {
	DocType, Title, Amount, Currency string
	// Store, Department and Supplier are names (see scopeNames).
	Store, Department, Supplier string
	Requester                   string
	Note                        string
	Level, Levels               int
}

type pageData struct {
	Heading string
	Message string
	Request *pageRequest
	Form    bool
}

func writePage(w http.ResponseWriter, r *http.Request, status int, d pageData) {
	httpapi.WriteHTML(w, r, status, approvalPage(d))
}

func gone(heading, message string) pageData { return pageData{Heading: heading, Message: message} }

var (
	pageInvalid   = gone("This link does not work", "This approval link is not valid. Use the newest email you received about this request.")
	pageUsed      = gone("This link was used", "A decision was made with this link already. Each link works once.")
	pageExpired   = gone("This link has expired", "The time to decide on this request is over.")
	pageCancelled = gone("This request was withdrawn", "The approval request was cancelled, or its document changed. Nothing is left to decide.")
	pageDecided   = gone("This request was decided", "A decision on this request (or on this level of it) was made already. Nothing is left to decide.")
	pageNoLonger  = gone("You can no longer decide", "You are no longer allowed to approve this request.")
	// An external approver's link ends when the approval policy no longer
	// allows external approvers (or their domain), and when the person
	// became a member of the account: members decide in the app.
	pageExternalOff = gone("This link is no longer valid", "The account no longer accepts decisions from external approvers on this request. Nothing was recorded.")
	pageNowMember   = gone("This link is no longer valid", "You are a member of this account now: decide on this request in the app. Nothing was recorded.")
)

// externalLinkPage re-checks an external approver's link against the
// rules of today: the document type's policy and the account must still
// allow external approvers from the email's domain, and the email must
// not belong to a member of the account. It returns the 410 page to show,
// or nil when the link may be used.
func (s *Service) externalLinkPage(ctx context.Context, r documents.ApprovalRequest, email string) (*pageData, error) {
	pol, err := s.Store.GetApprovalPolicy(ctx, r.AccountID, r.DocType)
	if err != nil {
		return nil, err
	}
	acct, err := s.Store.GetAccount(ctx, r.AccountID)
	if err != nil {
		return nil, err
	}
	if externalAllowed(pol, acct, email) != nil {
		return &pageExternalOff, nil
	}
	switch err := s.notAMember(ctx, r.AccountID, email, r.RequesterEmail); {
	case errors.Is(err, errExternalIsMember), errors.Is(err, errExternalIsRequester):
		return &pageNowMember, nil
	case err != nil:
		return nil, err
	}
	return nil, nil
}

// linkTarget is what a valid link decides on.
type linkTarget struct {
	hash    string
	token   store.Token
	request documents.ApprovalRequest
	level   int
}

// resolve checks a link and returns its target, or the 410 page to show.
func (s *Service) resolve(ctx context.Context, raw string) (linkTarget, *pageData, error) {
	hash, err := onetime.Hash(raw)
	if err != nil {
		return linkTarget{}, &pageInvalid, nil
	}
	t, err := s.Store.GetToken(ctx, hash)
	if errors.Is(err, store.ErrTokenInvalid) {
		return linkTarget{}, &pageInvalid, nil
	}
	if err != nil {
		return linkTarget{}, nil, err
	}
	level, _ := strconv.Atoi(t.Data["level"])
	switch {
	case t.Kind != store.TokenApproval || t.Data["request"] == "" || level < 1:
		return linkTarget{}, &pageInvalid, nil
	case !t.UsedAt.IsZero():
		return linkTarget{}, &pageUsed, nil
	case !s.Now.Now().Before(t.ExpiresAt):
		return linkTarget{}, &pageExpired, nil
	}
	r, err := s.Store.GetApprovalRequest(ctx, t.AccountID, t.Data["request"])
	if errors.Is(err, documents.ErrRequestNotFound) {
		return linkTarget{}, &pageInvalid, nil
	}
	if err != nil {
		return linkTarget{}, nil, err
	}
	switch r.Status {
	case documents.RequestPending:
	case documents.RequestCancelled:
		return linkTarget{}, &pageCancelled, nil
	case documents.RequestExpired:
		return linkTarget{}, &pageExpired, nil
	default:
		return linkTarget{}, &pageDecided, nil
	}
	if r.Level != level {
		return linkTarget{}, &pageDecided, nil
	}
	if t.Data["memberId"] == "" {
		pg, err := s.externalLinkPage(ctx, r, t.Data["email"])
		if pg != nil || err != nil {
			return linkTarget{}, pg, err
		}
	}
	return linkTarget{hash: hash, token: t, request: r, level: level}, nil, nil
}

func (s *Service) page(ctx context.Context, lt linkTarget) *pageRequest {
	r := lt.request
	n := s.scopeNames(ctx, r)
	return &pageRequest{
		DocType: docTypeLabel(r.DocType), Title: r.DocTitle, Amount: amountText(r.Amount), Currency: r.Currency,
		Store: n.store, Department: n.department, Supplier: n.supplier, Requester: orDefault(r.RequesterName, r.RequesterEmail), Note: r.Note,
		Level: lt.level, Levels: len(r.Levels),
	}
}

// names are how people know a request's store, department and supplier.
type names struct{ store, department, supplier string }

// scopeNames names the request's store and department by their stored
// names, falling back to the id when the scope is not stored (or has no
// name, or cannot be read: the email or page still goes out). Suppliers
// are the host app's records, not a list Steward keeps: a supplier is
// named by its id.
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

func (s *Service) pageError(w http.ResponseWriter, r *http.Request, err error) {
	httpapi.Logger(r.Context()).ErrorContext(r.Context(), "approvals: approval page", "error", err)
	writePage(w, r, http.StatusInternalServerError, gone("Something went wrong", "Please try again in a moment."))
}

// HandleApprovePage serves the public GET /approve/{token}: the document
// and the decision form. It consumes nothing.
func (s *Service) HandleApprovePage(w http.ResponseWriter, r *http.Request) error {
	lt, pg, err := s.resolve(r.Context(), r.PathValue("token"))
	if err != nil {
		s.pageError(w, r, err)
		return nil
	}
	if pg != nil {
		writePage(w, r, http.StatusGone, *pg)
		return nil
	}
	writePage(w, r, http.StatusOK, pageData{Heading: "Approval requested", Request: s.page(r.Context(), lt), Form: true})
	return nil
}

// HandleApproveSubmit serves the public POST /approve/{token}: the form's
// decision, recorded with the approver's identity while the token is
// consumed in the same transaction.
func (s *Service) HandleApproveSubmit(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		writePage(w, r, http.StatusUnsupportedMediaType, gone("Unsupported form", "Submit the decision with the form on the approval page."))
		return nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
	if err := r.ParseForm(); err != nil {
		writePage(w, r, http.StatusBadRequest, gone("The form could not be read", "Go back to the approval page and submit the form again."))
		return nil
	}
	d, err := parseDecision(r.PostForm.Get("decision"), r.PostForm.Get("comment"))
	if err != nil {
		writePage(w, r, http.StatusBadRequest, gone("Choose approve or deny", "Go back to the approval page, choose approve or deny, and keep the comment under 1000 characters."))
		return nil
	}
	lt, pg, err := s.resolve(ctx, r.PathValue("token"))
	if err != nil {
		s.pageError(w, r, err)
		return nil
	}
	if pg != nil {
		writePage(w, r, http.StatusGone, *pg)
		return nil
	}
	req, tok := lt.request, lt.token
	dec := documents.ApprovalDecision{
		RequestID: req.ID, Level: lt.level, Approver: tok.Data["approver"], MemberID: tok.Data["memberId"],
		Name: tok.Data["name"], Email: tok.Data["email"], Outcome: outcome(d.Approve), Comment: d.Comment, ByLink: true, DecidedAt: s.Now.Now(),
	}
	ev := audit.Event{AccountID: req.AccountID, ActorID: dec.MemberID, ActorName: dec.Name, Action: "approval.decide_by_link",
		TargetType: "approval_request", TargetID: req.ID, RequestID: httpapi.RequestID(ctx)}
	if dec.MemberID == "" {
		ev.ActorID = "external:" + dec.Email
	} else {
		// A member's link works while the member may still approve.
		m, err := s.Store.GetMember(ctx, req.AccountID, dec.MemberID)
		if errors.Is(err, team.ErrMemberNotFound) {
			writePage(w, r, http.StatusGone, pageNoLonger)
			return nil
		}
		if err != nil {
			s.pageError(w, r, err)
			return nil
		}
		rs, err := s.roleSet(ctx, req.AccountID)
		if err != nil {
			s.pageError(w, r, err)
			return nil
		}
		if !mayApprove(rs, m.Authz(), req, req.Levels[lt.level-1]) {
			writePage(w, r, http.StatusGone, pageNoLonger)
			return nil
		}
		dec.Name, dec.Email = m.Name, m.Email
	}
	ev.After = audit.Snapshot(decisionSnapshot(dec))
	err = s.Store.RecordDecision(ctx, req.AccountID, dec, levelRequired(req, lt.level), &store.TokenUse{Hash: lt.hash, Subject: tok.SubjectID, Now: dec.DecidedAt}, ev)
	switch {
	case errors.Is(err, store.ErrTokenInvalid):
		switch s.Store.TokenFailure(ctx, lt.hash, store.TokenApproval, s.Now.Now()) {
		case store.ErrTokenUsed:
			writePage(w, r, http.StatusGone, pageUsed)
		case store.ErrTokenExpired:
			writePage(w, r, http.StatusGone, pageExpired)
		default:
			writePage(w, r, http.StatusGone, pageInvalid)
		}
		return nil
	case errors.Is(err, documents.ErrRequestNotPending), errors.Is(err, documents.ErrAlreadyDecided):
		if errors.Is(err, documents.ErrRequestNotPending) {
			s.redeliver(ctx, req.AccountID, req.ID, lt.level)
		}
		writePage(w, r, http.StatusGone, pageDecided)
		return nil
	case err != nil:
		s.pageError(w, r, err)
		return nil
	}
	if _, err := s.afterDecision(ctx, req.AccountID, req.ID, lt.level, d.Approve); err != nil {
		// The decision is recorded; the workflow hears of it on a retry
		// of the level (or the request expires). Log loudly.
		httpapi.Logger(ctx).ErrorContext(ctx, "approvals: send level result", "request", req.ID, "error", err)
	}
	msg := "You approved this request. The requester will be told once every approval is in."
	heading := "Approved"
	if !d.Approve {
		heading, msg = "Denied", "You denied this request. The requester will be told."
	}
	writePage(w, r, http.StatusOK, pageData{Heading: heading, Message: msg, Request: s.page(ctx, lt)})
	return nil
}

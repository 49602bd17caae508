package approvals

import (
	"bytes"
	"context"
	"errors"
	"html/template"
	"mime"
	"net/http"
	"strconv"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/onetime"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// PageCSP is the approval pages' content security policy: no scripts, no
// external anything, inline styles only, forms post to this origin.
const PageCSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"

// MaxFormBytes bounds the approval page's form body.
const MaxFormBytes = 16 << 10

const pageHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Heading}} · Steward</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;color:#1f2933;line-height:1.5}
h1{font-size:1.4rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}
dt{color:#52606d}
dd{margin:0}
.note{white-space:pre-wrap;background:#f5f7fa;padding:.75rem;border-radius:4px}
textarea{width:100%;min-height:5rem;box-sizing:border-box;font:inherit}
.buttons{display:flex;gap:1rem;margin-top:1rem}
button{font:inherit;padding:.6rem 1.4rem;border-radius:4px;border:1px solid #7b8794;cursor:pointer}
.approve{background:#1f7a3a;color:#fff;border-color:#1f7a3a}
.deny{background:#fff;color:#b42318;border-color:#b42318}
.message{padding:1rem;border-radius:4px;background:#f5f7fa}
</style>
</head>
<body>
<h1>{{.Heading}}</h1>
{{if .Message}}<p class="message" role="status">{{.Message}}</p>{{end}}
{{with .Request}}
<dl>
<dt>Document</dt><dd>{{.DocType}} · {{.Title}}</dd>
<dt>Amount</dt><dd>{{.Amount}} {{.Currency}}</dd>
{{if .Store}}<dt>Store</dt><dd>{{.Store}}</dd>{{end}}
{{if .Department}}<dt>Department</dt><dd>{{.Department}}</dd>{{end}}
<dt>Requested by</dt><dd>{{.Requester}}</dd>
{{if .Level}}<dt>Approval level</dt><dd>{{.Level}} of {{.Levels}}</dd>{{end}}
</dl>
{{if .Note}}<p>Note from the requester:</p><p class="note">{{.Note}}</p>{{end}}
{{end}}
{{if .Form}}
<form method="post">
<label for="comment">Comment (optional)</label>
<textarea id="comment" name="comment" maxlength="1000"></textarea>
<div class="buttons">
<button class="approve" type="submit" name="decision" value="approve">Approve</button>
<button class="deny" type="submit" name="decision" value="deny">Deny</button>
</div>
</form>
{{end}}
</body>
</html>
`

var pageTemplate = template.Must(template.New("approve").Parse(pageHTML))

type pageRequest struct {
	DocType, Title, Amount, Currency string
	Store, Department, Requester     string
	Note                             string
	Level, Levels                    int
}

type pageData struct {
	Heading string
	Message string
	Request *pageRequest
	Form    bool
}

func writePage(w http.ResponseWriter, status int, d pageData) {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, d); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString("<!doctype html><title>Error</title><p>Something went wrong.</p>")
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", PageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func gone(heading, message string) pageData { return pageData{Heading: heading, Message: message} }

var (
	pageInvalid   = gone("This link does not work", "This approval link is not valid. Use the newest email you received about this request.")
	pageUsed      = gone("This link was used", "A decision was made with this link already. Each link works once.")
	pageExpired   = gone("This link has expired", "The time to decide on this request is over.")
	pageCancelled = gone("This request was withdrawn", "The approval request was cancelled, or its document changed. Nothing is left to decide.")
	pageDecided   = gone("This request was decided", "A decision on this request (or on this level of it) was made already. Nothing is left to decide.")
	pageNoLonger  = gone("You can no longer decide", "You are no longer allowed to approve this request.")
)

// linkTarget is what a valid link decides on.
type linkTarget struct {
	hash    string
	token   store.Token
	request team.ApprovalRequest
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
	case !s.now().Before(t.ExpiresAt):
		return linkTarget{}, &pageExpired, nil
	}
	r, err := s.Store.GetApprovalRequest(ctx, t.AccountID, t.Data["request"])
	if errors.Is(err, team.ErrRequestNotFound) {
		return linkTarget{}, &pageInvalid, nil
	}
	if err != nil {
		return linkTarget{}, nil, err
	}
	switch r.Status {
	case team.RequestPending:
	case team.RequestCancelled:
		return linkTarget{}, &pageCancelled, nil
	case team.RequestExpired:
		return linkTarget{}, &pageExpired, nil
	default:
		return linkTarget{}, &pageDecided, nil
	}
	if r.Level != level {
		return linkTarget{}, &pageDecided, nil
	}
	return linkTarget{hash: hash, token: t, request: r, level: level}, nil, nil
}

func (lt linkTarget) page() *pageRequest {
	r := lt.request
	return &pageRequest{
		DocType: docTypeLabel(r.DocType), Title: r.DocTitle, Amount: amountText(r.Amount), Currency: r.Currency,
		Store: r.Store, Department: r.Department, Requester: orDefault(r.RequesterName, r.RequesterEmail), Note: r.Note,
		Level: lt.level, Levels: len(r.Levels),
	}
}

func (s *Service) pageError(w http.ResponseWriter, r *http.Request, err error) {
	httpapi.Logger(r.Context()).ErrorContext(r.Context(), "approvals: approval page", "error", err)
	writePage(w, http.StatusInternalServerError, gone("Something went wrong", "Please try again in a moment."))
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
		writePage(w, http.StatusGone, *pg)
		return nil
	}
	writePage(w, http.StatusOK, pageData{Heading: "Approval requested", Request: lt.page(), Form: true})
	return nil
}

// HandleApproveSubmit serves the public POST /approve/{token}: the form's
// decision, recorded with the approver's identity while the token is
// consumed in the same transaction.
func (s *Service) HandleApproveSubmit(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		writePage(w, http.StatusUnsupportedMediaType, gone("Unsupported form", "Submit the decision with the form on the approval page."))
		return nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
	if err := r.ParseForm(); err != nil {
		writePage(w, http.StatusBadRequest, gone("The form could not be read", "Go back to the approval page and submit the form again."))
		return nil
	}
	d, err := parseDecision(r.PostForm.Get("decision"), r.PostForm.Get("comment"))
	if err != nil {
		writePage(w, http.StatusBadRequest, gone("Choose approve or deny", "Go back to the approval page, choose approve or deny, and keep the comment under 1000 characters."))
		return nil
	}
	lt, pg, err := s.resolve(ctx, r.PathValue("token"))
	if err != nil {
		s.pageError(w, r, err)
		return nil
	}
	if pg != nil {
		writePage(w, http.StatusGone, *pg)
		return nil
	}
	req, tok := lt.request, lt.token
	dec := team.ApprovalDecision{
		RequestID: req.ID, Level: lt.level, Approver: tok.Data["approver"], MemberID: tok.Data["memberId"],
		Name: tok.Data["name"], Email: tok.Data["email"], Outcome: outcome(d.Approve), Comment: d.Comment, ByLink: true, DecidedAt: s.now(),
	}
	ev := audit.Event{AccountID: req.AccountID, ActorID: dec.MemberID, ActorName: dec.Name, Action: "approval.decide_by_link",
		TargetType: "approval_request", TargetID: req.ID, RequestID: httpapi.RequestID(ctx)}
	if dec.MemberID == "" {
		ev.ActorID = "external:" + dec.Email
	} else {
		// A member's link works while the member may still approve.
		m, err := s.Store.GetMember(ctx, req.AccountID, dec.MemberID)
		if errors.Is(err, team.ErrMemberNotFound) {
			writePage(w, http.StatusGone, pageNoLonger)
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
			writePage(w, http.StatusGone, pageNoLonger)
			return nil
		}
		dec.Name, dec.Email = m.Name, m.Email
	}
	ev.After = audit.Snapshot(map[string]any{"level": lt.level, "outcome": dec.Outcome, "comment": dec.Comment, "email": dec.Email})
	err = s.Store.RecordDecision(ctx, req.AccountID, dec, &store.TokenUse{Hash: lt.hash, Subject: tok.SubjectID, Now: dec.DecidedAt}, ev)
	switch {
	case errors.Is(err, store.ErrTokenInvalid):
		switch s.Store.TokenFailure(ctx, lt.hash, store.TokenApproval, s.now()) {
		case store.ErrTokenUsed:
			writePage(w, http.StatusGone, pageUsed)
		case store.ErrTokenExpired:
			writePage(w, http.StatusGone, pageExpired)
		default:
			writePage(w, http.StatusGone, pageInvalid)
		}
		return nil
	case errors.Is(err, team.ErrRequestNotPending), errors.Is(err, team.ErrAlreadyDecided):
		writePage(w, http.StatusGone, pageDecided)
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
	writePage(w, http.StatusOK, pageData{Heading: heading, Message: msg, Request: lt.page()})
	return nil
}

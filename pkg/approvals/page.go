package approvals

import (
	"net/http"

	"github.com/stewardhq/steward/pkg/httpapi"
)

// MaxFormBytes bounds the approval page's form body.
const MaxFormBytes = httpapi.LinkPageMaxForm

type pageData struct {
	Heading string
	Message string
	Request *LinkView
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
	pageNotDelegate = gone("You no longer stand in", "The approver you received this link for is back, or changed their delegation: they decide themselves. Nothing was recorded.")
	pageBadChoice   = gone("Choose approve or deny", "Go back to the approval page, choose approve or deny, and keep the comment under 1000 characters.")
)

// goneFor is the page each refusal of a link shows (410).
var goneFor = []httpapi.LinkRefusal[pageData]{
	{Err: errLinkInvalid, Page: pageInvalid},
	{Err: errLinkUsed, Page: pageUsed},
	{Err: errLinkExpired, Page: pageExpired},
	{Err: errRequestCancelled, Page: pageCancelled},
	{Err: errNotPending, Page: pageDecided},
	{Err: errAlreadyDecided, Page: pageDecided},
	{Err: errNotApprover, Page: pageNoLonger},
	{Err: errExternalOff, Page: pageExternalOff},
	{Err: errExternalDomain, Page: pageExternalOff},
	{Err: errExternalIsMember, Page: pageNowMember},
	{Err: errExternalIsRequester, Page: pageNowMember},
	{Err: errNotDelegate, Page: pageNotDelegate},
	{Err: errDelegateIsRequester, Page: pageNoLonger},
}

// writeRefusal answers a link the service refused: its 410 page, the
// form's 400 page for an invalid decision, else 500.
func writeRefusal(w http.ResponseWriter, r *http.Request, err error) {
	if p, status, ok := httpapi.RefusalStatus(goneFor, pageBadChoice, err); ok {
		writePage(w, r, status, p)
		return
	}
	httpapi.Logger(r.Context()).ErrorContext(r.Context(), "approvals: approval page", "error", err)
	writePage(w, r, http.StatusInternalServerError, gone("Something went wrong", "Please try again in a moment."))
}

// HandleApprovePage serves the public GET /approve/{token}: the document
// and the decision form. It consumes nothing.
func (s *Service) HandleApprovePage(w http.ResponseWriter, r *http.Request) error {
	v, err := s.Link(r.Context(), r.PathValue("token"))
	if err != nil {
		writeRefusal(w, r, err)
		return nil
	}
	writePage(w, r, http.StatusOK, pageData{Heading: "Approval requested", Request: &v, Form: true})
	return nil
}

// HandleApproveSubmit serves the public POST /approve/{token}: the form's
// decision, recorded with the approver's identity while the token is
// consumed in the same transaction (Decide).
func (s *Service) HandleApproveSubmit(w http.ResponseWriter, r *http.Request) error {
	form, bad := httpapi.ReadLinkForm(w, r, "approval page")
	if bad != nil {
		writePage(w, r, bad.Status, gone(bad.Heading, bad.Message))
		return nil
	}
	res, err := s.Decide(r.Context(), DecideInput{Token: r.PathValue("token"), Decision: form.Get("decision"), Comment: form.Get("comment")})
	if err != nil {
		writeRefusal(w, r, err)
		return nil
	}
	heading, msg := "Approved", "You approved this request. The requester will be told once every approval is in."
	if !res.Approved {
		heading, msg = "Denied", "You denied this request. The requester will be told."
	}
	writePage(w, r, http.StatusOK, pageData{Heading: heading, Message: msg, Request: res.Link})
	return nil
}

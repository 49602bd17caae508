package access

import (
	"net/http"
	"time"

	"github.com/stewardhq/steward/pkg/httpapi"
)

// MaxFormBytes bounds the decision page's form body.
const MaxFormBytes = httpapi.LinkPageMaxForm

type pageData struct {
	Heading string
	Message string
	Request *LinkView
	Form    bool
}

func untilText(t time.Time) string {
	if t.IsZero() {
		return "No end date"
	}
	return "Until " + t.UTC().Format("2 Jan 2006 15:04 UTC")
}

func writePage(w http.ResponseWriter, r *http.Request, status int, d pageData) {
	httpapi.WriteHTML(w, r, status, accessPage(d))
}

func gone(heading, message string) pageData { return pageData{Heading: heading, Message: message} }

// goneFor is the page each refusal of a link shows (410).
var goneFor = []httpapi.LinkRefusal[pageData]{
	{Err: errLinkInvalid, Page: gone("This link does not work", "This link is not valid. Use the newest email you received about this request.")},
	{Err: errLinkUsed, Page: gone("This link was used", "A decision was made with this link already. Each link works once.")},
	{Err: errLinkExpired, Page: gone("This link has expired", "The time to decide on this request is over.")},
	{Err: errRequestCancelled, Page: gone("This request was withdrawn", "The requester cancelled the access request. Nothing is left to decide.")},
	{Err: errRequestDecided, Page: gone("This request was decided", "A decision on this access request was made already. Nothing is left to decide.")},
	{Err: errLinkNotDelegate, Page: gone("You no longer stand in", "You no longer stand in for the member this link was sent for (or you asked for this access yourself). Nothing was recorded.")},
	{Err: errLinkNotApprover, Page: gone("You can no longer decide", "You are no longer allowed to grant this role at this scope. Nothing was recorded.")},
	{Err: errSelfDecision, Page: gone("You can no longer decide", "Nobody decides their own access request. Nothing was recorded.")},
	{Err: errRequesterGone, Page: gone("The requester left", "The requester is no longer a member of this account. Nothing was recorded.")},
	{Err: errRequesterNotActive, Page: gone("The requester is not active", "The requester is suspended or inactive, so the access cannot be granted; the request can only be denied. Nothing was recorded.")},
	{Err: errWindowPassed, Page: gone("The grant would have ended", "The requested access would have ended already. Nothing was recorded.")},
	{Err: errRoleGone, Page: gone("The role was deleted", "The role asked for no longer exists. Nothing was recorded.")},
}

var pageBadChoice = gone("Choose approve or deny", "Go back to the page, choose approve or deny, keep the comment under 1000 characters, and give a date in the future, not later than asked, or none.")

func writeRefusal(w http.ResponseWriter, r *http.Request, err error) {
	if p, status, ok := httpapi.RefusalStatus(goneFor, pageBadChoice, err); ok {
		writePage(w, r, status, p)
		return
	}
	httpapi.Logger(r.Context()).ErrorContext(r.Context(), "access: decision page", "error", err)
	writePage(w, r, http.StatusInternalServerError, gone("Something went wrong", "Please try again in a moment."))
}

// HandlePage serves the public GET /access/{token}: the request and the
// decision form. It consumes nothing.
func (s *Service) HandlePage(w http.ResponseWriter, r *http.Request) error {
	v, err := s.Link(r.Context(), r.PathValue("token"))
	if err != nil {
		writeRefusal(w, r, err)
		return nil
	}
	writePage(w, r, http.StatusOK, pageData{Heading: "Access requested", Request: &v, Form: true})
	return nil
}

// HandleSubmit serves the public POST /access/{token}: the form's
// decision, recorded with the link's member while its token is consumed in
// the same transaction (Decide). The token is the credential: the form
// needs no other (no cookie, so no cross-site request to forge).
func (s *Service) HandleSubmit(w http.ResponseWriter, r *http.Request) error {
	form, bad := httpapi.ReadLinkForm(w, r, "decision page")
	if bad != nil {
		writePage(w, r, bad.Status, gone(bad.Heading, bad.Message))
		return nil
	}
	in := DecideInput{Token: r.PathValue("token"), Decision: form.Get("decision"), Comment: form.Get("comment")}
	if v := form.Get("expiresAt"); v != "" {
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			writePage(w, r, http.StatusBadRequest, pageBadChoice)
			return nil
		}
		in.ExpiresAt = &t
	}
	res, err := s.Decide(r.Context(), in)
	if err != nil {
		writeRefusal(w, r, err)
		return nil
	}
	heading, msg := "Approved", "You approved this request: the member holds the role now. They will be told."
	if !res.Approved {
		heading, msg = "Denied", "You denied this request. The requester will be told."
	}
	writePage(w, r, http.StatusOK, pageData{Heading: heading, Message: msg, Request: res.Link})
	return nil
}

package alerts

import (
	"mime"
	"net/http"
	"strings"

	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/httpapi"
)

// HandlePutStock serves PUT /v1/stock-levels.
func (s *Service) HandlePutStock(w http.ResponseWriter, r *http.Request) error {
	var in StockPush
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	res, err := s.PutStock(r.Context(), auth.FromContext(r.Context()), in)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, r, http.StatusOK, res)
	return nil
}

// HandlePreview serves GET /v1/alerts/preview?limit=&cursor=: what a run
// now would send (ignoring the alert hour, and whether today's digests
// went out), to whom and why, a page of members at a time.
func (s *Service) HandlePreview(w http.ResponseWriter, r *http.Request) error {
	limit, err := httpapi.ParseLimit(r)
	if err != nil {
		return err
	}
	pv, err := s.Preview(r.Context(), auth.FromContext(r.Context()), limit, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, r, http.StatusOK, pv)
	return nil
}

// page is what the unsubscribe page (page.templ) shows.
type page struct {
	Heading, Text, Token string
	Form                 bool
}

func writePage(w http.ResponseWriter, r *http.Request, status int, p page) {
	httpapi.WriteHTML(w, r, status, unsubscribePage(p))
}

var kindNames = map[string]string{
	"lowStock": "low stock", "duePurchaseOrder": "due purchase orders", "dueSalesOrder": "due sales orders",
	"paymentReminder": "payment reminders", "approvalReminder": "approval reminders",
}

func describe(kinds string) string {
	var out []string
	for _, k := range strings.Split(kinds, ",") {
		if n := kindNames[k]; n != "" {
			out = append(out, n)
		}
	}
	return strings.Join(out, ", ")
}

var invalidPage = page{Heading: "This link does not work", Text: "The unsubscribe link is invalid or has expired. Turn alerts off in your notification settings instead."}

// writeLink answers the page of a link's state (tok: the link's token, for
// the confirmation form).
func writeLink(w http.ResponseWriter, r *http.Request, link Link, tok string) {
	switch link.State {
	case LinkUsed:
		writePage(w, r, http.StatusOK, page{Heading: "You are unsubscribed", Text: "These alert emails (" + describe(link.Kinds) + ") are already turned off."})
	case LinkUsable:
		writePage(w, r, http.StatusOK, page{Heading: "Unsubscribe from alert emails?", Text: "Stop the daily " + describe(link.Kinds) + " alert emails to this address.", Token: tok, Form: true})
	case LinkRaced:
		writePage(w, r, http.StatusOK, page{Heading: "You are unsubscribed", Text: "These alert emails are turned off."})
	case LinkDone:
		writePage(w, r, http.StatusOK, page{Heading: "You are unsubscribed", Text: "You will no longer receive " + describe(link.Kinds) + " alert emails. Turn them back on in your notification settings."})
	default:
		writePage(w, r, http.StatusGone, invalidPage)
	}
}

// HandleUnsubscribePage serves GET /v1/alerts/unsubscribe?token=: a
// confirmation page with a one-button form. It changes nothing (mail
// scanners follow links).
func (s *Service) HandleUnsubscribePage(w http.ResponseWriter, r *http.Request) error {
	tok := r.URL.Query().Get("token")
	writeLink(w, r, s.UnsubscribeLink(r.Context(), tok), tok)
	return nil
}

// HandleUnsubscribe serves POST /v1/alerts/unsubscribe?token=: the RFC
// 8058 one-click unsubscribe (body List-Unsubscribe=One-Click) and the
// confirmation form. It turns the link's alert kinds off for the member
// the link was sent to, with an audit event.
func (s *Service) HandleUnsubscribe(w http.ResponseWriter, r *http.Request) error {
	tok := r.URL.Query().Get("token")
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && (mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data") {
		if err := r.ParseForm(); err != nil {
			writePage(w, r, http.StatusBadRequest, page{Heading: "The form could not be read", Text: "Open the link in the email again."})
			return nil
		}
		if tok == "" {
			tok = r.PostForm.Get("token")
		}
	}
	link, err := s.Unsubscribe(r.Context(), tok)
	if err != nil {
		return err
	}
	writeLink(w, r, link, tok)
	return nil
}

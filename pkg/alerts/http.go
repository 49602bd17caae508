package alerts

import (
	"errors"
	"mime"
	"net/http"
	"strings"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/authz"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/onetime"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
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

// errMayNotPreview: the preview shows every member's alerts.
var errMayNotPreview = fault.New(fault.Forbidden, "forbidden", "Previewing alerts needs users.view for the whole account.")

// HandlePreview serves GET /v1/alerts/preview?limit=&cursor=: what a run
// now would send (ignoring the alert hour, and whether today's digests
// went out), to whom and why, a page of members at a time (PreviewPage).
func (s *Service) HandlePreview(w http.ResponseWriter, r *http.Request) error {
	p := auth.FromContext(r.Context())
	if !p.Decide("users.view", authz.Resource{Account: p.AccountID()}).Allowed {
		return errMayNotPreview
	}
	limit, err := httpapi.ParseLimit(r)
	if err != nil {
		return err
	}
	a, err := s.Store.GetAccount(r.Context(), p.AccountID())
	if err != nil {
		return err
	}
	pv, err := s.PreviewPage(r.Context(), a, s.Now.Now(), limit, r.URL.Query().Get("cursor"))
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
	"lowStock": "low stock", "duePurchaseOrder": "due purchase orders",
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

// lookup reads an unsubscribe token; nil page when usable.
func (s *Service) lookup(r *http.Request, tok string) (store.Token, string, *page) {
	hash, err := onetime.Hash(tok)
	if err != nil {
		return store.Token{}, "", &invalidPage
	}
	t, err := s.Store.GetTokenOfKind(r.Context(), store.TokenUnsubscribe, hash)
	if err != nil || t.Kind != store.TokenUnsubscribe || t.Data["member"] == "" {
		return store.Token{}, "", &invalidPage
	}
	if !t.UsedAt.IsZero() {
		return t, hash, &page{Heading: "You are unsubscribed", Text: "These alert emails (" + describe(t.Data["kinds"]) + ") are already turned off."}
	}
	if !s.Now.Now().Before(t.ExpiresAt) {
		return t, hash, &invalidPage
	}
	return t, hash, nil
}

// HandleUnsubscribePage serves GET /v1/alerts/unsubscribe?token=: a
// confirmation page with a one-button form. It changes nothing (mail
// scanners follow links).
func (s *Service) HandleUnsubscribePage(w http.ResponseWriter, r *http.Request) error {
	tok := r.URL.Query().Get("token")
	t, _, pg := s.lookup(r, tok)
	if pg != nil {
		status := http.StatusOK
		if t.Kind == "" || t.UsedAt.IsZero() {
			status = http.StatusGone
		}
		writePage(w, r, status, *pg)
		return nil
	}
	writePage(w, r, http.StatusOK, page{Heading: "Unsubscribe from alert emails?", Text: "Stop the daily " + describe(t.Data["kinds"]) + " alert emails to this address.", Token: tok, Form: true})
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
	t, hash, pg := s.lookup(r, tok)
	if pg != nil {
		status := http.StatusOK
		if t.Kind == "" || t.UsedAt.IsZero() {
			status = http.StatusGone
		}
		writePage(w, r, status, *pg)
		return nil
	}
	member := t.Data["member"]
	kinds := strings.Split(t.Data["kinds"], ",")
	now := s.Now.Now()
	m, err := s.Store.GetMember(r.Context(), t.AccountID, member)
	if err != nil {
		writePage(w, r, http.StatusGone, invalidPage)
		return nil
	}
	after := m.Notifications
	for _, k := range kinds {
		switch Kind(k) {
		case KindLowStock:
			after.LowStockOff = true
		case KindDuePurchaseOrder:
			after.DuePurchaseOrderOff = true
		case KindPaymentReminder:
			after.PaymentReminderOff = true
		case KindApprovalReminder:
			after.ApprovalReminderOff = true
		}
	}
	ev := audit.Event{
		AccountID: t.AccountID, ActorID: member, ActorName: m.Name, Action: "member.unsubscribe",
		TargetType: "member", TargetID: member, RequestID: httpapi.RequestID(r.Context()),
		Before: audit.Snapshot(prefs(m.Notifications)), After: audit.Snapshot(prefs(after)),
	}
	err = s.Store.Unsubscribe(r.Context(), hash, t.AccountID, member, kinds, now, ev)
	switch {
	case errors.Is(err, store.ErrTokenInvalid):
		// Two clicks at once: the other one unsubscribed.
		writePage(w, r, http.StatusOK, page{Heading: "You are unsubscribed", Text: "These alert emails are turned off."})
		return nil
	case errors.Is(err, team.ErrMemberNotFound):
		writePage(w, r, http.StatusGone, invalidPage)
		return nil
	case err != nil:
		return err
	}
	writePage(w, r, http.StatusOK, page{Heading: "You are unsubscribed", Text: "You will no longer receive " + describe(t.Data["kinds"]) + " alert emails. Turn them back on in your notification settings."})
	return nil
}

type prefView struct {
	LowStock         bool `json:"lowStock"`
	DuePurchaseOrder bool `json:"duePurchaseOrder"`
	PaymentReminder  bool `json:"paymentReminder"`
	ApprovalReminder bool `json:"approvalReminder"`
}

func prefs(n team.Notifications) prefView {
	return prefView{!n.LowStockOff, !n.DuePurchaseOrderOff, !n.PaymentReminderOff, !n.ApprovalReminderOff}
}

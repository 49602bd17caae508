package portal

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stewardhq/steward/pkg/events"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/webhooks"
)

// The webhooks section: the account's webhook endpoints through
// webhooks.Service (as /v1/webhooks), shown to members who may manage
// them (webhooks.MayManage: webhooks.manage, not impersonated).

func init() {
	registerSection(50, section{nav: "webhooks", href: "/portal/webhooks", label: "Webhooks", may: webhooks.MayManage})
}

// deliveriesPageSize is the number of deliveries read for one page.
const deliveriesPageSize = 25

// webhookFields maps the API's field names to the webhook form's
// controls.
var webhookFields = map[string]string{"types": "types"}

func webhooksDenied(w http.ResponseWriter, r *http.Request, q *req) {
	writeMessage(w, r, http.StatusForbidden, q.chrome("Not allowed", ""), "Managing webhooks needs webhooks.manage (administrators and the owner).", "/portal/team", "Back to the team")
}

// webhookTypes are the event types offered, checked as chosen.
func webhookTypes(chosen []string) []scopeOption {
	out := make([]scopeOption, 0, len(events.Types))
	for _, t := range events.Types {
		c := false
		for _, x := range chosen {
			if x == t.Name {
				c = true
			}
		}
		out = append(out, scopeOption{Value: t.Name, Label: t.Name, Checked: c})
	}
	return out
}

// webhookInput is the form as the service's input.
func webhookInput(f webhookForm, withStatus bool) webhooks.Input {
	u, desc, types := f.URL, f.Description, append([]string{}, f.Types...)
	in := webhooks.Input{URL: &u, Description: &desc, Types: &types}
	if withStatus {
		st := f.Status
		in.Status = &st
	}
	return in
}

func webhookFormOf(form url.Values) webhookForm {
	return webhookForm{URL: strings.TrimSpace(form.Get("url")), Description: form.Get("description"), Types: form["types"], Status: form.Get("status")}
}

// HandleWebhooks serves GET /portal/webhooks: the endpoints and the form
// adding one.
func (s *Service) HandleWebhooks(w http.ResponseWriter, r *http.Request) error {
	return s.view(func(w http.ResponseWriter, r *http.Request, q *req) {
		if !webhooks.MayManage(q.P) {
			webhooksDenied(w, r, q)
			return
		}
		l := q.chrome("Webhooks", "webhooks")
		s.writeWebhooks(w, r, q, l, http.StatusOK, webhookForm{}, nil, "")
	})(w, r)
}

func (s *Service) writeWebhooks(w http.ResponseWriter, r *http.Request, q *req, l chrome, status int, f webhookForm, errs fieldErrors, secret string) {
	list, err := s.Webhooks.List(r.Context(), q.P)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := webhooksData{Form: f, Errors: errs, Secret: secret, Types: webhookTypes(f.Types)}
	for _, wh := range list {
		d.Endpoints = append(d.Endpoints, webhookRow{ID: wh.ID, URL: wh.URL, Description: wh.Description, Status: wh.Status, Types: typesText(wh.Types)})
	}
	writePage(w, r, status, webhooksPage(l, d))
}

func typesText(t []string) string {
	if len(t) == 0 {
		return "Every event"
	}
	return strings.Join(t, ", ")
}

// HandleWebhookCreate serves POST /portal/webhooks: a new endpoint
// (webhooks.Service Create, as POST /v1/webhooks); its secret is shown
// this once.
func (s *Service) HandleWebhookCreate(w http.ResponseWriter, r *http.Request) error {
	return s.action(func(w http.ResponseWriter, r *http.Request, q *req, form url.Values) {
		if !webhooks.MayManage(q.P) {
			webhooksDenied(w, r, q)
			return
		}
		f := webhookFormOf(form)
		l := q.chrome("Webhooks", "webhooks")
		wh, err := s.Webhooks.Create(r.Context(), q.P, webhookInput(f, false))
		if err != nil {
			errs, msg, ok := problemOf(err, webhookFields)
			if !ok || statusFor(err) >= 500 {
				s.fail(w, r, err)
				return
			}
			l.Error = msg
			s.writeWebhooks(w, r, q, l, statusFor(err), f, errs, "")
			return
		}
		l.Notice = "The endpoint " + wh.URL + " was added."
		s.writeWebhooks(w, r, q, l, http.StatusOK, webhookForm{}, nil, wh.Secret)
	})(w, r)
}

// HandleWebhook serves GET /portal/webhooks/{id}: the endpoint's form,
// its deliveries (a page at a time), replay, rotating its secret and
// deleting it.
func (s *Service) HandleWebhook(w http.ResponseWriter, r *http.Request) error {
	return s.view(func(w http.ResponseWriter, r *http.Request, q *req) {
		wh, ok := s.managedWebhook(w, r, q)
		if !ok {
			return
		}
		l := q.chrome("Webhook endpoint", "webhooks")
		s.writeWebhook(w, r, q, l, http.StatusOK, wh, webhookForm{URL: wh.URL, Description: wh.Description, Types: wh.Types, Status: wh.Status}, nil, "")
	})(w, r)
}

func (s *Service) writeWebhook(w http.ResponseWriter, r *http.Request, q *req, l chrome, status int, wh store.Webhook, f webhookForm, errs fieldErrors, secret string) {
	d := webhookData{ID: wh.ID, Form: f, Errors: errs, Secret: secret, Types: webhookTypes(f.Types), Since: time.Now().UTC().Add(-24 * time.Hour).Format(auditTimeLayout)}
	page, err := s.Webhooks.Deliveries(r.Context(), q.P, wh.ID, deliveriesPageSize, r.URL.Query().Get("cursor"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, dl := range page.Items {
		row := deliveryRow{Event: dl.EventID, Type: dl.EventType, Time: dl.EventTime.UTC().Format("2006-01-02 15:04:05 UTC"), Attempts: strconv.Itoa(dl.Attempts), Status: dl.Status, Error: dl.LastError}
		if dl.ResponseCode != 0 {
			row.Response = strconv.Itoa(dl.ResponseCode)
		}
		d.Deliveries = append(d.Deliveries, row)
	}
	if page.Next != "" {
		d.NextHref = "/portal/webhooks/" + wh.ID + "?" + url.Values{"cursor": {page.Next}}.Encode()
	}
	writePage(w, r, status, webhookPage(l, d))
}

// managedWebhook is the endpoint of the request's path when the member
// may manage webhooks; otherwise it answers (refusal or not found) and
// reports false.
func (s *Service) managedWebhook(w http.ResponseWriter, r *http.Request, q *req) (store.Webhook, bool) {
	if !webhooks.MayManage(q.P) {
		webhooksDenied(w, r, q)
		return store.Webhook{}, false
	}
	wh, err := s.Webhooks.Get(r.Context(), q.P, r.PathValue("id"))
	if err != nil {
		s.refuse(w, r, q, "Not found", err)
		return store.Webhook{}, false
	}
	return wh, true
}

// webhookAction runs a POST on an endpoint the member may manage.
func (s *Service) webhookAction(fn func(w http.ResponseWriter, r *http.Request, q *req, form url.Values, wh store.Webhook)) func(w http.ResponseWriter, r *http.Request) error {
	return s.action(func(w http.ResponseWriter, r *http.Request, q *req, form url.Values) {
		wh, ok := s.managedWebhook(w, r, q)
		if !ok {
			return
		}
		fn(w, r, q, form, wh)
	})
}

// HandleWebhookUpdate serves POST /portal/webhooks/{id}: the endpoint
// changed (webhooks.Service Update, as PATCH /v1/webhooks/{id}).
func (s *Service) HandleWebhookUpdate(w http.ResponseWriter, r *http.Request) error {
	return s.webhookAction(func(w http.ResponseWriter, r *http.Request, q *req, form url.Values, wh store.Webhook) {
		f := webhookFormOf(form)
		next, err := s.Webhooks.Update(r.Context(), q.P, wh.ID, webhookInput(f, true))
		if err != nil {
			errs, msg, ok := problemOf(err, webhookFields)
			if !ok || statusFor(err) >= 500 {
				s.fail(w, r, err)
				return
			}
			l := q.chrome("Webhook endpoint", "webhooks")
			l.Error = msg
			s.writeWebhook(w, r, q, l, statusFor(err), wh, f, errs, "")
			return
		}
		q.redirect(w, r, "/portal/webhooks/"+next.ID, "The endpoint was saved.")
	})(w, r)
}

// HandleWebhookRotate serves POST /portal/webhooks/{id}/rotate-secret:
// a new secret (webhooks.Service RotateSecret), shown this once.
func (s *Service) HandleWebhookRotate(w http.ResponseWriter, r *http.Request) error {
	return s.webhookAction(func(w http.ResponseWriter, r *http.Request, q *req, _ url.Values, wh store.Webhook) {
		secret, err := s.Webhooks.RotateSecret(r.Context(), q.P, wh.ID)
		if err != nil {
			s.refuse(w, r, q, "The secret was not replaced", err)
			return
		}
		l := q.chrome("Webhook endpoint", "webhooks")
		l.Notice = "The signing secret was replaced; deliveries are signed with the new one from now on."
		s.writeWebhook(w, r, q, l, http.StatusOK, wh, webhookForm{URL: wh.URL, Description: wh.Description, Types: wh.Types, Status: wh.Status}, nil, secret)
	})(w, r)
}

// HandleWebhookReplay serves POST /portal/webhooks/{id}/replay: the
// account's events since a time queued again for the endpoint
// (webhooks.Service Replay).
func (s *Service) HandleWebhookReplay(w http.ResponseWriter, r *http.Request) error {
	return s.webhookAction(func(w http.ResponseWriter, r *http.Request, q *req, form url.Values, wh store.Webhook) {
		f := webhookForm{URL: wh.URL, Description: wh.Description, Types: wh.Types, Status: wh.Status}
		l := q.chrome("Webhook endpoint", "webhooks")
		since, err := time.Parse(auditTimeLayout, strings.TrimSpace(form.Get("since")))
		if err != nil {
			l.Error = "Check the fields marked below."
			s.writeWebhook(w, r, q, l, http.StatusBadRequest, wh, f, fieldErrors{"since": "must be a date and time, e.g. 2026-01-31T09:00"}, "")
			return
		}
		n, err := s.Webhooks.Replay(r.Context(), q.P, wh.ID, since)
		if err != nil {
			errs, msg, ok := problemOf(err, nil)
			if !ok || statusFor(err) >= 500 {
				s.fail(w, r, err)
				return
			}
			l.Error = msg
			s.writeWebhook(w, r, q, l, statusFor(err), wh, f, errs, "")
			return
		}
		q.redirect(w, r, "/portal/webhooks/"+wh.ID, strconv.Itoa(n)+" events were queued for delivery again.")
	})(w, r)
}

// HandleWebhookDeletePage serves GET /portal/webhooks/{id}/delete: the
// confirmation.
func (s *Service) HandleWebhookDeletePage(w http.ResponseWriter, r *http.Request) error {
	return s.view(func(w http.ResponseWriter, r *http.Request, q *req) {
		wh, ok := s.managedWebhook(w, r, q)
		if !ok {
			return
		}
		d := confirmData{Question: "Delete the endpoint " + wh.URL + "? It receives no more events, and deliveries queued for it are dropped.", Action: "/portal/webhooks/" + wh.ID + "/delete", Button: "Delete the endpoint", Cancel: "/portal/webhooks/" + wh.ID}
		writePage(w, r, http.StatusOK, confirmPage(q.chrome("Delete the endpoint", "webhooks"), d))
	})(w, r)
}

// HandleWebhookDelete serves POST /portal/webhooks/{id}/delete
// (webhooks.Service Delete, as DELETE /v1/webhooks/{id}).
func (s *Service) HandleWebhookDelete(w http.ResponseWriter, r *http.Request) error {
	return s.webhookAction(func(w http.ResponseWriter, r *http.Request, q *req, _ url.Values, wh store.Webhook) {
		if err := s.Webhooks.Delete(r.Context(), q.P, wh.ID); err != nil {
			s.refuse(w, r, q, "The endpoint was not deleted", err)
			return
		}
		q.redirect(w, r, "/portal/webhooks", "The endpoint "+clip(wh.URL, 80)+" was deleted.")
	})(w, r)
}

type (
	webhookForm struct {
		URL, Description, Status string
		Types                    []string
	}
	webhookRow   struct{ ID, URL, Description, Status, Types string }
	webhooksData struct {
		Form      webhookForm
		Errors    fieldErrors
		Secret    string
		Types     []scopeOption
		Endpoints []webhookRow
	}
	webhookData struct {
		ID, Secret, Since string
		Form              webhookForm
		Errors            fieldErrors
		Types             []scopeOption
		Deliveries        []deliveryRow
		NextHref          string
	}
	deliveryRow struct{ Event, Type, Time, Attempts, Status, Response, Error string }
)

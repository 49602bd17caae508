package webhooks

import (
	"net/http"
	"time"

	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/store"
)

type (
	webhookRequest struct {
		URL         *string   `json:"url"`
		Types       *[]string `json:"types"`
		Description *string   `json:"description"`
		Status      *string   `json:"status"`
	}
	webhookView struct {
		ID           string     `json:"id"`
		URL          string     `json:"url"`
		Types        []string   `json:"types"`
		Description  string     `json:"description"`
		Status       string     `json:"status"`
		CreatedAt    time.Time  `json:"createdAt"`
		UpdatedAt    time.Time  `json:"updatedAt"`
		FailingSince *time.Time `json:"failingSince,omitempty"`
		DisabledAt   *time.Time `json:"disabledAt,omitempty"`
	}
	createdView struct {
		webhookView
		// Secret is the signing secret, shown this once.
		Secret string `json:"secret"`
	}
	secretView struct {
		Secret string `json:"secret"`
	}
	deliveryView struct {
		EventID      string     `json:"eventId"`
		Type         string     `json:"type,omitempty"`
		EventTime    time.Time  `json:"eventTime"`
		Attempts     int        `json:"attempts"`
		Status       string     `json:"status"`
		ResponseCode int        `json:"responseCode,omitempty"`
		LastError    string     `json:"lastError,omitempty"`
		NextTry      *time.Time `json:"nextTry,omitempty"`
		UpdatedAt    time.Time  `json:"updatedAt"`
	}
	replayRequest struct {
		Since string `json:"since"`
	}
	replayView struct {
		Queued int `json:"queued"`
	}
)

func optional(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func view(w store.Webhook) webhookView {
	return webhookView{
		ID: w.ID, URL: w.URL, Types: append([]string{}, w.Types...), Description: w.Description, Status: w.Status,
		CreatedAt: w.CreatedAt.UTC(), UpdatedAt: w.UpdatedAt.UTC(),
		FailingSince: optional(w.FailingSince), DisabledAt: optional(w.DisabledAt),
	}
}

func viewDelivery(d store.Delivery) deliveryView {
	return deliveryView{
		EventID: d.EventID, Type: d.EventType, EventTime: d.EventTime.UTC(), Attempts: d.Attempts, Status: d.Status,
		ResponseCode: d.ResponseCode, LastError: d.LastError, NextTry: optional(d.NextTry), UpdatedAt: d.UpdatedAt.UTC(),
	}
}

func input(r webhookRequest) Input {
	return Input(r)
}

// HandleCreate serves POST /v1/webhooks.
func (s *Service) HandleCreate(w http.ResponseWriter, r *http.Request) error {
	var in webhookRequest
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	wh, err := s.Create(r.Context(), auth.FromContext(r.Context()), input(in))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, r, http.StatusCreated, createdView{webhookView: view(wh), Secret: wh.Secret})
	return nil
}

// HandleList serves GET /v1/webhooks: every endpoint (at most 20), one
// page.
func (s *Service) HandleList(w http.ResponseWriter, r *http.Request) error {
	ws, err := s.List(r.Context(), auth.FromContext(r.Context()))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, r, http.StatusOK, httpapi.ListOf(ws, "", view))
	return nil
}

// HandleGet serves GET /v1/webhooks/{id}.
func (s *Service) HandleGet(w http.ResponseWriter, r *http.Request) error {
	wh, err := s.Get(r.Context(), auth.FromContext(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, r, http.StatusOK, view(wh))
	return nil
}

// HandleUpdate serves PATCH /v1/webhooks/{id}.
func (s *Service) HandleUpdate(w http.ResponseWriter, r *http.Request) error {
	var in webhookRequest
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	wh, err := s.Update(r.Context(), auth.FromContext(r.Context()), r.PathValue("id"), input(in))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, r, http.StatusOK, view(wh))
	return nil
}

// HandleDelete serves DELETE /v1/webhooks/{id}.
func (s *Service) HandleDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.Delete(r.Context(), auth.FromContext(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// HandleRotateSecret serves POST /v1/webhooks/{id}/rotate-secret.
func (s *Service) HandleRotateSecret(w http.ResponseWriter, r *http.Request) error {
	secret, err := s.RotateSecret(r.Context(), auth.FromContext(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, r, http.StatusOK, secretView{Secret: secret})
	return nil
}

// HandleDeliveries serves GET /v1/webhooks/{id}/deliveries.
func (s *Service) HandleDeliveries(w http.ResponseWriter, r *http.Request) error {
	limit, err := httpapi.ParseLimit(r)
	if err != nil {
		return err
	}
	page, err := s.Deliveries(r.Context(), auth.FromContext(r.Context()), r.PathValue("id"), limit, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, r, http.StatusOK, httpapi.ListOf(page.Items, page.Next, viewDelivery))
	return nil
}

// HandleReplay serves POST /v1/webhooks/{id}/replay.
func (s *Service) HandleReplay(w http.ResponseWriter, r *http.Request) error {
	var in replayRequest
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	var since time.Time
	if in.Since != "" {
		t, err := time.Parse(time.RFC3339, in.Since)
		if err != nil {
			return httpapi.InvalidField("since", "must be an RFC 3339 time")
		}
		since = t
	}
	n, err := s.Replay(r.Context(), auth.FromContext(r.Context()), r.PathValue("id"), since)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, r, http.StatusAccepted, replayView{Queued: n})
	return nil
}

package apikeys

import (
	"net/http"
	"time"

	"github.com/stewardhq/steward/pkg/apikeys/apikey"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/store"
)

type (
	createRequest struct {
		Name        string   `json:"name"`
		Permissions []string `json:"permissions"`
		Scopes      []string `json:"scopes,omitempty"`
	}
	apiKeyView struct {
		ID          string     `json:"id"`
		Name        string     `json:"name"`
		Prefix      string     `json:"prefix"`
		Status      string     `json:"status"`
		Permissions []string   `json:"permissions"`
		Scopes      []string   `json:"scopes"`
		CreatedAt   time.Time  `json:"createdAt"`
		CreatedBy   creatorRef `json:"createdBy"`
		LastUsedAt  *time.Time `json:"lastUsedAt,omitempty"`
		RevokedAt   *time.Time `json:"revokedAt,omitempty"`
	}
	creatorRef struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	createdView struct {
		apiKeyView
		// Secret is the whole key, shown this once.
		Secret string `json:"secret"`
	}
)

func view(k store.APIKey) apiKeyView {
	v := apiKeyView{
		ID: k.ID, Name: k.Name, Prefix: apikey.ListedPrefix(k.ID), Status: "active",
		Permissions: append([]string{}, k.Permissions...), Scopes: make([]string, 0, len(k.Scopes)),
		CreatedAt: k.CreatedAt.UTC(), CreatedBy: creatorRef{ID: k.CreatedByID, Name: k.CreatedByName},
	}
	for _, sc := range k.Scopes {
		v.Scopes = append(v.Scopes, sc.String())
	}
	if !k.LastUsedAt.IsZero() {
		t := k.LastUsedAt.UTC()
		v.LastUsedAt = &t
	}
	if !k.RevokedAt.IsZero() {
		t := k.RevokedAt.UTC()
		v.RevokedAt, v.Status = &t, "revoked"
	}
	return v
}

// HandleCreate serves POST /v1/api-keys.
func (s *Service) HandleCreate(w http.ResponseWriter, r *http.Request) error {
	var in createRequest
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	c, err := s.Create(r.Context(), auth.FromContext(r.Context()), CreateInput(in))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, r, http.StatusCreated, createdView{apiKeyView: view(c.Key), Secret: c.Secret})
	return nil
}

// HandleList serves GET /v1/api-keys.
func (s *Service) HandleList(w http.ResponseWriter, r *http.Request) error {
	limit, err := httpapi.ParseLimit(r)
	if err != nil {
		return err
	}
	page, err := s.List(r.Context(), auth.FromContext(r.Context()), limit, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, r, http.StatusOK, httpapi.ListOf(page.Items, page.Next, view))
	return nil
}

// HandleRevoke serves DELETE /v1/api-keys/{id}.
func (s *Service) HandleRevoke(w http.ResponseWriter, r *http.Request) error {
	if err := s.Revoke(r.Context(), auth.FromContext(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

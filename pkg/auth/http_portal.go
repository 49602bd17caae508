package auth

import (
	"net/http"
	"strings"
	"time"

	"github.com/stewardhq/steward/pkg/httpapi"
)

type (
	portalLinkRequest struct {
		UserID    string `json:"userId"`
		ReturnURL string `json:"returnUrl,omitempty"`
	}
	portalLinkResponse struct {
		URL       string    `json:"url"`
		ExpiresAt time.Time `json:"expiresAt"`
	}
)

// PortalEnterPath is the path of a minted portal link, before its token.
const PortalEnterPath = "/portal/enter/"

// HandleMintPortalLink serves POST /v1/portal/sessions: 201 {url,
// expiresAt}, the one-time link the host app hands its member.
func (s *Service) HandleMintPortalLink(w http.ResponseWriter, r *http.Request) error {
	var in portalLinkRequest
	if err := httpapi.Decode(r, &in); err != nil {
		return err
	}
	l, err := s.MintPortalLink(r.Context(), FromContext(r.Context()), in.UserID, in.ReturnURL)
	if err != nil {
		return err
	}
	// The link is a credential: never cached.
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, r, http.StatusCreated, portalLinkResponse{URL: strings.TrimRight(s.PublicURL, "/") + PortalEnterPath + l.Token, ExpiresAt: l.ExpiresAt.UTC()})
	return nil
}

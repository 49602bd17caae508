// Package health answers GET /v1/health: the build's version and whether
// the DynamoDB table answers.
package health

import (
	"context"
	"net/http"
	"time"

	"github.com/stewardhq/steward/pkg/httpapi"
)

// Pinger checks a dependency; *store.Store is one.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Response is the body of GET /v1/health.
type Response struct {
	// Status is "ok" when every dependency answers, else "degraded".
	Status  string `json:"status"`
	Version string `json:"version"`
	// DynamoDB is "ok" or "unavailable".
	DynamoDB string `json:"dynamodb"`
}

// pingTimeout bounds the dependency check, so that a health probe answers
// promptly even when DynamoDB hangs.
const pingTimeout = 2 * time.Second

// Handler serves GET /v1/health.
type Handler struct {
	DB      Pinger
	Version string
}

// Get answers 200 when DynamoDB answers and 503 (same body shape) when it
// does not; the failure's detail goes to the log, not the client.
func (h Handler) Get(w http.ResponseWriter, r *http.Request) error {
	resp := Response{Status: "ok", Version: h.Version, DynamoDB: "ok"}
	status := http.StatusOK
	ctx, cancel := context.WithTimeout(r.Context(), pingTimeout)
	defer cancel()
	if err := h.DB.Ping(ctx); err != nil {
		httpapi.Logger(r.Context()).Warn("health: dynamodb unavailable", "error", err.Error())
		resp.Status, resp.DynamoDB = "degraded", "unavailable"
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, r, status, resp)
	return nil
}

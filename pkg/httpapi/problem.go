// Package httpapi is Steward's HTTP layer: RFC 9457 problem responses with
// stable codes, strict JSON decoding with a body limit, request ids, JSON
// logs and panic recovery. Handlers return errors; one place (WriteError)
// turns them into responses, so internal detail is logged, never returned.
package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// ProblemContentType is the media type of every error response.
const ProblemContentType = "application/problem+json"

// Error is an error with a public meaning: an HTTP status, a stable code
// clients can switch on, and a message safe to show. Handlers and domain
// packages return it (or wrap it) for every expected failure.
type Error struct {
	Status int
	Code   string
	Detail string
	// Fields names the offending input fields, when there are any.
	Fields []FieldError
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter time.Duration
	// Extra members added to the problem body (e.g. the accounts a login
	// could mean).
	Extra map[string]any
}

// FieldError names one invalid input field.
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Detail }

// Errorf builds an *Error.
func Errorf(status int, code, detail string) *Error {
	return &Error{Status: status, Code: code, Detail: detail}
}

// Common errors, by stable code.
var (
	ErrNotFound         = Errorf(http.StatusNotFound, "not_found", "The resource does not exist.")
	ErrMethodNotAllowed = Errorf(http.StatusMethodNotAllowed, "method_not_allowed", "The method is not allowed on this resource.")
	ErrUnauthenticated  = Errorf(http.StatusUnauthorized, "unauthenticated", "A valid bearer token is required.")
	ErrForbidden        = Errorf(http.StatusForbidden, "forbidden", "You are not allowed to do this.")
	ErrBodyTooLarge     = Errorf(http.StatusRequestEntityTooLarge, "body_too_large", "The request body is larger than 1 MiB.")
	ErrUnsupportedMedia = Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "The request body must be application/json.")
	ErrInternal         = Errorf(http.StatusInternalServerError, "internal", "Something went wrong on our side. Quote the request id when reporting it.")
)

// Problem is the RFC 9457 body.
type Problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Code      string       `json:"code"`
	Detail    string       `json:"detail,omitempty"`
	Instance  string       `json:"instance,omitempty"`
	RequestID string       `json:"requestId,omitempty"`
	Errors    []FieldError `json:"errors,omitempty"`
}

// WriteError answers err as a problem. An *Error anywhere in err's chain is
// answered as it says; anything else is logged with the request id and
// answered with a generic 500 carrying the same id.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		Logger(r.Context()).Error("unexpected error", "error", err.Error())
		e = ErrInternal
	}
	writeProblem(w, r, e)
}

func writeProblem(w http.ResponseWriter, r *http.Request, e *Error) {
	p := Problem{
		Type:      "https://steward.dev/problems/" + e.Code,
		Title:     http.StatusText(e.Status),
		Status:    e.Status,
		Code:      e.Code,
		Detail:    e.Detail,
		Instance:  r.URL.Path,
		RequestID: RequestID(r.Context()),
		Errors:    e.Fields,
	}
	h := w.Header()
	h.Set("Content-Type", ProblemContentType)
	h.Set("Cache-Control", "no-store")
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	w.WriteHeader(e.Status)
	var body any = p
	if len(e.Extra) > 0 {
		// Extension members sit beside the standard ones; they never
		// replace them.
		m := map[string]any{}
		for k, v := range e.Extra {
			m[k] = v
		}
		raw, _ := json.Marshal(p)
		_ = json.Unmarshal(raw, &m)
		body = m
	}
	if err := json.NewEncoder(w).Encode(body); err != nil {
		slog.Debug("write problem", "error", err)
	}
}

// WriteJSON answers v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		Logger(r.Context()).Warn("write response", "error", err.Error())
	}
}

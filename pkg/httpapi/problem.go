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

	"github.com/stewardhq/steward/pkg/fault"
)

// ProblemContentType is the media type of every error response.
const ProblemContentType = "application/problem+json"

// Error is a domain error (pkg/fault): a kind, a stable code, a message
// safe to show. Handlers and domain packages return it (or wrap it) for
// every expected failure; WriteError answers it through the table below.
type Error = fault.Error

// FieldError names one invalid input field.
type FieldError = fault.Field

// problemOf is the one table from a kind of domain error to its HTTP
// status (the problem's title is that status's text). No other code builds
// a problem: domain packages return *fault.Error values and this table
// decides how they look on the wire; TestNoProblemOutsideTheTable keeps it
// so.
var problemOf = map[fault.Kind]int{
	fault.Invalid:              http.StatusBadRequest,
	fault.Unauthenticated:      http.StatusUnauthorized,
	fault.Forbidden:            http.StatusForbidden,
	fault.NotFound:             http.StatusNotFound,
	fault.MethodNotAllowed:     http.StatusMethodNotAllowed,
	fault.Conflict:             http.StatusConflict,
	fault.Gone:                 http.StatusGone,
	fault.Stale:                http.StatusPreconditionFailed,
	fault.TooLarge:             http.StatusRequestEntityTooLarge,
	fault.UnsupportedMedia:     http.StatusUnsupportedMediaType,
	fault.Unprocessable:        http.StatusUnprocessableEntity,
	fault.PreconditionRequired: http.StatusPreconditionRequired,
	fault.TooMany:              http.StatusTooManyRequests,
	fault.Internal:             http.StatusInternalServerError,
	fault.Unavailable:          http.StatusServiceUnavailable,
}

// Status is the HTTP status of a domain error's kind (500 for a kind the
// table does not know).
func Status(k fault.Kind) int {
	if s, ok := problemOf[k]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Common errors, by stable code.
var (
	ErrNotFound         = fault.ErrNotFound
	ErrMethodNotAllowed = fault.New(fault.MethodNotAllowed, "method_not_allowed", "The method is not allowed on this resource.")
	ErrUnauthenticated  = fault.New(fault.Unauthenticated, "unauthenticated", "A valid bearer token is required.")
	ErrForbidden        = fault.ErrForbidden
	ErrBodyTooLarge     = fault.New(fault.TooLarge, "body_too_large", "The request body is larger than 1 MiB.")
	ErrUnsupportedMedia = fault.New(fault.UnsupportedMedia, "unsupported_media_type", "The request body must be application/json.")
	ErrInternal         = fault.ErrInternal
)

// throttleCodes are the error codes AWS services give for throttling,
// overload and collisions that outlasted the SDK's retries (DynamoDB, SES,
// Step Functions, Secrets Manager). A call that fails with one wrote
// nothing; the caller retries.
var throttleCodes = map[string]bool{
	"ThrottlingException":                    true,
	"Throttling":                             true,
	"ProvisionedThroughputExceededException": true,
	"RequestLimitExceeded":                   true,
	"TooManyRequestsException":               true,
	"LimitExceededException":                 true,
	"TransactionConflictException":           true,
	"TransactionInProgressException":         true,
	"InternalServerError":                    true,
	"ServiceUnavailable":                     true,
}

// Throttled reports whether err is, anywhere in its chain, an AWS error
// (anything with ErrorCode, as smithy.APIError has) whose code says the
// service throttled, was overloaded or saw a conflicting write: answered
// 503 busy with Retry-After, not 500.
func Throttled(err error) bool {
	var api interface{ ErrorCode() string }
	return errors.As(err, &api) && throttleCodes[api.ErrorCode()]
}

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
		if !Throttled(err) {
			Logger(r.Context()).Error("unexpected error", "error", err.Error())
			e = ErrInternal
		} else {
			e = fault.Busy(err)
		}
	}
	if e.Err != nil && e.Kind == fault.Unavailable {
		Logger(r.Context()).Warn("dependency busy", "code", e.Code, "error", e.Err.Error())
	}
	if _, ok := problemOf[e.Kind]; !ok {
		Logger(r.Context()).Error("domain error of a kind the problem table does not know", "code", e.Code, "kind", int(e.Kind))
		e = ErrInternal
	}
	writeProblem(w, r, e)
}

func writeProblem(w http.ResponseWriter, r *http.Request, e *Error) {
	status := Status(e.Kind)
	p := Problem{
		Type:      "https://steward.dev/problems/" + e.Code,
		Title:     http.StatusText(status),
		Status:    status,
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
	w.WriteHeader(status)
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

// Package fault holds Steward's domain errors. A domain operation that
// refuses returns a *Error: the kind of refusal (not found, conflict,
// stale version, ...), a stable code clients can switch on, a message safe
// to show, the offending fields and, for throttles, when to retry.
//
// Nothing here knows HTTP. The one table that turns a kind into an HTTP
// status and title is pkg/httpapi's (problems.go); no other package builds
// a problem, and a test fails if one does.
package fault

import (
	"fmt"
	"time"
)

// Kind is what sort of refusal an error is; the transport maps each kind to
// one status.
type Kind uint8

// The kinds. Each maps to exactly one HTTP status in pkg/httpapi's table.
const (
	// Invalid: the input is malformed or breaks a rule of its own (400).
	Invalid Kind = iota + 1
	// Unauthenticated: no valid credentials (401).
	Unauthenticated
	// Forbidden: the caller may not do this (403).
	Forbidden
	// NotFound: the thing does not exist, or the caller may not know it
	// does (404).
	NotFound
	// MethodNotAllowed: the route exists with another method (405).
	MethodNotAllowed
	// Conflict: the current state refuses the change (409).
	Conflict
	// Gone: a link or token that existed and no longer works (410).
	Gone
	// Stale: the caller's version is not the current one (412).
	Stale
	// TooLarge: the request body is too large (413).
	TooLarge
	// UnsupportedMedia: the request body is not JSON (415).
	UnsupportedMedia
	// Unprocessable: well-formed, but it cannot be done as asked (422).
	Unprocessable
	// PreconditionRequired: the write needs If-Match (428).
	PreconditionRequired
	// TooMany: a throttle; RetryAfter says when to try again (429).
	TooMany
	// Internal: our fault (500).
	Internal
	// Unavailable: a dependency is unavailable; nothing changed (503).
	Unavailable
)

// Error is a refusal with a public meaning.
type Error struct {
	Kind Kind
	// Code is stable: clients switch on it.
	Code string
	// Detail is safe to show to the caller.
	Detail string
	// Fields names the offending input fields, when there are any.
	Fields []Field
	// RetryAfter, when set, tells the caller when to try again.
	RetryAfter time.Duration
	// Extra members added to the problem body (e.g. the accounts a login
	// could mean).
	Extra map[string]any
	// Err is the cause, for the logs; it is never shown to the caller.
	Err error
}

// Field names one invalid input field.
type Field struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Detail + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Detail
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// BusyRetryAfter is how long a caller waits after a Busy error.
const BusyRetryAfter = time.Second

// Busy is the error for a dependency that throttles or is overloaded, or a
// write that kept colliding with other writes after its retries: the
// failed call wrote nothing, and the caller may retry after RetryAfter
// (code busy, kind Unavailable). cause is kept for the logs.
func Busy(cause error) *Error {
	return &Error{Kind: Unavailable, Code: "busy", Err: cause, RetryAfter: BusyRetryAfter,
		Detail: "Steward is busy right now and did not complete this call. Retry after the number of seconds in Retry-After."}
}

// New returns an error of kind k.
func New(k Kind, code, detail string) *Error {
	return &Error{Kind: k, Code: code, Detail: detail}
}

// InvalidField is the error for one bad input field (code invalid_field).
func InvalidField(field, detail string) *Error {
	return &Error{Kind: Invalid, Code: "invalid_field", Detail: field + ": " + detail,
		Fields: []Field{{Field: field, Detail: detail}}}
}

// Indexed names an element of an array field, "assignments[2]".
func Indexed(field string, i int) string { return fmt.Sprintf("%s[%d]", field, i) }

// WithFields returns a copy of e naming fields (sentinels stay unchanged).
func (e *Error) WithFields(fields ...Field) *Error {
	c := *e
	c.Fields = append([]Field(nil), fields...)
	return &c
}

// Common errors.
var (
	ErrNotFound  = New(NotFound, "not_found", "The resource does not exist.")
	ErrForbidden = New(Forbidden, "forbidden", "You are not allowed to do this.")
	ErrInternal  = New(Internal, "internal", "Something went wrong on our side. Quote the request id when reporting it.")
	// ErrBadCursor is a pagination cursor this server did not issue for
	// this list (pkg/store's cursors answer it as they are).
	ErrBadCursor = New(Invalid, "bad_cursor", "The cursor is not valid for this list; start again without it.")
)

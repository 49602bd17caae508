// Package audit defines the audit event: who did what to which target,
// acting as whom, with the state before and after. Every change to Steward's
// data is written together with its event in one DynamoDB transaction (see
// store.Tx), so there is no change without its event.
package audit

import (
	"encoding/json"
	"time"
)

// Event is one audit record.
type Event struct {
	// ID is unique; the store assigns one when empty.
	ID        string
	AccountID string
	// Time is when the change happened; the store sets it when zero.
	Time time.Time
	// ActorID is the member (or "apikey:<id>", or "system") who acted.
	ActorID string
	// ActorName is the actor's display name at the time, so the history
	// reads well after a member is deleted.
	ActorName string
	// ImpersonatorID is the admin acting as ActorID, when impersonating.
	ImpersonatorID string
	// Action is a stable verb, e.g. "member.suspend".
	Action string
	// TargetType and TargetID name what changed, e.g. "member", "m_123".
	TargetType string
	TargetID   string
	// Before and After are JSON snapshots of the target (nil when absent).
	Before json.RawMessage
	After  json.RawMessage
	// RequestID ties the event to the API request's logs.
	RequestID string
}

// Snapshot marshals v for Before or After. It never fails for the plain
// structs Steward records; a value that cannot be marshalled is recorded
// as null.
func Snapshot(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}

// Filter selects events in GET /v1/audit. Zero fields do not filter.
type Filter struct {
	ActorID    string
	TargetType string
	TargetID   string
	Action     string
	From, To   time.Time
}

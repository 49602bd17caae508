// Package events turns Steward's audit log into change events for host
// apps: the documented catalogue of event types, the mapping from an audit
// event (written in the same DynamoDB transaction as its change, so the
// audit item is the outbox) to the change events it announces, and the
// pull feed GET /v1/events.
//
// An event is delivered three ways: listed by the feed (oldest first,
// resumable by cursor), pushed to webhook endpoints (pkg/webhooks, signed
// per the Standard Webhooks specification) and, in AWS, put on the
// EventBridge bus steward-<stage>. The same Event value feeds all three.
package events

import (
	"encoding/json"
	"time"
)

// Event is one change event. Its JSON is a feed item; without ID it is a
// webhook body ({"type", "timestamp", "data"}), the ID travelling in the
// webhook-id header.
type Event struct {
	// ID is stable: "evt_" followed by the audit event's id, and ".n" for
	// the n-th (n >= 2) event one audit event announces. Retries and
	// replays carry the same ID.
	ID string `json:"id"`
	// Type is one of the catalogue (Types).
	Type string `json:"type"`
	// Timestamp is when the change happened (the audit event's time).
	Timestamp time.Time `json:"timestamp"`
	// Data always holds "accountId" and "actor" ({id, name,
	// onBehalfOf?}), then the objects the type names (the member, the
	// document, the outcome...), so a host app can act without a second
	// call.
	Data json.RawMessage `json:"data"`
}

// Payload is the webhook body: the event without its ID.
func (e Event) Payload() ([]byte, error) {
	return json.Marshal(struct {
		Type      string          `json:"type"`
		Timestamp time.Time       `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}{e.Type, e.Timestamp.UTC(), e.Data})
}

// Package webhooks keeps an account's webhook endpoints and delivers
// change events (pkg/events) to them, signed per the Standard Webhooks
// specification, at least once, retried with backoff.
//
// Decisions:
//   - Managing endpoints needs webhooks.manage, a critical permission
//     (administrators and the owner; full access and API keys lack it),
//     and never from an impersonated session. Another account's endpoint
//     is 404. At most store.MaxWebhooks (20) per account.
//   - The signing secret, "whsec_" and the base64 of 32 random bytes, is
//     answered by create and rotate-secret only (Cache-Control: no-store),
//     never listed, logged or put in an audit event. It is stored sealed
//     (AES-256-GCM under a key derived from the cursor key; see
//     pkg/store/webhooks.go), so the deliverer can sign with it. Rotation
//     replaces it at once. POST /v1/webhooks takes no Idempotency-Key: a
//     replayed answer would have to store the secret (as API keys).
//   - URLs (URLPolicy): outside the local and test stages https only, no
//     userinfo, printable ASCII, and a host that is or resolves only to
//     public addresses; every connection's address is checked again after
//     resolution (a net.Dialer Control), no proxy, no redirect followed,
//     10 s per attempt, 4 KB of the answer read.
//   - Delivery (Deliverer.Handle, one Task at a time, each independent):
//     headers webhook-id (the event id, the same on every retry and
//     replay), webhook-timestamp (the attempt) and webhook-signature. A
//     2xx succeeds; anything else is retried after 5 s, 5 min, 30 min,
//     2 h, 5 h, 10 h, then daily, the last attempt 3 days after the first
//     try; then the delivery has failed. An endpoint whose failures have
//     lasted 3 days (failingSince, cleared by any success) is disabled by
//     "system" (audit webhook.disable) and its administrators are emailed
//     once (MailNotifier, the outbox). A disabled or deleted endpoint's
//     tasks are dropped (recorded endpoint_disabled when it still exists).
//   - Every endpoint change is one transaction with its audit event
//     (webhook.create, webhook.update, webhook.delete,
//     webhook.rotate_secret, webhook.disable); failure bookkeeping and
//     delivery records (kept 30 days) write none.
//   - A replay re-queues the account's events since a time (at most 30
//     days back and 10,000 events) that the endpoint subscribes to, as new
//     first attempts marked Replay.
package webhooks

import (
	"context"
	"time"
)

// Task is one delivery of one event to one endpoint: the message on the
// delivery queue. The publisher sends the first (Attempt 1); the deliverer
// sends the next after a failure, with the delay of the retry schedule.
type Task struct {
	AccountID  string `json:"accountId"`
	EndpointID string `json:"endpointId"`
	// EventID and EventTime find the event again: the audit event's id is
	// EventID without "evt_" (and without a ".n" suffix), and its time
	// is EventTime (the audit item's sort key is built from both).
	EventID   string    `json:"eventId"`
	EventTime time.Time `json:"eventTime"`
	// Attempt counts from 1.
	Attempt int `json:"attempt"`
	// FirstTry is when the first attempt was scheduled; an endpoint whose
	// deliveries fail for 3 days is disabled.
	FirstTry time.Time `json:"firstTry"`
	// NotBefore: a queue whose longest delay is shorter than the wait
	// (SQS: 15 minutes) delivers the task early; the deliverer sends it
	// back until NotBefore.
	NotBefore time.Time `json:"notBefore,omitzero"`
	// Replay marks a task sent by POST /v1/webhooks/{id}/replay.
	Replay bool `json:"replay,omitempty"`
}

// Queue holds tasks until they are due (SQS in AWS; moto's SQS locally).
type Queue interface {
	Send(ctx context.Context, tasks []Task, delay time.Duration) error
}

// Package webhooks keeps an account's webhook endpoints and delivers
// change events (pkg/events) to them, signed per the Standard Webhooks
// specification, at least once, retried with backoff.
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

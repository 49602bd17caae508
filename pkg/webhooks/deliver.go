package webhooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/clock"
	"github.com/stewardhq/steward/pkg/events"
	"github.com/stewardhq/steward/pkg/store"
)

// EventLoader finds an event again from a task (the audit log: the event
// id names the audit event, at its time).
type EventLoader interface {
	Load(ctx context.Context, account, eventID string, at time.Time) (events.Event, error)
}

// ErrEventNotFound is what an EventLoader answers for an event that is
// gone (expired from the audit log): the delivery fails, not retried.
var ErrEventNotFound = events.ErrEventNotFound

// Poster sends one attempt (HTTPPoster).
type Poster interface {
	Post(ctx context.Context, target string, headers map[string]string, body []byte) (status int, err error)
}

// Notifier tells an account's administrators that an endpoint was
// disabled (mail, deduplicated by the outbox).
type Notifier interface {
	WebhookDisabled(ctx context.Context, w store.Webhook) error
}

// Retry policy.
const (
	// RetryFor is how long a delivery is retried after its first try, and
	// how long an endpoint may keep failing before it is disabled.
	RetryFor = 3 * 24 * time.Hour
	// MaxQueueDelay is the longest delay of one send (SQS: 15 minutes);
	// a task due later comes back early and is sent again.
	MaxQueueDelay = 15 * time.Minute
)

var schedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour}

// RetryDelay is the wait after failed attempt n (from 1): 5s, 5m, 30m,
// 2h, 5h, 10h, then 24h.
func RetryDelay(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	if n <= len(schedule) {
		return schedule[n-1]
	}
	return 24 * time.Hour
}

// Deliverer runs delivery tasks: each independent of the others, so one
// slow or failing endpoint never holds another's deliveries.
type Deliverer struct {
	Store  *store.Store
	Events EventLoader
	Queue  Queue
	// Poster sends; nil is NewPoster(Policy).
	Poster Poster
	Policy URLPolicy
	Notify Notifier
	Now    clock.Clock
	Logger *slog.Logger
}

func (d *Deliverer) log() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.Default()
}

// Handle runs one task: it sends a task not yet due back to the queue,
// skips endpoints deleted or disabled, signs and posts the event, records
// the delivery and, on failure, queues the next attempt or gives up (and
// disables an endpoint failing for RetryFor). An error means the task
// should be retried as it is (the store or the queue failed).
func (d *Deliverer) Handle(ctx context.Context, t Task) error {
	if d.Events == nil || d.Queue == nil {
		return errors.New("webhooks: the deliverer has no event loader or queue")
	}
	now := d.Now.Now().UTC()
	if wait := t.NotBefore.Sub(now); wait > 0 {
		return d.Queue.Send(ctx, []Task{t}, min(wait, MaxQueueDelay))
	}
	w, err := d.Store.GetWebhook(ctx, t.AccountID, t.EndpointID)
	if errors.Is(err, store.ErrWebhookNotFound) {
		return nil // deleted: nothing to record, nowhere to list it
	}
	if err != nil {
		return err
	}
	rec := store.Delivery{
		AccountID: t.AccountID, EndpointID: t.EndpointID, EventID: t.EventID, EventTime: t.EventTime,
		Attempts: t.Attempt, UpdatedAt: now,
	}
	if w.Status != store.WebhookActive {
		rec.Status = store.DeliveryEndpointDisabled
		return d.Store.PutDelivery(ctx, rec)
	}
	ev, err := d.Events.Load(ctx, t.AccountID, t.EventID, t.EventTime)
	if err == nil && !t.Replay && !w.Wants(ev.Type) {
		// The endpoint stopped wanting this type since the task was
		// queued (a retry after its types were narrowed).
		return nil
	}
	if errors.Is(err, ErrEventNotFound) {
		rec.Status, rec.LastError = store.DeliveryFailed, "event not found"
		return d.Store.PutDelivery(ctx, rec)
	}
	if err != nil {
		return fmt.Errorf("load event %s: %w", t.EventID, err)
	}
	rec.EventType = ev.Type
	body, err := ev.Payload()
	if err != nil {
		return fmt.Errorf("event %s payload: %w", t.EventID, err)
	}
	headers, err := Sign(w.Secret, ev.ID, now, body)
	if err != nil {
		return fmt.Errorf("endpoint %s: %w", w.ID, err)
	}
	poster := d.Poster
	if poster == nil {
		poster = NewPoster(d.Policy)
	}
	code, perr := poster.Post(ctx, w.URL, headers, body)
	rec.ResponseCode = code
	if perr == nil && code >= 200 && code < 300 {
		rec.Status = store.DeliverySucceeded
		if err := d.Store.PutDelivery(ctx, rec); err != nil {
			return err
		}
		if !w.FailingSince.IsZero() {
			return d.Store.ClearWebhookFailing(ctx, w.AccountID, w.ID)
		}
		return nil
	}
	if perr != nil {
		rec.LastError = perr.Error()
	} else {
		rec.LastError = fmt.Sprintf("HTTP %d", code)
	}
	return d.failed(ctx, t, w, rec, now)
}

// failed records a failed attempt and decides what follows.
func (d *Deliverer) failed(ctx context.Context, t Task, w store.Webhook, rec store.Delivery, now time.Time) error {
	since := w.FailingSince
	if since.IsZero() {
		since = now
		if err := d.Store.MarkWebhookFailing(ctx, w.AccountID, w.ID, now); err != nil {
			return err
		}
	}
	if now.Sub(since) >= RetryFor {
		rec.Status = store.DeliveryFailed
		if err := d.Store.PutDelivery(ctx, rec); err != nil {
			return err
		}
		return d.disable(ctx, w, now)
	}
	first := t.FirstTry
	if first.IsZero() {
		first = now
	}
	next := now.Add(RetryDelay(t.Attempt))
	if end := first.Add(RetryFor); next.After(end) {
		if !now.Before(end) {
			rec.Status = store.DeliveryFailed
			return d.Store.PutDelivery(ctx, rec)
		}
		// The last attempt: RetryFor after the first.
		next = end
	}
	rec.Status, rec.NextTry = store.DeliveryPending, next
	if err := d.Store.PutDelivery(ctx, rec); err != nil {
		return err
	}
	nt := t
	nt.Attempt, nt.FirstTry, nt.NotBefore = t.Attempt+1, first, next
	return d.Queue.Send(ctx, []Task{nt}, min(next.Sub(now), MaxQueueDelay))
}

// disable turns an endpoint off (actor "system", event webhook.disable)
// and tells the account's administrators, once.
func (d *Deliverer) disable(ctx context.Context, w store.Webhook, now time.Time) error {
	for range 3 {
		if w.Status != store.WebhookActive {
			return nil
		}
		next := w
		next.Status, next.DisabledAt, next.UpdatedAt, next.Version = store.WebhookDisabled, now, now, w.Version+1
		ev := audit.Event{
			AccountID: w.AccountID, ActorID: "system", ActorName: "Steward", Action: "webhook.disable",
			TargetType: "webhook", TargetID: w.ID,
			Before: audit.Snapshot(snapshot(w)), After: audit.Snapshot(snapshot(next)),
		}
		err := d.Store.UpdateWebhook(ctx, next, w.Version, ev)
		switch {
		case errors.Is(err, store.ErrWebhookNotFound):
			return nil
		case errors.Is(err, store.ErrWebhookStale):
			if w, err = d.Store.GetWebhook(ctx, w.AccountID, w.ID); err != nil {
				if errors.Is(err, store.ErrWebhookNotFound) {
					return nil
				}
				return err
			}
			continue
		case err != nil:
			return err
		}
		d.log().WarnContext(ctx, "webhooks: endpoint disabled after failing", "account", w.AccountID, "endpoint", w.ID, "failingSince", w.FailingSince)
		if d.Notify != nil {
			if err := d.Notify.WebhookDisabled(ctx, next); err != nil {
				// The endpoint is off; the email is a courtesy.
				d.log().ErrorContext(ctx, "webhooks: disabled-endpoint email failed", "account", w.AccountID, "endpoint", w.ID, "error", err)
			}
		}
		return nil
	}
	return errors.New("disable webhook: endpoint kept changing")
}

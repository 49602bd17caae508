package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/stewardhq/steward/pkg/audit"
)

// Bus receives every event (the EventBridge bus steward-<stage> in AWS).
type Bus interface {
	Put(ctx context.Context, evs []Event) error
}

// Subscribers are told of an account's new events (the webhook
// endpoints: pkg/webhooks schedules one delivery per matching endpoint).
type Subscribers interface {
	Notify(ctx context.Context, account string, evs []Event) error
}

// Publisher turns committed audit events (read from the table's stream,
// oldest first per item) into change events for the bus and the webhook
// endpoints. It is what the eventpublisher Lambda runs on each stream
// batch and what the local stack runs on the stream of DynamoDB Local.
//
// A failed batch is returned as an error and read again (the stream's
// retry in AWS), so an event may reach the bus or be scheduled for an
// endpoint twice, with the same id: delivery is at least once, and
// receivers deduplicate by id.
type Publisher struct {
	// Bus may be nil (no bus: the local stack).
	Bus Bus
	// Subscribers may be nil (no webhooks).
	Subscribers Subscribers
	Logger      *slog.Logger
}

// Publish publishes the events of a batch of audit events.
func (p *Publisher) Publish(ctx context.Context, batch []audit.Event) error {
	var all []Event
	byAccount := map[string][]Event{}
	var accounts []string
	for _, ev := range batch {
		evs := FromAudit(ev)
		if len(evs) == 0 {
			continue
		}
		if _, seen := byAccount[ev.AccountID]; !seen {
			accounts = append(accounts, ev.AccountID)
		}
		byAccount[ev.AccountID] = append(byAccount[ev.AccountID], evs...)
		all = append(all, evs...)
	}
	if len(all) == 0 {
		return nil
	}
	var errs []error
	if p.Bus != nil {
		if err := p.Bus.Put(ctx, all); err != nil {
			errs = append(errs, fmt.Errorf("put events on the bus: %w", err))
		}
	}
	if p.Subscribers != nil {
		for _, a := range accounts {
			if err := p.Subscribers.Notify(ctx, a, byAccount[a]); err != nil {
				errs = append(errs, fmt.Errorf("schedule deliveries of %s: %w", a, err))
			}
		}
	}
	if p.Logger != nil {
		p.Logger.InfoContext(ctx, "events published", "audit", len(batch), "events", len(all), "accounts", len(accounts), "failed", len(errs))
	}
	return errors.Join(errs...)
}

// Detail is an event as the bus carries it (EventBridge's detail): the
// feed item, with the account at the top for rules to match on.
func Detail(e Event) ([]byte, error) {
	var d struct {
		AccountID string `json:"accountId"`
	}
	_ = json.Unmarshal(e.Data, &d)
	return json.Marshal(struct {
		Event
		AccountID string `json:"accountId"`
	}{e, d.AccountID})
}

package webhooks

import (
	"context"
	"time"

	"github.com/stewardhq/steward/pkg/clock"
	"github.com/stewardhq/steward/pkg/events"
	"github.com/stewardhq/steward/pkg/store"
)

// Scheduler is the event publisher's subscribers (events.Subscribers):
// for each new event it sends the first delivery task of every active
// endpoint of the account that wants the event's type.
type Scheduler struct {
	Store *store.Store
	Queue Queue
	Now   clock.Clock
}

// Notify schedules the deliveries of an account's new events: one Query
// of the account's endpoints (none: nothing more), then one send per ten
// tasks.
func (s *Scheduler) Notify(ctx context.Context, account string, evs []events.Event) error {
	ws, err := s.Store.ListWebhookTargets(ctx, account)
	if err != nil || len(ws) == 0 {
		return err
	}
	now := time.Now().UTC()
	if s.Now != nil {
		now = s.Now.Now().UTC()
	}
	var tasks []Task
	for _, w := range ws {
		if w.Status != store.WebhookActive {
			continue
		}
		for _, e := range evs {
			if w.Wants(e.Type) {
				tasks = append(tasks, Task{AccountID: account, EndpointID: w.ID, EventID: e.ID, EventTime: e.Timestamp.UTC(), Attempt: 1, FirstTry: now})
			}
		}
	}
	if len(tasks) == 0 {
		return nil
	}
	return s.Queue.Send(ctx, tasks, 0)
}

// Package eventpublisher wires the change events' publisher (pkg/events)
// for the eventpublisher Lambda: the table's stream, filtered to new audit
// items, invokes it with batches of records; it reads each record's audit
// event, puts the events on the EventBridge bus STEWARD_EVENT_BUS and
// schedules their webhook deliveries. A batch that fails is returned as
// an error, and the event source mapping retries it (splitting it in two
// on each retry, then sending what still fails to its dead-letter queue).
package eventpublisher

import (
	"context"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/stewardhq/steward/pkg/app/boot"
	"github.com/stewardhq/steward/pkg/audit"
	stevents "github.com/stewardhq/steward/pkg/events"
	"github.com/stewardhq/steward/pkg/store"
)

// Bus returns the EventBridge bus STEWARD_EVENT_BUS names, or nil when it
// is unset.
func Bus(e *boot.Env) stevents.Bus {
	if e.Config.EventBus == "" {
		return nil
	}
	return EventBridge{Client: eventbridge.NewFromConfig(e.AWS), Name: e.Config.EventBus}
}

// Handler publishes the audit events of a stream batch.
func Handler(pub *stevents.Publisher) func(context.Context, events.DynamoDBEvent) error {
	return func(ctx context.Context, in events.DynamoDBEvent) error {
		batch, err := AuditEvents(in.Records)
		if err != nil {
			return err
		}
		return pub.Publish(ctx, batch)
	}
}

// AuditEvents reads the audit events of stream records (inserts of audit
// items; the event source filter sends no other, and any other is
// skipped).
func AuditEvents(records []events.DynamoDBEventRecord) ([]audit.Event, error) {
	var batch []audit.Event
	for _, r := range records {
		if r.EventName != string(events.DynamoDBOperationTypeInsert) {
			continue
		}
		img, err := ImageFromLambda(r.Change.NewImage)
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", r.EventID, err)
		}
		ev, ok, err := store.AuditFromImage(img)
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", r.EventID, err)
		}
		if ok {
			batch = append(batch, ev)
		}
	}
	return batch, nil
}

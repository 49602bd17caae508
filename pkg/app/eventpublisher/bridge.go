package eventpublisher

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/stewardhq/steward/pkg/events"
)

// Source is the source of every event Steward puts on its bus; the
// detail-type is the event's type, so a rule matches
// {"source": ["steward"], "detail-type": ["approval.approved"]}.
const Source = "steward"

// putEventsMax is how many entries one PutEvents takes.
const putEventsMax = 10

// PutEventsAPI is the part of the EventBridge client the bus uses.
type PutEventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// EventBridge is the Bus over an EventBridge event bus.
type EventBridge struct {
	Client PutEventsAPI
	// Name is the bus's name or ARN (steward-<stage>).
	Name string
}

// Put puts the events, ten per call; entries EventBridge refuses are
// tried once more, and any still refused fail the call.
func (b EventBridge) Put(ctx context.Context, evs []events.Event) error {
	entries := make([]types.PutEventsRequestEntry, 0, len(evs))
	for _, e := range evs {
		detail, err := events.Detail(e)
		if err != nil {
			return err
		}
		entries = append(entries, types.PutEventsRequestEntry{
			EventBusName: aws.String(b.Name), Source: aws.String(Source), DetailType: aws.String(e.Type),
			Detail: aws.String(string(detail)), Time: aws.Time(e.Timestamp),
		})
	}
	for len(entries) > 0 {
		n := min(putEventsMax, len(entries))
		chunk := entries[:n]
		entries = entries[n:]
		for try := 0; len(chunk) > 0; try++ {
			out, err := b.Client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: chunk})
			if err != nil {
				return fmt.Errorf("put events: %w", err)
			}
			if out.FailedEntryCount == 0 {
				break
			}
			var failed []types.PutEventsRequestEntry
			var code string
			for i, r := range out.Entries {
				if r.ErrorCode != nil && i < len(chunk) {
					failed, code = append(failed, chunk[i]), aws.ToString(r.ErrorCode)
				}
			}
			if try == 1 {
				return fmt.Errorf("put events: %d entries refused (%s)", len(failed), code)
			}
			chunk = failed
		}
	}
	return nil
}

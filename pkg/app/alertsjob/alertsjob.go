// Package alertsjob wires the alert job (pkg/alerts): the store and the
// SES outbox, no signing keys and no API. The job's Lambda
// (functions/alertsjob) is both halves of the job: the hourly EventBridge
// run lists the accounts at their alert hour and enqueues one task per
// account on the work queue (spread over the first 15 minutes of the
// hour), and the queue invokes the same function with those tasks, one
// account each. The local stack's ticker runs the same tasks in-process
// (no queue).
package alertsjob

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/stewardhq/steward/pkg/alerts"
	"github.com/stewardhq/steward/pkg/app/boot"
	"github.com/stewardhq/steward/pkg/app/mailboot"
)

// New builds the job's service. The job pages within one invocation
// only: a per-process cursor key will do.
func New(e *boot.Env) (*alerts.Service, error) {
	st, err := e.Store(nil)
	if err != nil {
		return nil, err
	}
	outbox, err := mailboot.Outbox(e, st)
	if err != nil {
		return nil, err
	}
	return &alerts.Service{Store: st, Mail: outbox, PublicURL: e.Config.PublicURL, Logger: e.Logger}, nil
}

// Queue returns the enqueuer of the work queue STEWARD_ALERTS_QUEUE_URL
// names, or nil when it is unset (the tasks then run in-process).
func Queue(e *boot.Env) alerts.Enqueue {
	if e.Config.AlertsQueueURL == "" {
		return nil
	}
	return SQSEnqueue(sqs.NewFromConfig(e.AWS), e.Config.AlertsQueueURL, alerts.SpreadWindow)
}

// Sender is the part of the SQS client the enqueuer uses.
type Sender interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// SQSEnqueue sends each task as one message (its JSON), delayed by
// alerts.Spread of its account within window, in one SendMessageBatch;
// entries SQS refuses are sent again once, then reported.
func SQSEnqueue(c Sender, queueURL string, window time.Duration) alerts.Enqueue {
	return func(ctx context.Context, tasks []alerts.Task) error {
		entries := make([]types.SendMessageBatchRequestEntry, 0, len(tasks))
		for i, t := range tasks {
			body, err := json.Marshal(t)
			if err != nil {
				return err
			}
			entries = append(entries, types.SendMessageBatchRequestEntry{
				Id:           aws.String(strconv.Itoa(i)),
				MessageBody:  aws.String(string(body)),
				DelaySeconds: int32(alerts.Spread(t.AccountID, window) / time.Second),
			})
		}
		for attempt := 0; ; attempt++ {
			out, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: entries})
			if err != nil {
				return err
			}
			if len(out.Failed) == 0 {
				return nil
			}
			failed := map[string]bool{}
			for _, f := range out.Failed {
				failed[aws.ToString(f.Id)] = true
			}
			if attempt == 1 {
				return fmt.Errorf("sqs refused %d of %d tasks: %s", len(out.Failed), len(tasks), aws.ToString(out.Failed[0].Message))
			}
			var again []types.SendMessageBatchRequestEntry
			for _, e := range entries {
				if failed[aws.ToString(e.Id)] {
					again = append(again, e)
				}
			}
			entries = again
		}
	}
}

// Event is what invokes the scheduled run: the EventBridge rule's input
// (the event's time) or {"force": true} to run every account now.
type Event struct {
	Force bool `json:"force"`
	// Time is the scheduled event's time: a retried run still lists the
	// accounts due at the hour it was scheduled for. Zero: now.
	Time time.Time `json:"time"`
}

// Handler is the job Lambda's handler. An SQS event (Records) runs one
// task per record and answers the records that failed
// (events.SQSEventResponse, ReportBatchItemFailures), so only they are
// retried. Any other event is the scheduled run: it enqueues the due
// accounts' tasks with enqueue, or runs them itself when enqueue is nil
// (alerts.RunReport).
func Handler(svc *alerts.Service, enqueue alerts.Enqueue) func(context.Context, json.RawMessage) (any, error) {
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var probe struct {
			Records []events.SQSMessage `json:"Records"`
		}
		if json.Unmarshal(raw, &probe) == nil && len(probe.Records) > 0 {
			return Work(ctx, svc, probe.Records), nil
		}
		var ev Event
		_ = json.Unmarshal(raw, &ev) // a bare {} or a scheduled event without our fields
		o := alerts.RunOptions{Force: ev.Force, Now: ev.Time}
		if enqueue == nil {
			return svc.Run(ctx, o)
		}
		return svc.Schedule(ctx, o, enqueue)
	}
}

// Work runs the task of each record in turn and returns the records whose
// task failed (or could not be read), for SQS to retry them alone and, after
// the queue's receive limit, to move them to the dead-letter queue.
func Work(ctx context.Context, svc *alerts.Service, records []events.SQSMessage) events.SQSEventResponse {
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	log := svc.Logger
	if log == nil {
		log = slog.Default()
	}
	for _, r := range records {
		var t alerts.Task
		err := json.Unmarshal([]byte(r.Body), &t)
		if err == nil && t.AccountID == "" {
			err = fmt.Errorf("no accountId")
		}
		if err != nil {
			log.ErrorContext(ctx, "alerts: unreadable task", "messageId", r.MessageId, "error", err)
		} else {
			_, err = svc.RunTask(ctx, t)
		}
		if err != nil {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
		}
	}
	return resp
}

// RunTicker runs the alert job every interval until ctx ends: the local
// stack's stand-in for the hourly EventBridge rule and the work queue
// (alerts.Service.Run: the same per-account tasks, in-process). Each run
// sends only for accounts at their alert hour, and the outbox keeps it to
// one digest per member per day, so checking every minute is safe.
func RunTicker(ctx context.Context, svc *alerts.Service, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := svc.Run(ctx, alerts.RunOptions{}); err != nil && ctx.Err() == nil {
			log.Error("alerts: scheduled run failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

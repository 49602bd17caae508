package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SQSSender is the part of the SQS client the queue uses.
type SQSSender interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// SQSQueue is the delivery queue over SQS (STEWARD_WEBHOOK_QUEUE_URL):
// each task one message (its JSON), sent in batches of 10, delayed by at
// most 15 minutes (SQS's limit; the deliverer sends a task that comes
// back early again until its NotBefore). Entries SQS refuses are sent
// again once, then reported.
type SQSQueue struct {
	Client SQSSender
	URL    string
}

// Send queues tasks after delay (capped at MaxQueueDelay).
func (q *SQSQueue) Send(ctx context.Context, tasks []Task, delay time.Duration) error {
	secs := int32(min(max(delay, 0), MaxQueueDelay) / time.Second)
	for start := 0; start < len(tasks); start += 10 {
		batch := tasks[start:min(start+10, len(tasks))]
		entries := make([]types.SendMessageBatchRequestEntry, 0, len(batch))
		for i, t := range batch {
			body, err := json.Marshal(t)
			if err != nil {
				return err
			}
			entries = append(entries, types.SendMessageBatchRequestEntry{
				Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(body)), DelaySeconds: secs,
			})
		}
		if err := q.sendBatch(ctx, entries); err != nil {
			return err
		}
	}
	return nil
}

func (q *SQSQueue) sendBatch(ctx context.Context, entries []types.SendMessageBatchRequestEntry) error {
	for attempt := 0; ; attempt++ {
		out, err := q.Client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.URL), Entries: entries})
		if err != nil {
			return fmt.Errorf("send webhook tasks: %w", err)
		}
		if len(out.Failed) == 0 {
			return nil
		}
		if attempt == 1 {
			return fmt.Errorf("sqs refused %d of %d webhook tasks: %s", len(out.Failed), len(entries), aws.ToString(out.Failed[0].Message))
		}
		failed := map[string]bool{}
		for _, f := range out.Failed {
			failed[aws.ToString(f.Id)] = true
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

// Work is the delivery Lambda's handler body: it runs the records' tasks
// concurrently (one slow endpoint does not hold the others of the batch)
// and reports the records whose task failed (an unreadable one too) as
// batch item failures, for SQS to retry them alone.
func Work(ctx context.Context, d *Deliverer, records []lambdaevents.SQSMessage) lambdaevents.SQSEventResponse {
	failed := make([]bool, len(records))
	var wg sync.WaitGroup
	for i, r := range records {
		wg.Go(func() {
			var t Task
			err := json.Unmarshal([]byte(r.Body), &t)
			if err == nil && (t.AccountID == "" || t.EndpointID == "" || t.EventID == "") {
				err = fmt.Errorf("task lacks account, endpoint or event")
			}
			if err != nil {
				d.log().ErrorContext(ctx, "webhooks: unreadable task", "messageId", r.MessageId, "error", err)
			} else if err = d.Handle(ctx, t); err != nil {
				d.log().ErrorContext(ctx, "webhooks: delivery task failed", "messageId", r.MessageId,
					"account", t.AccountID, "endpoint", t.EndpointID, "event", t.EventID, "error", err)
			}
			failed[i] = err != nil
		})
	}
	wg.Wait()
	resp := lambdaevents.SQSEventResponse{BatchItemFailures: []lambdaevents.SQSBatchItemFailure{}}
	for i, r := range records {
		if failed[i] {
			resp.BatchItemFailures = append(resp.BatchItemFailures, lambdaevents.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
		}
	}
	return resp
}

// NewSQSQueue returns the queue at url with a client of cfg.
func NewSQSQueue(cfg aws.Config, url string, opts ...func(*sqs.Options)) *SQSQueue {
	return &SQSQueue{Client: sqs.NewFromConfig(cfg, opts...), URL: url}
}

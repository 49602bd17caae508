package webhooks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/awsclient"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/webhooks"
)

// The queue over moto's SQS: 12 tasks go in two batches; a delay holds
// them; a delay over 15 minutes is capped (SQS refuses more).
func TestSQSQueueOnMoto(t *testing.T) {
	m := testenv.Moto(t)
	ctx := context.Background()
	cfg, err := awsclient.LoadConfig(ctx, testenv.Region, awsclient.Endpoints{StepFunctions: m.URL})
	if err != nil {
		t.Fatal(err)
	}
	endpoint := func(o *sqs.Options) { o.BaseEndpoint = aws.String(m.URL) }
	client := sqs.NewFromConfig(cfg, endpoint)
	out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(store.NewID("webhooks"))})
	if err != nil {
		t.Fatal(err)
	}
	q := webhooks.NewSQSQueue(cfg, aws.ToString(out.QueueUrl), endpoint)
	var tasks []webhooks.Task
	for i := range 12 {
		tasks = append(tasks, webhooks.Task{AccountID: "a_1", EndpointID: "wh_1", EventID: fmt.Sprintf("evt_%d", i), Attempt: 1, FirstTry: time.Now().UTC()})
	}
	if err := q.Send(ctx, tasks, 0); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for range 10 {
		rm, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: out.QueueUrl, MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, msg := range rm.Messages {
			var tk webhooks.Task
			if err := json.Unmarshal([]byte(aws.ToString(msg.Body)), &tk); err != nil {
				t.Fatal(err)
			}
			got[tk.EventID] = true
		}
		if len(got) == 12 {
			break
		}
	}
	if len(got) != 12 {
		t.Fatalf("received %d of 12 tasks", len(got))
	}
	if err := q.Send(ctx, tasks[:1], 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if rm, _ := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: out.QueueUrl}); len(rm.Messages) != 0 {
		t.Fatal("a delayed task was visible at once")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		rm, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: out.QueueUrl, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(rm.Messages) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the delayed task never arrived")
		}
	}
	if err := q.Send(ctx, tasks[:1], 2*time.Hour); err != nil {
		t.Fatalf("a 2h delay was not capped: %v", err)
	}
}

// Work reports only the records whose task failed or could not be read.
func TestWorkReportsFailures(t *testing.T) {
	f := newFixture(t, 200)
	good, _ := json.Marshal(f.task())
	d := *f.d
	d.Queue = failingQueue{}
	early := f.task()
	early.NotBefore = f.now.Add(time.Hour) // re-sending it fails
	bad, _ := json.Marshal(early)
	resp := webhooks.Work(context.Background(), &d, []lambdaevents.SQSMessage{
		{MessageId: "ok", Body: string(good)},
		{MessageId: "garbage", Body: "{"},
		{MessageId: "empty", Body: "{}"},
		{MessageId: "requeue", Body: string(bad)},
	})
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if fmt.Sprint(failed) != "[garbage empty requeue]" {
		t.Fatalf("failures %v", failed)
	}
}

type failingQueue struct{}

func (failingQueue) Send(context.Context, []webhooks.Task, time.Duration) error {
	return fmt.Errorf("queue down")
}

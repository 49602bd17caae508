package eventpublisher_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/app/eventpublisher"
	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/awsclient"
	stevents "github.com/stewardhq/steward/pkg/events"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// A stream batch as Lambda delivers it: an audit item's insert, another
// item's insert and a modification.
const streamBatch = `{"Records": [
 {"eventID": "1", "eventName": "INSERT", "dynamodb": {"NewImage": {
   "pk": {"S": "AUDIT#a_1"}, "sk": {"S": "2026-12-03T10:00:00.000000001Z#ev_1"}, "type": {"S": "audit"},
   "id": {"S": "ev_1"}, "accountId": {"S": "a_1"}, "time": {"S": "2026-12-03T10:00:00.000000001Z"},
   "actorId": {"S": "m_1"}, "actorName": {"S": "Ann"}, "action": {"S": "role.create"},
   "targetType": {"S": "role"}, "targetId": {"S": "buyer"}, "after": {"S": "{\"name\":\"Buyer\"}"}, "ttl": {"N": "1900000000"}}}},
 {"eventID": "2", "eventName": "INSERT", "dynamodb": {"NewImage": {"pk": {"S": "ACCOUNT#a_1"}, "sk": {"S": "STORE#s1"}, "type": {"S": "store"}}}},
 {"eventID": "3", "eventName": "MODIFY", "dynamodb": {"NewImage": {"pk": {"S": "AUDIT#a_1"}, "type": {"S": "audit"}}}}
]}`

func TestAuditEventsReadsTheStreamBatch(t *testing.T) {
	var in events.DynamoDBEvent
	if err := json.Unmarshal([]byte(streamBatch), &in); err != nil {
		t.Fatal(err)
	}
	batch, err := eventpublisher.AuditEvents(in.Records)
	if err != nil {
		t.Fatal(err)
	}
	if len(batch) != 1 {
		t.Fatalf("%d audit events, want 1: %+v", len(batch), batch)
	}
	ev := batch[0]
	if ev.ID != "ev_1" || ev.AccountID != "a_1" || ev.Action != "role.create" || ev.TargetID != "buyer" || string(ev.After) != `{"name":"Buyer"}` ||
		!ev.Time.Equal(time.Date(2026, 12, 3, 10, 0, 0, 1, time.UTC)) {
		t.Fatalf("audit event %+v", ev)
	}
	evs := stevents.FromAudit(ev)
	if len(evs) != 1 || evs[0].Type != "role.created" || evs[0].ID != "evt_ev_1" {
		t.Fatalf("events %+v", evs)
	}
}

type recorder struct{ got map[string][]string }

func (r *recorder) Notify(_ context.Context, account string, evs []stevents.Event) error {
	for _, e := range evs {
		r.got[account] = append(r.got[account], e.Type)
	}
	return nil
}

// The bus is moto's EventBridge: a rule sends Steward's events to an SQS
// queue, and the test reads them there.
func TestPublisherPutsEventsOnTheBusAndTellsSubscribers(t *testing.T) {
	ctx := context.Background()
	m := testenv.Moto(t)
	// Tests that reset moto (the workflow's) would wipe the bus and the
	// queue: hold the lock they take.
	m.Exclusive(t)
	cfg, err := awsclient.LoadConfig(ctx, testenv.Region, awsclient.Endpoints{StepFunctions: m.URL})
	if err != nil {
		t.Fatal(err)
	}
	eb := eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) { o.BaseEndpoint = aws.String(m.URL) })
	sq := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(m.URL) })
	bus := testenv.NewID("steward-test")
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		t.Fatal(err)
	}
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(bus)})
	if err != nil {
		t.Fatal(err)
	}
	qa, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	_ = qa
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("all"), EventBusName: aws.String(bus),
		EventPattern: aws.String(`{"source": ["steward"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("all"), EventBusName: aws.String(bus),
		Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String(qa.Attributes["QueueArn"])}}}); err != nil {
		t.Fatal(err)
	}

	subs := &recorder{got: map[string][]string{}}
	pub := &stevents.Publisher{Bus: eventpublisher.EventBridge{Client: eb, Name: bus}, Subscribers: subs}
	now := time.Now().UTC()
	var batch []audit.Event
	// 12 events (more than one PutEvents call) over two accounts, and
	// one audit event that announces nothing.
	for i := range 12 {
		batch = append(batch, audit.Event{ID: fmt.Sprintf("ev_%02d", i), AccountID: []string{"a_1", "a_2"}[i%2], Time: now, ActorID: "m_1",
			Action: "role.create", TargetType: "role", TargetID: fmt.Sprintf("r%d", i)})
	}
	batch = append(batch, audit.Event{ID: "ev_x", AccountID: "a_1", Time: now, Action: "session.create"})
	if err := pub.Publish(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if len(subs.got["a_1"]) != 6 || len(subs.got["a_2"]) != 6 {
		t.Fatalf("subscribers were told %v", subs.got)
	}

	var ids []string
	testenv.Eventually(t, 20*time.Second, "12 events through the bus", func() error {
		out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10})
		if err != nil {
			return err
		}
		for _, msg := range out.Messages {
			var env struct {
				Source     string `json:"source"`
				DetailType string `json:"detail-type"`
				Detail     struct {
					ID        string `json:"id"`
					Type      string `json:"type"`
					AccountID string `json:"accountId"`
				} `json:"detail"`
			}
			if err := json.Unmarshal([]byte(aws.ToString(msg.Body)), &env); err != nil {
				return fmt.Errorf("message %s: %w", aws.ToString(msg.Body), err)
			}
			if env.Source != "steward" || env.DetailType != "role.created" || env.Detail.Type != "role.created" || !strings.HasPrefix(env.Detail.AccountID, "a_") {
				t.Errorf("bus event %s", aws.ToString(msg.Body))
			}
			ids = append(ids, env.Detail.ID)
			_, _ = sq.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: q.QueueUrl, ReceiptHandle: msg.ReceiptHandle})
		}
		if len(ids) < 12 {
			return fmt.Errorf("%d events", len(ids))
		}
		return nil
	})
	slices.Sort(ids)
	if ids[0] != "evt_ev_00" || ids[11] != "evt_ev_11" || len(slices.Compact(ids)) != 12 {
		t.Fatalf("bus events %v", ids)
	}
}

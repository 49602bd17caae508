package alertsjob

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/alerts"
	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/mail"
	"github.com/stewardhq/steward/pkg/mail/sesmail"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// fakeSQS refuses the entries named in refuse (once each, or always).
type fakeSQS struct {
	calls  []*sqs.SendMessageBatchInput
	refuse map[string]int // entry id -> times to refuse
}

func (f *fakeSQS) SendMessageBatch(_ context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	f.calls = append(f.calls, in)
	out := &sqs.SendMessageBatchOutput{}
	for _, e := range in.Entries {
		id := aws.ToString(e.Id)
		if f.refuse[id] > 0 {
			f.refuse[id]--
			out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InternalError"), Message: aws.String("try again"), SenderFault: false})
			continue
		}
		out.Successful = append(out.Successful, types.SendMessageBatchResultEntry{Id: e.Id})
	}
	return out, nil
}

// Each task is one message, its body the task, delayed by its account's
// spread; entries SQS refuses are sent again once, then reported.
func TestSQSEnqueue(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 3, 10, 7, 0, 0, 0, time.UTC)
	tasks := []alerts.Task{{AccountID: "a-1", At: at}, {AccountID: "a-2", At: at}, {AccountID: "a-3", At: at}}
	f := &fakeSQS{refuse: map[string]int{"1": 1}}
	if err := SQSEnqueue(f, "https://sqs.example/q", alerts.SpreadWindow)(ctx, tasks); err != nil {
		t.Fatal(err)
	}
	if len(f.calls) != 2 || len(f.calls[0].Entries) != 3 || len(f.calls[1].Entries) != 1 || aws.ToString(f.calls[1].Entries[0].Id) != "1" {
		t.Fatalf("calls: %+v", f.calls)
	}
	for i, e := range f.calls[0].Entries {
		var got alerts.Task
		if err := json.Unmarshal([]byte(aws.ToString(e.MessageBody)), &got); err != nil || got.AccountID != tasks[i].AccountID || !got.At.Equal(at) {
			t.Fatalf("entry %d body %s: %v", i, aws.ToString(e.MessageBody), err)
		}
		want := int32(alerts.Spread(tasks[i].AccountID, alerts.SpreadWindow) / time.Second)
		if e.DelaySeconds != want || e.DelaySeconds < 0 || e.DelaySeconds >= 900 {
			t.Fatalf("entry %d delay %d, want %d", i, e.DelaySeconds, want)
		}
		if aws.ToString(f.calls[0].QueueUrl) != "https://sqs.example/q" {
			t.Fatal(aws.ToString(f.calls[0].QueueUrl))
		}
	}
	f = &fakeSQS{refuse: map[string]int{"2": 5}}
	if err := SQSEnqueue(f, "q", alerts.SpreadWindow)(ctx, tasks); err == nil || len(f.calls) != 2 {
		t.Fatalf("refused twice: %v after %d calls", err, len(f.calls))
	}
}

// failMail fails every digest of one account.
type failMail struct {
	inner   alerts.Mailer
	account string
}

func (f failMail) Send(ctx context.Context, key string, m mail.Message) (string, bool, error) {
	if strings.HasPrefix(key, "digest/"+f.account+"/") {
		return "", false, errors.New("ses: throttled")
	}
	return f.inner.Send(ctx, key, m)
}

func seed(t *testing.T, st *store.Store, hour int) team.Account {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	acct := team.Account{ID: store.NewID("a"), Name: "Job", Settings: team.DefaultSettings(), Version: 1, CreatedAt: now, UpdatedAt: now}
	acct.Settings.AlertHour = hour
	ident := team.Identity{ID: store.NewID("i"), Email: testenv.NewID("alertsjob") + "@example.com", CreatedAt: now, UpdatedAt: now}
	owner := team.Member{ID: store.NewID("m"), AccountID: acct.ID, IdentityID: ident.ID, Email: ident.Email, Name: "Owner",
		Status: rbac.StatusActive, Admin: true, Owner: true, Version: 1, CreatedAt: now, UpdatedAt: now}
	acct.OwnerID = owner.ID
	if err := st.CreateAccount(ctx, store.NewAccount{Account: acct, Owner: owner, Identity: ident, NewIdentity: true}, audit.Event{AccountID: acct.ID, ActorID: owner.ID, Action: "account.create"}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutStockLevels(ctx, acct.ID, []store.StockLevel{{Store: "s1", SKU: "SKU-1", Name: "Widget", OnHand: 1, Threshold: 10}}); err != nil {
		t.Fatal(err)
	}
	return acct
}

// The handler's two shapes: the scheduled event enqueues the accounts due
// at the event's time (not the invocation's); an SQS batch runs each
// record's task and names the records that failed, and only those.
func TestHandler(t *testing.T) {
	ctx := context.Background()
	d := testenv.DynamoDB(t)
	st, err := store.New(d.Client, d.Table, make([]byte, store.CursorKeySize))
	if err != nil {
		t.Fatal(err)
	}
	ses := testenv.SES(t)
	sender, err := sesmail.New(ses.Client, mail.Address{Name: "Steward", Email: "no-reply@steward.test"}, "")
	if err != nil {
		t.Fatal(err)
	}
	const hour = 5
	ok, failing := seed(t, st, hour), seed(t, st, hour)
	svc := &alerts.Service{Store: st, PublicURL: "https://steward.test",
		Mail: failMail{inner: &mail.Outbox{Sender: sender, Deduper: st.Outbox()}, account: failing.ID}}

	var tasks []alerts.Task
	h := Handler(svc, func(_ context.Context, ts []alerts.Task) error { tasks = append(tasks, ts...); return nil })
	at := time.Date(2026, 3, 10, hour, 0, 0, 0, time.UTC)
	out, err := h(ctx, json.RawMessage(`{"time":"2026-03-10T05:00:00Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	rep, isReport := out.(alerts.RunReport)
	byID := map[string]alerts.Task{}
	for _, tk := range tasks {
		byID[tk.AccountID] = tk
	}
	if !isReport || rep.Enqueued != len(tasks) || !byID[ok.ID].At.Equal(at) || !byID[failing.ID].At.Equal(at) {
		t.Fatalf("scheduled run: %+v, tasks %+v", out, tasks)
	}

	record := func(id string, tk any) events.SQSMessage {
		body, _ := json.Marshal(tk)
		return events.SQSMessage{MessageId: id, Body: string(body), EventSource: "aws:sqs"}
	}
	batch := events.SQSEvent{Records: []events.SQSMessage{
		record("m-ok", byID[ok.ID]), record("m-fail", byID[failing.ID]), record("m-bad", "not a task"),
	}}
	raw, _ := json.Marshal(batch)
	out, err = h(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	resp, isResp := out.(events.SQSEventResponse)
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if !isResp || strings.Join(failed, ",") != "m-fail,m-bad" {
		t.Fatalf("batch response %+v", out)
	}
	if sent, err := st.OutboxSent(ctx, alerts.OutboxKey(ok.ID, ok.OwnerID, "2026-03-10")); err != nil || !sent {
		t.Fatalf("the account beside the failing one: sent %v, %v", sent, err)
	}
	// The answer Lambda reads: batchItemFailures, and nothing else.
	j, _ := json.Marshal(out)
	if !strings.HasPrefix(string(j), `{"batchItemFailures":[{"itemIdentifier":"m-fail"}`) {
		t.Fatal(string(j))
	}
}

package webhooks_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/events"
	"github.com/stewardhq/steward/pkg/mail"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
	"github.com/stewardhq/steward/pkg/webhooks"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func newStore(t *testing.T) *store.Store {
	t.Helper()
	d := testenv.DynamoDB(t)
	st, err := store.New(d.Client, d.Table, make([]byte, store.CursorKeySize))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func seedAccount(t *testing.T, st *store.Store) string {
	t.Helper()
	now := time.Now().UTC()
	acct := team.Account{ID: store.NewID("a"), Name: "Shop", Settings: team.DefaultSettings(), Version: 1, CreatedAt: now, UpdatedAt: now}
	ident := team.Identity{ID: store.NewID("i"), Email: store.NewID("owner") + "@example.com", Version: 1, CreatedAt: now, UpdatedAt: now}
	owner := team.Member{ID: store.NewID("m"), AccountID: acct.ID, IdentityID: ident.ID, Email: ident.Email, Name: "Owner",
		Status: rbac.StatusActive, Admin: true, Owner: true, Version: 1, CreatedAt: now, UpdatedAt: now}
	acct.OwnerID = owner.ID
	if err := st.CreateAccount(context.Background(), store.NewAccount{Account: acct, Owner: owner, Identity: ident, NewIdentity: true},
		audit.Event{AccountID: acct.ID, ActorID: owner.ID, Action: "account.create"}); err != nil {
		t.Fatal(err)
	}
	return acct.ID
}

func createEndpoint(t *testing.T, st *store.Store, account, url string) store.Webhook {
	t.Helper()
	now := time.Now().UTC()
	w := store.Webhook{ID: store.NewID("wh"), AccountID: account, URL: url, Types: []string{}, Secret: webhooks.NewSecret(),
		Status: store.WebhookActive, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := st.CreateWebhook(context.Background(), w, audit.Event{AccountID: account, ActorID: "m_test", Action: "webhook.create", TargetType: "webhook", TargetID: w.ID}); err != nil {
		t.Fatal(err)
	}
	return w
}

type fakeEvents map[string]events.Event

func (f fakeEvents) Load(_ context.Context, _, id string, _ time.Time) (events.Event, error) {
	ev, ok := f[id]
	if !ok {
		return events.Event{}, webhooks.ErrEventNotFound
	}
	return ev, nil
}

type fakeNotifier struct {
	mu  sync.Mutex
	got []string
}

func (n *fakeNotifier) WebhookDisabled(_ context.Context, w store.Webhook) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got = append(n.got, w.ID)
	return nil
}

// receiver records each request and answers the next status of codes
// (the last one repeats).
type receiver struct {
	mu    sync.Mutex
	codes []int
	reqs  []received
}

type received struct {
	header http.Header
	body   []byte
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.reqs = append(rc.reqs, received{r.Header.Clone(), body})
	code := rc.codes[min(len(rc.reqs), len(rc.codes))-1]
	w.WriteHeader(code)
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.reqs...)
}

type fixture struct {
	st     *store.Store
	d      *webhooks.Deliverer
	q      *webhooks.MemoryQueue
	n      *fakeNotifier
	rc     *receiver
	w      store.Webhook
	ev     events.Event
	now    time.Time
	acct   string
	server *httptest.Server
}

func newFixture(t *testing.T, codes ...int) *fixture {
	t.Helper()
	f := &fixture{st: newStore(t), q: &webhooks.MemoryQueue{}, n: &fakeNotifier{}, rc: &receiver{codes: codes}, now: time.Now().UTC().Truncate(time.Second)}
	f.server = httptest.NewServer(f.rc)
	t.Cleanup(f.server.Close)
	f.acct = seedAccount(t, f.st)
	f.w = createEndpoint(t, f.st, f.acct, f.server.URL+"/hook")
	f.ev = events.Event{ID: "evt_" + store.NewID("ev"), Type: "member.invited", Timestamp: f.now.Add(-time.Minute),
		Data: json.RawMessage(`{"accountId":"` + f.acct + `","actor":{"id":"m_1","name":"Ann"}}`)}
	f.d = &webhooks.Deliverer{Store: f.st, Events: fakeEvents{f.ev.ID: f.ev}, Queue: f.q, Policy: webhooks.PolicyFor("local"),
		Notify: f.n, Now: func() time.Time { return f.now }}
	return f
}

func (f *fixture) task() webhooks.Task {
	return webhooks.Task{AccountID: f.acct, EndpointID: f.w.ID, EventID: f.ev.ID, EventTime: f.ev.Timestamp, Attempt: 1, FirstTry: f.now}
}

func (f *fixture) delivery(t *testing.T) store.Delivery {
	t.Helper()
	page, err := f.st.ListDeliveries(context.Background(), f.acct, f.w.ID, 10, "")
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("deliveries %+v, %v", page.Items, err)
	}
	return page.Items[0]
}

// A delivery to a 127.0.0.1 receiver verifies with the library's Verify.
func TestDeliverySigned(t *testing.T) {
	f := newFixture(t, http.StatusNoContent)
	f.now = time.Now().UTC() // Verify checks the timestamp against the wall clock
	if err := f.d.Handle(context.Background(), f.task()); err != nil {
		t.Fatal(err)
	}
	reqs := f.rc.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	wh, err := standardwebhooks.NewWebhook(f.w.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(reqs[0].body, reqs[0].header); err != nil {
		t.Fatalf("verify: %v (headers %v)", err, reqs[0].header)
	}
	if got := reqs[0].header.Get("webhook-id"); got != f.ev.ID {
		t.Errorf("webhook-id %q, want %q", got, f.ev.ID)
	}
	want, _ := f.ev.Payload()
	if string(reqs[0].body) != string(want) {
		t.Errorf("body %s, want %s", reqs[0].body, want)
	}
	if d := f.delivery(t); d.Status != store.DeliverySucceeded || d.Attempts != 1 || d.ResponseCode != 204 || d.EventType != "member.invited" {
		t.Errorf("delivery %+v", d)
	}
	if tasks, _ := f.q.Tasks(); len(tasks) != 0 {
		t.Errorf("queued %v after a success", tasks)
	}
}

// A receiver answering 500 then 200 gets the same webhook-id twice; the
// retry waits 5 s, and the endpoint's failure run ends with the success.
func TestRetryKeepsTheID(t *testing.T) {
	f := newFixture(t, 500, 200)
	ctx := context.Background()
	if err := f.d.Handle(ctx, f.task()); err != nil {
		t.Fatal(err)
	}
	tasks, delays := f.q.Tasks()
	if len(tasks) != 1 || delays[0] != 5*time.Second || tasks[0].Attempt != 2 || !tasks[0].NotBefore.Equal(f.now.Add(5*time.Second)) || !tasks[0].FirstTry.Equal(f.now) {
		t.Fatalf("queued %+v after %v", tasks, delays)
	}
	if d := f.delivery(t); d.Status != store.DeliveryPending || d.ResponseCode != 500 || d.LastError != "HTTP 500" || !d.NextTry.Equal(f.now.Add(5*time.Second)) {
		t.Fatalf("delivery after the failure %+v", d)
	}
	if w, _ := f.st.GetWebhook(ctx, f.acct, f.w.ID); !w.FailingSince.Equal(f.now) {
		t.Fatalf("failingSince %v, want %v", w.FailingSince, f.now)
	}
	// Early (SQS delivered it before its time): sent back, not posted.
	f.now = f.now.Add(2 * time.Second)
	if err := f.d.Handle(ctx, tasks[0]); err != nil {
		t.Fatal(err)
	}
	if all, d := f.q.Tasks(); len(all) != 2 || d[1] != 3*time.Second || len(f.rc.requests()) != 1 {
		t.Fatalf("early task: queued %v %v, %d requests", all, d, len(f.rc.requests()))
	}
	f.now = f.now.Add(3 * time.Second)
	if err := f.d.Handle(ctx, tasks[0]); err != nil {
		t.Fatal(err)
	}
	reqs := f.rc.requests()
	if len(reqs) != 2 || reqs[0].header.Get("webhook-id") != f.ev.ID || reqs[1].header.Get("webhook-id") != f.ev.ID {
		t.Fatalf("requests %d, ids %q %q", len(reqs), reqs[0].header.Get("webhook-id"), reqs[len(reqs)-1].header.Get("webhook-id"))
	}
	if reqs[0].header.Get("webhook-timestamp") == reqs[1].header.Get("webhook-timestamp") {
		t.Error("the retry carries the first attempt's timestamp")
	}
	if d := f.delivery(t); d.Status != store.DeliverySucceeded || d.Attempts != 2 || !d.NextTry.IsZero() {
		t.Fatalf("delivery after the retry %+v", d)
	}
	if w, _ := f.st.GetWebhook(ctx, f.acct, f.w.ID); !w.FailingSince.IsZero() {
		t.Fatalf("failingSince %v after a success", w.FailingSince)
	}
}

func TestRetrySchedule(t *testing.T) {
	want := []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 24 * time.Hour, 24 * time.Hour}
	for i, w := range want {
		if got := webhooks.RetryDelay(i + 1); got != w {
			t.Errorf("RetryDelay(%d) = %v, want %v", i+1, got, w)
		}
	}
	// Following the schedule from a first try, the attempts fall at
	// 0, 5s, 5m5s, 35m5s, 2h35m5s, 7h35m5s, 17h35m5s, 41h35m5s, 65h35m5s
	// and the last at 72h; then the delivery has failed.
	f := newFixture(t, 500)
	ctx := context.Background()
	first := f.now
	task := f.task()
	var at []time.Duration
	for range 20 {
		at = append(at, f.now.Sub(first))
		if err := f.d.Handle(ctx, task); err != nil {
			t.Fatal(err)
		}
		tasks, _ := f.q.Tasks()
		if len(tasks) == 0 || tasks[len(tasks)-1].Attempt == task.Attempt {
			break
		}
		task = tasks[len(tasks)-1]
		f.now = task.NotBefore
		// The queue would hold it; clear what the test read.
		*f.q = webhooks.MemoryQueue{}
	}
	wantAt := []time.Duration{0, 5 * time.Second, 5*time.Minute + 5*time.Second, 35*time.Minute + 5*time.Second,
		2*time.Hour + 35*time.Minute + 5*time.Second, 7*time.Hour + 35*time.Minute + 5*time.Second,
		17*time.Hour + 35*time.Minute + 5*time.Second, 41*time.Hour + 35*time.Minute + 5*time.Second,
		65*time.Hour + 35*time.Minute + 5*time.Second, 72 * time.Hour}
	if len(at) != len(wantAt) {
		t.Fatalf("attempts at %v, want %v", at, wantAt)
	}
	for i := range at {
		if at[i] != wantAt[i] {
			t.Fatalf("attempts at %v, want %v", at, wantAt)
		}
	}
	if got := len(f.rc.requests()); got != len(wantAt) {
		t.Errorf("%d requests, want %d", got, len(wantAt))
	}
	// The endpoint failed throughout those 3 days: disabled.
	if d := f.delivery(t); d.Status != store.DeliveryFailed || d.Attempts != len(wantAt) {
		t.Errorf("final delivery %+v", d)
	}
	if w, _ := f.st.GetWebhook(ctx, f.acct, f.w.ID); w.Status != store.WebhookDisabled {
		t.Errorf("endpoint %s after 3 days of failures", w.Status)
	}
}

// An endpoint failing for 3 days is disabled (audit webhook.disable by
// system, administrators told once); later tasks are recorded
// endpoint_disabled and not posted.
func TestDisableAfterThreeDays(t *testing.T) {
	f := newFixture(t, 503)
	ctx := context.Background()
	t0 := f.now
	if err := f.d.Handle(ctx, f.task()); err != nil {
		t.Fatal(err)
	}
	// Another event, first tried a day later, still failing at 71h: not
	// yet.
	f.now = t0.Add(71 * time.Hour)
	task := f.task()
	task.FirstTry, task.Attempt = t0.Add(24*time.Hour), 5
	if err := f.d.Handle(ctx, task); err != nil {
		t.Fatal(err)
	}
	if w, _ := f.st.GetWebhook(ctx, f.acct, f.w.ID); w.Status != store.WebhookActive || !w.FailingSince.Equal(t0) {
		t.Fatalf("at 71h: %s since %v", w.Status, w.FailingSince)
	}
	f.now = t0.Add(72 * time.Hour)
	if err := f.d.Handle(ctx, task); err != nil {
		t.Fatal(err)
	}
	w, _ := f.st.GetWebhook(ctx, f.acct, f.w.ID)
	if w.Status != store.WebhookDisabled || !w.DisabledAt.Equal(f.now) || w.Version != 2 {
		t.Fatalf("at 72h: %+v", w)
	}
	if len(f.n.got) != 1 || f.n.got[0] != w.ID {
		t.Fatalf("notified %v", f.n.got)
	}
	page, err := f.st.ListAudit(ctx, f.acct, audit.Filter{Action: "webhook.disable"}, 10, "")
	if err != nil || len(page.Items) != 1 || page.Items[0].ActorID != "system" || page.Items[0].TargetID != w.ID {
		t.Fatalf("audit %+v %v", page.Items, err)
	}
	if d := f.delivery(t); d.Status != store.DeliveryFailed {
		t.Fatalf("delivery %+v", d)
	}
	n := len(f.rc.requests())
	if err := f.d.Handle(ctx, task); err != nil {
		t.Fatal(err)
	}
	if len(f.rc.requests()) != n {
		t.Fatal("posted to a disabled endpoint")
	}
	if d := f.delivery(t); d.Status != store.DeliveryEndpointDisabled {
		t.Fatalf("delivery %+v", d)
	}
	if len(f.n.got) != 1 {
		t.Fatalf("notified again: %v", f.n.got)
	}
}

// A deleted endpoint's task is dropped; a lost event fails the delivery;
// the secret never reaches a delivery record.
func TestDeliveryEdges(t *testing.T) {
	f := newFixture(t, 200)
	ctx := context.Background()
	task := f.task()
	task.EventID = "evt_gone"
	if err := f.d.Handle(ctx, task); err != nil {
		t.Fatal(err)
	}
	if d := f.delivery(t); d.Status != store.DeliveryFailed || d.LastError != "event not found" {
		t.Fatalf("delivery %+v", d)
	}
	if err := f.st.DeleteWebhook(ctx, f.acct, f.w.ID, audit.Event{AccountID: f.acct, ActorID: "m_test", Action: "webhook.delete"}); err != nil {
		t.Fatal(err)
	}
	if err := f.d.Handle(ctx, f.task()); err != nil {
		t.Fatal(err)
	}
	if len(f.rc.requests()) != 0 {
		t.Fatal("posted for a deleted endpoint")
	}
	if _, err := f.st.GetWebhook(ctx, f.acct, f.w.ID); !errors.Is(err, store.ErrWebhookNotFound) {
		t.Fatal(err)
	}
}

type fakeMailer struct {
	keys []string
	msgs []mail.Message
}

func (m *fakeMailer) Send(_ context.Context, key string, msg mail.Message) (string, bool, error) {
	m.keys = append(m.keys, key)
	m.msgs = append(m.msgs, msg)
	return "msg-" + key, true, nil
}

// The disabled-endpoint email goes to the account's active administrators
// (here the owner), keyed per endpoint, disabling and member.
func TestMailNotifier(t *testing.T) {
	f := newFixture(t, 200)
	ctx := context.Background()
	now := time.Now().UTC()
	m := team.Member{ID: store.NewID("m"), AccountID: f.acct, Email: store.NewID("u") + "@example.com", Name: "Member",
		Status: rbac.StatusActive, Assignments: []rbac.Assignment{{Role: rbac.RoleTeamMember, Scope: rbac.StoreScope("s1")}},
		Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := f.st.AddMember(ctx, m, audit.Event{AccountID: f.acct, ActorID: "m_test", Action: "member.create", TargetType: "member", TargetID: m.ID}); err != nil {
		t.Fatal(err)
	}
	fm := &fakeMailer{}
	w := f.w
	w.Status, w.DisabledAt, w.FailingSince = store.WebhookDisabled, now, now.Add(-72*time.Hour)
	if err := (&webhooks.MailNotifier{Store: f.st, Mail: fm}).WebhookDisabled(ctx, w); err != nil {
		t.Fatal(err)
	}
	if len(fm.msgs) != 1 || fm.msgs[0].To[0].Email == m.Email || !strings.Contains(fm.msgs[0].Text, w.URL) {
		t.Fatalf("sent %d: %+v", len(fm.msgs), fm.msgs)
	}
	if want := "webhook-disabled/" + f.acct + "/" + w.ID + "/"; !strings.HasPrefix(fm.keys[0], want) {
		t.Fatalf("key %s", fm.keys[0])
	}
}

// The secret is sealed at rest: the raw item does not hold it, and a
// store with another cursor key cannot open it.
func TestSecretSealedAtRest(t *testing.T) {
	f := newFixture(t, 200)
	ctx := context.Background()
	d := testenv.DynamoDB(t)
	out, err := d.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(d.Table), Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "ACCOUNT#" + f.acct}, "sk": &types.AttributeValueMemberS{Value: "WEBHOOK#" + f.w.ID},
	}})
	if err != nil || out.Item == nil {
		t.Fatalf("raw item: %v", err)
	}
	raw := fmt.Sprint(out.Item)
	if strings.Contains(raw, f.w.Secret[len("whsec_"):]) || strings.Contains(raw, "whsec_") {
		t.Fatal("the raw item holds the secret")
	}
	if w, err := f.st.GetWebhook(ctx, f.acct, f.w.ID); err != nil || w.Secret != f.w.Secret {
		t.Fatalf("read back %v", err)
	}
	key := make([]byte, store.CursorKeySize)
	key[0] = 1
	other, err := store.New(d.Client, d.Table, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.GetWebhook(ctx, f.acct, f.w.ID); err == nil || strings.Contains(err.Error(), f.w.Secret) {
		t.Fatalf("another key opened the secret: %v", err)
	}
}

package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/documents"
	"github.com/stewardhq/steward/pkg/rbac"
	. "github.com/stewardhq/steward/pkg/store"
)

// Every audit event carries the table's TTL: its time plus the account's
// AuditRetentionDays at the write. A changed setting applies to events
// written afterwards; those already written keep their expiry.
func TestAuditEventsCarryTheAccountsRetention(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	account, _ := seedAccount(t, s, 0)
	day := int64(24 * time.Hour / time.Second)

	at := time.Now().Add(-time.Minute).UTC()
	tx := NewTx(audit.Event{AccountID: account, Action: "test.create", Time: at})
	tx.Put(ItemForTest(NewID("t")), ItemAbsent(), nil)
	if err := s.Commit(ctx, tx); err != nil {
		t.Fatal(err)
	}
	acct, err := s.GetAccount(ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	acct.Settings.AuditRetentionDays = 45
	if _, err := s.UpdateAccount(ctx, acct, audit.Event{AccountID: account, Action: "account.update"}); err != nil {
		t.Fatal(err)
	}
	// A fresh process reads the setting from the account.
	s.ForgetRetentionForTest()
	tx = NewTx(audit.Event{AccountID: account, Action: "test.create", Time: at.Add(time.Second)})
	tx.Put(ItemForTest(NewID("t")), ItemAbsent(), nil)
	if err := s.Commit(ctx, tx); err != nil {
		t.Fatal(err)
	}

	ttls := s.AuditTTLsForTest(t, account)
	// In time order: the first test.create (at, default), the second
	// (at+1s, 45 days), then account.create and account.update (now).
	if len(ttls) != 4 {
		t.Fatalf("%d events, want 4", len(ttls))
	}
	for i, ttl := range ttls {
		if ttl == 0 {
			t.Fatalf("event %d has no ttl", i)
		}
	}
	if want := at.Unix() + 400*day; ttls[0] != want {
		t.Fatalf("default retention: ttl %d, want %d", ttls[0], want)
	}
	if want := at.Add(time.Second).Unix() + 45*day; ttls[1] != want {
		t.Fatalf("45-day retention: ttl %d, want %d", ttls[1], want)
	}
}

// The export before expiry: the paged GET /v1/audit with a from/to range
// answers every event of the range, each once, in order (newest first),
// and none outside it.
func TestAuditRangeExportsEveryEventInOrder(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	account := NewID("acct")
	ids := writeEvents(t, s, account, 25)
	page0, err := s.ListAudit(ctx, account, audit.Filter{}, 200, "")
	if err != nil || len(page0.Items) != 25 {
		t.Fatalf("all: %v %d", err, len(page0.Items))
	}
	// Events 5..19 (oldest first), by their times.
	from, to := page0.Items[24-5].Time, page0.Items[24-19].Time
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		page, err := s.ListAudit(ctx, account, audit.Filter{From: from, To: to}, 4, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range page.Items {
			got = append(got, ev.TargetID)
		}
		if page.Next == "" {
			break
		}
		if pages > 10 {
			t.Fatal("export does not end")
		}
		cursor = page.Next
	}
	if len(got) != 15 {
		t.Fatalf("%d events in the range, want 15", len(got))
	}
	for i, id := range got {
		if want := ids[19-i]; id != want {
			t.Fatalf("event %d is %s, want %s", i, id, want)
		}
	}
}

// The write units of one audited change: a one-item change with its
// event, the event indexed by actor and target (three writes of the event:
// the table, gsi1, gsi2, each projecting the whole event) or not. Measured
// on DynamoDB Local: 2, 8 and 14 WRU (the two index copies are 6 of the 8);
// the limits below are those figures, to catch a change that writes more.
// And no read: the account's retention setting comes from the cache.
func TestWriteUnitsPerAuditedChange(t *testing.T) {
	d := testenv.DynamoDB(t)
	var meter testenv.Capacity
	client := dynamodb.New(d.Client.Options(), meter.Option)
	k := make([]byte, CursorKeySize)
	s, err := New(client, d.Table, k)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	account := NewID("acct")
	big := audit.Snapshot(map[string]string{"note": strings.Repeat("x", 1500)})
	for _, c := range []struct {
		name string
		ev   audit.Event
		max  float64
	}{
		{"unindexed", audit.Event{AccountID: account, Action: "test.create"}, 2},
		{"actor and target", audit.Event{AccountID: account, ActorID: "m1", Action: "test.create", TargetType: "test", TargetID: "x"}, 8},
		{"actor and target, 1.5 KB after", audit.Event{AccountID: account, ActorID: "m1", Action: "test.create", TargetType: "test", TargetID: "x", After: big}, 14},
	} {
		s.AuditExpiry(ctx, account, time.Now()) // warm the retention cache
		meter.Reset()
		tx := NewTx(c.ev)
		tx.Put(ItemForTest(NewID("t")), ItemAbsent(), nil)
		if err := s.Commit(ctx, tx); err != nil {
			t.Fatal(err)
		}
		u := meter.Reset()
		t.Logf("%s: %.1f WRU, %.1f RRU, %d calls", c.name, u.Write, u.Read, u.Calls)
		if u.Write > c.max {
			t.Errorf("%s: %.1f WRU, over %.1f", c.name, u.Write, c.max)
		}
		if u.Read != 0 || u.Calls != 1 {
			t.Errorf("%s: %.1f RRU in %d calls, want none besides the transaction", c.name, u.Read, u.Calls)
		}
	}
}

// A pending approval request never expires; the one that ends carries the
// account's DocumentRetentionDays from its end.
func TestFinishedRequestCarriesTheDocumentRetention(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	account, members := seedAccount(t, s, 0)
	now := time.Now().UTC().Truncate(time.Second)
	doc := documents.Document{AccountID: account, Type: rbac.DocPurchaseOrder, ID: NewID("po"), Store: "s1", Amount: 10, Currency: "EUR", Title: "Paper", Status: rbac.DocDraft, Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := s.PutDocument(ctx, doc, 0, nil, nil, audit.Event{AccountID: account, Action: "document.create"}); err != nil {
		t.Fatal(err)
	}
	r := documents.ApprovalRequest{ID: NewApprovalRequestID(now), AccountID: account, DocType: doc.Type, DocID: doc.ID, Store: "s1", Amount: 10, Currency: "EUR", RequesterID: members[0].ID, Status: documents.RequestPending, Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateApprovalRequest(ctx, r, doc, audit.Event{AccountID: account, Action: "approval.request"}); err != nil {
		t.Fatal(err)
	}
	if ttl := s.RequestTTLForTest(t, account, r.ID); ttl != 0 {
		t.Fatalf("pending request has ttl %d", ttl)
	}
	end := now.Add(time.Minute)
	if err := s.FinishRequest(ctx, r, documents.RequestApproved, rbac.DocApproved, end, audit.Event{AccountID: account, Action: "approval.approved"}); err != nil {
		t.Fatal(err)
	}
	if ttl, want := s.RequestTTLForTest(t, account, r.ID), end.Unix()+730*24*3600; ttl != want {
		t.Fatalf("finished request ttl %d, want %d", ttl, want)
	}
}

// Ending a request stamps its decisions with its own TTL in the same
// change; its awaiting entries go (and carried a bound of their own while
// pending); a document that closes carries the retention from its close
// and loses it when reopened, by a put or by a new request.
func TestDecisionsAndClosedDocumentsCarryTheDocumentRetention(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	const day = int64(24 * 3600)
	seed := &approvalSeed{t: t, s: s, account: NewID("acct"), now: time.Now().UTC().Truncate(time.Second)}
	const a1, a2, a3 = "mem_a1", "mem_a2", "mem_a3"

	r := seed.request("mem_req", a1, a2, a3)
	if ttl := s.AwaitingTTLForTest(t, seed.account, a3, r.ID); ttl < seed.now.Unix()-5+730*day {
		t.Fatalf("awaiting entry ttl %d, want at least its level's end plus 730 days", ttl)
	}
	for _, m := range []string{a1, a2} {
		if err := s.RecordDecision(ctx, seed.account, documents.ApprovalDecision{
			RequestID: r.ID, Level: 1, Approver: m, MemberID: m, Outcome: string(documents.RequestApproved), DecidedAt: seed.now,
		}, 3, nil, seed.ev("approval.decide")); err != nil {
			t.Fatal(err)
		}
		if ttl := s.DecisionTTLForTest(t, seed.account, r.ID, 1, m); ttl != 0 {
			t.Fatalf("decision of a pending request has ttl %d", ttl)
		}
	}
	seed.now = seed.now.Add(time.Hour)
	seed.finish(r, documents.RequestDenied, rbac.DocDenied)
	want := seed.now.Unix() + 730*day
	if ttl := s.RequestTTLForTest(t, seed.account, r.ID); ttl != want {
		t.Fatalf("request ttl %d, want %d", ttl, want)
	}
	for _, m := range []string{a1, a2} {
		if ttl := s.DecisionTTLForTest(t, seed.account, r.ID, 1, m); ttl != want {
			t.Fatalf("decision of %s: ttl %d, want the request's %d", m, ttl, want)
		}
	}
	if ttl := s.AwaitingTTLForTest(t, seed.account, a3, r.ID); ttl != -1 {
		t.Fatalf("awaiting entry outlived the request's end (ttl %d)", ttl)
	}
	if ttl := s.DocumentTTLForTest(t, seed.account, r.DocType, r.DocID); ttl != want {
		t.Fatalf("denied document ttl %d, want %d", ttl, want)
	}
	// Decisions written before the request named them: the backfill
	// stamps them with the ended request's TTL.
	s.ForgetDecisionsForTest(t, seed.account, r.ID, 1, a1, a2)
	if err := s.BackfillApprovalIndexes(ctx, seed.account); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{a1, a2} {
		if ttl := s.DecisionTTLForTest(t, seed.account, r.ID, 1, m); ttl != want {
			t.Fatalf("backfilled decision of %s: ttl %d, want %d", m, ttl, want)
		}
	}

	// Requested again: the document reopens and loses its TTL.
	doc, err := s.GetDocument(ctx, seed.account, r.DocType, r.DocID)
	if err != nil {
		t.Fatal(err)
	}
	seed.now = seed.now.Add(time.Hour)
	r2 := documents.ApprovalRequest{ID: NewApprovalRequestID(seed.now), AccountID: seed.account, DocType: doc.Type, DocID: doc.ID, Amount: doc.Amount, Currency: doc.Currency, RequesterID: "mem_req", Status: documents.RequestPending, Version: 1, CreatedAt: seed.now, UpdatedAt: seed.now}
	if err := s.CreateApprovalRequest(ctx, r2, doc, seed.ev("approval.request")); err != nil {
		t.Fatal(err)
	}
	if ttl := s.DocumentTTLForTest(t, seed.account, doc.Type, doc.ID); ttl != 0 {
		t.Fatalf("re-requested document keeps ttl %d", ttl)
	}
	seed.finish(r2, documents.RequestApproved, rbac.DocApproved)
	if ttl := s.DocumentTTLForTest(t, seed.account, doc.Type, doc.ID); ttl != 0 {
		t.Fatalf("approved (open) document has ttl %d", ttl)
	}

	// Completed by a put: closed from then; put back to draft: open again.
	doc, err = s.GetDocument(ctx, seed.account, doc.Type, doc.ID)
	if err != nil {
		t.Fatal(err)
	}
	read := doc.Version
	doc.Status, doc.Version, doc.UpdatedAt = rbac.DocCompleted, read+1, seed.now.Add(time.Minute)
	if err := s.PutDocument(ctx, doc, read, nil, nil, seed.ev("document.put")); err != nil {
		t.Fatal(err)
	}
	if ttl, want := s.DocumentTTLForTest(t, seed.account, doc.Type, doc.ID), doc.UpdatedAt.Unix()+730*day; ttl != want {
		t.Fatalf("completed document ttl %d, want %d", ttl, want)
	}
	read = doc.Version
	doc.Status, doc.Version, doc.UpdatedAt = rbac.DocDraft, read+1, doc.UpdatedAt.Add(time.Minute)
	if err := s.PutDocument(ctx, doc, read, nil, nil, seed.ev("document.put")); err != nil {
		t.Fatal(err)
	}
	if ttl := s.DocumentTTLForTest(t, seed.account, doc.Type, doc.ID); ttl != 0 {
		t.Fatalf("reopened document keeps ttl %d", ttl)
	}
}

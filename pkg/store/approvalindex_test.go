package store_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/documents"
	"github.com/stewardhq/steward/pkg/rbac"
	. "github.com/stewardhq/steward/pkg/store"
)

// meteredStore is a store whose DynamoDB calls are counted by meter.
func meteredStore(t *testing.T) (*Store, *testenv.Capacity) {
	t.Helper()
	d := testenv.DynamoDB(t)
	meter := &testenv.Capacity{}
	k := make([]byte, CursorKeySize)
	_, _ = rand.Read(k)
	s, err := New(dynamodb.New(d.Client.Options(), meter.Option), d.Table, k)
	if err != nil {
		t.Fatal(err)
	}
	return s, meter
}

// approvalSeed writes requests through the store's own operations, one
// document per request, at increasing creation times.
type approvalSeed struct {
	t       *testing.T
	s       *Store
	account string
	now     time.Time
	n       int
}

func (a *approvalSeed) ev(action string) audit.Event {
	return audit.Event{AccountID: a.account, Action: action}
}

// request creates a pending request whose level 1 awaits awaiting.
func (a *approvalSeed) request(requester string, awaiting ...string) documents.ApprovalRequest {
	t, ctx := a.t, context.Background()
	a.n++
	a.now = a.now.Add(time.Second)
	doc := documents.Document{
		AccountID: a.account, Type: rbac.DocPurchaseOrder, ID: fmt.Sprintf("po-%04d", a.n), Amount: 100, Currency: "EUR",
		Title: "PO", Status: rbac.DocDraft, Version: 1, CreatedAt: a.now, UpdatedAt: a.now,
	}
	if err := a.s.PutDocument(ctx, doc, 0, nil, nil, a.ev("document.create")); err != nil {
		t.Fatal(err)
	}
	r := documents.ApprovalRequest{
		ID: NewApprovalRequestID(a.now), AccountID: a.account, DocType: doc.Type, DocID: doc.ID, DocTitle: doc.Title,
		Amount: doc.Amount, Currency: doc.Currency, RequesterID: requester,
		Levels: []documents.ApprovalLevel{{Required: 1, Role: "manager", Scope: documents.ApprovalScopeAccount}},
		Status: documents.RequestPending, Version: 1, CreatedAt: a.now, UpdatedAt: a.now,
	}
	if err := a.s.CreateApprovalRequest(ctx, r, doc, a.ev("approval.request")); err != nil {
		t.Fatal(err)
	}
	var asked []documents.Approver
	for _, m := range awaiting {
		asked = append(asked, documents.Approver{Level: 1, MemberID: m, Email: m + "@example.com", AskedAt: a.now})
	}
	if err := a.s.AwaitLevel(ctx, r, 1, "task-"+r.ID, asked, awaiting, nil, a.ev("approval.await")); err != nil {
		t.Fatal(err)
	}
	r.Level = 1
	return r
}

func (a *approvalSeed) finish(r documents.ApprovalRequest, st documents.RequestStatus, doc rbac.DocStatus) {
	if err := a.s.FinishRequest(context.Background(), r, st, doc, a.now, a.ev("approval.finish")); err != nil {
		a.t.Fatal(err)
	}
}

func ids(rs []documents.ApprovalRequest) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func newest(rs []documents.ApprovalRequest) []string {
	out := ids(rs)
	slices.Reverse(out)
	return out
}

// TestPendingListsAnswerBehindDecidedHistory: the newest 300 requests of
// the account are decided; the pending ones (older) still fill the first
// page of status=pending and of "waiting for me", and the page reads only
// them, not the history in front of them.
func TestPendingListsAnswerBehindDecidedHistory(t *testing.T) {
	s, meter := meteredStore(t)
	ctx := context.Background()
	seed := &approvalSeed{t: t, s: s, account: NewID("acct"), now: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}
	const me, other, requester, busy = "mem_me", "mem_other", "mem_req", "mem_busy"

	var pending, mine []documents.ApprovalRequest
	for i := range 6 {
		if i%2 == 0 {
			r := seed.request(requester, me, other)
			pending, mine = append(pending, r), append(mine, r)
		} else {
			pending = append(pending, seed.request(requester, other))
		}
	}
	// One I decided (the level still awaits the other approver).
	decidedByMe := seed.request(requester, me, other)
	pending = append(pending, decidedByMe)
	if err := s.RecordDecision(ctx, seed.account, documents.ApprovalDecision{
		RequestID: decidedByMe.ID, Level: 1, Approver: me, MemberID: me, Outcome: string(documents.RequestApproved), DecidedAt: seed.now,
	}, 2, nil, seed.ev("approval.decide")); err != nil {
		t.Fatal(err)
	}
	// 300 newer requests (of another requester) that awaited me too, all
	// ended.
	var approved []documents.ApprovalRequest
	for i := range 300 {
		r := seed.request(busy, me, other)
		switch i % 3 {
		case 0:
			seed.finish(r, documents.RequestApproved, rbac.DocApproved)
			approved = append(approved, r)
		case 1:
			seed.finish(r, documents.RequestDenied, rbac.DocDenied)
		default:
			seed.finish(r, documents.RequestCancelled, rbac.DocDraft)
		}
	}

	const limit = 50
	meter.Reset()
	page, err := s.ListApprovalRequests(ctx, seed.account, RequestFilter{Status: documents.RequestPending}, limit, "")
	if err != nil {
		t.Fatal(err)
	}
	u := meter.Reset()
	t.Logf("status=pending, first page: %d items, %.1f read units in %d calls", len(page.Items), u.Read, u.Calls)
	if got, want := ids(page.Items), newest(pending); !slices.Equal(got, want) || page.Next != "" {
		t.Fatalf("status=pending: %v (next %q), want %v", got, page.Next, want)
	}
	if u.Read > 2 {
		t.Fatalf("status=pending read %.1f units, want at most 2 (the pending requests only)", u.Read)
	}

	page, err = s.ListApprovalRequests(ctx, seed.account, RequestFilter{AwaitingID: me, Status: documents.RequestPending}, limit, "")
	if err != nil {
		t.Fatal(err)
	}
	u = meter.Reset()
	t.Logf("waiting for me, first page: %d items, %.1f read units in %d calls", len(page.Items), u.Read, u.Calls)
	if got, want := ids(page.Items), newest(mine); !slices.Equal(got, want) || page.Next != "" {
		t.Fatalf("waiting for me: %v (next %q), want %v", got, page.Next, want)
	}
	if u.Read > 5 {
		t.Fatalf("waiting for me read %.1f units, want at most 5 (an entry and a request per answer)", u.Read)
	}

	// A full page of a status with many requests, and its next page.
	page, err = s.ListApprovalRequests(ctx, seed.account, RequestFilter{Status: documents.RequestApproved}, limit, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(page.Items), newest(approved)[:limit]; !slices.Equal(got, want) || page.Next == "" {
		t.Fatalf("status=approved: %d items (next %q), want the newest %d", len(got), page.Next, limit)
	}
	all := ids(page.Items)
	for cursor := page.Next; cursor != ""; {
		next, err := s.ListApprovalRequests(ctx, seed.account, RequestFilter{Status: documents.RequestApproved}, limit, cursor)
		if err != nil {
			t.Fatal(err)
		}
		all, cursor = append(all, ids(next.Items)...), next.Next
	}
	if want := newest(approved); !slices.Equal(all, want) {
		t.Fatalf("status=approved, every page: %d items, want %d", len(all), len(want))
	}
	// A cursor continues its own list only.
	if _, err := s.ListApprovalRequests(ctx, seed.account, RequestFilter{Status: documents.RequestDenied}, limit, page.Next); err != ErrBadCursor {
		t.Fatalf("cursor of another status: %v, want ErrBadCursor", err)
	}

	// The requester's own: only theirs are read.
	meter.Reset()
	page, err = s.ListApprovalRequests(ctx, seed.account, RequestFilter{RequesterID: requester, Status: documents.RequestPending}, limit, "")
	if err != nil {
		t.Fatal(err)
	}
	u = meter.Reset()
	if got, want := ids(page.Items), newest(pending); !slices.Equal(got, want) || page.Next != "" {
		t.Fatalf("requested by me, pending: %v, want %v", got, want)
	}
	if u.Read > 2 {
		t.Fatalf("requested by me read %.1f units, want at most 2", u.Read)
	}
	page, err = s.ListApprovalRequests(ctx, seed.account, RequestFilter{RequesterID: busy}, limit, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != limit || slices.ContainsFunc(page.Items, func(r documents.ApprovalRequest) bool { return r.RequesterID != busy }) {
		t.Fatalf("requested by %s: %d items", busy, len(page.Items))
	}
	// No filter: the account's newest.
	page, err = s.ListApprovalRequests(ctx, seed.account, RequestFilter{}, limit, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != limit || page.Items[0].Status == documents.RequestPending {
		t.Fatalf("unfiltered: %d items, first %s", len(page.Items), page.Items[0].Status)
	}

	// The alert job's pending approvals: the pending ones, with who is
	// still awaited.
	pa, err := s.PendingApprovals(ctx, seed.account, seed.now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(pa) != len(pending) || pa[len(pa)-1].Request.ID != decidedByMe.ID || !slices.Equal(pa[len(pa)-1].Awaiting, []string{other}) {
		t.Fatalf("pending approvals: %d, last %+v", len(pa), pa[len(pa)-1])
	}
}

// TestDueDocumentsReadOnlyOpenDueDocuments: the due index holds open
// documents with a due date; a document that leaves the open statuses
// leaves it.
func TestDueDocumentsReadOnlyOpenDueDocuments(t *testing.T) {
	s, meter := meteredStore(t)
	ctx := context.Background()
	account := NewID("acct")
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	put := func(id, due string, st rbac.DocStatus) documents.Document {
		d := documents.Document{AccountID: account, Type: rbac.DocPurchaseOrder, ID: id, Amount: 1, Currency: "EUR", Title: id,
			DueDate: due, Status: st, Version: 1, CreatedAt: now, UpdatedAt: now}
		if err := s.PutDocument(ctx, d, 0, nil, nil, audit.Event{AccountID: account, Action: "document.create"}); err != nil {
			t.Fatal(err)
		}
		return d
	}
	for i := range 60 {
		put(fmt.Sprintf("done-%03d", i), "2026-01-01", rbac.DocCompleted)
	}
	put("c-open-late", "2026-02-01", rbac.DocDraft)
	put("b-no-due", "", rbac.DocDraft)
	put("a-due", "2026-01-10", rbac.DocApproved)
	requested := put("d-due", "2026-01-03", rbac.DocDraft)
	r := documents.ApprovalRequest{ID: NewApprovalRequestID(now), AccountID: account, DocType: requested.Type, DocID: requested.ID,
		RequesterID: "mem_r", Status: documents.RequestPending, Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateApprovalRequest(ctx, r, requested, audit.Event{AccountID: account, Action: "approval.request"}); err != nil {
		t.Fatal(err)
	}

	meter.Reset()
	ds, err := s.DueDocuments(ctx, account, rbac.DocPurchaseOrder, "2026-01-10")
	if err != nil {
		t.Fatal(err)
	}
	u := meter.Reset()
	var got []string
	for _, d := range ds {
		got = append(got, d.ID+"/"+string(d.Status))
	}
	if want := []string{"a-due/approved", "d-due/pending_approval"}; !slices.Equal(got, want) {
		t.Fatalf("due: %v, want %v", got, want)
	}
	if u.Read > 1 {
		t.Fatalf("due documents read %.1f units, want at most 1", u.Read)
	}

	// Denied: no longer open, out of the index.
	if err := s.FinishRequest(ctx, r, documents.RequestDenied, rbac.DocDenied, now, audit.Event{AccountID: account, Action: "approval.finish"}); err != nil {
		t.Fatal(err)
	}
	ds, err = s.DueDocuments(ctx, account, rbac.DocPurchaseOrder, "2026-12-31")
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, d := range ds {
		got = append(got, d.ID)
	}
	if want := []string{"a-due", "c-open-late"}; !slices.Equal(got, want) {
		t.Fatalf("due after the denial: %v, want %v", got, want)
	}
}

// TestBackfillApprovalIndexes: requests and documents written before the
// index keys existed are missing from the filtered lists until the
// backfill gives them their keys.
func TestBackfillApprovalIndexes(t *testing.T) {
	d := testenv.DynamoDB(t)
	k := make([]byte, CursorKeySize)
	_, _ = rand.Read(k)
	s, err := New(d.Client, d.Table, k)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	seed := &approvalSeed{t: t, s: s, account: NewID("acct"), now: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}
	open := seed.request("mem_req", "mem_me")
	done := seed.request("mem_req", "mem_me")
	seed.finish(done, documents.RequestApproved, rbac.DocApproved)
	due := documents.Document{AccountID: seed.account, Type: rbac.DocInvoice, ID: "inv-1", Amount: 1, Currency: "EUR", Title: "Invoice",
		DueDate: "2026-01-07", Status: rbac.DocApproved, Version: 1, CreatedAt: seed.now, UpdatedAt: seed.now}
	if err := s.PutDocument(ctx, due, 0, nil, nil, seed.ev("document.create")); err != nil {
		t.Fatal(err)
	}

	// Make them look like items from before the keys: no index keys, no
	// awaiting entries.
	pk := &types.AttributeValueMemberS{Value: "ACCOUNT#" + seed.account}
	strip := func(sk string, attrs ...string) {
		expr := "REMOVE "
		names := map[string]string{}
		for i, a := range attrs {
			if i > 0 {
				expr += ", "
			}
			n := fmt.Sprintf("#a%d", i)
			expr += n
			names[n] = a
		}
		_, err := d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &d.Table, Key: map[string]types.AttributeValue{AttrPK: pk, AttrSK: &types.AttributeValueMemberS{Value: sk}},
			UpdateExpression: &expr, ExpressionAttributeNames: names,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []documents.ApprovalRequest{open, done} {
		strip("APPROVAL#"+r.ID, AttrGSI1PK, AttrGSI1SK, AttrGSI2PK, AttrGSI2SK)
	}
	strip("DOC#invoice#inv-1", AttrGSI3PK, AttrGSI3SK)
	if _, err := d.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &d.Table, Key: map[string]types.AttributeValue{
		AttrPK: pk, AttrSK: &types.AttributeValueMemberS{Value: "APPRWAIT#mem_me#" + open.ID},
	}}); err != nil {
		t.Fatal(err)
	}

	lists := func() (pending, approved, mine, requested []string, dues int) {
		t.Helper()
		for _, f := range []struct {
			f   RequestFilter
			out *[]string
		}{
			{RequestFilter{Status: documents.RequestPending}, &pending},
			{RequestFilter{Status: documents.RequestApproved}, &approved},
			{RequestFilter{AwaitingID: "mem_me", Status: documents.RequestPending}, &mine},
			{RequestFilter{RequesterID: "mem_req"}, &requested},
		} {
			page, err := s.ListApprovalRequests(ctx, seed.account, f.f, 50, "")
			if err != nil {
				t.Fatal(err)
			}
			*f.out = ids(page.Items)
		}
		ds, err := s.DueDocuments(ctx, seed.account, rbac.DocInvoice, "2026-01-31")
		if err != nil {
			t.Fatal(err)
		}
		return pending, approved, mine, requested, len(ds)
	}
	if p, a, m, r, n := lists(); len(p)+len(a)+len(m)+len(r)+n != 0 {
		t.Fatalf("before the backfill: pending %v approved %v mine %v requested %v due %d, want none", p, a, m, r, n)
	}
	for range 2 { // safe to run again
		if err := s.BackfillApprovalIndexes(ctx, seed.account); err != nil {
			t.Fatal(err)
		}
	}
	p, a, m, r, n := lists()
	if !slices.Equal(p, []string{open.ID}) || !slices.Equal(a, []string{done.ID}) || !slices.Equal(m, []string{open.ID}) ||
		!slices.Equal(r, []string{done.ID, open.ID}) || n != 1 {
		t.Fatalf("after the backfill: pending %v approved %v mine %v requested %v due %d", p, a, m, r, n)
	}
}

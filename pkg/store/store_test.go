package store_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/audit"
	. "github.com/stewardhq/steward/pkg/store"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func newTestStore(t *testing.T) *Store {
	t.Helper()
	d := testenv.DynamoDB(t)
	k := make([]byte, CursorKeySize)
	_, _ = rand.Read(k)
	s, err := New(d.Client, d.Table, k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var errTaken = errors.New("test: id taken")

func TestPingAnswers(t *testing.T) {
	if err := newTestStore(t).Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestConditionalWriteLoses(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	id := NewID("t")
	if err := s.Put(ctx, ItemForTest(id), ItemAbsent(), errTaken); err != nil {
		t.Fatalf("first put: %v", err)
	}
	err := s.Put(ctx, ItemForTest(id), ItemAbsent(), errTaken)
	if !errors.Is(err, errTaken) || !errors.Is(err, ErrConditionFailed) || !IsConditionFailed(err) {
		t.Fatalf("second put: %v, want errTaken and ErrConditionFailed", err)
	}
	var ce *ConditionError
	if !errors.As(err, &ce) || ce.Index != -1 || ce.Item == nil {
		t.Fatalf("condition error %+v: want index -1 and the old item", ce)
	}
	// No domain error attached: the plain sentinel.
	err = s.Put(ctx, ItemForTest(id), ItemAbsent(), nil)
	if !errors.Is(err, ErrConditionFailed) || errors.Is(err, errTaken) {
		t.Fatalf("put without domain error: %v", err)
	}
}

func TestVersionConditionOnlyOneWriterWins(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	id := NewID("t")
	if err := s.Put(ctx, ItemForTest(id), ItemAbsent(), nil); err != nil {
		t.Fatal(err)
	}
	errStale := errors.New("stale")
	results := make(chan error, 8)
	for range 8 {
		go func() {
			tx := NewTx(audit.Event{AccountID: "acct_" + id, Action: "test.bump"})
			tx.Update(KeyOfItemForTest(id), Cond{
				Expr: "SET #ver = :next", Names: map[string]string{"#ver": AttrVersion},
				Values: map[string]types.AttributeValue{":next": &types.AttributeValueMemberN{Value: "2"}},
			}, VersionIs(1), errStale)
			results <- s.Commit(ctx, tx)
		}()
	}
	var won, lost int
	for range 8 {
		switch err := <-results; {
		case err == nil:
			won++
		case errors.Is(err, errStale):
			lost++
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if won != 1 || lost != 7 {
		t.Fatalf("won %d lost %d, want exactly one winner", won, lost)
	}
}

func TestCancelledTransactionMapsToDomainErrorAndWritesNothing(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	account := NewID("acct")
	existing, fresh := NewID("t"), NewID("t")
	if err := s.Put(ctx, ItemForTest(existing), ItemAbsent(), nil); err != nil {
		t.Fatal(err)
	}
	errFirst, errSecond := errors.New("first taken"), errors.New("second taken")
	tx := NewTx(audit.Event{AccountID: account, ActorID: "m1", Action: "test.create", TargetType: "test", TargetID: fresh})
	tx.Put(ItemForTest(fresh), ItemAbsent(), errFirst)
	tx.Put(ItemForTest(existing), ItemAbsent(), errSecond)
	err := s.Commit(ctx, tx)
	var ce *ConditionError
	if !errors.As(err, &ce) || ce.Index != 1 || !errors.Is(err, errSecond) || errors.Is(err, errFirst) {
		t.Fatalf("commit: %v (%+v), want item 1's domain error", err, ce)
	}
	if s.Exists(t, fresh) {
		t.Fatal("the cancelled transaction wrote its first item")
	}
	page, err := s.ListAudit(ctx, account, audit.Filter{}, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 0 {
		t.Fatalf("a cancelled transaction left %d audit events", len(page.Items))
	}
}

func TestCommitWritesItsAuditEvent(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	account, id := NewID("acct"), NewID("t")
	tx := NewTx(audit.Event{
		AccountID: account, ActorID: "m_admin", ActorName: "Ada", ImpersonatorID: "m_owner",
		Action: "test.create", TargetType: "test", TargetID: id,
		After: audit.Snapshot(map[string]string{"id": id}), RequestID: "req-1",
	})
	tx.Put(ItemForTest(id), ItemAbsent(), nil)
	if err := s.Commit(ctx, tx); err != nil {
		t.Fatal(err)
	}
	if !s.Exists(t, id) {
		t.Fatal("item not written")
	}
	for _, f := range []audit.Filter{{}, {ActorID: "m_admin"}, {TargetType: "test", TargetID: id}, {Action: "test.create"}} {
		page, err := s.ListAudit(ctx, account, f, 0, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 1 {
			t.Fatalf("filter %+v: %d events, want 1", f, len(page.Items))
		}
		ev := page.Items[0]
		if ev.ActorName != "Ada" || ev.ImpersonatorID != "m_owner" || string(ev.After) != `{"id":"`+id+`"}` || ev.RequestID != "req-1" || ev.Time.IsZero() {
			t.Fatalf("event %+v", ev)
		}
	}
	page, err := s.ListAudit(ctx, account, audit.Filter{ActorID: "someone_else"}, 0, "")
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("other actor: %v %d", err, len(page.Items))
	}
}

func TestTransactionLimit(t *testing.T) {
	s := newTestStore(t)
	tx := NewTx(audit.Event{AccountID: "a", Action: "test.big"})
	for i := range MaxTxItems {
		tx.Put(ItemForTest(fmt.Sprint(i)), nil, nil)
	}
	if err := s.Commit(context.Background(), tx); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("commit of %d writes: %v", MaxTxItems, err)
	}
}

// writeEvents commits n changes in account, each with its event, a
// millisecond apart so that their order is known.
func writeEvents(t *testing.T, s *Store, account string, n int) []string {
	t.Helper()
	base := time.Now().Add(-time.Hour)
	var ids []string
	for i := range n {
		id := NewID("t")
		tx := NewTx(audit.Event{AccountID: account, ActorID: "m1", Action: "test.create", TargetType: "test", TargetID: id, Time: base.Add(time.Duration(i) * time.Millisecond)})
		tx.Put(ItemForTest(id), ItemAbsent(), nil)
		if err := s.Commit(context.Background(), tx); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func TestPaginationAcrossPages(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	account := NewID("acct")
	ids := writeEvents(t, s, account, 7)
	var got []string
	cursor, pages := "", 0
	for {
		page, err := s.ListAudit(ctx, account, audit.Filter{}, 3, cursor)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		pages++
		for _, ev := range page.Items {
			got = append(got, ev.TargetID)
		}
		if page.Next == "" {
			break
		}
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
		cursor = page.Next
	}
	if pages < 3 {
		t.Fatalf("%d pages for 7 items at 3 a page", pages)
	}
	want := make([]string, len(ids))
	for i, id := range ids {
		want[len(ids)-1-i] = id // newest first
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("pages gave %v, want %v", got, want)
	}
}

func TestForgedAndForeignCursorsRejected(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	account, other := NewID("acct"), NewID("acct")
	writeEvents(t, s, account, 3)
	writeEvents(t, s, other, 3)
	page, err := s.ListAudit(ctx, account, audit.Filter{}, 1, "")
	if err != nil || page.Next == "" {
		t.Fatalf("first page: %v, next %q", err, page.Next)
	}
	raw := []byte(page.Next)
	raw[len(raw)/2] ^= 0x01
	for name, tc := range map[string]struct {
		account, cursor string
		filter          audit.Filter
	}{
		"flipped byte":      {account, string(raw), audit.Filter{}},
		"other account":     {other, page.Next, audit.Filter{}},
		"other filter":      {account, page.Next, audit.Filter{ActorID: "m1"}},
		"not base64":        {account, "!!!", audit.Filter{}},
		"too short":         {account, "abcd", audit.Filter{}},
		"plain key as json": {account, "eyJwayI6IkFVRElUI3gifQ", audit.Filter{}},
		"huge":              {account, strings.Repeat("A", 5000), audit.Filter{}},
	} {
		if _, err := s.ListAudit(ctx, tc.account, tc.filter, 1, tc.cursor); !errors.Is(err, ErrBadCursor) {
			t.Errorf("%s: %v, want ErrBadCursor", name, err)
		}
	}
	// The genuine cursor still works where it belongs.
	if _, err := s.ListAudit(ctx, account, audit.Filter{}, 1, page.Next); err != nil {
		t.Fatalf("genuine cursor: %v", err)
	}
}

func TestCursorRoundTrip(t *testing.T) {
	c, err := NewCursors(make([]byte, CursorKeySize))
	if err != nil {
		t.Fatal(err)
	}
	last := ItemKey("A#1", "B#2")
	sealed, err := c.Seal("acct", "list", last)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "A#1") {
		t.Fatal("cursor shows the key")
	}
	got, err := c.Open("acct", "list", sealed)
	if err != nil {
		t.Fatal(err)
	}
	if got[AttrPK].(*types.AttributeValueMemberS).Value != "A#1" || got[AttrSK].(*types.AttributeValueMemberS).Value != "B#2" {
		t.Fatalf("opened %v", got)
	}
	if s, _ := c.Seal("acct", "list", nil); s != "" {
		t.Fatalf("no next page should seal to empty, got %q", s)
	}
	if _, err := NewCursors(make([]byte, 5)); err == nil {
		t.Fatal("short key accepted")
	}
}

// A batch read takes any number of keys: an identity in 120 accounts reads
// 240 keys at sign-in (DynamoDB's BatchGetItem takes 100).
func TestBatchGetReadsMoreThanOneHundredKeys(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	var ids []string
	for range 250 {
		id := NewID("t")
		if err := s.Put(ctx, ItemForTest(id), ItemAbsent(), errTaken); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	ids = append(ids, NewID("missing"))
	n, err := s.BatchGetForTest(ctx, ids)
	if err != nil || n != 250 {
		t.Fatalf("batch get of 251 keys: %d items, %v; want 250", n, err)
	}
}

package events_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/events"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/openapi"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// account creates an account over DynamoDB Local and returns its owner as
// a principal.
func account(t *testing.T, st *store.Store) *auth.Principal {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	acct := team.Account{ID: store.NewID("a"), Name: "Shop", Settings: team.DefaultSettings(), Version: 1, CreatedAt: now, UpdatedAt: now}
	ident := team.Identity{ID: store.NewID("i"), Email: testenv.NewID("owner") + "@example.com", Version: 1, CreatedAt: now, UpdatedAt: now}
	owner := team.Member{ID: store.NewID("m"), AccountID: acct.ID, IdentityID: ident.ID, Email: ident.Email, Name: "Olive",
		Status: rbac.StatusActive, Admin: true, Owner: true, Version: 1, CreatedAt: now, UpdatedAt: now}
	acct.OwnerID = owner.ID
	if err := st.CreateAccount(ctx, store.NewAccount{Account: acct, Owner: owner, Identity: ident, NewIdentity: true},
		audit.Event{AccountID: acct.ID, ActorID: owner.ID, Action: "account.create"}); err != nil {
		t.Fatal(err)
	}
	a, err := st.LoadAuth(ctx, owner.AccountID, owner.ID, "", "")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rbac.NewRoleSet(a.Roles.Roles...)
	if err != nil {
		t.Fatal(err)
	}
	return &auth.Principal{Member: a.Member, Roles: rs, Authz: rs.Compile(a.Member.Authz(time.Now()))}
}

func newStore(t *testing.T) *store.Store {
	t.Helper()
	d := testenv.DynamoDB(t)
	k := make([]byte, store.CursorKeySize)
	_, _ = rand.Read(k)
	st, err := store.New(d.Client, d.Table, k)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// change writes one audited change: a store put whose audit event has the
// given action and After (so that it announces the events of that action).
func change(t *testing.T, st *store.Store, p *auth.Principal, n int, action, after string) {
	t.Helper()
	ev := audit.Event{AccountID: p.AccountID(), ActorID: p.Member.ID, ActorName: p.Member.Name, Action: action,
		TargetType: "x", TargetID: fmt.Sprintf("t%d", n), After: json.RawMessage(after)}
	if _, err := st.PutStore(context.Background(), p.AccountID(), team.Store{ID: fmt.Sprintf("s%d", n), Name: "Store"}, ev); err != nil {
		t.Fatal(err)
	}
}

func types(es []events.Event) []string {
	out := make([]string, 0, len(es))
	for _, e := range es {
		out = append(out, e.Type)
	}
	return out
}

func TestFeedListsOldestFirstAndResumesExactly(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	p := account(t, st)
	// Six changes announcing eight events (two announce two each), and
	// one change that announces none.
	request := `{"request":{"id":"r1","documentType":"purchase_order","documentId":"po1"},"documentStatus":"%s"}`
	change(t, st, p, 1, "invitation.create", `{"memberId":"m_x"}`)
	change(t, st, p, 2, "approval.request", fmt.Sprintf(request, "pending_approval"))
	change(t, st, p, 3, "session.create", `{}`)
	change(t, st, p, 4, "approval.decide", `{"level":1,"outcome":"approve","request":{"id":"r1"}}`)
	change(t, st, p, 5, "approval.approved", fmt.Sprintf(request, "approved"))
	change(t, st, p, 6, "role.create", `{"id":"buyer"}`)
	change(t, st, p, 7, "apikey.create", `{"name":"k"}`)
	want := []string{"member.invited", "approval.requested", "document.status_changed", "approval.decided",
		"approval.approved", "document.status_changed", "role.created", "api_key.created"}

	// A feed that lists everything up to now: every event, oldest first
	// (account.create announces nothing).
	feed := &events.Feed{Store: st, Settle: -time.Hour}
	all, err := feed.List(ctx, p, events.FeedQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if got := types(all.Items); !slices.Equal(got, want) {
		t.Fatalf("feed %v, want %v", got, want)
	}
	for i := 1; i < len(all.Items); i++ {
		if all.Items[i].Timestamp.Before(all.Items[i-1].Timestamp) {
			t.Fatalf("event %d is older than event %d", i, i-1)
		}
	}

	// Pages of every size give the same events, each once, in order:
	// cursors resume inside a change that announced two events too.
	for size := 1; size <= 4; size++ {
		var got []events.Event
		after := ""
		for range 20 {
			page, err := feed.List(ctx, p, events.FeedQuery{After: after, Limit: size})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Items) > size {
				t.Fatalf("page of %d items for limit %d", len(page.Items), size)
			}
			if page.Next == "" {
				t.Fatal("the feed gave no cursor")
			}
			got, after = append(got, page.Items...), page.Next
			if len(page.Items) == 0 {
				break
			}
		}
		if !slices.EqualFunc(got, all.Items, func(a, b events.Event) bool { return a.ID == b.ID }) {
			t.Fatalf("pages of %d: %v, want %v", size, types(got), want)
		}
	}

	// The cursor of the end answers what happens next, and only that.
	change(t, st, p, 8, "role.update", `{"id":"buyer"}`)
	next, err := feed.List(ctx, p, events.FeedQuery{After: all.Next})
	if err != nil {
		t.Fatal(err)
	}
	if got := types(next.Items); !slices.Equal(got, []string{"role.updated"}) {
		t.Fatalf("after the end: %v, want [role.updated]", got)
	}

	// A types filter keeps only those types, in order.
	only, err := feed.List(ctx, p, events.FeedQuery{Types: []string{"document.status_changed", "role.updated"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := types(only.Items); !slices.Equal(got, []string{"document.status_changed", "document.status_changed", "role.updated"}) {
		t.Fatalf("filtered: %v", got)
	}
}

func TestFeedWaitsUntilEventsSettle(t *testing.T) {
	st := newStore(t)
	p := account(t, st)
	change(t, st, p, 1, "role.create", `{"id":"buyer"}`)
	page, err := (&events.Feed{Store: st, Settle: time.Hour}).List(context.Background(), p, events.FeedQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 0 {
		t.Fatalf("a change younger than the settle time was listed: %v", types(page.Items))
	}
}

func TestFeedCursorBelongsToItsAccount(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	mine, theirs := account(t, st), account(t, st)
	change(t, st, theirs, 1, "role.create", `{"id":"secret-role"}`)
	feed := &events.Feed{Store: st, Settle: -time.Hour}
	page, err := feed.List(ctx, theirs, events.FeedQuery{Limit: 1})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("their feed: %v %v", page.Items, err)
	}
	mineAll, err := feed.List(ctx, mine, events.FeedQuery{})
	if err != nil || len(mineAll.Items) != 0 {
		t.Fatalf("another account's events in my feed: %v %v", types(mineAll.Items), err)
	}
	_, err = feed.List(ctx, mine, events.FeedQuery{After: page.Next})
	if !errors.Is(err, store.ErrBadCursor) {
		t.Fatalf("another account's cursor: %v, want bad_cursor", err)
	}
}

func TestFeedNeedsAuditView(t *testing.T) {
	st := newStore(t)
	p := account(t, st)
	// A member with no roles at all.
	plain := &auth.Principal{Member: team.Member{ID: "m_plain", AccountID: p.AccountID(), Status: rbac.StatusActive}, Roles: p.Roles}
	plain.Authz = p.Roles.Compile(plain.Member.Authz(time.Now()))
	_, err := (&events.Feed{Store: st}).List(context.Background(), plain, events.FeedQuery{})
	var f *fault.Error
	if !errors.As(err, &f) || f.Kind != fault.Forbidden {
		t.Fatalf("a member without audit.view read the feed: %v", err)
	}
}

func TestNoEventWithoutItsChange(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	p := account(t, st)
	// A member update that loses its condition (a stale version) writes
	// nothing, so announces nothing.
	stale := p.Member
	stale.Name, stale.Version = "Renamed", p.Member.Version+5
	ev := audit.Event{AccountID: p.AccountID(), ActorID: p.Member.ID, Action: "member.update", TargetType: "member", TargetID: p.Member.ID,
		Before: json.RawMessage(`{"status":"active"}`), After: json.RawMessage(`{"status":"active","name":"Renamed"}`)}
	if _, err := st.UpdateMember(ctx, stale, ev); !errors.Is(err, team.ErrStaleVersion) {
		t.Fatalf("stale update: %v", err)
	}
	page, err := (&events.Feed{Store: st, Settle: -time.Hour}).List(ctx, p, events.FeedQuery{})
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("a failed change announced %v (%v)", types(page.Items), err)
	}
}

func TestCatalogueIsTheOpenAPIDocuments(t *testing.T) {
	var doc struct {
		Webhooks   map[string]any `json:"webhooks"`
		Components struct {
			Schemas map[string]struct {
				Enum []string `json:"enum"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openapi.Spec(), &doc); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ty := range events.Types {
		names = append(names, ty.Name)
		if _, ok := doc.Webhooks[ty.Name]; !ok {
			t.Errorf("the OpenAPI document's webhooks lack %s", ty.Name)
		}
	}
	if got := doc.Components.Schemas["EventType"].Enum; !slices.Equal(got, names) {
		t.Errorf("EventType enum %v, want the catalogue %v", got, names)
	}
	if len(doc.Webhooks) != len(names) {
		t.Errorf("the OpenAPI document has %d webhooks, the catalogue %d types", len(doc.Webhooks), len(names))
	}
}

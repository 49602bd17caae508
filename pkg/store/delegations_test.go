package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/documents"
	"github.com/stewardhq/steward/pkg/rbac"
	. "github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

func delegationEv(account, action string) audit.Event {
	return audit.Event{AccountID: account, Action: action, TargetType: "delegation"}
}

func putDelegation(t *testing.T, s *Store, account, member, delegate string, from, until time.Time, prev *team.Delegation) team.Delegation {
	t.Helper()
	d := team.Delegation{AccountID: account, MemberID: member, DelegateID: delegate, From: from, Until: until, Version: 1, CreatedAt: from, UpdatedAt: from}
	if prev != nil {
		d.Version = prev.Version + 1
	}
	if err := s.PutDelegation(context.Background(), d, prev, delegationEv(account, "delegation.put")); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDelegationWindowIsHalfOpen: a delegation applies from its from
// (inclusive) until its until (exclusive); before and after, the member
// stands for themselves. Chains are not followed, a delegate who is no
// longer active stands in for nobody, and the reverse entries follow
// every change.
func TestDelegationWindowIsHalfOpen(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	account, ms := seedAccount(t, s, 4)
	m1, m2, m3 := ms[1].ID, ms[2].ID, ms[3].ID
	from := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	until := from.Add(14 * 24 * time.Hour)
	d := putDelegation(t, s, account, m1, m2, from, until, nil)

	for _, c := range []struct {
		at   time.Time
		want bool
	}{
		{from.Add(-time.Nanosecond), false}, {from, true}, {until.Add(-time.Nanosecond), true}, {until, false}, {until.Add(time.Hour), false},
	} {
		id, ok, err := s.ActiveDelegate(ctx, account, m1, c.at)
		if err != nil || ok != c.want || (ok && id != m2) {
			t.Errorf("at %s: delegate %q, %v (%v), want %v", c.at, id, ok, err, c.want)
		}
		got, err := s.Delegators(ctx, account, m2, c.at)
		if err != nil || (len(got) == 1) != c.want {
			t.Errorf("at %s: delegators of m2 %v (%v), want active %v", c.at, got, err, c.want)
		}
	}
	if _, ok, _ := s.ActiveDelegate(ctx, account, m2, from); ok {
		t.Fatal("the delegate has a delegate of their own")
	}

	// No chains: m2's own delegation to m3 does not pass m1's on.
	putDelegation(t, s, account, m2, m3, from, until, nil)
	if id, ok, err := s.ActiveDelegate(ctx, account, m1, from); err != nil || !ok || id != m2 {
		t.Fatalf("m1's delegate with m2 away: %q %v %v", id, ok, err)
	}
	if got, _ := s.Delegators(ctx, account, m3, from); !slices.Equal(got, []string{m2}) {
		t.Fatalf("delegators of m3 %v, want m2 only", got)
	}

	// A second delegation needs the first as read.
	if err := s.PutDelegation(ctx, d, nil, delegationEv(account, "delegation.put")); !errors.Is(err, team.ErrDelegationChanged) {
		t.Fatalf("a second delegation over the first: %v", err)
	}
	moved := putDelegation(t, s, account, m1, m3, from, until, &d)
	if got, _ := s.Delegators(ctx, account, m2, from); len(got) != 0 {
		t.Fatalf("the previous delegate still stands in for %v", got)
	}
	if got, _ := s.Delegators(ctx, account, m3, from); !slices.Contains(got, m1) {
		t.Fatalf("delegators of m3 %v, want m1 among them", got)
	}
	if err := s.DeleteDelegation(ctx, d, delegationEv(account, "delegation.delete")); !errors.Is(err, team.ErrDelegationChanged) {
		t.Fatalf("removing a stale read: %v", err)
	}

	// A suspended delegate stands in for nobody, and cannot be named.
	sus := ms[3]
	sus.Status = rbac.StatusSuspended
	if _, err := s.UpdateMember(ctx, sus, audit.Event{AccountID: account, Action: "member.suspend", TargetType: "member", TargetID: sus.ID}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.ActiveDelegate(ctx, account, m1, from); ok {
		t.Fatal("a suspended delegate stands in")
	}
	x := team.Delegation{AccountID: account, MemberID: ms[4].ID, DelegateID: m3, From: from, Until: until, Version: 1}
	if err := s.PutDelegation(ctx, x, nil, delegationEv(account, "delegation.put")); !errors.Is(err, team.ErrDelegateNotActive) {
		t.Fatalf("naming a suspended delegate: %v", err)
	}
	// Another account's member is no member here.
	other, oms := seedAccount(t, s, 1)
	_ = other
	x.DelegateID = oms[1].ID
	if err := s.PutDelegation(ctx, x, nil, delegationEv(account, "delegation.put")); !errors.Is(err, team.ErrDelegateNotActive) {
		t.Fatalf("naming another account's member: %v", err)
	}

	if err := s.DeleteDelegation(ctx, moved, delegationEv(account, "delegation.delete")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetDelegation(ctx, account, m1); !errors.Is(err, team.ErrDelegationNotFound) {
		t.Fatalf("removed delegation: %v", err)
	}
	if got, _ := s.Delegators(ctx, account, m3, from); slices.Contains(got, m1) {
		t.Fatalf("a removed delegation still lists m1: %v", got)
	}
}

// TestDelegateVotesOncePerLevel: one person, one vote, enforced in the
// decision's transaction: a delegate who is also awaited at the level
// casts either their own vote or one vote on behalf of one member; a vote
// on behalf rests on the member and the delegation as read.
func TestDelegateVotesOncePerLevel(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	account, ms := seedAccount(t, s, 4)
	dg, m1, m2, req := ms[1], ms[2], ms[3], ms[4]
	now := time.Now().UTC()
	d1 := putDelegation(t, s, account, m1.ID, dg.ID, now.Add(-time.Hour), now.Add(time.Hour), nil)
	d2 := putDelegation(t, s, account, m2.ID, dg.ID, now.Add(-time.Hour), now.Add(time.Hour), nil)
	seed := &approvalSeed{t: t, s: s, account: account, now: now}
	approve := string(documents.RequestApproved)
	onBehalf := func(r documents.ApprovalRequest, m team.Member, d team.Delegation) error {
		return s.RecordDecisionOnBehalf(ctx, account, documents.ApprovalDecision{
			RequestID: r.ID, Level: 1, Approver: m.ID, MemberID: m.ID, Name: m.Name, Outcome: approve, DecidedAt: now,
			DelegateID: dg.ID, DelegateName: dg.Name,
		}, 3, nil, OnBehalf{MemberVersion: m.Version, DelegationVersion: d.Version}, seed.ev("approval.decide"))
	}
	own := func(r documents.ApprovalRequest) error {
		return s.RecordDecision(ctx, account, documents.ApprovalDecision{
			RequestID: r.ID, Level: 1, Approver: dg.ID, MemberID: dg.ID, Outcome: approve, DecidedAt: now,
		}, 3, nil, seed.ev("approval.decide"))
	}

	r := seed.request(req.ID, dg.ID, m1.ID, m2.ID)
	if err := onBehalf(r, m1, d1); err != nil {
		t.Fatal(err)
	}
	if err := onBehalf(r, m2, d2); !errors.Is(err, documents.ErrAlreadyDecided) {
		t.Fatalf("a second vote on behalf: %v", err)
	}
	if err := own(r); !errors.Is(err, documents.ErrAlreadyDecided) {
		t.Fatalf("an own vote after one on behalf: %v", err)
	}
	ds, err := s.ListDecisions(ctx, account, r.ID)
	if err != nil || len(ds) != 1 || ds[0].MemberID != m1.ID || ds[0].DelegateID != dg.ID || ds[0].Voter() != dg.ID {
		t.Fatalf("decisions %+v (%v)", ds, err)
	}
	got, _ := s.GetApprovalRequest(ctx, account, r.ID)
	if got.Approvals != 1 || got.DecidedBy != dg.Name+" on behalf of "+m1.Name {
		t.Fatalf("request after the vote: approvals %d, decidedBy %q", got.Approvals, got.DecidedBy)
	}

	r2 := seed.request(req.ID, dg.ID, m1.ID)
	if err := own(r2); err != nil {
		t.Fatal(err)
	}
	if err := onBehalf(r2, m1, d1); !errors.Is(err, documents.ErrAlreadyDecided) {
		t.Fatalf("a vote on behalf after an own vote: %v", err)
	}

	// The vote rests on the member and the delegation as read.
	r3 := seed.request(req.ID, m1.ID, m2.ID)
	stale := m2
	stale.Version++
	if err := onBehalf(r3, stale, d2); !errors.Is(err, ErrDelegationLost) {
		t.Fatalf("on behalf of a changed member: %v", err)
	}
	staleD := d1
	staleD.Version++
	if err := onBehalf(r3, m1, staleD); !errors.Is(err, ErrDelegationLost) {
		t.Fatalf("on a changed delegation: %v", err)
	}
	if ds, _ := s.ListDecisions(ctx, account, r3.ID); len(ds) != 0 {
		t.Fatalf("a refused vote wrote %+v", ds)
	}

	// Ending the request stamps the vote marker with the decisions.
	seed.finish(r, documents.RequestApproved, rbac.DocApproved)
	if ttl := s.DecisionTTLForTest(t, account, r.ID, 1, m1.ID); ttl == 0 {
		t.Fatal("the decision has no TTL after the end")
	}
}

// TestWaitingForMeIncludesMyDelegatorsItems: "waiting for me" with the
// members one stands in for lists their awaited requests too, newest
// first, each once, page by page.
func TestWaitingForMeIncludesMyDelegatorsItems(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	account := NewID("acct")
	seed := &approvalSeed{t: t, s: s, account: account, now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	const me, m1, m2, other, requester = "mem_me", "mem_1", "mem_2", "mem_other", "mem_req"
	var want []documents.ApprovalRequest
	for i := range 9 {
		switch i % 4 {
		case 0:
			want = append(want, seed.request(requester, me))
		case 1:
			want = append(want, seed.request(requester, m1))
		case 2:
			want = append(want, seed.request(requester, me, m1, m2)) // once
		default:
			seed.request(requester, other)
		}
	}
	f := RequestFilter{AwaitingID: me, AwaitingFor: []string{m1, m2}, Status: documents.RequestPending}
	var all []string
	cursor := ""
	for pages := 0; ; pages++ {
		page, err := s.ListApprovalRequests(ctx, account, f, 2, cursor)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) > 2 || pages > 10 {
			t.Fatalf("page %d: %d items", pages, len(page.Items))
		}
		all = append(all, ids(page.Items)...)
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	if w := newest(want); !slices.Equal(all, w) {
		t.Fatalf("waiting for me and my delegators: %v, want %v", all, w)
	}
	// Without the delegators: mine only.
	page, err := s.ListApprovalRequests(ctx, account, RequestFilter{AwaitingID: me}, 50, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range page.Items {
		if !slices.ContainsFunc(r.Asked, func(a documents.Approver) bool { return a.MemberID == me }) {
			t.Fatalf("request %s does not await me", r.ID)
		}
	}
}

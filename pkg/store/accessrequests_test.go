package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/rbac"
	. "github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// TestAccessRequestPendingGuard: one pending request per member, role and
// scope; an ended one frees the slot, and so does one whose deadline
// passed with its pending item left behind. A request awaiting members
// lists for them and for its requester, newest first.
func TestAccessRequestPendingGuard(t *testing.T) {
	s, _ := meteredStore(t)
	ctx := context.Background()
	account := NewID("a")
	ev := audit.Event{AccountID: account, Action: "access_request.test"}
	now := time.Now().UTC().Truncate(time.Millisecond)
	mk := func(at time.Time, decideBy time.Time) team.AccessRequest {
		return team.AccessRequest{
			ID: NewAccessRequestID(at), AccountID: account, RequesterID: "m_req", Role: "team_member", Scope: rbac.StoreScope("s1"),
			Reason: "r", Status: team.AccessPending, DecideBy: decideBy, CreatedAt: at, UpdatedAt: at,
		}
	}
	first := mk(now, now.Add(time.Hour))
	if err := s.CreateAccessRequest(ctx, first, ev); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccessRequest(ctx, mk(now.Add(time.Millisecond), now.Add(time.Hour)), ev); !errors.Is(err, team.ErrAccessRequestDuplicate) {
		t.Fatalf("second pending request: %v, want ErrAccessRequestDuplicate", err)
	}
	if err := s.AwaitAccessRequest(ctx, first, "task", []team.AccessApprover{{MemberID: "m_a", Name: "A", AskedAt: now}}, ev); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"m_req", "m_a"} {
		page, err := s.ListAccessRequests(ctx, account, who, "", 10, "")
		if err != nil || len(page.Items) != 1 || page.Items[0].ID != first.ID || page.Items[0].TaskToken != "task" {
			t.Fatalf("%s lists %+v, %v", who, page.Items, err)
		}
	}
	if page, err := s.ListAccessRequests(ctx, account, "m_a", "requester", 10, ""); err != nil || len(page.Items) != 0 {
		t.Fatalf("m_a as requester lists %+v, %v", page.Items, err)
	}
	ended := first
	ended.Status, ended.FinishedAt = team.AccessCancelled, now
	if err := s.FinishAccessRequest(ctx, ended, ev); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishAccessRequest(ctx, ended, ev); !errors.Is(err, team.ErrAccessRequestNotPending) {
		t.Fatalf("ending twice: %v", err)
	}
	// Free again; this one's pending item outlives its deadline (as if a
	// crash kept it), and a later request is not blocked by it.
	stale := mk(now.Add(2*time.Millisecond), now.Add(-time.Minute))
	if err := s.CreateAccessRequest(ctx, stale, ev); err != nil {
		t.Fatal(err)
	}
	next := mk(now.Add(3*time.Millisecond), now.Add(time.Hour))
	if err := s.CreateAccessRequest(ctx, next, ev); err != nil {
		t.Fatalf("a request after a stale pending item: %v", err)
	}
	// Ending the stale one leaves the newer request's pending item alone.
	stale.Status, stale.FinishedAt = team.AccessExpired, now
	if err := s.FinishAccessRequest(ctx, stale, ev); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccessRequest(ctx, mk(now.Add(4*time.Millisecond), now.Add(time.Hour)), ev); !errors.Is(err, team.ErrAccessRequestDuplicate) {
		t.Fatalf("the newer request's slot: %v, want ErrAccessRequestDuplicate", err)
	}
	got, err := s.GetAccessRequest(ctx, account, stale.ID)
	if err != nil || got.Status != team.AccessExpired || got.FinishedAt.IsZero() {
		t.Fatalf("stale request %+v, %v", got, err)
	}
}

// TestAccessAwaitingEntries: "to decide" reads only pending requests
// (the awaiting entries go when a request ends), pages full with a
// cursor, merges the members one stands in for (For says whom), and an
// approval needs the requester active.
func TestAccessAwaitingEntries(t *testing.T) {
	s, _ := meteredStore(t)
	ctx := context.Background()
	account := NewID("a")
	ev := audit.Event{AccountID: account, Action: "access_request.test"}
	now := time.Now().UTC().Truncate(time.Millisecond)
	var rs []team.AccessRequest
	for i, asked := range [][]string{{"m_a"}, {"m_a", "m_b"}, {"m_b"}, {"m_a"}} {
		at := now.Add(time.Duration(i) * time.Millisecond)
		r := team.AccessRequest{
			ID: NewAccessRequestID(at), AccountID: account, RequesterID: "m_req" + string(rune('0'+i)), Role: "team_member", Scope: rbac.StoreScope("s1"),
			Reason: "r", Status: team.AccessPending, DecideBy: now.Add(time.Hour), CreatedAt: at, UpdatedAt: at,
		}
		if err := s.CreateAccessRequest(ctx, r, ev); err != nil {
			t.Fatal(err)
		}
		var as []team.AccessApprover
		for _, m := range asked {
			as = append(as, team.AccessApprover{MemberID: m, AskedAt: now})
		}
		if err := s.AwaitAccessRequest(ctx, r, "task", as, ev); err != nil {
			t.Fatal(err)
		}
		r.Asked = as
		rs = append(rs, r)
	}
	// The newest, asking m_a, is denied: its entry goes.
	denied := rs[3]
	denied.Status, denied.FinishedAt, denied.DeciderID = team.AccessDenied, now, "m_a"
	if _, err := s.DecideAccessRequest(ctx, denied, nil, nil, ev); err != nil {
		t.Fatal(err)
	}
	ids := func(p Page[AwaitedAccess]) (out []string) {
		for _, a := range p.Items {
			out = append(out, a.Request.ID)
		}
		return out
	}
	p1, err := s.ListAccessAwaiting(ctx, account, "m_a", nil, 1, "")
	if err != nil || len(p1.Items) != 1 || p1.Items[0].Request.ID != rs[1].ID || p1.Next == "" {
		t.Fatalf("m_a's first page %v next %q, %v; want %s and a cursor", ids(p1), p1.Next, err, rs[1].ID)
	}
	p2, err := s.ListAccessAwaiting(ctx, account, "m_a", nil, 1, p1.Next)
	if err != nil || len(p2.Items) != 1 || p2.Items[0].Request.ID != rs[0].ID {
		t.Fatalf("m_a's second page %v, %v; want %s", ids(p2), err, rs[0].ID)
	}
	// m_c stands in for m_b: m_b's requests, newest first, each once.
	all, err := s.ListAccessAwaiting(ctx, account, "m_c", []string{"m_b"}, 10, "")
	if err != nil || len(all.Items) != 2 || all.Items[0].Request.ID != rs[2].ID || all.Items[1].Request.ID != rs[1].ID || all.Next != "" {
		t.Fatalf("m_c for m_b lists %v next %q, %v", ids(all), all.Next, err)
	}
	if f := all.Items[0].For; len(f) != 1 || f[0] != "m_b" {
		t.Fatalf("For %v, want [m_b]", f)
	}
	// A suspended requester (or one without a member item) is not granted.
	approved := rs[0]
	approved.Status, approved.FinishedAt, approved.DeciderID = team.AccessApproved, now, "m_a"
	if _, err := s.DecideAccessRequest(ctx, approved, nil, nil, ev); !errors.Is(err, ErrRequesterNotActive) {
		t.Fatalf("approval for a requester without an active item: %v, want ErrRequesterNotActive", err)
	}
	suspended := team.Member{ID: approved.RequesterID, AccountID: account, Status: rbac.StatusSuspended, Version: 1}
	if _, err := s.DecideAccessRequest(ctx, approved, &suspended, nil, ev); !errors.Is(err, ErrRequesterNotActive) {
		t.Fatalf("approval for a suspended requester: %v, want ErrRequesterNotActive", err)
	}
}

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

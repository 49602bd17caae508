package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/rbac"
	. "github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// askedIDs lists who r asks.
func askedIDs(r team.AccessRequest) []string {
	var out []string
	for _, a := range r.Asked {
		out = append(out, a.MemberID)
	}
	slices.Sort(out)
	return out
}

// TestOffboardMemberHandsAccessRequestsOver: the leaver's pending access
// requests to decide are its AccessDuties; the handover moves one to the
// reassignee (its entry and the asked list), drops an Ineligible one, and
// deletes the leaver's links, in the one transaction; a request decided
// after the read fails it all (ErrDutiesChanged).
func TestOffboardMemberHandsAccessRequestsOver(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	account, ms := seedAccount(t, s, 3)
	requester, leaver, to, other := ms[0], ms[1], ms[2], ms[3]
	ev := audit.Event{AccountID: account, Action: "access_request.test"}
	now := time.Now().UTC().Truncate(time.Millisecond)
	mk := func(i int, role string) team.AccessRequest {
		at := now.Add(time.Duration(i) * time.Millisecond)
		r := team.AccessRequest{
			ID: NewAccessRequestID(at), AccountID: account, RequesterID: requester.ID, Role: role, Scope: rbac.StoreScope("s1"),
			Reason: "r", Status: team.AccessPending, DecideBy: now.Add(time.Hour), CreatedAt: at, UpdatedAt: at,
		}
		if err := s.CreateAccessRequest(ctx, r, ev); err != nil {
			t.Fatal(err)
		}
		if err := s.AwaitAccessRequest(ctx, r, "task", []team.AccessApprover{{MemberID: leaver.ID, AskedAt: now}, {MemberID: other.ID, AskedAt: now}}, ev); err != nil {
			t.Fatal(err)
		}
		return r
	}
	moved, dropped, raced := mk(0, "team_member"), mk(1, "manager"), mk(2, "viewer")
	link := Token{Hash: NewID("h"), Kind: TokenAccessRequest, AccountID: account, SubjectID: moved.ID + ":" + leaver.ID, ExpiresAt: now.Add(time.Hour),
		Data: map[string]string{"request": moved.ID, "memberId": leaver.ID}}
	if err := s.IssueLinkTokens(ctx, []Token{link}); err != nil {
		t.Fatal(err)
	}
	duties, err := s.AccessDuties(ctx, account, leaver.ID)
	if err != nil || len(duties) != 3 || duties[0].RequestID != moved.ID || duties[0].Kind != DutyAccessRequest || duties[0].Level() != 1 {
		t.Fatalf("access duties %+v, %v", duties, err)
	}
	if d, _ := s.AccessDuties(ctx, account, requester.ID); len(d) != 0 {
		t.Fatalf("the requester has duties %+v", d)
	}
	duties[1].Ineligible = true
	out := leaver
	out.Status = rbac.StatusInactive
	mev := audit.Event{AccountID: account, Action: "member.deactivate", TargetType: "member", TargetID: leaver.ID}

	// A decision after the read fails the whole handover.
	dec := raced
	dec.Status, dec.DeciderID, dec.FinishedAt = team.AccessDenied, other.ID, now
	if _, err := s.DecideAccessRequest(ctx, dec, nil, nil, ev); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.OffboardMember(ctx, out, &Handover{From: leaver.ID, To: to, Duties: duties}, mev); !errors.Is(err, ErrDutiesChanged) {
		t.Fatalf("handover over a decided request: %v, want ErrDutiesChanged", err)
	}
	if got, _ := s.GetMember(ctx, account, leaver.ID); got.Status != rbac.StatusActive {
		t.Fatalf("the failed handover wrote the member: %s", got.Status)
	}

	duties, err = s.AccessDuties(ctx, account, leaver.ID)
	if err != nil || len(duties) != 2 {
		t.Fatalf("access duties after the decision %+v, %v", duties, err)
	}
	duties[1].Ineligible = true
	_, handed, err := s.OffboardMember(ctx, out, &Handover{From: leaver.ID, To: to, Duties: duties}, mev)
	if err != nil {
		t.Fatal(err)
	}
	if len(handed) != 2 || !handed[0].Moved || handed[1].Moved || handed[0].RequestID != moved.ID || handed[1].RequestID != dropped.ID {
		t.Fatalf("handed %+v", handed)
	}
	want := []string{other.ID, to.ID}
	slices.Sort(want)
	if r, _ := s.GetAccessRequest(ctx, account, moved.ID); !slices.Equal(askedIDs(r), want) {
		t.Fatalf("moved asks %v, want %v", askedIDs(r), want)
	}
	if r, _ := s.GetAccessRequest(ctx, account, dropped.ID); !slices.Equal(askedIDs(r), []string{other.ID}) {
		t.Fatalf("dropped asks %v", askedIDs(r))
	}
	if d, _ := s.AccessDuties(ctx, account, leaver.ID); len(d) != 0 {
		t.Fatalf("the leaver keeps duties %+v", d)
	}
	if d, _ := s.AccessDuties(ctx, account, to.ID); len(d) != 1 || d[0].RequestID != moved.ID {
		t.Fatalf("the reassignee's duties %+v", d)
	}
	if _, err := s.GetToken(ctx, link.Hash); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("the leaver's link: %v, want ErrTokenInvalid", err)
	}
}

// TestDecideAccessRequestOnBehalf: a delegate's decision commits only
// while the member's item and delegation are as read, and records both.
func TestDecideAccessRequestOnBehalf(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	account, ms := seedAccount(t, s, 2)
	requester, member, delegate := ms[0], ms[1], ms[2]
	ev := audit.Event{AccountID: account, Action: "access_request.test"}
	now := time.Now().UTC().Truncate(time.Millisecond)
	r := team.AccessRequest{
		ID: NewAccessRequestID(now), AccountID: account, RequesterID: requester.ID, Role: "team_member", Scope: rbac.StoreScope("s1"),
		Reason: "r", Status: team.AccessPending, DecideBy: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now,
	}
	if err := s.CreateAccessRequest(ctx, r, ev); err != nil {
		t.Fatal(err)
	}
	d := team.Delegation{AccountID: account, MemberID: member.ID, DelegateID: delegate.ID, From: now.Add(-time.Minute), Until: now.Add(time.Hour), Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := s.PutDelegation(ctx, d, nil, ev); err != nil {
		t.Fatal(err)
	}
	dec := r
	dec.Status, dec.FinishedAt = team.AccessDenied, now
	dec.DeciderID, dec.DeciderName, dec.OnBehalfOfID, dec.OnBehalfOfName = delegate.ID, "Dan", member.ID, "Mia"
	if _, err := s.DecideAccessRequestOnBehalf(ctx, dec, nil, nil, OnBehalf{MemberVersion: member.Version, DelegationVersion: 2}, ev); !errors.Is(err, ErrDelegationLost) {
		t.Fatalf("a delegation changed since: %v, want ErrDelegationLost", err)
	}
	if _, err := s.DecideAccessRequestOnBehalf(ctx, dec, nil, nil, OnBehalf{MemberVersion: member.Version + 1, DelegationVersion: 1}, ev); !errors.Is(err, ErrDelegationLost) {
		t.Fatalf("a member changed since: %v, want ErrDelegationLost", err)
	}
	if _, err := s.DecideAccessRequestOnBehalf(ctx, dec, nil, nil, OnBehalf{MemberVersion: member.Version, DelegationVersion: 1}, ev); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAccessRequest(ctx, account, r.ID)
	if err != nil || got.Status != team.AccessDenied || got.DeciderID != delegate.ID || got.OnBehalfOfID != member.ID || got.OnBehalfOfName != "Mia" {
		t.Fatalf("decided %+v, %v", got, err)
	}
}

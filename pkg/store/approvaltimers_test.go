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
)

// askedAtLevel lists the member ids asked at level of r.
func askedAtLevel(r documents.ApprovalRequest, level int) []string {
	var ids []string
	for _, a := range r.Asked {
		if a.Level == level {
			ids = append(ids, a.MemberID)
		}
	}
	slices.Sort(ids)
	return ids
}

// TestEscalateLevelDoesNotUndoAHandover: the escalation writes the asked
// list it built from the request as read; a hand-over that commits in
// between changes the request, and the escalation is refused
// (ErrRequestChanged) instead of putting the leaver back and dropping
// the reassignee. Built again over the request read again, it keeps the
// hand-over.
func TestEscalateLevelDoesNotUndoAHandover(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	account, ms := seedAccount(t, s, 4)
	requester, leaver, other, to, admin := ms[0], ms[1], ms[2], ms[3], ms[4]
	seed := &approvalSeed{t: t, s: s, account: account, now: time.Now().UTC()}
	req := seed.request(requester.ID, leaver.ID, other.ID)

	// The Tick reads the request and builds its escalation.
	read, err := s.GetApprovalRequest(ctx, account, req.ID)
	if err != nil {
		t.Fatal(err)
	}
	escalation := func(r documents.ApprovalRequest) []documents.Approver {
		return append(slices.Clone(r.Asked), documents.Approver{Level: 1, MemberID: admin.ID, Email: admin.Email, AskedAt: time.Now(), Escalated: true})
	}
	ev := audit.Event{AccountID: account, Action: "approval.escalated"}

	// Meanwhile the leaver's seat is handed over.
	duties, err := s.Duties(ctx, account, leaver.ID)
	if err != nil || len(duties) != 1 {
		t.Fatalf("duties %+v, %v", duties, err)
	}
	out := leaver
	out.Status = rbac.StatusSuspended
	if _, _, err := s.OffboardMember(ctx, out, &Handover{From: leaver.ID, To: to, Duties: duties},
		audit.Event{AccountID: account, Action: "member.suspend", TargetType: "member", TargetID: leaver.ID}); err != nil {
		t.Fatal(err)
	}

	if err := s.EscalateLevel(ctx, read, 1, escalation(read), []string{admin.ID}, ev); !errors.Is(err, ErrRequestChanged) {
		t.Fatalf("escalation over a request read before the hand-over: %v, want ErrRequestChanged", err)
	}
	cur, err := s.GetApprovalRequest(ctx, account, req.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{other.ID, to.ID}
	slices.Sort(want)
	if got := askedAtLevel(cur, 1); !slices.Equal(got, want) || cur.EscalatedLevel != 0 {
		t.Fatalf("after the refused escalation: asked %v (want %v), escalated level %d", got, want, cur.EscalatedLevel)
	}

	// Read again, built again: the hand-over stays.
	if err := s.EscalateLevel(ctx, cur, 1, escalation(cur), []string{admin.ID}, ev); err != nil {
		t.Fatal(err)
	}
	after, err := s.GetApprovalRequest(ctx, account, req.ID)
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, admin.ID)
	slices.Sort(want)
	if got := askedAtLevel(after, 1); !slices.Equal(got, want) || after.EscalatedLevel != 1 {
		t.Errorf("after the escalation: asked %v (want %v), escalated level %d", got, want, after.EscalatedLevel)
	}
	awaiting := slices.Clone(after.Awaiting)
	slices.Sort(awaiting)
	if !slices.Equal(awaiting, want) {
		t.Errorf("awaiting %v, want %v", awaiting, want)
	}
	// Once escalated, a stale escalation is told apart.
	if err := s.EscalateLevel(ctx, cur, 1, escalation(cur), []string{admin.ID}, ev); !errors.Is(err, ErrAlreadyEscalated) {
		t.Errorf("second escalation: %v, want ErrAlreadyEscalated", err)
	}
}

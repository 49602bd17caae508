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

// awaitingOfMember lists the requests "waiting for" member.
func awaitingOfMember(t *testing.T, s *Store, account, member string) []string {
	t.Helper()
	page, err := s.ListApprovalRequests(context.Background(), account, RequestFilter{AwaitingID: member}, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range page.Items {
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestOffboardMemberHandsSeatsOverInOneTransaction(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	account, ms := seedAccount(t, s, 3)
	leaver, to, other := ms[1], ms[2], ms[3]
	seed := &approvalSeed{t: t, s: s, account: account, now: time.Now().UTC()}
	moved := seed.request(ms[0].ID, leaver.ID, other.ID) // the seat moves to `to`
	already := seed.request(ms[0].ID, leaver.ID, to.ID)  // `to` is awaited already: the seat drops
	decided := seed.request(ms[0].ID, leaver.ID, to.ID)  // `to` decided there: the seat drops
	raced := seed.request(ms[0].ID, leaver.ID, other.ID) // a decision lands after the read
	if err := s.RecordDecision(ctx, account, documents.ApprovalDecision{RequestID: decided.ID, Level: 1, Approver: to.ID, MemberID: to.ID,
		Outcome: string(documents.RequestApproved), DecidedAt: time.Now()}, 1, nil, audit.Event{AccountID: account, Action: "approval.decide"}); err != nil {
		t.Fatal(err)
	}
	// The leaver's link at the moved seat.
	link := Token{Hash: NewID("h"), Kind: TokenApproval, AccountID: account, SubjectID: moved.ID + ":1:" + leaver.ID, ExpiresAt: time.Now().Add(time.Hour),
		Data: map[string]string{"request": moved.ID, "level": "1", "approver": leaver.ID, "memberId": leaver.ID}}
	if err := s.IssueLinkTokens(ctx, []Token{link}); err != nil {
		t.Fatal(err)
	}

	duties, err := s.Duties(ctx, account, leaver.ID)
	if err != nil || len(duties) != 4 {
		t.Fatalf("duties %+v, %v", duties, err)
	}
	// A decision after the read fails the whole handover: nothing moves.
	if err := s.RecordDecision(ctx, account, documents.ApprovalDecision{RequestID: raced.ID, Level: 1, Approver: other.ID, MemberID: other.ID,
		Outcome: string(documents.RequestDenied), DecidedAt: time.Now()}, 1, nil, audit.Event{AccountID: account, Action: "approval.decide"}); err != nil {
		t.Fatal(err)
	}
	out := leaver
	out.Status = rbac.StatusSuspended
	ev := audit.Event{AccountID: account, Action: "member.suspend", TargetType: "member", TargetID: leaver.ID}
	if _, _, err := s.OffboardMember(ctx, out, &Handover{From: leaver.ID, To: to, Duties: duties}, ev); !errors.Is(err, ErrDutiesChanged) {
		t.Fatalf("handover over a changed request: %v, want ErrDutiesChanged", err)
	}
	if got, _ := s.GetMember(ctx, account, leaver.ID); got.Status != rbac.StatusActive {
		t.Fatalf("the failed handover wrote the member: %s", got.Status)
	}
	if got := awaitingOfMember(t, s, account, leaver.ID); len(got) != 4 {
		t.Fatalf("the failed handover moved seats: leaver awaited at %v", got)
	}

	// Read again: the raced request's level is closed (a denial) but
	// still awaits the leaver until the workflow ends it; it drops or
	// moves like any other.
	if duties, err = s.Duties(ctx, account, leaver.ID); err != nil {
		t.Fatal(err)
	}
	saved, handed, err := s.OffboardMember(ctx, out, &Handover{From: leaver.ID, To: to, Duties: duties}, ev)
	if err != nil {
		t.Fatal(err)
	}
	if saved.Status != rbac.StatusSuspended || saved.Version != leaver.Version+1 {
		t.Errorf("saved %s v%d", saved.Status, saved.Version)
	}
	movedTo := map[string]bool{}
	for _, h := range handed {
		movedTo[h.RequestID] = h.Moved
		if h.Level != 1 || h.Kind != DutyApproval {
			t.Errorf("handed %+v", h)
		}
	}
	if want := map[string]bool{moved.ID: true, already.ID: false, decided.ID: false, raced.ID: true}; !mapsEqual(movedTo, want) {
		t.Errorf("handed %v, want %v", movedTo, want)
	}
	if got := awaitingOfMember(t, s, account, leaver.ID); len(got) != 0 {
		t.Errorf("the leaver is still awaited at %v", got)
	}
	want := []string{moved.ID, already.ID, raced.ID}
	slices.Sort(want)
	if got := awaitingOfMember(t, s, account, to.ID); !slices.Equal(got, want) {
		t.Errorf("reassignee awaited at %v, want %v", got, want)
	}
	r, err := s.GetApprovalRequest(ctx, account, moved.ID)
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	for _, a := range r.Asked {
		asked = append(asked, a.MemberID)
	}
	if slices.Contains(asked, leaver.ID) || !slices.Contains(asked, to.ID) || !slices.Contains(asked, other.ID) || r.Version != versionOf(duties, moved.ID)+1 {
		t.Errorf("moved request asks %v at v%d", asked, r.Version)
	}
	if _, err := s.GetToken(ctx, link.Hash); !errors.Is(err, ErrTokenInvalid) {
		t.Errorf("the leaver's link survived the handover: %v", err)
	}
	// One person, one vote: the dropped seat leaves the reassignee once.
	r, _ = s.GetApprovalRequest(ctx, account, already.ID)
	n := 0
	for _, a := range r.Asked {
		if a.MemberID == to.ID {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the reassignee is asked %d times at the dropped seat", n)
	}
}

func mapsEqual(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestOffboardMemberRefusesMoreDutiesThanATransactionHolds(t *testing.T) {
	s := newTestStore(t)
	account, ms := seedAccount(t, s, 2)
	out := ms[1]
	out.Status = rbac.StatusInactive
	duties := make([]Duty, MaxHandoverDuties+1)
	_, _, err := s.OffboardMember(context.Background(), out, &Handover{From: ms[1].ID, To: ms[2], Duties: duties}, audit.Event{AccountID: account, Action: "member.deactivate"})
	if !errors.Is(err, ErrTooManyDuties) {
		t.Fatalf("%d duties: %v, want ErrTooManyDuties", len(duties), err)
	}
	if got, _ := s.GetMember(context.Background(), account, ms[1].ID); got.Status != rbac.StatusActive {
		t.Fatalf("member written: %s", got.Status)
	}
}

func versionOf(ds []Duty, request string) int64 {
	for _, d := range ds {
		if d.RequestID == request {
			return d.Request.Version
		}
	}
	return -1
}

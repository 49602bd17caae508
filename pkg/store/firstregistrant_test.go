package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/rbac"
	. "github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// Self-registrants confirming at once, each claiming the first
// registrant's place: exactly one wins, the others fail with
// ErrFirstRegistrantTaken and write nothing (their tokens stay usable),
// and a confirmation without the claim then succeeds.
func TestFirstRegistrantClaimedOnce(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	account, _ := seedAccount(t, s, 0)
	if id, err := s.FirstRegistrant(ctx, account); err != nil || id != "" {
		t.Fatalf("a new account's first registrant: %q, %v", id, err)
	}
	now := time.Now().UTC()
	const n = 5
	type joiner struct {
		na   NewAccount
		hash string
	}
	js := make([]joiner, n)
	for i := range js {
		email := NewID("j") + "@example.com"
		tok := Token{Hash: NewID("h"), Kind: TokenJoin, AccountID: account, SubjectID: email, ExpiresAt: now.Add(time.Hour)}
		if err := s.IssuePendingToken(ctx, tok, audit.Event{AccountID: account, ActorID: "system", Action: "member.self_register_requested"}); err != nil {
			t.Fatal(err)
		}
		ident := team.Identity{ID: NewID("i"), Email: email, Version: 1, CreatedAt: now, UpdatedAt: now}
		m := team.Member{ID: NewID("m"), AccountID: account, IdentityID: ident.ID, Email: email, Name: "Joiner", Status: rbac.StatusActive,
			Assignments: []rbac.Assignment{{Role: rbac.RoleTeamMember, Scope: rbac.AccountScope}}, Version: 1, CreatedAt: now, UpdatedAt: now}
		js[i] = joiner{na: NewAccount{Owner: m, Identity: ident, NewIdentity: true, ClaimFirst: true}, hash: tok.Hash}
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range js {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev := audit.Event{AccountID: account, ActorID: js[i].na.Owner.ID, Action: "member.self_register", TargetType: "member", TargetID: js[i].na.Owner.ID}
			errs[i] = s.ConfirmRegistration(ctx, js[i].hash, TokenJoin, js[i].na.Owner.Email, now, js[i].na, ev)
		}()
	}
	wg.Wait()
	winner := ""
	for i, err := range errs {
		switch {
		case err == nil:
			if winner != "" {
				t.Fatalf("two first registrants: %s and %s", winner, js[i].na.Owner.ID)
			}
			winner = js[i].na.Owner.ID
		case errors.Is(err, ErrFirstRegistrantTaken):
			// The loser writes nothing: it joins without the claim.
			na := js[i].na
			na.ClaimFirst = false
			ev := audit.Event{AccountID: account, ActorID: na.Owner.ID, Action: "member.self_register", TargetType: "member", TargetID: na.Owner.ID}
			if err := s.ConfirmRegistration(ctx, js[i].hash, TokenJoin, na.Owner.Email, now, na, ev); err != nil {
				t.Errorf("joiner %d without the claim: %v", i, err)
			}
		default:
			t.Errorf("joiner %d: %v", i, err)
		}
	}
	if winner == "" {
		t.Fatal("nobody became the first registrant")
	}
	if id, err := s.FirstRegistrant(ctx, account); err != nil || id != winner {
		t.Fatalf("first registrant %q (%v), want %q", id, err, winner)
	}
}

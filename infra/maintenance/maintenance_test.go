package maintenance_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/maintenance"
	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/permissions"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// A role deletion left half-done (marked, more holders than one change
// moves) is resumed by the run after StaleAfter, not before, and
// finished; the migration runs once (resumable: a run out of time leaves
// its marker open), moving the members deleted before the move existed.
func TestRunResumesHalfDoneRoleDeletionsAndMigratesOnce(t *testing.T) {
	d := testenv.DynamoDB(t)
	k := make([]byte, store.CursorKeySize)
	_, _ = rand.Read(k)
	st, err := store.New(d.Client, d.Table, k)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now().UTC()
	acct := team.Account{ID: store.NewID("a"), Name: "Shop", Settings: team.DefaultSettings(), Version: 1, CreatedAt: now, UpdatedAt: now}
	ident := team.Identity{ID: store.NewID("i"), Email: store.NewID("owner") + "@example.com", Version: 1, CreatedAt: now, UpdatedAt: now}
	owner := team.Member{ID: store.NewID("m"), AccountID: acct.ID, IdentityID: ident.ID, Email: ident.Email, Name: "Owner",
		Status: rbac.StatusActive, Admin: true, Owner: true, Version: 1, CreatedAt: now, UpdatedAt: now}
	acct.OwnerID = owner.ID
	ev := audit.Event{AccountID: acct.ID, ActorID: owner.ID, Action: "test"}
	if err := st.CreateAccount(ctx, store.NewAccount{Account: acct, Owner: owner, Identity: ident, NewIdentity: true}, ev); err != nil {
		t.Fatal(err)
	}
	buyer := rbac.Role{ID: "buyer", Name: "Buyer", Permissions: []string{"purchases.view"}, ScopeKinds: []rbac.ScopeKind{rbac.ScopeStore}}
	if _, err := st.SaveCustomRoles(ctx, acct.ID, []rbac.Role{buyer}, 0, nil, ev); err != nil {
		t.Fatal(err)
	}
	holders := store.MaxMembersPerRoleChange + 5
	var legacy team.Member
	for i := range holders + 1 {
		m := team.Member{ID: store.NewID("m"), AccountID: acct.ID, Email: store.NewID("u") + "@example.com", Name: "Member",
			Status: rbac.StatusActive, Assignments: []rbac.Assignment{{Role: "buyer", Scope: rbac.StoreScope("s1")}},
			Version: 1, CreatedAt: now, UpdatedAt: now}
		if i == holders {
			m.Assignments = nil
			legacy = m
		}
		if err := st.AddMember(ctx, m, ev); err != nil {
			t.Fatal(err)
		}
	}
	// Deleted the way it was before the move: status deleted in place.
	legacy.Status = rbac.StatusDeleted
	if _, err := st.UpdateMember(ctx, legacy, ev); err != nil {
		t.Fatal(err)
	}
	cr, err := st.GetCustomRoles(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.MarkRoleDeleting(ctx, acct.ID, "buyer", cr, permissions.MembersRemove, "", holders, ev); err != nil {
		t.Fatal(err)
	}

	// The run's clock: real time, moved forward by skip.
	var skip time.Duration
	svc := &maintenance.Service{Store: st, Roles: &permissions.Service{Store: st}, Now: func() time.Time { return time.Now().Add(skip) }}

	// Out of time at once: nothing resumed, the migration not started.
	rep, err := svc.Run(ctx, maintenance.Options{Budget: time.Nanosecond, StaleAfter: time.Hour})
	if err != nil || rep.BackfilledAccounts != 0 || rep.BackfillDone {
		t.Fatalf("run out of time: %+v %v", rep, err)
	}
	// Fresh deletion: left to its caller; the migration runs.
	rep, err = svc.Run(ctx, maintenance.Options{})
	if err != nil || rep.RoleDeletionsSeen != 0 || !rep.BackfillDone || rep.BackfilledAccounts != 1 || rep.MovedDeleted != 1 {
		t.Fatalf("first run: %+v %v", rep, err)
	}
	if cr, err := st.GetCustomRoles(ctx, acct.ID); err != nil || !cr.State("buyer").Deleting {
		t.Fatalf("fresh deletion resumed early: %v", err)
	}
	live, err := st.AllMembers(ctx, acct.ID)
	if err != nil || len(live) != holders+1 {
		t.Fatalf("live members %d (%v), want %d: the legacy deleted one moved", len(live), err, holders+1)
	}

	// Twenty minutes later: resumed and finished; the migration is done.
	skip = 20 * time.Minute
	rep, err = svc.Run(ctx, maintenance.Options{})
	if err != nil || rep.RoleDeletionsSeen != 1 || rep.RoleDeletionsFinished != 1 || rep.BackfilledAccounts != 0 || !rep.BackfillDone {
		t.Fatalf("later run: %+v %v", rep, err)
	}
	cr, err = st.GetCustomRoles(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range cr.Roles {
		if r.ID == "buyer" {
			t.Fatal("role still there")
		}
	}
	left, err := st.MembersWithRole(ctx, acct.ID, "buyer")
	if err != nil || len(left) != 0 {
		t.Fatalf("holders left %d (%v)", len(left), err)
	}
	// Nothing left to find.
	if refs, err := st.RoleDeletionsBefore(ctx, time.Now().Add(skip), 10); err != nil || len(refs) != 0 {
		t.Fatalf("deletions still indexed: %+v %v", refs, err)
	}
}

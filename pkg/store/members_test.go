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

// seedAccount writes an account with its owner and n more active members
// (team members at store:s1), and returns the account id and the members,
// owner first.
func seedAccount(t *testing.T, s *Store, n int) (string, []team.Member) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	acct := team.Account{ID: NewID("a"), Name: "Shop", Settings: team.DefaultSettings(), Version: 1, CreatedAt: now, UpdatedAt: now}
	ident := team.Identity{ID: NewID("i"), Email: NewID("owner") + "@example.com", Version: 1, CreatedAt: now, UpdatedAt: now}
	owner := team.Member{
		ID: NewID("m"), AccountID: acct.ID, IdentityID: ident.ID, Email: ident.Email, Name: "Owner",
		Status: rbac.StatusActive, Admin: true, Owner: true, Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	acct.OwnerID = owner.ID
	if err := s.CreateAccount(ctx, NewAccount{Account: acct, Owner: owner, Identity: ident, NewIdentity: true},
		audit.Event{AccountID: acct.ID, ActorID: owner.ID, Action: "account.create"}); err != nil {
		t.Fatal(err)
	}
	members := []team.Member{owner}
	for range n {
		m := team.Member{
			ID: NewID("m"), AccountID: acct.ID, Email: NewID("u") + "@example.com", Name: "Member",
			Status:      rbac.StatusActive,
			Assignments: []rbac.Assignment{{Role: rbac.RoleTeamMember, Scope: rbac.StoreScope("s1")}},
			Version:     1, CreatedAt: now, UpdatedAt: now,
		}
		if err := s.AddMember(ctx, m, audit.Event{AccountID: acct.ID, ActorID: owner.ID, Action: "member.create", TargetType: "member", TargetID: m.ID}); err != nil {
			t.Fatal(err)
		}
		members = append(members, m)
	}
	return acct.ID, members
}

func TestUpdateMemberVersions(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	account, ms := seedAccount(t, s, 1)
	m := ms[1]
	m.Assignments = []rbac.Assignment{{Role: rbac.RoleManager, Scope: rbac.StoreScope("s2")}}
	m.Name = "Renamed"
	m.Email = "ignored@example.com"
	ev := audit.Event{AccountID: account, ActorID: ms[0].ID, Action: "member.update", TargetType: "member", TargetID: m.ID}
	next, err := s.UpdateMember(ctx, m, ev)
	if err != nil {
		t.Fatal(err)
	}
	if next.Version != 2 {
		t.Fatalf("version %d, want 2", next.Version)
	}
	got, err := s.GetMember(ctx, account, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || got.Name != "Renamed" || got.Email != ms[1].Email || len(got.Assignments) != 1 || got.Assignments[0].String() != "manager@store:s2" {
		t.Fatalf("stored %+v", got)
	}
	// The same change again is based on version 1: stale.
	if _, err := s.UpdateMember(ctx, m, ev); !errors.Is(err, team.ErrStaleVersion) {
		t.Fatalf("stale update: %v, want ErrStaleVersion", err)
	}
	ghost := m
	ghost.ID = NewID("m")
	if _, err := s.UpdateMember(ctx, ghost, ev); !errors.Is(err, team.ErrMemberNotFound) {
		t.Fatalf("missing member: %v, want ErrMemberNotFound", err)
	}
	page, err := s.ListAudit(ctx, account, audit.Filter{Action: "member.update"}, 0, "")
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("audit: %v, %d events, want 1", err, len(page.Items))
	}
}

func TestListMembersPagesWithSealedCursors(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	account, ms := seedAccount(t, s, 6)
	other, _ := seedAccount(t, s, 1)
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
		page, err := s.ListMembers(ctx, account, 3, cursor)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) > 3 {
			t.Fatalf("page of %d, limit 3", len(page.Items))
		}
		for _, m := range page.Items {
			if m.AccountID != account {
				t.Fatalf("member of %s listed in %s", m.AccountID, account)
			}
			got = append(got, m.ID)
		}
		if page.Next == "" {
			break
		}
		if pages == 0 {
			if _, err := s.ListMembers(ctx, other, 3, page.Next); !errors.Is(err, ErrBadCursor) {
				t.Fatalf("cursor replayed in another account: %v", err)
			}
			if _, err := s.ListAudit(ctx, account, audit.Filter{}, 3, page.Next); !errors.Is(err, ErrBadCursor) {
				t.Fatalf("cursor replayed in another list: %v", err)
			}
		}
		cursor = page.Next
	}
	var want []string
	for _, m := range ms {
		want = append(want, m.ID)
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("listed %v, want %v", got, want)
	}
}

func TestLoadMembersReadsMembersAndRoles(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	account, ms := seedAccount(t, s, 3)
	other, oms := seedAccount(t, s, 1)
	role := rbac.Role{ID: "buyer", Name: "Buyer", Permissions: []string{"purchases.view", "purchases.edit"}}
	if _, err := s.SaveCustomRoles(ctx, account, []rbac.Role{role}, 0, nil, audit.Event{AccountID: account, Action: "role.create"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadMembers(ctx, account, []string{ms[1].ID, ms[2].ID, ms[1].ID, oms[1].ID, "nobody"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Members) != 2 || got.Members[ms[1].ID].ID != ms[1].ID || got.Members[ms[2].ID].ID != ms[2].ID {
		t.Fatalf("members %v", got.Members)
	}
	if got.Roles.Version != 1 || len(got.Roles.Roles) != 1 || got.Roles.Roles[0].ID != "buyer" {
		t.Fatalf("roles %+v", got.Roles)
	}
	// Another account's member is not found through this account.
	if _, ok := got.Members[oms[1].ID]; ok {
		t.Fatal("member of another account loaded")
	}
	none, err := s.LoadMembers(ctx, other, nil)
	if err != nil || len(none.Members) != 0 || none.Roles.Version != 0 {
		t.Fatalf("no ids: %+v %v", none, err)
	}
	many := make([]string, MaxLoadMembers+1)
	for i := range many {
		many[i] = NewID("m")
	}
	if _, err := s.LoadMembers(ctx, account, many); err == nil {
		t.Fatal("over the limit accepted")
	}
}

func TestSaveCustomRolesVersionsAndMembersTogether(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	account, ms := seedAccount(t, s, 2)
	ev := audit.Event{AccountID: account, ActorID: ms[0].ID, Action: "role.create", TargetType: "role", TargetID: "buyer"}
	cr, err := s.GetCustomRoles(ctx, account)
	if err != nil || cr.Version != 0 || len(cr.Roles) != 0 {
		t.Fatalf("no roles yet: %+v %v", cr, err)
	}
	buyer := rbac.Role{ID: "buyer", Name: "Buyer", Permissions: []string{"purchases.view"}, ScopeKinds: []rbac.ScopeKind{rbac.ScopeStore}}
	v, err := s.SaveCustomRoles(ctx, account, []rbac.Role{buyer}, 0, nil, ev)
	if err != nil || v != 1 {
		t.Fatalf("create: %d %v", v, err)
	}
	if _, err := s.SaveCustomRoles(ctx, account, []rbac.Role{buyer}, 0, nil, ev); !errors.Is(err, team.ErrStaleVersion) {
		t.Fatalf("second create at version 0: %v", err)
	}
	// Assign buyer to two members, then delete it, moving them to
	// team_member, in one change; one stale member cancels everything.
	var assigned []team.Member
	for _, m := range ms[1:] {
		m.Assignments = []rbac.Assignment{{Role: "buyer", Scope: rbac.StoreScope("s1")}}
		next, err := s.UpdateMember(ctx, m, audit.Event{AccountID: account, Action: "member.update"})
		if err != nil {
			t.Fatal(err)
		}
		assigned = append(assigned, next)
	}
	with, err := s.MembersWithRole(ctx, account, "buyer")
	if err != nil || len(with) != 2 {
		t.Fatalf("members with buyer: %d %v", len(with), err)
	}
	moved := make([]team.Member, len(assigned))
	for i, m := range assigned {
		m.Assignments = []rbac.Assignment{{Role: rbac.RoleTeamMember, Scope: rbac.StoreScope("s1")}}
		moved[i] = m
	}
	stale := slices.Clone(moved)
	stale[1].Version = 1
	del := audit.Event{AccountID: account, ActorID: ms[0].ID, Action: "role.delete", TargetType: "role", TargetID: "buyer"}
	if _, err := s.SaveCustomRoles(ctx, account, nil, 1, stale, del); !errors.Is(err, ErrMemberChanged) {
		t.Fatalf("stale member: %v, want ErrMemberChanged", err)
	}
	if cr, _ := s.GetCustomRoles(ctx, account); cr.Version != 1 || len(cr.Roles) != 1 {
		t.Fatalf("a cancelled change wrote the roles: %+v", cr)
	}
	v, err = s.SaveCustomRoles(ctx, account, nil, 1, moved, del)
	if err != nil || v != 2 {
		t.Fatalf("delete: %d %v", v, err)
	}
	cr, err = s.GetCustomRoles(ctx, account)
	if err != nil || cr.Version != 2 || len(cr.Roles) != 0 {
		t.Fatalf("after delete: %+v %v", cr, err)
	}
	if with, _ := s.MembersWithRole(ctx, account, "buyer"); len(with) != 0 {
		t.Fatalf("%d members still hold the deleted role", len(with))
	}
	got, _ := s.GetMember(ctx, account, ms[1].ID)
	if got.Version != 3 || got.Assignments[0].Role != rbac.RoleTeamMember {
		t.Fatalf("moved member %+v", got)
	}
	tooMany := make([]team.Member, MaxMembersPerRoleChange+1)
	if _, err := s.SaveCustomRoles(ctx, account, nil, 2, tooMany, del); err == nil {
		t.Fatal("a change over the transaction limit was accepted")
	}
}

// A deleted member leaves the live range: the live reads (live list,
// all members, role holders) no longer see it, while reads by id and the
// all-status list still answer it, in id order across pages.
func TestDeletedMembersLeaveTheLiveRange(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	account, members := seedAccount(t, s, 7)
	deleted := map[string]bool{}
	for _, m := range []team.Member{members[2], members[5], members[6]} {
		m.Status = rbac.StatusDeleted
		got, err := s.DeleteMember(ctx, m, audit.Event{AccountID: account, Action: "member.delete"})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != rbac.StatusDeleted || got.Version != 2 {
			t.Fatalf("deleted member: %+v", got)
		}
		deleted[m.ID] = true
	}
	// A stale delete fails as before.
	stale := members[2]
	stale.Status = rbac.StatusDeleted
	if _, err := s.DeleteMember(ctx, stale, audit.Event{AccountID: account, Action: "member.delete"}); !errors.Is(err, team.ErrStaleVersion) {
		t.Fatalf("second delete: %v", err)
	}

	live, err := s.AllMembers(ctx, account)
	if err != nil || len(live) != 5 {
		t.Fatalf("all members: %v, %d, want 5", err, len(live))
	}
	for _, m := range live {
		if deleted[m.ID] {
			t.Fatalf("deleted member %s in the live members", m.ID)
		}
	}
	holders, err := s.MembersWithRole(ctx, account, rbac.RoleTeamMember)
	if err != nil || len(holders) != 4 {
		t.Fatalf("role holders: %v, %d, want 4", err, len(holders))
	}
	lp, err := s.ListLiveMembers(ctx, account, 100, "")
	if err != nil || len(lp.Items) != 5 {
		t.Fatalf("live list: %v %d", err, len(lp.Items))
	}

	got, err := s.GetMember(ctx, account, members[5].ID)
	if err != nil || got.Status != rbac.StatusDeleted || got.Email != members[5].Email {
		t.Fatalf("deleted member by id: %v %+v", err, got)
	}
	lm, err := s.LoadMembers(ctx, account, []string{members[1].ID, members[6].ID})
	if err != nil || len(lm.Members) != 2 || lm.Members[members[6].ID].Status != rbac.StatusDeleted {
		t.Fatalf("load members: %v %+v", err, lm.Members)
	}

	// The all-status list: every member once, in id order, over pages of 3.
	var ids []string
	cursor := ""
	for {
		page, err := s.ListMembers(ctx, account, 3, cursor)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) > 3 {
			t.Fatalf("page of %d", len(page.Items))
		}
		for _, m := range page.Items {
			ids = append(ids, m.ID)
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	want := make([]string, 0, len(members))
	for _, m := range members {
		want = append(want, m.ID)
	}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("all-status list %v, want %v", ids, want)
	}
}

// A member deleted before the move (status deleted at MEMBER#) is moved
// by MoveDeletedMembers, once.
func TestMoveDeletedMembersMovesTheLegacyOnes(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	account, members := seedAccount(t, s, 3)
	legacy := members[1]
	legacy.Status = rbac.StatusDeleted
	if _, err := s.UpdateMember(ctx, legacy, audit.Event{AccountID: account, Action: "member.delete"}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.MoveDeletedMembers(ctx, account); err != nil || n != 1 {
		t.Fatalf("moved %d: %v", n, err)
	}
	if n, err := s.MoveDeletedMembers(ctx, account); err != nil || n != 0 {
		t.Fatalf("again: moved %d: %v", n, err)
	}
	live, err := s.AllMembers(ctx, account)
	if err != nil || len(live) != 3 {
		t.Fatalf("live: %v %d", err, len(live))
	}
	if got, err := s.GetMember(ctx, account, legacy.ID); err != nil || got.Status != rbac.StatusDeleted || got.Version != 2 {
		t.Fatalf("moved member: %v %+v", err, got)
	}
}

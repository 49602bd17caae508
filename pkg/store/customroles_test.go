package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/rbac"
	. "github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// TestDeleteCustomRoleAtHolderLimitWhileActing: deleting a role held by
// MaxMembersPerRoleChange members fits one transaction also when the
// change is made by an actor whose own item is checked at commit (Acting
// adds a condition item): the roles item, every holder, the actor check
// and the audit event are at most MaxTxItems.
func TestDeleteCustomRoleAtHolderLimitWhileActing(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	account, ms := seedAccount(t, s, MaxMembersPerRoleChange+1)
	actor := ms[0]
	buyer := rbac.Role{ID: "buyer", Name: "Buyer", Permissions: []string{"purchases.view"}, ScopeKinds: []rbac.ScopeKind{rbac.ScopeStore}}
	if _, err := s.SaveCustomRoles(ctx, account, []rbac.Role{buyer}, 0, nil, audit.Event{AccountID: account, ActorID: actor.ID, Action: "role.create"}); err != nil {
		t.Fatal(err)
	}
	moved := make([]team.Member, 0, MaxMembersPerRoleChange)
	for _, m := range ms[1 : 1+MaxMembersPerRoleChange] {
		m.Assignments = []rbac.Assignment{{Role: "buyer", Scope: rbac.StoreScope("s1")}}
		next, err := s.UpdateMember(ctx, m, audit.Event{AccountID: account, Action: "member.update"})
		if err != nil {
			t.Fatal(err)
		}
		next.Assignments = []rbac.Assignment{{Role: rbac.RoleTeamMember, Scope: rbac.StoreScope("s1")}}
		moved = append(moved, next)
	}
	cr, err := s.GetCustomRoles(ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.GetMember(ctx, account, actor.ID)
	if err != nil {
		t.Fatal(err)
	}
	acting := s.Acting(Actor{AccountID: account, MemberID: a.ID, Version: a.Version})
	del := audit.Event{AccountID: account, ActorID: a.ID, Action: "role.delete", TargetType: "role", TargetID: "buyer"}
	if _, err := acting.DeleteCustomRole(ctx, account, nil, cr, moved, del); err != nil {
		t.Fatalf("delete a role with %d holders as an acting member: %v", len(moved), err)
	}
}

// TestLegacyRolesItemMigratesOnFirstWrite: an account whose custom roles
// are still one item (as written before one item per role) reads the same
// through every path, and the first write touching its roles (here a
// member write granting one, then a role change) migrates it at the same
// version.
func TestLegacyRolesItemMigratesOnFirstWrite(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	account, ms := seedAccount(t, s, 2)
	buyer := rbac.Role{ID: "buyer", Name: "Buyer", Permissions: []string{"purchases.view"}, ScopeKinds: []rbac.ScopeKind{rbac.ScopeStore}}
	viewer := rbac.Role{ID: "viewer", Name: "Viewer", Description: "Sees orders.", Permissions: []string{"orders.view"}}
	if err := s.PutLegacyRolesForTest(ctx, account, []rbac.Role{buyer, viewer}, 3); err != nil {
		t.Fatal(err)
	}
	for step, want := range []bool{true, false} {
		lm, err := s.LoadMembers(ctx, account, []string{ms[1].ID})
		if err != nil {
			t.Fatal(err)
		}
		cr, err := s.GetCustomRoles(ctx, account)
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range []CustomRoles{lm.Roles, cr} {
			if got.Version != 3 || len(got.Roles) != 2 || got.Roles[0].ID != "buyer" || got.Roles[1].Description != "Sees orders." {
				t.Fatalf("step %d: roles %+v", step, got)
			}
		}
		if legacy, err := s.RolesLegacyForTest(ctx, account); err != nil || legacy != want {
			t.Fatalf("step %d: legacy %v %v, want %v", step, legacy, err, want)
		}
		if step == 0 {
			m := ms[1]
			m.Assignments = append(m.Assignments, rbac.Assignment{Role: "buyer", Scope: rbac.StoreScope("s1")})
			if _, err := s.UpdateMember(ctx, m, audit.Event{AccountID: account, Action: "member.update"}); err != nil {
				t.Fatalf("grant on a legacy account: %v", err)
			}
		}
	}
	// A role no longer there is still refused after the migration.
	m, _ := s.GetMember(ctx, account, ms[2].ID)
	m.Assignments = append(m.Assignments, rbac.Assignment{Role: "ghost", Scope: rbac.StoreScope("s1")})
	if _, err := s.UpdateMember(ctx, m, audit.Event{AccountID: account, Action: "member.update"}); !errors.Is(err, ErrRoleGone) {
		t.Fatalf("grant of a missing role: %v", err)
	}

	// A second legacy account migrates on a role change.
	other, _ := seedAccount(t, s, 0)
	if err := s.PutLegacyRolesForTest(ctx, other, []rbac.Role{buyer}, 5); err != nil {
		t.Fatal(err)
	}
	v, err := s.SaveCustomRoles(ctx, other, []rbac.Role{buyer, viewer}, 5, nil, audit.Event{AccountID: other, Action: "role.create"})
	if err != nil || v != 6 {
		t.Fatalf("save on a legacy account: %d %v", v, err)
	}
	cr, err := s.GetCustomRoles(ctx, other)
	if err != nil || cr.Version != 6 || len(cr.Roles) != 2 {
		t.Fatalf("after: %+v %v", cr, err)
	}
	if legacy, _ := s.RolesLegacyForTest(ctx, other); legacy {
		t.Fatal("still legacy after a role change")
	}
}

// TestMarkedRoleRefusesGrantsAndMovesInChunks: a role marked for deletion
// cannot be given to anyone (nor changed), its holders move chunk by
// chunk, and the last step deletes it.
func TestMarkedRoleRefusesGrantsAndMovesInChunks(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	account, ms := seedAccount(t, s, 3)
	buyer := rbac.Role{ID: "buyer", Name: "Buyer", Permissions: []string{"purchases.view"}}
	if _, err := s.SaveCustomRoles(ctx, account, []rbac.Role{buyer}, 0, nil, audit.Event{AccountID: account, Action: "role.create"}); err != nil {
		t.Fatal(err)
	}
	m1 := ms[1]
	m1.Assignments = []rbac.Assignment{{Role: "buyer", Scope: rbac.AccountScope}}
	m1, err := s.UpdateMember(ctx, m1, audit.Event{AccountID: account, Action: "member.update"})
	if err != nil {
		t.Fatal(err)
	}
	cr, _ := s.GetCustomRoles(ctx, account)
	v, err := s.MarkRoleDeleting(ctx, account, "buyer", cr, "remove", "", 1, audit.Event{AccountID: account, Action: "role.delete_started"})
	if err != nil || v != 2 {
		t.Fatalf("mark: %d %v", v, err)
	}
	cr, _ = s.GetCustomRoles(ctx, account)
	if st := cr.State("buyer"); !st.Deleting || st.Members != "remove" || st.HoldersLeft != 1 || cr.Version != 2 || len(cr.Roles) != 1 {
		t.Fatalf("marked: %+v", cr)
	}
	m2 := ms[2]
	m2.Assignments = []rbac.Assignment{{Role: "buyer", Scope: rbac.AccountScope}}
	if _, err := s.UpdateMember(ctx, m2, audit.Event{AccountID: account, Action: "member.update"}); !errors.Is(err, ErrRoleGone) {
		t.Fatalf("grant of a marked role: %v", err)
	}
	if _, err := s.SaveCustomRoles(ctx, account, []rbac.Role{{ID: "buyer", Name: "Renamed", Permissions: []string{"purchases.view"}}}, 2, nil, audit.Event{AccountID: account, Action: "role.update"}); !errors.Is(err, ErrRoleDeleting) {
		t.Fatalf("change of a marked role: %v", err)
	}
	// A member of the role who is not being moved keeps updating.
	m1.Name = "Renamed member"
	if m1, err = s.UpdateMember(ctx, m1, audit.Event{AccountID: account, Action: "member.update"}); err != nil {
		t.Fatalf("update of a holder: %v", err)
	}
	m1.Assignments = []rbac.Assignment{{Role: rbac.RoleTeamMember, Scope: rbac.StoreScope("s1")}}
	if err := s.MoveRoleHolders(ctx, account, "buyer", "", 0, []team.Member{m1}, audit.Event{AccountID: account, Action: "role.members_moved"}); err != nil {
		t.Fatal(err)
	}
	cr, _ = s.GetCustomRoles(ctx, account)
	if cr.State("buyer").HoldersLeft != 0 {
		t.Fatalf("after a chunk: %+v", cr.State("buyer"))
	}
	if v, err := s.DeleteRole(ctx, account, "buyer", "", cr, nil, audit.Event{AccountID: account, Action: "role.delete"}); err != nil || v != 3 {
		t.Fatalf("delete: %d %v", v, err)
	}
	if cr, _ = s.GetCustomRoles(ctx, account); len(cr.Roles) != 0 || cr.Version != 3 {
		t.Fatalf("after: %+v", cr)
	}
}

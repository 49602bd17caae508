package store_test

import (
	"context"
	"testing"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/authz"
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
	buyer := authz.Role{ID: "buyer", Name: "Buyer", Permissions: []string{"purchases.view"}, ScopeKinds: []authz.ScopeKind{authz.ScopeStore}}
	if _, err := s.SaveCustomRoles(ctx, account, []authz.Role{buyer}, 0, nil, audit.Event{AccountID: account, ActorID: actor.ID, Action: "role.create"}); err != nil {
		t.Fatal(err)
	}
	moved := make([]team.Member, 0, MaxMembersPerRoleChange)
	for _, m := range ms[1 : 1+MaxMembersPerRoleChange] {
		m.Assignments = []authz.Assignment{{Role: "buyer", Scope: authz.StoreScope("s1")}}
		next, err := s.UpdateMember(ctx, m, audit.Event{AccountID: account, Action: "member.update"})
		if err != nil {
			t.Fatal(err)
		}
		next.Assignments = []authz.Assignment{{Role: authz.RoleTeamMember, Scope: authz.StoreScope("s1")}}
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

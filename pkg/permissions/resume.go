package permissions

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// ResumeRoleDeletion carries on the deletion of custom role id of account
// left half-done (marked deleting, holders left: a DELETE that answered
// 202 and was not repeated), without a caller: the scheduled maintenance
// run (pkg/maintenance). It moves the holders as the deletion was asked
// (the role's recorded members and to), chunk by chunk, the last chunk
// deleting the role, for at most budget, and reports whether the deletion
// is finished (or there was none: the role is gone or not marked).
//
// The grant ceiling is not checked again: the caller who marked the role
// passed it for every holder, and from the mark on no member can gain the
// role. The events name the system as their actor ("system",
// "Role deletion").
func (s *Service) ResumeRoleDeletion(ctx context.Context, account, id string, budget time.Duration) (done bool, err error) {
	started := time.Now()
	for failures, chunks := 0, 0; failures < saveAttempts; {
		cr, err := s.Store.GetCustomRoles(ctx, account)
		if err != nil {
			return false, err
		}
		idx := slices.IndexFunc(cr.Roles, func(r rbac.Role) bool { return r.ID == id })
		st := cr.State(id)
		if idx < 0 || !st.Deleting {
			return true, nil
		}
		if chunks > 0 && time.Since(started) > budget {
			return false, nil
		}
		role := cr.Roles[idx]
		holders, err := s.Store.MembersWithRole(ctx, account, id)
		if err != nil {
			return false, err
		}
		reassignTo := ""
		if st.Members == MembersReassign {
			reassignTo = st.To
		}
		changed := make([]team.Member, 0, len(holders))
		for _, m := range holders {
			after := m
			after.Assignments = reassign(m.Assignments, id, reassignTo)
			changed = append(changed, after)
		}
		ids := make([]string, 0, len(changed))
		for _, m := range changed {
			ids = append(ids, m.ID)
		}
		if len(changed) <= store.MaxMembersPerRoleChange {
			ev := systemRoleEvent(account, "role.delete", id, toRoleView(role, nil), MemberMoves{Action: st.Members, To: st.To, Count: len(ids), IDs: ids})
			_, err := s.Store.DeleteRole(ctx, account, id, reassignTo, cr, changed, ev)
			switch {
			case errors.Is(err, team.ErrStaleVersion), errors.Is(err, store.ErrMemberChanged):
				failures++
				continue
			case err != nil:
				return false, fmt.Errorf("resume deletion of role %s: %w", id, err)
			}
			return true, nil
		}
		chunk := changed[:store.MaxMembersPerRoleChange]
		part := MemberMoves{Action: st.Members, To: st.To, Count: len(chunk), IDs: ids[:len(chunk)]}
		err = s.Store.MoveRoleHolders(ctx, account, id, reassignTo, len(changed)-len(chunk), chunk,
			systemRoleEvent(account, "role.members_moved", id, nil, part))
		switch {
		case errors.Is(err, team.ErrStaleVersion), errors.Is(err, store.ErrMemberChanged):
			failures++
			continue
		case err != nil:
			return false, fmt.Errorf("resume deletion of role %s: %w", id, err)
		}
		chunks++
		failures = 0
	}
	return false, errConcurrentChange
}

func systemRoleEvent(account, action, roleID string, before, after any) audit.Event {
	return audit.Event{
		AccountID: account, ActorID: "system", ActorName: "Role deletion",
		Action: action, TargetType: "role", TargetID: roleID,
		Before: audit.Snapshot(before), After: audit.Snapshot(after),
	}
}

package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/authz"
	"github.com/stewardhq/steward/pkg/team"
)

// Custom role writes. An account's custom roles are one item (see
// roles.go), replaced as a whole under its version, so that two changes to
// the roles of one account cannot both win. The item is never deleted:
// its version only grows, which keeps cached role sets (keyed by version)
// and ETags honest.

// MaxCustomRoles bounds an account's custom roles, so that their one item
// stays far below DynamoDB's 400 KB item limit.
const MaxCustomRoles = 100

// MaxMembersPerRoleChange is the most members one role change can update in
// its transaction: DynamoDB's 100 items less the roles item, the acting
// member's condition check (Acting: the change rests on its rights) and
// the audit event.
const MaxMembersPerRoleChange = MaxTxItems - 3

// ErrMemberChanged: a member updated together with a role change was
// changed by someone else since it was read. The caller reads again and
// retries.
var ErrMemberChanged = errors.New("a member changed since it was read")

// GetCustomRoles reads an account's custom roles, strongly consistently.
// An account without custom roles has none at version 0.
func (s *Store) GetCustomRoles(ctx context.Context, account string) (CustomRoles, error) {
	var it rolesItem
	err := s.getItem(ctx, rolesKey(account), &it, ErrNotFound)
	switch {
	case errors.Is(err, ErrNotFound):
		return CustomRoles{Roles: []authz.Role{}}, nil
	case err != nil:
		return CustomRoles{}, fmt.Errorf("get custom roles: %w", err)
	}
	return CustomRoles{Roles: it.roles(), Version: it.Version, AssignSeq: it.AssignSeq}, nil
}

// SaveCustomRoles replaces an account's custom roles with roles, when the
// stored item is still at version (0: no item yet), and updates members
// (each with Version set to the version read; see UpdateMember) in the same
// transaction with the event: reassigning or removing the members of a
// deleted role happens together with the deletion or not at all. It
// returns the new version. A stale roles item is team.ErrStaleVersion, a
// stale member ErrMemberChanged; more than MaxMembersPerRoleChange members
// or MaxCustomRoles roles is refused before anything is written. The
// caller validates the roles (authz.NewRoleSet).
func (s *Store) SaveCustomRoles(ctx context.Context, account string, roles []authz.Role, version int64, members []team.Member, ev audit.Event) (int64, error) {
	cond := VersionIs(version)
	if version == 0 {
		cond = ItemAbsent()
	}
	return s.saveCustomRoles(ctx, account, roles, version, cond, members, ev)
}

// saveCustomRoles is SaveCustomRoles with the roles item's condition given.
func (s *Store) saveCustomRoles(ctx context.Context, account string, roles []authz.Role, version int64, cond *Cond, members []team.Member, ev audit.Event) (int64, error) {
	if len(roles) > MaxCustomRoles {
		return 0, fmt.Errorf("save custom roles: %d roles is over the limit of %d", len(roles), MaxCustomRoles)
	}
	if len(members) > MaxMembersPerRoleChange {
		return 0, fmt.Errorf("save custom roles: %d members is over the limit of %d per change", len(members), MaxMembersPerRoleChange)
	}
	now := s.now().UTC()
	it := rolesItem{
		PK: accountPK(account), SK: skRoles, Type: typeRoles,
		Roles: toRoleItems(roles), Version: version + 1, UpdatedAt: now,
	}
	tx := NewTx(ev)
	tx.Put(marshal(it), cond, team.ErrStaleVersion)
	for _, m := range members {
		if m.AccountID != account {
			return 0, fmt.Errorf("save custom roles: member %s is not of account %s", m.ID, account)
		}
		tx.updateMember(m, now, ErrMemberChanged)
	}
	if err := s.Commit(ctx, tx); err != nil {
		return 0, err
	}
	return version + 1, nil
}

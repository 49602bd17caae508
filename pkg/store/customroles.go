package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/team"
)

// Custom role writes. Every change of a role definition (create, update,
// delete, marking for deletion) writes the role's item and moves the
// account's version item in one transaction conditioned on the version
// read, so that two changes to the roles of one account cannot both win.
// The version item is never deleted: its version only grows, which keeps
// cached role sets (keyed by version) and ETags honest.
//
// Deleting a role with more holders than one transaction can move is
// background work behind a marker on the role (MarkRoleDeleting): from
// then on no member may gain it (roleguard.go), its holders are moved in
// chunks (MoveRoleHolders, each chunk one transaction, progress in the
// role's holdersLeft), and the last chunk deletes the role (DeleteRole).
// The work is resumable from any point: the marker says what to do with
// the holders, and the holders still holding the role are the work left.

// MaxCustomRoles bounds an account's custom roles.
const MaxCustomRoles = 100

// MaxMembersPerRoleChange is the most members one role change (or one
// chunk of a role's deletion) updates in its transaction: DynamoDB's 100
// items less the version item, the role's item, the reassignment target's
// guard, the acting member's condition check (Acting: the change rests on
// its rights) and the audit event.
const MaxMembersPerRoleChange = MaxTxItems - 5

// ErrMemberChanged: a member updated together with a role change was
// changed by someone else since it was read, or a member gained the role
// being deleted since its holders were listed. The caller reads again and
// retries.
var ErrMemberChanged = errors.New("a member changed since it was read")

// ErrRoleDeleting: the role is marked for deletion; it cannot be changed or
// given to anyone, and its deletion can only be resumed.
var ErrRoleDeleting = errors.New("the role is being deleted")

// GetCustomRoles reads an account's custom roles and their states,
// strongly consistently (one Query). An account without custom roles has
// none at version 0.
func (s *Store) GetCustomRoles(ctx context.Context, account string) (CustomRoles, error) {
	cr, err := s.queryRoles(ctx, account)
	if err != nil {
		return CustomRoles{}, fmt.Errorf("get custom roles: %w", err)
	}
	return cr, nil
}

// currentRoles is GetCustomRoles on an account migrated to one item per
// role (migrating it first when needed): what every roles write starts
// from.
func (s *Store) currentRoles(ctx context.Context, account string) (CustomRoles, error) {
	cr, err := s.GetCustomRoles(ctx, account)
	if err != nil || !cr.legacy {
		return cr, err
	}
	if err := s.migrateRoles(ctx, account, cr); err != nil {
		return CustomRoles{}, err
	}
	if cr, err = s.GetCustomRoles(ctx, account); err == nil && cr.legacy {
		return CustomRoles{}, fmt.Errorf("%w: the account's roles changed during their migration", team.ErrStaleVersion)
	}
	return cr, err
}

// migrateRoles moves the roles of a legacy version item (at cr.Version)
// into one item per role: the role items in transactions of up to 98,
// each conditioned on the version item still being legacy at that
// version, then the version item loses its roles (same version: the
// role set is unchanged). Writers racing to migrate write the same
// items; the loser's last step finds nothing left to do. It writes no
// audit event: nothing changes for anyone.
func (s *Store) migrateRoles(ctx context.Context, account string, cr CustomRoles) error {
	stillLegacy := func() types.TransactWriteItem {
		return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName: aws.String(s.table), Key: rolesKey(account),
			ConditionExpression:       aws.String("#ver = :ver AND attribute_exists(#roles)"),
			ExpressionAttributeNames:  map[string]string{"#ver": AttrVersion, "#roles": "roles"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":ver": num(cr.Version)},
		}}
	}
	for chunk := range slices.Chunk(cr.Roles, MaxTxItems-2) {
		items := []types.TransactWriteItem{stillLegacy()}
		for _, r := range chunk {
			items = append(items, types.TransactWriteItem{Put: &types.Put{
				TableName: aws.String(s.table), Item: marshal(newRoleRecord(account, r, cr.Version)),
			}})
		}
		if err := s.transactRaw(ctx, items); IsConditionFailed(err) {
			return nil // migrated or changed meanwhile: the caller reads again
		} else if err != nil {
			return fmt.Errorf("migrate custom roles: %w", err)
		}
	}
	err := s.transactRaw(ctx, []types.TransactWriteItem{{Update: &types.Update{
		TableName: aws.String(s.table), Key: rolesKey(account),
		UpdateExpression:          aws.String("REMOVE #roles, #seq"),
		ConditionExpression:       aws.String("#ver = :ver AND attribute_exists(#roles)"),
		ExpressionAttributeNames:  map[string]string{"#ver": AttrVersion, "#roles": "roles", "#seq": "assignSeq"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":ver": num(cr.Version)},
	}}})
	if err != nil && !IsConditionFailed(err) {
		return fmt.Errorf("migrate custom roles: %w", err)
	}
	return nil
}

// transactRaw runs items as one transaction without an audit event or
// actor check; a lost condition is ErrConditionFailed.
func (s *Store) transactRaw(ctx context.Context, items []types.TransactWriteItem) error {
	var err error
	for attempt := 0; ; attempt++ {
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if !conflicted(err) || attempt == conflictRetries {
			break
		}
	}
	return mapWriteError("transact", err, nil)
}

// SaveCustomRoles makes an account's custom roles roles, when they are
// still at version (0: none yet), and updates members (each with Version
// set to the version read; see UpdateMember) in the same transaction with
// the event: reassigning or removing the members of a deleted role
// happens together with the deletion or not at all. Only the roles that
// change are written. It returns the new version. A stale version is
// team.ErrStaleVersion, a stale member ErrMemberChanged, a removed role
// that a member gained meanwhile ErrMemberChanged, a changed role under
// deletion ErrRoleDeleting; more than MaxMembersPerRoleChange members or
// MaxCustomRoles roles, or more changes than one transaction holds, is
// refused before anything is written. The caller validates the roles
// (rbac.NewRoleSet).
func (s *Store) SaveCustomRoles(ctx context.Context, account string, roles []rbac.Role, version int64, members []team.Member, ev audit.Event) (int64, error) {
	if len(roles) > MaxCustomRoles {
		return 0, fmt.Errorf("save custom roles: %d roles is over the limit of %d", len(roles), MaxCustomRoles)
	}
	if len(members) > MaxMembersPerRoleChange {
		return 0, fmt.Errorf("save custom roles: %d members is over the limit of %d per change", len(members), MaxMembersPerRoleChange)
	}
	cur, err := s.currentRoles(ctx, account)
	if err != nil {
		return 0, err
	}
	if cur.Version != version {
		return 0, fmt.Errorf("save custom roles: %w", team.ErrStaleVersion)
	}
	tx := s.rolesTx(account, version, ev)
	for _, r := range roles {
		i := slices.IndexFunc(cur.Roles, func(x rbac.Role) bool { return x.ID == r.ID })
		switch {
		case i < 0:
			tx.Put(marshal(newRoleRecord(account, r, version+1)), ItemAbsent(), team.ErrStaleVersion)
		case !sameRole(cur.Roles[i], r):
			tx.updateRoleDefinition(account, r, version+1)
		}
	}
	for _, r := range cur.Roles {
		if !slices.ContainsFunc(roles, func(x rbac.Role) bool { return x.ID == r.ID }) {
			tx.Delete(roleKey(account, r.ID), assignSeqIs(cur.State(r.ID).AssignSeq), ErrMemberChanged)
		}
	}
	if err := s.commitRoleChange(ctx, tx, account, members); err != nil {
		return 0, err
	}
	states := map[string]RoleState{}
	for _, r := range roles {
		states[r.ID] = cur.State(r.ID)
	}
	s.cacheWritten(account, roles, version+1, states)
	return version + 1, nil
}

// cacheWritten caches the roles a change just committed at version (as
// stored), so that this process's next requests need not read them.
func (s *Store) cacheWritten(account string, roles []rbac.Role, version int64, states map[string]RoleState) {
	out := CustomRoles{Roles: make([]rbac.Role, 0, len(roles)), Version: version, States: states}
	for _, r := range roles {
		out.Roles = append(out.Roles, newRoleRecord(account, r, version).role())
	}
	s.roles.put(account, out)
}

// rolesTx starts a change of the account's roles at version: the version
// item moves to version+1.
func (s *Store) rolesTx(account string, version int64, ev audit.Event) *Tx {
	cond := VersionIs(version)
	if version == 0 {
		// Absent, or written at version 0 by a sign-up with a preset or by
		// an account update (the role set options, rolesItem).
		cond = &Cond{Expr: "attribute_not_exists(#pk) OR #ver = :ver", Names: map[string]string{"#pk": AttrPK, "#ver": AttrVersion},
			Values: map[string]types.AttributeValue{":ver": num(0)}}
	}
	tx := NewTx(ev)
	// An update, not a put: the item's role set options stay as they are.
	tx.Update(rolesKey(account), Cond{
		Expr:   "SET #type = :type, #ver = :next, #upd = :now",
		Names:  map[string]string{"#type": AttrType, "#ver": AttrVersion, "#upd": "updatedAt"},
		Values: map[string]types.AttributeValue{":type": str(typeRoles), ":next": num(version + 1), ":now": timeAV(s.now().UTC())},
	}, cond, team.ErrStaleVersion)
	return tx
}

// commitRoleChange adds members to tx and commits it.
func (s *Store) commitRoleChange(ctx context.Context, tx *Tx, account string, members []team.Member) error {
	now := s.now().UTC()
	for _, m := range members {
		if m.AccountID != account {
			return fmt.Errorf("save custom roles: member %s is not of account %s", m.ID, account)
		}
		// The members' expiring-grant index items are written after
		// the commit: the transaction has room for the members only.
		tx.updateMember(m, now, ErrMemberChanged, false)
	}
	if err := s.Commit(ctx, tx); err != nil {
		return err
	}
	return s.indexExpiringGrantsAfter(ctx, members, now)
}

// updateRoleDefinition rewrites role r's definition in place (its grant
// count stays), when the role is not being deleted.
func (tx *Tx) updateRoleDefinition(account string, r rbac.Role, version int64) {
	rec := marshal(newRoleRecord(account, r, version))
	u := Cond{
		Expr:  "SET #name = :name, #desc = :desc, #perms = :perms, #kinds = :kinds, #admin = :admin, #ver = :ver",
		Names: map[string]string{"#name": "name", "#desc": "description", "#perms": "permissions", "#kinds": "scopeKinds", "#admin": "adminOnly", "#ver": AttrVersion},
		Values: map[string]types.AttributeValue{
			":name": rec["name"], ":perms": rec["permissions"], ":ver": num(version),
			":desc": str(r.Description), ":admin": &types.AttributeValueMemberBOOL{Value: r.AdminOnly},
			":kinds": &types.AttributeValueMemberL{Value: []types.AttributeValue{}},
		},
	}
	if k, ok := rec["scopeKinds"]; ok {
		u.Values[":kinds"] = k
	}
	tx.Update(roleKey(account, r.ID), u, &Cond{
		Expr:  "attribute_exists(#pk) AND attribute_not_exists(#status)",
		Names: map[string]string{"#pk": AttrPK, "#status": "status"},
	}, ErrRoleDeleting)
}

func sameRole(a, b rbac.Role) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Description == b.Description && a.AdminOnly == b.AdminOnly &&
		slices.Equal(a.Permissions, b.Permissions) && slices.Equal(a.ScopeKinds, b.ScopeKinds)
}

// assignSeqIs is the condition that a role item exists with its grant
// count at n.
func assignSeqIs(n int64) *Cond {
	c := &Cond{Names: map[string]string{"#pk": AttrPK, "#seq": attrAssignSeq}, Values: map[string]types.AttributeValue{}}
	if n == 0 {
		c.Expr = "attribute_exists(#pk) AND attribute_not_exists(#seq)"
	} else {
		c.Expr = "attribute_exists(#pk) AND #seq = :seq"
		c.Values[":seq"] = num(n)
	}
	return c
}

// DeleteCustomRole saves roles (the account's custom roles without the
// deleted one) and members (its former holders, changed) like
// SaveCustomRoles, where read is the roles as read before the holders
// were listed (MembersWithRole). It also requires that no member gained
// the deleted role since read: otherwise nothing is written and it fails
// with ErrMemberChanged, and the caller lists the holders again and
// retries. Roles at another version are team.ErrStaleVersion.
func (s *Store) DeleteCustomRole(ctx context.Context, account string, roles []rbac.Role, read CustomRoles, members []team.Member, ev audit.Event) (int64, error) {
	var gone []string
	for _, r := range read.Roles {
		if !slices.ContainsFunc(roles, func(x rbac.Role) bool { return x.ID == r.ID }) {
			gone = append(gone, r.ID)
		}
	}
	if len(gone) != 1 || len(roles) != len(read.Roles)-1 {
		return 0, fmt.Errorf("delete custom role: roles must be the roles read less one")
	}
	return s.DeleteRole(ctx, account, gone[0], "", read, members, ev)
}

// DeleteRole deletes custom role id and updates members (its last
// holders, changed: reassigned to custom role to, when to is not "", or
// stripped of the role) in one transaction, when the roles are still at
// read.Version and no member gained the role since read (otherwise
// ErrMemberChanged: the caller lists the holders again). When the role
// was marked for deletion in read, it must still be. At most
// MaxMembersPerRoleChange members. It returns the new version.
func (s *Store) DeleteRole(ctx context.Context, account, id, to string, read CustomRoles, members []team.Member, ev audit.Event) (int64, error) {
	if len(members) > MaxMembersPerRoleChange {
		return 0, fmt.Errorf("delete role: %d members is over the limit of %d per change", len(members), MaxMembersPerRoleChange)
	}
	if read.legacy {
		if _, err := s.currentRoles(ctx, account); err != nil {
			return 0, err
		}
	}
	st := read.State(id)
	tx := s.rolesTx(account, read.Version, ev)
	cond := assignSeqIs(st.AssignSeq)
	if st.Deleting {
		cond.Expr += " AND #status = :deleting"
		cond.Names["#status"] = "status"
		cond.Values[":deleting"] = str(statusDeleting)
	}
	tx.Delete(roleKey(account, id), cond, ErrMemberChanged)
	if to != "" && !rbac.IsBuiltInRole(to) {
		tx.guardRole(account, to)
	}
	if err := s.commitRoleChange(ctx, tx, account, members); err != nil {
		return 0, err
	}
	if !read.legacy {
		remaining := slices.DeleteFunc(slices.Clone(read.Roles), func(r rbac.Role) bool { return r.ID == id })
		states := maps.Clone(read.States)
		delete(states, id)
		s.cacheWritten(account, remaining, read.Version+1, states)
	}
	return read.Version + 1, nil
}

// MarkRoleDeleting marks custom role id for deletion (see the top of this
// file) when the roles are still at read.Version: members ("reassign" or
// "remove") and to say what happens to its holders, holders is how many
// there are. From the commit on, no member write can give the role. It
// returns the new version. A role marked already is ErrRoleDeleting.
func (s *Store) MarkRoleDeleting(ctx context.Context, account, id string, read CustomRoles, members, to string, holders int, ev audit.Event) (int64, error) {
	if read.legacy {
		if _, err := s.currentRoles(ctx, account); err != nil {
			return 0, err
		}
	}
	tx := s.rolesTx(account, read.Version, ev)
	// The sparse index entry of a deletion under way (RoleDeletionsBefore):
	// the role item carries it until the last chunk deletes the item.
	tx.Update(roleKey(account, id), Cond{
		Expr: "SET #status = :deleting, #members = :members, #to = :to, #left = :left, #ver = :ver, #g1pk = :g1pk, #g1sk = :g1sk",
		Names: map[string]string{"#status": "status", "#members": "members", "#to": "to", "#left": "holdersLeft", "#ver": AttrVersion,
			"#g1pk": AttrGSI1PK, "#g1sk": AttrGSI1SK},
		Values: map[string]types.AttributeValue{
			":deleting": str(statusDeleting), ":members": str(members), ":to": str(to), ":left": num(int64(holders)), ":ver": num(read.Version + 1),
			":g1pk": str(roleDeletionsPK), ":g1sk": str(key(timeKey(s.now()), account, id)),
		},
	}, &Cond{Expr: "attribute_exists(#pk) AND attribute_not_exists(#status)", Names: map[string]string{"#pk": AttrPK}}, ErrRoleDeleting)
	if err := s.Commit(ctx, tx); err != nil {
		return 0, err
	}
	if !read.legacy {
		states := maps.Clone(read.States)
		if states == nil {
			states = map[string]RoleState{}
		}
		states[id] = RoleState{AssignSeq: read.State(id).AssignSeq, Deleting: true, Members: members, To: to, HoldersLeft: holders}
		s.cacheWritten(account, read.Roles, read.Version+1, states)
	}
	return read.Version + 1, nil
}

// MoveRoleHolders is one chunk of a marked role's deletion: it updates
// members (holders of role id, changed: reassigned to to, or stripped of
// the role) and records left, the holders left after them, on the role,
// in one transaction, while the role is still marked. A member changed
// since it was read is ErrMemberChanged; a role no longer marked
// team.ErrStaleVersion (someone else finished the deletion); a
// reassignment target deleted or marked meanwhile ErrRoleGone.
func (s *Store) MoveRoleHolders(ctx context.Context, account, id, to string, left int, members []team.Member, ev audit.Event) error {
	if len(members) > MaxMembersPerRoleChange {
		return fmt.Errorf("move role holders: %d members is over the limit of %d per change", len(members), MaxMembersPerRoleChange)
	}
	tx := NewTx(ev)
	tx.Update(roleKey(account, id), Cond{
		Expr: "SET #left = :left", Names: map[string]string{"#left": "holdersLeft"},
		Values: map[string]types.AttributeValue{":left": num(int64(left))},
	}, &Cond{Expr: "#status = :deleting", Names: map[string]string{"#status": "status"}, Values: map[string]types.AttributeValue{":deleting": str(statusDeleting)}}, team.ErrStaleVersion)
	if to != "" && !rbac.IsBuiltInRole(to) {
		tx.guardRole(account, to)
	}
	return s.commitRoleChange(ctx, tx, account, members)
}

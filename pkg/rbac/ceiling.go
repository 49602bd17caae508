package rbac

import (
	"fmt"
	"strings"
)

// CheckChange enforces the grant ceiling when actor creates or changes a
// member. before is the member as stored (the zero Member when creating);
// after is the member as it would be saved. It returns nil or an error
// wrapping one sentinel, with detail:
//
//   - ErrNotActive: the actor is not active.
//   - ErrInvalidChange: before and after are different members.
//   - ErrCrossTenant: the target is in another account.
//   - ErrSelfChange: nobody changes their own admin flag, owner flag,
//     status or assignments (other fields of oneself are fine).
//   - ErrOwnerProtected: the owner cannot be demoted, suspended, deleted
//     or lose the admin flag, and nobody becomes owner here (ownership
//     moves only by an explicit transfer).
//   - ErrOwnerOnly: nobody but the owner changes the owner (after the
//     ErrOwnerProtected checks, which name what can never be done).
//   - ErrAdminOnly: only administrators make or unmake administrators
//     (admin flag or administrator role) or change an administrator.
//   - ErrOutsideManagedScope: the actor must hold users.manage at every
//     scope the target has an assignment in, before and after (a member
//     without assignments needs users.manage at account scope). So a
//     manager at store:s1 manages only members whose assignments are all
//     within stores it manages. An assignment of a role whose grants count
//     account-wide (a billing variant) is at account scope here.
//   - ErrUnknownRole, ErrScopeNotAllowed, ErrInvalidScope: an added
//     assignment is invalid.
//   - ErrAdminOnlyRole: an added assignment's role is admin-only
//     (Role.AdminOnly) and the actor is not an administrator; or an added
//     permission assignment lists a key that no role a non-administrator
//     grants holds (toggles never rebuild an admin-only role).
//   - ErrExceedsOwnRights: for each added assignment, the actor must
//     hold every permission of the role (or of a permission assignment)
//     at exactly that scope (an account-scope grant, or a role whose
//     grants count account-wide, needs account-scope rights).
//
// Removing assignments needs only the managed-scope rule.
//
// Windows: the actor's rights are those counting at actor.At (its
// time-bound grants count only within their windows). The target's
// assignments count whatever their windows: every one of them, expired
// or not started, is within the managed-scope rule, an administrator
// grant makes the target an administrator here, and an added time-bound
// assignment (a changed window is an added assignment, see
// Assignment.Equal) needs the same rights as the permanent one: a window
// never widens what may be granted.
func (rs *RoleSet) CheckChange(actor, before, after Member) error {
	a := rs.Compile(actor)
	if actor.Status != StatusActive {
		return fmt.Errorf("%w: you are %s", ErrNotActive, statusText(actor.Status))
	}
	creating := before.ID == ""
	if after.ID == "" || !creating && before.ID != after.ID {
		return fmt.Errorf("%w: before is member %q, after is member %q", ErrInvalidChange, before.ID, after.ID)
	}
	if after.Account != actor.Account || !creating && before.Account != actor.Account {
		return fmt.Errorf("%w: member %q is not in your account", ErrCrossTenant, after.ID)
	}
	grantsChanged := before.Admin != after.Admin || before.Owner != after.Owner ||
		before.Status != after.Status || !sameAssignments(before.Assignments, after.Assignments)
	if actor.ID == after.ID {
		if grantsChanged {
			return fmt.Errorf("%w: ask another member with users.manage to change your grants or status", ErrSelfChange)
		}
		return nil
	}
	if !creating && before.Owner {
		if !after.Owner {
			return fmt.Errorf("%w: the owner cannot be demoted; ownership moves only by a transfer", ErrOwnerProtected)
		}
		if after.Status != before.Status {
			return fmt.Errorf("%w: the owner cannot be made %s", ErrOwnerProtected, statusText(after.Status))
		}
		if !after.Admin && before.Admin {
			return fmt.Errorf("%w: the owner is always an administrator", ErrOwnerProtected)
		}
	}
	if !creating && before.Owner {
		// Seed 004: administrators manage every member "except the account
		// owner". Only the owner changes the owner (its name, assignments,
		// notification preferences, anything), and it does so as itself.
		return fmt.Errorf("%w: only the owner changes the owner's membership", ErrOwnerOnly)
	}
	if after.Owner && (creating || !before.Owner) {
		return fmt.Errorf("%w: ownership moves only by an explicit transfer", ErrOwnerProtected)
	}
	targetAdmin := rs.isAdmin(after, true) || !creating && rs.isAdmin(before, true)
	if targetAdmin && !a.isAdmin {
		if rs.isAdmin(after, true) != (!creating && rs.isAdmin(before, true)) {
			return fmt.Errorf("%w: only administrators make or unmake administrators", ErrAdminOnly)
		}
		return fmt.Errorf("%w: member %q is an administrator", ErrAdminOnly, after.ID)
	}

	// The target must be within the scopes the actor manages.
	scopes := make([]Scope, 0, len(before.Assignments)+len(after.Assignments))
	if !creating {
		for _, x := range before.Assignments {
			scopes = appendScope(scopes, rs.reach(x))
		}
	}
	for _, x := range after.Assignments {
		scopes = appendScope(scopes, rs.reach(x))
	}
	if len(scopes) == 0 {
		scopes = append(scopes, AccountScope)
	}
	for _, s := range scopes {
		if !a.Holds(PermUsersManage, s) {
			return fmt.Errorf("%w: you need %s at %s to manage member %q", ErrOutsideManagedScope, PermUsersManage, s, after.ID)
		}
	}

	// Every added assignment must be valid and within the actor's rights.
	for _, x := range after.Assignments {
		if !creating && hasAssignment(before.Assignments, x) {
			continue
		}
		if err := rs.ValidateAssignment(x); err != nil {
			return err
		}
		if x.Role == "" {
			bits, _ := rs.permissionBits(x.Permissions) // validated above
			if reserved := bits.andNot(rs.nonAdminOnlyBits(x.Scope.Kind)); !a.isAdmin && !reserved.empty() {
				// Toggles never rebuild an admin-only role piecemeal: a
				// non-administrator grants only permissions some role it
				// could grant holds.
				return fmt.Errorf("%w: only administrators grant %s (no role that non-administrators grant holds it)",
					ErrAdminOnlyRole, strings.Join(cat().keys(reserved), ", "))
			}
			if missing := bits.andNot(a.heldAt(x.Scope)); !missing.empty() {
				return fmt.Errorf("%w: cannot grant %s at %s: you lack %s there",
					ErrExceedsOwnRights, strings.Join(x.Permissions, ", "), x.Scope, strings.Join(cat().keys(missing), ", "))
			}
			continue
		}
		role := rs.roles[x.Role]
		if role.role.AdminOnly && !a.isAdmin {
			return fmt.Errorf("%w: only administrators grant role %q", ErrAdminOnlyRole, x.Role)
		}
		at := x.Scope
		if role.accountWide() {
			at = AccountScope // its grant reaches the whole account
		}
		held := a.heldAt(at)
		if missing := role.bits.andNot(held); !missing.empty() {
			return fmt.Errorf("%w: cannot grant role %q at %s: you lack %s there",
				ErrExceedsOwnRights, x.Role, at, strings.Join(cat().keys(missing), ", "))
		}
	}
	return nil
}

// PermUsersManage is the permission that lets a member manage other
// members in its scopes.
const PermUsersManage = "users.manage"

// reach is the scope an assignment's grant reaches: AccountScope for a
// role whose grants count account-wide (a billing variant), its own scope
// otherwise.
func (rs *RoleSet) reach(x Assignment) Scope {
	if r, ok := rs.roles[x.Role]; ok && x.Role != "" && r.accountWide() {
		return AccountScope
	}
	return x.Scope
}

// nonAdminOnlyBits is the union of the permissions of the roles that are
// not admin-only and may be assigned at that kind of scope: what a
// non-administrator may grant there as a permission assignment (still
// within its own rights). So keys only an admin-only role carries at a
// kind of scope (the storefront's supplier scopes) stay an
// administrator's to give.
func (rs *RoleSet) nonAdminOnlyBits(kind ScopeKind) permSet {
	var out permSet
	for _, r := range rs.roles {
		if !r.role.AdminOnly && !r.role.Admin && r.allowedAt(kind) {
			out = out.or(r.bits)
		}
	}
	return out
}

func appendScope(list []Scope, s Scope) []Scope {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func statusText(s Status) string {
	if s == "" {
		return "without a status"
	}
	return string(s)
}

// CheckImpersonation decides whether actor may log in as target: the
// actor must be an active administrator (users.impersonate is critical),
// the target an active non-administrator of the same account, not the
// actor. Errors wrap ErrNotActive, ErrCrossTenant, ErrAdminOnly or
// ErrCannotImpersonate.
func (rs *RoleSet) CheckImpersonation(actor, target Member) error {
	a := rs.Compile(actor)
	if actor.Status != StatusActive {
		return fmt.Errorf("%w: you are %s", ErrNotActive, statusText(actor.Status))
	}
	if target.Account != actor.Account {
		return fmt.Errorf("%w: member %q is not in your account", ErrCrossTenant, target.ID)
	}
	if !a.Holds("users.impersonate", AccountScope) {
		return fmt.Errorf("%w: logging in as another member", ErrAdminOnly)
	}
	if actor.ID == target.ID {
		return fmt.Errorf("%w: that is you", ErrCannotImpersonate)
	}
	if rs.IsAdmin(target) {
		return fmt.Errorf("%w: member %q is an administrator", ErrCannotImpersonate, target.ID)
	}
	if target.Status != StatusActive {
		return fmt.Errorf("%w: member %q is %s", ErrNotActive, target.ID, statusText(target.Status))
	}
	return nil
}

// CheckOwnershipTransfer decides whether actor may transfer ownership to
// target: the actor must be the active owner, the target another active
// member of the same account. (The transfer then sets Owner on the target
// and clears it on the actor, who stays an administrator.) Errors wrap
// ErrNotActive, ErrCrossTenant, ErrOwnerOnly or ErrSelfChange.
func (rs *RoleSet) CheckOwnershipTransfer(actor, target Member) error {
	if actor.Status != StatusActive {
		return fmt.Errorf("%w: you are %s", ErrNotActive, statusText(actor.Status))
	}
	if !actor.Owner {
		return fmt.Errorf("%w: transferring ownership", ErrOwnerOnly)
	}
	if target.Account != actor.Account {
		return fmt.Errorf("%w: member %q is not in your account", ErrCrossTenant, target.ID)
	}
	if target.ID == actor.ID {
		return fmt.Errorf("%w: you already own the account", ErrSelfChange)
	}
	if target.Status != StatusActive {
		return fmt.Errorf("%w: member %q is %s", ErrNotActive, target.ID, statusText(target.Status))
	}
	return nil
}

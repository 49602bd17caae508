package rbac

import "errors"

// Validation errors. Functions wrap them with detail, e.g.
// fmt.Errorf("%w: missing id after \"store:\"", ErrInvalidScope); test with
// errors.Is.
var (
	// ErrInvalidScope: a scope is not "account", "store:{id}",
	// "department:{id}" or "supplier:{id}".
	ErrInvalidScope = errors.New("invalid scope")
	// ErrInvalidPermissionKey: a permission key is not lower-case dotted
	// words such as "orders.view".
	ErrInvalidPermissionKey = errors.New("invalid permission key")
	// ErrUnknownPermission: a well-formed permission key is not in the
	// catalogue.
	ErrUnknownPermission = errors.New("unknown permission")
	// ErrInvalidRole: a role definition is malformed (id format, name, no
	// permissions, duplicate permission, bad scope kind).
	ErrInvalidRole = errors.New("invalid role")
	// ErrRoleCollision: a custom role reuses the id of a built-in role or
	// of another custom role.
	ErrRoleCollision = errors.New("role id collides with an existing role")
	// ErrReservedPermission: a custom role lists a critical or owner-only
	// permission, which only administrators or the owner hold.
	ErrReservedPermission = errors.New("permission reserved to administrators or the owner")
	// ErrUnknownRole: an assignment names a role the role set does not
	// define.
	ErrUnknownRole = errors.New("unknown role")
	// ErrScopeNotAllowed: a role cannot be assigned at that kind of scope
	// (e.g. supplier at account).
	ErrScopeNotAllowed = errors.New("role not assignable at this scope")
	// ErrInvalidAssignment: an assignment gives both a role and
	// permissions, or neither, or too many or repeated permissions.
	ErrInvalidAssignment = errors.New("invalid assignment")
	// ErrInvalidOptions: role set options name an unknown preset or
	// billing setting, or a lock-by-age out of bounds.
	ErrInvalidOptions = errors.New("invalid role set options")
)

// Grant ceiling errors, returned by RoleSet.CheckChange,
// RoleSet.CheckImpersonation and RoleSet.CheckOwnershipTransfer.
var (
	// ErrNotActive: the actor (or the member to impersonate or to make
	// owner) is not an active member.
	ErrNotActive = errors.New("member not active")
	// ErrCrossTenant: actor and target belong to different accounts.
	ErrCrossTenant = errors.New("member of another account")
	// ErrInvalidChange: before and after describe different members.
	ErrInvalidChange = errors.New("invalid member change")
	// ErrSelfChange: nobody changes their own grants, admin flag or status.
	ErrSelfChange = errors.New("cannot change own grants")
	// ErrAdminOnly: only administrators make or unmake administrators, or
	// change an administrator.
	ErrAdminOnly = errors.New("only administrators may do this")
	// ErrAdminOnlyRole: the role is granted by administrators only (a
	// built-in junior admin, senior manager or department manager, or a
	// custom role flagged adminOnly).
	ErrAdminOnlyRole = errors.New("role granted by administrators only")
	// ErrOwnerOnly: only the account owner may do this.
	ErrOwnerOnly = errors.New("only the account owner may do this")
	// ErrOwnerProtected: the owner cannot be demoted, suspended or removed,
	// and ownership moves only by an explicit transfer.
	ErrOwnerProtected = errors.New("the account owner cannot be changed this way")
	// ErrOutsideManagedScope: the actor lacks users.manage at a scope the
	// target member has (or gets) an assignment in.
	ErrOutsideManagedScope = errors.New("member outside the scopes you manage")
	// ErrExceedsOwnRights: the actor would grant a permission it does not
	// hold itself at that scope.
	ErrExceedsOwnRights = errors.New("grant exceeds your own rights")
	// ErrCannotImpersonate: the target of an impersonation is an
	// administrator or the owner, or the actor is the target.
	ErrCannotImpersonate = errors.New("cannot log in as this member")
)

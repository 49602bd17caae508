package apikey

import (
	"fmt"

	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// Role is the id of the synthetic role that carries an API key's
// permissions: a key acts as a member holding this role at each of the
// key's scopes. The id contains '-', which custom role ids cannot, so it
// never collides with an account's role, and the role exists only in the
// role set RoleSet returns for the key's own requests
// (rbac.RoleSet.WithSyntheticRole): nobody can assign it to a member.
const Role = "api-key"

// scopeKinds: an API key may be scoped to any kind of scope.
var scopeKinds = []rbac.ScopeKind{rbac.ScopeAccount, rbac.ScopeStore, rbac.ScopeDepartment, rbac.ScopeSupplier}

// ValidatePermissions checks the permission list of an API key: at least
// one key, each well formed, in the catalogue and of the normal tier
// (critical and owner-only permissions stay with people: administrators
// and the owner), none twice. Errors wrap rbac.ErrInvalidPermissionKey,
// rbac.ErrUnknownPermission, rbac.ErrReservedPermission or
// rbac.ErrInvalidRole. Dependencies are not checked here.
func ValidatePermissions(perms []string) error {
	if len(perms) == 0 {
		return fmt.Errorf("%w: an API key needs at least one permission", rbac.ErrInvalidRole)
	}
	seen := make(map[string]bool, len(perms))
	for _, k := range perms {
		if err := rbac.ValidatePermissionKey(k); err != nil {
			return err
		}
		if p, _ := rbac.LookupPermission(k); p.Tier != rbac.TierNormal {
			return fmt.Errorf("%w: %s cannot be given to an API key", rbac.ErrReservedPermission, k)
		}
		if seen[k] {
			return fmt.Errorf("%w: permission %q listed twice", rbac.ErrInvalidRole, k)
		}
		seen[k] = true
	}
	return nil
}

// RoleSet returns a role set that is base plus the synthetic role Role
// granting perms (checked as ValidatePermissions does), assignable at
// every kind of scope. base is not changed; the synthetic role is not
// listed by Roles, and the grant ceiling never lets it be assigned to a
// member.
func RoleSet(base *rbac.RoleSet, perms []string) (*rbac.RoleSet, error) {
	if err := ValidatePermissions(perms); err != nil {
		return nil, err
	}
	return base.WithSyntheticRole(rbac.Role{
		ID: Role, Name: "API key", Description: "The permissions of an API key.",
		Permissions: perms, ScopeKinds: scopeKinds,
	})
}

// Member is the member a key acts as: id "apikey:<key id>", the key's
// name, status active (deleted once the key is revoked), no admin flag,
// and Role at each of the key's scopes.
func Member(key store.APIKey) team.Member {
	m := team.Member{
		ID: ActorPrefix + key.ID, AccountID: key.AccountID, Name: key.Name, Status: rbac.StatusActive,
		Version: key.Version, CreatedAt: key.CreatedAt, UpdatedAt: key.CreatedAt,
	}
	if !key.RevokedAt.IsZero() {
		m.Status = rbac.StatusDeleted
	}
	for _, sc := range key.Scopes {
		m.Assignments = append(m.Assignments, rbac.Assignment{Role: Role, Scope: sc})
	}
	return m
}

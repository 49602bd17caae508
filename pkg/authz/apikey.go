package authz

import (
	"fmt"
	"sync"
)

// APIKeyRole is the id of the synthetic role that carries an API key's
// permissions: an API key acts as a member holding this role at each of the
// key's scopes. The id contains '-', which custom role ids cannot, so it
// never collides with an account's role, and the role exists only in the
// role set RoleSet.WithAPIKey returns for the key's own requests.
const APIKeyRole = "api-key"

// apiKeyKinds: an API key may be scoped to any kind of scope.
var apiKeyKinds = []ScopeKind{ScopeAccount, ScopeStore, ScopeDepartment, ScopeSupplier}

// unholdable is a bit outside the catalogue (-1 when the bitsets have no
// spare bit). The synthetic role's set includes it and no principal ever
// holds it (heldAt keeps catalogue bits only), so the grant ceiling refuses
// anybody, the key included, who would assign APIKeyRole to a member.
var unholdable = sync.OnceValue(func() int {
	if len(cat().perms) < maxPermissions {
		return maxPermissions - 1
	}
	return -1
})

// ValidateAPIKeyPermissions checks the permission list of an API key: at
// least one key, each well formed, in the catalogue and of the normal tier
// (critical and owner-only permissions stay with people: administrators
// and the owner), none twice. Errors wrap ErrInvalidPermissionKey,
// ErrUnknownPermission, ErrReservedPermission or ErrInvalidRole.
// Dependencies are not checked here.
func ValidateAPIKeyPermissions(perms []string) error {
	_, err := apiKeyBits(perms)
	return err
}

func apiKeyBits(perms []string) (permSet, error) {
	var bits permSet
	if len(perms) == 0 {
		return bits, fmt.Errorf("%w: an API key needs at least one permission", ErrInvalidRole)
	}
	for _, k := range perms {
		if err := ValidatePermissionKey(k); err != nil {
			return bits, err
		}
		i := cat().index[k]
		if cat().tiers[i] != TierNormal {
			return bits, fmt.Errorf("%w: %s cannot be given to an API key", ErrReservedPermission, k)
		}
		if bits.has(i) {
			return bits, fmt.Errorf("%w: permission %q listed twice", ErrInvalidRole, k)
		}
		bits.add(i)
	}
	return bits, nil
}

// WithAPIKey returns a role set that is rs plus the synthetic role
// APIKeyRole granting perms (checked as ValidateAPIKeyPermissions does),
// assignable at every kind of scope. rs is not changed. The synthetic role
// is not listed by Roles, and the grant ceiling (CheckChange) never lets it
// be assigned to a member.
func (rs *RoleSet) WithAPIKey(perms []string) (*RoleSet, error) {
	bits, err := apiKeyBits(perms)
	if err != nil {
		return nil, err
	}
	if _, dup := rs.roles[APIKeyRole]; dup {
		return nil, fmt.Errorf("%w: %q is already defined", ErrRoleCollision, APIKeyRole)
	}
	kinds, sk, err := parseScopeKinds(scopeKindStrings(apiKeyKinds))
	if err != nil {
		return nil, err
	}
	out := &RoleSet{roles: make(map[string]*compiledRole, len(rs.roles)+1), order: rs.order[:len(rs.order):len(rs.order)]}
	for id, r := range rs.roles {
		out.roles[id] = r
	}
	held := bits
	if unholdable() >= 0 {
		held.add(unholdable())
	}
	out.roles[APIKeyRole] = &compiledRole{
		role: Role{
			ID: APIKeyRole, Name: "API key", Description: "The permissions of an API key.",
			Permissions: cat().keys(bits), ScopeKinds: sk,
		},
		bits:  held,
		kinds: kinds,
	}
	return out, nil
}

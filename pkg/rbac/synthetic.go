package rbac

import (
	"fmt"
	"sync"
)

// unholdable is a bit outside the catalogue (-1 when the bitsets have no
// spare bit). A synthetic role's set includes it and no principal ever
// holds it (heldAt keeps catalogue bits only), so the grant ceiling refuses
// anybody, a holder of the synthetic role included, who would assign that
// role to a member.
var unholdable = sync.OnceValue(func() int {
	if len(cat().perms) < maxPermissions {
		return maxPermissions - 1
	}
	return -1
})

// WithSyntheticRole returns a role set that is rs plus r, a role that
// exists only in the returned set: a principal that is not a member (an
// API key, see pkg/apikeys/apikey) acts as a member holding r. r carries
// r.Permissions (at least one, each well formed and in the catalogue, none
// twice; listed in catalogue order) and may be held at r.ScopeKinds; it is
// never an administrator role (Admin, AdminOnly and BuiltIn are cleared).
// rs is not changed. Roles does not list r, and the grant ceiling (CheckChange)
// never lets anybody assign it to a member. Errors wrap
// ErrInvalidPermissionKey, ErrUnknownPermission, ErrInvalidRole or
// ErrRoleCollision (r.ID is a role of rs already).
func (rs *RoleSet) WithSyntheticRole(r Role) (*RoleSet, error) {
	var bits permSet
	if len(r.Permissions) == 0 {
		return nil, fmt.Errorf("%w: a synthetic role needs at least one permission", ErrInvalidRole)
	}
	for _, k := range r.Permissions {
		if err := ValidatePermissionKey(k); err != nil {
			return nil, err
		}
		i := cat().index[k]
		if bits.has(i) {
			return nil, fmt.Errorf("%w: permission %q listed twice", ErrInvalidRole, k)
		}
		bits.add(i)
	}
	if _, dup := rs.roles[r.ID]; dup {
		return nil, fmt.Errorf("%w: %q is already defined", ErrRoleCollision, r.ID)
	}
	kinds, sk, err := parseScopeKinds(scopeKindStrings(r.ScopeKinds))
	if err != nil {
		return nil, err
	}
	out := rs.clone(1)
	held := bits
	if u := unholdable(); u >= 0 {
		held.add(u)
	}
	r.Permissions, r.ScopeKinds = cat().keys(bits), sk
	r.Admin, r.AdminOnly, r.BuiltIn = false, false, false
	out.roles[r.ID] = &compiledRole{role: r, bits: held, kinds: kinds}
	return out, nil
}

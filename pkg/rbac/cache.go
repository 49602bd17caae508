package rbac

import (
	"errors"
	"fmt"
	"sync"
)

// RoleSetCache keeps compiled role sets by account and the version of the
// account's custom roles, so that a request compiles only its member. A
// changed role bumps the version, so the next request sees it. It is safe
// for concurrent use; the zero value is ready.
type RoleSetCache struct {
	mu sync.Mutex
	m  map[string]cachedRoleSet
}

type cachedRoleSet struct {
	version int64
	opts    Options
	rs      *RoleSet
}

// maxCachedRoleSets bounds the cache; past it the cache starts over.
const maxCachedRoleSets = 10000

// Get returns the role set of an account created with o.Preset, under
// settings o, whose custom roles are custom at version: the preset's
// shared set when it has none and no lock-by-age.
func (c *RoleSetCache) Get(account string, o Options, version int64, custom []Role) (*RoleSet, error) {
	if len(custom) == 0 && o.LockAfterDays == 0 {
		rs, err := NewRoleSetFor(o)
		if err != nil {
			return nil, fmt.Errorf("account %s: %w", account, err)
		}
		return rs, nil
	}
	c.mu.Lock()
	hit, ok := c.m[account]
	c.mu.Unlock()
	if ok && hit.version == version && hit.opts == o {
		return hit.rs, nil
	}
	rs, err := NewRoleSetFor(o, custom...)
	if err != nil {
		return nil, fmt.Errorf("account %s: stored custom roles: %w", account, err)
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedRoleSets {
		c.m = map[string]cachedRoleSet{}
	}
	c.m[account] = cachedRoleSet{version: version, opts: o, rs: rs}
	c.mu.Unlock()
	return rs, nil
}

// ErrorCode is the stable API code of a grant-ceiling error ("admin_only",
// "owner_protected", "self_change", "exceeds_own_rights", ...), or
// "forbidden" for any other.
func ErrorCode(err error) string {
	for _, c := range []struct {
		err  error
		code string
	}{
		{ErrAdminOnlyRole, "admin_only_role"},
		{ErrAdminOnly, "admin_only"},
		{ErrOwnerOnly, "owner_only"},
		{ErrOwnerProtected, "owner_protected"},
		{ErrSelfChange, "self_change"},
		{ErrNotActive, "member_not_active"},
		{ErrExceedsOwnRights, "exceeds_own_rights"},
		{ErrOutsideManagedScope, "outside_managed_scope"},
		{ErrCannotImpersonate, "cannot_impersonate"},
		{ErrCrossTenant, "cross_tenant"},
	} {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return "forbidden"
}

package rbac

// ScopePermissions is the set of permissions a member holds at one scope.
type ScopePermissions struct {
	// Scope is the scope.
	Scope Scope
	// Permissions are the permission keys held there, in catalogue order.
	Permissions []string
}

// prune keeps the permissions of u whose dependencies u also holds: what
// decisions actually allow.
func prune(u permSet) permSet {
	var out permSet
	for _, i := range u.indexes() {
		if i < len(cat().perms) && u.containsAll(cat().deps[i]) {
			out.add(i)
		}
	}
	return out
}

// heldAt returns the permissions the member holds at exactly scope s
// (account grants plus the grants at s), dependencies enforced. An
// administrator holds every non-owner permission everywhere; the owner
// also the owner-only ones. Non-active members hold nothing.
func (p *Principal) heldAt(s Scope) permSet {
	if p.status != StatusActive {
		return permSet{}
	}
	if p.admin {
		if p.owner {
			return cat().all.or(cat().owner)
		}
		return cat().all
	}
	u := p.acct
	if s.Kind != ScopeAccount {
		for i := range p.scoped {
			if p.scoped[i].scope == s {
				u = u.or(p.scoped[i].bits)
			}
		}
	}
	return prune(u)
}

// Holds reports whether the member holds permission key at exactly scope
// s: the rule the grant ceiling uses. Account scope counts only
// account-scope grants (and account-wide permissions).
func (p *Principal) Holds(key string, s Scope) bool {
	i, ok := cat().index[key]
	return ok && p.heldAt(s).has(i)
}

// Effective lists the member's effective permissions: first at account
// scope, then at each store, department and supplier scope it has an
// assignment in (in assignment order), each including what account-scope
// grants give and with dependencies enforced, as GET /v1/me/permissions
// shows them. An administrator gets one account entry with every
// permission (the owner also the owner-only ones). A member that is not
// active gets nil.
func (p *Principal) Effective() []ScopePermissions {
	if p.status != StatusActive {
		return nil
	}
	out := []ScopePermissions{{Scope: AccountScope, Permissions: nonNil(cat().keys(p.heldAt(AccountScope)))}}
	if p.admin {
		return out
	}
	for i := range p.scoped {
		s := p.scoped[i].scope
		seen := false
		for _, e := range out {
			if e.Scope == s {
				seen = true
				break
			}
		}
		if !seen {
			out = append(out, ScopePermissions{Scope: s, Permissions: nonNil(cat().keys(p.heldAt(s)))})
		}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// WhoCan returns the members allowed to perform action on r, in input
// order: e.g. who to email for an approval request. The caller loads the
// candidates; this only decides.
func (rs *RoleSet) WhoCan(members []Member, action string, r Resource) []Member {
	var out []Member
	for _, m := range members {
		if rs.Compile(m).Decide(action, r).Allowed {
			out = append(out, m)
		}
	}
	return out
}

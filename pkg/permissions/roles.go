package permissions

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// roleView is a role as the API shows it and as audit events record it.
type (
	roleView struct {
		ID          string        `json:"id"`
		Name        string        `json:"name"`
		Description string        `json:"description"`
		Permissions []string      `json:"permissions"`
		ScopeKinds  []string      `json:"scopeKinds"`
		BuiltIn     bool          `json:"builtIn"`
		Admin       bool          `json:"admin"`
		AdminOnly   bool          `json:"adminOnly"`
		Warnings    []warningView `json:"warnings,omitempty"`
		// Status is "deleting" while the role's deletion moves its
		// holders (HoldersLeft of them left as of the last chunk, to be
		// handled as Deletion says); absent otherwise.
		Status      string        `json:"status,omitempty"`
		HoldersLeft *int          `json:"holdersLeft,omitempty"`
		Deletion    *deletionView `json:"deletion,omitempty"`
	}
	deletionView struct {
		Members string `json:"members"`
		To      string `json:"to,omitempty"`
	}
	warningView struct {
		Permission string   `json:"permission"`
		Needs      []string `json:"needs"`
		Message    string   `json:"message"`
	}
)

// RoleInput is a new custom role (the body of POST /v1/roles).
type RoleInput struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Permissions []string `json:"permissions"`
	ScopeKinds  []string `json:"scopeKinds,omitempty"`
	AdminOnly   bool     `json:"adminOnly,omitempty"`
}

// RolePatch changes a custom role (the body of PATCH /v1/roles/{id}):
// nil fields stay.
type RolePatch struct {
	Name        *string   `json:"name,omitempty"`
	Description *string   `json:"description,omitempty"`
	Permissions *[]string `json:"permissions,omitempty"`
	ScopeKinds  *[]string `json:"scopeKinds,omitempty"`
	AdminOnly   *bool     `json:"adminOnly,omitempty"`
}

// Roles are the built-in roles and an account's custom roles, with the
// version of the account's custom roles (0 when it has none) and the
// custom roles' states (a deletion under way).
type Roles struct {
	Roles   []rbac.Role
	Version int64
	States  map[string]store.RoleState
}

// RoleChange is a role as a change stored it, with the warnings about its
// definition (missing dependencies, which do not block a change) and the
// new version of the account's custom roles.
type RoleChange struct {
	Role     rbac.Role
	Warnings []rbac.Warning
	Version  int64
}

// What DeleteRole does with the members holding the role.
const (
	// MembersReassign gives the members the same scopes of another role.
	MembersReassign = "reassign"
	// MembersRemove drops their assignments of the role.
	MembersRemove = "remove"
)

// DeleteOptions say what happens to the members holding a deleted role:
// Members is "" (the role must be unheld), MembersReassign (with To, the
// role they get instead) or MembersRemove.
type DeleteOptions struct {
	Members string
	To      string
}

// MemberMoves are the members a role deletion changed.
type MemberMoves struct {
	Action string   `json:"action"`
	To     string   `json:"to,omitempty"`
	Count  int      `json:"count"`
	IDs    []string `json:"ids"`
}

// RoleDeletion is the outcome of DeleteRole: the members it changed and
// the new version of the account's custom roles. Pending is set when the
// deletion is not finished (its time budget ran out): the role is marked
// for deletion, with State saying what is left, and Role as it stands.
type RoleDeletion struct {
	ID      string
	Members MemberMoves
	Version int64
	Pending bool
	Role    rbac.Role
	State   store.RoleState
}

// withState adds a role's deletion state to its view.
func (v roleView) withState(st store.RoleState) roleView {
	if st.Deleting {
		left := st.HoldersLeft
		v.Status, v.HoldersLeft, v.Deletion = "deleting", &left, &deletionView{Members: st.Members, To: st.To}
	}
	return v
}

func toRoleView(r rbac.Role, warnings []rbac.Warning) roleView {
	v := roleView{
		ID: r.ID, Name: r.Name, Description: r.Description, Permissions: nonNil(slices.Clone(r.Permissions)),
		ScopeKinds: []string{}, BuiltIn: r.BuiltIn, Admin: r.Admin, AdminOnly: r.AdminOnly,
	}
	for _, k := range r.ScopeKinds {
		v.ScopeKinds = append(v.ScopeKinds, string(k))
	}
	for _, w := range warnings {
		v.Warnings = append(v.Warnings, warningView{Permission: w.Permission, Needs: w.Needs, Message: w.String()})
	}
	return v
}

// saveAttempts is how often a change without If-Match re-reads and retries
// when another change of the account's roles or members wins the race.
const saveAttempts = 3

var (
	errBuiltIn = fault.New(fault.Forbidden, "built_in_role",
		"Built-in roles cannot be changed or deleted; create a custom role instead.")
	errCannotManageRoles = fault.New(fault.Forbidden, "forbidden",
		"Managing roles needs settings.manage at account scope (administrators have it).")
	errAdminOnlyRole = fault.New(fault.Forbidden, "admin_only_role",
		"Only administrators create, change or delete an admin-only role, or set or clear adminOnly.")
)

// guardAdminOnly lets only administrators touch an admin-only role (or
// make one): otherwise anyone with settings.manage could clear the flag and
// hand the role out.
func guardAdminOnly(p *auth.Principal, adminOnly bool) error {
	if adminOnly && !p.Authz.IsAdmin() {
		return errAdminOnlyRole
	}
	return nil
}

func errRoleNotFound(id string) error {
	return fault.New(fault.NotFound, "role_not_found", fmt.Sprintf("There is no role %q in this account.", id))
}

// canManageRoles enforces who may create, change and delete roles.
func canManageRoles(p *auth.Principal) error {
	if !p.Authz.Holds(permSettingsManage, rbac.AccountScope) {
		return errCannotManageRoles
	}
	return nil
}

// ceiling returns the permissions of keys the caller does not hold at
// account scope, in catalogue order of appearance, without duplicates.
func ceiling(p *auth.Principal, keys ...[]string) []string {
	var missing []string
	for _, ks := range keys {
		for _, k := range ks {
			if !p.Authz.Holds(k, rbac.AccountScope) && !slices.Contains(missing, k) {
				missing = append(missing, k)
			}
		}
	}
	return missing
}

func errExceeds(verb string, missing []string) error {
	e := fault.New(fault.Forbidden, "exceeds_own_rights",
		fmt.Sprintf("You cannot %s a role with permissions you do not hold at account scope: %s.", verb, strings.Join(missing, ", ")))
	e.Extra = map[string]any{"missing": missing}
	return e
}

// roleError turns a role validation error of rbac into a problem.
func roleError(err error) error {
	switch {
	case errors.Is(err, rbac.ErrRoleCollision):
		return fault.New(fault.Conflict, "role_exists", err.Error())
	case errors.Is(err, rbac.ErrReservedPermission):
		return badRequest("reserved_permission", "permissions", err.Error())
	case errors.Is(err, rbac.ErrUnknownPermission), errors.Is(err, rbac.ErrInvalidPermissionKey):
		return badRequest("unknown_permission", "permissions", err.Error())
	case errors.Is(err, rbac.ErrInvalidRole):
		return badRequest("invalid_role", "", err.Error())
	}
	return err
}

// ListRoles returns the built-in roles and the account's custom roles
// (listRoles), with the version of the custom roles, which is the ETag of
// every role. Every member may read them.
func (s *Service) ListRoles(ctx context.Context, p *auth.Principal) (Roles, error) {
	if err := caller(p); err != nil {
		return Roles{}, err
	}
	cr, rs, err := s.loadRoles(ctx, p.AccountID())
	if err != nil {
		return Roles{}, err
	}
	return Roles{Roles: rs.Roles(), Version: cr.Version, States: cr.States}, nil
}

// GetRole returns a built-in or custom role of the caller's account
// (getRole) and the version of the account's custom roles.
func (s *Service) GetRole(ctx context.Context, p *auth.Principal, id string) (rbac.Role, int64, error) {
	role, _, v, err := s.getRole(ctx, p, id)
	return role, v, err
}

// getRole is GetRole with the role's state (a deletion under way).
func (s *Service) getRole(ctx context.Context, p *auth.Principal, id string) (rbac.Role, store.RoleState, int64, error) {
	if err := caller(p); err != nil {
		return rbac.Role{}, store.RoleState{}, 0, err
	}
	cr, rs, err := s.loadRoles(ctx, p.AccountID())
	if err != nil {
		return rbac.Role{}, store.RoleState{}, 0, err
	}
	role, ok := rs.Role(id)
	if !ok {
		return rbac.Role{}, store.RoleState{}, 0, errRoleNotFound(id)
	}
	return role, cr.State(id), cr.Version, nil
}

// loadRoles reads the account's custom roles and compiles them with the
// built-ins.
func (s *Service) loadRoles(ctx context.Context, account string) (store.CustomRoles, *rbac.RoleSet, error) {
	cr, err := s.Store.GetCustomRoles(ctx, account)
	if err != nil {
		return store.CustomRoles{}, nil, err
	}
	rs, err := s.roleSets.Get(account, cr.Options, cr.Version, cr.Roles)
	return cr, rs, err
}

// CreateRole creates a custom role (createRole). The caller needs
// settings.manage at account scope and every permission of the role there
// (the grant ceiling); only administrators make an admin-only role. When
// another change of the account's roles wins the race, it re-reads and
// retries a few times.
func (s *Service) CreateRole(ctx context.Context, p *auth.Principal, in RoleInput) (RoleChange, error) {
	if err := caller(p); err != nil {
		return RoleChange{}, err
	}
	if err := canManageRoles(p); err != nil {
		return RoleChange{}, err
	}
	role, err := in.role()
	if err != nil {
		return RoleChange{}, err
	}
	warnings, err := rbac.ValidateRole(role)
	if err != nil {
		return RoleChange{}, roleError(err)
	}
	if err := guardAdminOnly(p, role.AdminOnly); err != nil {
		return RoleChange{}, err
	}
	if missing := ceiling(p, role.Permissions); len(missing) > 0 {
		return RoleChange{}, errExceeds("create", missing)
	}
	account := p.AccountID()
	for range saveAttempts {
		cr, err := s.Store.GetCustomRoles(ctx, account)
		if err != nil {
			return RoleChange{}, err
		}
		if slices.ContainsFunc(cr.Roles, func(x rbac.Role) bool { return x.ID == role.ID }) {
			return RoleChange{}, fault.New(fault.Conflict, "role_exists", fmt.Sprintf("Role %q exists already; change it with PATCH /v1/roles/%s.", role.ID, role.ID))
		}
		if len(cr.Roles) >= store.MaxCustomRoles {
			return RoleChange{}, fault.New(fault.Conflict, "too_many_roles", fmt.Sprintf("An account has at most %d custom roles; delete one first.", store.MaxCustomRoles))
		}
		roles, saved, err := withRole(cr.Options, cr.Roles, role)
		if err != nil {
			return RoleChange{}, err
		}
		view := toRoleView(saved, nil)
		v, err := p.Acting(s.Store).SaveCustomRoles(ctx, account, roles, cr.Version, nil, roleEvent(ctx, p, "role.create", role.ID, nil, view))
		if errors.Is(err, team.ErrStaleVersion) {
			continue
		}
		if err != nil {
			return RoleChange{}, err
		}
		return RoleChange{Role: saved, Warnings: warnings, Version: v}, nil
	}
	return RoleChange{}, errConcurrentChange
}

// role builds the custom role of a create request.
func (in RoleInput) role() (rbac.Role, error) {
	if in.ID == "" {
		return rbac.Role{}, badRequest("missing_field", "id", `Field "id" is required: lower-case letters, digits and '_', starting with a letter.`)
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		return rbac.Role{}, badRequest("missing_field", "name", `Field "name" is required.`)
	}
	if _, err := httpapi.CleanName("name", name, 100, true); err != nil {
		return rbac.Role{}, err
	}
	desc, err := httpapi.CleanText("description", in.Description, 1000)
	if err != nil {
		return rbac.Role{}, err
	}
	if len(in.Permissions) == 0 {
		return rbac.Role{}, badRequest("missing_field", "permissions", `Field "permissions" must list at least one permission key.`)
	}
	return rbac.Role{
		ID: in.ID, Name: name, Description: desc,
		Permissions: in.Permissions, ScopeKinds: scopeKinds(in.ScopeKinds), AdminOnly: in.AdminOnly,
	}, nil
}

func scopeKinds(in []string) []rbac.ScopeKind {
	out := make([]rbac.ScopeKind, 0, len(in))
	for _, k := range in {
		out = append(out, rbac.ScopeKind(k))
	}
	return out
}

// withRole returns roles with role added, or replacing the role of the same
// id, all validated together, and the role as stored (permissions in
// catalogue order, scope kinds explicit).
func withRole(o rbac.Options, roles []rbac.Role, role rbac.Role) ([]rbac.Role, rbac.Role, error) {
	out := slices.Clone(roles)
	i := slices.IndexFunc(out, func(x rbac.Role) bool { return x.ID == role.ID })
	if i < 0 {
		out = append(out, role)
		i = len(out) - 1
	} else {
		out[i] = role
	}
	rs, err := rbac.NewRoleSetFor(o, out...)
	if err == nil {
		// A custom role draws from the account preset's catalogue.
		err = rs.CheckCatalogue(role.Permissions)
	}
	if err != nil {
		return nil, rbac.Role{}, roleError(err)
	}
	saved, _ := rs.Role(role.ID)
	out[i] = saved
	return out, saved, nil
}

// UpdateRole changes the fields in gives of custom role id
// (updateRole). ifMatch is required: it must name the current version of
// the account's custom roles (an absent one is 428 precondition_required,
// a stale one 412 stale_version). The caller needs settings.manage at
// account scope and every permission of the role's current and new
// definitions there; narrowing the role's scope kinds while members hold
// it at a dropped kind is 409 role_in_use.
func (s *Service) UpdateRole(ctx context.Context, p *auth.Principal, id string, ifMatch httpapi.Precondition, in RolePatch) (RoleChange, error) {
	if err := caller(p); err != nil {
		return RoleChange{}, err
	}
	if err := canManageRoles(p); err != nil {
		return RoleChange{}, err
	}
	if rbac.IsBuiltInRole(id) {
		return RoleChange{}, errBuiltIn
	}
	if in.Name == nil && in.Description == nil && in.Permissions == nil && in.ScopeKinds == nil && in.AdminOnly == nil {
		return RoleChange{}, badRequest("empty_update", "", "Give at least one of name, description, permissions, scopeKinds, adminOnly.")
	}
	if !ifMatch.Present {
		return RoleChange{}, errPreconditionRequired
	}
	account := p.AccountID()
	cr, err := s.Store.GetCustomRoles(ctx, account)
	if err != nil {
		return RoleChange{}, err
	}
	if !ifMatch.Matches(cr.Version) {
		return RoleChange{}, errPreconditionFailed(cr.Version)
	}
	i := slices.IndexFunc(cr.Roles, func(x rbac.Role) bool { return x.ID == id })
	if i < 0 {
		return RoleChange{}, errRoleNotFound(id)
	}
	if cr.State(id).Deleting {
		return RoleChange{}, errRoleDeleting(id)
	}
	old := cr.Roles[i]
	next := old
	if in.AdminOnly != nil {
		next.AdminOnly = *in.AdminOnly
	}
	if err := guardAdminOnly(p, old.AdminOnly || next.AdminOnly); err != nil {
		return RoleChange{}, err
	}
	if in.Name != nil {
		next.Name = strings.TrimSpace(*in.Name)
		if next.Name == "" {
			return RoleChange{}, badRequest("invalid_field", "name", `Field "name" cannot be empty.`)
		}
		if _, err := httpapi.CleanName("name", next.Name, 100, true); err != nil {
			return RoleChange{}, err
		}
	}
	if in.Description != nil {
		if next.Description, err = httpapi.CleanText("description", *in.Description, 1000); err != nil {
			return RoleChange{}, err
		}
	}
	if in.Permissions != nil {
		if len(*in.Permissions) == 0 {
			return RoleChange{}, badRequest("invalid_field", "permissions", `Field "permissions" must list at least one permission key.`)
		}
		next.Permissions = *in.Permissions
	}
	if in.ScopeKinds != nil {
		next.ScopeKinds = scopeKinds(*in.ScopeKinds)
	}
	warnings, err := rbac.ValidateRole(next)
	if err != nil {
		return RoleChange{}, roleError(err)
	}
	if missing := ceiling(p, old.Permissions, next.Permissions); len(missing) > 0 {
		return RoleChange{}, errExceeds("change", missing)
	}
	roles, saved, err := withRole(cr.Options, cr.Roles, next)
	if err != nil {
		return RoleChange{}, err
	}
	current, err := s.roleSets.Get(account, cr.Options, cr.Version, cr.Roles)
	if err != nil {
		return RoleChange{}, err
	}
	old, _ = current.Role(id) // as compiled: scope kinds explicit
	if err := s.checkNarrowing(ctx, account, old, saved); err != nil {
		return RoleChange{}, err
	}
	v, err := p.Acting(s.Store).SaveCustomRoles(ctx, account, roles, cr.Version, nil,
		roleEvent(ctx, p, "role.update", id, toRoleView(old, nil), toRoleView(saved, nil)))
	if errors.Is(err, team.ErrStaleVersion) {
		return RoleChange{}, errPreconditionFailed(cr.Version + 1)
	}
	if errors.Is(err, store.ErrRoleDeleting) {
		return RoleChange{}, errRoleDeleting(id)
	}
	if err != nil {
		return RoleChange{}, err
	}
	return RoleChange{Role: saved, Warnings: warnings, Version: v}, nil
}

func errRoleDeleting(id string) error {
	return fault.New(fault.Conflict, "role_deleting",
		fmt.Sprintf("Role %q is being deleted; it cannot be changed. Repeat DELETE /v1/roles/%s to finish the deletion.", id, id))
}

// checkNarrowing refuses to drop a scope kind from a role while members
// hold the role at a scope of that kind: their assignments would silently
// grant nothing.
func (s *Service) checkNarrowing(ctx context.Context, account string, old, next rbac.Role) error {
	var dropped []rbac.ScopeKind
	for _, k := range old.ScopeKinds {
		if !slices.Contains(next.ScopeKinds, k) {
			dropped = append(dropped, k)
		}
	}
	if len(dropped) == 0 {
		return nil
	}
	members, err := s.Store.MembersWithRole(ctx, account, old.ID)
	if err != nil {
		return err
	}
	n := 0
	for _, m := range members {
		if slices.ContainsFunc(m.Assignments, func(a rbac.Assignment) bool {
			return a.Role == old.ID && slices.Contains(dropped, a.Scope.Kind)
		}) {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	e := fault.New(fault.Conflict, "role_in_use",
		fmt.Sprintf("%d member(s) hold role %q at a scope kind you are removing (%v); change their assignments first.", n, old.ID, dropped))
	e.Extra = map[string]any{"members": n}
	return e
}

// DeleteRole deletes custom role id (deleteRole). A role that members
// hold needs opts: MembersReassign with To, or MembersRemove; each member
// changes through the grant ceiling (rbac.RoleSet.CheckChange). Up to
// store.MaxMembersPerRoleChange holders change in the same transaction as
// the role's deletion. A role with more holders is marked for deletion
// first (no member can gain it from then on; GET shows it "deleting" with
// its holdersLeft), then its holders move in chunks of
// store.MaxMembersPerRoleChange, one transaction each, and the last chunk
// deletes the role. The request keeps moving chunks for the Service's
// DeleteBudget; when that runs out it answers Pending (HTTP 202), and the
// next DELETE of the role (the same or no parameters) resumes where the
// work stands. ifMatch is optional: when present it must name the current
// version of the account's custom roles; when absent, a lost race
// re-reads and retries a few times.
func (s *Service) DeleteRole(ctx context.Context, p *auth.Principal, id string, opts DeleteOptions, ifMatch httpapi.Precondition) (RoleDeletion, error) {
	if err := caller(p); err != nil {
		return RoleDeletion{}, err
	}
	if err := canManageRoles(p); err != nil {
		return RoleDeletion{}, err
	}
	if rbac.IsBuiltInRole(id) {
		return RoleDeletion{}, errBuiltIn
	}
	switch mode, to := opts.Members, opts.To; {
	case mode != "" && mode != MembersReassign && mode != MembersRemove:
		return RoleDeletion{}, badRequest("invalid_parameter", "members", `members must be "reassign" (with to=<roleId>) or "remove".`)
	case mode == MembersReassign && to == "":
		return RoleDeletion{}, badRequest("missing_parameter", "to", "members=reassign needs to=<roleId>: the role the members get instead.")
	case mode != MembersReassign && to != "":
		return RoleDeletion{}, badRequest("invalid_parameter", "to", "to=<roleId> goes with members=reassign.")
	case to == id:
		return RoleDeletion{}, badRequest("invalid_parameter", "to", "Members cannot be reassigned to the role being deleted.")
	}
	account := p.AccountID()
	budget := s.DeleteBudget
	if budget <= 0 {
		budget = DefaultDeleteBudget
	}
	started := time.Now()
	moves := MemberMoves{Action: opts.Members, To: opts.To, IDs: []string{}}
	chunks := 0
	for failures := 0; failures < saveAttempts; {
		cr, err := s.Store.GetCustomRoles(ctx, account)
		if err != nil {
			return RoleDeletion{}, err
		}
		if !ifMatch.Matches(cr.Version) {
			return RoleDeletion{}, errPreconditionFailed(cr.Version)
		}
		i := slices.IndexFunc(cr.Roles, func(x rbac.Role) bool { return x.ID == id })
		if i < 0 {
			return RoleDeletion{}, errRoleNotFound(id)
		}
		role, st := cr.Roles[i], cr.State(id)
		if err := guardAdminOnly(p, role.AdminOnly); err != nil {
			return RoleDeletion{}, err
		}
		if missing := ceiling(p, role.Permissions); len(missing) > 0 {
			return RoleDeletion{}, errExceeds("delete", missing)
		}
		mode, to := opts.Members, opts.To
		if st.Deleting {
			if mode != "" && (mode != st.Members || to != st.To) {
				e := fault.New(fault.Conflict, "role_deleting",
					fmt.Sprintf("Role %q is being deleted with members=%s%s; repeat DELETE /v1/roles/%s without parameters (or with the same ones) to continue.", id, st.Members, toParam(st.To), id))
				e.Extra = map[string]any{"holdersLeft": st.HoldersLeft}
				return RoleDeletion{}, e
			}
			mode, to = st.Members, st.To
			moves.Action, moves.To = mode, to
		}
		if chunks > 0 && time.Since(started) > budget {
			return RoleDeletion{ID: id, Members: moves, Version: cr.Version, Pending: true, Role: role, State: st}, nil
		}
		rs, err := s.roleSets.Get(account, cr.Options, cr.Version, cr.Roles)
		if err != nil {
			return RoleDeletion{}, err
		}
		if mode == MembersReassign {
			if _, ok := rs.Role(to); !ok {
				return RoleDeletion{}, badRequest("unknown_role", "to", fmt.Sprintf("There is no role %q to reassign the members to.", to))
			}
			if cr.State(to).Deleting {
				return RoleDeletion{}, fault.New(fault.Conflict, "reassign_not_allowed", fmt.Sprintf("Role %q is being deleted itself; reassign the members to another role.", to))
			}
		}
		holders, err := s.Store.MembersWithRole(ctx, account, id)
		if err != nil {
			return RoleDeletion{}, err
		}
		if len(holders) > 0 && mode == "" {
			e := fault.New(fault.Conflict, "role_in_use",
				fmt.Sprintf("Role %q is assigned to %d member(s). Say what happens to them: ?members=reassign&to=<roleId> or ?members=remove.", id, len(holders)))
			e.Extra = map[string]any{"members": len(holders)}
			return RoleDeletion{}, e
		}
		if moves.Action == "" {
			moves.Action = "none"
		}
		// Every holder passes the grant ceiling before anything is
		// written (a chunked deletion checks again chunk by chunk).
		changed := make([]team.Member, 0, len(holders))
		for _, m := range holders {
			after := m
			after.Assignments = reassign(m.Assignments, id, to)
			if err := rs.CheckChange(p.Member.Authz(p.At), m.Authz(p.At), after.Authz(p.At)); err != nil {
				return RoleDeletion{}, changeError(m.ID, err)
			}
			changed = append(changed, after)
		}
		reassignTo := ""
		if mode == MembersReassign {
			reassignTo = to
		}
		acting := p.Acting(s.Store)
		if len(changed) <= store.MaxMembersPerRoleChange {
			final := moves
			final.IDs = slices.Clone(moves.IDs)
			for _, m := range changed {
				final.IDs = append(final.IDs, m.ID)
			}
			final.Count = len(final.IDs)
			ev := roleEvent(ctx, p, "role.delete", id, toRoleView(role, nil), final)
			// Conditioned on no member having gained the role since cr
			// was read (before the holders were listed): one who did is
			// ErrMemberChanged, and the holders are listed again.
			v, err := acting.DeleteRole(ctx, account, id, reassignTo, cr, changed, ev)
			switch {
			case errors.Is(err, team.ErrStaleVersion) && ifMatch.Present:
				return RoleDeletion{}, errPreconditionFailed(cr.Version + 1)
			case errors.Is(err, store.ErrRoleGone):
				return RoleDeletion{}, fault.New(fault.Conflict, "reassign_not_allowed", fmt.Sprintf("Role %q was deleted meanwhile; reassign the members to another role.", to))
			case errors.Is(err, team.ErrStaleVersion), errors.Is(err, store.ErrMemberChanged):
				failures++
				continue
			case err != nil:
				return RoleDeletion{}, err
			}
			return RoleDeletion{ID: id, Members: final, Version: v}, nil
		}
		if !st.Deleting {
			_, err := acting.MarkRoleDeleting(ctx, account, id, cr, mode, reassignTo, len(changed),
				roleEvent(ctx, p, "role.delete_started", id, toRoleView(role, nil), MemberMoves{Action: mode, To: to, Count: len(changed), IDs: []string{}}))
			switch {
			case errors.Is(err, team.ErrStaleVersion) && ifMatch.Present:
				return RoleDeletion{}, errPreconditionFailed(cr.Version + 1)
			case errors.Is(err, team.ErrStaleVersion), errors.Is(err, store.ErrRoleDeleting):
				failures++
				continue
			case err != nil:
				return RoleDeletion{}, err
			}
			// The version moved by this deletion's own doing.
			ifMatch = httpapi.Precondition{}
			continue
		}
		chunk := changed[:store.MaxMembersPerRoleChange]
		part := MemberMoves{Action: mode, To: to, Count: len(chunk), IDs: make([]string, 0, len(chunk))}
		for _, m := range chunk {
			part.IDs = append(part.IDs, m.ID)
		}
		err = acting.MoveRoleHolders(ctx, account, id, reassignTo, len(changed)-len(chunk), chunk,
			roleEvent(ctx, p, "role.members_moved", id, nil, part))
		switch {
		case errors.Is(err, store.ErrRoleGone):
			return RoleDeletion{}, fault.New(fault.Conflict, "reassign_not_allowed", fmt.Sprintf("Role %q was deleted meanwhile; reassign the members to another role.", to))
		case errors.Is(err, team.ErrStaleVersion), errors.Is(err, store.ErrMemberChanged):
			failures++
			continue
		case err != nil:
			return RoleDeletion{}, err
		}
		moves.IDs = append(moves.IDs, part.IDs...)
		moves.Count = len(moves.IDs)
		chunks++
		failures = 0
	}
	return RoleDeletion{}, errConcurrentChange
}

// DefaultDeleteBudget is how long one DELETE of a role keeps moving its
// holders before answering 202 with the deletion under way: well within
// API Gateway's 29 seconds and the function's timeout.
const DefaultDeleteBudget = 10 * time.Second

func toParam(to string) string {
	if to == "" {
		return ""
	}
	return "&to=" + to
}

// reassign replaces the assignments of role by the same scopes of to, or
// drops them when to is "", without creating duplicates.
func reassign(in []rbac.Assignment, role, to string) []rbac.Assignment {
	out := make([]rbac.Assignment, 0, len(in))
	for _, a := range in {
		if a.Role == role {
			if to == "" {
				continue
			}
			a.Role = to
		}
		if !slices.ContainsFunc(out, a.Equal) {
			out = append(out, a)
		}
	}
	return out
}

// changeError turns a grant-ceiling error about member id into a problem.
func changeError(id string, err error) error {
	detail := fmt.Sprintf("Member %s: %v.", id, err)
	switch {
	case errors.Is(err, rbac.ErrUnknownRole), errors.Is(err, rbac.ErrScopeNotAllowed), errors.Is(err, rbac.ErrInvalidScope):
		return fault.New(fault.Conflict, "reassign_not_allowed", detail)
	case errors.Is(err, rbac.ErrSelfChange):
		detail = "You hold this role yourself, and nobody changes their own grants; ask another administrator."
	}
	return fault.New(fault.Forbidden, rbac.ErrorCode(err), detail)
}

// Package accounts serves the account routes: the account itself and its
// settings (GET/PATCH /v1/account), its stores and departments (the scopes
// role assignments name: GET /v1/stores, GET/PUT /v1/stores/{id}, the same
// for departments) and the audit log (GET /v1/audit).
//
// Decisions:
//   - Any active member (or API key) of the account reads the account.
//     Changing it, and creating or replacing stores and departments,
//     needs settings.manage at account scope. Changing its policies (the
//     invitation lifetime, the external approver domains and
//     self-registration) needs policies.manage too, a critical permission
//     that only administrators and the owner hold (full access lacks it);
//     the change is audited with the account before and after.
//   - PATCH /v1/account and replacing a store or department need If-Match
//     with the ETag ("<version>") last read: 428 precondition_required
//     without it, 412 stale_version when it is stale. A PUT without
//     If-Match only creates; when the id is taken it answers 428, so that
//     nobody replaces a store they never read. Every response carrying
//     one of these resources has its ETag.
//   - A change that changes nothing writes nothing (no new version, no
//     audit event). Every other change writes its audit event, with the
//     resource before and after, in the same transaction.
//   - Stores are visible to holders of directory.view (which shows every
//     store's name, id and address) or of stores.view at account scope,
//     and store by store to holders of stores.view at that store; the
//     list then shows only those stores. Departments likewise with
//     records.read (and directory.view). settings.manage sees both.
//     Reading a store one may not see answers 403 whether or not it
//     exists; one of another account is simply not found.
//   - Self-registration, when enabled, needs at least one domain and a
//     default role: a role of the account, assignable account-wide, not
//     the administrator role, and within the caller's own account-scope
//     rights (grant ceiling).
//   - The audit log needs audit.view at account scope. Filters: actor,
//     target ("type:id", or targetType and targetId), action and an
//     inclusive time range; newest first. The action filter is applied
//     after the page is read, so a page may be short or even empty while
//     nextCursor is set: follow it to the end. The impersonator of an
//     event is named with their current name.
//   - List responses are {items, nextCursor}, like every list of the API.
package accounts

import (
	"context"
	"errors"
	"reflect"
	"slices"

	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/authz"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// Handler serves the account routes over the store.
type Handler struct {
	Store *store.Store
}

// Permission keys these routes decide on.
const (
	permSettings   = "settings.manage"
	permPolicies   = "policies.manage"
	permAudit      = "audit.view"
	permStores     = "stores.view"
	permDirectory  = "directory.view"
	permRecords    = "records.read"
	targetAccount  = "account"
	targetStore    = "store"
	targetDepartmt = "department"
)

var (
	errAccountNotFound = fault.New(fault.NotFound, "not_found", "The account does not exist.")
	errStoreNotFound   = fault.New(fault.NotFound, "not_found", "The store does not exist.")
	errDeptNotFound    = fault.New(fault.NotFound, "not_found", "The department does not exist.")
	errStale           = fault.New(fault.Stale, "stale_version", "The resource changed since you read it (or no longer exists); read it again and retry.")
	errExists          = fault.New(fault.PreconditionRequired, "precondition_required", "This id is taken: read it and send If-Match with its ETag to replace it.")
	errNoSettings      = fault.New(fault.Forbidden, "forbidden", "Changing the account, its stores and departments needs settings.manage.")
	errNoStores        = fault.New(fault.Forbidden, "forbidden", "Viewing stores needs stores.view or directory.view.")
	errNoDepartments   = fault.New(fault.Forbidden, "forbidden", "Viewing departments needs records.read or directory.view.")
	errNoAudit         = fault.New(fault.Forbidden, "forbidden", "Viewing the audit log needs audit.view.")
	errNoPolicies      = fault.New(fault.Forbidden, "forbidden", "Changing the invitation lifetime, the external approver domains or self-registration needs policies.manage (administrators and the owner).")
)

// accountResource is the account as a resource of decisions.
func accountResource(p *auth.Principal) authz.Resource {
	return authz.Resource{Account: p.AccountID(), Type: targetAccount, ID: p.AccountID()}
}

func allowed(p *auth.Principal, perm string, r authz.Resource) bool {
	return p.Decide(perm, r).Allowed
}

// holdsSomewhere reports whether p holds perm at any scope.
func holdsSomewhere(p *auth.Principal, perm string) bool {
	for _, sp := range p.Authz.Effective() {
		if slices.Contains(sp.Permissions, perm) {
			return true
		}
	}
	return false
}

// scopeKind says how a kind of scope item is seen.
type scopeKind struct {
	perm     string
	resource func(account, id string) authz.Resource
	denied   *httpapi.Error
}

var (
	storesKind = scopeKind{perm: permStores, denied: errNoStores, resource: func(a, id string) authz.Resource {
		return authz.Resource{Account: a, Type: targetStore, ID: id, Store: id}
	}}
	departmentsKind = scopeKind{perm: permRecords, denied: errNoDepartments, resource: func(a, id string) authz.Resource {
		return authz.Resource{Account: a, Type: targetDepartmt, ID: id, Department: id}
	}}
)

// seesAll reports whether p sees every item of the kind.
func (k scopeKind) seesAll(p *auth.Principal) bool {
	acct := accountResource(p)
	return p.Authz.Holds(permDirectory, authz.AccountScope) || allowed(p, k.perm, acct) || allowed(p, permSettings, acct)
}

// sees reports whether p sees the item id.
func (k scopeKind) sees(p *auth.Principal, all bool, id string) bool {
	return all || allowed(p, k.perm, k.resource(p.AccountID(), id))
}

// mayList reports whether p may list the kind at all (it then sees the
// items sees allows).
func (k scopeKind) mayList(p *auth.Principal) (all bool, ok bool) {
	if k.seesAll(p) {
		return true, true
	}
	return false, holdsSomewhere(p, k.perm)
}

// requireSettings refuses a caller without settings.manage at account
// scope.
func requireSettings(p *auth.Principal) error {
	if !allowed(p, permSettings, accountResource(p)) {
		return errNoSettings
	}
	return nil
}

// GetAccount reads the caller's account.
func (h *Handler) GetAccount(ctx context.Context, p *auth.Principal) (team.Account, error) {
	a, err := h.Store.GetAccount(ctx, p.AccountID())
	if errors.Is(err, team.ErrAccountNotFound) {
		return team.Account{}, errAccountNotFound
	}
	return a, err
}

// UpdateAccount applies a patch to the caller's account read at version.
func (h *Handler) UpdateAccount(ctx context.Context, p *auth.Principal, version int64, patch AccountPatch) (team.Account, error) {
	if err := requireSettings(p); err != nil {
		return team.Account{}, err
	}
	before, err := h.GetAccount(ctx, p)
	if err != nil {
		return team.Account{}, err
	}
	if !httpapi.VersionMatches(version, before.Version) {
		return team.Account{}, errStale
	}
	after, err := ApplyPatch(before, patch, p.Roles, p.Authz)
	if err != nil {
		return team.Account{}, err
	}
	if reflect.DeepEqual(accountView(before), accountView(after)) {
		return before, nil
	}
	if changesPolicies(before, after) && !allowed(p, permPolicies, accountResource(p)) {
		return team.Account{}, errNoPolicies
	}
	ev := p.Event(ctx, "account.update", targetAccount, before.ID)
	written := after
	written.Version++
	ev.Before, ev.After = snapshot(accountView(before)), snapshot(accountView(written))
	next, err := p.Acting(h.Store).UpdateAccount(ctx, after, ev)
	switch {
	case errors.Is(err, team.ErrStaleVersion):
		return team.Account{}, errStale
	case errors.Is(err, team.ErrAccountNotFound):
		return team.Account{}, errAccountNotFound
	}
	return next, err
}

// changesPolicies reports whether after changes one of the account's
// policies: the invitation lifetime (the invitation default), the external
// approver domains or self-registration. Those need policies.manage, a
// critical permission that full access lacks; the name, time zone and
// alert hour need settings.manage only. A patch that restates a policy's
// current value changes nothing and needs nothing more.
func changesPolicies(before, after team.Account) bool {
	b, a := before.Settings, after.Settings
	return b.InvitationTTL != a.InvitationTTL ||
		!slices.Equal(b.ExternalApproverDomains, a.ExternalApproverDomains) ||
		b.SelfRegistration.Enabled != a.SelfRegistration.Enabled ||
		!slices.Equal(b.SelfRegistration.Domains, a.SelfRegistration.Domains) ||
		b.SelfRegistration.DefaultRole != a.SelfRegistration.DefaultRole
}

// GetStore reads a store the caller may see.
func (h *Handler) GetStore(ctx context.Context, p *auth.Principal, id string) (team.Store, error) {
	if err := ValidateID(id); err != nil {
		return team.Store{}, err
	}
	if !storesKind.sees(p, storesKind.seesAll(p), id) {
		return team.Store{}, errNoStores
	}
	st, err := h.Store.GetStore(ctx, p.AccountID(), id)
	if errors.Is(err, team.ErrStoreNotFound) {
		return team.Store{}, errStoreNotFound
	}
	return st, err
}

// ListStores lists the stores the caller may see.
func (h *Handler) ListStores(ctx context.Context, p *auth.Principal, limit int, cursor string) (store.Page[team.Store], error) {
	all, ok := storesKind.mayList(p)
	if !ok {
		return store.Page[team.Store]{}, errNoStores
	}
	page, err := h.Store.ListStores(ctx, p.AccountID(), limit, cursor)
	if errors.Is(err, store.ErrBadCursor) {
		return page, httpapi.ErrBadCursor
	}
	if err != nil {
		return page, err
	}
	page.Items = slices.DeleteFunc(page.Items, func(s team.Store) bool { return !storesKind.sees(p, all, s.ID) })
	return page, nil
}

// PutStore creates the store (version 0: no If-Match) or replaces it at
// the version read. created says which.
func (h *Handler) PutStore(ctx context.Context, p *auth.Principal, version int64, st team.Store) (out team.Store, created bool, err error) {
	if err := requireSettings(p); err != nil {
		return team.Store{}, false, err
	}
	account := p.AccountID()
	ev := p.Event(ctx, "store.create", targetStore, st.ID)
	if version == 0 {
		ev.After = snapshot(storeSnap(st, 1))
		out, err = p.Acting(h.Store).PutStore(ctx, account, st, ev)
		if errors.Is(err, team.ErrScopeExists) {
			return team.Store{}, false, errExists
		}
		return out, err == nil, err
	}
	before, err := h.Store.GetStore(ctx, account, st.ID)
	if errors.Is(err, team.ErrStoreNotFound) || err == nil && !httpapi.VersionMatches(version, before.Version) {
		return team.Store{}, false, errStale
	}
	if err != nil {
		return team.Store{}, false, err
	}
	st.Version, st.CreatedAt, st.UpdatedAt = before.Version, before.CreatedAt, before.UpdatedAt
	if st == before {
		return before, false, nil
	}
	ev.Action = "store.replace"
	ev.Before, ev.After = snapshot(storeSnap(before, before.Version)), snapshot(storeSnap(st, before.Version+1))
	out, err = p.Acting(h.Store).PutStore(ctx, account, st, ev)
	if errors.Is(err, team.ErrStaleVersion) || errors.Is(err, team.ErrStoreNotFound) {
		return team.Store{}, false, errStale
	}
	return out, false, err
}

// GetDepartment reads a department the caller may see.
func (h *Handler) GetDepartment(ctx context.Context, p *auth.Principal, id string) (team.Department, error) {
	if err := ValidateID(id); err != nil {
		return team.Department{}, err
	}
	if !departmentsKind.sees(p, departmentsKind.seesAll(p), id) {
		return team.Department{}, errNoDepartments
	}
	d, err := h.Store.GetDepartment(ctx, p.AccountID(), id)
	if errors.Is(err, team.ErrDepartmentNotFound) {
		return team.Department{}, errDeptNotFound
	}
	return d, err
}

// ListDepartments lists the departments the caller may see.
func (h *Handler) ListDepartments(ctx context.Context, p *auth.Principal, limit int, cursor string) (store.Page[team.Department], error) {
	all, ok := departmentsKind.mayList(p)
	if !ok {
		return store.Page[team.Department]{}, errNoDepartments
	}
	page, err := h.Store.ListDepartments(ctx, p.AccountID(), limit, cursor)
	if errors.Is(err, store.ErrBadCursor) {
		return page, httpapi.ErrBadCursor
	}
	if err != nil {
		return page, err
	}
	page.Items = slices.DeleteFunc(page.Items, func(d team.Department) bool { return !departmentsKind.sees(p, all, d.ID) })
	return page, nil
}

// PutDepartment creates or replaces a department, like PutStore.
func (h *Handler) PutDepartment(ctx context.Context, p *auth.Principal, version int64, d team.Department) (out team.Department, created bool, err error) {
	if err := requireSettings(p); err != nil {
		return team.Department{}, false, err
	}
	account := p.AccountID()
	ev := p.Event(ctx, "department.create", targetDepartmt, d.ID)
	if version == 0 {
		ev.After = snapshot(departmentSnap(d, 1))
		out, err = p.Acting(h.Store).PutDepartment(ctx, account, d, ev)
		if errors.Is(err, team.ErrScopeExists) {
			return team.Department{}, false, errExists
		}
		return out, err == nil, err
	}
	before, err := h.Store.GetDepartment(ctx, account, d.ID)
	if errors.Is(err, team.ErrDepartmentNotFound) || err == nil && !httpapi.VersionMatches(version, before.Version) {
		return team.Department{}, false, errStale
	}
	if err != nil {
		return team.Department{}, false, err
	}
	d.Version, d.CreatedAt, d.UpdatedAt = before.Version, before.CreatedAt, before.UpdatedAt
	if d == before {
		return before, false, nil
	}
	ev.Action = "department.replace"
	ev.Before, ev.After = snapshot(departmentSnap(before, before.Version)), snapshot(departmentSnap(d, before.Version+1))
	out, err = p.Acting(h.Store).PutDepartment(ctx, account, d, ev)
	if errors.Is(err, team.ErrStaleVersion) || errors.Is(err, team.ErrDepartmentNotFound) {
		return team.Department{}, false, errStale
	}
	return out, false, err
}

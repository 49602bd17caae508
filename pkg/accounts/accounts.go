// Package accounts serves the account routes: the account itself and its
// settings (GET/PATCH /v1/account), its stores, departments and suppliers
// (the scopes role assignments name: GET /v1/stores, GET/PUT
// /v1/stores/{id}, the same for departments and suppliers), the audit log
// (GET /v1/audit) and the host apps' activity records written to it (POST
// /v1/activity).
//
// Decisions:
//   - Any active member (or API key) of the account reads the account.
//     Changing it, and creating or replacing stores, departments and
//     suppliers, needs settings.manage at account scope. Changing its policies (the
//     invitation lifetime, the external approver domains,
//     self-registration and the portal's allowed origins) needs policies.manage too, a critical permission
//     that only administrators and the owner hold (full access lacks it);
//     the change is audited with the account before and after.
//   - PATCH /v1/account and replacing a store, department or supplier
//     need If-Match with the ETag ("<version>") last read: 428 precondition_required
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
//     records.read (and directory.view), and suppliers with
//     purchases.view (what the supplier role holds at its supplier:{id},
//     and buyers at account scope; and directory.view). settings.manage
//     sees all three. Reading a store one may not see answers 403 whether or not it
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
//   - POST /v1/activity records what a member did in the host app:
//     {action, target?, summary?, userId?}. The action (1-64 of
//     [a-z0-9_.], starting with a letter or digit) is stored as
//     "app.<action>", a namespace none of Steward's own actions use, so
//     GET /v1/audit?action=app.<action> finds it; target is an object
//     {type, id} (type as an audit target type, [a-z][a-z0-9_]{0,39}, id
//     1-128 of [A-Za-z0-9._:@-]) so that the target filter finds it too
//     (a host app naming a Steward target, e.g. a member, adds to that
//     target's history); the summary (at most 500 characters, no control
//     characters) is the event's after, {"summary"}. Every bad field is
//     named in one 400. A member records only its own activity (userId
//     absent or itself, else 403); an impersonated session records it
//     with the impersonator, like every other event. An API key must name
//     the member (userId) and needs users.view at account scope; the
//     member must be of the key's account, any status but deleted (else
//     400 invalid_field userId, another tenant's member included); the
//     actor is that member and the after names the key as recordedBy.
//     The answer is 201 {id, time, action}. No permission is needed
//     otherwise; the account's request budget (pkg/throttle) bounds it
//     like every authenticated route. Activity records are not change
//     events (pkg/events maps "app.*" to none).
//   - List responses are {items, nextCursor}, like every list of the API.
package accounts

import (
	"context"
	"errors"
	"reflect"
	"slices"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// Handler serves the account routes over the store.
type Handler struct {
	Store *store.Store
}

// Permission keys these routes decide on.
const (
	permSettings  = "settings.manage"
	permPolicies  = "policies.manage"
	permAudit     = "audit.view"
	permStores    = "stores.view"
	permDirectory = "directory.view"
	permRecords   = "records.read"
	permPurchases = "purchases.view"
	targetAccount = "account"
)

var (
	errAccountNotFound = fault.New(fault.NotFound, "not_found", "The account does not exist.")
	errStale           = fault.New(fault.Stale, "stale_version", "The resource changed since you read it (or no longer exists); read it again and retry.")
	errExists          = fault.New(fault.PreconditionRequired, "precondition_required", "This id is taken: read it and send If-Match with its ETag to replace it.")
	errNoSettings      = fault.New(fault.Forbidden, "forbidden", "Changing the account, its stores, departments and suppliers needs settings.manage.")
	errNoAudit         = fault.New(fault.Forbidden, "forbidden", "Viewing the audit log needs audit.view.")
	errNoPolicies      = fault.New(fault.Forbidden, "forbidden", "Changing the invitation lifetime, the external approver domains, self-registration, billing, lock-by-age or the portal's allowed origins needs policies.manage (administrators and the owner).")
)

// accountResource is the account as a resource of decisions.
func accountResource(p *auth.Principal) rbac.Resource {
	return rbac.Resource{Account: p.AccountID(), Type: targetAccount, ID: p.AccountID()}
}

func allowed(p *auth.Principal, perm string, r rbac.Resource) bool {
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

// ReadRequest reads what a change asks for, once the caller may ask it:
// the version of its If-Match (0 without one) and its body into body.
type ReadRequest func(body any) (version int64, err error)

// UpdateAccount applies the patch read to the caller's account read at
// the version read.
func (h *Handler) UpdateAccount(ctx context.Context, p *auth.Principal, read ReadRequest) (team.Account, error) {
	if err := requireSettings(p); err != nil {
		return team.Account{}, err
	}
	var patch AccountPatch
	version, err := read(&patch)
	if err != nil {
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
// approver domains, self-registration, the settings decisions read
// (billing, lock-by-age) or the portal's allowed origins (where a portal
// link may send a member). Those need policies.manage, a
// critical permission that full access lacks; the name, time zone and
// alert hour need settings.manage only. A patch that restates a policy's
// current value changes nothing and needs nothing more.
func changesPolicies(before, after team.Account) bool {
	b, a := before.Settings, after.Settings
	return b.InvitationTTL != a.InvitationTTL ||
		!slices.Equal(b.ExternalApproverDomains, a.ExternalApproverDomains) ||
		b.SelfRegistration.Enabled != a.SelfRegistration.Enabled ||
		!slices.Equal(b.SelfRegistration.Domains, a.SelfRegistration.Domains) ||
		b.SelfRegistration.DefaultRole != a.SelfRegistration.DefaultRole ||
		b.SelfRegistration.Open != a.SelfRegistration.Open ||
		b.SelfRegistration.FirstRegistrantRole != a.SelfRegistration.FirstRegistrantRole ||
		b.Billing != a.Billing || b.LockAfterDays != a.LockAfterDays ||
		!slices.Equal(b.Portal.AllowedOrigins, a.Portal.AllowedOrigins)
}

// AuditQuery is what a read of the audit log asks for.
type AuditQuery struct {
	Filter audit.Filter
	Limit  int
	Cursor string
}

// AuditPage is one page of the audit log, with the current names of its
// events' impersonators by id.
type AuditPage struct {
	store.Page[audit.Event]
	Impersonators map[string]string
}

// ListAudit reads one page of the audit log (read reads the query once the
// caller may read the log).
func (h *Handler) ListAudit(ctx context.Context, p *auth.Principal, read func() (AuditQuery, error)) (AuditPage, error) {
	if !allowed(p, permAudit, accountResource(p)) {
		return AuditPage{}, errNoAudit
	}
	q, err := read()
	if err != nil {
		return AuditPage{}, err
	}
	page, err := h.Store.ListAudit(ctx, p.AccountID(), q.Filter, q.Limit, q.Cursor)
	if err != nil {
		return AuditPage{}, err
	}
	// Impersonators are named with one read of their members (a page
	// with more distinct impersonators than one read holds names the
	// first ones only).
	var ids []string
	for _, ev := range page.Items {
		if ev.ImpersonatorID != "" && !slices.Contains(ids, ev.ImpersonatorID) && len(ids) < store.MaxLoadMembers {
			ids = append(ids, ev.ImpersonatorID)
		}
	}
	names := map[string]string{}
	if len(ids) > 0 {
		loaded, err := h.Store.LoadMembers(ctx, p.AccountID(), ids)
		if err != nil {
			return AuditPage{}, err
		}
		for id, m := range loaded.Members {
			names[id] = m.Name
		}
	}
	return AuditPage{Page: page, Impersonators: names}, nil
}

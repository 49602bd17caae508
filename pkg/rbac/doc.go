// Package rbac is Steward's role-based access control engine, the pure
// decision core that pkg/permissions serves over HTTP: the permission
// catalogue, the built-in roles, scopes, the decision function, effective
// permissions, "who can" and the grant ceiling. It is pure: no I/O, no
// clock, no globals beyond the embedded data compiled at start-up. Callers
// load members and custom roles; this package only decides.
//
// # Model
//
// The catalogue (catalogue.json, embedded) lists every permission key with
// its area, kind (view, edit, approve, manage), tier and dependencies. A
// permission is useless without its dependencies (presets.edit_shared
// without reports.view, approve.purchase_order without purchases.view,
// forecast.edit without planning.replenishment): decisions enforce them,
// so a permission counts only where its dependencies are held too, and
// ValidateRole warns about them. Tiers:
//
//   - normal: any role may list them.
//   - critical (store.disconnect, sync.manage, billing.manage,
//     users.impersonate, policies.manage, webhooks.manage): held only by
//     administrators.
//     Normal users cannot disconnect a store, turn sync off or touch
//     billing (running a sync needs no permission at all), nor change the
//     account's policies (approval policies, external approver domains,
//     self-registration, invitation lifetime).
//   - owner (ownership.transfer, documents.sign, account.close): held only
//     by the account owner; no role lists them, not even administrator.
//
// directory.view is account-wide: granted at any scope, it holds for
// every resource of the account (a store manager sees the whole team
// directory and every store's name, id and address).
//
// Roles (roles.json, embedded) are named permission sets. Built-in ids:
// full_access, administrator, junior_admin, accountant, manager,
// team_member, senior_manager, department_manager, approver, supplier,
// and the Inventory-Planner-style sets planner_overview,
// planner_replenishment, planner_purchase_orders, planner_open_to_buy,
// planner_overstock, planner_inventory_kpis and planner_shared_presets
// (which bundles reports.view, so every built-in role is self-contained).
// Each role says at which kinds of scope it may be assigned: supplier only
// at supplier:{id}, department_manager only at department:{id},
// junior_admin only at store:{id}, administrator only at account. An
// assignment at a scope kind its role does not allow grants nothing.
//
// full_access is every normal permission: users.manage, settings.manage,
// audit.view and locked.edit included; the critical (policies.manage too)
// and owner-only ones excluded. It is what new members get by default (Sumtracker grants all
// permissions by default but keeps the critical actions for admins;
// Inventory Planner's "Full access" that includes billing is Steward's
// admin flag). administrator is the role form of the admin flag.
//
// # Presets, permission assignments, billing and lock-by-age
//
// An account is created with a product preset (presets.go,
// presets/{id}.json): the roles it offers, with the product's names,
// replacing the built-ins (which are the general preset's), its default
// invitation grant, settings defaults and catalogue subset.
// NewRoleSetFor(Options{Preset, Billing, LockAfterDays}, custom...) builds
// an account's role set. An assignment may carry Permissions instead of a
// Role (per-member toggles, normal-tier keys of the preset's catalogue),
// compiled like a role holding exactly those keys and checked by the same
// ceiling. A preset role may vary with the account's billing setting
// (payments: under single billing managers lose bank accounts and
// invoices, and accountants' grants count account-wide; an account-wide
// role must be admin-only and needs account-scope rights to grant).
// With LockAfterDays set, a document whose Resource.Date is that old is
// read-only without locked.edit (CodeDocumentAgeLocked).
//
// An account's custom roles join the built-ins in a RoleSet (NewRoleSet);
// a custom role id must not collide with a built-in one and may not list
// critical or owner-only permissions.
//
// # Scopes and members
//
// Scopes are "account", "store:{id}", "department:{id}" and
// "supplier:{id}". A grant at account covers every resource of the
// account; a grant at store:s1 covers resources whose Store is s1 (and so
// on for departments and suppliers); a resource with no store, department
// or supplier is account-level and only account grants cover it.
//
// A member has a status, an admin flag, an owner flag and assignments
// {role, scope}. Only active members hold permissions. Admins (the flag,
// the owner, or the administrator role at account) hold every permission
// except the owner-only ones at every scope. The owner is an admin that
// also holds the owner-only permissions.
//
// An assignment may be time-bound: StartsAt and ExpiresAt (either or
// both) bound the window it counts in, StartsAt <= t < ExpiresAt. The
// engine reads no clock: Member.At is the instant to decide at, set by the
// caller from its clock, and Compile keeps only the assignments counting
// then (a time-bound assignment never counts at the zero time). So a grant
// stops counting at its instant with no job in between, as long as
// principals are compiled per request, as they are. The grant ceiling
// treats a window as part of the grant (Assignment.Equal).
//
// # Decisions
//
// Compile turns a member into a Principal: each role as a bitset
// (permission index -> bit), account grants pre-merged. Principal.Decide
// then costs one map lookup and a few bit operations and allocates
// nothing: Decision holds structured fields (code, granting role and
// scope, missing permission, member status, document status) and
// Decision.Reason builds the text only when asked, e.g.
// `allowed by role "manager" at store:s1`,
// `denied: no role grants purchases.edit at store:s2`,
// `denied: member is suspended`.
//
// The resource names its account; a resource of another account, or of
// none, is denied before anything else but the member's status.
//
// # Documents
//
// Actions are permission keys (e.g. "purchases.edit") or document
// actions that resolve through the resource's document type to the area
// permission of that type:
//
//	type            view                   edit / use / request_approval   approve
//	purchase_order  purchases.view         purchases.edit                  approve.purchase_order
//	sales_order     orders.view            orders.edit                     approve.sales_order
//	write_off       stock.view             stock.edit                      approve.write_off
//	bom             products.view          products.edit                   approve.bom
//	purchase_rate   purchases.view         purchases.edit                  approve.purchase_rate
//	invoice, bill   finance.invoices.view  finance.invoices.edit           (none)
//
// The document actions are documents.view, documents.edit, documents.use,
// documents.request_approval and documents.approve (documents.sign is the
// owner-only permission). State rules, checked after the permission (so a
// member without the permission learns nothing about the document):
//
//   - edit (documents.edit, or any edit-kind permission on a resource that
//     carries a document type or status): denied while pending_approval
//     (cancel the approval request first); on a completed document it
//     also needs locked.edit at the document's scope.
//   - use (send a PO to the supplier, confirm a sales order, post a
//     write-off, apply a BOM or rate): when Resource.ApprovalRequired (the
//     caller evaluated the account's approval policy for this document),
//     the status must be approved; otherwise draft or approved. Pending,
//     denied, expired and completed documents cannot be used.
//   - request_approval: from draft, denied or expired only.
//   - approve: the status, when given, must be pending_approval. Invoices
//     and bills have no approval step. Self-approval and approval levels
//     are the approval policy's business, not this package's.
//
// # Grant ceiling
//
// RoleSet.CheckChange enforces: nobody grants a role at a scope unless
// they hold each of its permissions at exactly that scope (account-scope
// grants need account-scope rights); only admins make, unmake or change
// admins; nobody changes their own grants or status; a member with
// users.manage at store:X manages only members whose assignments are all
// within scopes where it holds users.manage; the owner cannot be demoted,
// suspended or deleted, and nobody but the owner changes the owner at all
// (ErrOwnerOnly); admin-only roles (Role.AdminOnly: junior_admin,
// senior_manager, department_manager, and custom roles flagged so) are
// granted by admins only (ErrAdminOnlyRole); ownership moves only by
// RoleSet.CheckOwnershipTransfer. Errors wrap documented sentinels.
package rbac

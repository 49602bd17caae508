package apitest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/routes"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// privilegeRoles places each built-in role at a scope it allows: account
// for the account-only role and for full_access (the default grant of a new
// member), store:s1 for the store roles, department:sales and supplier:sup1
// for the roles bound to those kinds.
var privilegeRoles = []struct{ role, scope string }{
	{"full_access", "account"},
	{"administrator", "account"},
	{"junior_admin", "store:s1"},
	{"accountant", "store:s1"},
	{"manager", "store:s1"},
	{"team_member", "store:s1"},
	{"senior_manager", "store:s1"},
	{"department_manager", "department:sales"},
	{"approver", "store:s1"},
	{"supplier", "supplier:sup1"},
}

// privilegeRow is the expected answer of one changing operation (a route
// of the table, with a variant where the body changes what it needs) for
// every role of privilegeRoles: the roles in allow must succeed (2xx), the
// roles in hidden get 404 (the design hides the object from who may not
// see it), every other role gets 403. A refused call changes nothing: the
// account's audit log, where every change lands, does not grow.
type privilegeRow struct {
	op, variant string
	// why derives the expectation from pkg/rbac/roles.json and the
	// route's requirement, in one line. It is never recorded from the
	// server.
	why    string
	allow  []string
	hidden []string
}

func (r privilegeRow) key() string {
	if r.variant == "" {
		return r.op
	}
	return r.op + ":" + r.variant
}

func (r privilegeRow) want(role string) string {
	switch {
	case slices.Contains(r.allow, role):
		return "allow"
	case slices.Contains(r.hidden, role):
		return "hidden"
	}
	return "deny"
}

// Role groups of roles.json, for the rows below:
//   - "*" roles (every normal permission): full_access at account,
//     junior_admin at its stores without settings.manage; administrator
//     holds everything but the owner-only permissions, critical ones
//     included (policies.manage among them: approval policies, external
//     approver domains, self-registration, invitation lifetime), and is an
//     administrator (IsAdmin).
//   - users.manage: full_access, administrator, junior_admin, manager,
//     senior_manager (users.view also department_manager, at its
//     department only).
//   - purchases.edit at store:s1: full_access, administrator, junior_admin,
//     senior_manager (department_manager holds it at department:sales).
var (
	allRoles     = []string{"full_access", "administrator", "junior_admin", "accountant", "manager", "team_member", "senior_manager", "department_manager", "approver", "supplier"}
	settingsMgrs = []string{"full_access", "administrator"}
	adminsOnly   = []string{"administrator"}
	usersMgrsS1  = []string{"full_access", "administrator", "junior_admin", "manager", "senior_manager"}
	grantTMAtS1  = []string{"full_access", "administrator", "junior_admin", "manager"}
	starAtS1     = []string{"full_access", "administrator", "junior_admin"}
	purchEditS1  = []string{"full_access", "administrator", "junior_admin", "senior_manager"}
	cantSeePOs1  = []string{"accountant", "manager", "team_member", "department_manager", "supplier"}
)

// privilegeRows, in call order (sign-out last: it ends the caller's
// session). "The target" is an active team_member at store:s1 of the
// caller's account (a fresh one per row that changes it); invitations
// likewise invite a team_member at store:s1.
var privilegeRows = []privilegeRow{
	{op: "checkPermission", variant: "self", allow: allRoles,
		why: "anyone may check its own permissions (no userId)"},
	{op: "checkPermission", allow: usersMgrsS1,
		why: "checking the target needs users.view at account or store:s1 (department_manager's is at department:sales)"},
	{op: "checkPermissionBatch", allow: usersMgrsS1,
		why: "as checkPermission: users.view covering every scope of the target"},
	{op: "createInvitation", allow: grantTMAtS1,
		why: "users.manage at store:s1 and every team_member permission there; senior_manager lacks finance.transactions.view"},
	{op: "createInvitation", variant: "default grant", allow: settingsMgrs,
		why: "no grants means full_access at account: users.manage and every normal permission at account scope"},
	{op: "resendInvitation", allow: usersMgrsS1,
		why: "the invitee's scopes must be managed: users.manage at store:s1 (no new grant, so no ceiling)"},
	{op: "revokeInvitation", allow: usersMgrsS1,
		why: "as resendInvitation: users.manage at store:s1"},
	{op: "createUser", allow: grantTMAtS1,
		why: "as createInvitation: users.manage and team_member's permissions at store:s1"},
	{op: "importUsers", allow: usersMgrsS1,
		why: "the call needs users.manage somewhere; its one row (a team_member at store:s1) is created as createUser would (privSettle: senior_manager's row fails exceeds_own_rights, 200 all the same)"},
	{op: "updateUser", allow: usersMgrsS1,
		why: "renaming the target: users.manage at store:s1"},
	{op: "updateUser", variant: "grant accountant", allow: starAtS1,
		why: "users.manage and every accountant permission at store:s1; manager and senior_manager lack business.view and finance.payouts.view"},
	{op: "suspendUser", allow: usersMgrsS1, why: "users.manage at store:s1"},
	{op: "reactivateUser", allow: usersMgrsS1, why: "users.manage at store:s1 (the target is suspended)"},
	{op: "deactivateUser", allow: usersMgrsS1, why: "users.manage at store:s1"},
	{op: "deleteUser", allow: usersMgrsS1, why: "users.manage at store:s1"},
	{op: "transferOwnership", allow: nil, why: "owner only (ownership.transfer is owner-tier); no built-in role is the owner"},
	{op: "impersonateUser", allow: adminsOnly, why: "users.impersonate is critical: administrators only, not full_access"},
	{op: "createApiKey", allow: adminsOnly, why: "API keys are managed by administrators only"},
	{op: "revokeApiKey", allow: adminsOnly, why: "API keys are managed by administrators only"},
	{op: "createWebhook", allow: adminsOnly, why: "webhooks.manage is critical: administrators only (full_access lacks it)"},
	{op: "updateWebhook", allow: adminsOnly, why: "webhooks.manage, critical: administrators only"},
	{op: "rotateWebhookSecret", allow: adminsOnly, why: "webhooks.manage, critical: administrators only"},
	{op: "replayWebhook", allow: adminsOnly, why: "webhooks.manage, critical: administrators only"},
	{op: "deleteWebhook", allow: adminsOnly, why: "webhooks.manage, critical: administrators only"},
	{op: "createRole", allow: settingsMgrs, why: "settings.manage at account scope (and orders.view there, the role's permission)"},
	{op: "updateRole", allow: settingsMgrs, why: "settings.manage at account scope (and the role's orders.view there)"},
	{op: "deleteRole", allow: settingsMgrs, why: "settings.manage at account scope (and the role's orders.view there)"},
	{op: "updateAccount", allow: settingsMgrs, why: "renaming: settings.manage at account scope; junior_admin excludes it"},
	{op: "updateAccount", variant: "invitation lifetime", allow: adminsOnly,
		why: "the invitation default is a policy: policies.manage, critical (administrator lists it; full_access's \"*\" excludes critical ones)"},
	{op: "updateAccount", variant: "self-registration", allow: adminsOnly,
		why: "opening self-registration is a policy: policies.manage, critical (administrators only)"},
	{op: "updateAccount", variant: "external approver domains", allow: adminsOnly,
		why: "the external approver domains are a policy: policies.manage, critical (administrators only)"},
	{op: "putStore", allow: settingsMgrs, why: "settings.manage at account scope"},
	{op: "putDepartment", allow: settingsMgrs, why: "settings.manage at account scope"},
	{op: "putSupplier", allow: settingsMgrs, why: "settings.manage at account scope"},
	{op: "putApprovalPolicy", allow: adminsOnly, why: "policies.manage at account scope: critical, so administrators only (full_access lacks it)"},
	{op: "putDocument", allow: purchEditS1,
		why: "a purchase order at store s1: documents.edit is purchases.edit at store:s1 (a department grant does not cover it)"},
	{op: "putDocument", variant: "department", allow: []string{"full_access", "administrator", "department_manager"},
		why: "a purchase order of department sales: purchases.edit at department:sales (store grants do not cover it)"},
	{op: "putDocument", variant: "invoice", allow: starAtS1,
		why: "an invoice at store s1: finance.invoices.edit, held only by the \"*\" roles (accountant and manager only view)"},
	{op: "putStockLevels", allow: starAtS1, why: "stock.edit at store:s1: only the \"*\" roles (senior_manager has stock.view)"},
	{op: "createApprovalRequest", allow: purchEditS1,
		why: "documents.request_approval on a draft purchase order at s1 is purchases.edit at store:s1"},
	{op: "decideApprovalRequest", allow: []string{"full_access", "administrator", "junior_admin", "senior_manager", "approver"}, hidden: cantSeePOs1,
		why: "approve.purchase_order at store:s1 (the level names no role); who cannot see the request (purchases.view at s1, not asked) gets 404"},
	{op: "createAccessRequest", allow: allRoles,
		why: "any active member asks for a role for themselves (accountant at store:s2, which no caller holds)"},
	{op: "decideAccessRequest", allow: starAtS1, hidden: []string{"accountant", "manager", "team_member", "senior_manager", "department_manager", "approver", "supplier"},
		why: "the grant ceiling: giving a team_member at store:s1 the accountant role there, as PATCH (grant accountant); who may not grant it does not see the request"},
	{op: "cancelAccessRequest", allow: nil, hidden: []string{"junior_admin", "accountant", "manager", "team_member", "senior_manager", "department_manager", "approver", "supplier"},
		why: "only the requester cancels (403 cannot_cancel); the request (accountant at store:s2 for a team_member at store:s1) is seen only by who may grant it: users.manage at both stores, so account-wide managers"},
	{op: "cancelApprovalRequest", allow: adminsOnly, hidden: cantSeePOs1,
		why: "the requester (the owner) or an administrator; who cannot see the request gets 404"},
	{op: "putMyDelegation", allow: allRoles,
		why: "any member sets their own delegation (here to the owner, an active member): it needs no permission, the delegate decides with the member's rights"},
	{op: "deleteMyDelegation", allow: allRoles, why: "any member removes their own delegation (the row before set it)"},
	{op: "recordActivity", allow: allRoles, why: "any member records its own host-app activity: no permission"},
	{op: "recordActivity", variant: "for another member", allow: nil,
		why: "a member records only its own activity; recording for others is an API key's (users.view)"},
	{op: "createPortalSession", variant: "self", allow: allRoles, why: "any member mints a portal link for itself"},
	{op: "createPortalSession", allow: nil, why: "a member mints a portal link only for itself (403 not_self), whatever its rights; another member's needs an API key with users.view"},
	{op: "logout", allow: allRoles, why: "any signed-in member ends its own session"},
}

// privFixture is one role's account, prepared for every row.
type privFixture struct {
	account, ownerID, ownerTk string
	role, scope               string
	caller, callerID          string
	// targets by row key: the member a row's call changes.
	targets              map[string]string
	checkTarget          string
	invResend, invRevoke string
	apiKey               string
	webhook              string
	reqDecide, reqCancel string
	acrDecide, acrCancel string
}

// privilegeHash is the password hash of the identities the matrix writes
// directly: nobody signs in as them, so it need not be a real one.
const privilegeHash = "not-a-real-hash"

// privTarget writes an active (or status) member with a sign-in of its own
// straight to the store: cheaper than an invitation, and the matrix needs
// many.
func (e *Env) privTarget(t *testing.T, account, owner string, status rbac.Status, as ...rbac.Assignment) string {
	t.Helper()
	now := time.Now()
	email := newEmail("priv-t")
	ident := team.Identity{ID: store.NewID("i"), Email: email, PasswordHash: privilegeHash, EmailVerified: true, CreatedAt: now, UpdatedAt: now, Version: 1}
	m := team.Member{ID: store.NewID("m"), AccountID: account, IdentityID: ident.ID, Email: email, Name: "Target " + email[:8],
		Status: status, Assignments: as, Version: 1, CreatedAt: now, UpdatedAt: now}
	ev := audit.Event{AccountID: account, ActorID: owner, Action: "member.create", TargetType: "member", TargetID: m.ID}
	if err := e.Store.JoinAccount(context.Background(), m, ident, true, nil, ev); err != nil {
		t.Fatal(err)
	}
	return m.ID
}

// privSetup builds one role's account: owner, caller, targets, and the
// objects the rows name.
func (e *Env) privSetup(t *testing.T, role, scope string) *privFixture {
	t.Helper()
	owner := e.signup(t, newEmail("priv-owner"))
	fx := &privFixture{account: owner.AccountID, ownerID: owner.MemberID, role: role, scope: scope, targets: map[string]string{}}
	fx.ownerTk = e.login(t, owner.Email, goodPassword, "").AccessToken
	id, tk := e.join(t, fx.ownerTk, newEmail("priv-"+strings.ReplaceAll(role, "_", "")),
		map[string]any{"assignments": []map[string]string{{"role": role, "scope": scope}}})
	fx.caller, fx.callerID = tk.AccessToken, id

	tm := at("team_member", "store:s1")
	fx.checkTarget = e.privTarget(t, fx.account, fx.ownerID, rbac.StatusActive, tm)
	for _, key := range []string{"updateUser", "updateUser:grant accountant", "suspendUser", "deactivateUser", "deleteUser", "impersonateUser"} {
		fx.targets[key] = e.privTarget(t, fx.account, fx.ownerID, rbac.StatusActive, tm)
	}
	fx.targets["reactivateUser"] = e.privTarget(t, fx.account, fx.ownerID, rbac.StatusSuspended, tm)
	// Always someone to ask for approvals, whoever the caller is.
	e.privTarget(t, fx.account, fx.ownerID, rbac.StatusActive, at("approver", "store:s1"))

	fx.invResend = e.invite(t, fx.ownerTk, map[string]any{"email": newEmail("priv-inv"), "assignments": teamMemberAtS1()}).ID
	fx.invRevoke = e.invite(t, fx.ownerTk, map[string]any{"email": newEmail("priv-inv"), "assignments": teamMemberAtS1()}).ID
	for _, r := range []string{"fixture_role", "doomed_role"} {
		e.Call(t, "POST", "/v1/roles", fx.ownerTk, map[string]any{"id": r, "name": r, "permissions": []string{"orders.view"}}).Want(t, http.StatusCreated, "")
	}
	var key struct {
		ID string `json:"id"`
	}
	e.Call(t, "POST", "/v1/api-keys", fx.ownerTk, map[string]any{"name": "fixture", "permissions": []string{"orders.view"}}).Want(t, http.StatusCreated, "").JSON(t, &key)
	fx.apiKey = key.ID
	var wh struct {
		ID string `json:"id"`
	}
	e.Call(t, "POST", "/v1/webhooks", fx.ownerTk, map[string]any{"url": "http://127.0.0.1:9/priv"}).Want(t, http.StatusCreated, "").JSON(t, &wh)
	fx.webhook = wh.ID

	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", fx.ownerTk, map[string]any{
		"enabled": true, "selfApproval": false, "expiresAfterHours": 24,
		"externalApprovers": map[string]any{"allowed": false, "domains": []string{}},
		"levels":            []map[string]any{{"minAmount": 0, "required": 1, "scope": "document"}},
	}).Want(t, http.StatusOK, "")
	for _, doc := range []string{"po-req", "po-dec", "po-can"} {
		e.Call(t, "PUT", "/v1/documents/purchase_order/"+doc, fx.ownerTk, poBody(100)).Want(t, http.StatusCreated, "")
	}
	fx.reqDecide = e.requestApproval(t, fx.ownerTk, "po-dec", map[string]any{}).ID
	fx.reqCancel = e.requestApproval(t, fx.ownerTk, "po-can", map[string]any{}).ID
	for _, id := range []string{fx.reqDecide, fx.reqCancel} {
		e.waitRequest(t, fx.ownerTk, id, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 })
	}
	// Access requests of a team_member at store:s1: accountant there (to
	// decide) and at store:s2 (to cancel).
	_, rtk := e.join(t, fx.ownerTk, newEmail("priv-acr"), map[string]any{"assignments": teamMemberAtS1()})
	fx.acrDecide = e.askAccess(t, rtk.AccessToken, map[string]any{"role": "accountant", "scope": "store:s1", "reason": "Fixture"}).ID
	fx.acrCancel = e.askAccess(t, rtk.AccessToken, map[string]any{"role": "accountant", "scope": "store:s2", "reason": "Fixture"}).ID
	for _, id := range []string{fx.acrDecide, fx.acrCancel} {
		e.waitAsked(t, fx.ownerTk, id)
	}
	return fx
}

type privCall struct {
	method, path string
	body         any
	headers      []string
}

// privilegeRequest is the call of a row for fx's caller.
func (e *Env) privilegeRequest(t *testing.T, fx *privFixture, key string) privCall {
	t.Helper()
	memberEtag := func(id string) string {
		m, err := e.Store.GetMember(context.Background(), fx.account, id)
		if err != nil {
			t.Fatal(err)
		}
		return httpapi.ETag(m.Version)
	}
	check := map[string]any{"action": "orders.view", "resource": map[string]any{"store": "s1"}, "userId": fx.checkTarget}
	doc := func(store, dept string) map[string]any {
		b := map[string]any{"amount": 10, "currency": "EUR", "title": "By " + fx.role}
		if store != "" {
			b["store"] = store
		}
		if dept != "" {
			b["department"] = dept
		}
		return b
	}
	switch key {
	case "createPortalSession:self":
		return privCall{"POST", "/v1/portal/sessions", map[string]any{"userId": fx.callerID}, nil}
	case "createPortalSession":
		return privCall{"POST", "/v1/portal/sessions", map[string]any{"userId": fx.checkTarget}, nil}
	case "checkPermission:self":
		return privCall{"POST", "/v1/authz/check", map[string]any{"action": "orders.view", "resource": map[string]any{"store": "s1"}}, nil}
	case "checkPermission":
		return privCall{"POST", "/v1/authz/check", check, nil}
	case "checkPermissionBatch":
		return privCall{"POST", "/v1/authz/check-batch", map[string]any{"checks": []any{check}}, nil}
	case "createInvitation":
		return privCall{"POST", "/v1/invitations", map[string]any{"email": newEmail("priv-inv"), "assignments": teamMemberAtS1()}, nil}
	case "createInvitation:default grant":
		return privCall{"POST", "/v1/invitations", map[string]any{"email": newEmail("priv-inv")}, nil}
	case "resendInvitation":
		return privCall{"POST", "/v1/invitations/" + fx.invResend + "/resend", nil, nil}
	case "revokeInvitation":
		return privCall{"DELETE", "/v1/invitations/" + fx.invRevoke, nil, nil}
	case "createUser":
		return privCall{"POST", "/v1/users", map[string]any{"email": newEmail("priv-user"), "name": "Priv User", "assignments": teamMemberAtS1()}, nil}
	case "importUsers":
		return privCall{"POST", "/v1/users/import", map[string]any{"users": []any{map[string]any{"email": newEmail("priv-imp"), "name": "Priv Import", "assignments": teamMemberAtS1()}}}, nil}
	case "updateUser":
		id := fx.targets[key]
		return privCall{"PATCH", "/v1/users/" + id, map[string]any{"name": "Renamed by " + fx.role}, []string{"If-Match", memberEtag(id)}}
	case "updateUser:grant accountant":
		id := fx.targets[key]
		return privCall{"PATCH", "/v1/users/" + id, map[string]any{"assignments": []map[string]string{{"role": "accountant", "scope": "store:s1"}}}, []string{"If-Match", memberEtag(id)}}
	case "suspendUser", "reactivateUser", "deactivateUser":
		return privCall{"POST", "/v1/users/" + fx.targets[key] + "/" + strings.TrimSuffix(key, "User"), nil, nil}
	case "deleteUser":
		return privCall{"DELETE", "/v1/users/" + fx.targets[key], nil, nil}
	case "transferOwnership":
		return privCall{"POST", "/v1/account/transfer-ownership", map[string]any{"memberId": fx.checkTarget}, nil}
	case "impersonateUser":
		return privCall{"POST", "/v1/users/" + fx.targets[key] + "/impersonate", nil, nil}
	case "createApiKey":
		return privCall{"POST", "/v1/api-keys", map[string]any{"name": "key by " + fx.role, "permissions": []string{"orders.view"}}, nil}
	case "revokeApiKey":
		return privCall{"DELETE", "/v1/api-keys/" + fx.apiKey, nil, nil}
	case "createWebhook":
		return privCall{"POST", "/v1/webhooks", map[string]any{"url": "http://127.0.0.1:9/by-" + fx.role}, nil}
	case "updateWebhook":
		return privCall{"PATCH", "/v1/webhooks/" + fx.webhook, map[string]any{"description": "by " + fx.role}, nil}
	case "rotateWebhookSecret":
		return privCall{"POST", "/v1/webhooks/" + fx.webhook + "/rotate-secret", nil, nil}
	case "replayWebhook":
		return privCall{"POST", "/v1/webhooks/" + fx.webhook + "/replay", map[string]any{"since": sweepSince}, nil}
	case "deleteWebhook":
		return privCall{"DELETE", "/v1/webhooks/" + fx.webhook, nil, nil}
	case "createRole":
		return privCall{"POST", "/v1/roles", map[string]any{"id": "made_by_caller", "name": "Made", "permissions": []string{"orders.view"}}, nil}
	case "updateRole":
		etag := e.Call(t, "GET", "/v1/roles/fixture_role", fx.ownerTk, nil).Want(t, http.StatusOK, "").Header.Get("ETag")
		return privCall{"PATCH", "/v1/roles/fixture_role", map[string]any{"name": "Renamed by " + fx.role}, []string{"If-Match", etag}}
	case "deleteRole":
		return privCall{"DELETE", "/v1/roles/doomed_role", nil, nil}
	case "updateAccount":
		etag := e.Call(t, "GET", "/v1/account", fx.ownerTk, nil).Want(t, http.StatusOK, "").Header.Get("ETag")
		return privCall{"PATCH", "/v1/account", map[string]any{"name": "Renamed by " + fx.role}, []string{"If-Match", etag}}
	case "updateAccount:invitation lifetime", "updateAccount:self-registration", "updateAccount:external approver domains":
		etag := e.Call(t, "GET", "/v1/account", fx.ownerTk, nil).Want(t, http.StatusOK, "").Header.Get("ETag")
		settings := map[string]any{
			"updateAccount:invitation lifetime":       map[string]any{"invitationTtlHours": 24},
			"updateAccount:self-registration":         map[string]any{"selfRegistration": map[string]any{"enabled": true, "domains": []string{"partner.example"}, "defaultRole": "team_member"}},
			"updateAccount:external approver domains": map[string]any{"externalApproverDomains": []string{"partner.example"}},
		}[key]
		return privCall{"PATCH", "/v1/account", map[string]any{"settings": settings}, []string{"If-Match", etag}}
	case "putStore":
		return privCall{"PUT", "/v1/stores/priv_store", map[string]any{"name": "Store of " + fx.role}, nil}
	case "putDepartment":
		return privCall{"PUT", "/v1/departments/priv_dept", map[string]any{"name": "Department of " + fx.role, "kind": "sales"}, nil}
	case "putSupplier":
		return privCall{"PUT", "/v1/suppliers/priv_supplier", map[string]any{"name": "Supplier of " + fx.role}, nil}
	case "putApprovalPolicy":
		// Another document type than the fixtures' purchase orders.
		return privCall{"PUT", "/v1/approval-policies/sales_order", map[string]any{"enabled": false, "expiresAfterHours": 24}, nil}
	case "putDocument":
		return privCall{"PUT", "/v1/documents/purchase_order/po-new", doc("s1", ""), nil}
	case "putDocument:department":
		return privCall{"PUT", "/v1/documents/purchase_order/po-dept", doc("", "sales"), nil}
	case "putDocument:invoice":
		return privCall{"PUT", "/v1/documents/invoice/inv-new", doc("s1", ""), nil}
	case "putStockLevels":
		return privCall{"PUT", "/v1/stock-levels", map[string]any{"items": []any{map[string]any{"sku": "SKU-1", "name": "Item", "store": "s1", "onHand": 3, "threshold": 5}}}, nil}
	case "createApprovalRequest":
		return privCall{"POST", "/v1/documents/purchase_order/po-req/approval-requests", map[string]any{}, nil}
	case "decideApprovalRequest":
		return privCall{"POST", "/v1/approval-requests/" + fx.reqDecide + "/decision", map[string]any{"decision": "approve"}, nil}
	case "cancelApprovalRequest":
		return privCall{"POST", "/v1/approval-requests/" + fx.reqCancel + "/cancel", nil, nil}
	case "putMyDelegation":
		return privCall{"PUT", "/v1/me/delegation", delegationBody(fx.ownerID, 0, time.Hour), nil}
	case "deleteMyDelegation":
		return privCall{"DELETE", "/v1/me/delegation", nil, nil}
	case "createAccessRequest":
		return privCall{"POST", "/v1/access-requests", map[string]any{"role": "accountant", "scope": "store:s2", "reason": "Asked by " + fx.role}, nil}
	case "decideAccessRequest":
		return privCall{"POST", "/v1/access-requests/" + fx.acrDecide + "/decision", map[string]any{"decision": "approve"}, nil}
	case "cancelAccessRequest":
		return privCall{"POST", "/v1/access-requests/" + fx.acrCancel + "/cancel", nil, nil}
	case "recordActivity":
		return privCall{"POST", "/v1/activity", map[string]any{"action": "order.export", "summary": "By " + fx.role}, nil}
	case "recordActivity:for another member":
		return privCall{"POST", "/v1/activity", map[string]any{"action": "order.export", "userId": fx.checkTarget}, nil}
	case "logout":
		return privCall{"POST", "/v1/auth/logout", nil, nil}
	}
	t.Fatalf("no request for row %s: add one to privilegeRequest", key)
	return privCall{}
}

// settle waits for what an allowed call started in the background (the
// approval workflow) to write its audit events, so that the next refused
// call's audit count is exact.
func (e *Env) privSettle(t *testing.T, fx *privFixture, key string, res *Response) {
	t.Helper()
	switch key {
	case "createApprovalRequest":
		var r apRequest
		res.JSON(t, &r)
		e.waitRequest(t, fx.ownerTk, r.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 })
	case "decideApprovalRequest":
		e.waitRequest(t, fx.ownerTk, fx.reqDecide, "approved", func(r apRequest) bool { return r.Status == "approved" })
	case "cancelApprovalRequest":
		e.waitRequest(t, fx.ownerTk, fx.reqCancel, "cancelled", func(r apRequest) bool { return r.Status == "cancelled" })
	case "createAccessRequest":
		var r acrView
		res.JSON(t, &r)
		e.waitAsked(t, fx.ownerTk, r.ID)
	case "importUsers":
		// The row passes the grant ceiling as createUser's body does.
		var r importAnswer
		res.JSON(t, &r)
		if len(r.Results) != 1 {
			t.Fatalf("%s importUsers: %s", fx.role, res.Body)
		}
		if slices.Contains(grantTMAtS1, fx.role) {
			if r.Created != 1 || r.Results[0].Status != "created" {
				t.Errorf("%s importUsers: row not created: %s", fx.role, res.Body)
			}
		} else if r.Failed != 1 || r.Results[0].Error == nil || r.Results[0].Error.Code != "exceeds_own_rights" {
			t.Errorf("%s importUsers: want the row failed exceeds_own_rights: %s", fx.role, res.Body)
		}
	}
}

// TestPrivilegeMatrix has a member of every built-in role call every
// changing route of the route table (every authenticated non-GET route,
// with variants) and checks each answer against privilegeRows: allowed
// calls succeed, refused ones answer 403 (404 where the object is hidden)
// and change nothing. Each role works in an account of its own, in
// parallel.
func TestPrivilegeMatrix(t *testing.T) {
	// Every changing route has a row, and every row names one: a new
	// route cannot be forgotten.
	changing := map[string]routes.Route{}
	for _, r := range routes.Table {
		if !r.Public && r.Method != http.MethodGet {
			changing[r.Operation] = r
		}
	}
	covered := map[string]bool{}
	keys := map[string]bool{}
	for _, row := range privilegeRows {
		if _, ok := changing[row.op]; !ok {
			t.Errorf("row %s: %q is not an authenticated changing route of the table", row.key(), row.op)
		}
		if keys[row.key()] {
			t.Errorf("row %s listed twice", row.key())
		}
		keys[row.key()], covered[row.op] = true, true
		if row.why == "" {
			t.Errorf("row %s: no derivation", row.key())
		}
		for _, r := range append(slices.Clone(row.allow), row.hidden...) {
			if !slices.Contains(allRoles, r) {
				t.Errorf("row %s names unknown role %q", row.key(), r)
			}
			if slices.Contains(row.allow, r) && slices.Contains(row.hidden, r) {
				t.Errorf("row %s: role %s both allowed and hidden", row.key(), r)
			}
		}
	}
	for op, r := range changing {
		if !covered[op] {
			t.Errorf("changing route %s (%s) has no row in privilegeRows: add its expectations", r.Pattern(), op)
		}
	}
	if len(privilegeRoles) != len(allRoles) {
		t.Fatalf("privilegeRoles has %d roles, allRoles %d", len(privilegeRoles), len(allRoles))
	}
	if t.Failed() {
		return
	}

	e := New(t)
	var cases, allows, denies, hidden atomic.Int64
	t.Run("roles", func(t *testing.T) {
		for _, pr := range privilegeRoles {
			t.Run(pr.role, func(t *testing.T) {
				t.Parallel()
				fx := e.privSetup(t, pr.role, pr.scope)
				for _, row := range privilegeRows {
					want := row.want(pr.role)
					c := e.privilegeRequest(t, fx, row.key())
					before := -1
					if want != "allow" {
						before = e.auditCount(t, fx.account)
					}
					res := e.Call(t, c.method, c.path, fx.caller, c.body, c.headers...)
					cases.Add(1)
					what := fmt.Sprintf("%s@%s %s (%s %s)", pr.role, pr.scope, row.key(), c.method, c.path)
					switch want {
					case "allow":
						allows.Add(1)
						if res.Status < 200 || res.Status > 299 {
							t.Errorf("%s: got %d %s, want success (%s)", what, res.Status, res.Body, row.why)
							continue
						}
						e.privSettle(t, fx, row.key(), res)
					case "deny", "hidden":
						status := http.StatusForbidden
						if want == "hidden" {
							status = http.StatusNotFound
							hidden.Add(1)
						} else {
							denies.Add(1)
						}
						if res.Status != status {
							t.Errorf("%s: got %d %s, want %d (%s)", what, res.Status, res.Body, status, row.why)
						}
						if after := e.auditCount(t, fx.account); after != before {
							t.Errorf("%s: refused, yet the audit log went from %d to %d events", what, before, after)
						}
					}
				}
			})
		}
	})
	t.Logf("privilege matrix: %d roles x %d changing operations (%d routes) = %d cases: %d allowed, %d refused with 403, %d hidden with 404",
		len(privilegeRoles), len(privilegeRows), len(changing), cases.Load(), allows.Load(), denies.Load(), hidden.Load())
}

func teamMemberAtS1() []map[string]string {
	return []map[string]string{{"role": "team_member", "scope": "store:s1"}}
}

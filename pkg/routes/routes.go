// Package routes is the single route table of the Steward API. The CDK app
// builds API Gateway routes and Lambda functions from it, and the local
// server mounts it, so the two cannot drift.
//
// Paths use the pattern syntax shared by net/http's ServeMux and API
// Gateway HTTP APIs: literal segments and {name} parameters.
package routes

import "strings"

// Function names: one Lambda function each. A route belongs to exactly one.
const (
	FunctionHealth      = "health"
	FunctionAuth        = "auth"
	FunctionUsers       = "users"
	FunctionPermissions = "permissions"
	FunctionInvites     = "invites"
	FunctionAPIKeys     = "apikeys"
	FunctionAccount     = "account"
	FunctionApprovals   = "approvals"
	FunctionAlerts      = "alerts"
	FunctionWebhooks    = "webhooks"
)

// FunctionWorkflow is the Lambda function that runs the approval state
// machine's steps. It serves no route: Step Functions invokes it.
const FunctionWorkflow = "workflow"

// FunctionAlertsJob is the Lambda function of the alert job. It serves no
// route: an hourly EventBridge rule invokes it to enqueue one task per due
// account, and the job's SQS work queue invokes it with those tasks.
const FunctionAlertsJob = "alertsjob"

// FunctionEventPublisher is the Lambda function of the change events'
// pipeline. It serves no route: the table's stream invokes it with new
// audit items, and it puts their events on the EventBridge bus and
// schedules their webhook deliveries.
const FunctionEventPublisher = "eventpublisher"

// FunctionWebhookDelivery is the Lambda function that delivers webhook
// events (pkg/webhooks). It serves no route: the delivery queue (SQS)
// invokes it with delivery tasks.
const FunctionWebhookDelivery = "webhookdelivery"

// Route is one API route.
type Route struct {
	// Method is the HTTP method.
	Method string
	// Path is the path pattern, e.g. /v1/users/{id}.
	Path string
	// Function is the Lambda function that serves the route.
	Function string
	// Operation is the stable operation id (also the OpenAPI operationId)
	// that binds the route to its handler.
	Operation string
	// Public routes need no bearer token; every other route is
	// authenticated.
	Public bool
	// Body says the route reads a JSON request body. A route without one
	// refuses a non-empty body, so that a client's mistake is not ignored.
	Body bool
	// Idempotent creating POSTs honour an Idempotency-Key header (they
	// must be authenticated: keys are remembered per caller).
	Idempotent bool
	// NoImpersonation routes act on trust: they request, decide or cancel
	// approvals, set or remove a delegation, change grants (invitations, members, roles), statuses,
	// policies and settings, API keys, webhooks or ownership. An impersonated
	// session (an administrator acting as a member, for looking) is
	// refused with 403 impersonation_forbidden before the handler runs;
	// it may still read and do the member's ordinary work (documents,
	// stock levels, checks). PATCH /v1/users/{id} is the one field-level
	// case: its handler refuses an impersonated change of assignments or
	// the admin flag, and lets the name and notifications through.
	NoImpersonation bool
}

// Pattern is "GET /v1/health": both the net/http ServeMux pattern and the
// API Gateway HTTP API route key.
func (r Route) Pattern() string { return r.Method + " " + r.Path }

// Table lists every route of the API.
var Table = []Route{
	{Method: "GET", Path: "/v1/health", Function: FunctionHealth, Operation: "getHealth", Public: true},
	{Method: "GET", Path: "/v1/openapi.json", Function: FunctionHealth, Operation: "getOpenAPI", Public: true},

	{Method: "POST", Path: "/v1/signup", Function: FunctionAuth, Operation: "signup", Public: true, Body: true},
	{Method: "POST", Path: "/v1/auth/verify-email", Function: FunctionAuth, Operation: "verifyEmail", Public: true, Body: true},
	{Method: "POST", Path: "/v1/auth/login", Function: FunctionAuth, Operation: "login", Public: true, Body: true},
	{Method: "POST", Path: "/v1/auth/refresh", Function: FunctionAuth, Operation: "refresh", Public: true, Body: true},
	{Method: "POST", Path: "/v1/auth/logout", Function: FunctionAuth, Operation: "logout"},
	{Method: "POST", Path: "/v1/auth/password-reset", Function: FunctionAuth, Operation: "requestPasswordReset", Public: true, Body: true},
	{Method: "POST", Path: "/v1/auth/password-reset/confirm", Function: FunctionAuth, Operation: "confirmPasswordReset", Public: true, Body: true},
	{Method: "GET", Path: "/.well-known/jwks.json", Function: FunctionAuth, Operation: "getJWKS", Public: true},
	{Method: "GET", Path: "/.well-known/openid-configuration", Function: FunctionAuth, Operation: "getOpenIDConfiguration", Public: true},

	{Method: "POST", Path: "/v1/invitations", Function: FunctionInvites, Operation: "createInvitation", Body: true, Idempotent: true, NoImpersonation: true},
	{Method: "GET", Path: "/v1/invitations", Function: FunctionInvites, Operation: "listInvitations"},
	{Method: "POST", Path: "/v1/invitations/{id}/resend", Function: FunctionInvites, Operation: "resendInvitation", NoImpersonation: true},
	{Method: "DELETE", Path: "/v1/invitations/{id}", Function: FunctionInvites, Operation: "revokeInvitation", NoImpersonation: true},
	{Method: "GET", Path: "/v1/invitations/lookup", Function: FunctionInvites, Operation: "lookupInvitation", Public: true},
	{Method: "POST", Path: "/v1/invitations/accept", Function: FunctionInvites, Operation: "acceptInvitation", Public: true, Body: true},
	{Method: "POST", Path: "/v1/join", Function: FunctionInvites, Operation: "joinAccount", Public: true, Body: true},

	{Method: "POST", Path: "/v1/api-keys", Function: FunctionAPIKeys, Operation: "createApiKey", Body: true, NoImpersonation: true},
	{Method: "GET", Path: "/v1/api-keys", Function: FunctionAPIKeys, Operation: "listApiKeys"},
	{Method: "DELETE", Path: "/v1/api-keys/{id}", Function: FunctionAPIKeys, Operation: "revokeApiKey", NoImpersonation: true},

	{Method: "POST", Path: "/v1/webhooks", Function: FunctionWebhooks, Operation: "createWebhook", Body: true, NoImpersonation: true},
	{Method: "GET", Path: "/v1/webhooks", Function: FunctionWebhooks, Operation: "listWebhooks"},
	{Method: "GET", Path: "/v1/webhooks/{id}", Function: FunctionWebhooks, Operation: "getWebhook"},
	{Method: "PATCH", Path: "/v1/webhooks/{id}", Function: FunctionWebhooks, Operation: "updateWebhook", Body: true, NoImpersonation: true},
	{Method: "DELETE", Path: "/v1/webhooks/{id}", Function: FunctionWebhooks, Operation: "deleteWebhook", NoImpersonation: true},
	{Method: "POST", Path: "/v1/webhooks/{id}/rotate-secret", Function: FunctionWebhooks, Operation: "rotateWebhookSecret", NoImpersonation: true},
	{Method: "GET", Path: "/v1/webhooks/{id}/deliveries", Function: FunctionWebhooks, Operation: "listWebhookDeliveries"},
	{Method: "POST", Path: "/v1/webhooks/{id}/replay", Function: FunctionWebhooks, Operation: "replayWebhook", Body: true, NoImpersonation: true},

	{Method: "GET", Path: "/v1/permissions", Function: FunctionPermissions, Operation: "listPermissions"},
	{Method: "GET", Path: "/v1/roles", Function: FunctionPermissions, Operation: "listRoles"},
	{Method: "POST", Path: "/v1/roles", Function: FunctionPermissions, Operation: "createRole", Body: true, Idempotent: true, NoImpersonation: true},
	{Method: "GET", Path: "/v1/roles/{id}", Function: FunctionPermissions, Operation: "getRole"},
	{Method: "PATCH", Path: "/v1/roles/{id}", Function: FunctionPermissions, Operation: "updateRole", Body: true, NoImpersonation: true},
	{Method: "DELETE", Path: "/v1/roles/{id}", Function: FunctionPermissions, Operation: "deleteRole", NoImpersonation: true},
	{Method: "POST", Path: "/v1/authz/check", Function: FunctionPermissions, Operation: "checkPermission", Body: true},
	{Method: "POST", Path: "/v1/authz/check-batch", Function: FunctionPermissions, Operation: "checkPermissionBatch", Body: true},
	{Method: "GET", Path: "/v1/authz/who-can", Function: FunctionPermissions, Operation: "whoCan"},
	{Method: "GET", Path: "/v1/me/permissions", Function: FunctionPermissions, Operation: "myPermissions"},

	{Method: "GET", Path: "/v1/account", Function: FunctionAccount, Operation: "getAccount"},
	{Method: "PATCH", Path: "/v1/account", Function: FunctionAccount, Operation: "updateAccount", Body: true, NoImpersonation: true},
	{Method: "GET", Path: "/v1/stores", Function: FunctionAccount, Operation: "listStores"},
	{Method: "GET", Path: "/v1/stores/{id}", Function: FunctionAccount, Operation: "getStore"},
	{Method: "PUT", Path: "/v1/stores/{id}", Function: FunctionAccount, Operation: "putStore", Body: true, NoImpersonation: true},
	{Method: "GET", Path: "/v1/departments", Function: FunctionAccount, Operation: "listDepartments"},
	{Method: "GET", Path: "/v1/departments/{id}", Function: FunctionAccount, Operation: "getDepartment"},
	{Method: "PUT", Path: "/v1/departments/{id}", Function: FunctionAccount, Operation: "putDepartment", Body: true, NoImpersonation: true},
	{Method: "GET", Path: "/v1/suppliers", Function: FunctionAccount, Operation: "listSuppliers"},
	{Method: "GET", Path: "/v1/suppliers/{id}", Function: FunctionAccount, Operation: "getSupplier"},
	{Method: "PUT", Path: "/v1/suppliers/{id}", Function: FunctionAccount, Operation: "putSupplier", Body: true, NoImpersonation: true},
	{Method: "GET", Path: "/v1/audit", Function: FunctionAccount, Operation: "listAudit"},
	{Method: "POST", Path: "/v1/activity", Function: FunctionAccount, Operation: "recordActivity", Body: true},
	{Method: "GET", Path: "/v1/events", Function: FunctionAccount, Operation: "listEvents"},

	{Method: "GET", Path: "/v1/me", Function: FunctionUsers, Operation: "getMe"},
	{Method: "GET", Path: "/v1/users", Function: FunctionUsers, Operation: "listUsers"},
	{Method: "POST", Path: "/v1/users", Function: FunctionUsers, Operation: "createUser", Body: true, Idempotent: true, NoImpersonation: true},
	{Method: "POST", Path: "/v1/users/import", Function: FunctionUsers, Operation: "importUsers", Body: true, Idempotent: true, NoImpersonation: true},
	{Method: "GET", Path: "/v1/users/{id}", Function: FunctionUsers, Operation: "getUser"},
	{Method: "PATCH", Path: "/v1/users/{id}", Function: FunctionUsers, Operation: "updateUser", Body: true},
	{Method: "DELETE", Path: "/v1/users/{id}", Function: FunctionUsers, Operation: "deleteUser", Body: true, NoImpersonation: true},
	{Method: "POST", Path: "/v1/users/{id}/suspend", Function: FunctionUsers, Operation: "suspendUser", Body: true, NoImpersonation: true},
	{Method: "POST", Path: "/v1/users/{id}/reactivate", Function: FunctionUsers, Operation: "reactivateUser", NoImpersonation: true},
	{Method: "POST", Path: "/v1/users/{id}/deactivate", Function: FunctionUsers, Operation: "deactivateUser", Body: true, NoImpersonation: true},
	{Method: "POST", Path: "/v1/account/transfer-ownership", Function: FunctionUsers, Operation: "transferOwnership", Body: true, NoImpersonation: true},
	{Method: "POST", Path: "/v1/users/{id}/impersonate", Function: FunctionUsers, Operation: "impersonateUser", NoImpersonation: true},

	// The admin portal (pkg/portal): the host app mints a one-time link
	// for its member (an API key or the member's own token), and the
	// portal's pages are public routes to the router: they authenticate
	// their own session cookie and check a CSRF token on every POST (Body:
	// the form, read by its handler after a size limit; not JSON). The
	// users function serves them: it holds the members, invitations and
	// the auth service they call.
	{Method: "POST", Path: "/v1/portal/sessions", Function: FunctionUsers, Operation: "createPortalSession", Body: true, NoImpersonation: true},
	{Method: "GET", Path: "/portal", Function: FunctionUsers, Operation: "getPortal", Public: true},
	{Method: "GET", Path: "/portal/static/portal.css", Function: FunctionUsers, Operation: "getPortalStylesheet", Public: true},
	{Method: "GET", Path: "/portal/enter/{token}", Function: FunctionUsers, Operation: "enterPortal", Public: true},
	{Method: "POST", Path: "/portal/enter/{token}", Function: FunctionUsers, Operation: "submitPortalEnter", Public: true, Body: true},
	{Method: "POST", Path: "/portal/impersonation/stop", Function: FunctionUsers, Operation: "submitPortalStopImpersonate", Public: true, Body: true},
	{Method: "GET", Path: "/portal/login", Function: FunctionUsers, Operation: "getPortalLogin", Public: true},
	{Method: "POST", Path: "/portal/login", Function: FunctionUsers, Operation: "submitPortalLogin", Public: true, Body: true},
	{Method: "POST", Path: "/portal/logout", Function: FunctionUsers, Operation: "submitPortalLogout", Public: true, Body: true},
	{Method: "GET", Path: "/portal/team", Function: FunctionUsers, Operation: "getPortalTeam", Public: true},
	{Method: "GET", Path: "/portal/invite", Function: FunctionUsers, Operation: "getPortalInvite", Public: true},
	{Method: "POST", Path: "/portal/invite", Function: FunctionUsers, Operation: "submitPortalInvite", Public: true, Body: true},
	{Method: "POST", Path: "/portal/invitations/{id}/resend", Function: FunctionUsers, Operation: "submitPortalResendInvite", Public: true, Body: true},
	{Method: "GET", Path: "/portal/invitations/{id}/revoke", Function: FunctionUsers, Operation: "getPortalRevokeInvite", Public: true},
	{Method: "POST", Path: "/portal/invitations/{id}/revoke", Function: FunctionUsers, Operation: "submitPortalRevokeInvite", Public: true, Body: true},
	{Method: "GET", Path: "/portal/members/{id}", Function: FunctionUsers, Operation: "getPortalMember", Public: true},
	{Method: "POST", Path: "/portal/members/{id}/assignments", Function: FunctionUsers, Operation: "submitPortalAssignments", Public: true, Body: true},
	{Method: "GET", Path: "/portal/members/{id}/status", Function: FunctionUsers, Operation: "getPortalMemberStatus", Public: true},
	{Method: "POST", Path: "/portal/members/{id}/status", Function: FunctionUsers, Operation: "submitPortalMemberStatus", Public: true, Body: true},
	{Method: "GET", Path: "/portal/roles", Function: FunctionUsers, Operation: "getPortalRoles", Public: true},
	{Method: "GET", Path: "/portal/roles/new", Function: FunctionUsers, Operation: "getPortalNewRole", Public: true},
	{Method: "POST", Path: "/portal/roles/new", Function: FunctionUsers, Operation: "submitPortalNewRole", Public: true, Body: true},
	{Method: "GET", Path: "/portal/roles/{id}/edit", Function: FunctionUsers, Operation: "getPortalRole", Public: true},
	{Method: "POST", Path: "/portal/roles/{id}/edit", Function: FunctionUsers, Operation: "submitPortalRole", Public: true, Body: true},
	{Method: "GET", Path: "/portal/roles/{id}/delete", Function: FunctionUsers, Operation: "getPortalDeleteRole", Public: true},
	{Method: "POST", Path: "/portal/roles/{id}/delete", Function: FunctionUsers, Operation: "submitPortalDeleteRole", Public: true, Body: true},
	{Method: "POST", Path: "/portal/members/{id}/permissions", Function: FunctionUsers, Operation: "submitPortalPermissions", Public: true, Body: true},
	{Method: "POST", Path: "/portal/members/{id}/notifications", Function: FunctionUsers, Operation: "submitPortalNotifications", Public: true, Body: true},
	{Method: "POST", Path: "/portal/members/{id}/impersonate", Function: FunctionUsers, Operation: "submitPortalImpersonate", Public: true, Body: true},
	// The settings, audit and webhooks sections (pkg/portal http_settings.go, http_audit.go, http_webhooks.go).
	{Method: "GET", Path: "/portal/settings", Function: FunctionUsers, Operation: "getPortalSettings", Public: true},
	{Method: "POST", Path: "/portal/settings", Function: FunctionUsers, Operation: "submitPortalSettings", Public: true, Body: true},
	{Method: "GET", Path: "/portal/settings/items", Function: FunctionUsers, Operation: "getPortalScopeItemNew", Public: true},
	{Method: "POST", Path: "/portal/settings/items", Function: FunctionUsers, Operation: "submitPortalScopeItemNew", Public: true, Body: true},
	{Method: "GET", Path: "/portal/settings/items/{id}", Function: FunctionUsers, Operation: "getPortalScopeItem", Public: true},
	{Method: "POST", Path: "/portal/settings/items/{id}", Function: FunctionUsers, Operation: "submitPortalScopeItem", Public: true, Body: true},
	{Method: "GET", Path: "/portal/audit", Function: FunctionUsers, Operation: "getPortalAudit", Public: true},
	{Method: "GET", Path: "/portal/webhooks", Function: FunctionUsers, Operation: "getPortalWebhooks", Public: true},
	{Method: "POST", Path: "/portal/webhooks", Function: FunctionUsers, Operation: "submitPortalWebhookNew", Public: true, Body: true},
	{Method: "GET", Path: "/portal/webhooks/{id}", Function: FunctionUsers, Operation: "getPortalWebhook", Public: true},
	{Method: "POST", Path: "/portal/webhooks/{id}", Function: FunctionUsers, Operation: "submitPortalWebhook", Public: true, Body: true},
	{Method: "POST", Path: "/portal/webhooks/{id}/rotate-secret", Function: FunctionUsers, Operation: "submitPortalWebhookRotate", Public: true, Body: true},
	{Method: "POST", Path: "/portal/webhooks/{id}/replay", Function: FunctionUsers, Operation: "submitPortalWebhookReplay", Public: true, Body: true},
	{Method: "GET", Path: "/portal/webhooks/{id}/delete", Function: FunctionUsers, Operation: "getPortalWebhookDelete", Public: true},
	{Method: "POST", Path: "/portal/webhooks/{id}/delete", Function: FunctionUsers, Operation: "submitPortalWebhookDelete", Public: true, Body: true},
	// The portal's approvals and access pages (pkg/portal http_approvals.go,
	// http_access.go): served by the approvals function, which answers the
	// approval workflows (only it and the workflow function send task
	// results).
	{Method: "GET", Path: "/portal/approvals", Function: FunctionApprovals, Operation: "getPortalApprovals", Public: true},
	{Method: "GET", Path: "/portal/approvals/requests/{id}", Function: FunctionApprovals, Operation: "getPortalApprovalRequest", Public: true},
	{Method: "POST", Path: "/portal/approvals/requests/{id}/decision", Function: FunctionApprovals, Operation: "submitPortalApprovalDecision", Public: true, Body: true},
	{Method: "GET", Path: "/portal/approvals/requests/{id}/cancel", Function: FunctionApprovals, Operation: "getPortalApprovalCancel", Public: true},
	{Method: "POST", Path: "/portal/approvals/requests/{id}/cancel", Function: FunctionApprovals, Operation: "submitPortalApprovalCancel", Public: true, Body: true},
	{Method: "GET", Path: "/portal/approvals/policies", Function: FunctionApprovals, Operation: "getPortalApprovalPolicies", Public: true},
	{Method: "GET", Path: "/portal/approvals/policies/{id}", Function: FunctionApprovals, Operation: "getPortalApprovalPolicy", Public: true},
	{Method: "POST", Path: "/portal/approvals/policies/{id}", Function: FunctionApprovals, Operation: "submitPortalApprovalPolicy", Public: true, Body: true},
	{Method: "GET", Path: "/portal/access", Function: FunctionApprovals, Operation: "getPortalAccess", Public: true},
	{Method: "POST", Path: "/portal/access/requests", Function: FunctionApprovals, Operation: "submitPortalAccessRequest", Public: true, Body: true},
	{Method: "POST", Path: "/portal/access/requests/{id}/decision", Function: FunctionApprovals, Operation: "submitPortalAccessDecision", Public: true, Body: true},
	{Method: "GET", Path: "/portal/access/requests/{id}/cancel", Function: FunctionApprovals, Operation: "getPortalAccessCancel", Public: true},
	{Method: "POST", Path: "/portal/access/requests/{id}/cancel", Function: FunctionApprovals, Operation: "submitPortalAccessCancel", Public: true, Body: true},
	{Method: "POST", Path: "/portal/access/delegation", Function: FunctionApprovals, Operation: "submitPortalDelegation", Public: true, Body: true},
	{Method: "GET", Path: "/portal/access/delegation/delete", Function: FunctionApprovals, Operation: "getPortalDelegationDelete", Public: true},
	{Method: "POST", Path: "/portal/access/delegation/delete", Function: FunctionApprovals, Operation: "submitPortalDelegationDelete", Public: true, Body: true},

	{Method: "GET", Path: "/v1/documents/{type}/{id}", Function: FunctionApprovals, Operation: "getDocument"},
	{Method: "PUT", Path: "/v1/documents/{type}/{id}", Function: FunctionApprovals, Operation: "putDocument", Body: true},
	{Method: "POST", Path: "/v1/documents/{type}/{id}/approval-requests", Function: FunctionApprovals, Operation: "createApprovalRequest", Body: true, Idempotent: true, NoImpersonation: true},
	{Method: "GET", Path: "/v1/approval-requests", Function: FunctionApprovals, Operation: "listApprovalRequests"},
	{Method: "GET", Path: "/v1/approval-requests/{id}", Function: FunctionApprovals, Operation: "getApprovalRequest"},
	{Method: "POST", Path: "/v1/approval-requests/{id}/decision", Function: FunctionApprovals, Operation: "decideApprovalRequest", Body: true, NoImpersonation: true},
	{Method: "POST", Path: "/v1/approval-requests/{id}/cancel", Function: FunctionApprovals, Operation: "cancelApprovalRequest", NoImpersonation: true},
	// Access requests (pkg/access) run on the approval workflow: the
	// approvals function serves them.
	{Method: "POST", Path: "/v1/access-requests", Function: FunctionApprovals, Operation: "createAccessRequest", Body: true, Idempotent: true, NoImpersonation: true},
	{Method: "GET", Path: "/v1/access-requests", Function: FunctionApprovals, Operation: "listAccessRequests"},
	{Method: "GET", Path: "/v1/access-requests/{id}", Function: FunctionApprovals, Operation: "getAccessRequest"},
	{Method: "POST", Path: "/v1/access-requests/{id}/decision", Function: FunctionApprovals, Operation: "decideAccessRequest", Body: true, NoImpersonation: true},
	{Method: "POST", Path: "/v1/access-requests/{id}/cancel", Function: FunctionApprovals, Operation: "cancelAccessRequest", NoImpersonation: true},
	{Method: "GET", Path: "/v1/approval-policies/{docType}", Function: FunctionApprovals, Operation: "getApprovalPolicy"},
	{Method: "PUT", Path: "/v1/approval-policies/{docType}", Function: FunctionApprovals, Operation: "putApprovalPolicy", Body: true, NoImpersonation: true},
	// Delegation while away: it hands the member's approvals to another
	// member, so an impersonated session may read it but not change it.
	{Method: "GET", Path: "/v1/me/delegation", Function: FunctionApprovals, Operation: "getMyDelegation"},
	{Method: "PUT", Path: "/v1/me/delegation", Function: FunctionApprovals, Operation: "putMyDelegation", Body: true, NoImpersonation: true},
	{Method: "DELETE", Path: "/v1/me/delegation", Function: FunctionApprovals, Operation: "deleteMyDelegation", NoImpersonation: true},
	// The approval page: public HTML, decided with a form (Body: the form,
	// read by its handler after a size limit; not JSON).
	{Method: "GET", Path: "/approve/{token}", Function: FunctionApprovals, Operation: "getApprovalPage", Public: true},
	{Method: "POST", Path: "/approve/{token}", Function: FunctionApprovals, Operation: "submitApprovalPage", Public: true, Body: true},
	// The access request decision page: public HTML, like the approval page.
	{Method: "GET", Path: "/access/{token}", Function: FunctionApprovals, Operation: "getAccessRequestPage", Public: true},
	{Method: "POST", Path: "/access/{token}", Function: FunctionApprovals, Operation: "submitAccessRequestPage", Public: true, Body: true},

	{Method: "PUT", Path: "/v1/stock-levels", Function: FunctionAlerts, Operation: "putStockLevels", Body: true},
	{Method: "GET", Path: "/v1/alerts/preview", Function: FunctionAlerts, Operation: "previewAlerts"},
	// The unsubscribe page: public HTML; POST is the RFC 8058 one-click
	// (a form body, read by its handler after a size limit; not JSON).
	{Method: "GET", Path: "/v1/alerts/unsubscribe", Function: FunctionAlerts, Operation: "getUnsubscribePage", Public: true},
	{Method: "POST", Path: "/v1/alerts/unsubscribe", Function: FunctionAlerts, Operation: "unsubscribeAlerts", Public: true, Body: true},
}

// Functions lists the distinct function names of the table, in table order.
func Functions() []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range Table {
		if !seen[r.Function] {
			seen[r.Function] = true
			out = append(out, r.Function)
		}
	}
	return out
}

// ForFunction returns the routes served by one function; an empty name
// returns every route (the local server).
func ForFunction(name string) []Route {
	if name == "" {
		return Table
	}
	var out []Route
	for _, r := range Table {
		if r.Function == name {
			out = append(out, r)
		}
	}
	return out
}

// Params returns the names of the path parameters of a route, in order.
func (r Route) Params() []string {
	var out []string
	for _, seg := range strings.Split(r.Path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			out = append(out, strings.Trim(seg, "{}"))
		}
	}
	return out
}

// SignsTokens reports whether a function ("" = every route, the local
// server) signs access tokens: auth (sign-in, refresh), users
// (impersonation) and invites (accepting an invitation signs in). Only
// these read the private signing keys; every other function verifies
// tokens with the public keys alone (the CDK stack grants accordingly and
// pkg/app/authboot loads accordingly).
func SignsTokens(function string) bool {
	switch function {
	case "", FunctionAuth, FunctionUsers, FunctionInvites:
		return true
	}
	return false
}

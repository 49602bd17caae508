// Package portal is the admin portal: server-rendered HTML pages under
// /portal for the members of a host app, built like the approval pages
// (templ components, the same security headers, no script; PortalCSP
// allows only the portal's one stylesheet). Every state change is a POST
// of a plain form that carries a CSRF token and calls the same service
// operations as the API (pkg/members, pkg/invites, pkg/permissions,
// pkg/accounts, pkg/webhooks, pkg/approvals, pkg/access), so the grant ceiling,
// the trust rules, the audit events and the change events are the API's.
//
// Decisions:
//   - Getting in: the host app's backend mints a one-time link (POST
//     /v1/portal/sessions, pkg/auth MintPortalLink: 5 minutes, single use,
//     stored hashed) and hands it to its member; GET /portal/enter/{token}
//     names the member and account and consumes nothing (previewers,
//     forged links); its form's POST (CSRF bound to a pre-cookie) consumes
//     it and opens a portal session (a store.Session: logout, suspension
//     and deletion end it; 12 hours at most, 30 minutes idle, moved forward
//     at most every 5 minutes), then redirects (303) to the team page or
//     the link's returnUrl (a path of the portal only). A used or expired
//     link answers a 410 page. /portal/login signs in with email and
//     password under the API's sign-in throttling.
//   - Acting as a member (http_impersonate.go): administrators only, the
//     API's rule; the acting session is for looking only (action refuses
//     every POST but sign-out and stop, sessionAction); stopping replaces
//     the administrator's old session with a fresh one.
//   - Notices after a redirect carry an HMAC keyed by the session cookie
//     and are shown only when it holds.
//   - The team page reads on past one store page (25 members at a time,
//     at most 500 per view) for a search, a status or a partial view.
//   - The session cookie is HttpOnly, SameSite=Lax, Path=/; Secure with
//     the __Host- prefix when the public URL is HTTPS (outside the local
//     stage).
//   - CSRF: each form carries HMAC-SHA256(cookie, "portal-csrf"): the
//     cookie's secret is the per-session key, so nothing more is stored;
//     checked in constant time on every POST (403 page otherwise). The
//     login form, before any session, uses a double-submit cookie the same
//     way.
//   - What a page shows and offers is decided by the API's decisions:
//     the team page lists the members the caller holds users.view over
//     (account-wide, or at every scope of the member's assignments; a
//     manager of one store does not see another store's members here,
//     although directory.view lets the API's list show the whole
//     directory), and the invite page offers only the role and scope pairs
//     the grant ceiling (rbac.RoleSet.CheckChange) lets the inviter grant.
//   - Destructive actions (suspend, deactivate, delete, revoke, deleting a
//     custom role, cancelling a request, ending a delegation) go through a
//     confirmation page first.
//   - The roles section (http_roles.go) is for members who may manage
//     roles (settings.manage at account scope, as createRole needs); the
//     member page's permission toggles and notifications
//     (http_member_extra.go) save through members.Service.Update.
//   - The approvals section (/portal/approvals: waiting for me, my
//     requests, a request's page, the policies) and the access page
//     (/portal/access: access requests, the delegation while away) are
//     served by the approvals function, which answers the approval
//     workflows; a policy is a form only for members with policies.manage.
package portal

// Package access is access requests: a member asks for a role at a scope,
// the members who may grant exactly that decide (in the app or by an
// emailed one-time link), and an approval adds the assignment. Requests
// run on the approval workflow (pkg/workflow; Steps, dispatched by
// workflow.Mux on the request id prefix "acr_"), served by the approvals
// function.
//
// The service knows no HTTP: requests.go (requesting, who is asked,
// listing, cancelling), decide.go (Decide, the one decision operation of
// the app and of the link) and steps.go take typed inputs and return
// typed results and *fault.Error refusals. http.go decodes and encodes;
// page.go renders the link's no-script page (page.templ).
//
// Decisions:
//   - Any active member asks for themselves (an impersonated session does
//     not, nor decide or cancel): a role of the account at an existing
//     scope where the role may be assigned, a reason (1 to 1000
//     characters) and optionally the grant's end (in the future). A role
//     already held there permanently, or until the asked end or later, is
//     409 access_already_granted (a shorter time-bound grant may be
//     renewed or extended); a second pending request for the same role
//     and scope is 409 access_request_pending. A member makes at most
//     DefaultPerHour (10) requests an hour (429 too_many_access_requests;
//     refused requests do not count). The owner cannot ask (409
//     access_request_by_owner): only the owner changes the owner's grants.
//   - The grant ceiling decides who may decide: exactly whoever could add
//     that assignment to the requester by editing the member's roles
//     (rbac.RoleSet.CheckChange), administrators always, never the
//     requester. Approvers (one function) snapshots the active members
//     with an email it allows when the workflow starts waiting: they are
//     emailed and see the request under ?mine=decide (while the ceiling
//     still allows them: the list checks it). ?mine=decide reads only
//     pending requests: each asked member's awaiting entry
//     (store.ListAccessAwaiting) lives while the request is pending. At the decision the
//     ceiling is checked again with the decider's rights of that moment
//     (403 not_an_approver for one who lost the right; by link the link's
//     page ends), and the decision commits only while the decider's member
//     item is unchanged since (409 actor_changed).
//   - An approval adds the assignment (GrantedBy the decider, ending at
//     the asked time or, when the approver gives expiresAt, earlier: never
//     later) in the same transaction as the decision, replacing a
//     time-bound assignment of the same role and scope (a renewal); a
//     permanent one is kept. The requester's member item must be as read,
//     else it is read and checked again. An approval needs the requester
//     active, in the decision's transaction too (409
//     requester_not_active for a suspended or inactive requester, 409
//     requester_not_a_member for one deleted); a denial is allowed
//     either way. A denial writes only the decision.
//   - One level, one decision: the decider's transaction ends the request;
//     the workflow is then told (SendTaskSuccess with the stored token, or
//     the Await step finds the request ended). A request undecided
//     DefaultDecideWithin (7 days) after it was made expires. The
//     workflow's Finalize emails the requester how it ended (approved,
//     denied or expired).
//   - Each asked member gets one hashed one-time token (subject
//     "<request>:<member>") and one email (outbox key
//     "access-request/<request>/<member>"), minted in the notify batches;
//     GET /access/{token} shows the request, POST decides (the token is
//     the credential: no cookie, no CSRF). Every use re-checks the
//     request's status and the member's rights.
//   - Delegation while away (pkg/approvals sets it; store.ActiveDelegate
//     says who stands in for a member now): the email of an asked member
//     with an active delegate goes to the delegate instead (outbox key
//     ".../via/<delegate>", saying on whose behalf; not when the delegate
//     is the requester: the member's own email then), and its link
//     decides on the member's behalf. In the app a delegate decides with
//     onBehalfOf. Either way the decision rests on the member's
//     authority: the grant ceiling with the member's rights at the
//     decision, the delegation still active and naming the delegate, the
//     delegate active and never the requester (403 not_a_delegate,
//     delegate_is_requester; by link the page ends), committed only while
//     the member's item and the delegation are as read (409
//     on_behalf_changed). The decision and its audit event record the
//     delegate (decider) and the member (onBehalfOf); the member grants
//     the assignment (GrantedBy). Chains are not followed. ?mine=decide
//     lists too, on every page, the pending requests the active members
//     the caller stands in for are asked and may decide, but the
//     caller's own: their awaiting entries merged with the caller's,
//     newest first, one cursor (one query more a page per member stood
//     in for).
//   - Offboarding (pkg/members, store.OffboardMember): a member taken out
//     with reassignTo hands over its pending requests to decide
//     (store.AccessDuties, DutyAccessRequest): each moves to the
//     reassignee where the grant ceiling lets it grant it (MayGrantAs),
//     else the leaver's seat is dropped; the leaver's links are deleted
//     (410 link_invalid) and the reassignee emailed (NotifyReassigned).
//     Administrators may always decide, so no request is ever left
//     without a possible decider. The leaver's own pending requests are
//     cancelled (CancelForLeaver, reason requester_left) after the
//     status change, one write each: they may be more than its
//     transaction has room for.
//   - Requests are shown to their requester, to the members asked, to
//     whoever may grant them now, to their decider, and to the delegates
//     of the members asked or who may grant them now; to anyone else, and
//     in another account, they do not exist (404). Only the requester
//     cancels.
//   - Renewal: a grant expiry notice (pkg/alerts.RenewURL) links to the
//     host app's page /access-requests/new with role, scope and a
//     proposed expiresAt prefilled; the app posts the request as the
//     signed-in member.
package access

// Package approvals is documents and their approval: the documents the
// host app registers, the approval policy of each document type, approval
// requests run by the workflow (pkg/workflow), deciding in the app or by
// an emailed one-time link, and the workflow's steps (Steps). Its types
// live in pkg/documents.
//
// The service knows no HTTP: service.go (documents, policies),
// requests.go (requesting, listing, cancelling), decide.go (Decide, the one
// decision operation of the app and of the emailed link, and the link's
// checks), delegation.go (a member's delegation while away, and the
// checks of a vote on someone's behalf), steps.go and timers.go (the Tick
// step: reminders, escalation) take typed inputs and return typed results
// and *fault.Error refusals. http.go decodes a request, calls one operation
// and encodes its result; page.go renders the link's page (page.templ),
// one page per refusal of a link.
//
// Decisions:
//   - A document's status moves draft -> pending_approval (a request) ->
//     approved | denied | expired; draft and completed may also be set by
//     the client. A PUT that changes a document resets it to draft (or to
//     the completed status the client asks for) and, when it was pending,
//     cancels its request in the same transaction, then tells the workflow
//     (SendTaskFailure with workflow.ErrorCancelled). A PUT that changes
//     nothing writes nothing. Writing a document is documents.edit on it
//     (before and after a move between stores), evaluated as draft while
//     pending (the edit cancels the request); a completed document needs
//     locked.edit (the decision engine's rule).
//   - Completed only from approved with unchanged terms (amount,
//     currency, store, department, supplier), or when the type's policy is
//     off or has no level at the amount (else 409 approval_required); the
//     PUT then checks the policy's version in its transaction, so a policy
//     switched on meanwhile is not skipped. Anything else that leaves an
//     approved document (a change, or draft asked) voids its approval:
//     the PUT's event is document.put_voiding_approval, with before and
//     after. Supplier counts as a term: a PO approved for one supplier is
//     not sent to another.
//   - A request snapshots the policy levels that apply to the amount
//     (with their timers), the self-approval flag and the timeout
//     (expiresAfterHours, per level).
//     Only signed-in members request (the outcome email goes to them). A
//     policy that is off, or whose levels do not reach the amount, answers
//     409 approval_not_required.
//   - Approvers of a level: active members allowed documents.approve on the
//     document (scope document) or on an account-level resource (scope
//     account), who also hold the level's role (assigned at the account or
//     at the document's store or department; scope account: at the
//     account) and the level's permission, when set. The requester is not
//     asked unless selfApproval. The nominated external approver is asked
//     at level 1 only, and decides by link only.
//   - One person, one vote: the external approver is never the requester
//     nor a member of the account in any status but deleted (422
//     external_approver_is_requester / external_approver_is_member).
//     Invited, inactive and suspended members count: they decide in the
//     app. A deleted member's email is freed in the account, so that
//     person is an outsider again. Every use of an external link (the page
//     and the POST) re-checks today's policy, account domains and
//     membership: a link ends (410) when externals are turned off, the
//     domain is no longer allowed, or the person became a member; the
//     level's emails send no link then. A member whose external-link vote is recorded at
//     a level does not vote again in the app (409 already_decided).
//   - A decision records the member (or external email) who decided and,
//     in an impersonated session, the admin acting (decision and event).
//     Emails and the page name the store and department by their stored
//     names (the id when none); suppliers are shown by id (their names in
//     the supplier registry, GET /v1/suppliers, are not read here).
//   - Each approver gets one hashed one-time token (subject
//     "<request>:<level>:<approver>") and one email (outbox key
//     "approval/<request>/<level>/<approver>"): the workflow's fan-out
//     mints and sends them in batches (Notify), and a retried batch mints
//     no token for an approver whose email went out, so a link sent stays
//     valid. Ending or cancelling a request does not delete its tokens:
//     every use of a link checks the request, so its links answer 410.
//     A member's link (their own, a reminder's, or their delegate's)
//     decides only while the member is still asked at the link's level.
//     A member taken out with reassignTo (pkg/members) loses its seats'
//     tokens and is no longer asked there: every link of those seats
//     (reminders' included, and one minted after the hand-over) answers
//     410 link_invalid; the member taking a seat gets its email
//     and link from NotifyReassigned (outbox key suffixed
//     "/handover/<ref>").
//   - A level ends when it has `required` approvals or on the first
//     denial: the decider sends the workflow's task result;
//     workflow.ErrTaskNotFound means another decider sent it first (or
//     the level's await was between Ticks: its next await finds the level
//     decided and finishes it).
//   - Reminders and escalation (timers.go, the workflow's Tick step): a
//     level may say remindAfterHours and escalateAfterHours with
//     escalateTo ("admins", "next_level" or a role id), each at least 1
//     and under expiresAfterHours (400 invalid_field otherwise). They
//     count from the level's start (recorded on the request by its first
//     Tick). A reminder goes to the level's approvers who have not
//     decided (members only while active: every email of Notify, the
//     level's first, a reminder or an escalation's, skips a member
//     suspended, deactivated or deleted since asked), remindAfterHours after the start and then every
//     remindAfterHours but at most once a day, with a link of its own
//     (subject "<request>:<level>:<approver>:r<n>"; the first link keeps
//     working) and outbox key "approval-reminder/<request>/<level>/<n>/
//     <approver>"; the request counts the reminders sent, so a Tick run
//     again sends none twice (one lost in a crash between the count and
//     the emails is not resent). The escalation, once per level, asks the
//     active members the target allows who are not asked yet
//     (administrators: admin flag, owner or the administrator role
//     account-wide, allowed to approve the document account-wide; a
//     role's holders in the level's scope; the next level's rule, the
//     administrators at the last level), records them on the request
//     (asked, marked escalated, and awaiting; at the request's version
//     read, built again over the request and members read again when a
//     decision or hand-over changed it meanwhile) with the audit event
//     approval.escalated, and emails them the approval email saying it
//     was escalated. Escalated approvers decide like the level's own while
//     the escalation's rule still allows them.
//   - Requests are listed and shown to their requester, to those asked,
//     and to members who may view the document; also, while a delegation
//     is active, to the delegate of a member whose pending request's
//     current level still awaits them (the delegation passes on pending
//     decisions, not the member's history), and (shown, not listed) to a
//     delegate who decided on someone's behalf.
//   - Delegation while away (PUT/GET/DELETE /v1/me/delegation): one per
//     member, to another active member of the account, from `from`
//     (inclusive) until `until` (exclusive, at most MaxDelegationAhead
//     ahead); impersonated sessions may read it, not set or remove it.
//     store.ActiveDelegate is the one answer to "who stands in for this
//     member now" (the delegate must be active; chains are not followed).
//     While it is active, the level's email of the member goes to the
//     delegate instead (Notify; outbox key "approval/<request>/<level>/
//     <approver>/via/<delegate>", the token's subject still the member's
//     seat), unless the delegate is the requester. The delegate decides
//     with the member's authority: in the app with onBehalfOf, or by that
//     link, while the delegation names them and is active, the member is
//     asked at the level and may still approve, and the delegate did not
//     request it (onBehalfCheck). The vote is the member's seat (a member
//     decision recording the delegate; its event's decidedBy and
//     onBehalfOf) and rests on the member's item and the delegation as
//     read (in the transaction). One person, one vote: a delegate casts one
//     vote per level, their own or one on behalf of one member, enforced
//     by the store in the decision's transaction. "Waiting for me" lists
//     the items of the members one stands in for (store.Delegators, a
//     reverse entry per delegation). Access requests (pkg/access) honour
//     the same delegation for their emails, links and decisions.
package approvals

package events

// TypeInfo documents one event type of the catalogue.
type TypeInfo struct {
	// Name is the type, e.g. "member.joined".
	Name string
	// Description says when it happens and what its data holds beyond
	// accountId and actor.
	Description string
}

// Types is the event catalogue, documented in the OpenAPI document (its
// webhooks section and the Event schema). A type is never renamed or
// removed; new ones are added.
var Types = []TypeInfo{
	{"member.invited", "An invitation was sent (or resent to an inactive member). data.invitation: id, email, name, admin, assignments, expiresAt, status; data.memberId."},
	{"member.created", "A member was added without an invitation (POST /v1/users: inactive until invited). data.member: the member."},
	{"member.joined", "A member accepted an invitation or registered themselves; they are active. data.memberId, data.member (status, identity) when known."},
	{"member.updated", "A member's name, admin flag, roles or notification settings changed. data.member: the member after; data.previous: before."},
	{"member.suspended", "A member was suspended: they can no longer sign in or act. data.member, data.previous. With reassignTo: data.reassignedTo (a member id), data.moved and data.dropped ([{requestId, level}]: the seats the reassignee took, and those dropped because it was already awaited or had decided there; an access request's decision is level 1, dropped when the reassignee may not grant it)."},
	{"member.reactivated", "A suspended or inactive member is active again. data.member, data.previous."},
	{"member.deactivated", "An active member was made inactive. data.member, data.previous. With reassignTo: data.reassignedTo (a member id), data.moved and data.dropped ([{requestId, level}]: the seats the reassignee took, and those dropped because it was already awaited or had decided there; an access request's decision is level 1, dropped when the reassignee may not grant it)."},
	{"member.deleted", "A member was deleted. data.member: the member as it was; data.previous. With reassignTo: data.reassignedTo (a member id), data.moved and data.dropped ([{requestId, level}]: the seats the reassignee took, and those dropped because it was already awaited or had decided there; an access request's decision is level 1, dropped when the reassignee may not grant it)."},
	{"invitation.revoked", "An invitation was revoked, by a member or because its member left. data.invitation: id, email, status."},
	{"role.created", "A custom role was created. data.role: id, name, description, permissions, scopeKinds."},
	{"role.updated", "A custom role changed. data.role: after; data.previous: before."},
	{"role.deleted", "A custom role was deleted; its holders were moved as data.members says (action, to, count). data.role: the role as it was."},
	{"api_key.created", "An API key was created. data.apiKey: id, name, role, prefix (never the secret)."},
	{"api_key.revoked", "An API key was revoked (by a member, or by Steward when its creator lost the right). data.apiKey: id."},
	{"ownership.transferred", "The account's owner changed. data.previousOwnerId, data.ownerId."},
	{"account.updated", "The account's name or settings changed. data.account: after; data.previous: before."},
	{"document.status_changed", "A document's status changed (draft, pending_approval, approved, denied, expired, completed). data.document: type, id, status, amount, currency, store, department, supplier, approvalRequestId; data.previousStatus (absent for a new document)."},
	{"approval.requested", "Approval was requested for a document. data.request: id, documentType, documentId, documentTitle, amount, currency, store, department, supplier, requesterId, requesterName, levels, status."},
	{"approval.decided", "One approver decided (in the app or by an emailed link). data.request; data.decision: level, outcome (approve or deny), comment, memberId or email, byLink, impersonatorId; for a delegate's vote also decidedBy (the delegate: id, name, email) and onBehalfOf (the member whose vote it is: id, name, email; memberId and email are theirs)."},
	{"approval.escalated", "A level was not decided in time and was escalated: more approvers were asked and emailed. data.request; data.escalation: level, escalateTo (admins, next_level or a role id), added (how many were asked)."},
	{"approval.approved", "A request got every approval it needed; its document is approved. data.request."},
	{"approval.denied", "A request was denied; its document is denied. data.request."},
	{"approval.expired", "A request timed out; its document is expired. data.request."},
	{"approval.cancelled", "A request was cancelled (by its requester or an administrator, by a change to its document, or because its workflow could not start). data.request; data.reason."},
	{"delegation.set", "A member set or changed their delegation while away. data.delegation: memberId, delegateId, delegateName, from, until, note; data.previous: the delegation it replaced, if any."},
	{"delegation.removed", "A member removed their delegation. data.delegation: the delegation as it was (memberId, delegateId, from, until, note)."},
	{"access_request.requested", "A member asked for a role at a scope (POST /v1/access-requests). data.request: id, requesterId, requesterName, role, scope, reason, expiresAt (the asked end, absent for none), decideBy, status."},
	{"access_request.approved", "An access request was approved; the assignment was added in the same change (a member.updated event follows, with the member after and before). data.request, with deciderId, deciderName (who decided), comment, grantExpiresAt, byLink; when a delegate decided on a member's behalf also onBehalfOfId, onBehalfOfName (the member whose authority it rests on and who granted the assignment; deciderId and deciderName are then the delegate's)."},
	{"access_request.denied", "An access request was denied. data.request, with deciderId, deciderName (who decided), comment, byLink; when a delegate decided on a member's behalf also onBehalfOfId, onBehalfOfName (deciderId and deciderName are then the delegate's)."},
	{"access_request.cancelled", "An access request was cancelled by its requester, because its workflow could not start, or because its requester was suspended, deactivated or deleted. data.request; data.reason (cancelled, start_failed or requester_left)."},
	{"access_request.expired", "An access request was not decided in time. data.request."},
	{"webhook.disabled", "A webhook endpoint whose deliveries failed for 3 days was disabled. data.webhook: id, url."},
}

var known = func() map[string]bool {
	m := make(map[string]bool, len(Types))
	for _, t := range Types {
		m[t.Name] = true
	}
	return m
}()

// Known reports whether t is in the catalogue.
func Known(t string) bool { return known[t] }

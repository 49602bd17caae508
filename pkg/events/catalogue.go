package events

import "slices"

// TypeInfo is one documented event type.
type TypeInfo struct {
	// Name is the type, e.g. "member.invited".
	Name string
	// Description says what happened.
	Description string
}

// Types is the catalogue of event types: what a webhook endpoint may
// subscribe to (pkg/webhooks validates against it) and what the feed
// lists.
var Types = []TypeInfo{
	{Name: "member.invited"},
	{Name: "member.joined"},
	{Name: "member.updated"},
	{Name: "member.suspended"},
	{Name: "member.reactivated"},
	{Name: "member.deactivated"},
	{Name: "member.deleted"},
	{Name: "invitation.revoked"},
	{Name: "role.created"},
	{Name: "role.updated"},
	{Name: "role.deleted"},
	{Name: "api_key.created"},
	{Name: "api_key.revoked"},
	{Name: "ownership.transferred"},
	{Name: "account.updated"},
	{Name: "document.status_changed"},
	{Name: "approval.requested"},
	{Name: "approval.decided"},
	{Name: "approval.approved"},
	{Name: "approval.denied"},
	{Name: "approval.expired"},
	{Name: "approval.cancelled"},
	{Name: "webhook.disabled"},
}

// KnownType reports whether name is a type of the catalogue.
func KnownType(name string) bool {
	return slices.ContainsFunc(Types, func(t TypeInfo) bool { return t.Name == name })
}

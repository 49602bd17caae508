package events

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/stewardhq/steward/pkg/audit"
)

// Actor is who made a change: a member id, "apikey:<id>", "system" (the
// approval workflow, Steward itself) or "external:<email>" (an approver
// outside the account deciding by link).
type Actor struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// ImpersonatorID is the administrator acting as ID, when
	// impersonating (who did it on whose behalf).
	ImpersonatorID string `json:"impersonatorId,omitempty"`
}

// IDPrefix starts every event id.
const IDPrefix = "evt_"

// AuditID returns the id of the audit event that announced the event id
// (its part after IDPrefix, without a ".n" suffix), or "" when id is not
// an event id.
func AuditID(id string) string {
	rest, ok := strings.CutPrefix(id, IDPrefix)
	if !ok || rest == "" {
		return ""
	}
	if i := strings.IndexByte(rest, '.'); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// FromAudit returns the change events an audit event announces, in order
// (none for the audit events host apps are not told about: sign-ins,
// password resets, sign-up requests..., and the host apps' own activity
// records, "app.*" of POST /v1/activity, which they wrote themselves). It is pure: the same audit event
// always gives the same events with the same ids, which is what makes
// retries, replays and the feed agree.
func FromAudit(ev audit.Event) []Event {
	var before, after map[string]any
	_ = json.Unmarshal(ev.Before, &before)
	_ = json.Unmarshal(ev.After, &after)
	b := builder{ev: ev}
	switch ev.Action {
	case "invitation.create", "invitation.resend":
		inv := withID(after, ev.TargetID)
		b.add("member.invited", obj{"invitation": inv, "memberId": inv["memberId"]})
	case "invitation.revoke":
		inv := withID(before, ev.TargetID)
		if after != nil {
			inv["status"] = after["status"]
		}
		b.add("invitation.revoked", obj{"invitation": inv, "reason": after["reason"]})
	case "invitation.accept", "member.self_register":
		member := withID(after, ev.TargetID)
		if ev.Action == "invitation.accept" {
			member["status"] = "active"
		}
		b.add("member.joined", obj{"memberId": ev.TargetID, "member": member})
	case "member.create":
		b.add("member.created", obj{"member": withID(after, ev.TargetID)})
	case "member.update", "member.suspend", "member.reactivate", "member.deactivate", "member.delete":
		member := withID(after, ev.TargetID)
		d := obj{"member": member, "previous": before}
		// Taken out with reassignTo: who took the duties, and which.
		for _, k := range []string{"reassignedTo", "moved", "dropped"} {
			if v, ok := member[k]; ok {
				d[k] = v
				delete(member, k)
			}
		}
		b.add(memberType(before, after), d)
	case "role.create":
		b.add("role.created", obj{"role": withID(after, ev.TargetID)})
	case "role.update":
		b.add("role.updated", obj{"role": withID(after, ev.TargetID), "previous": before})
	case "role.delete":
		b.add("role.deleted", obj{"role": withID(before, ev.TargetID), "members": after})
	case "apikey.create":
		b.add("api_key.created", obj{"apiKey": withID(after, ev.TargetID)})
	case "apikey.revoke":
		key := withID(before, ev.TargetID)
		if after != nil {
			key["reason"] = after["reason"]
		}
		b.add("api_key.revoked", obj{"apiKey": key})
	case "account.transfer_ownership":
		b.add("ownership.transferred", obj{"previousOwnerId": before["owner"], "ownerId": after["owner"]})
	case "account.update":
		b.add("account.updated", obj{"account": after, "previous": before})
	case "document.put", "document.put_cancelling_approval", "document.put_voiding_approval":
		doc := documentOf(ev.TargetID, after)
		prev, _ := before["status"].(string)
		if doc["status"] != nil && (before == nil || prev != doc["status"]) {
			d := obj{"document": doc}
			if before != nil {
				d["previousStatus"] = prev
			}
			b.add("document.status_changed", d)
		}
	case "approval.request":
		b.add("approval.requested", obj{"request": after["request"]})
		b.documentStatus(after, "draft")
	case "approval.decide", "approval.decide_by_link":
		req := after["request"]
		decision := map[string]any{}
		for k, v := range after {
			if k != "request" {
				decision[k] = v
			}
		}
		b.add("approval.decided", obj{"request": req, "decision": decision})
	case "approval.escalated":
		b.add("approval.escalated", obj{"request": after["request"], "escalation": after["escalation"]})
	case "approval.approved", "approval.denied", "approval.expired", "approval.cancelled":
		b.add(ev.Action, obj{"request": after["request"]})
		b.documentStatus(after, "pending_approval")
	case "approval.cancel", "approval.start_failed":
		b.add("approval.cancelled", obj{"request": after["request"], "reason": after["reason"]})
		b.documentStatus(after, "pending_approval")
	case "delegation.put":
		d := obj{"delegation": after}
		if before != nil {
			d["previous"] = before
		}
		b.add("delegation.set", d)
	case "delegation.delete":
		b.add("delegation.removed", obj{"delegation": before})
	case "access_request.request":
		b.add("access_request.requested", obj{"request": after["request"]})
	case "access_request.approve":
		req, _ := after["request"].(map[string]any)
		b.add("access_request.approved", obj{"request": req})
		if m, ok := after["member"].(map[string]any); ok {
			// The grant is a change of the member's roles, like a PATCH.
			id, _ := req["requesterId"].(string)
			b.add("member.updated", obj{"member": withID(m, id), "previous": after["previous"]})
		}
	case "access_request.deny":
		b.add("access_request.denied", obj{"request": after["request"]})
	case "access_request.cancel", "access_request.start_failed", "access_request.cancelled":
		b.add("access_request.cancelled", obj{"request": after["request"], "reason": after["reason"]})
	case "access_request.expired":
		b.add("access_request.expired", obj{"request": after["request"]})
	case "webhook.disable":
		b.add("webhook.disabled", obj{"webhook": withID(after, ev.TargetID)})
	}
	return b.out
}

type obj = map[string]any

type builder struct {
	ev  audit.Event
	out []Event
}

// add appends an event of type t with data d (accountId and actor added).
func (b *builder) add(t string, d obj) {
	id := IDPrefix + b.ev.ID
	if n := len(b.out); n > 0 {
		id += "." + strconv.Itoa(n+1)
	}
	for k, v := range d {
		if v == nil {
			delete(d, k)
		}
	}
	d["accountId"] = b.ev.AccountID
	d["actor"] = Actor{ID: b.ev.ActorID, Name: b.ev.ActorName, ImpersonatorID: b.ev.ImpersonatorID}
	raw, err := json.Marshal(d)
	if err != nil {
		return
	}
	b.out = append(b.out, Event{ID: id, Type: t, Timestamp: b.ev.Time.UTC(), Data: raw})
}

// documentStatus adds document.status_changed for an approval event whose
// After names the document's new status (documentStatus), from prev.
func (b *builder) documentStatus(after map[string]any, prev string) {
	st, _ := after["documentStatus"].(string)
	req, _ := after["request"].(map[string]any)
	if st == "" || req == nil {
		return
	}
	doc := obj{"type": req["documentType"], "id": req["documentId"], "status": st, "amount": req["amount"],
		"currency": req["currency"], "store": req["store"], "department": req["department"],
		"supplier": req["supplier"], "approvalRequestId": req["id"]}
	b.add("document.status_changed", obj{"document": doc, "previousStatus": prev})
}

// memberType names a member change by its status before and after.
func memberType(before, after map[string]any) string {
	was, _ := before["status"].(string)
	is, _ := after["status"].(string)
	switch {
	case is == was:
		return "member.updated"
	case is == "deleted":
		return "member.deleted"
	case is == "suspended":
		return "member.suspended"
	case is == "active":
		return "member.reactivated"
	case is == "inactive" && was == "active":
		return "member.deactivated"
	}
	return "member.updated"
}

// withID copies a snapshot with its id set (snapshots of some targets
// carry no id of their own).
func withID(m map[string]any, id string) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	if _, ok := out["id"]; !ok && id != "" {
		out["id"] = id
	}
	return out
}

// documentOf is a document snapshot with its type and id (the audit
// target is "{type}/{id}").
func documentOf(target string, snap map[string]any) map[string]any {
	doc := withID(snap, "")
	t, id, _ := strings.Cut(target, "/")
	doc["type"], doc["id"] = t, id
	return doc
}

package events

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
)

func TestFromAuditNamesEachChange(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 0, 0, 123, time.UTC)
	member := func(status string) json.RawMessage {
		return json.RawMessage(`{"id":"m_1","email":"a@example.com","status":"` + status + `"}`)
	}
	request := `"request":{"id":"r_1","documentType":"purchase_order","documentId":"po1","amount":120}`
	cases := []struct {
		action        string
		before, after string
		want          []string
	}{
		{"invitation.create", "", `{"memberId":"m_1","email":"a@example.com"}`, []string{"member.invited"}},
		{"invitation.resend", "", `{"memberId":"m_1"}`, []string{"member.invited"}},
		{"invitation.accept", "", `{"status":"active"}`, []string{"member.joined"}},
		{"member.self_register", "", `{"email":"a@example.com"}`, []string{"member.joined"}},
		{"invitation.revoke", `{"email":"a@example.com"}`, "", []string{"invitation.revoked"}},
		{"member.create", "", string(member("inactive")), []string{"member.created"}},
		{"member.update", string(member("active")), string(member("active")), []string{"member.updated"}},
		{"member.suspend", string(member("active")), string(member("suspended")), []string{"member.suspended"}},
		{"member.reactivate", string(member("suspended")), string(member("active")), []string{"member.reactivated"}},
		{"member.deactivate", string(member("active")), string(member("inactive")), []string{"member.deactivated"}},
		{"member.delete", string(member("inactive")), string(member("deleted")), []string{"member.deleted"}},
		{"role.create", "", `{"id":"buyer"}`, []string{"role.created"}},
		{"role.update", `{"id":"buyer"}`, `{"id":"buyer"}`, []string{"role.updated"}},
		{"role.delete", `{"id":"buyer"}`, `{"action":"remove","count":3}`, []string{"role.deleted"}},
		{"apikey.create", "", `{"name":"backend"}`, []string{"api_key.created"}},
		{"apikey.revoke", `{"name":"backend"}`, "", []string{"api_key.revoked"}},
		{"account.transfer_ownership", `{"owner":"m_1"}`, `{"owner":"m_2"}`, []string{"ownership.transferred"}},
		{"account.update", `{"name":"A"}`, `{"name":"B"}`, []string{"account.updated"}},
		{"document.put", "", `{"status":"draft"}`, []string{"document.status_changed"}},
		{"document.put", `{"status":"draft","amount":1}`, `{"status":"draft","amount":2}`, nil},
		{"document.put_voiding_approval", `{"status":"approved"}`, `{"status":"draft"}`, []string{"document.status_changed"}},
		{"approval.request", "", `{` + request + `,"documentStatus":"pending_approval"}`, []string{"approval.requested", "document.status_changed"}},
		{"approval.decide", "", `{"level":1,"outcome":"approve",` + request + `}`, []string{"approval.decided"}},
		{"approval.decide_by_link", "", `{"level":1,"outcome":"deny",` + request + `}`, []string{"approval.decided"}},
		{"approval.escalated", "", `{` + request + `,"escalation":{"level":1,"escalateTo":"admins","added":2}}`, []string{"approval.escalated"}},
		{"approval.approved", "", `{` + request + `,"documentStatus":"approved"}`, []string{"approval.approved", "document.status_changed"}},
		{"approval.denied", "", `{` + request + `,"documentStatus":"denied"}`, []string{"approval.denied", "document.status_changed"}},
		{"approval.expired", "", `{` + request + `}`, []string{"approval.expired"}},
		{"approval.cancelled", "", `{` + request + `,"documentStatus":"draft"}`, []string{"approval.cancelled", "document.status_changed"}},
		{"approval.cancel", "", `{` + request + `,"documentStatus":"draft","reason":"cancelled"}`, []string{"approval.cancelled", "document.status_changed"}},
		{"approval.start_failed", "", `{` + request + `,"documentStatus":"draft","reason":"start_failed"}`, []string{"approval.cancelled", "document.status_changed"}},
		{"access_request.request", "", `{"request":{"id":"acr_1","role":"viewer","scope":"store:s1"}}`, []string{"access_request.requested"}},
		{"access_request.approve", "", `{"request":{"id":"acr_1","requesterId":"m_1"},"member":{"ID":"m_1","Status":"active"},"previous":{"ID":"m_1"}}`, []string{"access_request.approved", "member.updated"}},
		{"access_request.approve", "", `{"request":{"id":"acr_1","requesterId":"m_1"}}`, []string{"access_request.approved"}},
		{"access_request.deny", "", `{"request":{"id":"acr_1"}}`, []string{"access_request.denied"}},
		{"access_request.cancel", "", `{"request":{"id":"acr_1"},"reason":"cancelled"}`, []string{"access_request.cancelled"}},
		{"access_request.start_failed", "", `{"request":{"id":"acr_1"},"reason":"start_failed"}`, []string{"access_request.cancelled"}},
		{"access_request.expired", "", `{"request":{"id":"acr_1"}}`, []string{"access_request.expired"}},
		{"access_request.await", "", `{"asked":2}`, nil},
		{"webhook.disable", "", `{"url":"https://example.com/hook"}`, []string{"webhook.disabled"}},
		{"session.create", "", "", nil},
		{"identity.password_reset", "", "", nil},
		{"approval.await", "", `{"level":1}`, nil},
		{"delegation.put", "", `{"memberId":"m1","delegateId":"m2"}`, []string{"delegation.set"}},
		{"delegation.put", `{"memberId":"m1","delegateId":"m3"}`, `{"memberId":"m1","delegateId":"m2"}`, []string{"delegation.set"}},
		{"delegation.delete", `{"memberId":"m1","delegateId":"m2"}`, "", []string{"delegation.removed"}},
	}
	for _, c := range cases {
		ev := audit.Event{ID: "ev_1", AccountID: "a_1", Time: at, ActorID: "m_9", ActorName: "Ann", ImpersonatorID: "m_8",
			Action: c.action, TargetType: "x", TargetID: "t_1"}
		if c.before != "" {
			ev.Before = json.RawMessage(c.before)
		}
		if c.after != "" {
			ev.After = json.RawMessage(c.after)
		}
		got := FromAudit(ev)
		var types []string
		for i, e := range got {
			types = append(types, e.Type)
			if !Known(e.Type) {
				t.Errorf("%s: type %q is not in the catalogue", c.action, e.Type)
			}
			wantID := "evt_ev_1"
			if i > 0 {
				wantID += "." + string(rune('1'+i))
			}
			if e.ID != wantID || AuditID(e.ID) != "ev_1" || !e.Timestamp.Equal(at) {
				t.Errorf("%s: event %d id %q time %v, want %q at %v", c.action, i, e.ID, e.Timestamp, wantID, at)
			}
			var d struct {
				AccountID string `json:"accountId"`
				Actor     Actor  `json:"actor"`
			}
			if err := json.Unmarshal(e.Data, &d); err != nil || d.AccountID != "a_1" || d.Actor != (Actor{ID: "m_9", Name: "Ann", ImpersonatorID: "m_8"}) {
				t.Errorf("%s: data %s lacks its account or actor (%v)", c.action, e.Data, err)
			}
		}
		if !slices.Equal(types, c.want) {
			t.Errorf("%s %s→%s: types %v, want %v", c.action, c.before, c.after, types, c.want)
		}
		if again := FromAudit(ev); !slices.EqualFunc(again, got, func(a, b Event) bool { return a.ID == b.ID && string(a.Data) == string(b.Data) }) {
			t.Errorf("%s: mapping is not stable", c.action)
		}
	}
}

func TestEveryCatalogueTypeHasASource(t *testing.T) {
	// Every type of the catalogue is announced by some audit action (the
	// table above covers them); this keeps the two from drifting.
	sources := map[string]bool{}
	for _, a := range []string{"invitation.create", "invitation.accept", "invitation.revoke", "member.create", "member.update",
		"member.suspend", "member.reactivate", "member.deactivate", "member.delete", "role.create", "role.update", "role.delete",
		"apikey.create", "apikey.revoke", "account.transfer_ownership", "account.update", "document.put", "approval.request",
		"approval.decide", "approval.escalated", "approval.approved", "approval.denied", "approval.expired", "approval.cancel", "webhook.disable",
		"delegation.put", "delegation.delete",
		"access_request.request", "access_request.approve", "access_request.deny", "access_request.cancel", "access_request.expired"} {
		before := `{"status":"active"}`
		after := map[string]string{"member.suspend": `{"status":"suspended"}`, "member.deactivate": `{"status":"inactive"}`,
			"member.delete": `{"status":"deleted"}`, "member.reactivate": `{"status":"active"}`}[a]
		if a == "member.reactivate" {
			before = `{"status":"suspended"}`
		}
		if after == "" {
			after = `{"status":"active","request":{"id":"r"},"documentStatus":"approved"}`
		}
		for _, e := range FromAudit(audit.Event{ID: "ev", AccountID: "a", Action: a, Before: json.RawMessage(before), After: json.RawMessage(after)}) {
			sources[e.Type] = true
		}
	}
	for _, ty := range Types {
		if !sources[ty.Name] {
			t.Errorf("catalogue type %s is announced by no audit action", ty.Name)
		}
	}
}

func TestPayloadIsTheStandardWebhooksBody(t *testing.T) {
	e := Event{ID: "evt_x", Type: "member.joined", Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Data: json.RawMessage(`{"accountId":"a"}`)}
	b, err := e.Payload()
	if err != nil || string(b) != `{"type":"member.joined","timestamp":"2026-01-02T03:04:05Z","data":{"accountId":"a"}}` {
		t.Fatalf("payload %s (%v)", b, err)
	}
}

func TestParseTypes(t *testing.T) {
	if got, err := ParseTypes("types", "member.joined, approval.approved"); err != nil || !slices.Equal(got, []string{"member.joined", "approval.approved"}) {
		t.Fatalf("got %v %v", got, err)
	}
	if _, err := ParseTypes("types", "member.joined,member.flew"); err == nil {
		t.Fatal("an unknown type was accepted")
	}
}

func TestMemberTakenOutWithReassignmentNamesTheSeats(t *testing.T) {
	ev := audit.Event{ID: "ev_2", AccountID: "a_1", Action: "member.delete", TargetID: "m_1",
		Before: json.RawMessage(`{"id":"m_1","status":"active"}`),
		After:  json.RawMessage(`{"id":"m_1","status":"deleted","reassignedTo":"m_2","moved":[{"requestId":"r_1","level":1}],"dropped":[]}`)}
	got := FromAudit(ev)
	if len(got) != 1 || got[0].Type != "member.deleted" {
		t.Fatalf("events %+v", got)
	}
	var d struct {
		Member       map[string]any `json:"member"`
		ReassignedTo string         `json:"reassignedTo"`
		Moved        []struct {
			RequestID string `json:"requestId"`
			Level     int    `json:"level"`
		} `json:"moved"`
		Dropped []any `json:"dropped"`
	}
	if err := json.Unmarshal(got[0].Data, &d); err != nil {
		t.Fatal(err)
	}
	if d.ReassignedTo != "m_2" || len(d.Moved) != 1 || d.Moved[0].RequestID != "r_1" || d.Moved[0].Level != 1 || d.Dropped == nil {
		t.Errorf("data %s", got[0].Data)
	}
	if _, ok := d.Member["reassignedTo"]; ok {
		t.Errorf("data.member carries the reassignment: %s", got[0].Data)
	}
}

// A host app's own activity record (POST /v1/activity, "app.*") is not a
// change event: the host app wrote it.
func TestActivityRecordsAreNoEvents(t *testing.T) {
	for _, action := range []string{"app.order.export", "app.member.update", "app.invitation.create"} {
		ev := audit.Event{ID: "ev_1", AccountID: "acc_1", Action: action, TargetType: "member", TargetID: "m_1",
			After: json.RawMessage(`{"summary":"x"}`)}
		if got := FromAudit(ev); len(got) != 0 {
			t.Errorf("FromAudit(%s) = %+v, want none", action, got)
		}
	}
}

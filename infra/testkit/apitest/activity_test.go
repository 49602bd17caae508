package apitest

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

type activityRecord struct {
	ID     string `json:"id"`
	Action string `json:"action"`
}

// actOwner signs up an account with its stores and signs its owner in.
func (e *Env) actOwner(t *testing.T, prefix string) (signedUp, string) {
	t.Helper()
	o := e.signup(t, newEmail(prefix))
	return o, e.login(t, o.Email, goodPassword, "").AccessToken
}

// auditOf lists the audit events of the query, as the owner.
func (e *Env) auditOf(t *testing.T, tk, query string) []acctEvent {
	t.Helper()
	var p struct {
		Items []acctEvent `json:"items"`
	}
	e.Call(t, "GET", "/v1/audit?"+query, tk, nil).Want(t, http.StatusOK, "").JSON(t, &p)
	return p.Items
}

// TestActivityRecords: POST /v1/activity writes host-app activity to the
// audit log as app.<action>, by a member for itself or by an API key for a
// member of its account, and GET /v1/audit filters it by action, actor
// and target.
func TestActivityRecords(t *testing.T) {
	e := New(t)
	owner, tk := e.actOwner(t, "act")
	memberID, mtk := e.join(t, tk, newEmail("act-member"), store1("team_member"))

	// A member records its own activity.
	var rec activityRecord
	e.Call(t, "POST", "/v1/activity", mtk.AccessToken, map[string]any{
		"action": "order.export", "target": map[string]any{"type": "order", "id": "o-17"}, "summary": "  Exported order 17  ",
	}).Want(t, http.StatusCreated, "").JSON(t, &rec)
	if rec.ID == "" || rec.Action != "app.order.export" {
		t.Fatalf("record %+v", rec)
	}
	// userId naming itself is the same.
	e.Call(t, "POST", "/v1/activity", mtk.AccessToken, map[string]any{"action": "report.view", "userId": memberID}).Want(t, http.StatusCreated, "")
	// Not another member.
	e.Call(t, "POST", "/v1/activity", mtk.AccessToken, map[string]any{"action": "report.view", "userId": owner.MemberID}).Want(t, http.StatusForbidden, "forbidden")

	evs := e.auditOf(t, tk, "action=app.order.export")
	if len(evs) != 1 || evs[0].ID != rec.ID || evs[0].Actor.ID != memberID || evs[0].Impersonator != nil ||
		evs[0].Target.Type != "order" || evs[0].Target.ID != "o-17" || evs[0].After["summary"] != "Exported order 17" {
		t.Fatalf("app.order.export events %+v", evs)
	}
	if evs := e.auditOf(t, tk, "targetType=order&targetId=o-17"); len(evs) != 1 || evs[0].ID != rec.ID {
		t.Fatalf("events of order o-17 %+v", evs)
	}
	if evs := e.auditOf(t, tk, "actor="+memberID+"&action=app.report.view"); len(evs) != 1 {
		t.Fatalf("app.report.view events of the member %+v", evs)
	}

	// An API key records for a member of its account; the key is named.
	key := e.createKey(t, tk, map[string]any{"name": "Host backend", "permissions": []string{"users.view"}})
	e.Call(t, "POST", "/v1/activity", key.Secret, map[string]any{"action": "order.ship", "userId": memberID, "summary": "Shipped"}).
		Want(t, http.StatusCreated, "").JSON(t, &rec)
	evs = e.auditOf(t, tk, "action=app.order.ship")
	if len(evs) != 1 || evs[0].ID != rec.ID || evs[0].Actor.ID != memberID || evs[0].Target.ID != "" {
		t.Fatalf("app.order.ship events %+v", evs)
	}
	by, _ := evs[0].After["recordedBy"].(map[string]any)
	if by["id"] != "apikey:"+key.ID || by["name"] != "Host backend" || evs[0].After["summary"] != "Shipped" {
		t.Fatalf("recorded by %v", evs[0].After)
	}
	// userId is required of a key; a key without users.view is refused.
	e.Call(t, "POST", "/v1/activity", key.Secret, map[string]any{"action": "order.ship"}).Want(t, http.StatusBadRequest, "invalid_field")
	weak := e.createKey(t, tk, map[string]any{"name": "Weak", "permissions": []string{"orders.view"}})
	e.Call(t, "POST", "/v1/activity", weak.Secret, map[string]any{"action": "order.ship", "userId": memberID}).Want(t, http.StatusForbidden, "forbidden")

	// Another tenant's member is not one of the key's account.
	other, otk := e.actOwner(t, "act-other")
	otherMember, _ := e.join(t, otk, newEmail("act-other-member"), store1("team_member"))
	before := e.auditCount(t, other.AccountID)
	for _, id := range []string{otherMember, other.MemberID, "m_nobody"} {
		res := e.Call(t, "POST", "/v1/activity", key.Secret, map[string]any{"action": "order.ship", "userId": id}).Want(t, http.StatusBadRequest, "invalid_field")
		if strings.Contains(string(res.Body), other.AccountID) {
			t.Fatalf("the refusal names the other account: %s", res.Body)
		}
	}
	// Nor may the other tenant's owner record for a member of this one.
	e.Call(t, "POST", "/v1/activity", otk, map[string]any{"action": "order.ship", "userId": memberID}).Want(t, http.StatusForbidden, "forbidden")
	if after := e.auditCount(t, other.AccountID); after != before {
		t.Fatalf("the other account's log went from %d to %d events", before, after)
	}
	if evs := e.auditOf(t, tk, "action=app.order.ship"); len(evs) != 1 {
		t.Fatalf("app.order.ship events after the refusals %+v", evs)
	}

	// An impersonated session records with the impersonator.
	imp := e.impersonate(t, tk, memberID)
	e.Call(t, "POST", "/v1/activity", imp, map[string]any{"action": "order.cancel"}).Want(t, http.StatusCreated, "")
	evs = e.auditOf(t, tk, "action=app.order.cancel")
	if len(evs) != 1 || evs[0].Actor.ID != memberID || evs[0].Impersonator == nil || evs[0].Impersonator.ID != owner.MemberID {
		t.Fatalf("impersonated record %+v", evs)
	}
}

// TestActivityBadInput: each bad field is named in one 400, and nothing is
// written.
func TestActivityBadInput(t *testing.T) {
	e := New(t)
	owner, tk := e.acctOwner(t, "act-bad")
	before := e.auditCount(t, owner.AccountID)
	long := strings.Repeat("a", 65)
	for _, c := range []struct {
		body   map[string]any
		fields []string
	}{
		{map[string]any{}, []string{"action"}},
		{map[string]any{"action": ""}, []string{"action"}},
		{map[string]any{"action": long}, []string{"action"}},
		{map[string]any{"action": "Order.Export"}, []string{"action"}},
		{map[string]any{"action": ".order"}, []string{"action"}},
		{map[string]any{"action": "order-export"}, []string{"action"}},
		{map[string]any{"action": "order export"}, []string{"action"}},
		{map[string]any{"action": "ok", "target": map[string]any{"type": "", "id": "x"}}, []string{"target.type"}},
		{map[string]any{"action": "ok", "target": map[string]any{"type": "Order", "id": "x"}}, []string{"target.type"}},
		{map[string]any{"action": "ok", "target": map[string]any{"type": "order", "id": ""}}, []string{"target.id"}},
		{map[string]any{"action": "ok", "target": map[string]any{"type": "order", "id": strings.Repeat("x", 129)}}, []string{"target.id"}},
		{map[string]any{"action": "ok", "target": map[string]any{"type": "order", "id": "a/b"}}, []string{"target.id"}},
		{map[string]any{"action": "ok", "summary": strings.Repeat("s", 501)}, []string{"summary"}},
		{map[string]any{"action": "ok", "summary": "line\nbreak"}, []string{"summary"}},
		{map[string]any{"action": "ok", "summary": "bidi \u202e"}, []string{"summary"}},
		{map[string]any{"action": "ok", "userId": "a b"}, []string{"userId"}},
		{map[string]any{"action": "Bad!", "target": map[string]any{"type": "9", "id": ""}, "summary": "\x07"}, []string{"action", "target.type", "target.id", "summary"}},
	} {
		var p struct {
			Errors []struct {
				Field string `json:"field"`
			} `json:"errors"`
		}
		e.Call(t, "POST", "/v1/activity", tk, c.body).Want(t, http.StatusBadRequest, "invalid_field").JSON(t, &p)
		var got []string
		for _, f := range p.Errors {
			got = append(got, f.Field)
		}
		if !slices.Equal(got, c.fields) {
			t.Errorf("%v: fields %v, want %v", c.body, got, c.fields)
		}
	}
	e.Call(t, "POST", "/v1/activity", tk, map[string]any{"action": "ok", "extra": 1}).Want(t, http.StatusBadRequest, "")
	if after := e.auditCount(t, owner.AccountID); after != before {
		t.Fatalf("bad input wrote %d audit events", after-before)
	}
}

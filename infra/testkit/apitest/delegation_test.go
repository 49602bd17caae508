package apitest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/rbac"
)

// delegationBody is a PUT /v1/me/delegation body from now+from to
// now+until.
func delegationBody(delegate string, from, until time.Duration) map[string]any {
	now := time.Now().UTC()
	return map[string]any{"delegateId": delegate, "from": now.Add(from).Format(time.RFC3339Nano), "until": now.Add(until).Format(time.RFC3339Nano)}
}

type delegationView struct {
	MemberID   string    `json:"memberId"`
	DelegateID string    `json:"delegateId"`
	From       time.Time `json:"from"`
	Until      time.Time `json:"until"`
	Note       string    `json:"note"`
	Active     bool      `json:"active"`
	Version    int64     `json:"version"`
}

type delegatedDecision struct {
	Level      int    `json:"level"`
	MemberID   string `json:"memberId"`
	Name       string `json:"name"`
	Decision   string `json:"decision"`
	ByLink     bool   `json:"byLink"`
	OnBehalfOf *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"onBehalfOf"`
}

func (e *Env) decisionsOf(t testing.TB, token, id string) []delegatedDecision {
	t.Helper()
	var got struct {
		Decisions []delegatedDecision `json:"decisions"`
	}
	e.Call(t, "GET", "/v1/approval-requests/"+id, token, nil).Want(t, http.StatusOK, "").JSON(t, &got)
	return got.Decisions
}

// approvalEmail waits for an approval email to addr sent since whose
// subject contains part (and whose link is none of except), and returns
// its subject, text and link token.
func (e *Env) approvalEmail(t testing.TB, addr, part string, since time.Time, except ...string) (subject, text, token string) {
	t.Helper()
	testenv.Eventually(t, 15*time.Second, fmt.Sprintf("an approval email %q to %s", part, addr), func() error {
		for _, m := range e.SES.Emails(t, since) {
			if !m.SentTo(addr) || !strings.HasPrefix(m.Subject, "Approval needed") || !strings.Contains(m.Subject, part) {
				continue
			}
			if match := approveLink.FindStringSubmatch(m.Body.Text); match != nil && !slices.Contains(except, match[1]) {
				subject, text, token = m.Subject, m.Body.Text, match[1]
				return nil
			}
		}
		return errors.New("none yet")
	})
	return subject, text, token
}

func (e *Env) waitingFor(t testing.TB, token string) []string {
	t.Helper()
	var page struct {
		Items []apRequest `json:"items"`
	}
	e.Call(t, "GET", "/v1/approval-requests?mine=decide", token, nil).Want(t, http.StatusOK, "").JSON(t, &page)
	var out []string
	for _, r := range page.Items {
		out = append(out, r.ID)
	}
	return out
}

func oneLevel(required int) map[string]any {
	return map[string]any{
		"enabled": true, "levels": []map[string]any{{"minAmount": 0, "role": "manager", "required": required, "scope": "document"}},
		"selfApproval": false, "expiresAfterHours": 48,
	}
}

// TestDelegateDecidesForAnAwayApprover is the done-when check: a
// delegate (who holds no approving permission) receives the approval
// email of an away approver and decides on their behalf, in the app and
// by the emailed link; the request shows both names, and so do the audit
// event and the change events.
func TestDelegateDecidesForAnAwayApprover(t *testing.T) {
	e := New(t)
	tm := e.apSetup(t)
	dan := e.apMember(t, tm.owner, "Dan Deputy") // no role: no approving permission
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, oneLevel(1)).Want(t, http.StatusOK, "")

	e.Call(t, "GET", "/v1/me/delegation", tm.mgr1.Token, nil).Want(t, http.StatusNotFound, "delegation_not_found")
	body := delegationBody(dan.ID, -time.Minute, 7*24*time.Hour)
	body["note"] = "On holiday"
	var d delegationView
	e.Call(t, "PUT", "/v1/me/delegation", tm.mgr1.Token, body).Want(t, http.StatusCreated, "").JSON(t, &d)
	if d.MemberID != tm.mgr1.ID || d.DelegateID != dan.ID || !d.Active || d.Note != "On holiday" || d.Version != 1 {
		t.Fatalf("delegation %+v", d)
	}
	e.Call(t, "GET", "/v1/me/delegation", tm.mgr1.Token, nil).Want(t, http.StatusOK, "").JSON(t, &d)
	if !d.Active || d.DelegateID != dan.ID {
		t.Fatalf("read back %+v", d)
	}

	// In the app.
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-away", tm.requester.Token, poBody(100)).Want(t, http.StatusCreated, "")
	since := time.Now()
	req := e.requestApproval(t, tm.requester.Token, "po-away", nil)
	subject, text, first := e.approvalEmail(t, dan.Email, "on behalf of Mia Manager", since)
	if !strings.Contains(text, "Mia Manager") || !strings.Contains(text, "on their behalf") {
		t.Fatalf("the delegate's email %q: %s", subject, text)
	}
	e.approvalToken(t, tm.mgr2.Email, since) // the other approver gets their own
	if n := e.emailsTo(t, tm.mgr1.Email, "Approval needed", since); n != 0 {
		t.Fatalf("the away approver got %d approval emails", n)
	}
	e.waitRequest(t, tm.requester.Token, req.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 })
	if got := e.waitingFor(t, dan.Token); !slices.Contains(got, req.ID) {
		t.Fatalf("the delegate's waiting list %v lacks %s", got, req.ID)
	}
	// Dan holds no approving permission of his own.
	e.Call(t, "POST", "/v1/approval-requests/"+req.ID+"/decision", dan.Token, map[string]any{"decision": "approve"}).Want(t, http.StatusForbidden, "not_an_approver")
	// Nor does he stand in for Max.
	e.Call(t, "POST", "/v1/approval-requests/"+req.ID+"/decision", dan.Token, map[string]any{"decision": "approve", "onBehalfOf": tm.mgr2.ID}).Want(t, http.StatusForbidden, "not_a_delegate")
	e.Call(t, "POST", "/v1/approval-requests/"+req.ID+"/decision", dan.Token, map[string]any{"decision": "approve", "comment": "For Mia", "onBehalfOf": tm.mgr1.ID}).Want(t, http.StatusOK, "")
	ds := e.decisionsOf(t, tm.requester.Token, req.ID)
	if len(ds) != 1 || ds[0].MemberID != dan.ID || ds[0].Name != "Dan Deputy" || ds[0].OnBehalfOf == nil ||
		ds[0].OnBehalfOf.ID != tm.mgr1.ID || ds[0].OnBehalfOf.Name != "Mia Manager" || ds[0].Decision != "approved" {
		t.Fatalf("decisions %+v", ds)
	}
	e.waitDocStatus(t, tm.requester.Token, "po-away", "approved")
	if out := e.outcomeEmail(t, tm.requester.Email, "Approved", since); !strings.Contains(out, "Dan Deputy on behalf of Mia Manager") {
		t.Fatalf("the outcome email does not name both: %s", out)
	}
	var evs struct {
		Items []acctEvent `json:"items"`
	}
	e.Call(t, "GET", "/v1/audit?action=approval.decide", tm.ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &evs)
	if len(evs.Items) != 1 || evs.Items[0].Actor.ID != dan.ID {
		t.Fatalf("decision events %+v", evs.Items)
	}
	by, _ := evs.Items[0].After["decidedBy"].(map[string]any)
	ob, _ := evs.Items[0].After["onBehalfOf"].(map[string]any)
	if by["id"] != dan.ID || ob["id"] != tm.mgr1.ID || ob["name"] != "Mia Manager" {
		t.Fatalf("decision event after %v", evs.Items[0].After)
	}

	// By the emailed link.
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-away-2", tm.requester.Token, poBody(100)).Want(t, http.StatusCreated, "")
	since = time.Now()
	req2 := e.requestApproval(t, tm.requester.Token, "po-away-2", nil)
	_, _, link := e.approvalEmail(t, dan.Email, "on behalf of Mia Manager", since, first)
	page := e.Call(t, "GET", "/approve/"+link, "", nil).Want(t, http.StatusOK, "")
	if !strings.Contains(string(page.Body), "On behalf of") || !strings.Contains(string(page.Body), "Mia Manager") {
		t.Fatalf("the delegate's page does not say on whose behalf: %s", page.Body)
	}
	e.form(t, link, decideForm("deny", "Not now")).Want(t, http.StatusOK, "")
	ds = e.decisionsOf(t, tm.requester.Token, req2.ID)
	if len(ds) != 1 || !ds[0].ByLink || ds[0].MemberID != dan.ID || ds[0].OnBehalfOf == nil || ds[0].OnBehalfOf.ID != tm.mgr1.ID || ds[0].Decision != "denied" {
		t.Fatalf("link decisions %+v", ds)
	}
	e.waitDocStatus(t, tm.requester.Token, "po-away-2", "denied")

	// Back: removed, the member's own email applies again.
	e.Call(t, "DELETE", "/v1/me/delegation", tm.mgr1.Token, nil).Want(t, http.StatusNoContent, "")
	e.Call(t, "GET", "/v1/me/delegation", tm.mgr1.Token, nil).Want(t, http.StatusNotFound, "delegation_not_found")
	e.Call(t, "DELETE", "/v1/me/delegation", tm.mgr1.Token, nil).Want(t, http.StatusNotFound, "delegation_not_found")
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-back", tm.requester.Token, poBody(100)).Want(t, http.StatusCreated, "")
	since = time.Now()
	e.requestApproval(t, tm.requester.Token, "po-back", nil)
	e.approvalToken(t, tm.mgr1.Email, since)

	// The change events.
	testenv.Eventually(t, 15*time.Second, "the delegation's events in the feed", func() error {
		evs, _ := e.readFeed(t, tm.ownerTk, "", "&types=delegation.set,delegation.removed,approval.decided")
		var types []string
		var decided map[string]any
		for _, ev := range evs {
			types = append(types, ev.Type)
			if ev.Type == "approval.decided" && decided == nil {
				var data map[string]any
				_ = json.Unmarshal(ev.Data, &data)
				decided, _ = data["decision"].(map[string]any)
			}
		}
		if !slices.Contains(types, "delegation.set") || !slices.Contains(types, "delegation.removed") || decided == nil {
			return fmt.Errorf("types %v", types)
		}
		if ob, _ := decided["onBehalfOf"].(map[string]any); ob["id"] != tm.mgr1.ID {
			return fmt.Errorf("approval.decided %v", decided)
		}
		return nil
	})
}

// TestDelegationRules: who may be named, for how long, and by whom.
func TestDelegationRules(t *testing.T) {
	e := New(t)
	tm := e.apSetup(t)
	put := func(token string, body map[string]any, status int, code string) {
		t.Helper()
		e.Call(t, "PUT", "/v1/me/delegation", token, body).Want(t, status, code)
	}
	put(tm.mgr1.Token, delegationBody(tm.mgr1.ID, 0, time.Hour), http.StatusUnprocessableEntity, "self_delegation")
	put(tm.mgr1.Token, delegationBody(tm.mgr2.ID, time.Hour, time.Hour), http.StatusUnprocessableEntity, "invalid_delegation_window")
	put(tm.mgr1.Token, delegationBody(tm.mgr2.ID, 2*time.Hour, time.Hour), http.StatusUnprocessableEntity, "invalid_delegation_window")
	put(tm.mgr1.Token, delegationBody(tm.mgr2.ID, -2*time.Hour, -time.Hour), http.StatusUnprocessableEntity, "invalid_delegation_window")
	put(tm.mgr1.Token, delegationBody(tm.mgr2.ID, 0, 91*24*time.Hour), http.StatusUnprocessableEntity, "delegation_too_long")
	put(tm.mgr1.Token, delegationBody("m_nobody", 0, time.Hour), http.StatusUnprocessableEntity, "unknown_delegate")
	put(tm.mgr1.Token, map[string]any{"from": time.Now().Format(time.RFC3339), "until": time.Now().Add(time.Hour).Format(time.RFC3339)}, http.StatusBadRequest, "invalid_field")
	// Another account's member is unknown here.
	other := e.signup(t, newEmail("deleg-other"))
	put(tm.mgr1.Token, delegationBody(other.MemberID, 0, time.Hour), http.StatusUnprocessableEntity, "unknown_delegate")
	// The delegate must be active.
	suspended := e.privTarget(t, tm.owner.AccountID, tm.owner.MemberID, rbac.StatusSuspended)
	put(tm.mgr1.Token, delegationBody(suspended, 0, time.Hour), http.StatusUnprocessableEntity, "delegate_not_active")
	invited := e.privTarget(t, tm.owner.AccountID, tm.owner.MemberID, rbac.StatusInvited)
	put(tm.mgr1.Token, delegationBody(invited, 0, time.Hour), http.StatusUnprocessableEntity, "delegate_not_active")
	if n := e.auditCountAction(t, tm.owner.AccountID, "delegation.put"); n != 0 {
		t.Fatalf("refused delegations wrote %d events", n)
	}
	// 90 days ahead at most: just under is fine; a later PUT replaces it.
	put(tm.mgr1.Token, delegationBody(tm.mgr2.ID, time.Hour, 90*24*time.Hour-time.Minute), http.StatusCreated, "")
	var d delegationView
	e.Call(t, "PUT", "/v1/me/delegation", tm.mgr1.Token, delegationBody(tm.senior.ID, 0, time.Hour)).Want(t, http.StatusOK, "").JSON(t, &d)
	if d.DelegateID != tm.senior.ID || d.Version != 2 || !d.Active {
		t.Fatalf("replaced %+v", d)
	}

	// An impersonating administrator may look, not set or remove.
	var imp tokens
	e.Call(t, "POST", "/v1/users/"+tm.mgr1.ID+"/impersonate", tm.ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &imp)
	e.Call(t, "GET", "/v1/me/delegation", imp.AccessToken, nil).Want(t, http.StatusOK, "")
	put(imp.AccessToken, delegationBody(tm.owner.MemberID, 0, time.Hour), http.StatusForbidden, "impersonation_forbidden")
	e.Call(t, "DELETE", "/v1/me/delegation", imp.AccessToken, nil).Want(t, http.StatusForbidden, "impersonation_forbidden")
	e.Call(t, "GET", "/v1/me/delegation", tm.mgr1.Token, nil).Want(t, http.StatusOK, "").JSON(t, &d)
	if d.DelegateID != tm.senior.ID {
		t.Fatalf("the impersonator changed the delegation: %+v", d)
	}
	// An API key is not a member.
	var key struct {
		Secret string `json:"secret"`
	}
	e.Call(t, "POST", "/v1/api-keys", tm.ownerTk, map[string]any{"name": "deleg", "permissions": []string{"orders.view"}}).Want(t, http.StatusCreated, "").JSON(t, &key)
	e.Call(t, "GET", "/v1/me/delegation", key.Secret, nil).Want(t, http.StatusForbidden, "not_a_member")
	put(key.Secret, delegationBody(tm.mgr2.ID, 0, time.Hour), http.StatusForbidden, "not_a_member")
}

// TestDelegationWindowsOneVoteNoChains: outside its window a delegation
// does nothing; a delegate who is an approver of the same level votes
// once (their own vote or one on behalf, never both); chains are not
// followed; a delegate never decides a request they made.
func TestDelegationWindowsOneVoteNoChains(t *testing.T) {
	e := New(t)
	tm := e.apSetup(t)
	dan := e.apMember(t, tm.owner, "Dan Deputy")
	ctx := context.Background()
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, oneLevel(2)).Want(t, http.StatusOK, "")
	decide := func(p person, id, onBehalf string, status int, code string) {
		t.Helper()
		b := map[string]any{"decision": "approve"}
		if onBehalf != "" {
			b["onBehalfOf"] = onBehalf
		}
		e.Call(t, "POST", "/v1/approval-requests/"+id+"/decision", p.Token, b).Want(t, status, code)
	}
	newRequest := func(doc string) (apRequest, time.Time) {
		t.Helper()
		e.Call(t, "PUT", "/v1/documents/purchase_order/"+doc, tm.requester.Token, poBody(100)).Want(t, http.StatusCreated, "")
		since := time.Now()
		r := e.requestApproval(t, tm.requester.Token, doc, nil)
		e.waitRequest(t, tm.requester.Token, r.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 })
		return r, since
	}

	// Before from: Mia's own email and authority.
	e.Call(t, "PUT", "/v1/me/delegation", tm.mgr1.Token, delegationBody(tm.mgr2.ID, time.Hour, 2*time.Hour)).Want(t, http.StatusCreated, "")
	a, since := newRequest("po-win-a")
	e.approvalToken(t, tm.mgr1.Email, since)
	decide(tm.mgr2, a.ID, tm.mgr1.ID, http.StatusForbidden, "not_a_delegate")
	// After until (an ended delegation, written as it would stand): the same.
	prev, err := e.Store.GetDelegation(ctx, tm.owner.AccountID, tm.mgr1.ID)
	if err != nil {
		t.Fatal(err)
	}
	ended := prev
	ended.From, ended.Until, ended.Version = time.Now().Add(-2*time.Hour), time.Now().Add(-time.Second), prev.Version+1
	if err := e.Store.PutDelegation(ctx, ended, &prev, audit.Event{AccountID: tm.owner.AccountID, ActorID: tm.mgr1.ID, Action: "delegation.put", TargetType: "delegation", TargetID: tm.mgr1.ID}); err != nil {
		t.Fatal(err)
	}
	var d delegationView
	e.Call(t, "GET", "/v1/me/delegation", tm.mgr1.Token, nil).Want(t, http.StatusOK, "").JSON(t, &d)
	if d.Active {
		t.Fatalf("an ended delegation is active: %+v", d)
	}
	decide(tm.mgr2, a.ID, tm.mgr1.ID, http.StatusForbidden, "not_a_delegate")
	if got := e.waitingFor(t, tm.mgr2.Token); !slices.Contains(got, a.ID) {
		t.Fatalf("Max's own request %s is not waiting: %v", a.ID, got)
	}

	// Active: Max stands in for Mia and is an approver himself: one vote.
	e.Call(t, "PUT", "/v1/me/delegation", tm.mgr1.Token, delegationBody(tm.mgr2.ID, -time.Minute, time.Hour)).Want(t, http.StatusOK, "")
	decide(tm.mgr2, a.ID, "", http.StatusOK, "")
	decide(tm.mgr2, a.ID, tm.mgr1.ID, http.StatusConflict, "already_decided")
	if r := e.getRequest(t, tm.requester.Token, a.ID); r.Status != "pending" || r.Approvals != 1 {
		t.Fatalf("after Max's one vote: %+v", r)
	}
	b, _ := newRequest("po-win-b")
	decide(tm.mgr2, b.ID, tm.mgr1.ID, http.StatusOK, "")
	decide(tm.mgr2, b.ID, "", http.StatusConflict, "already_decided")
	decide(tm.mgr1, b.ID, "", http.StatusConflict, "already_decided") // Mia's seat is taken
	if r := e.getRequest(t, tm.requester.Token, b.ID); r.Status != "pending" || r.Approvals != 1 {
		t.Fatalf("after Max's vote for Mia: %+v", r)
	}
	// Mia's own vote on the first completes it.
	decide(tm.mgr1, a.ID, "", http.StatusOK, "")
	e.waitDocStatus(t, tm.requester.Token, "po-win-a", "approved")

	// No chains: Max is away too, to Dan; Mia's items stop at Max.
	e.Call(t, "PUT", "/v1/me/delegation", tm.mgr2.Token, delegationBody(dan.ID, -time.Minute, time.Hour)).Want(t, http.StatusCreated, "")
	c, since := newRequest("po-win-c")
	e.approvalEmail(t, tm.mgr2.Email, "on behalf of Mia Manager", since)
	e.approvalEmail(t, dan.Email, "on behalf of Max Manager", since)
	for _, m := range e.SES.Emails(t, since) {
		if m.SentTo(dan.Email) && strings.Contains(m.Subject, "Mia Manager") {
			t.Fatalf("Mia's email reached Dan through Max: %q", m.Subject)
		}
	}
	decide(dan, c.ID, tm.mgr1.ID, http.StatusForbidden, "not_a_delegate")
	if got := e.waitingFor(t, dan.Token); !slices.Contains(got, c.ID) {
		t.Fatalf("Dan's waiting list %v lacks Max's item %s", got, c.ID)
	}
	decide(dan, c.ID, tm.mgr2.ID, http.StatusOK, "")

	// A delegate never decides their own request: Rita stands in for Mia
	// and requests; Mia gets her own email.
	e.Call(t, "PUT", "/v1/me/delegation", tm.mgr1.Token, delegationBody(tm.requester.ID, -time.Minute, time.Hour)).Want(t, http.StatusOK, "")
	r, since := newRequest("po-win-own")
	e.approvalToken(t, tm.mgr1.Email, since)
	if n := e.emailsTo(t, tm.requester.Email, "Approval needed", since); n != 0 {
		t.Fatalf("the requester got %d approval emails as a delegate", n)
	}
	decide(tm.requester, r.ID, tm.mgr1.ID, http.StatusForbidden, "delegate_is_requester")
	if got := e.waitingFor(t, tm.requester.Token); slices.Contains(got, r.ID) {
		t.Fatalf("the requester's waiting list holds their own request: %v", got)
	}
}

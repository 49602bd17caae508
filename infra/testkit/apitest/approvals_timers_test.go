package apitest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/localstack/server"
	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/workflow"
)

// reasonToken waits for an email to addr sent since whose subject
// starts with prefix ("Reminder: " or "Escalated: ") and returns its
// link's token.
func (e *Env) reasonToken(t testing.TB, addr, prefix string, since time.Time) string {
	t.Helper()
	var token string
	testenv.Eventually(t, 20*time.Second, "a "+prefix+"email to "+addr, func() error {
		for _, m := range e.SES.Emails(t, since) {
			if !m.SentTo(addr) || !strings.HasPrefix(m.Subject, prefix+"Approval needed") {
				continue
			}
			if match := approveLink.FindStringSubmatch(m.Body.Text); match != nil {
				token = match[1]
				return nil
			}
		}
		return errors.New("none yet")
	})
	return token
}

// A level with a reminder and an escalation to the administrators, over
// HTTP with the local workflow Runner (a policy hour lasts a second
// here): the approvers who have not decided are reminded once, with a
// link of their own beside the first; then the level escalates,
// the escalation is an event, the owner (an administrator) is asked and
// emailed, and decides in the app.
func TestApprovalReminderAndEscalation(t *testing.T) {
	e := New(t, func(d *server.Deps) { d.Approvals.Hour = time.Second })
	tm := e.apSetup(t)
	pol := map[string]any{
		"enabled": true,
		"levels": []map[string]any{{
			"minAmount": 0, "role": "manager", "required": 1, "scope": "document",
			"remindAfterHours": 2, "escalateAfterHours": 5, "escalateTo": "admins",
		}},
		"selfApproval": false, "expiresAfterHours": 60,
	}
	var got struct {
		Levels []map[string]any `json:"levels"`
	}
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, pol).Want(t, http.StatusOK, "").JSON(t, &got)
	if len(got.Levels) != 1 || got.Levels[0]["remindAfterHours"] != float64(2) || got.Levels[0]["escalateAfterHours"] != float64(5) || got.Levels[0]["escalateTo"] != "admins" {
		t.Fatalf("PUT answered levels %v", got.Levels)
	}
	e.Call(t, "GET", "/v1/approval-policies/purchase_order", tm.requester.Token, nil).Want(t, http.StatusOK, "").JSON(t, &got)
	if got.Levels[0]["escalateTo"] != "admins" {
		t.Fatalf("GET answered levels %v", got.Levels)
	}
	_, cursor := e.readFeed(t, tm.ownerTk, "", "&types=approval.escalated")

	e.Call(t, "PUT", "/v1/documents/purchase_order/po-rem", tm.requester.Token, poBody(100)).Want(t, http.StatusCreated, "")
	since := time.Now()
	req := e.requestApproval(t, tm.requester.Token, "po-rem", nil)
	first := e.approvalToken(t, tm.mgr1.Email, since)

	// The reminder: to each approver who has not decided, with a link
	// of its own; the first still works.
	reminded := e.reasonToken(t, tm.mgr1.Email, "Reminder: ", since)
	e.reasonToken(t, tm.mgr2.Email, "Reminder: ", since)
	if reminded == first {
		t.Fatal("the reminder resent the first link")
	}
	e.Call(t, "GET", "/approve/"+reminded, "", nil).Want(t, http.StatusOK, "")
	e.Call(t, "GET", "/approve/"+first, "", nil).Want(t, http.StatusOK, "")

	// The escalation: the owner is asked, emailed, and may decide.
	e.reasonToken(t, tm.owner.Email, "Escalated: ", since)
	r := e.waitRequest(t, tm.ownerTk, req.ID, "the owner asked", func(r apRequest) bool {
		return slices.ContainsFunc(r.Asked, func(a struct {
			Level    int    `json:"level"`
			MemberID string `json:"memberId"`
			Email    string `json:"email"`
		}) bool {
			return a.MemberID == tm.owner.MemberID
		})
	})
	if r.Status != "pending" {
		t.Fatalf("request %+v", r)
	}
	var esc []feedEvent
	testenv.Eventually(t, 15*time.Second, "approval.escalated in the feed", func() error {
		if esc, _ = e.readFeed(t, tm.ownerTk, cursor, "&types=approval.escalated"); len(esc) == 0 {
			return errors.New("none yet")
		}
		return nil
	})
	var data struct {
		Request    map[string]any `json:"request"`
		Escalation map[string]any `json:"escalation"`
	}
	if err := json.Unmarshal(esc[0].Data, &data); err != nil {
		t.Fatal(err)
	}
	if len(esc) != 1 || data.Request["id"] != req.ID || data.Escalation["escalateTo"] != "admins" || data.Escalation["level"] != float64(1) {
		t.Fatalf("escalation events %d: %s", len(esc), esc[0].Data)
	}
	// Escalated members are asked: the owner decides in the app.
	e.Call(t, "POST", "/v1/approval-requests/"+req.ID+"/decision", tm.ownerTk, map[string]string{"decision": "approve"}).Want(t, http.StatusOK, "")
	e.outcomeEmail(t, tm.requester.Email, "Approved", since)
	e.waitDocStatus(t, tm.requester.Token, "po-rem", "approved")
	// At most one reminder a day: one each, however long it took.
	for _, p := range []person{tm.mgr1, tm.mgr2} {
		if n := e.emailsTo(t, p.Email, "Reminder: ", since); n != 1 {
			t.Errorf("%s got %d reminders", p.Email, n)
		}
	}
	if n := e.emailsTo(t, tm.owner.Email, "Escalated: ", since); n != 1 {
		t.Errorf("the owner got %d escalation emails", n)
	}
}

// Escalating to the next level: its approvers are asked at the first
// level and decide it; the level then ends as if its own had.
func TestApprovalEscalatesToNextLevel(t *testing.T) {
	e := New(t, func(d *server.Deps) { d.Approvals.Hour = time.Second })
	tm := e.apSetup(t)
	p := twoLevelPolicy()
	p["expiresAfterHours"] = 60
	p["levels"] = []map[string]any{
		{"minAmount": 0, "role": "manager", "required": 1, "scope": "document", "escalateAfterHours": 1, "escalateTo": "next_level"},
		{"minAmount": 5000, "role": "senior_manager", "required": 1, "scope": "account"},
	}
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, p).Want(t, http.StatusOK, "")
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-next", tm.requester.Token, poBody(8000)).Want(t, http.StatusCreated, "")
	since := time.Now()
	req := e.requestApproval(t, tm.requester.Token, "po-next", nil)
	tok := e.reasonToken(t, tm.senior.Email, "Escalated: ", since)
	// By its link, at level 1.
	e.form(t, tok, decideForm("approve", "on behalf of the store")).Want(t, http.StatusOK, "")
	r := e.waitRequest(t, tm.requester.Token, req.ID, "level 2", func(r apRequest) bool { return r.CurrentLevel == 2 })
	if len(r.Decisions) != 1 || r.Decisions[0].MemberID != tm.senior.ID || r.Decisions[0].Level != 1 {
		t.Fatalf("decisions %+v", r.Decisions)
	}
}

// The timers' rules: each at least an hour and under the expiry, and an
// escalation names where it goes.
func TestApprovalTimersValidation(t *testing.T) {
	e := New(t)
	tm := e.apSetup(t)
	level := func(extra map[string]any) map[string]any {
		p := twoLevelPolicy()
		l := map[string]any{"minAmount": 0, "role": "manager", "required": 1, "scope": "document"}
		for k, v := range extra {
			l[k] = v
		}
		p["levels"] = []map[string]any{l}
		return p
	}
	for field, extra := range map[string]map[string]any{
		"levels[0].remindAfterHours":    {"remindAfterHours": 48},
		"levels[0].escalateAfterHours":  {"escalateAfterHours": 0, "escalateTo": "admins"},
		"levels[0].escalateTo":          {"escalateAfterHours": 3},
		"levels[0].escalateTo ":         {"escalateAfterHours": 3, "escalateTo": "nobody"},
		"levels[0].escalateAfterHours ": {"escalateAfterHours": 49, "escalateTo": "admins"},
		"levels[0].remindAfterHours ":   {"remindAfterHours": -1},
	} {
		res := e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, level(extra)).Want(t, http.StatusBadRequest, "invalid_field")
		if !strings.Contains(string(res.Body), `"`+strings.TrimSpace(field)+`"`) {
			t.Errorf("%v: %s", extra, res.Body)
		}
	}
	for _, to := range []string{"admins", "next_level", "senior_manager"} {
		e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, level(map[string]any{"remindAfterHours": 24, "escalateAfterHours": 47, "escalateTo": to})).Want(t, http.StatusOK, "")
	}
}

// dropFirstResult is an engine that loses the first level result a
// decider sends (as if it raced the level's Tick: the token it used is
// dead), answering ErrTaskNotFound like a used token.
type dropFirstResult struct {
	workflow.Engine
	dropped atomic.Bool
}

func (d *dropFirstResult) SendTaskSuccess(ctx context.Context, token string, dec workflow.Decision) error {
	if d.dropped.CompareAndSwap(false, true) {
		return workflow.ErrTaskNotFound
	}
	return d.Engine.SendTaskSuccess(ctx, token, dec)
}

// A denial whose level result was lost (it went to a token a Tick had
// ended) is not lost: the level's next await finds the level decided and
// finishes it. A decided level reminds nobody.
func TestApprovalDecisionRacingATickIsNotLost(t *testing.T) {
	e := New(t, func(d *server.Deps) {
		d.Approvals.Hour = time.Second
		d.Approvals.Engine = &dropFirstResult{Engine: d.Approvals.Engine}
	})
	tm := e.apSetup(t)
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, map[string]any{
		"enabled": true, "levels": []map[string]any{{"minAmount": 0, "role": "manager", "required": 1, "scope": "document", "remindAfterHours": 2}},
		"selfApproval": false, "expiresAfterHours": 60,
	}).Want(t, http.StatusOK, "")
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-race", tm.requester.Token, poBody(100)).Want(t, http.StatusCreated, "")
	since := time.Now()
	req := e.requestApproval(t, tm.requester.Token, "po-race", nil)
	e.waitRequest(t, tm.mgr1.Token, req.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 })
	e.Call(t, "POST", "/v1/approval-requests/"+req.ID+"/decision", tm.mgr1.Token, map[string]string{"decision": "deny", "comment": "No"}).Want(t, http.StatusOK, "")
	if r := e.getRequest(t, tm.requester.Token, req.ID); r.Status != "pending" {
		t.Fatalf("the lost result ended the request: %+v", r)
	}
	e.outcomeEmail(t, tm.requester.Email, "Denied", since)
	e.waitDocStatus(t, tm.requester.Token, "po-race", "denied")
	if n := e.emailsTo(t, tm.mgr2.Email, "Reminder: ", since); n != 0 {
		t.Errorf("a decided level sent %d reminders", n)
	}
}

package apitest

// Cold review of access requests, delegation, reminders/escalation and
// offboarding hand-over: each TestReview_ test replays a finding over
// HTTP and fails until it is fixed.

import (
	"net/http"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/localstack/server"
)

// TestReview_DelegateSeesDelegatorsClosedRequests: a delegation makes
// every request the member was ever asked on (any level, any status)
// visible to the delegate, who holds no right to see documents; the
// delegation is meant to pass on the pending decisions only.
func TestReview_DelegateSeesDelegatorsClosedRequests(t *testing.T) {
	e := New(t)
	tm := e.apSetup(t)
	dan := e.apMember(t, tm.owner, "Dan Deputy") // no role at all
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, oneLevel(1)).Want(t, http.StatusOK, "")
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-hist", tm.requester.Token, poBody(100)).Want(t, http.StatusCreated, "")
	req := e.requestApproval(t, tm.requester.Token, "po-hist", nil)
	e.waitRequest(t, tm.mgr1.Token, req.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 })
	e.Call(t, "POST", "/v1/approval-requests/"+req.ID+"/decision", tm.mgr1.Token, map[string]any{"decision": "approve"}).Want(t, http.StatusOK, "")
	e.waitDocStatus(t, tm.requester.Token, "po-hist", "approved")
	e.Call(t, "GET", "/v1/approval-requests/"+req.ID, dan.Token, nil).Want(t, http.StatusNotFound, "")

	// Mia goes on holiday: Dan stands in for her pending decisions.
	e.Call(t, "PUT", "/v1/me/delegation", tm.mgr1.Token, delegationBody(dan.ID, -time.Minute, 7*24*time.Hour)).Want(t, http.StatusCreated, "")

	// Her finished request (amount, note, comments, who decided) is not a
	// pending decision: Dan should not read it.
	if res := e.Call(t, "GET", "/v1/approval-requests/"+req.ID, dan.Token, nil); res.Status != http.StatusNotFound {
		t.Errorf("the delegate reads the member's closed request: %d %s", res.Status, res.Body)
	}
	var list struct {
		Items []apRequest `json:"items"`
	}
	e.Call(t, "GET", "/v1/approval-requests", dan.Token, nil).Want(t, http.StatusOK, "").JSON(t, &list)
	for _, r := range list.Items {
		if r.ID == req.ID {
			t.Errorf("the delegate's list shows the member's closed request %s (%s)", r.ID, r.Status)
		}
	}
}

// TestReview_AccessDecideListEmptyPageWithCursor: GET
// /v1/access-requests?mine=decide reads the caller's entries with the
// page's Limit and only then keeps the pending ones (the entries never
// leave; administrators get one for every request of the account): a
// page comes back empty with a nextCursor while a pending request awaits
// the caller further on. At 10,000 decided requests an administrator
// pages through all of them to find the few pending.
func TestReview_AccessDecideListEmptyPageWithCursor(t *testing.T) {
	e := New(t)
	tm := e.accessSetup(t)
	other := e.apMember(t, tm.owner, "Reg Requester")
	pending := e.askAccess(t, tm.requester.Token, teamMemberS1("Older, still pending."))
	e.waitAsked(t, tm.ownerTk, pending.ID)
	decided := e.askAccess(t, other.Token, teamMemberS1("Newer, decided."))
	e.waitAsked(t, tm.ownerTk, decided.ID)
	e.Call(t, "POST", "/v1/access-requests/"+decided.ID+"/decision", tm.mgr.Token, map[string]any{"decision": "deny"}).Want(t, http.StatusOK, "")

	var page struct {
		Items []acrView `json:"items"`
		Next  string    `json:"nextCursor"`
	}
	e.Call(t, "GET", "/v1/access-requests?mine=decide&limit=1", tm.ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &page)
	if len(page.Items) == 0 && page.Next != "" {
		t.Errorf("the owner's first page of requests to decide is empty with a cursor, while %s is pending", pending.ID)
	}
	if len(page.Items) > 0 && page.Items[0].ID != pending.ID {
		t.Errorf("first page %+v, want %s", page.Items, pending.ID)
	}
}

// TestReview_AccessApprovedForSuspendedRequester: a request made by a
// member who is suspended meanwhile can still be approved, and the grant
// is written onto the suspended member (it takes effect on
// reactivation); offboarding does not end the leaver's pending requests
// either. Only a deleted requester is treated as gone.
func TestReview_AccessApprovedForSuspendedRequester(t *testing.T) {
	e := New(t)
	tm := e.accessSetup(t)
	r := e.askAccess(t, tm.requester.Token, teamMemberS1("Before I am suspended."))
	e.waitAsked(t, tm.ownerTk, r.ID)
	e.Call(t, "POST", "/v1/users/"+tm.requester.ID+"/suspend", tm.ownerTk, nil).Want(t, http.StatusOK, "")

	var v acrView
	e.Call(t, "GET", "/v1/access-requests/"+r.ID, tm.ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &v)
	if v.Status != "pending" {
		t.Logf("after the suspension the request is %s", v.Status)
	} else {
		t.Errorf("suspending the requester left its access request pending")
	}
	res := e.Call(t, "POST", "/v1/access-requests/"+r.ID+"/decision", tm.mgr.Token, map[string]any{"decision": "approve"})
	if res.Status == http.StatusOK {
		t.Errorf("a suspended requester's access request was approved: %s", res.Body)
	}
	if as := assignmentsOf(t, e, tm.ownerTk, tm.requester.ID); len(as) != 0 {
		t.Errorf("the suspended member was granted %+v", as)
	}
}

// TestReview_HandoverLeavesReminderLinks: offboarding with reassignTo
// deletes the leaver's current approval link at each level ("the
// leaver's approval links at those levels are deleted (410
// link_invalid)"), but a reminder mints links under subjects of their
// own (":r<n>"), which the hand-over does not find: the leaver's reminder
// link keeps working once the leaver is back, and votes beside the
// reassignee's seat.
func TestReview_HandoverLeavesReminderLinks(t *testing.T) {
	e := New(t, func(d *server.Deps) { d.Approvals.Hour = time.Second })
	tm := e.apSetup(t)
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, map[string]any{
		"enabled": true, "levels": []map[string]any{{"minAmount": 0, "role": "manager", "required": 2, "scope": "document", "remindAfterHours": 2}},
		"selfApproval": false, "expiresAfterHours": 60,
	}).Want(t, http.StatusOK, "")
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-remlink", tm.requester.Token, poBody(100)).Want(t, http.StatusCreated, "")
	since := time.Now()
	req := e.requestApproval(t, tm.requester.Token, "po-remlink", nil)
	first := e.approvalToken(t, tm.mgr1.Email, since)
	reminder := e.reasonToken(t, tm.mgr1.Email, "Reminder: ", since)
	mgr3 := e.apMember(t, tm.owner, "Mo Manager", at("manager", "store:s1"), at("approver", "store:s1"))

	e.Call(t, "POST", "/v1/users/"+tm.mgr1.ID+"/suspend", tm.ownerTk, map[string]any{"reassignTo": mgr3.ID}).Want(t, http.StatusOK, "")
	e.Call(t, "GET", "/approve/"+first, "", nil).Want(t, http.StatusGone, "")
	e.Call(t, "POST", "/v1/users/"+tm.mgr1.ID+"/reactivate", tm.ownerTk, nil).Want(t, http.StatusOK, "")

	// The handed-over seat's links are all gone: the reminder's too.
	if res := e.Call(t, "GET", "/approve/"+reminder, "", nil); res.Status != http.StatusGone {
		t.Errorf("the leaver's reminder link still opens after the hand-over: %d", res.Status)
	}
	if res := e.form(t, reminder, decideForm("approve", "")); res.Status != http.StatusGone {
		t.Errorf("the leaver's reminder link still decides after the hand-over: %d", res.Status)
		r := e.getRequest(t, tm.ownerTk, req.ID)
		t.Logf("request after the leaver's vote: approvals %d, asked %+v", r.Approvals, r.Asked)
	}
}

// TestReview_ReminderEmailsSuspendedApprover: a level's reminders go to
// every member asked at the level who has not decided, whatever their
// status now (Steps.stillAwaited and Notify check none): a member
// suspended (or deleted with force) after the level started keeps
// receiving reminder emails with the document's details and a link.
func TestReview_ReminderEmailsSuspendedApprover(t *testing.T) {
	e := New(t, func(d *server.Deps) { d.Approvals.Hour = time.Second })
	tm := e.apSetup(t)
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, map[string]any{
		"enabled": true, "levels": []map[string]any{{"minAmount": 0, "role": "manager", "required": 1, "scope": "document", "remindAfterHours": 6}},
		"selfApproval": false, "expiresAfterHours": 60,
	}).Want(t, http.StatusOK, "")
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-remsus", tm.requester.Token, poBody(100)).Want(t, http.StatusCreated, "")
	since := time.Now()
	e.requestApproval(t, tm.requester.Token, "po-remsus", nil)
	e.approvalToken(t, tm.mgr1.Email, since)
	e.Call(t, "POST", "/v1/users/"+tm.mgr1.ID+"/suspend", tm.ownerTk, nil).Want(t, http.StatusOK, "")

	e.reasonToken(t, tm.mgr2.Email, "Reminder: ", since)
	time.Sleep(2 * time.Second) // the same batch
	if n := e.emailsTo(t, tm.mgr1.Email, "Reminder: ", since); n != 0 {
		t.Errorf("the suspended approver got %d reminder emails", n)
	}
}

// TestReview_HandoverSeatToDelegateWhoVoted: a member who voted at a
// level on behalf of another (the vote marker) cannot vote there again,
// but the hand-over counts only their own decision and awaiting entry
// (Duty.SeatMovesTo): the leaver's seat moves to them, the
// approvers_left_without check counts them, and the level is left
// waiting for a vote that is refused.
func TestReview_HandoverSeatToDelegateWhoVoted(t *testing.T) {
	e := New(t)
	tm := e.apSetup(t)
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, oneLevel(2)).Want(t, http.StatusOK, "")
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-seat", tm.requester.Token, poBody(100)).Want(t, http.StatusCreated, "")
	req := e.requestApproval(t, tm.requester.Token, "po-seat", nil)
	e.waitRequest(t, tm.mgr1.Token, req.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 })
	// A manager who joined after the level started: not asked there.
	dee := e.apMember(t, tm.owner, "Dee Deputy", at("manager", "store:s1"), at("approver", "store:s1"))
	e.Call(t, "PUT", "/v1/me/delegation", tm.mgr1.Token, delegationBody(dee.ID, -time.Minute, 7*24*time.Hour)).Want(t, http.StatusCreated, "")
	e.Call(t, "POST", "/v1/approval-requests/"+req.ID+"/decision", dee.Token, map[string]any{"decision": "approve", "onBehalfOf": tm.mgr1.ID}).Want(t, http.StatusOK, "")

	// Max leaves; his seat is handed to Dee, who has voted at the level.
	res := e.Call(t, "POST", "/v1/users/"+tm.mgr2.ID+"/suspend", tm.ownerTk, map[string]any{"reassignTo": dee.ID})
	if res.Status != http.StatusOK {
		return // refused: fine
	}
	// The seat Dee holds now must be usable, or must not have moved.
	r := e.getRequest(t, tm.ownerTk, req.ID)
	for _, a := range r.Asked {
		if a.Level == 1 && a.MemberID == dee.ID {
			if got := e.Call(t, "POST", "/v1/approval-requests/"+req.ID+"/decision", dee.Token, map[string]any{"decision": "approve"}); got.Status != http.StatusOK {
				t.Errorf("the hand-over gave Dee a seat she cannot use: %d %s", got.Status, got.Body)
			}
		}
	}
}

package apitest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/localstack/server"
)

// Subaddresses: name+tag@domain reaches name@domain's inbox, so "one
// person, one vote" compares mailboxes, not spellings. And rights at
// commit time for decisions and policy writes (the races below).

// subaddress returns email with "+tag" added to its local part: most mail
// providers deliver name+tag@domain to name@domain's inbox.
func subaddress(email, tag string) string {
	at := strings.LastIndexByte(email, '@')
	return email[:at] + "+" + tag + email[at:]
}

var _ = abuse(
	abuseCase{
		rule: "one person, one vote", who: "requester", name: "names their own subaddress (+tag) as the external approver",
		status: http.StatusUnprocessableEntity, code: "external_approver_is_requester",
		do: func(t *testing.T, e *Env) *Response {
			tm := e.apAbuseSetup(t, openExternalPolicy(), "po-rv1", 100)
			return e.askExternal(t, tm, "po-rv1", subaddress(tm.requester.Email, "approver"))
		},
	},
	abuseCase{
		rule: "one person, one vote", who: "requester", name: "names a member's subaddress (+tag) as the external approver",
		status: http.StatusUnprocessableEntity, code: "external_approver_is_member",
		do: func(t *testing.T, e *Env) *Response {
			tm := e.apAbuseSetup(t, openExternalPolicy(), "po-rv2", 100)
			return e.askExternal(t, tm, "po-rv2", strings.ToUpper(subaddress(tm.mgr.Email, "second-vote")))
		},
	},
)

// TestRaceApproverDemotedWhileDeciding is "rights at commit time"
// for a vote: an approver's decision has passed its checks and is about
// to commit when the owner takes the approver role away. The vote must
// fail cleanly (409 actor_changed) and record nothing.
func TestRaceApproverDemotedWhileDeciding(t *testing.T) {
	gate := newCommitGate("approval.decide")
	e := New(t, func(d *server.Deps) { d.Approvals.Store = dynamoStore(t, gate.apply) })
	tm := e.apAbuseSetup(t, nil, "po-rv3", 100)
	req := e.requestApproval(t, tm.requester.Token, "po-rv3", nil)
	e.waitRequest(t, tm.requester.Token, req.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 && len(r.Asked) > 0 })

	decided := make(chan *Response, 1)
	go func() {
		decided <- e.Call(t, "POST", "/v1/approval-requests/"+req.ID+"/decision", tm.mgr.Token, map[string]string{"decision": "approve"})
	}()
	select {
	case <-gate.reached:
	case <-time.After(20 * time.Second): // deadline
		t.Fatal("the decision never reached its commit")
	}
	etag := e.Call(t, "GET", "/v1/users/"+tm.mgr.ID, tm.ownerTk, nil).Want(t, http.StatusOK, "").Header.Get("ETag")
	e.Call(t, "PATCH", "/v1/users/"+tm.mgr.ID, tm.ownerTk, map[string]any{"assignments": []map[string]string{
		{"role": "team_member", "scope": "store:s1"},
	}}, "If-Match", etag).Want(t, http.StatusOK, "")
	close(gate.release)
	(<-decided).Want(t, http.StatusConflict, "actor_changed")
	if got := e.getRequest(t, tm.ownerTk, req.ID); len(got.Decisions) != 0 || got.Status != "pending" {
		t.Fatalf("the demoted approver's vote was recorded: %+v", got)
	}
}

// TestRaceAdminDemotedWhilePuttingPolicy: an administrator's policy
// change (selfApproval on) is about to commit when the owner takes the
// administrator flag away: 409 actor_changed, the policy unchanged.
func TestRaceAdminDemotedWhilePuttingPolicy(t *testing.T) {
	gate := newCommitGate("approval_policy.put")
	e := New(t, func(d *server.Deps) { d.Approvals.Store = dynamoStore(t, gate.apply) })
	owner := e.signup(t, newEmail("rv-pol-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	adminID, adminTk := e.mbAdmin(t, owner)
	pol := twoLevelPolicy()
	pol["selfApproval"] = true

	put := make(chan *Response, 1)
	go func() { put <- e.Call(t, "PUT", "/v1/approval-policies/purchase_order", adminTk, pol) }()
	select {
	case <-gate.reached:
	case <-time.After(20 * time.Second): // deadline
		t.Fatal("the policy change never reached its commit")
	}
	e.mbDemote(t, ownerTk, adminID)
	close(gate.release)
	(<-put).Want(t, http.StatusConflict, "actor_changed")
	var got struct {
		SelfApproval bool `json:"selfApproval"`
	}
	e.Call(t, "GET", "/v1/approval-policies/purchase_order", ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &got)
	if got.SelfApproval {
		t.Fatal("the demoted administrator's policy change was written")
	}
}

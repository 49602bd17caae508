package apitest

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// The approvals area's abuse cases: one person, one vote (an external
// approver is never the requester nor a member; nobody decides their own
// request), external links end with the policy that allowed them, and
// document transitions that cannot go around an approval.

// abuseTeam is a small account for one case: the owner, a requester with
// full access at store s1, and a manager who approves there.
type abuseTeam struct {
	owner     signedUp
	ownerTk   string
	requester person
	mgr       person
}

// apAbuseSetup makes an abuseTeam whose purchase-order policy is policy
// (nil: twoLevelPolicy), with a draft purchase order docID of amount.
func (e *Env) apAbuseSetup(t *testing.T, policy map[string]any, docID string, amount float64) abuseTeam {
	t.Helper()
	owner := e.signup(t, newEmail("abuse-ap-owner"))
	tm := abuseTeam{owner: owner, ownerTk: e.login(t, owner.Email, goodPassword, owner.AccountID).AccessToken}
	tm.requester = e.apMember(t, owner, "Rita Requester", at("full_access", "store:s1"))
	tm.mgr = e.apMember(t, owner, "Mia Manager", at("manager", "store:s1"), at("approver", "store:s1"))
	if policy == nil {
		policy = twoLevelPolicy()
	}
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, policy).Want(t, http.StatusOK, "")
	e.Call(t, "PUT", "/v1/documents/purchase_order/"+docID, tm.requester.Token, poBody(amount)).Want(t, http.StatusCreated, "")
	return tm
}

// askExternal requests approval of docID naming email as the external
// approver.
func (e *Env) askExternal(t *testing.T, tm abuseTeam, docID, email string) *Response {
	t.Helper()
	return e.Call(t, "POST", "/v1/documents/purchase_order/"+docID+"/approval-requests", tm.requester.Token,
		map[string]any{"externalApprover": map[string]string{"email": email, "name": "Ext"}})
}

// approveByLink requests approval of docID and has the manager approve it
// by link, waiting until the document is approved.
func (e *Env) approveByLink(t *testing.T, tm abuseTeam, docID string) {
	t.Helper()
	since := time.Now()
	e.requestApproval(t, tm.requester.Token, docID, nil)
	tok := e.approvalToken(t, tm.mgr.Email, since)
	e.form(t, tok, decideForm("approve", "")).Want(t, http.StatusOK, "")
	e.waitDocStatus(t, tm.requester.Token, docID, "approved")
}

var _ = abuse(
	abuseCase{
		rule: "one person, one vote", who: "requester", name: "names their own email as the external approver",
		status: http.StatusUnprocessableEntity, code: "external_approver_is_requester",
		do: func(t *testing.T, e *Env) *Response {
			tm := e.apAbuseSetup(t, openExternalPolicy(), "po-a1", 100)
			r := e.askExternal(t, tm, "po-a1", strings.ToUpper(tm.requester.Email))
			if got := e.docStatus(t, tm.requester.Token, "po-a1"); got != "draft" {
				t.Fatalf("the refused request left the document %s", got)
			}
			return r
		},
	},
	abuseCase{
		rule: "one person, one vote", who: "requester", name: "names a member's email as the external approver",
		status: http.StatusUnprocessableEntity, code: "external_approver_is_member",
		do: func(t *testing.T, e *Env) *Response {
			tm := e.apAbuseSetup(t, openExternalPolicy(), "po-a2", 100)
			return e.askExternal(t, tm, "po-a2", tm.mgr.Email)
		},
	},
	abuseCase{
		rule: "one person, one vote", who: "member", name: "external approver who joined votes by link",
		status: http.StatusGone,
		do: func(t *testing.T, e *Env) *Response {
			tm := e.apAbuseSetup(t, openExternalPolicy(), "po-a3", 100)
			ext := newEmail("abuse-ext")
			since := time.Now()
			e.askExternal(t, tm, "po-a3", ext).Want(t, http.StatusAccepted, "")
			tok := e.approvalToken(t, ext, since)
			e.invite(t, tm.ownerTk, map[string]any{"email": ext})
			return e.form(t, tok, decideForm("approve", ""))
		},
	},
	abuseCase{
		rule: "one person, one vote", who: "requester", name: "decides their own request in the app without self-approval",
		status: http.StatusForbidden, code: "not_an_approver",
		do: func(t *testing.T, e *Env) *Response {
			// The requester may approve at store s1 too.
			owner := e.signup(t, newEmail("abuse-ap-owner"))
			ownerTk := e.login(t, owner.Email, goodPassword, owner.AccountID).AccessToken
			rq := e.apMember(t, owner, "Rita Requester", at("full_access", "store:s1"), at("manager", "store:s1"), at("approver", "store:s1"))
			e.Call(t, "PUT", "/v1/approval-policies/purchase_order", ownerTk, twoLevelPolicy()).Want(t, http.StatusOK, "")
			e.Call(t, "PUT", "/v1/documents/purchase_order/po-a4", rq.Token, poBody(100)).Want(t, http.StatusCreated, "")
			req := e.requestApproval(t, rq.Token, "po-a4", nil)
			e.waitRequest(t, rq.Token, req.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 })
			return e.Call(t, "POST", "/v1/approval-requests/"+req.ID+"/decision", rq.Token, map[string]string{"decision": "approve"})
		},
	},
	abuseCase{
		rule: "external links end with the policy", who: "external approver", name: "decides by link after the policy turned externals off",
		status: http.StatusGone,
		do: func(t *testing.T, e *Env) *Response {
			tm := e.apAbuseSetup(t, nil, "po-a5", 100)
			ext := strings.ToLower(newEmail("abuse-ext"))
			ext = ext[:strings.IndexByte(ext, '@')] + "@partner.example"
			since := time.Now()
			req := e.requestApproval(t, tm.requester.Token, "po-a5", map[string]any{"externalApprover": map[string]string{"email": ext}})
			tok := e.approvalToken(t, ext, since)
			off := twoLevelPolicy()
			off["externalApprovers"] = map[string]any{"allowed": false, "domains": []string{}}
			e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, off).Want(t, http.StatusOK, "")
			r := e.form(t, tok, decideForm("approve", ""))
			if got := e.getRequest(t, tm.requester.Token, req.ID); len(got.Decisions) != 0 {
				t.Fatalf("the link decided: %+v", got.Decisions)
			}
			return r
		},
	},
	abuseCase{
		rule: "document transitions", who: "requester", name: "completes a draft whose policy requires approval",
		status: http.StatusConflict, code: "approval_required",
		do: func(t *testing.T, e *Env) *Response {
			tm := e.apAbuseSetup(t, nil, "po-a6", 100)
			b := poBody(100)
			b["status"] = "completed"
			r := e.Call(t, "PUT", "/v1/documents/purchase_order/po-a6", tm.requester.Token, b)
			if got := e.docStatus(t, tm.requester.Token, "po-a6"); got != "draft" {
				t.Fatalf("the refused PUT left the document %s", got)
			}
			return r
		},
	},
	abuseCase{
		rule: "document transitions", who: "requester", name: "changes an approved document's amount and completes it",
		status: http.StatusConflict, code: "approval_required",
		do: func(t *testing.T, e *Env) *Response {
			tm := e.apAbuseSetup(t, nil, "po-a7", 100)
			e.approveByLink(t, tm, "po-a7")
			b := poBody(100)
			b["status"] = "completed"
			b["amount"] = 100000.0
			return e.Call(t, "PUT", "/v1/documents/purchase_order/po-a7", tm.requester.Token, b)
		},
	},
	abuseCase{
		rule: "document transitions", who: "requester", name: "raises an approved document's amount, then completes it",
		status: http.StatusConflict, code: "approval_required",
		do: func(t *testing.T, e *Env) *Response {
			tm := e.apAbuseSetup(t, nil, "po-a8", 100)
			e.approveByLink(t, tm, "po-a8")
			e.Call(t, "PUT", "/v1/documents/purchase_order/po-a8", tm.requester.Token, poBody(100000)).Want(t, http.StatusOK, "")
			if got := e.docStatus(t, tm.requester.Token, "po-a8"); got != "draft" {
				t.Fatalf("an approved document whose amount changed is %s", got)
			}
			// Its approval is void: completing it is refused.
			b := poBody(100000)
			b["status"] = "completed"
			return e.Call(t, "PUT", "/v1/documents/purchase_order/po-a8", tm.requester.Token, b)
		},
	},
)

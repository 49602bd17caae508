package apitest

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// apPortal opens a portal session of a member of the approvals tests.
func (e *Env) apPortal(t testing.TB, p person) string {
	t.Helper()
	return e.enterPortal(t, e.mintPortalLink(t, p.Token, p.ID))
}

// apPending makes a pending purchase order request at level 1.
func (e *Env) apPending(t testing.TB, tm apTeam, docID string, amount float64) apRequest {
	t.Helper()
	e.Call(t, "PUT", "/v1/documents/purchase_order/"+docID, tm.requester.Token, poBody(amount)).Want(t, http.StatusCreated, "")
	req := e.requestApproval(t, tm.requester.Token, docID, nil)
	return e.waitRequest(t, tm.mgr1.Token, req.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 })
}

// TestPortalApprovalsDecide: a manager approves a pending request through
// the portal's form and another denies one with a comment (the API shows
// both); a forged CSRF token changes nothing; the requester cannot approve
// their own request, and cancels it through the confirmation.
func TestPortalApprovalsDecide(t *testing.T) {
	e := New(t)
	tm := e.apSetup(t)
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, twoLevelPolicy()).Want(t, http.StatusOK, "")
	a := e.apPending(t, tm, "po-pa", 100)
	b := e.apPending(t, tm, "po-pb", 200)
	c := e.apPending(t, tm, "po-pc", 300)

	mgr := e.apPortal(t, tm.mgr1)
	body, csrf := e.portalPage(t, mgr, "/portal/approvals")
	if !strings.Contains(body, "Waiting for me") || !strings.Contains(body, "/portal/approvals/requests/"+a.ID+"/decision") {
		t.Fatalf("waiting list lacks %s: %s", a.ID, body)
	}
	// A forged token: 403, nothing decided.
	e.portalPost(t, mgr, "/portal/approvals/requests/"+a.ID+"/decision", url.Values{"decision": {"approve"}, "csrf": {"x" + csrf}}).Want(t, http.StatusForbidden, "")
	e.portalPost(t, mgr, "/portal/approvals/requests/"+a.ID+"/decision", url.Values{"decision": {"approve"}}).Want(t, http.StatusForbidden, "")
	if r := e.getRequest(t, tm.mgr1.Token, a.ID); r.Status != "pending" || len(r.Decisions) != 0 {
		t.Fatalf("a forged form decided: %+v", r)
	}
	// The request's page: document, levels, the decision form.
	page, _ := e.portalPage(t, mgr, "/portal/approvals/requests/"+a.ID)
	for _, want := range []string{"PO for widgets", "po-pa", "100.00 EUR", "Levels", "Decisions", `value="approve"`} {
		if !strings.Contains(page, want) {
			t.Fatalf("request page lacks %q: %s", want, page)
		}
	}
	r := e.portalPost(t, mgr, "/portal/approvals/requests/"+a.ID+"/decision", url.Values{"decision": {"approve"}, "comment": {"Fine"}, "csrf": {csrf}}).Want(t, http.StatusSeeOther, "")
	if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, "/portal/approvals?notice=") {
		t.Fatalf("decision redirects to %q", loc)
	}
	e.waitRequest(t, tm.requester.Token, a.ID, "approved", func(r apRequest) bool { return r.Status == "approved" })
	if got := e.getRequest(t, tm.requester.Token, a.ID); len(got.Decisions) != 1 || got.Decisions[0].MemberID != tm.mgr1.ID || got.Decisions[0].Comment != "Fine" || got.Decisions[0].ByLink {
		t.Fatalf("decisions %+v", got.Decisions)
	}

	// Deny with a comment, as the other manager.
	mgr2 := e.apPortal(t, tm.mgr2)
	_, csrf2 := e.portalPage(t, mgr2, "/portal/approvals")
	e.portalPost(t, mgr2, "/portal/approvals/requests/"+b.ID+"/decision", url.Values{"decision": {"deny"}, "comment": {"Too expensive"}, "csrf": {csrf2}}).Want(t, http.StatusSeeOther, "")
	got := e.waitRequest(t, tm.requester.Token, b.ID, "denied", func(r apRequest) bool { return r.Status == "denied" })
	if len(got.Decisions) != 1 || got.Decisions[0].Decision != "denied" || got.Decisions[0].Comment != "Too expensive" {
		t.Fatalf("deny decisions %+v", got.Decisions)
	}
	// Deciding again is refused on a page.
	approvalsRefused(t, e.portalPost(t, mgr2, "/portal/approvals/requests/"+b.ID+"/decision", url.Values{"decision": {"approve"}, "csrf": {csrf2}}))

	// The requester: not offered, and refused, a decision on their own.
	rq := e.apPortal(t, tm.requester)
	body, rcsrf := e.portalPage(t, rq, "/portal/approvals")
	if strings.Contains(body, "/portal/approvals/requests/"+c.ID+"/decision") || !strings.Contains(body, "/portal/approvals/requests/"+c.ID+"/cancel") {
		t.Fatalf("requester's page: %s", body)
	}
	res := e.portalPost(t, rq, "/portal/approvals/requests/"+c.ID+"/decision", url.Values{"decision": {"approve"}, "csrf": {rcsrf}})
	if res.Status != http.StatusForbidden && res.Status != http.StatusNotFound && res.Status != http.StatusUnprocessableEntity && res.Status != http.StatusConflict {
		t.Fatalf("self-approval answered %d %s", res.Status, res.Body)
	}
	if r := e.getRequest(t, tm.requester.Token, c.ID); r.Status != "pending" || len(r.Decisions) != 0 {
		t.Fatalf("the requester decided their own: %+v", r)
	}
	// Cancel: a confirmation first, then the API's cancel.
	conf, _ := e.portalPage(t, rq, "/portal/approvals/requests/"+c.ID+"/cancel")
	if !strings.Contains(conf, `name="confirm" value="yes"`) {
		t.Fatalf("no confirmation: %s", conf)
	}
	e.portalPost(t, rq, "/portal/approvals/requests/"+c.ID+"/cancel", url.Values{"csrf": {rcsrf}}).Want(t, http.StatusSeeOther, "")
	if r := e.getRequest(t, tm.requester.Token, c.ID); r.Status != "pending" {
		t.Fatalf("cancelled without confirmation: %+v", r)
	}
	e.portalPost(t, rq, "/portal/approvals/requests/"+c.ID+"/cancel", url.Values{"csrf": {rcsrf}, "confirm": {"yes"}}).Want(t, http.StatusSeeOther, "")
	if r := e.getRequest(t, tm.requester.Token, c.ID); r.Status != "cancelled" {
		t.Fatalf("not cancelled: %+v", r)
	}
}

// TestPortalApprovalPolicies: every member reads the policies; one
// without policies.manage is offered no form and refused a change; the
// owner changes a policy (the API shows it), and a wrong level is
// refused with its error next to the field.
func TestPortalApprovalPolicies(t *testing.T) {
	e := New(t)
	tm := e.apSetup(t)
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, twoLevelPolicy()).Want(t, http.StatusOK, "")

	mgr := e.apPortal(t, tm.mgr1)
	body, csrf := e.portalPage(t, mgr, "/portal/approvals/policies/purchase_order")
	if strings.Contains(body, "Save the policy") || !strings.Contains(body, "disabled") {
		t.Fatalf("a member without policies.manage is offered the form: %s", body)
	}
	form := url.Values{"csrf": {csrf}, "expiresAfterHours": {"24"}, "levels[0].minAmount": {"0"}, "levels[0].required": {"1"}, "levels[0].role": {"manager"}, "levels[0].scope": {"document"}}
	e.portalPost(t, mgr, "/portal/approvals/policies/purchase_order", form).Want(t, http.StatusForbidden, "")
	var pol struct {
		Enabled           bool `json:"enabled"`
		ExpiresAfterHours int  `json:"expiresAfterHours"`
		Levels            []struct {
			Role     string `json:"role"`
			Required int    `json:"required"`
		} `json:"levels"`
	}
	e.Call(t, "GET", "/v1/approval-policies/purchase_order", tm.ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &pol)
	if !pol.Enabled || pol.ExpiresAfterHours != 48 || len(pol.Levels) != 2 {
		t.Fatalf("a refused form changed the policy: %+v", pol)
	}

	owner := e.enterPortal(t, e.mintPortalLink(t, tm.ownerTk, tm.owner.MemberID))
	list, _ := e.portalPage(t, owner, "/portal/approvals/policies")
	if !strings.Contains(list, "/portal/approvals/policies/purchase_order") {
		t.Fatalf("policies page: %s", list)
	}
	body, ocsrf := e.portalPage(t, owner, "/portal/approvals/policies/purchase_order")
	if !strings.Contains(body, "Save the policy") || !strings.Contains(body, `name="version"`) {
		t.Fatalf("the owner is not offered the form: %s", body)
	}
	version := approvalsMatch(t, body, `name="version" value="([0-9]+)"`)
	bad := url.Values{"csrf": {ocsrf}, "version": {version}, "enabled": {"on"}, "expiresAfterHours": {"24"},
		"levels[0].minAmount": {"0"}, "levels[0].required": {"0"}, "levels[0].role": {"manager"}, "levels[0].scope": {"document"}}
	r := approvalsRefused(t, e.portalPost(t, owner, "/portal/approvals/policies/purchase_order", bad))
	if !strings.Contains(string(r.Body), `id="levels[0].required-error"`) || !strings.Contains(string(r.Body), "must be 1 to 10") {
		t.Fatalf("no error next to the field: %s", r.Body)
	}
	good := url.Values{"csrf": {ocsrf}, "version": {version}, "enabled": {"on"}, "expiresAfterHours": {"24"},
		"levels[0].minAmount": {"0"}, "levels[0].required": {"2"}, "levels[0].role": {"manager"}, "levels[0].scope": {"document"},
		"levels[1].minAmount": {"5000"}, "levels[1].required": {"1"}, "levels[1].role": {"senior_manager"}, "levels[1].scope": {"account"}, "levels[1].remove": {"on"},
		"levels[2].new": {"yes"}, "levels[2].required": {""}, "levels[2].minAmount": {""}}
	e.portalPost(t, owner, "/portal/approvals/policies/purchase_order", good).Want(t, http.StatusSeeOther, "")
	e.Call(t, "GET", "/v1/approval-policies/purchase_order", tm.ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &pol)
	if !pol.Enabled || pol.ExpiresAfterHours != 24 || len(pol.Levels) != 1 || pol.Levels[0].Required != 2 {
		t.Fatalf("policy after the form: %+v", pol)
	}
	// A stale version is refused.
	approvalsRefused(t, e.portalPost(t, owner, "/portal/approvals/policies/purchase_order", good))
}

// TestPortalAccessRequests: a member asks for access through the form, a
// manager approves it through the form (the grant is the API's), and a
// delegation is set and ended.
func TestPortalAccessRequests(t *testing.T) {
	e := New(t)
	tm := e.accessSetup(t)
	rq := e.enterPortal(t, e.mintPortalLink(t, tm.requester.Token, tm.requester.ID))
	body, csrf := e.portalPage(t, rq, "/portal/access")
	if !strings.Contains(body, "Request access") {
		t.Fatalf("access page: %s", body)
	}
	// A reason is required: the error is next to the field.
	r := approvalsRefused(t, e.portalPost(t, rq, "/portal/access/requests", url.Values{"csrf": {csrf}, "role": {"team_member"}, "scope": {"store:s1"}}))
	if !strings.Contains(string(r.Body), `id="reason-error"`) {
		t.Fatalf("no reason error: %s", r.Body)
	}
	e.portalPost(t, rq, "/portal/access/requests", url.Values{"csrf": {csrf}, "role": {"team_member"}, "scope": {"store:s1"}, "reason": {"Covering the sale."}}).Want(t, http.StatusSeeOther, "")
	var list struct {
		Items []acrView `json:"items"`
	}
	e.Call(t, "GET", "/v1/access-requests?mine=requested", tm.requester.Token, nil).Want(t, http.StatusOK, "").JSON(t, &list)
	if len(list.Items) != 1 {
		t.Fatalf("requests %+v", list.Items)
	}
	id := list.Items[0].ID
	e.waitAsked(t, tm.requester.Token, id)

	mgr := e.enterPortal(t, e.mintPortalLink(t, tm.mgr.Token, tm.mgr.ID))
	body, mcsrf := e.portalPage(t, mgr, "/portal/access")
	if !strings.Contains(body, "/portal/access/requests/"+id+"/decision") {
		t.Fatalf("the manager is not offered the decision: %s", body)
	}
	e.portalPost(t, mgr, "/portal/access/requests/"+id+"/decision", url.Values{"csrf": {"forged"}, "decision": {"approve"}}).Want(t, http.StatusForbidden, "")
	until := time.Now().Add(48 * time.Hour).UTC().Format("2006-01-02T15:04")
	e.portalPost(t, mgr, "/portal/access/requests/"+id+"/decision", url.Values{"csrf": {mcsrf}, "decision": {"approve"}, "comment": {"OK"}, "expiresAt": {until}}).Want(t, http.StatusSeeOther, "")
	v := e.waitAccessStatus(t, tm.requester.Token, id, "approved")
	if v.Decision == nil || v.Decision.DecidedBy.ID != tm.mgr.ID || v.Decision.GrantExpiresAt == "" {
		t.Fatalf("decision %+v", v.Decision)
	}

	// Delegation while away: set, shown, ended through the confirmation.
	from := time.Now().UTC().Format("2006-01-02T15:04")
	to := time.Now().Add(72 * time.Hour).UTC().Format("2006-01-02T15:04")
	r = e.portalPost(t, mgr, "/portal/access/delegation", url.Values{"csrf": {mcsrf}, "delegateId": {tm.mgr.ID}, "from": {from}, "until": {to}})
	approvalsRefused(t, r)
	if !strings.Contains(string(r.Body), "yourself") {
		t.Fatalf("self-delegation refusal: %s", r.Body)
	}
	e.portalPost(t, mgr, "/portal/access/delegation", url.Values{"csrf": {mcsrf}, "delegateId": {tm.mgr2.ID}, "from": {from}, "until": {to}, "note": {"Holiday"}}).Want(t, http.StatusSeeOther, "")
	e.Call(t, "GET", "/v1/me/delegation", tm.mgr.Token, nil).Want(t, http.StatusOK, "")
	e.portalPage(t, mgr, "/portal/access/delegation/delete")
	e.portalPost(t, mgr, "/portal/access/delegation/delete", url.Values{"csrf": {mcsrf}, "confirm": {"yes"}}).Want(t, http.StatusSeeOther, "")
	e.Call(t, "GET", "/v1/me/delegation", tm.mgr.Token, nil).Want(t, http.StatusNotFound, "")
}

// approvalsRefused wants a refusal page (4xx, HTML).
func approvalsRefused(t testing.TB, r *Response) *Response {
	t.Helper()
	if r.Status < 400 || r.Status >= 500 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("want a refusal page, got %d %s %.500s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	return r
}

// approvalsMatch returns the first group of re in body.
func approvalsMatch(t testing.TB, body, re string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s in %s", re, body)
	}
	return m[1]
}

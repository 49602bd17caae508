package apitest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/localstack/server"
	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/approvals"
	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
	"github.com/stewardhq/steward/pkg/workflow"
)

// person is a member of the approval tests' account.
type person struct {
	ID, Email, Token string
}

// apMember adds an active member with the assignments (and a sign-in of
// its own) to owner's account.
func (e *Env) apMember(t testing.TB, owner signedUp, name string, as ...rbac.Assignment) person {
	t.Helper()
	email := newEmail(strings.ToLower(strings.ReplaceAll(name, " ", "-")))
	e.signupConfirm(t, "Own "+email, email, name)
	ident, err := e.Store.IdentityIDByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	m := team.Member{
		ID: store.NewID("m"), AccountID: owner.AccountID, IdentityID: ident, Email: email, Name: name,
		Status: rbac.StatusActive, Assignments: as, Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	if err := e.Store.AddMember(context.Background(), m, audit.Event{AccountID: owner.AccountID, ActorID: owner.MemberID, Action: "member.create", TargetType: "member", TargetID: m.ID}); err != nil {
		t.Fatal(err)
	}
	var tk tokens
	e.Call(t, "POST", "/v1/auth/login", "", map[string]string{"email": email, "password": goodPassword, "accountId": owner.AccountID}).Want(t, http.StatusOK, "").JSON(t, &tk)
	return person{ID: m.ID, Email: email, Token: tk.AccessToken}
}

func at(role, scope string) rbac.Assignment {
	sc, err := rbac.ParseScope(scope)
	if err != nil {
		panic(err)
	}
	return rbac.Assignment{Role: role, Scope: sc}
}

// team of the done-when scenario.
type apTeam struct {
	owner                     signedUp
	ownerTk                   string
	mgr1, mgr2, mgrS2, senior person
	requester                 person
}

func (e *Env) apSetup(t testing.TB) apTeam {
	t.Helper()
	owner := e.signup(t, newEmail("ap-owner"))
	tm := apTeam{owner: owner}
	tm.ownerTk = e.login(t, owner.Email, goodPassword, owner.AccountID).AccessToken
	// Store managers who may approve purchase orders at their store.
	tm.mgr1 = e.apMember(t, owner, "Mia Manager", at("manager", "store:s1"), at("approver", "store:s1"))
	tm.mgr2 = e.apMember(t, owner, "Max Manager", at("manager", "store:s1"), at("approver", "store:s1"))
	tm.mgrS2 = e.apMember(t, owner, "Sue Manager", at("manager", "store:s2"), at("approver", "store:s2"))
	tm.senior = e.apMember(t, owner, "Sam Senior", at("senior_manager", "account"))
	tm.requester = e.apMember(t, owner, "Rita Requester", at("full_access", "store:s1"))
	return tm
}

func twoLevelPolicy() map[string]any {
	return map[string]any{
		"enabled": true,
		"levels": []map[string]any{
			{"minAmount": 0, "role": "manager", "required": 1, "scope": "document"},
			{"minAmount": 5000, "role": "senior_manager", "required": 1, "scope": "account"},
		},
		"selfApproval":      false,
		"externalApprovers": map[string]any{"allowed": true, "domains": []string{"partner.example"}},
		"expiresAfterHours": 48,
	}
}

func poBody(amount float64) map[string]any {
	return map[string]any{"store": "s1", "amount": amount, "currency": "EUR", "title": "PO for widgets", "url": "https://host.example/po/1"}
}

type apRequest struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	CurrentLevel int    `json:"currentLevel"`
	Approvals    int    `json:"approvals"`
	Asked        []struct {
		Level    int    `json:"level"`
		MemberID string `json:"memberId"`
		Email    string `json:"email"`
	} `json:"asked"`
	Decisions []struct {
		Level    int    `json:"level"`
		MemberID string `json:"memberId"`
		Email    string `json:"email"`
		Decision string `json:"decision"`
		Comment  string `json:"comment"`
		ByLink   bool   `json:"byLink"`
	} `json:"decisions"`
}

func (e *Env) requestApproval(t testing.TB, token, docID string, body map[string]any) apRequest {
	t.Helper()
	if body == nil {
		body = map[string]any{"note": "Needed for the spring sale.\nThanks!"}
	}
	var r apRequest
	e.Call(t, "POST", "/v1/documents/purchase_order/"+docID+"/approval-requests", token, body).Want(t, http.StatusAccepted, "").JSON(t, &r)
	if r.ID == "" || r.Status != "pending" {
		t.Fatalf("request answered %+v", r)
	}
	return r
}

func (e *Env) getRequest(t testing.TB, token, id string) apRequest {
	t.Helper()
	var r apRequest
	e.Call(t, "GET", "/v1/approval-requests/"+id, token, nil).Want(t, http.StatusOK, "").JSON(t, &r)
	return r
}

// waitRequest polls the request until cond holds.
func (e *Env) waitRequest(t testing.TB, token, id, what string, cond func(apRequest) bool) apRequest {
	t.Helper()
	var r apRequest
	testenv.Eventually(t, 15*time.Second, "request "+id+": "+what, func() error {
		if r = e.getRequest(t, token, id); !cond(r) {
			return fmt.Errorf("last %+v", r)
		}
		return nil
	})
	return r
}

func (e *Env) docStatus(t testing.TB, token, id string) string {
	t.Helper()
	var d struct {
		Status string `json:"status"`
	}
	e.Call(t, "GET", "/v1/documents/purchase_order/"+id, token, nil).Want(t, http.StatusOK, "").JSON(t, &d)
	return d.Status
}

func (e *Env) waitDocStatus(t testing.TB, token, id, want string) {
	t.Helper()
	testenv.Eventually(t, 15*time.Second, "document "+id+" to be "+want, func() error {
		if got := e.docStatus(t, token, id); got != want {
			return fmt.Errorf("status %s", got)
		}
		return nil
	})
}

var approveLink = regexp.MustCompile(`/approve/([A-Za-z0-9_-]{20,})`)

// approvalToken waits for an approval email to addr sent since and
// returns its link's token.
func (e *Env) approvalToken(t testing.TB, addr string, since time.Time, except ...string) string {
	t.Helper()
	var token string
	testenv.Eventually(t, 15*time.Second, "an approval email to "+addr, func() error {
		for _, m := range e.SES.Emails(t, since) {
			if !m.SentTo(addr) || !strings.HasPrefix(m.Subject, "Approval needed") {
				continue
			}
			if match := approveLink.FindStringSubmatch(m.Body.Text); match != nil && !slices.Contains(except, match[1]) {
				token = match[1]
				return nil
			}
		}
		return errors.New("none yet")
	})
	return token
}

// workflowEnd waits until the approval workflow of request id (run by
// the in-process workflow.Runner) has ended, and returns its execution.
func workflowEnd(t testing.TB, deps *server.Deps, id string) workflow.Execution {
	t.Helper()
	runner, ok := deps.Approvals.Engine.(*workflow.Runner)
	if !ok {
		t.Fatalf("engine %T", deps.Approvals.Engine)
	}
	var x workflow.Execution
	testenv.Eventually(t, 15*time.Second, "the workflow of request "+id+" to end", func() error {
		var err error
		if x, err = runner.Describe(id); err != nil {
			t.Fatal(err)
		}
		if x.Status == workflow.Running {
			return fmt.Errorf("still running in %s", x.State)
		}
		return nil
	})
	return x
}

// emailsTo counts the emails to addr since whose subject starts with prefix.
func (e *Env) emailsTo(t testing.TB, addr, prefix string, since time.Time) int {
	t.Helper()
	n := 0
	for _, m := range e.SES.Emails(t, since) {
		if m.SentTo(addr) && strings.HasPrefix(m.Subject, prefix) {
			n++
		}
	}
	return n
}

// outcomeEmail waits for the outcome email to addr and returns its text.
func (e *Env) outcomeEmail(t testing.TB, addr, prefix string, since time.Time) string {
	t.Helper()
	var text string
	testenv.Eventually(t, 15*time.Second, fmt.Sprintf("a %q email to %s", prefix, addr), func() error {
		for _, m := range e.SES.Emails(t, since) {
			if m.SentTo(addr) && strings.HasPrefix(m.Subject, prefix) {
				text = m.Body.Text
				return nil
			}
		}
		return errors.New("none yet")
	})
	return text
}

// form posts the approval page's form.
func (e *Env) form(t testing.TB, token string, v url.Values) *Response {
	t.Helper()
	req, err := http.NewRequest("POST", e.URL+"/approve/"+token, strings.NewReader(v.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

func decideForm(decision, comment string) url.Values {
	return url.Values{"decision": {decision}, "comment": {comment}}
}

func (e *Env) check(t testing.TB, token string, action string, resource map[string]any) bool {
	t.Helper()
	var out struct {
		Allowed bool `json:"allowed"`
	}
	e.Call(t, "POST", "/v1/authz/check", token, map[string]any{"action": action, "resource": resource}).Want(t, http.StatusOK, "").JSON(t, &out)
	return out.Allowed
}

func TestApprovalTwoLevelsByLinkAndInApp(t *testing.T) {
	e := New(t)
	tm := e.apSetup(t)
	// The default policy is off.
	pol := e.Call(t, "GET", "/v1/approval-policies/purchase_order", tm.requester.Token, nil).Want(t, http.StatusOK, "").Map(t)
	if pol["enabled"] != false {
		t.Fatalf("default policy %v", pol)
	}
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, twoLevelPolicy()).Want(t, http.StatusOK, "")
	// Only settings.manage sets policies.
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.requester.Token, twoLevelPolicy()).Want(t, http.StatusForbidden, "")

	e.Call(t, "PUT", "/v1/documents/purchase_order/po-1", tm.requester.Token, poBody(8000)).Want(t, http.StatusCreated, "")
	sendable := map[string]any{"docType": "purchase_order", "id": "po-1", "store": "s1", "docStatus": "pending_approval", "approvalRequired": true}
	since := time.Now()
	req := e.requestApproval(t, tm.requester.Token, "po-1", nil)
	if got := e.docStatus(t, tm.requester.Token, "po-1"); got != "pending_approval" {
		t.Fatalf("document status %s", got)
	}
	if e.check(t, tm.requester.Token, "documents.use", sendable) {
		t.Fatal("a pending purchase order may be sent")
	}
	// Naming the stored document is enough: the check reads its store,
	// status and whether its policy requires an approval.
	stored := map[string]any{"type": "purchase_order", "id": "po-1"}
	if e.check(t, tm.requester.Token, "documents.use", stored) {
		t.Fatal("a pending stored purchase order may be sent")
	}

	// Level 1: both managers of store:s1, nobody else.
	tok1 := e.approvalToken(t, tm.mgr1.Email, since)
	tok2 := e.approvalToken(t, tm.mgr2.Email, since)
	r := e.waitRequest(t, tm.requester.Token, req.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 })
	var asked []string
	for _, a := range r.Asked {
		asked = append(asked, a.MemberID)
	}
	slices.Sort(asked)
	want := []string{tm.mgr1.ID, tm.mgr2.ID}
	slices.Sort(want)
	if !slices.Equal(asked, want) {
		t.Fatalf("asked %v, want %v", asked, want)
	}
	for _, p := range []person{tm.mgrS2, tm.senior, tm.requester} {
		if n := e.emailsTo(t, p.Email, "Approval needed", since); n != 0 {
			t.Fatalf("%s got %d approval emails", p.Email, n)
		}
	}
	if n := e.emailsTo(t, tm.owner.Email, "Approval needed", since); n != 0 {
		t.Fatalf("the owner got %d approval emails", n)
	}

	// Opening the link consumes nothing.
	for range 2 {
		page := e.Call(t, "GET", "/approve/"+tok1, "", nil).Want(t, http.StatusOK, "")
		body := string(page.Body)
		for _, s := range []string{"PO for widgets", "8000.00", "EUR", "Rita Requester", "Needed for the spring sale.", `<meta name="robots" content="noindex">`, `<form method="post">`, `value="approve"`, `value="deny"`, `name="comment"`} {
			if !strings.Contains(body, s) {
				t.Fatalf("page lacks %q:\n%s", s, body)
			}
		}
		h := page.Header
		if h.Get("Cache-Control") != "no-store" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("Content-Security-Policy") != "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'" ||
			!strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			t.Fatalf("page headers %v", h)
		}
	}
	// The requester may not decide (no self-approval), the s2 manager
	// neither.
	e.Call(t, "POST", "/v1/approval-requests/"+req.ID+"/decision", tm.requester.Token, map[string]string{"decision": "approve"}).Want(t, http.StatusForbidden, "not_an_approver")
	e.Call(t, "POST", "/v1/approval-requests/"+req.ID+"/decision", tm.mgrS2.Token, map[string]string{"decision": "approve"}).Want(t, http.StatusNotFound, "")

	since2 := time.Now()
	done := e.form(t, tok1, decideForm("approve", "Fine by me"))
	if done.Status != http.StatusOK || !strings.Contains(string(done.Body), "You approved") {
		t.Fatalf("approve by link: %d %s", done.Status, done.Body)
	}
	// Level 2 goes to the senior manager.
	e.approvalToken(t, tm.senior.Email, since2)
	// The other level-1 link is spent: its level was decided.
	e.Call(t, "GET", "/approve/"+tok2, "", nil).Want(t, http.StatusGone, "")
	e.waitRequest(t, tm.senior.Token, req.ID, "level 2", func(r apRequest) bool { return r.CurrentLevel == 2 })
	// mine=decide lists it for the senior manager.
	var list struct {
		Items []apRequest `json:"items"`
	}
	e.Call(t, "GET", "/v1/approval-requests?mine=decide", tm.senior.Token, nil).Want(t, http.StatusOK, "").JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != req.ID {
		t.Fatalf("mine=decide: %+v", list.Items)
	}
	e.Call(t, "POST", "/v1/approval-requests/"+req.ID+"/decision", tm.senior.Token, map[string]string{"decision": "approve", "comment": "Go ahead"}).Want(t, http.StatusOK, "")
	text := e.outcomeEmail(t, tm.requester.Email, "Approved", since)
	if !strings.Contains(text, "Go ahead") {
		t.Fatalf("outcome email lacks the comment:\n%s", text)
	}
	e.waitDocStatus(t, tm.requester.Token, "po-1", "approved")
	r = e.waitRequest(t, tm.requester.Token, req.ID, "approved", func(r apRequest) bool { return r.Status == "approved" })
	if len(r.Decisions) != 2 || !r.Decisions[0].ByLink || r.Decisions[0].MemberID != tm.mgr1.ID || r.Decisions[1].MemberID != tm.senior.ID || r.Decisions[1].Comment != "Go ahead" {
		t.Fatalf("decisions %+v", r.Decisions)
	}
	sendable["docStatus"] = "approved"
	if !e.check(t, tm.requester.Token, "documents.use", sendable) {
		t.Fatal("an approved purchase order may not be sent")
	}
	if !e.check(t, tm.requester.Token, "documents.use", stored) {
		t.Fatal("an approved stored purchase order may not be sent")
	}
	// The used link shows the 410 page.
	gone := e.Call(t, "GET", "/approve/"+tok1, "", nil).Want(t, http.StatusGone, "")
	if !strings.Contains(string(gone.Body), "This link was used") {
		t.Fatalf("used link page: %s", gone.Body)
	}
	e.form(t, tok1, decideForm("deny", "")).Want(t, http.StatusGone, "")
	// No second email to anyone.
	if n := e.emailsTo(t, tm.mgr1.Email, "Approval needed", since); n != 1 {
		t.Fatalf("manager got %d approval emails", n)
	}
	if n := e.emailsTo(t, tm.requester.Email, "Approved", since); n != 1 {
		t.Fatalf("requester got %d outcome emails", n)
	}
}

func TestApprovalDenied(t *testing.T) {
	e := New(t)
	tm := e.apSetup(t)
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, twoLevelPolicy()).Want(t, http.StatusOK, "")
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-d", tm.requester.Token, poBody(8000)).Want(t, http.StatusCreated, "")
	since := time.Now()
	req := e.requestApproval(t, tm.requester.Token, "po-d", nil)
	e.approvalToken(t, tm.mgr1.Email, since)
	e.waitRequest(t, tm.mgr2.Token, req.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 })
	e.Call(t, "POST", "/v1/approval-requests/"+req.ID+"/decision", tm.mgr2.Token, map[string]string{"decision": "deny", "comment": "Too expensive"}).Want(t, http.StatusOK, "")
	text := e.outcomeEmail(t, tm.requester.Email, "Denied", since)
	if !strings.Contains(text, "Too expensive") {
		t.Fatalf("outcome email:\n%s", text)
	}
	e.waitDocStatus(t, tm.requester.Token, "po-d", "denied")
	if n := e.emailsTo(t, tm.senior.Email, "Approval needed", since); n != 0 {
		t.Fatal("level 2 was asked after a denial")
	}
	// A denied document may be requested again after a change.
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-d", tm.requester.Token, poBody(7000)).Want(t, http.StatusOK, "")
	e.requestApproval(t, tm.requester.Token, "po-d", nil)
}

func TestApprovalExternalApprover(t *testing.T) {
	e := New(t)
	tm := e.apSetup(t)
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, twoLevelPolicy()).Want(t, http.StatusOK, "")
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-x", tm.requester.Token, poBody(1200)).Want(t, http.StatusCreated, "")
	// A domain the policy does not allow is refused at request time.
	e.Call(t, "POST", "/v1/documents/purchase_order/po-x/approval-requests", tm.requester.Token,
		map[string]any{"externalApprover": map[string]string{"email": "eve@elsewhere.example", "name": "Eve"}}).Want(t, http.StatusForbidden, "external_approver_domain_not_allowed")
	e.Call(t, "POST", "/v1/documents/purchase_order/po-x/approval-requests", tm.requester.Token,
		map[string]any{"externalApprover": map[string]string{"email": "not-an-email"}}).Want(t, http.StatusBadRequest, "")
	if got := e.docStatus(t, tm.requester.Token, "po-x"); got != "draft" {
		t.Fatalf("a refused request changed the document: %s", got)
	}
	ext := strings.ToLower(testenv.NewID("ext")) + "@partner.example"
	since := time.Now()
	req := e.requestApproval(t, tm.requester.Token, "po-x", map[string]any{"externalApprover": map[string]string{"email": ext, "name": "Pat Partner"}})
	tok := e.approvalToken(t, ext, since)
	page := e.Call(t, "GET", "/approve/"+tok, "", nil).Want(t, http.StatusOK, "")
	if !strings.Contains(string(page.Body), "1200.00") {
		t.Fatalf("page: %s", page.Body)
	}
	e.form(t, tok, decideForm("approve", "OK from the partner")).Want(t, http.StatusOK, "")
	e.outcomeEmail(t, tm.requester.Email, "Approved", since)
	e.waitDocStatus(t, tm.requester.Token, "po-x", "approved")
	r := e.getRequest(t, tm.requester.Token, req.ID)
	if len(r.Decisions) != 1 || r.Decisions[0].Email != ext || r.Decisions[0].MemberID != "" || !r.Decisions[0].ByLink {
		t.Fatalf("decisions %+v", r.Decisions)
	}
	// A policy without external approvers refuses them.
	p := twoLevelPolicy()
	p["externalApprovers"] = map[string]any{"allowed": false, "domains": []string{}}
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, p).Want(t, http.StatusOK, "")
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-y", tm.requester.Token, poBody(10)).Want(t, http.StatusCreated, "")
	e.Call(t, "POST", "/v1/documents/purchase_order/po-y/approval-requests", tm.requester.Token,
		map[string]any{"externalApprover": map[string]string{"email": ext}}).Want(t, http.StatusForbidden, "external_approvers_not_allowed")
}

func TestApprovalExpires(t *testing.T) {
	// A policy hour lasts a second here.
	e := New(t, func(d *server.Deps) { d.Approvals.Hour = time.Second })
	tm := e.apSetup(t)
	p := twoLevelPolicy()
	p["expiresAfterHours"] = 1
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, p).Want(t, http.StatusOK, "")
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-e", tm.requester.Token, poBody(100)).Want(t, http.StatusCreated, "")
	since := time.Now()
	req := e.requestApproval(t, tm.requester.Token, "po-e", nil)
	tok := e.approvalToken(t, tm.mgr1.Email, since)
	e.outcomeEmail(t, tm.requester.Email, "Expired", since)
	e.waitDocStatus(t, tm.requester.Token, "po-e", "expired")
	e.waitRequest(t, tm.requester.Token, req.ID, "expired", func(r apRequest) bool { return r.Status == "expired" })
	e.Call(t, "GET", "/approve/"+tok, "", nil).Want(t, http.StatusGone, "")
	e.form(t, tok, decideForm("approve", "")).Want(t, http.StatusGone, "")
}

func TestApprovalLinkConcurrentPostsOneWins(t *testing.T) {
	e := New(t)
	tm := e.apSetup(t)
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, twoLevelPolicy()).Want(t, http.StatusOK, "")
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-c", tm.requester.Token, poBody(100)).Want(t, http.StatusCreated, "")
	since := time.Now()
	e.requestApproval(t, tm.requester.Token, "po-c", nil)
	tok := e.approvalToken(t, tm.mgr1.Email, since)
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i := range statuses {
		wg.Go(func() { statuses[i] = e.form(t, tok, decideForm("approve", fmt.Sprint("click ", i))).Status })
	}
	wg.Wait()
	slices.Sort(statuses)
	if statuses[0] != http.StatusOK || statuses[1] != http.StatusGone {
		t.Fatalf("statuses %v, want one 200 and one 410", statuses)
	}
	e.waitDocStatus(t, tm.requester.Token, "po-c", "approved")
	e.Call(t, "GET", "/approve/"+tok, "", nil).Want(t, http.StatusGone, "")
}

func TestApprovalCancelAndEditCancel(t *testing.T) {
	var deps *server.Deps
	e := New(t, func(d *server.Deps) { deps = d })
	tm := e.apSetup(t)
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, twoLevelPolicy()).Want(t, http.StatusOK, "")

	// Cancelled by the requester.
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-k", tm.requester.Token, poBody(100)).Want(t, http.StatusCreated, "")
	since := time.Now()
	req := e.requestApproval(t, tm.requester.Token, "po-k", nil)
	tok := e.approvalToken(t, tm.mgr1.Email, since)
	e.waitRequest(t, tm.requester.Token, req.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 })
	e.Call(t, "POST", "/v1/approval-requests/"+req.ID+"/cancel", tm.mgr1.Token, nil).Want(t, http.StatusForbidden, "cannot_cancel")
	e.Call(t, "POST", "/v1/approval-requests/"+req.ID+"/cancel", tm.requester.Token, nil).Want(t, http.StatusOK, "")
	e.Call(t, "POST", "/v1/approval-requests/"+req.ID+"/cancel", tm.requester.Token, nil).Want(t, http.StatusConflict, "approval_not_pending")
	if got := e.docStatus(t, tm.requester.Token, "po-k"); got != "draft" {
		t.Fatalf("cancelled document status %s", got)
	}
	page := e.Call(t, "GET", "/approve/"+tok, "", nil).Want(t, http.StatusGone, "")
	if !strings.Contains(string(page.Body), "withdrawn") {
		t.Fatalf("cancelled link page: %s", page.Body)
	}
	e.form(t, tok, decideForm("approve", "")).Want(t, http.StatusGone, "")
	e.Call(t, "POST", "/v1/approval-requests/"+req.ID+"/decision", tm.mgr1.Token, map[string]string{"decision": "approve"}).Want(t, http.StatusConflict, "approval_not_pending")

	// Editing the document cancels its pending request.
	since = time.Now()
	req2 := e.requestApproval(t, tm.requester.Token, "po-k", nil)
	tok2 := e.approvalToken(t, tm.mgr2.Email, since)
	e.waitRequest(t, tm.requester.Token, req2.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 })
	// Same content: nothing changes.
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-k", tm.requester.Token, poBody(100)).Want(t, http.StatusOK, "")
	if got := e.docStatus(t, tm.requester.Token, "po-k"); got != "pending_approval" {
		t.Fatalf("an unchanged PUT moved the document to %s", got)
	}
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-k", tm.requester.Token, poBody(150)).Want(t, http.StatusOK, "")
	if got := e.docStatus(t, tm.requester.Token, "po-k"); got != "draft" {
		t.Fatalf("edited document status %s", got)
	}
	r := e.waitRequest(t, tm.requester.Token, req2.ID, "cancelled", func(r apRequest) bool { return r.Status == "cancelled" })
	_ = r
	e.Call(t, "GET", "/approve/"+tok2, "", nil).Want(t, http.StatusGone, "")
	e.form(t, tok2, decideForm("approve", "")).Want(t, http.StatusGone, "")
	// The workflows ended without an outcome email.
	workflowEnd(t, deps, req.ID)
	workflowEnd(t, deps, req2.ID)
	if n := e.emailsTo(t, tm.requester.Email, "Approved", since) + e.emailsTo(t, tm.requester.Email, "Denied", since); n != 0 {
		t.Fatalf("%d outcome emails after a cancellation", n)
	}
}

func TestDocumentsAndPoliciesRules(t *testing.T) {
	e := New(t)
	tm := e.apSetup(t)
	put := func(token, id string, body any, status int, code string, headers ...string) *Response {
		t.Helper()
		return e.Call(t, "PUT", "/v1/documents/purchase_order/"+id, token, body, headers...).Want(t, status, code)
	}
	r := put(tm.requester.Token, "po-r", poBody(10), http.StatusCreated, "")
	if r.Header.Get("ETag") != `"1"` {
		t.Fatalf("ETag %q", r.Header.Get("ETag"))
	}
	put(tm.requester.Token, "po-r", poBody(11), http.StatusPreconditionFailed, "stale_version", "If-Match", `"7"`)
	put(tm.requester.Token, "po-r", poBody(11), http.StatusOK, "", "If-Match", `"1"`)
	// Writers need documents.edit where the document is (and goes).
	other := poBody(10)
	other["store"] = "s2"
	put(tm.requester.Token, "po-s2", other, http.StatusForbidden, "")
	put(tm.requester.Token, "po-r", other, http.StatusForbidden, "")
	put(tm.mgr1.Token, "po-m", poBody(10), http.StatusForbidden, "")
	// Completed is locked: changing it needs locked.edit.
	done := poBody(11)
	done["status"] = "completed"
	put(tm.requester.Token, "po-r", done, http.StatusOK, "")
	e.Call(t, "GET", "/v1/documents/purchase_order/po-r", tm.mgrS2.Token, nil).Want(t, http.StatusForbidden, "")

	// Bad input is a 4xx and changes nothing.
	for _, bad := range []map[string]any{
		{"amount": -1, "currency": "EUR", "title": "x"},
		{"amount": 2e12, "currency": "EUR", "title": "x"},
		{"amount": 1, "currency": "eur", "title": "x"},
		{"amount": 1, "currency": "EUR", "title": ""},
		{"amount": 1, "currency": "EUR", "title": strings.Repeat("x", 201)},
		{"currency": "EUR", "title": "x"},
		{"amount": 1, "currency": "EUR", "title": "x", "status": "approved"},
		{"amount": 1, "currency": "EUR", "title": "x", "dueDate": "2026-13-01"},
		{"amount": 1, "currency": "EUR", "title": "x", "url": "javascript:alert(1)"},
		{"amount": 1, "currency": "EUR", "title": "x", "store": "a#b"},
		{"amount": 1, "currency": "EUR", "title": "x", "bogus": true},
		{"amount": "1", "currency": "EUR", "title": "x"},
	} {
		put(tm.requester.Token, "po-bad", bad, http.StatusBadRequest, "")
	}
	e.Call(t, "GET", "/v1/documents/purchase_order/po-bad", tm.requester.Token, nil).Want(t, http.StatusNotFound, "")
	put(tm.requester.Token, strings.Repeat("x", 65), poBody(1), http.StatusBadRequest, "")
	e.Call(t, "PUT", "/v1/documents/spaceship/x1", tm.requester.Token, poBody(1)).Want(t, http.StatusNotFound, "unknown_document_type")

	// Policies.
	pol := func(mut func(map[string]any)) map[string]any {
		p := twoLevelPolicy()
		mut(p)
		return p
	}
	for _, bad := range []map[string]any{
		pol(func(p map[string]any) { p["expiresAfterHours"] = 0 }),
		pol(func(p map[string]any) { p["expiresAfterHours"] = 721 }),
		pol(func(p map[string]any) { p["levels"] = []map[string]any{} }),
		pol(func(p map[string]any) {
			p["levels"] = []map[string]any{{"minAmount": 0, "role": "nobody", "required": 1, "scope": "document"}}
		}),
		pol(func(p map[string]any) {
			p["levels"] = []map[string]any{{"minAmount": 0, "required": 0, "scope": "document"}}
		}),
		pol(func(p map[string]any) {
			p["levels"] = []map[string]any{{"minAmount": 0, "required": 1, "scope": "store"}}
		}),
		pol(func(p map[string]any) {
			p["externalApprovers"] = map[string]any{"allowed": true, "domains": []string{"not a domain"}}
		}),
	} {
		e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, bad).Want(t, http.StatusBadRequest, "")
	}
	e.Call(t, "PUT", "/v1/approval-policies/invoice", tm.ownerTk, twoLevelPolicy()).Want(t, http.StatusBadRequest, "")
	e.Call(t, "GET", "/v1/approval-policies/spaceship", tm.ownerTk, nil).Want(t, http.StatusNotFound, "")
	// No policy: no approval needed.
	e.Call(t, "POST", "/v1/documents/purchase_order/po-r/approval-requests", tm.requester.Token, map[string]any{}).Want(t, http.StatusConflict, "")
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, twoLevelPolicy()).Want(t, http.StatusOK, "")
	put(tm.requester.Token, "po-n", poBody(5), http.StatusCreated, "")
	e.Call(t, "POST", "/v1/documents/purchase_order/po-n/approval-requests", tm.mgr1.Token, map[string]any{}).Want(t, http.StatusForbidden, "")
	e.Call(t, "POST", "/v1/documents/purchase_order/po-n/approval-requests", tm.requester.Token, map[string]any{"note": 5}).Want(t, http.StatusBadRequest, "")
	e.Call(t, "POST", "/v1/documents/purchase_order/nope/approval-requests", tm.requester.Token, map[string]any{}).Want(t, http.StatusNotFound, "")
	req := e.requestApproval(t, tm.requester.Token, "po-n", nil)
	e.Call(t, "POST", "/v1/documents/purchase_order/po-n/approval-requests", tm.requester.Token, map[string]any{}).Want(t, http.StatusConflict, "document_not_requestable")
	e.Call(t, "POST", "/v1/approval-requests/"+req.ID+"/decision", tm.mgr1.Token, map[string]string{"decision": "maybe"}).Want(t, http.StatusBadRequest, "")
	e.Call(t, "GET", "/v1/approval-requests?status=bogus", tm.requester.Token, nil).Want(t, http.StatusBadRequest, "")
	e.Call(t, "GET", "/v1/approval-requests?mine=everyone", tm.requester.Token, nil).Want(t, http.StatusBadRequest, "")
	e.Call(t, "GET", "/v1/approval-requests?cursor=garbage", tm.requester.Token, nil).Want(t, http.StatusBadRequest, "bad_cursor")
	// Links: garbage, and forms that are not forms.
	e.Call(t, "GET", "/approve/garbage", "", nil).Want(t, http.StatusGone, "")
	since := time.Now().Add(-time.Minute)
	tok := e.approvalToken(t, tm.mgr1.Email, since)
	e.form(t, tok, url.Values{"decision": {"maybe"}}).Want(t, http.StatusBadRequest, "")
	e.form(t, tok, url.Values{"decision": {"approve"}, "comment": {strings.Repeat("x", 1001)}}).Want(t, http.StatusBadRequest, "")
	e.Call(t, "POST", "/approve/"+tok, "", map[string]string{"decision": "approve"}).Want(t, http.StatusUnsupportedMediaType, "")
	e.Call(t, "GET", "/approve/"+tok, "", nil).Want(t, http.StatusOK, "")
	// A request is listed for its requester.
	var list struct {
		Items []apRequest `json:"items"`
	}
	e.Call(t, "GET", "/v1/approval-requests?mine=requested&status=pending", tm.requester.Token, nil).Want(t, http.StatusOK, "").JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != req.ID {
		t.Fatalf("mine=requested: %+v", list.Items)
	}
}

func TestApprovalsTenantIsolation(t *testing.T) {
	e := New(t)
	tm := e.apSetup(t)
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, twoLevelPolicy()).Want(t, http.StatusOK, "")
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-t", tm.requester.Token, poBody(100)).Want(t, http.StatusCreated, "")
	req := e.requestApproval(t, tm.requester.Token, "po-t", nil)

	other, otherTk := e.acctOwner(t, "ap-other")
	_ = other
	e.Call(t, "GET", "/v1/documents/purchase_order/po-t", otherTk, nil).Want(t, http.StatusNotFound, "")
	e.Call(t, "GET", "/v1/approval-requests/"+req.ID, otherTk, nil).Want(t, http.StatusNotFound, "")
	e.Call(t, "POST", "/v1/approval-requests/"+req.ID+"/decision", otherTk, map[string]string{"decision": "approve"}).Want(t, http.StatusNotFound, "")
	e.Call(t, "POST", "/v1/approval-requests/"+req.ID+"/cancel", otherTk, nil).Want(t, http.StatusNotFound, "")
	e.Call(t, "POST", "/v1/documents/purchase_order/po-t/approval-requests", otherTk, map[string]any{}).Want(t, http.StatusNotFound, "")
	var list struct {
		Items []apRequest `json:"items"`
	}
	e.Call(t, "GET", "/v1/approval-requests", otherTk, nil).Want(t, http.StatusOK, "").JSON(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("another account lists %+v", list.Items)
	}
	if p := e.Call(t, "GET", "/v1/approval-policies/purchase_order", otherTk, nil).Want(t, http.StatusOK, "").Map(t); p["enabled"] != false {
		t.Fatalf("another account sees the policy %v", p)
	}
	// The same document id in another account is another document.
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-t", otherTk, poBody(999)).Want(t, http.StatusCreated, "")
	if got := e.docStatus(t, tm.requester.Token, "po-t"); got != "pending_approval" {
		t.Fatalf("another account changed the document: %s", got)
	}
	// Anonymous calls are refused.
	e.Call(t, "GET", "/v1/documents/purchase_order/po-t", "", nil).Want(t, http.StatusUnauthorized, "")
	e.Call(t, "GET", "/v1/approval-requests", "", nil).Want(t, http.StatusUnauthorized, "")
}

// TestApprovalEmailLatency runs request → approver email → link approval
// → requester email several times on the in-process stack (every email
// must arrive) and logs the times: the median and worst of the request to
// the approver's email and of the decision to the requester's email. Three
// runs by default; STEWARD_MEASURE_APPROVALS=1 makes it the 20 runs quoted
// in the closing note. The times are reported, never asserted.
func TestApprovalEmailLatency(t *testing.T) {
	runs := 3
	if os.Getenv("STEWARD_MEASURE_APPROVALS") != "" {
		runs = 20
	}
	e := New(t)
	tm := e.apSetup(t)
	p := twoLevelPolicy()
	p["levels"] = []map[string]any{{"minAmount": 0, "role": "manager", "required": 1, "scope": "document"}}
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, p).Want(t, http.StatusOK, "")
	var toApprover, toRequester []time.Duration
	for i := range runs {
		id := fmt.Sprintf("po-lat-%d", i)
		e.Call(t, "PUT", "/v1/documents/purchase_order/"+id, tm.requester.Token, poBody(float64(100+i))).Want(t, http.StatusCreated, "")
		since := time.Now()
		var seen []string
		for _, m := range e.SES.Emails(t, since.Add(-2*time.Second)) {
			if match := approveLink.FindStringSubmatch(m.Body.Text); match != nil {
				seen = append(seen, match[1])
			}
		}
		e.requestApproval(t, tm.requester.Token, id, nil)
		t0 := time.Now()
		tok := e.approvalToken(t, tm.mgr1.Email, since.Add(-2*time.Second), seen...)
		toApprover = append(toApprover, time.Since(t0))
		before := e.emailsTo(t, tm.requester.Email, "Approved", since.Add(-time.Hour))
		e.form(t, tok, decideForm("approve", "")).Want(t, http.StatusOK, "")
		t1 := time.Now()
		testenv.Eventually(t, 15*time.Second, "the outcome email", func() error {
			if e.emailsTo(t, tm.requester.Email, "Approved", since.Add(-time.Hour)) == before {
				return errors.New("none yet")
			}
			return nil
		})
		toRequester = append(toRequester, time.Since(t1))
	}
	stat := func(ds []time.Duration) (time.Duration, time.Duration) {
		s := slices.Clone(ds)
		slices.Sort(s)
		return (s[len(s)/2-1] + s[len(s)/2]) / 2, s[len(s)-1]
	}
	m1, w1 := stat(toApprover)
	m2, w2 := stat(toRequester)
	t.Logf("request -> approver email: median %v, worst %v", m1, w1)
	t.Logf("decision -> requester email: median %v, worst %v", m2, w2)
}

// openExternalPolicy is twoLevelPolicy with external approvers from any
// domain.
func openExternalPolicy() map[string]any {
	p := twoLevelPolicy()
	p["externalApprovers"] = map[string]any{"allowed": true, "domains": []string{}}
	return p
}

// TestApprovalExternalApproverIsNeverAMember: one person, one vote. The
// requester cannot name themselves as the external approver, nor any
// member of the account (an invited one included); a person who becomes a
// member after the request cannot use their external link (members decide
// in the app), and a member who voted by an external link before joining
// does not vote again in the app.
func TestApprovalExternalApproverIsNeverAMember(t *testing.T) {
	e := New(t)
	tm := e.apSetup(t)
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, openExternalPolicy()).Want(t, http.StatusOK, "")
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-1v", tm.requester.Token, poBody(100)).Want(t, http.StatusCreated, "")
	ask := func(email string) *Response {
		t.Helper()
		return e.Call(t, "POST", "/v1/documents/purchase_order/po-1v/approval-requests", tm.requester.Token,
			map[string]any{"externalApprover": map[string]string{"email": email, "name": "Someone"}})
	}
	ask(tm.requester.Email).Want(t, http.StatusUnprocessableEntity, "external_approver_is_requester")
	ask(" "+strings.ToUpper(tm.requester.Email)).Want(t, http.StatusUnprocessableEntity, "external_approver_is_requester")
	ask(tm.mgr1.Email).Want(t, http.StatusUnprocessableEntity, "external_approver_is_member")
	ask(tm.owner.Email).Want(t, http.StatusUnprocessableEntity, "external_approver_is_member")
	invited := newEmail("ap-invited")
	e.invite(t, tm.ownerTk, map[string]any{"email": invited})
	ask(invited).Want(t, http.StatusUnprocessableEntity, "external_approver_is_member")
	if got := e.docStatus(t, tm.requester.Token, "po-1v"); got != "draft" {
		t.Fatalf("a refused request changed the document: %s", got)
	}

	// A person who joins after the request cannot vote by link.
	late := newEmail("ap-late")
	since := time.Now()
	req := e.requestApproval(t, tm.requester.Token, "po-1v", map[string]any{"externalApprover": map[string]string{"email": late, "name": "Lee Late"}})
	tok := e.approvalToken(t, late, since)
	e.Call(t, "GET", "/approve/"+tok, "", nil).Want(t, http.StatusOK, "")
	e.invite(t, tm.ownerTk, map[string]any{"email": late})
	page := e.Call(t, "GET", "/approve/"+tok, "", nil).Want(t, http.StatusGone, "")
	if !strings.Contains(string(page.Body), "no longer valid") || !strings.Contains(string(page.Body), "member of this account") {
		t.Fatalf("page of a member's external link: %s", page.Body)
	}
	e.form(t, tok, decideForm("approve", "")).Want(t, http.StatusGone, "")
	if r := e.getRequest(t, tm.requester.Token, req.ID); len(r.Decisions) != 0 || r.Status != "pending" {
		t.Fatalf("a member's external link decided: %+v", r)
	}

	// An external who voted by link, then joined, does not vote again.
	e.Call(t, "POST", "/v1/approval-requests/"+req.ID+"/cancel", tm.requester.Token, nil).Want(t, http.StatusOK, "")
	p := openExternalPolicy()
	p["levels"] = []map[string]any{{"minAmount": 0, "role": "manager", "required": 2, "scope": "document"}}
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, p).Want(t, http.StatusOK, "")
	twice := newEmail("ap-twice")
	since = time.Now()
	req = e.requestApproval(t, tm.requester.Token, "po-1v", map[string]any{"externalApprover": map[string]string{"email": twice, "name": "Tia Twice"}})
	tok = e.approvalToken(t, twice, since)
	e.form(t, tok, decideForm("approve", "by link")).Want(t, http.StatusOK, "")
	_, tks := e.join(t, tm.ownerTk, twice, map[string]any{"assignments": []map[string]string{{"role": "manager", "scope": "store:s1"}, {"role": "approver", "scope": "store:s1"}}})
	e.Call(t, "POST", "/v1/approval-requests/"+req.ID+"/decision", tks.AccessToken, map[string]string{"decision": "approve"}).Want(t, http.StatusConflict, "already_decided")
	if r := e.getRequest(t, tm.requester.Token, req.ID); r.Approvals != 1 || r.Status != "pending" {
		t.Fatalf("one person voted twice: %+v", r)
	}
}

// TestApprovalExternalLinkEndsWithThePolicy: an external approver's link
// works only while the policy allows external approvers from its domain.
func TestApprovalExternalLinkEndsWithThePolicy(t *testing.T) {
	e := New(t)
	tm := e.apSetup(t)
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, twoLevelPolicy()).Want(t, http.StatusOK, "")
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-xo", tm.requester.Token, poBody(100)).Want(t, http.StatusCreated, "")
	ext := strings.ToLower(testenv.NewID("ext")) + "@partner.example"
	since := time.Now()
	req := e.requestApproval(t, tm.requester.Token, "po-xo", map[string]any{"externalApprover": map[string]string{"email": ext, "name": "Pat Partner"}})
	tok := e.approvalToken(t, ext, since)
	e.Call(t, "GET", "/approve/"+tok, "", nil).Want(t, http.StatusOK, "")

	off := twoLevelPolicy()
	off["externalApprovers"] = map[string]any{"allowed": false, "domains": []string{}}
	otherDomain := twoLevelPolicy()
	otherDomain["externalApprovers"] = map[string]any{"allowed": true, "domains": []string{"elsewhere.example"}}
	for name, p := range map[string]map[string]any{"externals off": off, "domain no longer allowed": otherDomain} {
		e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, p).Want(t, http.StatusOK, "")
		page := e.Call(t, "GET", "/approve/"+tok, "", nil).Want(t, http.StatusGone, "")
		if !strings.Contains(string(page.Body), "no longer valid") || strings.Contains(string(page.Body), "<form") {
			t.Fatalf("%s: page %s", name, page.Body)
		}
		e.form(t, tok, decideForm("approve", "")).Want(t, http.StatusGone, "")
		if r := e.getRequest(t, tm.requester.Token, req.ID); len(r.Decisions) != 0 || r.Status != "pending" {
			t.Fatalf("%s: the link decided: %+v", name, r)
		}
	}
	// Members' links are not affected.
	mtok := e.approvalToken(t, tm.mgr1.Email, since)
	e.form(t, mtok, decideForm("approve", "")).Want(t, http.StatusOK, "")
	e.waitDocStatus(t, tm.requester.Token, "po-xo", "approved")
}

// TestApprovalDecisionRecordsImpersonator: a decision made in an
// impersonated session records the member and the admin acting as them,
// in the request's decisions and in the audit event. (The route refuses
// impersonated sessions; the service below it still records both, so
// the record holds whichever way a decision arrives.)
func TestApprovalDecisionRecordsImpersonator(t *testing.T) {
	var deps *server.Deps
	e := New(t, func(d *server.Deps) { deps = d })
	tm := e.apSetup(t)
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, twoLevelPolicy()).Want(t, http.StatusOK, "")
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-imp", tm.requester.Token, poBody(100)).Want(t, http.StatusCreated, "")
	since := time.Now()
	req := e.requestApproval(t, tm.requester.Token, "po-imp", nil)
	e.approvalToken(t, tm.mgr1.Email, since)
	e.waitRequest(t, tm.requester.Token, req.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 })

	var imp tokens
	e.Call(t, "POST", "/v1/users/"+tm.mgr1.ID+"/impersonate", tm.ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &imp)
	hr, err := http.NewRequest("POST", e.URL+"/v1/approval-requests/"+req.ID+"/decision", nil)
	if err != nil {
		t.Fatal(err)
	}
	hr.Header.Set("Authorization", "Bearer "+imp.AccessToken)
	p, err := deps.Auth.OptionalPrincipal(hr)
	if err != nil || p == nil || !p.Impersonated() {
		t.Fatalf("impersonated principal %+v, %v", p, err)
	}
	if _, err := deps.Approvals.Decide(context.Background(), approvals.DecideInput{Principal: p, RequestID: req.ID, Decision: "approve", Comment: "as Mia"}); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Decisions []struct {
			MemberID     string `json:"memberId"`
			Impersonator *struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"impersonator"`
		} `json:"decisions"`
	}
	e.Call(t, "GET", "/v1/approval-requests/"+req.ID, tm.requester.Token, nil).Want(t, http.StatusOK, "").JSON(t, &got)
	if len(got.Decisions) != 1 || got.Decisions[0].MemberID != tm.mgr1.ID || got.Decisions[0].Impersonator == nil ||
		got.Decisions[0].Impersonator.ID != tm.owner.MemberID || got.Decisions[0].Impersonator.Name != "Olive Owner" {
		t.Fatalf("decisions %+v", got.Decisions)
	}
	var evs struct {
		Items []acctEvent `json:"items"`
	}
	e.Call(t, "GET", "/v1/audit?action=approval.decide", tm.ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &evs)
	if len(evs.Items) != 1 || evs.Items[0].Actor.ID != tm.mgr1.ID || evs.Items[0].Impersonator == nil || evs.Items[0].Impersonator.ID != tm.owner.MemberID {
		t.Fatalf("decision events %+v", evs.Items)
	}
}

// TestDocumentTransitions: completed only from approved, or from draft
// when no level of the policy applies at the amount; an approved
// document whose terms change loses its approval; a pending one whose
// document changes is cancelled, its workflow ends cancelled and nobody
// can decide any more.
func TestDocumentTransitions(t *testing.T) {
	var deps *server.Deps
	e := New(t, func(d *server.Deps) { deps = d })
	tm := e.apSetup(t)
	put := func(id string, body map[string]any, status int, code string) *Response {
		t.Helper()
		return e.Call(t, "PUT", "/v1/documents/purchase_order/"+id, tm.requester.Token, body).Want(t, status, code)
	}
	completed := func(amount float64) map[string]any {
		b := poBody(amount)
		b["status"] = "completed"
		return b
	}
	// No policy: a draft may be completed.
	put("po-free", poBody(100), http.StatusCreated, "")
	put("po-free", completed(100), http.StatusOK, "")
	// A level from 1000: below it, completed is fine; at it, refused.
	p := twoLevelPolicy()
	p["levels"] = []map[string]any{{"minAmount": 1000, "role": "manager", "required": 1, "scope": "document"}}
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, p).Want(t, http.StatusOK, "")
	put("po-small", completed(999), http.StatusCreated, "")
	put("po-big", completed(1000), http.StatusConflict, "approval_required")
	e.Call(t, "GET", "/v1/documents/purchase_order/po-big", tm.requester.Token, nil).Want(t, http.StatusNotFound, "")
	put("po-big", poBody(1000), http.StatusCreated, "")
	put("po-big", completed(1000), http.StatusConflict, "approval_required")
	if got := e.docStatus(t, tm.requester.Token, "po-big"); got != "draft" {
		t.Fatalf("refused completion left %s", got)
	}

	// Pending: completing is refused and the request stays pending.
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, twoLevelPolicy()).Want(t, http.StatusOK, "")
	since := time.Now()
	req := e.requestApproval(t, tm.requester.Token, "po-big", nil)
	tok := e.approvalToken(t, tm.mgr1.Email, since)
	used := []string{tok}
	put("po-big", completed(1000), http.StatusConflict, "approval_required")
	if r := e.getRequest(t, tm.requester.Token, req.ID); r.Status != "pending" {
		t.Fatalf("a refused completion cancelled the request: %+v", r)
	}
	// Approved: completed with the same terms.
	e.form(t, tok, decideForm("approve", "")).Want(t, http.StatusOK, "")
	e.waitDocStatus(t, tm.requester.Token, "po-big", "approved")
	// Changing its amount and completing it in one PUT is refused.
	put("po-big", completed(1500), http.StatusConflict, "approval_required")
	if got := e.docStatus(t, tm.requester.Token, "po-big"); got != "approved" {
		t.Fatalf("refused completion left %s", got)
	}
	put("po-big", completed(1000), http.StatusOK, "")

	// Approved, then its terms change: back to draft, audited.
	for i, change := range []func(map[string]any){
		func(b map[string]any) { b["amount"] = 1001.0 },
		func(b map[string]any) { b["currency"] = "USD" },
		func(b map[string]any) { b["department"] = "d1" },
		func(b map[string]any) { b["supplier"] = "sup-2" },
	} {
		id := fmt.Sprintf("po-void-%d", i)
		put(id, poBody(1000), http.StatusCreated, "")
		since := time.Now()
		e.requestApproval(t, tm.requester.Token, id, nil)
		tok := e.approvalToken(t, tm.mgr1.Email, since, used...)
		used = append(used, tok)
		e.form(t, tok, decideForm("approve", "")).Want(t, http.StatusOK, "")
		e.waitDocStatus(t, tm.requester.Token, id, "approved")
		b := poBody(1000)
		change(b)
		put(id, b, http.StatusOK, "")
		if got := e.docStatus(t, tm.requester.Token, id); got != "draft" {
			t.Fatalf("%s: changed approved document is %s", id, got)
		}
		stored := map[string]any{"type": "purchase_order", "id": id}
		if e.check(t, tm.requester.Token, "documents.use", stored) {
			t.Fatalf("%s: a changed approved document may still be used", id)
		}
		// It needs a new approval; the new request's link goes out.
		e.requestApproval(t, tm.requester.Token, id, nil)
		used = append(used, e.approvalToken(t, tm.mgr1.Email, since, used...))
	}
	var evs struct {
		Items []acctEvent `json:"items"`
	}
	e.Call(t, "GET", "/v1/audit?action=document.put_voiding_approval", tm.ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &evs)
	if len(evs.Items) != 4 {
		t.Fatalf("%d voiding events, want 4", len(evs.Items))
	}

	// Pending, then its document changes: the request is cancelled, the
	// workflow ends cancelled, and nobody can decide.
	put("po-pend", poBody(100), http.StatusCreated, "")
	since = time.Now()
	req = e.requestApproval(t, tm.requester.Token, "po-pend", nil)
	tok = e.approvalToken(t, tm.mgr1.Email, since, used...)
	e.waitRequest(t, tm.requester.Token, req.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 })
	put("po-pend", poBody(120), http.StatusOK, "")
	e.waitRequest(t, tm.requester.Token, req.ID, "cancelled", func(r apRequest) bool { return r.Status == "cancelled" })
	if x := workflowEnd(t, deps, req.ID); x.Status != workflow.Succeeded || !strings.Contains(string(x.Output), `"cancelled"`) {
		t.Fatalf("workflow ended %s %s (%s)", x.Status, x.Output, x.Error)
	}
	e.Call(t, "POST", "/v1/approval-requests/"+req.ID+"/decision", tm.mgr2.Token, map[string]string{"decision": "approve"}).Want(t, http.StatusConflict, "approval_not_pending")
	e.form(t, tok, decideForm("approve", "")).Want(t, http.StatusGone, "")
	if got := e.docStatus(t, tm.requester.Token, "po-pend"); got != "draft" {
		t.Fatalf("edited pending document is %s", got)
	}
}

// TestApprovalEmailAndPageNameScopes: the approver's email and the
// approval page show the store's and department's names (the id when the
// scope is not stored) and the supplier.
func TestApprovalEmailAndPageNameScopes(t *testing.T) {
	e := New(t)
	tm := e.apSetup(t)
	if _, err := e.Store.PutDepartment(context.Background(), tm.owner.AccountID, team.Department{ID: "d1", Name: "Purchasing", Kind: team.DepartmentPurchase},
		audit.Event{AccountID: tm.owner.AccountID, ActorID: tm.owner.MemberID, Action: "department.put", TargetType: "department", TargetID: "d1"}); err != nil {
		t.Fatal(err)
	}
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, twoLevelPolicy()).Want(t, http.StatusOK, "")
	var used []string
	for _, c := range []struct{ doc, dept, store, deptName string }{
		{"po-named", "d1", "Store s1", "Purchasing"},
		{"po-unnamed", "d9", "Store s1", "d9"},
	} {
		b := poBody(100)
		b["department"], b["supplier"] = c.dept, "sup-7"
		e.Call(t, "PUT", "/v1/documents/purchase_order/"+c.doc, tm.requester.Token, b).Want(t, http.StatusCreated, "")
		since := time.Now()
		e.requestApproval(t, tm.requester.Token, c.doc, nil)
		tok := e.approvalToken(t, tm.mgr1.Email, since, used...)
		used = append(used, tok)
		var text string
		for _, m := range e.SES.Emails(t, since) {
			if m.SentTo(tm.mgr1.Email) && strings.Contains(m.Body.Text, tok) {
				text = m.Body.Text
			}
		}
		for _, want := range []string{"Store: " + c.store + "\n", "Department: " + c.deptName + "\n", "Supplier: sup-7\n"} {
			if !strings.Contains(text, want) {
				t.Fatalf("%s: email lacks %q:\n%s", c.doc, want, text)
			}
		}
		page := string(e.Call(t, "GET", "/approve/"+tok, "", nil).Want(t, http.StatusOK, "").Body)
		for _, want := range []string{"<dd>" + c.store + "</dd>", "<dd>" + c.deptName + "</dd>", "<dd>sup-7</dd>"} {
			if !strings.Contains(page, want) {
				t.Fatalf("%s: page lacks %q:\n%s", c.doc, want, page)
			}
		}
		if strings.Contains(text, "Store: s1") || strings.Contains(page, "<dd>s1</dd>") {
			t.Fatalf("%s: the store is shown by its id", c.doc)
		}
	}
}

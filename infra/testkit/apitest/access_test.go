package apitest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/localstack/server"
	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/workflow"
)

// accessTeam is an account for the access request tests: the owner, two
// managers at store s1 (who may grant team_member there), a manager at s2
// (who may not) and a requester with no role.
type accessTeam struct {
	owner           signedUp
	ownerTk         string
	mgr, mgr2, mgS2 person
	requester       person
}

func (e *Env) accessSetup(t testing.TB) accessTeam {
	t.Helper()
	owner := e.signup(t, newEmail("acr-owner"))
	tm := accessTeam{owner: owner, ownerTk: e.login(t, owner.Email, goodPassword, owner.AccountID).AccessToken}
	tm.mgr = e.apMember(t, owner, "Mia Manager", at("manager", "store:s1"))
	tm.mgr2 = e.apMember(t, owner, "Max Manager", at("manager", "store:s1"))
	tm.mgS2 = e.apMember(t, owner, "Sue Manager", at("manager", "store:s2"))
	tm.requester = e.apMember(t, owner, "Rita Requester")
	return tm
}

type acrView struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	Role      string `json:"role"`
	Scope     string `json:"scope"`
	ExpiresAt string `json:"expiresAt"`
	Asked     []struct {
		MemberID string `json:"memberId"`
	} `json:"asked"`
	Decision *struct {
		Decision  string `json:"decision"`
		DecidedBy struct {
			ID string `json:"id"`
		} `json:"decidedBy"`
		ByLink         bool   `json:"byLink"`
		GrantExpiresAt string `json:"grantExpiresAt"`
	} `json:"decision"`
}

func (e *Env) askAccess(t testing.TB, token string, body map[string]any) acrView {
	t.Helper()
	var v acrView
	e.Call(t, "POST", "/v1/access-requests", token, body).Want(t, http.StatusAccepted, "").JSON(t, &v)
	if !strings.HasPrefix(v.ID, "acr_") || v.Status != "pending" {
		t.Fatalf("request answered %+v", v)
	}
	return v
}

func teamMemberS1(reason string) map[string]any {
	return map[string]any{"role": "team_member", "scope": "store:s1", "reason": reason}
}

// waitAsked waits until the request's approvers are stored.
func (e *Env) waitAsked(t testing.TB, token, id string) acrView {
	t.Helper()
	var v acrView
	testenv.Eventually(t, 15*time.Second, "the approvers of "+id, func() error {
		e.Call(t, "GET", "/v1/access-requests/"+id, token, nil).Want(t, http.StatusOK, "").JSON(t, &v)
		if len(v.Asked) == 0 {
			return errors.New("none asked yet")
		}
		return nil
	})
	return v
}

func (e *Env) waitAccessStatus(t testing.TB, token, id, want string) acrView {
	t.Helper()
	var v acrView
	testenv.Eventually(t, 15*time.Second, "request "+id+" "+want, func() error {
		e.Call(t, "GET", "/v1/access-requests/"+id, token, nil).Want(t, http.StatusOK, "").JSON(t, &v)
		if v.Status != want {
			return fmt.Errorf("status %s", v.Status)
		}
		return nil
	})
	return v
}

var accessLink = regexp.MustCompile(`/access/([A-Za-z0-9_-]{20,})`)

// accessToken waits for the access request email to addr and returns its
// link's token.
func (e *Env) accessToken(t testing.TB, addr string, since time.Time) string {
	t.Helper()
	var token string
	testenv.Eventually(t, 15*time.Second, "an access request email to "+addr, func() error {
		for _, m := range e.SES.Emails(t, since) {
			if m.SentTo(addr) && strings.HasPrefix(m.Subject, "Access requested") {
				if match := accessLink.FindStringSubmatch(m.Body.Text); match != nil {
					token = match[1]
					return nil
				}
			}
		}
		return errors.New("none yet")
	})
	return token
}

// accessPage gets (v nil) or posts the decision page of token.
func (e *Env) accessPage(t testing.TB, token string, v url.Values) *Response {
	t.Helper()
	method, body := "GET", io.Reader(nil)
	if v != nil {
		method, body = "POST", strings.NewReader(v.Encode())
	}
	req, err := http.NewRequest(method, e.URL+"/access/"+token, body)
	if err != nil {
		t.Fatal(err)
	}
	if v != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
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

func (e *Env) ordersViewAtS1(t testing.TB, token string) bool {
	t.Helper()
	return e.Call(t, "POST", "/v1/authz/check", token, permCheck("orders.view", map[string]any{"store": "s1"}, "")).Want(t, http.StatusOK, "").Map(t)["allowed"] == true
}

func accessWorkflowEnd(t testing.TB, deps *server.Deps, id string) workflow.Execution {
	t.Helper()
	return workflowEnd(t, deps, id)
}

// TestAccessRequestApprovedInApp: the members who may grant exactly that
// are asked (the owner and the store's managers, not another store's
// manager, never the requester); the requester cannot decide; an
// approval (shortened) adds the assignment in its transaction, so the
// very next check is allowed; the requester is emailed; the workflow
// ends; a second request while one is pending, and one for what is held,
// are refused.
func TestAccessRequestApprovedInApp(t *testing.T) {
	var deps *server.Deps
	e := New(t, func(d *server.Deps) { deps = d })
	tm := e.accessSetup(t)
	since := time.Now()
	asked := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
	body := teamMemberS1("Covering the spring sale.")
	body["expiresAt"] = asked.Format(time.RFC3339)
	r := e.askAccess(t, tm.requester.Token, body)
	e.Call(t, "POST", "/v1/access-requests", tm.requester.Token, body).Want(t, http.StatusConflict, "access_request_pending")

	e.accessToken(t, tm.mgr.Email, since)
	v := e.waitAsked(t, tm.requester.Token, r.ID)
	var ids []string
	for _, a := range v.Asked {
		ids = append(ids, a.MemberID)
	}
	for _, want := range []string{tm.owner.MemberID, tm.mgr.ID, tm.mgr2.ID} {
		if !slices.Contains(ids, want) {
			t.Errorf("asked %v lacks %s", ids, want)
		}
	}
	if slices.Contains(ids, tm.mgS2.ID) || slices.Contains(ids, tm.requester.ID) {
		t.Errorf("asked %v includes the other store's manager or the requester", ids)
	}
	var list struct {
		Items []acrView `json:"items"`
	}
	e.Call(t, "GET", "/v1/access-requests?mine=decide", tm.mgr.Token, nil).Want(t, http.StatusOK, "").JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != r.ID {
		t.Fatalf("mgr's mine=decide %+v", list.Items)
	}
	e.Call(t, "GET", "/v1/access-requests", tm.requester.Token, nil).Want(t, http.StatusOK, "").JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != r.ID {
		t.Fatalf("requester's list %+v", list.Items)
	}
	e.Call(t, "GET", "/v1/access-requests/"+r.ID, tm.mgS2.Token, nil).Want(t, http.StatusNotFound, "")
	e.Call(t, "POST", "/v1/access-requests/"+r.ID+"/decision", tm.mgS2.Token, map[string]any{"decision": "approve"}).Want(t, http.StatusNotFound, "")
	e.Call(t, "POST", "/v1/access-requests/"+r.ID+"/decision", tm.requester.Token, map[string]any{"decision": "approve"}).Want(t, http.StatusForbidden, "self_decision")
	// The approver may shorten the duration, never lengthen it.
	e.Call(t, "POST", "/v1/access-requests/"+r.ID+"/decision", tm.mgr.Token,
		map[string]any{"decision": "approve", "expiresAt": asked.Add(time.Hour).Format(time.RFC3339)}).Want(t, http.StatusBadRequest, "")

	if e.ordersViewAtS1(t, tm.requester.Token) {
		t.Fatal("the requester may view orders at s1 before any grant")
	}
	short := asked.Add(-10 * 24 * time.Hour)
	var d acrView
	e.Call(t, "POST", "/v1/access-requests/"+r.ID+"/decision", tm.mgr.Token,
		map[string]any{"decision": "approve", "comment": "Two weeks less.", "expiresAt": short.Format(time.RFC3339)}).Want(t, http.StatusOK, "").JSON(t, &d)
	if d.Status != "approved" || d.Decision == nil || d.Decision.DecidedBy.ID != tm.mgr.ID || d.Decision.ByLink {
		t.Fatalf("decision answered %+v", d)
	}
	if !e.ordersViewAtS1(t, tm.requester.Token) {
		t.Fatal("the next check after the approval is not allowed")
	}
	as := assignmentsOf(t, e, tm.ownerTk, tm.requester.ID)
	if len(as) != 1 || as[0]["role"] != "team_member" || as[0]["scope"] != "store:s1" || as[0]["grantedBy"] != tm.mgr.ID {
		t.Fatalf("assignments %+v", as)
	}
	if got, _ := time.Parse(time.RFC3339, fmt.Sprint(as[0]["expiresAt"])); !got.Equal(short) {
		t.Errorf("grant expires %v, want %v", as[0]["expiresAt"], short)
	}
	text := e.outcomeEmail(t, tm.requester.Email, "Access request approved", since)
	if !strings.Contains(text, "team_member") || !strings.Contains(text, "Mia Manager") {
		t.Errorf("outcome email:\n%s", text)
	}
	if x := accessWorkflowEnd(t, deps, r.ID); x.Status != workflow.Succeeded {
		t.Errorf("workflow ended %+v", x)
	}
	e.Call(t, "POST", "/v1/access-requests/"+r.ID+"/decision", tm.mgr2.Token, map[string]any{"decision": "deny"}).Want(t, http.StatusConflict, "access_request_not_pending")
	// Held until short: asking for less is refused, asking for longer is a
	// renewal.
	less := teamMemberS1("again")
	less["expiresAt"] = short.Add(-time.Hour).Format(time.RFC3339)
	e.Call(t, "POST", "/v1/access-requests", tm.requester.Token, less).Want(t, http.StatusConflict, "access_already_granted")
	e.askAccess(t, tm.requester.Token, teamMemberS1("For good."))

	var evs struct {
		Items []acctEvent `json:"items"`
	}
	e.Call(t, "GET", "/v1/audit?action=access_request.approve", tm.ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &evs)
	if len(evs.Items) != 1 || evs.Items[0].Actor.ID != tm.mgr.ID {
		t.Fatalf("approval events %+v", evs.Items)
	}
}

// TestAccessRequestCeilingAtDecision: an approver demoted between the
// request and the decision is refused (403 in the app, the link's 410
// page), while one who still may decides.
func TestAccessRequestCeilingAtDecision(t *testing.T) {
	e := New(t)
	tm := e.accessSetup(t)
	since := time.Now()
	r := e.askAccess(t, tm.requester.Token, teamMemberS1("Please."))
	link := e.accessToken(t, tm.mgr2.Email, since)
	e.waitAsked(t, tm.requester.Token, r.ID)
	e.accessPage(t, link, nil).Want(t, http.StatusOK, "")
	// Max loses the manager role: team member at s1 now.
	e.patchGrants(t, tm.ownerTk, tm.mgr2.ID, grantAt("team_member", "store:s1", time.Time{}, time.Time{})).Want(t, http.StatusOK, "")
	e.Call(t, "POST", "/v1/access-requests/"+r.ID+"/decision", tm.mgr2.Token, map[string]any{"decision": "approve"}).Want(t, http.StatusForbidden, "not_an_approver")
	var list struct {
		Items []acrView `json:"items"`
	}
	e.Call(t, "GET", "/v1/access-requests?mine=decide", tm.mgr2.Token, nil).Want(t, http.StatusOK, "").JSON(t, &list)
	if len(list.Items) != 0 {
		t.Errorf("the demoted manager may still decide %+v", list.Items)
	}
	e.accessPage(t, link, nil).Want(t, http.StatusGone, "")
	e.accessPage(t, link, url.Values{"decision": {"approve"}}).Want(t, http.StatusGone, "")
	if e.ordersViewAtS1(t, tm.requester.Token) {
		t.Fatal("a refused decision granted something")
	}
	e.Call(t, "POST", "/v1/access-requests/"+r.ID+"/decision", tm.mgr.Token, map[string]any{"decision": "approve"}).Want(t, http.StatusOK, "")
	if !e.ordersViewAtS1(t, tm.requester.Token) {
		t.Fatal("the approval granted nothing")
	}
}

// TestAccessRequestDeniedByLink: the emailed link's page shows the
// request and decides it once; the requester is told; nothing is granted.
func TestAccessRequestDeniedByLink(t *testing.T) {
	var deps *server.Deps
	e := New(t, func(d *server.Deps) { deps = d })
	tm := e.accessSetup(t)
	since := time.Now()
	r := e.askAccess(t, tm.requester.Token, teamMemberS1("Need <b>orders</b>."))
	link := e.accessToken(t, tm.mgr.Email, since)
	page := e.accessPage(t, link, nil).Want(t, http.StatusOK, "")
	if b := string(page.Body); !strings.Contains(b, "team_member") || !strings.Contains(b, "&lt;b&gt;orders") || strings.Contains(b, "<b>orders") {
		t.Fatalf("page:\n%s", b)
	}
	e.accessPage(t, link, url.Values{"decision": {"maybe"}}).Want(t, http.StatusBadRequest, "")
	e.accessPage(t, link, url.Values{"decision": {"deny"}, "comment": {"Not this quarter."}}).Want(t, http.StatusOK, "")
	e.accessPage(t, link, url.Values{"decision": {"approve"}}).Want(t, http.StatusGone, "")
	v := e.waitAccessStatus(t, tm.requester.Token, r.ID, "denied")
	if v.Decision == nil || !v.Decision.ByLink || v.Decision.DecidedBy.ID != tm.mgr.ID {
		t.Fatalf("decision %+v", v.Decision)
	}
	text := e.outcomeEmail(t, tm.requester.Email, "Access request denied", since)
	if !strings.Contains(text, "Not this quarter.") {
		t.Errorf("outcome email:\n%s", text)
	}
	if e.ordersViewAtS1(t, tm.requester.Token) {
		t.Fatal("a denial granted something")
	}
	if x := accessWorkflowEnd(t, deps, r.ID); x.Status != workflow.Succeeded {
		t.Errorf("workflow ended %+v", x)
	}
}

// TestAccessRequestApprovedByLink: an approval by link grants at once.
func TestAccessRequestApprovedByLink(t *testing.T) {
	e := New(t)
	tm := e.accessSetup(t)
	since := time.Now()
	r := e.askAccess(t, tm.requester.Token, teamMemberS1("Please."))
	link := e.accessToken(t, tm.owner.Email, since)
	e.accessPage(t, link, url.Values{"decision": {"approve"}}).Want(t, http.StatusOK, "")
	if !e.ordersViewAtS1(t, tm.requester.Token) {
		t.Fatal("the approval by link granted nothing")
	}
	e.waitAccessStatus(t, tm.requester.Token, r.ID, "approved")
	e.outcomeEmail(t, tm.requester.Email, "Access request approved", since)
}

// TestAccessRequestCancel: only the requester cancels; the links end and
// the workflow ends cancelled.
func TestAccessRequestCancel(t *testing.T) {
	var deps *server.Deps
	e := New(t, func(d *server.Deps) { deps = d })
	tm := e.accessSetup(t)
	since := time.Now()
	r := e.askAccess(t, tm.requester.Token, teamMemberS1("Please."))
	link := e.accessToken(t, tm.mgr.Email, since)
	e.Call(t, "POST", "/v1/access-requests/"+r.ID+"/cancel", tm.mgr.Token, nil).Want(t, http.StatusForbidden, "cannot_cancel")
	e.Call(t, "POST", "/v1/access-requests/"+r.ID+"/cancel", tm.ownerTk, nil).Want(t, http.StatusForbidden, "cannot_cancel")
	e.Call(t, "POST", "/v1/access-requests/"+r.ID+"/cancel", tm.requester.Token, nil).Want(t, http.StatusOK, "")
	e.Call(t, "POST", "/v1/access-requests/"+r.ID+"/cancel", tm.requester.Token, nil).Want(t, http.StatusConflict, "access_request_not_pending")
	e.accessPage(t, link, url.Values{"decision": {"approve"}}).Want(t, http.StatusGone, "")
	e.Call(t, "POST", "/v1/access-requests/"+r.ID+"/decision", tm.mgr.Token, map[string]any{"decision": "approve"}).Want(t, http.StatusConflict, "access_request_not_pending")
	if x := accessWorkflowEnd(t, deps, r.ID); x.Status != workflow.Succeeded {
		t.Errorf("workflow ended %+v", x)
	}
	// A new request for the same role is fine once the other ended.
	e.askAccess(t, tm.requester.Token, teamMemberS1("Again."))
}

// TestAccessRequestExpires: undecided within its time, a request expires
// and its requester is told.
func TestAccessRequestExpires(t *testing.T) {
	e := New(t, func(d *server.Deps) { d.Access.DecideWithin = 2 * time.Second })
	tm := e.accessSetup(t)
	since := time.Now()
	r := e.askAccess(t, tm.requester.Token, teamMemberS1("Please."))
	e.waitAccessStatus(t, tm.requester.Token, r.ID, "expired")
	e.outcomeEmail(t, tm.requester.Email, "Access request expired", since)
	e.Call(t, "POST", "/v1/access-requests/"+r.ID+"/decision", tm.mgr.Token, map[string]any{"decision": "approve"}).Want(t, http.StatusConflict, "access_request_not_pending")
	if e.ordersViewAtS1(t, tm.requester.Token) {
		t.Fatal("an expired request granted something")
	}
}

// TestAccessRequestsTenantIsolation: another account's owner neither
// sees nor decides nor cancels a request.
func TestAccessRequestsTenantIsolation(t *testing.T) {
	e := New(t)
	tm := e.accessSetup(t)
	other := e.signup(t, newEmail("acr-other"))
	otherTk := e.login(t, other.Email, goodPassword, other.AccountID).AccessToken
	r := e.askAccess(t, tm.requester.Token, teamMemberS1("Please."))
	e.Call(t, "GET", "/v1/access-requests/"+r.ID, otherTk, nil).Want(t, http.StatusNotFound, "")
	e.Call(t, "POST", "/v1/access-requests/"+r.ID+"/decision", otherTk, map[string]any{"decision": "approve"}).Want(t, http.StatusNotFound, "")
	e.Call(t, "POST", "/v1/access-requests/"+r.ID+"/cancel", otherTk, nil).Want(t, http.StatusNotFound, "")
	var list struct {
		Items []acrView `json:"items"`
	}
	e.Call(t, "GET", "/v1/access-requests", otherTk, nil).Want(t, http.StatusOK, "").JSON(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("other tenant lists %+v", list.Items)
	}
}

// TestAccessRequestImpersonationDecidesNothing: an administrator
// impersonating a manager cannot decide (as every grant change).
func TestAccessRequestImpersonationDecidesNothing(t *testing.T) {
	e := New(t)
	tm := e.accessSetup(t)
	r := e.askAccess(t, tm.requester.Token, teamMemberS1("Please."))
	var imp tokens
	e.Call(t, "POST", "/v1/users/"+tm.mgr.ID+"/impersonate", tm.ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &imp)
	e.Call(t, "POST", "/v1/access-requests/"+r.ID+"/decision", imp.AccessToken, map[string]any{"decision": "approve"}).Want(t, http.StatusForbidden, "impersonation_forbidden")
	if e.ordersViewAtS1(t, tm.requester.Token) {
		t.Fatal("an impersonated decision granted something")
	}
}

package apitest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/audit"
)

// acrDecision is an access request's decision with its delegate fields.
type acrDecision struct {
	Status   string `json:"status"`
	Decision *struct {
		Decision  string `json:"decision"`
		DecidedBy struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"decidedBy"`
		OnBehalfOf *struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"onBehalfOf"`
		ByLink bool `json:"byLink"`
	} `json:"decision"`
}

// accessEmail waits for an access-request email to addr sent since whose
// subject contains part, and returns its subject, text and link token.
func (e *Env) accessEmail(t testing.TB, addr, part string, since time.Time) (subject, text, token string) {
	t.Helper()
	testenv.Eventually(t, 15*time.Second, fmt.Sprintf("an access request email %q to %s", part, addr), func() error {
		for _, m := range e.SES.Emails(t, since) {
			if !m.SentTo(addr) || !strings.HasPrefix(m.Subject, "Access requested") || !strings.Contains(m.Subject, part) {
				continue
			}
			if match := accessLink.FindStringSubmatch(m.Body.Text); match != nil {
				subject, text, token = m.Subject, m.Body.Text, match[1]
				return nil
			}
		}
		return errors.New("none yet")
	})
	return subject, text, token
}

func (e *Env) accessDecideIDs(t testing.TB, token string) []string {
	t.Helper()
	var list struct {
		Items []acrView `json:"items"`
	}
	e.Call(t, "GET", "/v1/access-requests?mine=decide", token, nil).Want(t, http.StatusOK, "").JSON(t, &list)
	var ids []string
	for _, r := range list.Items {
		ids = append(ids, r.ID)
	}
	return ids
}

// TestAccessRequestDelegateDecidesOnBehalf: while Mia (a manager at s1)
// is away, her access-request email goes to Dan (no role at all), who
// sees the request, cannot decide it on his own rights, and approves it
// by his link on her behalf: the requester's very next check is allowed,
// the decision and the audit event name both, and Mia granted the
// assignment.
func TestAccessRequestDelegateDecidesOnBehalf(t *testing.T) {
	e := New(t)
	tm := e.accessSetup(t)
	dan := e.apMember(t, tm.owner, "Dan Deputy")
	e.Call(t, "PUT", "/v1/me/delegation", tm.mgr.Token, delegationBody(dan.ID, -time.Minute, 7*24*time.Hour)).Want(t, http.StatusCreated, "")

	since := time.Now()
	r := e.askAccess(t, tm.requester.Token, teamMemberS1("Covering the spring sale."))
	subject, text, link := e.accessEmail(t, dan.Email, "on behalf of Mia Manager", since)
	if !strings.Contains(text, "Mia Manager") || !strings.Contains(text, "on their behalf") {
		t.Fatalf("the delegate's email %q: %s", subject, text)
	}
	e.accessToken(t, tm.mgr2.Email, since) // the other manager gets their own
	e.waitAsked(t, tm.requester.Token, r.ID)
	if n := e.emailsTo(t, tm.mgr.Email, "Access requested", since); n != 0 {
		t.Fatalf("the away member got %d access request emails", n)
	}

	// Dan sees it among those he may decide, and may read it.
	if ids := e.accessDecideIDs(t, dan.Token); !slices.Contains(ids, r.ID) {
		t.Fatalf("dan's mine=decide %v lacks %s", ids, r.ID)
	}
	e.Call(t, "GET", "/v1/access-requests/"+r.ID, dan.Token, nil).Want(t, http.StatusOK, "")
	// On his own rights he may not grant it.
	e.Call(t, "POST", "/v1/access-requests/"+r.ID+"/decision", dan.Token, map[string]any{"decision": "approve"}).Want(t, http.StatusForbidden, "not_an_approver")
	e.Call(t, "POST", "/v1/access-requests/"+r.ID+"/decision", dan.Token, map[string]any{"decision": "approve", "onBehalfOf": tm.mgS2.ID}).Want(t, http.StatusForbidden, "not_a_delegate")
	e.Call(t, "POST", "/v1/access-requests/"+r.ID+"/decision", dan.Token, map[string]any{"decision": "approve", "onBehalfOf": dan.ID}).Want(t, http.StatusBadRequest, "")

	page := e.accessPage(t, link, nil)
	if page.Status != http.StatusOK || !strings.Contains(string(page.Body), "On behalf of") || !strings.Contains(string(page.Body), "Mia Manager") {
		t.Fatalf("the delegate's page: %d %s", page.Status, page.Body)
	}
	if e.ordersViewAtS1(t, tm.requester.Token) {
		t.Fatal("allowed before the decision")
	}
	if res := e.accessPage(t, link, url.Values{"decision": {"approve"}}); res.Status != http.StatusOK {
		t.Fatalf("the delegate's link: %d %s", res.Status, res.Body)
	}
	if !e.ordersViewAtS1(t, tm.requester.Token) {
		t.Fatal("the next check after the delegate's approval is not allowed")
	}
	var got acrDecision
	e.Call(t, "GET", "/v1/access-requests/"+r.ID, tm.requester.Token, nil).Want(t, http.StatusOK, "").JSON(t, &got)
	if got.Status != "approved" || got.Decision == nil || got.Decision.DecidedBy.ID != dan.ID || got.Decision.OnBehalfOf == nil ||
		got.Decision.OnBehalfOf.ID != tm.mgr.ID || got.Decision.OnBehalfOf.Name != "Mia Manager" || !got.Decision.ByLink {
		t.Fatalf("the decision %+v", got.Decision)
	}
	// Dan still sees what he decided.
	e.Call(t, "GET", "/v1/access-requests/"+r.ID, dan.Token, nil).Want(t, http.StatusOK, "")

	// Mia granted the assignment.
	var m struct {
		Assignments []struct {
			Role      string `json:"role"`
			Scope     string `json:"scope"`
			GrantedBy string `json:"grantedBy"`
		} `json:"assignments"`
	}
	e.Call(t, "GET", "/v1/users/"+tm.requester.ID, tm.ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &m)
	if len(m.Assignments) != 1 || m.Assignments[0].GrantedBy != tm.mgr.ID {
		t.Fatalf("the requester's assignments %+v", m.Assignments)
	}
	// The audit event: the delegate acted, on Mia's behalf.
	var evs struct {
		Items []struct {
			Actor struct {
				ID string `json:"id"`
			} `json:"actor"`
			After map[string]any `json:"after"`
		} `json:"items"`
	}
	e.Call(t, "GET", "/v1/audit?action=access_request.approve", tm.ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &evs)
	if len(evs.Items) != 1 || evs.Items[0].Actor.ID != dan.ID {
		t.Fatalf("access_request.approve events %+v", evs.Items)
	}
	req, _ := evs.Items[0].After["request"].(map[string]any)
	if req["deciderId"] != dan.ID || req["onBehalfOfId"] != tm.mgr.ID || req["onBehalfOfName"] != "Mia Manager" {
		t.Fatalf("the event's request %v", req)
	}
}

// TestAccessRequestDelegateWindowAndRequester: a delegate decides in the
// app with onBehalfOf while the delegation is active, not after it ended
// (in the app nor by the link), and never a request they made
// themselves (their email then goes to the member).
func TestAccessRequestDelegateWindowAndRequester(t *testing.T) {
	e := New(t)
	tm := e.accessSetup(t)
	dan := e.apMember(t, tm.owner, "Dan Deputy")
	ctx := context.Background()
	decide := func(p person, id, decision, onBehalf string, status int, code string) {
		t.Helper()
		e.Call(t, "POST", "/v1/access-requests/"+id+"/decision", p.Token, map[string]any{"decision": decision, "onBehalfOf": onBehalf}).Want(t, status, code)
	}

	e.Call(t, "PUT", "/v1/me/delegation", tm.mgr.Token, delegationBody(dan.ID, -time.Minute, time.Hour)).Want(t, http.StatusCreated, "")
	since := time.Now()
	a := e.askAccess(t, tm.requester.Token, teamMemberS1("First"))
	_, _, link := e.accessEmail(t, dan.Email, "on behalf of Mia Manager", since)
	e.waitAsked(t, tm.requester.Token, a.ID)

	// The delegation ends (written as it would stand once over).
	prev, err := e.Store.GetDelegation(ctx, tm.owner.AccountID, tm.mgr.ID)
	if err != nil {
		t.Fatal(err)
	}
	ended := prev
	ended.From, ended.Until, ended.Version = time.Now().Add(-2*time.Hour), time.Now().Add(-time.Second), prev.Version+1
	if err := e.Store.PutDelegation(ctx, ended, &prev, audit.Event{AccountID: tm.owner.AccountID, ActorID: tm.mgr.ID, Action: "delegation.put", TargetType: "delegation", TargetID: tm.mgr.ID}); err != nil {
		t.Fatal(err)
	}
	decide(dan, a.ID, "approve", tm.mgr.ID, http.StatusNotFound, "") // he no longer sees it
	if res := e.accessPage(t, link, nil); res.Status != http.StatusGone {
		t.Fatalf("the delegate's page after the window: %d", res.Status)
	}
	if res := e.accessPage(t, link, url.Values{"decision": {"approve"}}); res.Status != http.StatusGone {
		t.Fatalf("the delegate's link after the window: %d %s", res.Status, res.Body)
	}
	if ids := e.accessDecideIDs(t, dan.Token); slices.Contains(ids, a.ID) {
		t.Fatalf("dan's mine=decide %v after the window", ids)
	}

	// Active again: Dan denies in the app on Mia's behalf.
	e.Call(t, "PUT", "/v1/me/delegation", tm.mgr.Token, delegationBody(dan.ID, -time.Minute, time.Hour)).Want(t, http.StatusOK, "")
	decide(dan, a.ID, "deny", tm.mgr.ID, http.StatusOK, "")
	var got acrDecision
	e.Call(t, "GET", "/v1/access-requests/"+a.ID, tm.requester.Token, nil).Want(t, http.StatusOK, "").JSON(t, &got)
	if got.Status != "denied" || got.Decision.DecidedBy.ID != dan.ID || got.Decision.OnBehalfOf == nil || got.Decision.OnBehalfOf.ID != tm.mgr.ID || got.Decision.ByLink {
		t.Fatalf("the decision %+v", got.Decision)
	}

	// A delegate who asks: Mia's email is hers again, and the delegate
	// may not decide it on her behalf.
	e.Call(t, "PUT", "/v1/me/delegation", tm.mgr.Token, delegationBody(tm.requester.ID, -time.Minute, time.Hour)).Want(t, http.StatusOK, "")
	since = time.Now()
	b := e.askAccess(t, tm.requester.Token, teamMemberS1("Second"))
	e.accessToken(t, tm.mgr.Email, since)
	e.waitAsked(t, tm.requester.Token, b.ID)
	if n := e.emailsTo(t, tm.requester.Email, "Access requested", since); n != 0 {
		t.Fatalf("the requester got %d access request emails as a delegate", n)
	}
	decide(tm.requester, b.ID, "approve", tm.mgr.ID, http.StatusForbidden, "delegate_is_requester")
	if ids := e.accessDecideIDs(t, tm.requester.Token); slices.Contains(ids, b.ID) {
		t.Fatalf("the requester's mine=decide lists their own request: %v", ids)
	}
}

// TestOffboardReassignsAccessRequests: deleting an asked manager with
// reassignTo moves their access-request decision to the reassignee (who
// may grant it) in the deletion's transaction, revokes the leaver's link
// (410) and emails the reassignee a link that decides; a reassignee who
// may not grant it just drops the leaver's seat; a leaver's own pending
// request is cancelled (requester_left).
func TestOffboardReassignsAccessRequests(t *testing.T) {
	e := New(t)
	tm := e.accessSetup(t)
	since := time.Now()
	r := e.askAccess(t, tm.requester.Token, teamMemberS1("Covering"))
	oldLink := e.accessToken(t, tm.mgr.Email, since)
	link2 := e.accessToken(t, tm.mgr2.Email, since)
	e.waitAsked(t, tm.requester.Token, r.ID)
	mgr3 := e.apMember(t, tm.owner, "Meg Manager", at("manager", "store:s1"))

	// mgr2 leaves for the s2 manager, who may not grant it: dropped.
	e.Call(t, "POST", "/v1/users/"+tm.mgr2.ID+"/deactivate", tm.ownerTk, map[string]any{"reassignTo": tm.mgS2.ID}).Want(t, http.StatusOK, "")
	if res := e.accessPage(t, link2, nil); res.Status != http.StatusGone {
		t.Fatalf("the dropped leaver's link: %d", res.Status)
	}
	type ev struct {
		After map[string]any `json:"after"`
	}
	var evs struct {
		Items []ev `json:"items"`
	}
	e.Call(t, "GET", "/v1/audit?action=member.deactivate", tm.ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &evs)
	if len(evs.Items) != 1 || fmt.Sprint(evs.Items[0].After["dropped"]) != fmt.Sprint([]any{map[string]any{"requestId": r.ID, "level": 1.0}}) ||
		fmt.Sprint(evs.Items[0].After["moved"]) != "[]" {
		t.Fatalf("member.deactivate events %+v", evs.Items)
	}

	handover := time.Now()
	e.Call(t, "DELETE", "/v1/users/"+tm.mgr.ID, tm.ownerTk, map[string]any{"reassignTo": mgr3.ID}).Want(t, http.StatusOK, "")
	v := e.waitAsked(t, tm.requester.Token, r.ID)
	var asked []string
	for _, a := range v.Asked {
		asked = append(asked, a.MemberID)
	}
	if !slices.Contains(asked, mgr3.ID) || slices.Contains(asked, tm.mgr.ID) || slices.Contains(asked, tm.mgr2.ID) {
		t.Fatalf("asked after the handovers %v", asked)
	}
	if ids := e.accessDecideIDs(t, mgr3.Token); !slices.Contains(ids, r.ID) {
		t.Fatalf("the reassignee's mine=decide %v", ids)
	}
	// The leaver's link is gone: 410 on the page and when posted.
	if res := e.accessPage(t, oldLink, nil); res.Status != http.StatusGone {
		t.Fatalf("the leaver's page: %d", res.Status)
	}
	if res := e.accessPage(t, oldLink, url.Values{"decision": {"approve"}}); res.Status != http.StatusGone {
		t.Fatalf("the leaver's link: %d %s", res.Status, res.Body)
	}
	e.Call(t, "GET", "/v1/audit?action=member.delete", tm.ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &evs)
	if len(evs.Items) != 1 || evs.Items[0].After["reassignedTo"] != mgr3.ID ||
		fmt.Sprint(evs.Items[0].After["moved"]) != fmt.Sprint([]any{map[string]any{"requestId": r.ID, "level": 1.0}}) {
		t.Fatalf("member.delete events %+v", evs.Items)
	}
	// The reassignee's email carries a link that decides.
	link := e.accessToken(t, mgr3.Email, handover)
	if res := e.accessPage(t, link, url.Values{"decision": {"approve"}}); res.Status != http.StatusOK {
		t.Fatalf("the reassignee's link: %d %s", res.Status, res.Body)
	}
	if !e.ordersViewAtS1(t, tm.requester.Token) {
		t.Fatal("not allowed after the reassignee's approval")
	}

	// A leaver's own pending request is cancelled with its offboarding.
	rex := e.apMember(t, tm.owner, "Rex Requester")
	own := e.askAccess(t, rex.Token, teamMemberS1("Mine"))
	e.waitAsked(t, tm.ownerTk, own.ID)
	e.Call(t, "POST", "/v1/users/"+rex.ID+"/suspend", tm.ownerTk, map[string]any{}).Want(t, http.StatusOK, "")
	e.waitAccessStatus(t, tm.ownerTk, own.ID, "cancelled")
	e.Call(t, "GET", "/v1/audit?action=access_request.cancelled", tm.ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &evs)
	if len(evs.Items) != 1 || evs.Items[0].After["reason"] != "requester_left" {
		t.Fatalf("access_request.cancelled events %+v", evs.Items)
	}
}

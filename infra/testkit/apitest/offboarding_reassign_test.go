package apitest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/documents"
	"github.com/stewardhq/steward/pkg/store"
)

// TestOffboardReassignsApprovalSeats: deleting the only senior manager a
// request awaits, with reassignTo naming a senior manager who joined
// after the level started, moves the seat in one step: the request now
// awaits the reassignee (asked once), the leaver's link answers 410 on
// its page and when posted, the reassignee gets the approval email with
// a link that decides, and one audit event names what moved. A
// reassignee who may not approve, is the leaver, or is not a member is
// refused first, and nothing changes.
func TestOffboardReassignsApprovalSeats(t *testing.T) {
	e := New(t)
	tm := e.apSetup(t)
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, seniorOnlyPolicy()).Want(t, http.StatusOK, "")
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-re", tm.requester.Token, poBody(100)).Want(t, http.StatusCreated, "")
	since := time.Now()
	req := e.requestApproval(t, tm.requester.Token, "po-re", nil)
	oldLink := e.approvalToken(t, tm.senior.Email, since)
	e.waitRequest(t, tm.senior.Token, req.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 })
	senior2 := e.apMember(t, tm.owner, "Sid Senior", at("senior_manager", "account"))

	path := "/v1/users/" + tm.senior.ID
	var p struct {
		Requests []string `json:"requests"`
	}
	e.Call(t, "DELETE", path, tm.ownerTk, map[string]any{"reassignTo": tm.mgr1.ID}).Want(t, http.StatusConflict, "reassignee_not_eligible").JSON(t, &p)
	if !slices.Equal(p.Requests, []string{req.ID}) {
		t.Fatalf("not eligible for %v, want [%s]", p.Requests, req.ID)
	}
	e.Call(t, "DELETE", path, tm.ownerTk, map[string]any{"reassignTo": tm.requester.ID}).Want(t, http.StatusConflict, "reassignee_not_eligible")
	e.Call(t, "DELETE", path, tm.ownerTk, map[string]any{"reassignTo": tm.senior.ID}).Want(t, http.StatusBadRequest, "")
	e.Call(t, "DELETE", path, tm.ownerTk, map[string]any{"reassignTo": "m_nobody"}).Want(t, http.StatusBadRequest, "")
	e.Call(t, "DELETE", path, tm.ownerTk, map[string]any{"reassignTo": "not an id!"}).Want(t, http.StatusBadRequest, "")
	e.Call(t, "GET", "/approve/"+oldLink, "", nil).Want(t, http.StatusOK, "")

	handover := time.Now()
	var m struct {
		Status string `json:"status"`
	}
	e.Call(t, "DELETE", path, tm.ownerTk, map[string]any{"reassignTo": senior2.ID}).Want(t, http.StatusOK, "").JSON(t, &m)
	if m.Status != "deleted" {
		t.Fatalf("member after the handover: %+v", m)
	}
	r := e.getRequest(t, tm.ownerTk, req.ID)
	var asked []string
	for _, a := range r.Asked {
		if a.Level == 1 {
			asked = append(asked, a.MemberID)
		}
	}
	if !slices.Equal(asked, []string{senior2.ID}) {
		t.Fatalf("level 1 asks %v, want [%s]", asked, senior2.ID)
	}
	var list struct {
		Items []apRequest `json:"items"`
	}
	e.Call(t, "GET", "/v1/approval-requests?mine=decide", senior2.Token, nil).Want(t, http.StatusOK, "").JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != req.ID {
		t.Fatalf("mine=decide of the reassignee: %+v", list.Items)
	}
	// The leaver's link is gone: 410 on the page and when posted.
	e.Call(t, "GET", "/approve/"+oldLink, "", nil).Want(t, http.StatusGone, "")
	if res := e.form(t, oldLink, decideForm("approve", "")); res.Status != http.StatusGone {
		t.Fatalf("posting the leaver's link: %d %s", res.Status, res.Body)
	}
	// One audit event names the reassignee and the seat.
	var evs struct {
		Items []struct {
			TargetID string         `json:"targetId"`
			After    map[string]any `json:"after"`
		} `json:"items"`
	}
	e.Call(t, "GET", "/v1/audit?action=member.delete", tm.ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &evs)
	if len(evs.Items) != 1 || evs.Items[0].After["reassignedTo"] != senior2.ID {
		t.Fatalf("member.delete events: %+v", evs.Items)
	}
	moved, _ := evs.Items[0].After["moved"].([]any)
	if len(moved) != 1 || fmt.Sprint(moved[0]) != fmt.Sprint(map[string]any{"requestId": req.ID, "level": 1.0}) {
		t.Fatalf("moved %v", evs.Items[0].After["moved"])
	}
	// The reassignee's email carries a fresh link that decides.
	link := e.approvalToken(t, senior2.Email, handover)
	if res := e.form(t, link, decideForm("approve", "Taking over")); res.Status != http.StatusOK {
		t.Fatalf("the reassignee's link: %d %s", res.Status, res.Body)
	}
	e.waitRequest(t, tm.ownerTk, req.ID, "approved", func(r apRequest) bool { return r.Status == "approved" })
	// A retry of the deletion changes nothing and sends nothing more.
	e.Call(t, "DELETE", path, tm.ownerTk, map[string]any{"reassignTo": senior2.ID}).Want(t, http.StatusOK, "")
	if n := e.emailsTo(t, senior2.Email, "Approval needed", handover); n != 1 {
		t.Fatalf("the reassignee got %d approval emails", n)
	}
}

// quorumPolicy: a manager level needing three approvals, so that the
// decisions of a test never close it.
func quorumPolicy() map[string]any {
	p := seniorOnlyPolicy()
	p["levels"] = []map[string]any{{"minAmount": 0, "role": "manager", "required": 3, "scope": "document"}}
	return p
}

// offboardingInvariants checks, for the pending requests of ids, that no
// request awaits leaver, that each member's "waiting for me" entries
// match the requests (awaited = asked at the current level and not
// decided there), that nobody is asked twice at a level or decided
// twice, and that each request's approvals count its approvals.
func (e *Env) offboardingInvariants(t *testing.T, account, leaver string, members []string, ids []string) {
	t.Helper()
	ctx := context.Background()
	if ds, err := e.Store.Duties(ctx, account, leaver); err != nil || len(ds) != 0 {
		t.Errorf("the leaver still has duties %+v (%v)", ds, err)
	}
	want := map[string][]string{}
	for _, id := range ids {
		r, err := e.Store.GetApprovalRequest(ctx, account, id)
		if err != nil {
			t.Fatal(err)
		}
		ds, err := e.Store.ListDecisions(ctx, account, id)
		if err != nil {
			t.Fatal(err)
		}
		decided, approvals := map[string]bool{}, 0
		for _, d := range ds {
			k := fmt.Sprint(d.Level, "/", d.Approver)
			if decided[k] {
				t.Errorf("%s: %s decided twice", id, k)
			}
			decided[k] = true
			if d.Level == r.Level && d.Outcome == string(documents.RequestApproved) {
				approvals++
			}
		}
		if r.Approvals != approvals {
			t.Errorf("%s: approvals %d, decisions say %d", id, r.Approvals, approvals)
		}
		seen := map[string]bool{}
		for _, a := range r.Asked {
			k := fmt.Sprint(a.Level, "/", a.MemberID)
			if seen[k] {
				t.Errorf("%s: %s asked twice", id, k)
			}
			seen[k] = true
			if a.Level != r.Level || a.MemberID == "" || decided[k] || r.Status != documents.RequestPending {
				continue
			}
			if a.MemberID == leaver {
				t.Errorf("%s: awaits the deleted member", id)
			}
			want[a.MemberID] = append(want[a.MemberID], id)
		}
	}
	for _, m := range append([]string{leaver}, members...) {
		page, err := e.Store.ListApprovalRequests(ctx, account, store.RequestFilter{AwaitingID: m}, 100, "")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range page.Items {
			got = append(got, r.ID)
		}
		slices.Sort(got)
		w := want[m]
		slices.Sort(w)
		if !slices.Equal(got, w) {
			t.Errorf("member %s awaited at %v, the requests say %v", m, got, w)
		}
	}
}

// TestOffboardReassignRacesADecision forces the interleaving: the
// deletion has read the leaver's duties and is about to commit when two
// decisions land, one by the other approver, one by the leaver itself.
// The deletion's transaction fails on those requests, reads the duties
// again and commits: the leaver's vote stays, no seat is moved twice,
// and nothing awaits the deleted member.
func TestOffboardReassignRacesADecision(t *testing.T) {
	gate := newCommitGate("member.delete")
	e := New(t, withMembersGate(t, gate))
	tm := e.apSetup(t)
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, quorumPolicy()).Want(t, http.StatusOK, "")
	var ids []string
	for i := range 3 {
		doc := fmt.Sprintf("po-race-%d", i)
		e.Call(t, "PUT", "/v1/documents/purchase_order/"+doc, tm.requester.Token, poBody(100)).Want(t, http.StatusCreated, "")
		r := e.requestApproval(t, tm.requester.Token, doc, nil)
		e.waitRequest(t, tm.mgr1.Token, r.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 && len(r.Asked) > 0 })
		ids = append(ids, r.ID)
	}
	mgr3 := e.apMember(t, tm.owner, "Mo Manager", at("manager", "store:s1"), at("approver", "store:s1"))

	deleted := make(chan *Response, 1)
	go func() {
		deleted <- e.Call(t, "DELETE", "/v1/users/"+tm.mgr1.ID, tm.ownerTk, map[string]any{"reassignTo": mgr3.ID, "force": true})
	}()
	select {
	case <-gate.reached:
	case <-time.After(20 * time.Second): // deadline
		t.Fatal("the deletion never reached its commit")
	}
	e.Call(t, "POST", "/v1/approval-requests/"+ids[0]+"/decision", tm.mgr2.Token, map[string]string{"decision": "approve"}).Want(t, http.StatusOK, "")
	e.Call(t, "POST", "/v1/approval-requests/"+ids[1]+"/decision", tm.mgr1.Token, map[string]string{"decision": "approve"}).Want(t, http.StatusOK, "")
	close(gate.release)
	(<-deleted).Want(t, http.StatusOK, "")

	account := tm.owner.AccountID
	e.offboardingInvariants(t, account, tm.mgr1.ID, []string{tm.mgr2.ID, mgr3.ID}, ids)
	// The leaver's vote on ids[1] stands; its seats on ids[0] and ids[2]
	// moved to mgr3.
	var evs struct {
		Items []struct {
			After map[string]any `json:"after"`
		} `json:"items"`
	}
	e.Call(t, "GET", "/v1/audit?action=member.delete", tm.ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &evs)
	if len(evs.Items) != 1 {
		t.Fatalf("member.delete events: %+v", evs.Items)
	}
	var moved []string
	for _, m := range evs.Items[0].After["moved"].([]any) {
		moved = append(moved, m.(map[string]any)["requestId"].(string))
	}
	slices.Sort(moved)
	if want := []string{ids[0], ids[2]}; !slices.Equal(moved, want) {
		t.Fatalf("moved %v, want %v", moved, want)
	}
	r := e.getRequest(t, tm.ownerTk, ids[1])
	if r.Approvals != 1 {
		t.Fatalf("the leaver's vote: approvals %d", r.Approvals)
	}
}

// TestOffboardReassignUnderConcurrentDecisions: the approvers decide in
// goroutines while the leaver is deleted with reassignTo; some requests
// already await the reassignee (their seats drop). Whatever the order,
// the deletion succeeds (after a 409 duties_changed at worst, retried)
// and the invariants hold.
func TestOffboardReassignUnderConcurrentDecisions(t *testing.T) {
	e := New(t)
	tm := e.apSetup(t)
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, quorumPolicy()).Want(t, http.StatusOK, "")
	var ids []string
	open := func(n int, prefix string) {
		for i := range n {
			doc := fmt.Sprintf("po-%s-%d", prefix, i)
			e.Call(t, "PUT", "/v1/documents/purchase_order/"+doc, tm.requester.Token, poBody(100)).Want(t, http.StatusCreated, "")
			r := e.requestApproval(t, tm.requester.Token, doc, nil)
			e.waitRequest(t, tm.mgr1.Token, r.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 && len(r.Asked) > 0 })
			ids = append(ids, r.ID)
		}
	}
	open(4, "before")
	mgr3 := e.apMember(t, tm.owner, "Mo Manager", at("manager", "store:s1"), at("approver", "store:s1"))
	open(2, "after") // these await mgr3 already

	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, d := range []person{tm.mgr1, tm.mgr2, mgr3} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for _, id := range ids {
				res := e.Call(t, "POST", "/v1/approval-requests/"+id+"/decision", d.Token, map[string]string{"decision": "approve"})
				if res.Status >= 500 {
					t.Errorf("%s decides %s: %d %s", d.ID, id, res.Status, res.Body)
				}
			}
		}()
	}
	close(start)
	var res *Response
	for attempt := 0; attempt < 5; attempt++ {
		res = e.Call(t, "DELETE", "/v1/users/"+tm.mgr1.ID, tm.ownerTk, map[string]any{"reassignTo": mgr3.ID, "force": true})
		if res.Status != http.StatusConflict || res.Code() != "duties_changed" {
			break
		}
	}
	res.Want(t, http.StatusOK, "")
	wg.Wait()
	e.offboardingInvariants(t, tm.owner.AccountID, tm.mgr1.ID, []string{tm.mgr2.ID, mgr3.ID}, ids)
	if strings.Contains(string(res.Body), `"status":"deleted"`) == false {
		t.Fatalf("deletion answered %s", res.Body)
	}
}

// TestOffboardTooManyDutiesToReassign: a member awaited at more pending
// requests than one transaction can hand over (store.MaxHandoverDuties)
// is refused with 409 too_many_duties and the count; nothing changes.
// The requests are seeded through the store (no workflow runs them).
func TestOffboardTooManyDutiesToReassign(t *testing.T) {
	e := New(t)
	tm := e.apSetup(t)
	senior2 := e.apMember(t, tm.owner, "Sid Senior", at("senior_manager", "account"))
	ctx, account, now := context.Background(), tm.owner.AccountID, time.Now().UTC()
	n := store.MaxHandoverDuties + 1
	for i := range n {
		now = now.Add(time.Millisecond)
		doc := documents.Document{AccountID: account, Type: "purchase_order", ID: fmt.Sprintf("po-many-%d", i), Amount: 10, Currency: "EUR",
			Title: "PO", Status: "draft", Version: 1, CreatedAt: now, UpdatedAt: now}
		ev := audit.Event{AccountID: account, Action: "document.put"}
		if err := e.Store.PutDocument(ctx, doc, 0, nil, nil, ev); err != nil {
			t.Fatal(err)
		}
		r := documents.ApprovalRequest{ID: store.NewApprovalRequestID(now), AccountID: account, DocType: doc.Type, DocID: doc.ID, DocTitle: doc.Title,
			Amount: doc.Amount, Currency: doc.Currency, RequesterID: tm.requester.ID,
			Levels: []documents.ApprovalLevel{{Required: 1, Role: "senior_manager", Scope: documents.ApprovalScopeAccount}},
			Status: documents.RequestPending, TimeoutSeconds: 3600, Version: 1, CreatedAt: now, UpdatedAt: now}
		if err := e.Store.CreateApprovalRequest(ctx, r, doc, ev); err != nil {
			t.Fatal(err)
		}
		asked := []documents.Approver{{Level: 1, MemberID: tm.senior.ID, Email: tm.senior.Email, AskedAt: now}}
		if err := e.Store.AwaitLevel(ctx, r, 1, "task", asked, []string{tm.senior.ID}, nil, ev); err != nil {
			t.Fatal(err)
		}
	}
	var p struct {
		Duties int `json:"duties"`
		Limit  int `json:"limit"`
	}
	e.Call(t, "POST", "/v1/users/"+tm.senior.ID+"/deactivate", tm.ownerTk, map[string]any{"reassignTo": senior2.ID}).
		Want(t, http.StatusConflict, "too_many_duties").JSON(t, &p)
	if p.Duties != n || p.Limit != store.MaxHandoverDuties {
		t.Fatalf("problem %+v, want %d duties, limit %d", p, n, store.MaxHandoverDuties)
	}
	var m struct {
		Status string `json:"status"`
	}
	e.Call(t, "GET", "/v1/users/"+tm.senior.ID, tm.ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &m)
	if m.Status != "active" {
		t.Fatalf("refused handover wrote the member: %s", m.Status)
	}
	if ds, err := e.Store.Duties(ctx, account, tm.senior.ID); err != nil || len(ds) != n {
		t.Fatalf("duties after the refusal: %d (%v)", len(ds), err)
	}
}

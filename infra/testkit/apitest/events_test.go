package apitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/testkit/testenv"
)

type feedEvent struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

type feedPage struct {
	Items      []feedEvent `json:"items"`
	NextCursor string      `json:"nextCursor"`
}

// readFeed reads the whole feed after cursor, following nextCursor until a
// page comes back empty.
func (e *Env) readFeed(t testing.TB, token, cursor, query string) ([]feedEvent, string) {
	t.Helper()
	var all []feedEvent
	for range 50 {
		var p feedPage
		e.Call(t, "GET", "/v1/events?limit=3&after="+cursor+query, token, nil).Want(t, http.StatusOK, "").JSON(t, &p)
		if p.NextCursor == "" {
			t.Fatal("the feed answered no cursor")
		}
		all, cursor = append(all, p.Items...), p.NextCursor
		if len(p.Items) == 0 {
			return all, cursor
		}
	}
	t.Fatal("the feed did not end")
	return nil, ""
}

func feedTypes(es []feedEvent) []string {
	out := make([]string, 0, len(es))
	for _, e := range es {
		out = append(out, e.Type)
	}
	return out
}

// The done-when flow: invite → accept → approval requested → approved is
// listed by GET /v1/events, in order, with the data a host app acts on.
func TestEventsFeedTellsTheFlowInOrder(t *testing.T) {
	e := New(t)
	tm := e.apSetup(t)
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, map[string]any{
		"enabled": true, "levels": []map[string]any{{"minAmount": 0, "role": "manager", "required": 1, "scope": "document"}},
		"selfApproval": false, "expiresAfterHours": 48,
	}).Want(t, http.StatusOK, "")
	// Everything so far (the team's set-up) is behind this cursor.
	var start []feedEvent
	var cursor string
	testenv.Eventually(t, 15*time.Second, "the set-up to settle in the feed", func() error {
		var n int
		start, cursor = e.readFeed(t, tm.ownerTk, "", "")
		if n = len(start); n < 5 {
			return fmt.Errorf("%d events", n)
		}
		return nil
	})

	email := newEmail("feed-new")
	memberID, _ := e.join(t, tm.ownerTk, email, store1("manager"))
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-feed", tm.requester.Token, poBody(100)).Want(t, http.StatusCreated, "")
	req := e.requestApproval(t, tm.requester.Token, "po-feed", nil)
	e.waitRequest(t, tm.mgr1.Token, req.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 })
	e.Call(t, "POST", "/v1/approval-requests/"+req.ID+"/decision", tm.mgr1.Token, map[string]string{"decision": "approve"}).Want(t, http.StatusOK, "")
	e.waitDocStatus(t, tm.requester.Token, "po-feed", "approved")

	want := []string{"member.invited", "member.joined", "document.status_changed", "approval.requested", "document.status_changed",
		"approval.decided", "approval.approved", "document.status_changed"}
	var got []feedEvent
	testenv.Eventually(t, 15*time.Second, "the flow's events in the feed", func() error {
		got, _ = e.readFeed(t, tm.ownerTk, cursor, "")
		if !slices.Equal(feedTypes(got), want) {
			return fmt.Errorf("feed %v, want %v", feedTypes(got), want)
		}
		return nil
	})
	for i, ev := range got {
		if !strings.HasPrefix(ev.ID, "evt_") || ev.Timestamp.IsZero() {
			t.Errorf("event %d: %+v", i, ev)
		}
		if i > 0 && ev.Timestamp.Before(got[i-1].Timestamp) {
			t.Errorf("event %d is older than the one before it", i)
		}
		var d struct {
			AccountID string `json:"accountId"`
			Actor     struct {
				ID string `json:"id"`
			} `json:"actor"`
		}
		if err := json.Unmarshal(ev.Data, &d); err != nil || d.AccountID != tm.owner.AccountID || d.Actor.ID == "" {
			t.Errorf("event %s data %s", ev.Type, ev.Data)
		}
	}
	// The data names what changed: the joined member, the approved
	// request's document.
	if !strings.Contains(string(got[1].Data), memberID) {
		t.Errorf("member.joined data %s does not name %s", got[1].Data, memberID)
	}
	var approved struct {
		Request struct {
			ID, DocumentID string
			Status         string
		} `json:"request"`
	}
	if err := json.Unmarshal(got[6].Data, &approved); err != nil || approved.Request.ID != req.ID || approved.Request.DocumentID != "po-feed" || approved.Request.Status != "approved" {
		t.Errorf("approval.approved data %s", got[6].Data)
	}

	// A types filter keeps those types only; an unknown type is refused.
	only, _ := e.readFeed(t, tm.ownerTk, cursor, "&types=approval.approved,member.joined")
	if !slices.Equal(feedTypes(only), []string{"member.joined", "approval.approved"}) {
		t.Errorf("filtered feed %v", feedTypes(only))
	}
	e.Call(t, "GET", "/v1/events?types=member.flew", tm.ownerTk, nil).Want(t, http.StatusBadRequest, "")

	// Members without audit.view cannot read it; other accounts' cursors
	// do not open.
	e.Call(t, "GET", "/v1/events", tm.requester.Token, nil).Want(t, http.StatusForbidden, "")
	other := e.signup(t, newEmail("feed-other"))
	otherTk := e.login(t, other.Email, goodPassword, other.AccountID).AccessToken
	e.Call(t, "GET", "/v1/events?after="+cursor, otherTk, nil).Want(t, http.StatusBadRequest, "bad_cursor")
	var theirs feedPage
	e.Call(t, "GET", "/v1/events", otherTk, nil).Want(t, http.StatusOK, "").JSON(t, &theirs)
	for _, ev := range theirs.Items {
		if strings.Contains(string(ev.Data), tm.owner.AccountID) {
			t.Errorf("another account's feed carries %s", ev.Data)
		}
	}
}

package apitest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/client"
)

// receiver is a webhook endpoint on 127.0.0.1 that verifies every
// delivery with the typed client's verifier and keeps what it got.
type receiver struct {
	t      testing.TB
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	// failFirst answers 500 to the first delivery of these types.
	failFirst map[string]bool
	got       []received
}

type received struct {
	ID, Type string
	Status   int
	At       time.Time
	Data     json.RawMessage
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{t: t, failFirst: map[string]bool{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := client.VerifyWebhook(r.secret, req.Header, body); err != nil {
			r.t.Errorf("delivery %s does not verify: %v", req.Header.Get("webhook-id"), err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		var p struct {
			Type      string          `json:"type"`
			Timestamp time.Time       `json:"timestamp"`
			Data      json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(body, &p); err != nil || p.Type == "" || p.Timestamp.IsZero() {
			r.t.Errorf("delivery body %s (%v)", body, err)
		}
		status := http.StatusNoContent
		if r.failFirst[p.Type] {
			delete(r.failFirst, p.Type)
			status = http.StatusInternalServerError
		}
		r.got = append(r.got, received{ID: req.Header.Get("webhook-id"), Type: p.Type, Status: status, At: time.Now(), Data: p.Data})
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) deliveries() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// TestWebhooksDeliverTheFlowSignedAndRetried is the events issue's
// done-when over the local pipeline (the table's stream, the publisher,
// the in-process delay queue, the production deliverer): a receiver on
// 127.0.0.1 gets signed, verifiable events for invite → accept → approval
// requested → approved; a receiver that answers 500 once gets the same
// webhook-id again within 15 seconds; GET /v1/events lists the same
// events in the same order.
func TestWebhooksDeliverTheFlowSignedAndRetried(t *testing.T) {
	e := New(t)
	e.StartEvents(t)
	tm := e.apSetup(t)
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, map[string]any{
		"enabled": true, "levels": []map[string]any{{"minAmount": 0, "role": "manager", "required": 1, "scope": "document"}},
		"selfApproval": false, "expiresAfterHours": 48,
	}).Want(t, http.StatusOK, "")
	types := []string{"member.invited", "member.joined", "approval.requested", "approval.decided", "approval.approved", "document.status_changed"}
	rcv := newReceiver(t)
	rcv.failFirst["approval.approved"] = true
	var wh webhookView
	e.Call(t, "POST", "/v1/webhooks", tm.ownerTk, map[string]any{"url": rcv.srv.URL + "/hook", "types": types}).Want(t, http.StatusCreated, "").JSON(t, &wh)
	rcv.mu.Lock()
	rcv.secret = wh.Secret
	rcv.mu.Unlock()
	// The feed's cursor before the flow.
	_, cursor := e.readFeed(t, tm.ownerTk, "", "")

	e.join(t, tm.ownerTk, newEmail("hook-new"), store1("manager"))
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-hook", tm.requester.Token, poBody(100)).Want(t, http.StatusCreated, "")
	req := e.requestApproval(t, tm.requester.Token, "po-hook", nil)
	e.waitRequest(t, tm.mgr1.Token, req.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 })
	e.Call(t, "POST", "/v1/approval-requests/"+req.ID+"/decision", tm.mgr1.Token, map[string]string{"decision": "approve"}).Want(t, http.StatusOK, "")
	e.waitDocStatus(t, tm.requester.Token, "po-hook", "approved")

	want := []string{"member.invited", "member.joined", "document.status_changed", "approval.requested", "document.status_changed",
		"approval.decided", "approval.approved", "document.status_changed"}
	var feed []feedEvent
	testenv.Eventually(t, 20*time.Second, "the flow in the feed", func() error {
		feed, _ = e.readFeed(t, tm.ownerTk, cursor, "&types="+joinTypes(types))
		if !slices.Equal(feedTypes(feed), want) {
			return fmt.Errorf("feed %v", feedTypes(feed))
		}
		return nil
	})
	// Every event of the feed is delivered and acknowledged, and the one
	// answered 500 was delivered again with the same id within 15 s.
	testenv.Eventually(t, 30*time.Second, "every event delivered", func() error {
		ok := map[string]bool{}
		for _, d := range rcv.deliveries() {
			if d.Status < 300 {
				ok[d.ID] = true
			}
		}
		for _, ev := range feed {
			if !ok[ev.ID] {
				return fmt.Errorf("%s (%s) not delivered yet", ev.ID, ev.Type)
			}
		}
		return nil
	})
	var failed, retried *received
	for _, d := range rcv.deliveries() {
		if d.Type != "approval.approved" {
			continue
		}
		if d.Status == http.StatusInternalServerError && failed == nil {
			failed = &d
		} else if failed != nil && d.ID == failed.ID && d.Status < 300 {
			retried = &d
		}
	}
	if failed == nil || retried == nil {
		t.Fatalf("approval.approved: first answer %+v, retry %+v", failed, retried)
	}
	if gap := retried.At.Sub(failed.At); gap > 15*time.Second {
		t.Errorf("the retry came %v after the failure, want within 15 s", gap)
	}
	// The deliveries carry the feed's events: same ids, same data.
	byID := map[string]received{}
	for _, d := range rcv.deliveries() {
		byID[d.ID] = d
	}
	for _, ev := range feed {
		if d := byID[ev.ID]; d.Type != ev.Type || string(compact(t, d.Data)) != string(compact(t, ev.Data)) {
			t.Errorf("delivery of %s: %s %s, feed %s %s", ev.ID, d.Type, d.Data, ev.Type, ev.Data)
		}
	}
	// No event of another type reached the endpoint.
	for _, d := range rcv.deliveries() {
		if !slices.Contains(types, d.Type) {
			t.Errorf("the endpoint subscribed to %v got %s", types, d.Type)
		}
	}
	// The deliveries list shows the retried delivery with its two attempts.
	var list struct {
		Items []struct {
			EventID  string `json:"eventId"`
			Attempts int    `json:"attempts"`
			Status   string `json:"status"`
		} `json:"items"`
	}
	e.Call(t, "GET", "/v1/webhooks/"+wh.ID+"/deliveries", tm.ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &list)
	found := false
	for _, it := range list.Items {
		if it.EventID == failed.ID {
			found = it.Attempts == 2 && it.Status == "succeeded"
		}
	}
	if !found {
		t.Errorf("deliveries %+v lack %s with 2 attempts, succeeded", list.Items, failed.ID)
	}
}

func joinTypes(ts []string) string {
	out := ""
	for i, t := range ts {
		if i > 0 {
			out += ","
		}
		out += t
	}
	return out
}

func compact(t testing.TB, raw json.RawMessage) []byte {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	b, _ := json.Marshal(v)
	return b
}

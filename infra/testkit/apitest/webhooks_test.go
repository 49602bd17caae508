package apitest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
)

type webhookView struct {
	ID          string   `json:"id"`
	URL         string   `json:"url"`
	Types       []string `json:"types"`
	Description string   `json:"description"`
	Status      string   `json:"status"`
	Secret      string   `json:"secret"`
}

// TestWebhookLifecycle: an administrator registers, reads, changes,
// pauses, re-enables, rotates, replays and deletes an endpoint; the secret
// shows only on create and rotate, never in a list, a read, the audit log
// or the logs; every change has its audit event.
func TestWebhookLifecycle(t *testing.T) {
	e := New(t)
	owner, tk := e.acctOwner(t, "wh-life")
	var wh webhookView
	e.Call(t, "POST", "/v1/webhooks", tk, map[string]any{"url": "http://127.0.0.1:9/hook", "types": []string{"member.invited", "approval.approved"}, "description": "CRM sync"}).
		Want(t, http.StatusCreated, "").JSON(t, &wh)
	if !strings.HasPrefix(wh.ID, "wh_") || !strings.HasPrefix(wh.Secret, "whsec_") || wh.Status != "active" || len(wh.Types) != 2 {
		t.Fatalf("created %+v", wh)
	}
	secrets := []string{wh.Secret}
	list := e.Call(t, "GET", "/v1/webhooks", tk, nil).Want(t, http.StatusOK, "")
	if !strings.Contains(string(list.Body), wh.ID) || strings.Contains(string(list.Body), "whsec_") {
		t.Fatalf("list %s", list.Body)
	}
	e.Call(t, "PATCH", "/v1/webhooks/"+wh.ID, tk, map[string]any{"types": []string{"member.invited", "order.shipped"}}).Want(t, http.StatusBadRequest, "invalid_field")
	e.Call(t, "PATCH", "/v1/webhooks/"+wh.ID, tk, map[string]any{"url": "https://10.1.2.3/"}).Want(t, http.StatusBadRequest, "invalid_field")
	var got webhookView
	e.Call(t, "PATCH", "/v1/webhooks/"+wh.ID, tk, map[string]any{"types": []string{}, "status": "disabled"}).Want(t, http.StatusOK, "").JSON(t, &got)
	if got.Status != "disabled" || len(got.Types) != 0 || got.Description != "CRM sync" || got.Secret != "" {
		t.Fatalf("patched %+v", got)
	}
	e.Call(t, "POST", "/v1/webhooks/"+wh.ID+"/replay", tk, map[string]any{"since": time.Now().Add(-time.Hour).Format(time.RFC3339)}).Want(t, http.StatusConflict, "endpoint_disabled")
	e.Call(t, "PATCH", "/v1/webhooks/"+wh.ID, tk, map[string]any{"status": "active"}).Want(t, http.StatusOK, "").JSON(t, &got)
	if got.Status != "active" {
		t.Fatalf("re-enabled %+v", got)
	}
	e.Call(t, "POST", "/v1/webhooks/"+wh.ID+"/replay", tk, map[string]any{"since": time.Now().Add(-31 * 24 * time.Hour).Format(time.RFC3339)}).Want(t, http.StatusBadRequest, "invalid_field")
	e.Call(t, "POST", "/v1/webhooks/"+wh.ID+"/replay", tk, map[string]any{"since": "yesterday"}).Want(t, http.StatusBadRequest, "invalid_field")
	var replay struct {
		Queued int `json:"queued"`
	}
	e.Call(t, "POST", "/v1/webhooks/"+wh.ID+"/replay", tk, map[string]any{"since": time.Now().Add(-time.Hour).Format(time.RFC3339)}).Want(t, http.StatusAccepted, "").JSON(t, &replay)
	var rot struct {
		Secret string `json:"secret"`
	}
	e.Call(t, "POST", "/v1/webhooks/"+wh.ID+"/rotate-secret", tk, nil).Want(t, http.StatusOK, "").JSON(t, &rot)
	if !strings.HasPrefix(rot.Secret, "whsec_") || rot.Secret == wh.Secret {
		t.Fatalf("rotated %q", rot.Secret)
	}
	secrets = append(secrets, rot.Secret)
	r := e.Call(t, "GET", "/v1/webhooks/"+wh.ID, tk, nil).Want(t, http.StatusOK, "")
	if strings.Contains(string(r.Body), "whsec_") {
		t.Fatalf("GET shows the secret: %s", r.Body)
	}
	var deliveries struct {
		Items []any `json:"items"`
	}
	e.Call(t, "GET", "/v1/webhooks/"+wh.ID+"/deliveries", tk, nil).Want(t, http.StatusOK, "").JSON(t, &deliveries)
	e.Call(t, "DELETE", "/v1/webhooks/"+wh.ID, tk, nil).Want(t, http.StatusNoContent, "")
	e.Call(t, "GET", "/v1/webhooks/"+wh.ID, tk, nil).Want(t, http.StatusNotFound, "not_found")
	e.Call(t, "DELETE", "/v1/webhooks/"+wh.ID, tk, nil).Want(t, http.StatusNotFound, "not_found")

	for action, want := range map[string]int{"webhook.create": 1, "webhook.update": 2, "webhook.rotate_secret": 1, "webhook.delete": 1} {
		if n := e.auditCountAction(t, owner.AccountID, action); n != want {
			t.Errorf("%d %s events, want %d", n, action, want)
		}
	}
	page, err := e.Store.ListAudit(context.Background(), owner.AccountID, audit.Filter{TargetType: "webhook", TargetID: wh.ID}, 50, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range page.Items {
		for _, s := range secrets {
			if strings.Contains(string(ev.Before)+string(ev.After), s[len("whsec_"):]) {
				t.Errorf("audit %s carries a secret", ev.Action)
			}
		}
	}
	logs := e.Logs.String()
	for _, s := range secrets {
		if strings.Contains(logs, s[len("whsec_"):]) {
			t.Error("a secret is in the logs")
		}
	}
}

// An account has at most 20 endpoints; deleting one makes room.
func TestWebhookLimit(t *testing.T) {
	e := New(t)
	_, tk := e.acctOwner(t, "wh-limit")
	var first string
	for i := range 20 {
		var wh webhookView
		e.Call(t, "POST", "/v1/webhooks", tk, map[string]any{"url": fmt.Sprintf("http://127.0.0.1:9/%d", i)}).Want(t, http.StatusCreated, "").JSON(t, &wh)
		if i == 0 {
			first = wh.ID
		}
	}
	e.Call(t, "POST", "/v1/webhooks", tk, map[string]any{"url": "http://127.0.0.1:9/21"}).Want(t, http.StatusConflict, "limit_reached")
	e.Call(t, "DELETE", "/v1/webhooks/"+first, tk, nil).Want(t, http.StatusNoContent, "")
	e.Call(t, "POST", "/v1/webhooks", tk, map[string]any{"url": "http://127.0.0.1:9/21"}).Want(t, http.StatusCreated, "")
}

// An endpoint's path and query often hold a capability (a hook token):
// the audit log, readable with audit.view (which does not give
// webhooks.manage), and the events feed record its origin only.
func TestWebhookURLCapabilityStaysOutOfTheAuditLog(t *testing.T) {
	e := New(t)
	_, tk := e.acctOwner(t, "wh-cap")
	var wh webhookView
	e.Call(t, "POST", "/v1/webhooks", tk, map[string]any{"url": "http://127.0.0.1:9/services/SECRETCAPABILITY?token=hunter2"}).Want(t, http.StatusCreated, "").JSON(t, &wh)
	e.Call(t, "PATCH", "/v1/webhooks/"+wh.ID, tk, map[string]any{"description": "renamed"}).Want(t, http.StatusOK, "")
	res := e.Call(t, "GET", "/v1/audit?targetType=webhook&targetId="+wh.ID, tk, nil).Want(t, http.StatusOK, "")
	body := string(res.Body)
	if strings.Contains(body, "SECRETCAPABILITY") || strings.Contains(body, "hunter2") {
		t.Fatalf("the audit log carries the endpoint's path or query: %s", body)
	}
	if !strings.Contains(body, "http://127.0.0.1:9") {
		t.Fatalf("the audit log does not name the endpoint's origin: %s", body)
	}
}

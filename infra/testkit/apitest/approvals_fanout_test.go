package apitest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/localstack/server"
	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/mail"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// fanOutLevel makes n approvers (members written straight to the store,
// approver at store s1) and a one-level policy asking them, and returns
// their addresses.
func (e *Env) fanOutLevel(t *testing.T, owner signedUp, ownerTk string, n int) []string {
	t.Helper()
	ctx := context.Background()
	addrs := make([]string, n)
	now := time.Now()
	for i := range n {
		addrs[i] = newEmail(fmt.Sprintf("fan%03d", i))
		m := team.Member{
			ID: store.NewID("m"), AccountID: owner.AccountID, Email: addrs[i], Name: fmt.Sprintf("Approver %03d", i),
			Status: rbac.StatusActive, Assignments: []rbac.Assignment{at("approver", "store:s1")}, Version: 1, CreatedAt: now, UpdatedAt: now,
		}
		if err := e.Store.AddMember(ctx, m, audit.Event{AccountID: owner.AccountID, ActorID: owner.MemberID, Action: "member.create", TargetType: "member", TargetID: m.ID}); err != nil {
			t.Fatal(err)
		}
	}
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", ownerTk, map[string]any{
		"enabled": true, "expiresAfterHours": 24,
		"levels": []map[string]any{{"minAmount": 0, "role": "approver", "required": 1, "scope": "document"}},
	}).Want(t, http.StatusOK, "")
	return addrs
}

// approvalEmailsTo counts the approval emails (with a link) since since
// to each address.
func (e *Env) approvalEmailsTo(t *testing.T, since time.Time) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, m := range e.SES.Emails(t, since) {
		if !strings.Contains(m.Body.Text, "/approve/") {
			continue
		}
		for _, to := range m.Destination.To {
			got[strings.ToLower(addressOf(to))]++
		}
	}
	return got
}

// addressOf is the address of a "Name <address>" recipient.
func addressOf(to string) string {
	if i := strings.LastIndex(to, "<"); i >= 0 {
		return strings.TrimSuffix(to[i+1:], ">")
	}
	return to
}

// TestApprovalFanOutEmailsEveryApprover is issue 19's regression test at
// a smaller size: a level with 200 approvers (about where the single
// await step used to time out) is fully emailed, once each, through the
// local runner's Notify Map. STEWARD_FANOUT_APPROVERS sets another size.
func TestApprovalFanOutEmailsEveryApprover(t *testing.T) {
	n := 200
	if v, err := strconv.Atoi(os.Getenv("STEWARD_FANOUT_APPROVERS")); err == nil && v > 0 {
		n = v
	}
	e := New(t)
	owner := e.signup(t, newEmail("fan-owner"))
	tk := e.login(t, owner.Email, goodPassword, "").AccessToken
	addrs := e.fanOutLevel(t, owner, tk, n)
	e.Call(t, "PUT", "/v1/documents/purchase_order/fan-po", tk, poBody(100)).Want(t, http.StatusCreated, "")
	since := time.Now()
	req := e.requestApproval(t, tk, "fan-po", nil)
	var got map[string]int
	testenv.Eventually(t, time.Duration(n)*time.Second/4+30*time.Second, fmt.Sprintf("approval emails to the %d approvers", n), func() error {
		got = e.approvalEmailsTo(t, since)
		missing := 0
		for _, a := range addrs {
			if got[a] == 0 {
				missing++
			}
		}
		if missing > 0 {
			return fmt.Errorf("%d of %d not emailed yet", missing, n)
		}
		return nil
	})
	took := time.Since(since)
	for _, a := range addrs {
		if got[a] != 1 {
			t.Errorf("%s got %d approval emails, want 1", a, got[a])
		}
	}
	r := e.getRequest(t, tk, req.ID)
	if r.Status != "pending" || r.CurrentLevel != 1 {
		t.Errorf("request %s at level %d, want pending at 1", r.Status, r.CurrentLevel)
	}
	t.Logf("%d approvers: %d approval emails in %v (%.1f a second)", n, len(addrs), took.Round(time.Millisecond), float64(n)/took.Seconds())
}

// failingSender fails every send to one address.
type failingSender struct {
	mail.Sender
	bad   string
	mu    sync.Mutex
	tries int
}

func (f *failingSender) Send(ctx context.Context, m mail.Message) (string, error) {
	for _, to := range m.To {
		if strings.EqualFold(to.Email, f.bad) {
			f.mu.Lock()
			f.tries++
			f.mu.Unlock()
			return "", errors.New("injected: the mail server refused this recipient")
		}
	}
	return f.Sender.Send(ctx, m)
}

// TestApprovalFanOutOneFailureDoesNotStopTheOthers: one approver's email
// cannot be sent (every attempt fails). Everyone else, in its batch and
// in the others, is emailed; the failing batch is retried; the level
// still waits for a decision (the execution did not fail), and a member
// decides in the app.
func TestApprovalFanOutOneFailureDoesNotStopTheOthers(t *testing.T) {
	fs := &failingSender{}
	e := New(t, func(d *server.Deps) {
		fs.Sender = d.Auth.Mail.Sender
		d.Auth.Mail.Sender = fs // the one outbox every service shares
	})
	owner := e.signup(t, newEmail("fanfail-owner"))
	tk := e.login(t, owner.Email, goodPassword, "").AccessToken
	addrs := e.fanOutLevel(t, owner, tk, 25) // three batches
	fs.mu.Lock()
	fs.bad = addrs[12]
	fs.mu.Unlock()
	e.Call(t, "PUT", "/v1/documents/purchase_order/fanfail-po", tk, poBody(100)).Want(t, http.StatusCreated, "")
	since := time.Now()
	req := e.requestApproval(t, tk, "fanfail-po", nil)
	testenv.Eventually(t, 30*time.Second, "approval emails to every other approver", func() error {
		got := e.approvalEmailsTo(t, since)
		for _, a := range addrs {
			if a != fs.bad && got[a] == 0 {
				return fmt.Errorf("none yet to %s", a)
			}
		}
		return nil
	})
	testenv.Eventually(t, 15*time.Second, "a retry of the failing batch", func() error {
		fs.mu.Lock()
		defer fs.mu.Unlock()
		if fs.tries < 2 {
			return fmt.Errorf("%d attempts", fs.tries)
		}
		return nil
	})
	got := e.approvalEmailsTo(t, since)
	if got[fs.bad] != 0 {
		t.Errorf("the failing approver got %d emails", got[fs.bad])
	}
	for _, a := range addrs {
		if a != fs.bad && got[a] != 1 {
			t.Errorf("%s got %d approval emails, want 1 (a retried batch resends nothing)", a, got[a])
		}
	}
	r := e.getRequest(t, tk, req.ID)
	if r.Status != "pending" || r.CurrentLevel != 1 {
		t.Fatalf("request %s at level %d, want pending at 1", r.Status, r.CurrentLevel)
	}
	// The level still awaits: an emailed approver decides by link.
	tok := e.approvalToken(t, addrs[0], since)
	e.form(t, tok, decideForm("approve", "")).Want(t, http.StatusOK, "")
	t.Logf("25 approvers, one undeliverable: 24 emailed, the failing batch tried %d times so far", fs.tries)
}

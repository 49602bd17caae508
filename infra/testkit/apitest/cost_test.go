package apitest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/testkit/testenv"
)

// costBudget is the most DynamoDB capacity one unit of work may consume:
// the README's cost model is built from these flows, so a change that
// makes a check or an approval read or write more fails here instead of
// silently raising every customer's bill. Units are what DynamoDB (Local)
// reports with ReturnConsumedCapacity TOTAL: on-demand read and write
// request units.
type costBudget struct {
	read, write float64
}

// costFlows are the budgets, a little above the measured figures (see the
// README's cost model; the test logs the measured ones).
var costFlows = map[string]costBudget{
	"check":      {read: 2, write: 0},
	"checkOther": {read: 3, write: 0},
	"invitation": {read: 14, write: 32},
	// approval: 27 RRU / 50 WRU before the approval indexes; the status
	// and requester index keys on the request (every request write also
	// writes gsi1 and gsi2), the awaiting entries (put per awaited member,
	// deleted on decision and end) and reading the awaiting set before an
	// await and an end bring it to 29 / 78 (pkg/store/approvalindex.go);
	// the approvers' status read before their emails (Notify:
	// store.ActiveMembers, eventually consistent) to 30 / 78.
	"approval": {read: 30, write: 80},
}

// TestCostPerFlow measures the DynamoDB units and the in-process time of
// the flows the README prices: one permission check (about oneself and
// about another member), one invitation (create, email, accept), one
// approval (request, approver email, open the link, approve, outcome
// email), and fails when a flow goes over its budget.
func TestCostPerFlow(t *testing.T) {
	meter := &testenv.Capacity{}
	e := New(t, withDynamoOptions(t, meter.Option))
	tm := e.apSetup(t)
	// Two levels, but the documents' amount (100) needs only the first:
	// one manager of the store approves.
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, twoLevelPolicy()).Want(t, http.StatusOK, "")

	type measured struct {
		name   string
		units  testenv.Usage
		took   []time.Duration
		n      int
		emails int
	}
	var results []measured
	measure := func(name string, n int, run func(i int)) {
		meter.Reset()
		// Counted, not filtered by time: the emulator's timestamps are
		// too coarse to split the flows.
		emailsBefore := len(e.SES.Emails(t, time.Time{}))
		var took []time.Duration
		for i := range n {
			start := time.Now()
			run(i)
			took = append(took, time.Since(start))
		}
		u := meter.Reset()
		results = append(results, measured{name: name, units: u, took: took, n: n, emails: len(e.SES.Emails(t, time.Time{})) - emailsBefore})
	}

	resource := map[string]any{"type": "purchase_order", "store": "s1"}
	measure("check", 20, func(int) {
		if !e.check(t, tm.mgr1.Token, "purchases.view", resource) {
			t.Fatal("manager may not view purchase orders at s1")
		}
	})
	measure("checkOther", 20, func(int) {
		var out struct {
			Allowed bool `json:"allowed"`
		}
		e.Call(t, "POST", "/v1/authz/check", tm.ownerTk, map[string]any{"userId": tm.mgr1.ID, "action": "purchases.view", "resource": resource}).Want(t, http.StatusOK, "").JSON(t, &out)
		if !out.Allowed {
			t.Fatal("owner's check about the manager: denied")
		}
	})
	measure("invitation", 5, func(i int) {
		email := newEmail(fmt.Sprint("cost-inv-", i))
		since := time.Now()
		e.Call(t, "POST", "/v1/invitations", tm.ownerTk, map[string]any{"email": email, "name": "Ivy Invited", "assignments": []map[string]string{{"role": "team_member", "scope": "store:s1"}}}).Want(t, http.StatusCreated, "")
		tok := e.TokenFromEmail(t, email, "invit", since)
		e.Call(t, "GET", "/v1/invitations/lookup?token="+tok, "", nil).Want(t, http.StatusOK, "")
		e.Call(t, "POST", "/v1/invitations/accept", "", map[string]string{"token": tok, "password": "a good long passphrase"}).Want(t, http.StatusOK, "")
	})
	// The documents are written before the measurement: a document is the
	// client's own data, stored whether or not it goes through approval.
	for i := range 5 {
		e.Call(t, "PUT", fmt.Sprint("/v1/documents/purchase_order/cost-po-", i), tm.requester.Token, poBody(100)).Want(t, http.StatusCreated, "")
	}
	var used []string
	measure("approval", 5, func(i int) {
		since := time.Now()
		e.requestApproval(t, tm.requester.Token, fmt.Sprint("cost-po-", i), nil)
		tok := e.approvalToken(t, tm.mgr1.Email, since, used...)
		used = append(used, tok)
		e.Call(t, "GET", "/approve/"+tok, "", nil).Want(t, http.StatusOK, "")
		if r := e.form(t, tok, decideForm("approve", "fine")); r.Status != http.StatusOK {
			t.Fatalf("approve: %d %s", r.Status, r.Body)
		}
		// The outcome email is the workflow's last step.
		e.waitEmails(t, tm.requester.Email, "Approved", i+1)
	})

	var report strings.Builder
	for _, r := range results {
		n := float64(r.n)
		read, write := r.units.Read/n, r.units.Write/n
		slices.Sort(r.took)
		fmt.Fprintf(&report, "\n  %-10s %6.1f RRU %6.1f WRU %5.1f DynamoDB calls %4.1f emails per flow, median %s (in process, DynamoDB Local)",
			r.name, read, write, float64(r.units.Calls)/n, float64(r.emails)/n, r.took[len(r.took)/2].Round(100*time.Microsecond))
		b := costFlows[r.name]
		if read > b.read || write > b.write {
			t.Errorf("%s: %.1f RRU / %.1f WRU per flow, over its budget %.1f / %.1f", r.name, read, write, b.read, b.write)
		}
		if r.units.Calls == 0 {
			t.Errorf("%s: no DynamoDB call reported capacity", r.name)
		}
	}
	t.Logf("DynamoDB units per flow:%s", report.String())
}

// waitEmails waits until n emails to addr whose subject starts with
// prefix have been sent since the test began.
func (e *Env) waitEmails(t testing.TB, addr, prefix string, n int) {
	t.Helper()
	testenv.Eventually(t, 15*time.Second, fmt.Sprintf("%d %q emails to %s", n, prefix, addr), func() error {
		if got := e.emailsTo(t, addr, prefix, time.Time{}); got < n {
			return fmt.Errorf("%d so far", got)
		}
		return nil
	})
}

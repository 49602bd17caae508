package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/stewardhq/steward/infra/sizing"
	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/alerts"
	"github.com/stewardhq/steward/pkg/routes"
	"github.com/stewardhq/steward/pkg/workflow"
)

// flows runs the measured flows against the seeded world.
type flows struct {
	c      *client
	meter  *testenv.Capacity
	sesURL string
	w      world
	sizes  Sizes
	alerts *alerts.Service
	out    io.Writer
}

// timeout is a function's configured timeout (infra/sizing): what an API
// answer must beat in production.
func timeout(function string) time.Duration {
	return time.Duration(sizing.For(function).TimeoutSeconds * float64(time.Second))
}

// measure runs f between two readings of the capacity meter.
func (f *flows) measure(name, criterion string, run func() (pass bool, reason string, ops int)) Result {
	fmt.Fprintf(f.out, "  flow: %s...\n", name)
	f.meter.Reset()
	began := time.Now()
	pass, reason, ops := run()
	return Result{Name: name, Criterion: criterion, Pass: pass, Reason: reason, Wall: time.Since(began), Units: f.meter.Reset(), Ops: ops}
}

// failed is a flow whose unmeasured preparation failed.
func (f *flows) failed(name, criterion string, err error) Result {
	fmt.Fprintf(f.out, "  flow: %s: FAIL before measuring: %v\n", name, err)
	return Result{Name: name, Criterion: criterion, Reason: "preparation failed: " + err.Error()}
}

// run runs every flow; a failing flow does not stop the others.
func (f *flows) run(ctx context.Context) []Result {
	var rs []Result
	for _, flow := range []func(context.Context) Result{
		f.checks, f.waitingForMe, f.deleteRole, f.wideLevel, f.preview, f.alertJob, f.invitations, f.signIn,
	} {
		if ctx.Err() != nil {
			break
		}
		r := flow(ctx)
		fmt.Fprintf(f.out, "  flow: %s: %s in %s (%s)\n", r.Name, r.Verdict(), wall(r.Wall), oneLine(r.Reason, 300))
		rs = append(rs, r)
	}
	return rs
}

func (f *flows) checks(ctx context.Context) Result {
	name := fmt.Sprintf("%d checks with userId", f.sizes.Checks)
	limit := timeout(routes.FunctionPermissions)
	// apitest's budget for a check about another member in an account
	// with 100 custom roles (TestCostWithManyCustomRoles: the caller's
	// member, session and roles version item, the other member and the
	// version item again; the roles themselves from the cache).
	const budget = 5
	crit := fmt.Sprintf("every POST /v1/authz/check naming a userId answers 200 within the permissions function's %s timeout, at most %d read units per check on average (the cost test's budget with 100 custom roles)", wall(limit), budget)
	tok, err := f.c.login(ctx, f.w.ownerEmail, passphrase, "")
	if err != nil {
		return f.failed(name, crit, err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	ok := 0
	var slowest time.Duration
	var firstErr string
	res := f.measure(name, crit, func() (bool, string, int) {
		for range f.sizes.Checks {
			body := map[string]any{"userId": f.w.members[rng.IntN(len(f.w.members))], "action": "purchases.view",
				"resource": map[string]any{"type": "purchase_order", "store": f.w.stores[rng.IntN(len(f.w.stores))]}}
			r, err := f.c.do(ctx, "POST", "/v1/authz/check", tok, body)
			switch {
			case err != nil:
				firstErr = err.Error()
				continue
			case r.Status == http.StatusOK:
				ok++
			case firstErr == "":
				firstErr = fmt.Sprintf("status %d: %s", r.Status, r.Body)
			}
			slowest = max(slowest, r.Took)
		}
		return false, "", f.sizes.Checks
	})
	res.Pass, res.Reason = judgeChecks(f.sizes.Checks, ok, slowest, limit, res.Units, budget)
	if firstErr != "" {
		res.Reason += "; first failure: " + firstErr
	}
	return res
}

type requestPage struct {
	Items []json.RawMessage `json:"items"`
	Next  string            `json:"nextCursor"`
}

func (f *flows) waitingForMe(ctx context.Context) Result {
	name := "waiting for me, first page"
	limit := timeout(routes.FunctionApprovals)
	crit := fmt.Sprintf("GET /v1/approval-requests?mine=decide as a reviewer awaited on %d requests (the newest %d decided) answers 200 with at least one request within %s", f.sizes.Documents-f.sizes.Decided, f.sizes.Decided, wall(limit))
	tok, err := f.c.login(ctx, f.w.reviewerEmail, passphrase, "")
	if err != nil {
		return f.failed(name, crit, err)
	}
	res := f.measure(name, crit, func() (bool, string, int) {
		r, err := f.c.do(ctx, "GET", "/v1/approval-requests?mine=decide", tok, nil)
		if err != nil {
			return false, err.Error(), 1
		}
		var p requestPage
		_ = json.Unmarshal(r.Body, &p)
		pass, reason := judgeWithin(r.Status, http.StatusOK, r.Took, limit, string(r.Body))
		if r.Status == http.StatusOK {
			reason += fmt.Sprintf("; %d requests on the page, nextCursor %v", len(p.Items), p.Next != "")
			if len(p.Items) == 0 {
				pass = false
			}
		}
		return pass, reason, 1
	})
	// Unmeasured: how many pages a client follows to the first request.
	if !res.Pass {
		res.Reason += "; " + f.pagesToFirst(ctx, tok)
	}
	return res
}

// pagesToFirst follows nextCursor (at most 100 pages) to the first
// non-empty page of "waiting for me".
func (f *flows) pagesToFirst(ctx context.Context, tok string) string {
	path := "/v1/approval-requests?mine=decide"
	began := time.Now()
	f.meter.Reset()
	for page := 1; page <= 100; page++ {
		r, err := f.c.do(ctx, "GET", path, tok, nil)
		if err != nil || r.Status != http.StatusOK {
			return fmt.Sprintf("following the cursor: page %d failed", page)
		}
		var p requestPage
		_ = json.Unmarshal(r.Body, &p)
		if len(p.Items) > 0 {
			u := f.meter.Reset()
			return fmt.Sprintf("the first request is on page %d (%d GET requests, %s, %s read units in all)", page, page, wall(time.Since(began)), units(round1(u.Read)))
		}
		if p.Next == "" {
			return fmt.Sprintf("no request on any of %d pages", page)
		}
		path = "/v1/approval-requests?mine=decide&cursor=" + url.QueryEscape(p.Next)
	}
	return "no request on the first 100 pages"
}

func (f *flows) deleteRole(ctx context.Context) Result {
	name := fmt.Sprintf("delete a role held by %d", f.sizes.RoleHolders)
	limit := timeout(routes.FunctionPermissions)
	crit := fmt.Sprintf("DELETE /v1/roles/%s?members=reassign&to=%s answers 2xx within %s", roleDoomed, roleTarget, wall(limit))
	tok, err := f.c.login(ctx, f.w.ownerEmail, passphrase, "")
	if err != nil {
		return f.failed(name, crit, err)
	}
	return f.measure(name, crit, func() (bool, string, int) {
		r, err := f.c.do(ctx, "DELETE", "/v1/roles/"+roleDoomed+"?members=reassign&to="+roleTarget, tok, nil)
		if err != nil {
			return false, err.Error(), 1
		}
		want := http.StatusNoContent
		if r.Status/100 == 2 {
			want = r.Status
		}
		pass, reason := judgeWithin(r.Status, want, r.Took, limit, string(r.Body))
		return pass, reason, 1
	})
}

// sesEmail is the part of an aws-ses-v2-local email the flows read.
type sesEmail struct {
	Destination struct {
		To []string `json:"to"`
	} `json:"destination"`
	Subject string `json:"subject"`
}

// emailsSince lists the emails SES stored since t (whole seconds).
func (f *flows) emailsSince(ctx context.Context, t time.Time) ([]sesEmail, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", f.sesURL+"/store?since="+strconv.FormatInt(t.Unix(), 10), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var st struct {
		Emails []sesEmail `json:"emails"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, fmt.Errorf("SES store: %w", err)
	}
	return st.Emails, nil
}

func (f *flows) wideLevel(ctx context.Context) Result {
	name := fmt.Sprintf("approval level of %d approvers", f.sizes.Approvers)
	// The fan-out sends at a pace under SES's rate (NotifyMaxConcurrency
	// batches at once, each one email per workflow.DefaultSendInterval): a level of
	// n approvers needs n / rate seconds at least. It passes when every
	// approver is emailed within 1.5 times that plus one workflow step's
	// timeout, and no step timed out on the way.
	rate := float64(workflow.NotifyMaxConcurrency) * float64(time.Second) / float64(workflow.DefaultSendInterval)
	paced := time.Duration(float64(f.sizes.Approvers) / rate * float64(time.Second))
	limit := paced*3/2 + timeout(routes.FunctionWorkflow)
	crit := fmt.Sprintf("from POST .../approval-requests (202) until every holder of the level's role has its approval email (aws-ses-v2-local's store) within %s: 1.5 times the %s the fan-out's pace (%.0f emails a second, under SES's 14) needs, plus the workflow step's %s timeout", wall(limit), wall(paced), rate, wall(timeout(routes.FunctionWorkflow)))
	tok, err := f.c.login(ctx, f.w.ownerEmail, passphrase, "")
	if err != nil {
		return f.failed(name, crit, err)
	}
	doc := "/v1/documents/sales_order/so-wide"
	if _, err := f.c.want(ctx, http.StatusCreated, "PUT", doc, tok, map[string]any{"store": f.w.stores[0], "amount": 1000, "currency": "EUR", "title": "Wide sales order"}); err != nil {
		return f.failed(name, crit, err)
	}
	since := time.Now().Add(-time.Second)
	// Bound the wait: well past the limit, to measure how long it takes.
	bound := max(3*limit, 2*time.Minute)
	res := f.measure(name, crit, func() (bool, string, int) {
		r, err := f.c.want(ctx, http.StatusAccepted, "POST", doc+"/approval-requests", tok, map[string]any{})
		if err != nil {
			return false, err.Error(), 1
		}
		began := time.Now().Add(-r.Took)
		got := 0
		for {
			emails, err := f.emailsSince(ctx, since)
			if err != nil {
				return false, err.Error(), 1
			}
			seen := map[string]bool{}
			for _, e := range emails {
				for _, to := range e.Destination.To {
					if f.w.approverEmails[bareEmail(to)] {
						seen[bareEmail(to)] = true
					}
				}
			}
			got = len(seen)
			if got >= f.sizes.Approvers || time.Since(began) > bound || ctx.Err() != nil {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		pass, reason := judgeCount("approvers emailed", got, f.sizes.Approvers, time.Since(began), limit)
		if got < f.sizes.Approvers {
			reason += fmt.Sprintf(" (gave up after %s)", wall(bound))
		}
		return pass, reason, 1
	})
	res.Reason += "; " + per(res.Units, f.sizes.Approvers, "approver")
	return res
}

// per is the units of u per one of n things.
func per(u testenv.Usage, n int, thing string) string {
	if n < 1 {
		return ""
	}
	return fmt.Sprintf("%.1f read and %.1f write units per %s", u.Read/float64(n), u.Write/float64(n), thing)
}

// bareEmail is the address of "Name <addr>" or addr.
func bareEmail(s string) string {
	if i, j := lastIndex(s, '<'), lastIndex(s, '>'); i >= 0 && j > i {
		return s[i+1 : j]
	}
	return s
}

func lastIndex(s string, c byte) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func (f *flows) preview(ctx context.Context) Result {
	name := "alert preview, large tenant"
	limit := timeout(routes.FunctionAlerts)
	crit := fmt.Sprintf("GET /v1/alerts/preview as the owner answers 200 within the alerts function's %s timeout", wall(limit))
	tok, err := f.c.login(ctx, f.w.ownerEmail, passphrase, "")
	if err != nil {
		return f.failed(name, crit, err)
	}
	return f.measure(name, crit, func() (bool, string, int) {
		r, err := f.c.do(ctx, "GET", "/v1/alerts/preview", tok, nil)
		if err != nil {
			return false, err.Error(), 1
		}
		pass, reason := judgeWithin(r.Status, http.StatusOK, r.Took, limit, string(r.Body))
		var plan alerts.Plan
		if r.Status == http.StatusOK && json.Unmarshal(r.Body, &plan) == nil {
			reason += fmt.Sprintf("; %d recipients, %d KiB", len(plan.Recipients), len(r.Body)/1024)
		}
		return pass, reason, 1
	})
}

func (f *flows) alertJob(ctx context.Context) Result {
	name := "hourly alert job, all accounts"
	limit := timeout(routes.FunctionAlertsJob)
	crit := fmt.Sprintf("alerts.Service.Run over every account (forced: every account due, the busiest hour) ends without error or failed digest within the job function's %s timeout", wall(limit))
	sent := 0
	res := f.measure(name, crit, func() (bool, string, int) {
		rctx, cancel := context.WithTimeout(ctx, limit+time.Minute)
		defer cancel()
		began := time.Now()
		rep, err := f.alerts.Run(rctx, alerts.RunOptions{Force: true})
		took := time.Since(began)
		sent = rep.Sent
		reason := fmt.Sprintf("%d accounts, %d due, %d digests sent, %d skipped, %d failed in %s", rep.Accounts, rep.Due, rep.Sent, rep.Skipped, rep.Failed, wall(took))
		switch {
		case rctx.Err() != nil:
			return false, reason + fmt.Sprintf("; stopped after %s: %v", wall(limit+time.Minute), err), 1
		case err != nil:
			return false, reason + "; error: " + err.Error(), 1
		case rep.Failed > 0:
			return false, reason, 1
		case took > limit:
			return false, reason + fmt.Sprintf(", over the %s timeout", wall(limit)), 1
		}
		return true, reason, 1
	})
	if sent > 0 {
		res.Reason += "; " + per(res.Units, sent, "digest")
	}
	return res
}

func (f *flows) invitations(ctx context.Context) Result {
	n := f.sizes.Invitations
	name := fmt.Sprintf("%d invitations at once", n)
	limit := time.Minute
	crit := fmt.Sprintf("%d POST /v1/invitations sent at once, each with a custom role at a store, all answer 201 (no 5xx, no 409) within %s", n, wall(limit))
	tok, err := f.c.login(ctx, f.w.ownerEmail, passphrase, "")
	if err != nil {
		return f.failed(name, crit, err)
	}
	return f.measure(name, crit, func() (bool, string, int) {
		var mu sync.Mutex
		st := Statuses{}
		var sample string
		var wg sync.WaitGroup
		began := time.Now()
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				role := f.w.roles[3+i%(len(f.w.roles)-3)]
				body := map[string]any{"email": fmt.Sprintf("invitee%04d@scale.example.com", i), "name": fmt.Sprintf("Invitee %d", i),
					"assignments": []map[string]string{{"role": role, "scope": "store:" + f.w.stores[i%len(f.w.stores)]}}}
				r, err := f.c.do(ctx, "POST", "/v1/invitations", tok, body)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					st[0]++
					sample = err.Error()
					return
				}
				st[r.Status]++
				if r.Status != http.StatusCreated && sample == "" {
					sample = fmt.Sprintf("%d %s", r.Status, r.Body)
				}
			}()
		}
		wg.Wait()
		pass, reason := judgeInvitations(st, n, time.Since(began), limit)
		if sample != "" {
			reason += "; e.g. " + sample
		}
		return pass, reason, n
	})
}

func (f *flows) signIn(ctx context.Context) Result {
	name := fmt.Sprintf("sign-in, member of %d accounts", f.sizes.Memberships)
	limit := timeout(routes.FunctionAuth)
	crit := fmt.Sprintf("POST /v1/auth/login without accountId answers 409 account_required listing all %d accounts, then with one accountId 200, each within the auth function's %s timeout", f.sizes.Memberships, wall(limit))
	return f.measure(name, crit, func() (bool, string, int) {
		r, err := f.c.do(ctx, "POST", "/v1/auth/login", "", map[string]string{"email": f.w.multiEmail, "password": passphrase})
		if err != nil {
			return false, err.Error(), 2
		}
		pass, reason := judgeWithin(r.Status, http.StatusConflict, r.Took, limit, string(r.Body))
		var body struct {
			Code     string `json:"code"`
			Accounts []struct {
				ID string `json:"id"`
			} `json:"accounts"`
		}
		_ = json.Unmarshal(r.Body, &body)
		if r.Status == http.StatusConflict {
			reason += fmt.Sprintf(" (%s, %d accounts listed)", body.Code, len(body.Accounts))
			if len(body.Accounts) != f.sizes.Memberships {
				pass = false
			}
		}
		if len(body.Accounts) == 0 {
			return false, reason, 2
		}
		r2, err := f.c.do(ctx, "POST", "/v1/auth/login", "", map[string]string{"email": f.w.multiEmail, "password": passphrase, "accountId": body.Accounts[len(body.Accounts)-1].ID})
		if err != nil {
			return false, reason + "; " + err.Error(), 2
		}
		pass2, reason2 := judgeWithin(r2.Status, http.StatusOK, r2.Took, limit, string(r2.Body))
		return pass && pass2, reason + "; with accountId: " + reason2, 2
	})
}

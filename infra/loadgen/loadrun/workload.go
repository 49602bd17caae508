package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stewardhq/steward/pkg/rbac"
)

// RunOptions bound a workload.
type RunOptions struct {
	// Workers is the number of concurrent workers, each with one request
	// in flight.
	Workers int
	// Duration is how long workers start new operations.
	Duration time.Duration
	// MaxOps bounds the operations started (a mixed write is one
	// operation of two requests).
	MaxOps int64
	// Seed makes each worker's choices reproducible.
	Seed uint64
}

// Errors tallies failed requests.
type Errors struct {
	// Transport: no answer (connection refused, reset, timeout).
	Transport int64
	// Server: any 5xx.
	Server int64
	// Unexpected: any other status than the expected one (a 404 is
	// expected only for a check naming another account's member).
	Unexpected int64
	// Leaks: a cross-tenant check answered allowed:true.
	Leaks int64
}

// Total is the number of failed requests.
func (e Errors) Total() int64 { return e.Transport + e.Server + e.Unexpected + e.Leaks }

func (e *Errors) add(o Errors) {
	e.Transport += o.Transport
	e.Server += o.Server
	e.Unexpected += o.Unexpected
	e.Leaks += o.Leaks
}

// Result is what a workload measured.
type Result struct {
	// Rec holds the latencies by label.
	Rec *Recorder
	// Elapsed is from the first request to the last answer.
	Elapsed time.Duration
	// Requests is the number of requests answered or failed; Checks how
	// many of them were POST /v1/authz/check.
	Requests, Checks int64
	// Errors are the failed requests.
	Errors Errors
	// Allowed of Decided in-tenant checks answered allowed:true.
	Allowed, Decided int64
	// Samples are the first few failures, for the report.
	Samples []string
}

// Labels of the checks of workload A, by kind, and of the routes.
const (
	LabelCheckSelfOwner   = "check: self, owner (admin)"
	LabelCheckSelfManager = "check: self, manager"
	LabelCheckUser        = "check: userId, same account"
	LabelCheckCrossUser   = "check: userId of another account (404)"
	LabelCheckCrossStore  = "check: store of another account"
	RouteCheck            = "POST /v1/authz/check"
	RouteMe               = "GET /v1/me"
	RouteGetUser          = "GET /v1/users/{id}"
	RouteRoles            = "GET /v1/roles"
	RoutePatchUser        = "PATCH /v1/users/{id}"
)

// CheckLabels lists workload A's labels in report order.
var CheckLabels = []string{LabelCheckSelfOwner, LabelCheckSelfManager, LabelCheckUser, LabelCheckCrossUser, LabelCheckCrossStore}

// MixedLabels lists workload B's routes in report order.
var MixedLabels = []string{RouteCheck, RouteMe, RouteGetUser, RouteRoles, RoutePatchUser}

// checkReq is one prepared POST /v1/authz/check.
type checkReq struct {
	label string
	token string
	body  []byte
	want  int
	cross bool
}

type checkBody struct {
	Action   string   `json:"action"`
	Resource checkRes `json:"resource"`
	UserID   string   `json:"userId,omitempty"`
}

type checkRes struct {
	Type      string `json:"type,omitempty"`
	ID        string `json:"id,omitempty"`
	Store     string `json:"store,omitempty"`
	DocStatus string `json:"docStatus,omitempty"`
}

// Workload holds the prepared requests of both workloads.
type Workload struct {
	client *Client
	ds     *Dataset
	tokens []Tokens
	checks []checkReq
}

// NewWorkload prepares n seeded random checks over ds: 15% the owner
// about itself, 30% the manager about itself, 45% the owner about a member
// of its account (userId), and 10% across tenants: the owner naming a
// member of another account (answered 404) or the manager naming a store
// of another account (answered allowed:false; the action is then a
// permission that is not account-wide). Actions are random
// permission keys of the catalogue, or document actions on a document of
// random type and status; resources are one of the account's stores (80%),
// the account itself (10%) or a document in a store (10%).
func NewWorkload(c *Client, ds *Dataset, tokens []Tokens, n int, seed uint64) *Workload {
	rng := rand.New(rand.NewPCG(seed, 0x10ad))
	// keys are every permission; scoped the ones that hold only at the
	// scopes they are granted at (not account-wide ones such as
	// directory.view, which a store grant extends to the whole account).
	var keys, scoped []string
	for _, p := range rbac.Permissions() {
		keys = append(keys, p.Key)
		if !p.AccountWide {
			scoped = append(scoped, p.Key)
		}
	}
	docActions := rbac.DocumentActions()
	docTypes := rbac.DocTypes()
	docStatuses := []rbac.DocStatus{"", rbac.DocDraft, rbac.DocPendingApproval, rbac.DocApproved, rbac.DocDenied, rbac.DocExpired, rbac.DocCompleted}
	w := &Workload{client: c, ds: ds, tokens: tokens}
	accts := ds.Accounts
	for range n {
		ai := rng.IntN(len(accts))
		a := accts[ai]
		other := accts[(ai+1+rng.IntN(len(accts)-1))%len(accts)]
		b := checkBody{Action: keys[rng.IntN(len(keys))]}
		switch x := rng.IntN(10); {
		case x < 8:
			b.Resource.Store = a.Stores[rng.IntN(len(a.Stores))]
		case x < 9: // account-level
		default:
			b.Action = docActions[rng.IntN(len(docActions))]
			b.Resource = checkRes{Type: string(docTypes[rng.IntN(len(docTypes))]), ID: fmt.Sprintf("doc-%d", rng.IntN(1000)),
				Store: a.Stores[rng.IntN(len(a.Stores))], DocStatus: string(docStatuses[rng.IntN(len(docStatuses))])}
		}
		q := checkReq{want: http.StatusOK}
		switch x := rng.IntN(100); {
		case x < 15:
			q.label, q.token = LabelCheckSelfOwner, tokens[ai].Owner
		case x < 45:
			q.label, q.token = LabelCheckSelfManager, tokens[ai].Caller
		case x < 90:
			q.label, q.token = LabelCheckUser, tokens[ai].Owner
			b.UserID = a.Members[1+rng.IntN(len(a.Members)-1)].ID
		case x < 95:
			q.label, q.token, q.want, q.cross = LabelCheckCrossUser, tokens[ai].Owner, http.StatusNotFound, true
			b.UserID = other.Members[rng.IntN(len(other.Members))].ID
		default:
			// The manager holds grants only at two of its own stores:
			// another account's store must be denied.
			q.label, q.token, q.cross = LabelCheckCrossStore, tokens[ai].Caller, true
			b.Resource.Type, b.Resource.ID, b.Resource.DocStatus = "", "", ""
			b.Resource.Store = other.Stores[rng.IntN(len(other.Stores))]
			if !slices.Contains(scoped, b.Action) {
				b.Action = scoped[rng.IntN(len(scoped))]
			}
		}
		q.body, _ = json.Marshal(b)
		w.checks = append(w.checks, q)
	}
	return w
}

// worker is one worker's tallies.
type worker struct {
	id      int
	rng     *rand.Rand
	rec     *Recorder
	errs    Errors
	reqs    int64
	checks  int64
	allowed int64
	decided int64
	samples *sampler
}

// sampler keeps the first few failure descriptions.
type sampler struct {
	mu  sync.Mutex
	out []string
}

func (s *sampler) add(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.out) < 8 {
		s.out = append(s.out, fmt.Sprintf(format, args...))
	}
}

// run runs op on opts.Workers workers until opts.Duration has passed, or
// opts.MaxOps operations have started, or ctx ends; a request in flight
// at the deadline finishes and counts.
func run(ctx context.Context, opts RunOptions, op func(ctx context.Context, w *worker)) *Result {
	var budget atomic.Int64
	budget.Store(opts.MaxOps)
	deadline := time.Now().Add(opts.Duration)
	smp := &sampler{}
	workers := make([]*worker, max(1, opts.Workers))
	began := time.Now()
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{id: i, rng: rand.New(rand.NewPCG(opts.Seed, uint64(i)+1)), rec: NewRecorder(), samples: smp}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(deadline) && budget.Add(-1) >= 0 {
				op(ctx, w)
			}
		}()
	}
	wg.Wait()
	res := &Result{Rec: NewRecorder(), Elapsed: time.Since(began)}
	for _, w := range workers {
		res.Rec.Merge(w.rec)
		res.Errors.add(w.errs)
		res.Requests += w.reqs
		res.Checks += w.checks
		res.Allowed += w.allowed
		res.Decided += w.decided
	}
	res.Samples = smp.out
	return res
}

// call sends one request and tallies it under label: ok when the status
// is want. It returns the response when ok.
func (wl *Workload) call(ctx context.Context, w *worker, label string, want int, method, path, token string, body []byte, headers ...string) *Response {
	t0 := time.Now()
	resp, err := wl.client.Do(ctx, method, path, token, body, headers...)
	d := time.Since(t0)
	if err != nil && ctx.Err() != nil {
		return nil // interrupted: not a measurement
	}
	w.reqs++
	switch {
	case err != nil:
		w.errs.Transport++
		w.samples.add("%s %s: %v", method, path, err)
	case resp.Status >= 500:
		w.errs.Server++
		w.samples.add("%s %s: %d %s", method, path, resp.Status, resp.Body)
	case resp.Status != want:
		w.errs.Unexpected++
		w.samples.add("%s %s: %d (want %d) %s", method, path, resp.Status, want, resp.Body)
	default:
		w.rec.Add(label, d)
		return resp
	}
	w.rec.Fail(label)
	return nil
}

// check sends one prepared check, under label (its kind when "").
func (wl *Workload) check(ctx context.Context, w *worker, q *checkReq, label string) {
	if label == "" {
		label = q.label
	}
	w.checks++
	resp := wl.call(ctx, w, label, q.want, http.MethodPost, "/v1/authz/check", q.token, q.body)
	if resp == nil || resp.Status != http.StatusOK {
		return
	}
	var out struct {
		Allowed bool `json:"allowed"`
	}
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		w.errs.Unexpected++
		w.samples.add("check: undecodable answer %s", resp.Body)
		return
	}
	if q.cross {
		if out.Allowed {
			w.errs.Leaks++
			w.samples.add("cross-tenant check allowed: %s -> %s", q.body, resp.Body)
		}
		return
	}
	w.decided++
	if out.Allowed {
		w.allowed++
	}
}

// RunChecks is workload A: POST /v1/authz/check only, the prepared checks
// in order from a random start per worker.
func (wl *Workload) RunChecks(ctx context.Context, opts RunOptions) *Result {
	return run(ctx, opts, func(ctx context.Context, w *worker) {
		q := &wl.checks[w.rng.IntN(len(wl.checks))]
		wl.check(ctx, w, q, "")
	})
}

// RunMixed is workload B: 80% checks (the prepared ones), 15% reads (GET
// /v1/me, GET /v1/users/{id}, GET /v1/roles, by the owner or the manager
// of a random account) and 5% writes: the owner renames a member with
// PATCH /v1/users/{id}, If-Match from a GET just before. Each worker
// renames only its own members (member index modulo workers), so that
// writes never conflict across workers and a 412 is a real error.
func (wl *Workload) RunMixed(ctx context.Context, opts RunOptions) *Result {
	type target struct{ acct, member int }
	targets := make([][]target, max(1, opts.Workers))
	next := make([]int, len(targets))
	for ai, a := range wl.ds.Accounts {
		for mi := 2; mi < len(a.Members); mi++ {
			k := (ai*len(a.Members) + mi) % len(targets)
			targets[k] = append(targets[k], target{ai, mi})
		}
	}
	renames := make([]int, len(targets))
	return run(ctx, opts, func(ctx context.Context, w *worker) {
		ai := w.rng.IntN(len(wl.ds.Accounts))
		a := wl.ds.Accounts[ai]
		tok := wl.tokens[ai].Owner
		if w.rng.IntN(2) == 0 {
			tok = wl.tokens[ai].Caller
		}
		switch x := w.rng.IntN(100); {
		case x < 80:
			wl.check(ctx, w, &wl.checks[w.rng.IntN(len(wl.checks))], RouteCheck)
		case x < 85:
			wl.call(ctx, w, RouteMe, http.StatusOK, http.MethodGet, "/v1/me", tok, nil)
		case x < 90:
			id := a.Members[w.rng.IntN(len(a.Members))].ID
			wl.call(ctx, w, RouteGetUser, http.StatusOK, http.MethodGet, "/v1/users/"+id, tok, nil)
		case x < 95:
			wl.call(ctx, w, RouteRoles, http.StatusOK, http.MethodGet, "/v1/roles", tok, nil)
		default:
			mine := targets[w.id]
			if len(mine) == 0 {
				return
			}
			t := mine[next[w.id]%len(mine)]
			next[w.id]++
			renames[w.id]++
			m := wl.ds.Accounts[t.acct].Members[t.member]
			owner := wl.tokens[t.acct].Owner
			got := wl.call(ctx, w, RouteGetUser, http.StatusOK, http.MethodGet, "/v1/users/"+m.ID, owner, nil)
			if got == nil {
				return
			}
			body, _ := json.Marshal(map[string]string{"name": fmt.Sprintf("Member %d (rename %d by worker %d)", t.member, renames[w.id], w.id)})
			wl.call(ctx, w, RoutePatchUser, http.StatusOK, http.MethodPatch, "/v1/users/"+m.ID, owner, body, "If-Match", got.Header.Get("ETag"))
		}
	})
}

package apitest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/stewardhq/steward/infra/localstack/server"
	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/approvals"
	"github.com/stewardhq/steward/pkg/awsclient"
	"github.com/stewardhq/steward/pkg/awsclient/sesclient"
	"github.com/stewardhq/steward/pkg/mail"
	"github.com/stewardhq/steward/pkg/mail/sesmail"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/workflow"
)

// dynamoFault fails the next n calls of one DynamoDB operation with an
// API error (a throttling code), inside the SDK's retry loop: every
// attempt, retries included, counts.
type dynamoFault struct {
	mu        sync.Mutex
	op, code  string
	remaining int
	injected  int
}

func (f *dynamoFault) arm(op, code string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.op, f.code, f.remaining, f.injected = op, code, n, 0
}

// take reports whether this attempt of op fails, and with which code.
func (f *dynamoFault) take(op string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.remaining == 0 || op != f.op {
		return "", false
	}
	f.remaining--
	f.injected++
	return f.code, true
}

func (f *dynamoFault) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.injected
}

func (f *dynamoFault) apply(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		// After "Retry" in the finalize step: each attempt passes here.
		return s.Finalize.Add(middleware.FinalizeMiddlewareFunc("stewardInjectFault",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if code, ok := f.take(awsmiddleware.GetOperationName(ctx)); ok {
					return middleware.FinalizeOutput{}, middleware.Metadata{}, &smithy.GenericAPIError{Code: code, Message: "injected by faults_test", Fault: smithy.FaultServer}
				}
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
	})
}

// withFaultyDynamo replaces the store of every service with one over a
// DynamoDB client carrying f's middleware (same table).
func withFaultyDynamo(t testing.TB, f *dynamoFault) func(*server.Deps) {
	return withDynamoOptions(t, f.apply)
}

// withDynamoOptions replaces the store of every service with one over a
// DynamoDB client built with opts (same table).
func withDynamoOptions(t testing.TB, opts ...func(*dynamodb.Options)) func(*server.Deps) {
	return func(d *server.Deps) {
		st := dynamoStore(t, opts...)
		d.Store = st
		d.Auth.Store = st
		d.Auth.Mail.Deduper = st.Outbox()
		d.Invites.Store = st
		d.APIKeys.Store = st
		d.Members.Store = st
		d.Permissions.Store = st
		d.Alerts.Store = st
		d.Approvals.Store = st
	}
}

// dynamoStore is a store over the test table through a DynamoDB client
// built with opts.
func dynamoStore(t testing.TB, opts ...func(*dynamodb.Options)) *store.Store {
	t.Helper()
	dyn := testenv.DynamoDB(t)
	cfg, err := awsclient.LoadConfig(context.Background(), testenv.Region, awsclient.Endpoints{DynamoDB: dyn.URL})
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, store.CursorKeySize)
	_, _ = rand.Read(key)
	st, err := store.New(awsclient.DynamoDB(cfg, dyn.URL, opts...), dyn.Table, key)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// wantCleanProblem checks a 5xx answer is a problem carrying the request id.
func wantCleanProblem(t *testing.T, r *Response) {
	t.Helper()
	if r.Status < 500 {
		t.Fatalf("got %d %s, want a 5xx problem", r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("5xx Content-Type %q, want application/problem+json", ct)
	}
	var p struct {
		RequestID string `json:"requestId"`
		Detail    string `json:"detail"`
	}
	_ = json.Unmarshal(r.Body, &p)
	if p.RequestID == "" || p.RequestID != r.Header.Get("X-Request-Id") {
		t.Errorf("5xx problem requestId %q, header %q: %s", p.RequestID, r.Header.Get("X-Request-Id"), r.Body)
	}
	if strings.Contains(string(r.Body), "injected") || strings.Contains(string(r.Body), "Throttling") {
		t.Errorf("5xx problem leaks the internal error: %s", r.Body)
	}
}

// invitedState reports whether account has a member and an invitation
// for email.
func (e *Env) invitedState(t *testing.T, account, email string) (member, invitation bool) {
	t.Helper()
	ctx := context.Background()
	ms, err := e.Store.ListMembers(ctx, account, store.MaxPageSize, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms.Items {
		member = member || m.Email == email
	}
	is, err := e.Store.ListInvitations(ctx, account, store.MaxPageSize, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range is.Items {
		invitation = invitation || i.Email == email
	}
	return member, invitation
}

// TestFaultDynamoThrottling injects throttling errors into the API's
// DynamoDB client: a few are absorbed by the SDK's retries; a persistent
// one fails the request cleanly with nothing half-written, and a retry
// after it clears succeeds once.
func TestFaultDynamoThrottling(t *testing.T) {
	f := &dynamoFault{}
	e := New(t, withFaultyDynamo(t, f))
	owner := e.signup(t, newEmail("fault-owner"))
	tk := e.login(t, owner.Email, goodPassword, "").AccessToken

	// A read throttled once (ProvisionedThroughputExceededException).
	f.arm("GetItem", "ProvisionedThroughputExceededException", 1)
	e.Call(t, "GET", "/v1/account", tk, nil).Want(t, http.StatusOK, "")
	t.Logf("GetItem: %d throttled attempt(s) absorbed by SDK retries", f.count())
	if f.count() != 1 {
		t.Errorf("GetItem: %d faults injected, want 1", f.count())
	}

	// The invitation's transaction throttled twice: retried, created once.
	email := newEmail("fault-inv-a")
	f.arm("TransactWriteItems", "ThrottlingException", 2)
	e.invite(t, tk, map[string]any{"email": email, "assignments": teamMemberAtS1()})
	if n := f.count(); n != 2 {
		t.Errorf("TransactWriteItems: %d faults injected, want 2", n)
	}
	if m, i := e.invitedState(t, owner.AccountID, email); !m || !i {
		t.Errorf("after retried create: member %v invitation %v", m, i)
	}

	// Throttled on every attempt: a clean 5xx, no member, no invitation.
	email = newEmail("fault-inv-b")
	f.arm("TransactWriteItems", "ThrottlingException", 1000)
	start := time.Now()
	r := e.Call(t, "POST", "/v1/invitations", tk, map[string]any{"email": email, "assignments": teamMemberAtS1()})
	attempts := f.count()
	f.arm("", "", 0)
	wantCleanProblem(t, r)
	t.Logf("TransactWriteItems throttled on all %d attempts: %d %s in %v", attempts, r.Status, r.Body, time.Since(start).Round(time.Millisecond))
	if m, i := e.invitedState(t, owner.AccountID, email); m || i {
		t.Errorf("half-written state after a failed create: member %v invitation %v", m, i)
	}
	// The fault cleared: the same call succeeds, exactly once.
	since := time.Now()
	e.invite(t, tk, map[string]any{"email": email, "assignments": teamMemberAtS1()})
	e.TokenFromEmail(t, email, "invit", since)
	e.Call(t, "POST", "/v1/invitations", tk, map[string]any{"email": email, "assignments": teamMemberAtS1()}).Want(t, http.StatusConflict, "")
}

// TestFaultAwaitRunTwice runs the approval workflow's Await step again
// (twice) for a level already awaited: every approver still gets exactly
// one email.
func TestFaultAwaitRunTwice(t *testing.T) {
	var svc *approvals.Service
	e := New(t, func(d *server.Deps) { svc = d.Approvals })
	owner := e.signup(t, newEmail("twice-owner"))
	tk := e.login(t, owner.Email, goodPassword, "").AccessToken
	approverEmail := newEmail("twice-approver")
	e.join(t, tk, approverEmail, store1("approver"))
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tk, map[string]any{
		"enabled": true, "expiresAfterHours": 24,
		"levels": []map[string]any{{"minAmount": 0, "role": "approver", "required": 1, "scope": "document"}},
	}).Want(t, http.StatusOK, "")
	e.Call(t, "PUT", "/v1/documents/purchase_order/twice-po", tk, poBody(100)).Want(t, http.StatusCreated, "")
	since := time.Now()
	req := e.requestApproval(t, tk, "twice-po", nil)
	req = e.waitRequest(t, tk, req.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 && len(r.Asked) > 0 })

	asked := map[string]bool{}
	for _, a := range req.Asked {
		if a.Level == 1 && a.Email != "" {
			asked[a.Email] = true
		}
	}
	if !asked[approverEmail] {
		t.Fatalf("the approver was not asked: %+v", req.Asked)
	}
	// Approval emails only (the invitation of the join may fall in the
	// same second).
	countTo := func(addr string) int {
		n := 0
		for _, m := range e.SES.Emails(t, since) {
			if m.SentTo(addr) && strings.Contains(m.Body.Text, "/approve/") {
				n++
			}
		}
		return n
	}
	// The first run's emails arrive, one to every approver asked.
	testenv.Eventually(t, 10*time.Second, "the approval emails of the first await", func() error {
		for addr := range asked {
			if countTo(addr) == 0 {
				return fmt.Errorf("none yet to %s", addr)
			}
		}
		return nil
	})

	steps := approvals.Steps{Service: svc}
	for i := range 2 {
		in := workflow.StepInput{Step: workflow.Await, RequestID: req.ID, AccountID: owner.AccountID, Levels: 1, Level: 1, TaskToken: "replayed-task-" + string(rune('a'+i))}
		if err := steps.Await(context.Background(), in); err != nil {
			t.Fatalf("replayed await %d: %v", i+1, err)
		}
	}
	// (Await sends synchronously: an email a replay sent is stored by now.)
	for addr := range asked {
		if n := countTo(addr); n != 1 {
			for _, m := range e.SES.Emails(t, since) {
				if m.SentTo(addr) {
					t.Logf("email to %s: %q", addr, m.Subject)
				}
			}
			t.Errorf("%s got %d approval emails after Await ran 3 times, want 1", addr, n)
		}
	}
	t.Logf("Await ran 3 times for request %s level 1: %d approver(s), one email each", req.ID, len(asked))
}

// switchSender is the real SES sender, or, while down, an SES client for
// a port nobody listens on.
type switchSender struct {
	real, dead mail.Sender
	down       atomic.Bool
}

func (s *switchSender) Send(ctx context.Context, m mail.Message) (string, error) {
	if s.down.Load() {
		return s.dead.Send(ctx, m)
	}
	return s.real.Send(ctx, m)
}

// closedURL is an http URL on 127.0.0.1 where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "http://" + addr
}

// TestFaultMailServerDown stops the mail server (SES points at a closed
// port) mid-test: POST /v1/invitations answers a clean 5xx problem
// promptly and leaves nothing behind (the unsent invitation is undone);
// once mail is back the same request simply succeeds.
func TestFaultMailServerDown(t *testing.T) {
	sw := &switchSender{}
	e := New(t, func(d *server.Deps) {
		url := closedURL(t)
		cfg, err := awsclient.LoadConfig(context.Background(), testenv.Region, awsclient.Endpoints{SES: url})
		if err != nil {
			t.Fatal(err)
		}
		from, err := mail.ParseAddress("Steward <no-reply@steward.test>")
		if err != nil {
			t.Fatal(err)
		}
		if sw.dead, err = sesmail.New(sesclient.New(cfg, url), from, ""); err != nil {
			t.Fatal(err)
		}
		sw.real = d.Auth.Mail.Sender
		d.Auth.Mail.Sender = sw // the one outbox every service shares
	})
	owner := e.signup(t, newEmail("down-owner"))
	tk := e.login(t, owner.Email, goodPassword, "").AccessToken

	sw.down.Store(true)
	email := newEmail("down-inv")
	body := map[string]any{"email": email, "assignments": teamMemberAtS1()}
	start := time.Now()
	r := e.Call(t, "POST", "/v1/invitations", tk, body)
	took := time.Since(start)
	t.Logf("mail down: POST /v1/invitations -> %d %s in %v", r.Status, r.Body, took.Round(time.Millisecond))
	if took > 30*time.Second {
		t.Errorf("POST /v1/invitations took %v with the mail server down", took)
	}
	wantCleanProblem(t, r)
	// The unsent invitation was undone: nothing is left half-written.
	m, i := e.invitedState(t, owner.AccountID, email)
	if m || i {
		t.Fatalf("after the failed send: member %v, invitation %v; want neither", m, i)
	}

	// Mail back: the plain retry creates the invitation and sends it.
	sw.down.Store(false)
	since := time.Now()
	e.Call(t, "POST", "/v1/invitations", tk, body).Want(t, http.StatusCreated, "")
	e.TokenFromEmail(t, email, "invit", since)
}

// lossyEngine loses the first SendTaskSuccess after the decision it
// carries was committed (as a throttled call or a timed-out function
// would).
type lossyEngine struct {
	workflow.Engine
	lost atomic.Int32
}

func (l *lossyEngine) SendTaskSuccess(ctx context.Context, token string, d workflow.Decision) error {
	if l.lost.Add(1) == 1 {
		return errors.New("injected: the result was not delivered")
	}
	return l.Engine.SendTaskSuccess(ctx, token, d)
}

// TestFaultLevelResultLost: the decision that closes a level is committed
// but its result never reaches the workflow. The decider is answered with
// the saved decision; the next approver's decision is refused (the level
// is closed) and delivers the result again, so the request is approved
// instead of waiting until it expires.
func TestFaultLevelResultLost(t *testing.T) {
	var lossy *lossyEngine
	e := New(t, func(d *server.Deps) {
		lossy = &lossyEngine{Engine: d.Approvals.Engine}
		d.Approvals.Engine = lossy
	})
	tm := e.apSetup(t)
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, twoLevelPolicy()).Want(t, http.StatusOK, "")
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-lost", tm.requester.Token, poBody(100)).Want(t, http.StatusCreated, "")
	req := e.requestApproval(t, tm.requester.Token, "po-lost", nil)
	e.waitRequest(t, tm.requester.Token, req.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 })
	// The decision is saved: its answer says so (a 5xx "retry" would
	// send the decider into already_decided), and the lost result is the
	// workflow's to catch up.
	first := e.Call(t, "POST", "/v1/approval-requests/"+req.ID+"/decision", tm.mgr1.Token, map[string]string{"decision": "approve"})
	first.Want(t, http.StatusOK, "")
	var saved apRequest
	first.JSON(t, &saved)
	if len(saved.Decisions) != 1 {
		t.Fatalf("the saved decision's answer lists %d decisions, want 1: %s", len(saved.Decisions), first.Body)
	}
	if got := e.getRequest(t, tm.requester.Token, req.ID); got.Status != "pending" {
		t.Fatalf("request %s after the lost result, want pending", got.Status)
	}
	e.Call(t, "POST", "/v1/approval-requests/"+req.ID+"/decision", tm.mgr2.Token, map[string]string{"decision": "approve"}).Want(t, http.StatusConflict, "")
	e.waitRequest(t, tm.requester.Token, req.ID, "approval", func(r apRequest) bool { return r.Status == "approved" })
	e.waitDocStatus(t, tm.requester.Token, "po-lost", "approved")
	if n := lossy.lost.Load(); n != 2 {
		t.Fatalf("%d result sends, want 2 (the lost one and the redelivery)", n)
	}
}

package apitest

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/stewardhq/steward/infra/localstack/server"
	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
	"github.com/stewardhq/steward/pkg/throttle"
	"github.com/stewardhq/steward/pkg/workflow"
)

// Regressions found by an attacker's read of the service/HTTP split and
// the first scale fixes, each replayed over HTTP: every test asserts the
// rule that now holds.

// Before the refactor the role writes refused a caller without the right
// to manage roles (403) before reading the request; the handlers now
// decode the body, the If-Match header and the query first, so a member
// without the right learns the routes' validation (400, 428) instead of
// being refused. The refusal must come first, whatever the request holds.
func TestRoleWritesRefuseNonManagerBeforeReadingTheRequest(t *testing.T) {
	e := New(t)
	owner, _ := e.acctOwner(t, "reg-roles")
	_, staff := e.acctMember(t, owner, []rbac.Assignment{{Role: rbac.RoleTeamMember, Scope: rbac.StoreScope("s1")}})
	for _, c := range []struct {
		name, method, path string
		body               any
		headers            []string
	}{
		{"create with a malformed body", "POST", "/v1/roles", map[string]any{"id": 7, "bogus": true}, nil},
		{"create with an unknown field", "POST", "/v1/roles", map[string]any{"unknownField": "x"}, nil},
		{"update with a malformed body", "PATCH", "/v1/roles/buyer", map[string]any{"permissions": "not-a-list"}, []string{"If-Match", `"1"`}},
		{"update with a malformed If-Match", "PATCH", "/v1/roles/buyer", map[string]any{"name": "x"}, []string{"If-Match", "garbage"}},
		{"delete with an unknown parameter", "DELETE", "/v1/roles/buyer?nope=1", nil, nil},
		{"delete with a malformed If-Match", "DELETE", "/v1/roles/buyer", nil, []string{"If-Match", "garbage"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.Call(t, c.method, c.path, staff, c.body, c.headers...)
			if r.Status != http.StatusForbidden {
				t.Errorf("%s %s by a member who may not manage roles: %d %s, want 403 (as before the refactor)", c.method, c.path, r.Status, r.Code())
			}
		})
	}
}

// The known-pair exemption (pkg/auth/throttle.go) lets an (email,
// address) pair that signed in before bypass the per-address limit. The
// per-address limit is what stops one address spraying guesses over many
// emails; with the exemption, somebody at a shared address (an office NAT,
// a carrier-grade NAT, a host app's backend that relays its users'
// sign-ins) sprays every email known there at the per-pair allowance
// each (10 a window), however spent the address is. Correct: failures of
// known pairs from one address stay bounded per window (e.g. their own
// per-address counter), so a spray over known emails is refused too.
func TestKnownPairsDoNotReopenASprayFromTheirAddress(t *testing.T) {
	const perAddress = 5
	e := New(t, func(d *server.Deps) { d.Auth.Limits = auth.Limits{PerAddress: perAddress} })
	office := NewTestAddress()
	var known []string
	for range 6 {
		u := e.signupBare(t, newEmail("reg-known"))
		e.loginFrom(t, office, u.Email, goodPassword).Want(t, http.StatusOK, "")
		known = append(known, u.Email)
	}
	// Spend the address on unknown emails.
	for i := range perAddress {
		e.loginFrom(t, office, newEmail("reg-sprayed"), "guess-"+strconv.Itoa(i)).Want(t, http.StatusUnauthorized, "invalid_credentials")
	}
	wantRetryAfter(t, e.loginFrom(t, office, newEmail("reg-sprayed"), "guess"))
	// Now spray the known emails from the same spent address.
	compared := 0
	for round := range 3 {
		for _, email := range known {
			r := e.loginFrom(t, office, email, "wrong-"+strconv.Itoa(round))
			switch r.Status {
			case http.StatusUnauthorized:
				compared++
			case http.StatusTooManyRequests:
			default:
				t.Fatalf("guess at a known email: %d %s", r.Status, r.Body)
			}
		}
	}
	if compared > perAddress {
		t.Fatalf("after the address was spent, %d wrong passwords over %d known emails were still compared from it (per-address limit %d): the known-pair exemption reopens the spray", compared, len(known), perAddress)
	}
}

// What the exemption must keep: a stranger who makes their own pair known
// (signing in to their own account from the address) gains nothing on
// other emails, and a known pair still has its per-pair limit.
func TestKnownPairExemptsOnlyItsOwnEmail(t *testing.T) {
	const perAddress = 3
	e := New(t, func(d *server.Deps) { d.Auth.Limits = auth.Limits{PerAddress: perAddress} })
	addr := NewTestAddress()
	stranger := e.signupBare(t, newEmail("reg-stranger"))
	victim := e.signupBare(t, newEmail("reg-victim"))
	e.loginFrom(t, addr, stranger.Email, goodPassword).Want(t, http.StatusOK, "")
	for i := range perAddress {
		e.loginFrom(t, addr, newEmail("reg-other"), "guess-"+strconv.Itoa(i)).Want(t, http.StatusUnauthorized, "invalid_credentials")
	}
	// The stranger's own pair is known: it still signs in...
	e.loginFrom(t, addr, stranger.Email, goodPassword).Want(t, http.StatusOK, "")
	// ...but the victim's pair is not, and is refused without comparing.
	wantRetryAfter(t, e.loginFrom(t, addr, victim.Email, "guess"))
	wantRetryAfter(t, e.loginFrom(t, addr, victim.Email, goodPassword))
	// While the address is spent, a known pair's failures count in the
	// known pairs' own per-address counter (same limit), below its
	// per-pair limit (10).
	for i := range perAddress {
		e.loginFrom(t, addr, stranger.Email, "wrong-"+strconv.Itoa(i)).Want(t, http.StatusUnauthorized, "invalid_credentials")
	}
	wantRetryAfter(t, e.loginFrom(t, addr, stranger.Email, goodPassword))
}

// The per-account throttle: an API key's requests are its own account's,
// a flooding key never spends another tenant's share, and the public
// routes (sign-in) are not counted against any account.
func TestThrottleAPIKeysAndPublicRoutes(t *testing.T) {
	now := time.Now()
	e := New(t, func(d *server.Deps) {
		d.Throttle = &throttle.Accounts{Counter: d.Store, Rate: 1, Now: func() time.Time { return now }} // 10 per window
	})
	busy, busyTk := e.acctOwner(t, "reg-th-busy")
	_, quietTk := e.acctOwner(t, "reg-th-quiet")
	key := e.createKey(t, busyTk, map[string]any{"name": "Flood", "permissions": []string{"users.view"}})
	var last *Response
	for range 15 {
		last = e.Call(t, http.MethodGet, "/v1/users", key.Secret, nil)
		if last.Status != http.StatusOK {
			break
		}
	}
	last.Want(t, http.StatusTooManyRequests, "account_rate_limited")
	// The key's account is spent for its people too; the other tenant is
	// not.
	e.Call(t, http.MethodGet, "/v1/me", busyTk, nil).Want(t, http.StatusTooManyRequests, "account_rate_limited")
	e.Call(t, http.MethodGet, "/v1/me", quietTk, nil).Want(t, http.StatusOK, "")
	// Public routes are not throttled per account: the owner of the spent
	// account still signs in.
	e.loginFrom(t, NewTestAddress(), busy.Email, goodPassword).Want(t, http.StatusOK, "")
}

// Is anything leaked by the permission checks? A stored document's facts
// decide a check, and a field the caller gives that contradicts them is
// refused with 400 resource_mismatch naming the field. A member who may
// not see the document (a manager of another store) therefore learns its
// store, department, supplier and status by guessing: the right guess
// answers 200, a wrong one 400. (Not introduced by the refactor, which
// kept it; the detail text already says "the caller may not be allowed to
// see the document".) Correct: a caller who may not view the document
// gets the same answer for every guess.
func TestCheckDoesNotRevealAHiddenDocumentsFacts(t *testing.T) {
	e := New(t)
	tm, doc, _ := e.policyDoc(t)
	outsider := tm.mgrS2
	if r := e.Call(t, "GET", "/v1/documents/purchase_order/"+doc, outsider.Token, nil); r.Status == http.StatusOK {
		t.Fatalf("the manager of store s2 reads the store-s1 document: the premise fails (%s)", r.Body)
	}
	right := e.Call(t, "POST", "/v1/authz/check", outsider.Token, storedDocCheck(doc, map[string]any{"store": "s1"}))
	wrong := e.Call(t, "POST", "/v1/authz/check", outsider.Token, storedDocCheck(doc, map[string]any{"store": "s2"}))
	if right.Status != wrong.Status || right.Code() != wrong.Code() {
		t.Fatalf("guessing the hidden document's store: s1 answers %d %q, s2 answers %d %q: the check is an oracle of its stored facts", right.Status, right.Code(), wrong.Status, wrong.Code())
	}
}

// The emailed-link decision path is the app path's twin (one Decide), but
// not in its rule "rights at commit time": by link, the member's rights
// are read, then the vote is written through the plain store, which does
// not require the member's item unchanged. An approver demoted while the
// link's vote is about to commit has the vote recorded. Correct (as in
// the app, TestRaceApproverDemotedWhileDeciding): the vote fails and
// records nothing (the page says the approver can no longer decide).
func TestLinkVoteRestsOnRightsAtCommit(t *testing.T) {
	gate := newCommitGate("approval.decide_by_link")
	e := New(t, func(d *server.Deps) { d.Approvals.Store = dynamoStore(t, gate.apply) })
	tm := e.apAbuseSetup(t, nil, "po-r14link", 100)
	since := time.Now()
	req := e.requestApproval(t, tm.requester.Token, "po-r14link", nil)
	e.waitRequest(t, tm.requester.Token, req.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 && len(r.Asked) > 0 })
	tok := e.approvalToken(t, tm.mgr.Email, since)

	decided := make(chan *Response, 1)
	go func() { decided <- e.form(t, tok, decideForm("approve", "")) }()
	select {
	case <-gate.reached:
	case <-time.After(20 * time.Second): // deadline
		t.Fatal("the link's decision never reached its commit")
	}
	e.mbDemote(t, tm.ownerTk, tm.mgr.ID)
	close(gate.release)
	r := <-decided
	got := e.getRequest(t, tm.ownerTk, req.ID)
	if r.Status == http.StatusOK || len(got.Decisions) != 0 {
		t.Fatalf("an approver demoted while their link's vote committed: page %d, decisions %+v (the vote rests on rights that were gone at commit)", r.Status, got.Decisions)
	}
}

// throttledSend is the workflow engine whose first SendTaskSuccess is
// throttled by Step Functions (after the SDK's retries).
type throttledSend struct {
	workflow.Engine
	once sync.Once
}

func (e *throttledSend) SendTaskSuccess(ctx context.Context, token string, d workflow.Decision) error {
	first := false
	e.once.Do(func() { first = true })
	if first {
		return &smithy.GenericAPIError{Code: "ThrottlingException", Message: "injected by the test", Fault: smithy.FaultServer}
	}
	return e.Engine.SendTaskSuccess(ctx, token, d)
}

// 503 busy says "Steward ... did not complete this call. Retry": the
// throttled-AWS mapping (httpapi.Throttled) now gives it to any error
// whose chain holds a throttling code, also after a write committed. A
// decision in the app whose level result Step Functions throttles is
// recorded, yet answered 503 busy, and the client's retry is refused 409
// already_decided. Correct: an answer of 503 busy leaves nothing written
// (or the recorded decision is answered as recorded, as the link path
// does, and the level's retry catches the workflow up).
func TestBusyMeansNothingWasWritten(t *testing.T) {
	e := New(t, func(d *server.Deps) { d.Approvals.Engine = &throttledSend{Engine: d.Approvals.Engine} })
	tm := e.apAbuseSetup(t, nil, "po-r14busy", 100)
	req := e.requestApproval(t, tm.requester.Token, "po-r14busy", nil)
	e.waitRequest(t, tm.requester.Token, req.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 && len(r.Asked) > 0 })
	path := "/v1/approval-requests/" + req.ID + "/decision"
	first := e.Call(t, "POST", path, tm.mgr.Token, map[string]string{"decision": "approve"})
	if first.Status != http.StatusServiceUnavailable {
		return // answered as recorded (or refused): no false "retry"
	}
	got := e.getRequest(t, tm.ownerTk, req.ID)
	retry := e.Call(t, "POST", path, tm.mgr.Token, map[string]string{"decision": "approve"})
	if len(got.Decisions) != 0 || retry.Status != http.StatusOK {
		t.Fatalf("503 %s (\"did not complete this call. Retry\"), yet %d decision(s) recorded; the retry answers %d %s", first.Code(), len(got.Decisions), retry.Status, retry.Code())
	}
}

// The API key's synthetic role lives only in the key's own role set
// (rbac.RoleSet.WithSyntheticRole), so a key that manages members is the
// one caller whose role set names "api-key": it must still never assign
// that role to a member (the grant ceiling's unholdable bit).
func TestKeyCannotAssignItsSyntheticRole(t *testing.T) {
	e := New(t)
	owner, ownerTk := e.acctOwner(t, "reg-synth")
	id, _ := e.acctMember(t, owner, []rbac.Assignment{{Role: rbac.RoleTeamMember, Scope: rbac.StoreScope("s1")}})
	key := e.createKey(t, ownerTk, map[string]any{"name": "HR sync", "permissions": []string{"users.view", "users.manage"}})
	etag := e.Call(t, "GET", "/v1/users/"+id, key.Secret, nil).Want(t, http.StatusOK, "").Header.Get("ETag")
	r := e.Call(t, "PATCH", "/v1/users/"+id, key.Secret, map[string]any{"assignments": []map[string]string{{"role": "api-key", "scope": "account"}}}, "If-Match", etag)
	r.Want(t, http.StatusForbidden, "exceeds_own_rights")
	r = e.Call(t, "POST", "/v1/invitations", key.Secret, map[string]any{"email": newEmail("reg-synth-inv"), "name": "Ivy", "assignments": []map[string]string{{"role": "api-key", "scope": "account"}}})
	r.Want(t, http.StatusForbidden, "exceeds_own_rights")
}

// A role's holders with time-bound grants: the role change moves 60
// members in one transaction and writes their expiring-grant index after
// it (with the index in the transaction it passed DynamoDB's 100 items
// and answered 500).
func TestDeletingARoleOfTimeBoundHolders(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("tb-role"))
	tk := e.login(t, owner.Email, goodPassword, owner.AccountID).AccessToken
	e.Call(t, "POST", "/v1/roles", tk, map[string]any{"id": "zzr", "name": "Temps", "permissions": []string{"orders.view"}, "scopeKinds": []string{"store"}}).Want(t, http.StatusCreated, "")
	expires := time.Now().Add(48 * time.Hour).UTC()
	for i := range 60 {
		now := time.Now().UTC()
		m := team.Member{ID: store.NewID("m"), AccountID: owner.AccountID, Email: newEmail(fmt.Sprintf("tb%d", i)), Name: "Temp",
			Status: rbac.StatusActive, Version: 1, CreatedAt: now, UpdatedAt: now,
			Assignments: []rbac.Assignment{{Role: "zzr", Scope: at("zzr", "store:s1").Scope, ExpiresAt: expires}}}
		if err := e.Store.AddMember(context.Background(), m, audit.Event{AccountID: owner.AccountID, ActorID: owner.MemberID, Action: "member.create", TargetType: "member", TargetID: m.ID}); err != nil {
			t.Fatal(err)
		}
	}
	e.Call(t, "DELETE", "/v1/roles/zzr?members=reassign&to=team_member", tk, nil).Want(t, http.StatusOK, "")
	e.Call(t, "GET", "/v1/roles/zzr", tk, nil).Want(t, http.StatusNotFound, "")
}

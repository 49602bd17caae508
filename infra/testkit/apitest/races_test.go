package apitest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/stewardhq/steward/infra/localstack/server"
	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/rbac"
)

// Race tests: two or more requests at once on the same data, and the
// invariants that must hold whatever order they land in. None of them
// waits on a clock: goroutines start together, and afterwards the state
// is read (polling with a deadline where a workflow finishes on its own).

// raceStatuses runs the calls at once and returns their responses.
func raceCalls(calls ...func() *Response) []*Response {
	out := make([]*Response, len(calls))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Go(func() {
			<-start
			out[i] = c()
		})
	}
	close(start)
	wg.Wait()
	return out
}

// wantNo5xx fails for any 5xx answer.
func wantNo5xx(t *testing.T, what string, rs ...*Response) {
	t.Helper()
	for _, r := range rs {
		if r.Status >= 500 {
			t.Errorf("%s: %d %s", what, r.Status, r.Body)
		}
	}
}

// TestRaceDecisionsOnOneRequest has two approvers, then one approver
// twice, decide one approval request through the API at once. Exactly
// one decision is recorded, the other call gets a 409 problem, the
// request ends as the recorded decision says, and the requester gets one
// outcome email.
func TestRaceDecisionsOnOneRequest(t *testing.T) {
	e := New(t)
	tm := e.apSetup(t)
	p := twoLevelPolicy()
	p["levels"] = []map[string]any{{"minAmount": 0, "role": "manager", "required": 1, "scope": "document"}}
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, p).Want(t, http.StatusOK, "")

	for _, tc := range []struct {
		name      string
		deciders  []person
		decisions []string
	}{
		{"two approvers", []person{tm.mgr1, tm.mgr2}, []string{"approve", "deny"}},
		{"one approver twice", []person{tm.mgr1, tm.mgr1}, []string{"approve", "deny"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := "po-race-" + testenv.NewID("d")
			body := poBody(100)
			body["title"] = "PO " + doc // tells this request's emails apart
			e.Call(t, "PUT", "/v1/documents/purchase_order/"+doc, tm.requester.Token, body).Want(t, http.StatusCreated, "")
			since := time.Now()
			req := e.requestApproval(t, tm.requester.Token, doc, nil)
			e.waitRequest(t, tm.requester.Token, req.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 })

			calls := make([]func() *Response, len(tc.deciders))
			for i, d := range tc.deciders {
				calls[i] = func() *Response {
					return e.Call(t, "POST", "/v1/approval-requests/"+req.ID+"/decision", d.Token,
						map[string]string{"decision": tc.decisions[i], "comment": fmt.Sprint("decider ", i)})
				}
			}
			rs := raceCalls(calls...)
			won := -1
			for i, r := range rs {
				switch {
				case r.Status == http.StatusOK:
					if won >= 0 {
						t.Fatalf("both decisions succeeded: %d %s / %d %s", rs[0].Status, rs[0].Body, rs[1].Status, rs[1].Body)
					}
					won = i
				case r.Status == http.StatusConflict || r.Status == http.StatusGone:
					if c := r.Code(); c != "already_decided" && c != "approval_not_pending" {
						t.Errorf("loser's problem code %q: %s", c, r.Body)
					}
					if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
						t.Errorf("loser's Content-Type %q", ct)
					}
				default:
					t.Errorf("decision %d: %d %s, want 200 or a 409/410 problem", i, r.Status, r.Body)
				}
			}
			if won < 0 {
				t.Fatalf("no decision succeeded: %d %s / %d %s", rs[0].Status, rs[0].Body, rs[1].Status, rs[1].Body)
			}
			want := map[string]string{"approve": "approved", "deny": "denied"}[tc.decisions[won]]
			r := e.waitRequest(t, tm.requester.Token, req.ID, want, func(r apRequest) bool { return r.Status != "pending" })
			if r.Status != want {
				t.Fatalf("request ended %s, but the recorded decision was %s", r.Status, tc.decisions[won])
			}
			if len(r.Decisions) != 1 || r.Decisions[0].MemberID != tc.deciders[won].ID || r.Decisions[0].Decision != want {
				t.Fatalf("decisions %+v, want exactly the winner's (%s)", r.Decisions, want)
			}
			e.waitDocStatus(t, tm.requester.Token, doc, want)
			// This request's outcome emails, told apart by the title (the
			// emulator's timestamps are too coarse to tell the subtests'
			// emails apart by time).
			outcomes := func() int {
				n := 0
				for _, m := range e.SES.Emails(t, since) {
					if m.SentTo(tm.requester.Email) && slices.Contains([]string{"Approved", "Denied"}, firstWord(m.Subject)) && strings.Contains(m.Body.Text, "PO "+doc) {
						n++
					}
				}
				return n
			}
			n := 0
			testenv.Eventually(t, 15*time.Second, "an outcome email to the requester", func() error {
				if n = outcomes(); n == 0 {
					return errors.New("none yet")
				}
				return nil
			})
			if n != 1 {
				t.Fatalf("%d outcome emails to the requester, want 1", n)
			}
		})
	}
}

func firstWord(s string) string {
	for i, c := range s {
		if c == ' ' || c == ':' {
			return s[:i]
		}
	}
	return s
}

// TestRaceRoleEditsWhileChecking has one goroutine change a custom role's
// permissions over and over while others ask POST /v1/authz/check for a
// member holding it. Every answer is a 200 consistent with one version of
// the role (orders.view is in both, stock.edit in neither, purchases.view
// in every other version), and once the edits stop the answers follow the
// last version.
func TestRaceRoleEditsWhileChecking(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("rc-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	versions := [][]string{{"orders.view"}, {"orders.view", "purchases.view"}}
	created := e.Call(t, "POST", "/v1/roles", ownerTk, map[string]any{"id": "shifting", "name": "Shifting", "permissions": versions[0]}).Want(t, http.StatusCreated, "")
	etag := created.Header.Get("ETag")
	_, mtk := e.join(t, ownerTk, newEmail("rc-member"), map[string]any{"assignments": []map[string]string{{"role": "shifting", "scope": "store:s1"}}})

	check := func(action string) (*Response, bool) {
		r := e.Call(t, "POST", "/v1/authz/check", mtk.AccessToken, map[string]any{"action": action, "resource": map[string]any{"store": "s1"}})
		var out struct {
			Allowed bool `json:"allowed"`
		}
		if r.Status == http.StatusOK {
			r.JSON(t, &out)
		}
		return r, out.Allowed
	}

	const edits = 16
	var done atomic.Bool
	var wg sync.WaitGroup
	var checks, withPurchases atomic.Int64
	wg.Go(func() {
		defer done.Store(true)
		for i := 1; i <= edits; i++ {
			r := e.Call(t, "PATCH", "/v1/roles/shifting", ownerTk, map[string]any{"permissions": versions[i%2]}, "If-Match", etag)
			if r.Status != http.StatusOK {
				t.Errorf("edit %d: %d %s", i, r.Status, r.Body)
				return
			}
			etag = r.Header.Get("ETag")
		}
	})
	for range 3 {
		wg.Go(func() {
			for i := 0; !done.Load() || i < 3; i++ {
				action := []string{"orders.view", "purchases.view", "stock.edit"}[i%3]
				r, allowed := check(action)
				checks.Add(1)
				switch {
				case r.Status != http.StatusOK:
					t.Errorf("check %s during edits: %d %s", action, r.Status, r.Body)
					return
				case action == "orders.view" && !allowed:
					t.Errorf("orders.view denied during edits: it is in every version of the role: %s", r.Body)
				case action == "stock.edit" && allowed:
					t.Errorf("stock.edit allowed during edits: it is in no version of the role: %s", r.Body)
				case action == "purchases.view" && allowed:
					withPurchases.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// The last edit (an even one) left the role without purchases.view:
	// the very next checks say so.
	final := versions[edits%2]
	for _, action := range []string{"orders.view", "purchases.view", "stock.edit"} {
		r, allowed := check(action)
		if r.Status != http.StatusOK || allowed != slices.Contains(final, action) {
			t.Errorf("after the edits, check %s: %d %s, want allowed=%v", action, r.Status, r.Body, slices.Contains(final, action))
		}
	}
	t.Logf("%d role edits, %d checks during them (%d saw purchases.view granted)", edits, checks.Load(), withPurchases.Load())
}

// TestRaceOwnershipTransfers has the owner transfer ownership to A and to
// B at once: exactly one transfer succeeds and the account has exactly one
// owner afterwards, the winner, as the account item also says.
func TestRaceOwnershipTransfers(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("ro-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	a, _ := e.join(t, ownerTk, newEmail("ro-a"), store1("team_member"))
	b, _ := e.join(t, ownerTk, newEmail("ro-b"), store1("team_member"))
	targets := []string{a, b}
	rs := raceCalls(
		func() *Response {
			return e.Call(t, "POST", "/v1/account/transfer-ownership", ownerTk, map[string]string{"memberId": a})
		},
		func() *Response {
			return e.Call(t, "POST", "/v1/account/transfer-ownership", ownerTk, map[string]string{"memberId": b})
		},
	)
	winner := ""
	for i, r := range rs {
		switch r.Status {
		case http.StatusOK:
			if winner != "" {
				t.Fatalf("both transfers succeeded")
			}
			winner = targets[i]
		case http.StatusPreconditionFailed, http.StatusForbidden:
		default:
			t.Errorf("transfer to %s: %d %s, want 200, or 412/403 for the loser", targets[i], r.Status, r.Body)
		}
	}
	if winner == "" {
		t.Fatalf("no transfer succeeded: %d %s / %d %s", rs[0].Status, rs[0].Body, rs[1].Status, rs[1].Body)
	}
	page, err := e.Store.ListMembers(context.Background(), owner.AccountID, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	var owners []string
	for _, m := range page.Items {
		if m.Owner {
			owners = append(owners, m.ID)
		}
		if m.ID == owner.MemberID && (!m.Admin || m.Status != rbac.StatusActive) {
			t.Errorf("the old owner is no longer an active administrator: %+v", m)
		}
	}
	acct, err := e.Store.GetAccount(context.Background(), owner.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	if len(owners) != 1 || owners[0] != winner || acct.OwnerID != winner {
		t.Fatalf("owners %v, account owner %s; want exactly the winner %s", owners, acct.OwnerID, winner)
	}
}

// TestRaceAdministratorsAgainstEachOther has two administrators suspend
// and demote each other, and try the owner, all at once, while a reader
// watches the owner: the owner stays an active administrator throughout,
// so the account always has one.
func TestRaceAdministratorsAgainstEachOther(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("ra-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	for _, verb := range []string{"suspend", "demote"} {
		t.Run(verb, func(t *testing.T) {
			a, atk := e.join(t, ownerTk, newEmail("ra-a"), map[string]any{"admin": true})
			b, btk := e.join(t, ownerTk, newEmail("ra-b"), map[string]any{"admin": true})
			act := func(tok, target string) func() *Response {
				return func() *Response {
					if verb == "suspend" {
						return e.Call(t, "POST", "/v1/users/"+target+"/suspend", tok, nil)
					}
					r := e.Call(t, "GET", "/v1/users/"+target, tok, nil)
					if r.Status != http.StatusOK {
						return r
					}
					return e.Call(t, "PATCH", "/v1/users/"+target, tok, map[string]any{"admin": false}, "If-Match", r.Header.Get("ETag"))
				}
			}
			var stop atomic.Bool
			var watcher sync.WaitGroup
			reads := 0
			watcher.Go(func() {
				for !stop.Load() {
					m, err := e.Store.GetMember(context.Background(), owner.AccountID, owner.MemberID)
					if err != nil {
						t.Errorf("read the owner: %v", err)
						return
					}
					if !m.Owner || !m.Admin || m.Status != rbac.StatusActive {
						t.Errorf("the owner lost something: %+v", m)
						return
					}
					reads++
				}
			})
			rs := raceCalls(act(atk.AccessToken, b), act(btk.AccessToken, a), act(atk.AccessToken, owner.MemberID), act(btk.AccessToken, owner.MemberID))
			stop.Store(true)
			watcher.Wait()
			wantNo5xx(t, verb, rs...)
			for i, r := range rs[:2] {
				// 401: the caller was suspended first (its next request is
				// refused); 403: it lost its admin rights first; 409
				// actor_changed: it lost them after its checks, before its
				// commit (rights at commit time).
				if r.Status != http.StatusOK && r.Status != http.StatusUnauthorized && r.Status != http.StatusForbidden && r.Status != http.StatusPreconditionFailed &&
					(r.Status != http.StatusConflict || r.Code() != "actor_changed") {
					t.Errorf("%s %d: %d %s", verb, i, r.Status, r.Body)
				}
			}
			for i, r := range rs[2:] {
				if r.Status == http.StatusOK {
					t.Errorf("%s of the owner by admin %d succeeded: %s", verb, i, r.Body)
				}
			}
			page, err := e.Store.ListMembers(context.Background(), owner.AccountID, 100, "")
			if err != nil {
				t.Fatal(err)
			}
			admins := 0
			for _, m := range page.Items {
				if m.Admin && m.Status == rbac.StatusActive {
					admins++
				}
				if m.ID == owner.MemberID && (!m.Owner || !m.Admin || m.Status != rbac.StatusActive) {
					t.Errorf("owner afterwards: %+v", m)
				}
			}
			if admins < 1 {
				t.Errorf("no active administrator left")
			}
			t.Logf("%s: statuses %d %d (owner: %d %d), %d watcher reads, %d active admins after", verb, rs[0].Status, rs[1].Status, rs[2].Status, rs[3].Status, reads, admins)
		})
	}
}

// danglingAssignments lists the assignments of the account's members that
// name a role the account does not have.
func (e *Env) danglingAssignments(t *testing.T, account string) []string {
	t.Helper()
	ctx := context.Background()
	cr, err := e.Store.GetCustomRoles(ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	exists := func(id string) bool {
		return rbac.IsBuiltInRole(id) || slices.ContainsFunc(cr.Roles, func(r rbac.Role) bool { return r.ID == id })
	}
	var out []string
	cursor := ""
	for {
		page, err := e.Store.ListMembers(ctx, account, 100, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Items {
			for _, a := range m.Assignments {
				if !exists(a.Role) {
					out = append(out, m.ID+":"+a.Role+"@"+a.Scope.String())
				}
			}
		}
		if page.Next == "" {
			return out
		}
		cursor = page.Next
	}
}

// TestRaceRoleDeleteAndAssign deletes custom roles (members=remove) while
// a member is given them, at once, round after round: whichever lands
// first, no member is left holding a role that no longer exists.
func TestRaceRoleDeleteAndAssign(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("rd-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	member, _ := e.join(t, ownerTk, newEmail("rd-member"), store1("team_member"))
	outcomes := map[string]int{}
	for i := range 12 {
		role := fmt.Sprintf("temp_%d", i)
		e.Call(t, "POST", "/v1/roles", ownerTk, map[string]any{"id": role, "name": "Temp", "permissions": []string{"orders.view"}}).Want(t, http.StatusCreated, "")
		etag := e.Call(t, "GET", "/v1/users/"+member, ownerTk, nil).Want(t, http.StatusOK, "").Header.Get("ETag")
		rs := raceCalls(
			func() *Response { return e.Call(t, "DELETE", "/v1/roles/"+role+"?members=remove", ownerTk, nil) },
			func() *Response {
				return e.Call(t, "PATCH", "/v1/users/"+member, ownerTk, map[string]any{"assignments": []map[string]string{
					{"role": "team_member", "scope": "store:s1"}, {"role": role, "scope": "store:s1"},
				}}, "If-Match", etag)
			},
		)
		wantNo5xx(t, role, rs...)
		if rs[0].Status != http.StatusOK {
			t.Errorf("%s: delete %d %s", role, rs[0].Status, rs[0].Body)
		}
		if s := rs[1].Status; s != http.StatusOK && s != http.StatusBadRequest && s != http.StatusConflict && s != http.StatusPreconditionFailed {
			t.Errorf("%s: assign %d %s", role, s, rs[1].Body)
		}
		outcomes[fmt.Sprintf("delete %d / assign %d %s", rs[0].Status, rs[1].Status, rs[1].Code())]++
		if d := e.danglingAssignments(t, owner.AccountID); len(d) > 0 {
			t.Fatalf("round %d: dangling assignments %v (delete %d %s, assign %d %s)", i, d, rs[0].Status, rs[0].Body, rs[1].Status, rs[1].Body)
		}
	}
	t.Logf("outcomes: %v", outcomes)
}

// commitGate holds the first TransactWriteItems carrying an audit event of
// action until released, so that a test can run another request exactly
// between a handler's reads and its commit.
type commitGate struct {
	action  string
	once    sync.Once
	reached chan struct{}
	release chan struct{}
}

func newCommitGate(action string) *commitGate {
	return &commitGate{action: action, reached: make(chan struct{}), release: make(chan struct{})}
}

func (g *commitGate) apply(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("stewardCommitGate",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if tw, ok := in.Parameters.(*dynamodb.TransactWriteItemsInput); ok && g.matches(tw) {
					first := false
					g.once.Do(func() { first = true })
					if first {
						close(g.reached)
						select {
						case <-g.release:
						case <-ctx.Done():
						}
					}
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	})
}

func (g *commitGate) matches(in *dynamodb.TransactWriteItemsInput) bool {
	for _, it := range in.TransactItems {
		if it.Put == nil {
			continue
		}
		if a, ok := it.Put.Item["action"].(*types.AttributeValueMemberS); ok && a.Value == g.action {
			return true
		}
	}
	return false
}

// withPermissionsGate gives the permissions service (roles, checks) a
// store whose DynamoDB client passes g; every other service keeps its own.
func withPermissionsGate(t testing.TB, g *commitGate) func(*server.Deps) {
	return func(d *server.Deps) { d.Permissions.Store = dynamoStore(t, g.apply) }
}

// TestRaceRoleDeleteAfterListingHolders is the known dangling-role race,
// forced: the role's deletion has listed the role's holders (none) and is
// about to commit when a member is given the role. The deletion must
// notice and take the new holder with it; the member must not keep an
// assignment of a role that no longer exists.
func TestRaceRoleDeleteAfterListingHolders(t *testing.T) {
	gate := newCommitGate("role.delete")
	e := New(t, withPermissionsGate(t, gate))
	owner := e.signup(t, newEmail("rg-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	member, _ := e.join(t, ownerTk, newEmail("rg-member"), store1("team_member"))
	e.Call(t, "POST", "/v1/roles", ownerTk, map[string]any{"id": "doomed", "name": "Doomed", "permissions": []string{"orders.view"}}).Want(t, http.StatusCreated, "")

	deleted := make(chan *Response, 1)
	go func() { deleted <- e.Call(t, "DELETE", "/v1/roles/doomed?members=remove", ownerTk, nil) }()
	select {
	case <-gate.reached:
	case <-time.After(20 * time.Second): // deadline
		t.Fatal("the deletion never reached its commit")
	}
	// The deletion listed no holder; now the member gets the role.
	etag := e.Call(t, "GET", "/v1/users/"+member, ownerTk, nil).Want(t, http.StatusOK, "").Header.Get("ETag")
	assign := e.Call(t, "PATCH", "/v1/users/"+member, ownerTk, map[string]any{"assignments": []map[string]string{
		{"role": "team_member", "scope": "store:s1"}, {"role": "doomed", "scope": "store:s1"},
	}}, "If-Match", etag)
	close(gate.release)
	del := <-deleted
	t.Logf("assign: %d %s; delete: %d %s", assign.Status, assign.Body, del.Status, del.Body)
	wantNo5xx(t, "race", assign, del)
	if assign.Status != http.StatusOK {
		t.Fatalf("the assignment (the role still existed) failed: %d %s", assign.Status, assign.Body)
	}
	del.Want(t, http.StatusOK, "")
	e.Call(t, "GET", "/v1/roles/doomed", ownerTk, nil).Want(t, http.StatusNotFound, "role_not_found")
	if d := e.danglingAssignments(t, owner.AccountID); len(d) > 0 {
		t.Fatalf("dangling assignments after the race: %v", d)
	}
	var out struct {
		Members struct {
			Count int      `json:"count"`
			IDs   []string `json:"ids"`
		} `json:"members"`
	}
	del.JSON(t, &out)
	if out.Members.Count != 1 || !slices.Contains(out.Members.IDs, member) {
		t.Fatalf("the deletion removed the role from %+v, want the member who got it meanwhile", out.Members)
	}
}

// TestRaceRoleDeletedBeforeAssignmentCommits is the other order: the
// member's change has validated the role and is about to commit when the
// role is deleted. The change must fail cleanly (400 role_deleted, as for
// a role that did not exist) instead of writing
// an assignment of a role that no longer exists.
func TestRaceRoleDeletedBeforeAssignmentCommits(t *testing.T) {
	gate := newCommitGate("member.update")
	e := New(t, func(d *server.Deps) {
		withPermissionsGate(t, gate)(d)
		d.Members.Store = d.Permissions.Store
	})
	owner := e.signup(t, newEmail("rh-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	member, _ := e.join(t, ownerTk, newEmail("rh-member"), store1("team_member"))
	e.Call(t, "POST", "/v1/roles", ownerTk, map[string]any{"id": "fleeting", "name": "Fleeting", "permissions": []string{"orders.view"}}).Want(t, http.StatusCreated, "")
	etag := e.Call(t, "GET", "/v1/users/"+member, ownerTk, nil).Want(t, http.StatusOK, "").Header.Get("ETag")

	assigned := make(chan *Response, 1)
	go func() {
		assigned <- e.Call(t, "PATCH", "/v1/users/"+member, ownerTk, map[string]any{"assignments": []map[string]string{
			{"role": "team_member", "scope": "store:s1"}, {"role": "fleeting", "scope": "store:s1"},
		}}, "If-Match", etag)
	}()
	select {
	case <-gate.reached:
	case <-time.After(20 * time.Second): // deadline
		t.Fatal("the member change never reached its commit")
	}
	del := e.Call(t, "DELETE", "/v1/roles/fleeting?members=remove", ownerTk, nil)
	close(gate.release)
	assign := <-assigned
	t.Logf("delete: %d %s; assign: %d %s", del.Status, del.Body, assign.Status, assign.Body)
	wantNo5xx(t, "race", assign, del)
	del.Want(t, http.StatusOK, "")
	if assign.Status == http.StatusOK {
		t.Fatalf("the member change committed an assignment of a deleted role: %s", assign.Body)
	}
	assign.Want(t, http.StatusBadRequest, "role_deleted")
	if d := e.danglingAssignments(t, owner.AccountID); len(d) > 0 {
		t.Fatalf("dangling assignments after the race: %v", d)
	}
	m, err := e.Store.GetMember(context.Background(), owner.AccountID, member)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Assignments) != 1 || m.Assignments[0].Role != "team_member" {
		t.Fatalf("member afterwards: %+v", m.Assignments)
	}
}

// withMembersGate gives the members service a store whose DynamoDB client
// passes g; every other service keeps its own.
func withMembersGate(t testing.TB, g *commitGate) func(*server.Deps) {
	return func(d *server.Deps) { d.Members.Store = dynamoStore(t, g.apply) }
}

// TestRaceDemotedActorInFlight is "rights at commit time", forced: a
// manager's grant has passed the ceiling and is about to commit when the
// owner demotes the manager. The grant must fail cleanly (409
// actor_changed) and write nothing.
func TestRaceDemotedActorInFlight(t *testing.T) {
	gate := newCommitGate("member.update")
	e := New(t, withMembersGate(t, gate))
	owner := e.signup(t, newEmail("rc-dem-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	mgrID, mgrTk := e.acctMember(t, owner, []rbac.Assignment{{Role: rbac.RoleManager, Scope: rbac.AccountScope}})
	target, _ := e.join(t, ownerTk, newEmail("rc-dem-target"), store1("team_member"))
	etag := e.Call(t, "GET", "/v1/users/"+target, ownerTk, nil).Want(t, http.StatusOK, "").Header.Get("ETag")

	granted := make(chan *Response, 1)
	go func() {
		granted <- e.Call(t, "PATCH", "/v1/users/"+target, mgrTk, map[string]any{"assignments": []map[string]string{
			{"role": "manager", "scope": "store:s1"},
		}}, "If-Match", etag)
	}()
	select {
	case <-gate.reached:
	case <-time.After(20 * time.Second): // deadline
		t.Fatal("the grant never reached its commit")
	}
	// The manager is demoted while its grant waits to commit.
	mgrTag := e.Call(t, "GET", "/v1/users/"+mgrID, ownerTk, nil).Want(t, http.StatusOK, "").Header.Get("ETag")
	e.Call(t, "PATCH", "/v1/users/"+mgrID, ownerTk, map[string]any{"assignments": []map[string]string{
		{"role": "team_member", "scope": "store:s1"},
	}}, "If-Match", mgrTag).Want(t, http.StatusOK, "")
	close(gate.release)
	g := <-granted
	g.Want(t, http.StatusConflict, "actor_changed")
	var m memberView
	e.Call(t, "GET", "/v1/users/"+target, ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &m)
	if len(m.Assignments) != 1 || m.Assignments[0].Role != "team_member" {
		t.Fatalf("the demoted manager's grant was written: %+v", m.Assignments)
	}
}

// TestRaceInviterDemotedDuringAcceptance: an acceptance has re-checked its
// inviter's rights and is about to commit when the inviter is demoted. The
// acceptance must fail (409 retry) and the next attempt finds the
// invitation beyond the inviter's rights now (410 invitation_revoked):
// the invitee never becomes active on the old rights.
func TestRaceInviterDemotedDuringAcceptance(t *testing.T) {
	gate := newCommitGate("invitation.accept")
	e := New(t, func(d *server.Deps) { d.Invites.Store = dynamoStore(t, gate.apply) })
	owner := e.signup(t, newEmail("rc-inv-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	mgrID, mgrTk := e.acctMember(t, owner, []rbac.Assignment{{Role: rbac.RoleManager, Scope: rbac.AccountScope}})
	email := newEmail("rc-inv-x")
	since := time.Now()
	inv := e.invite(t, mgrTk, map[string]any{"email": email, "assignments": []map[string]string{{"role": "manager", "scope": "store:s2"}}})
	tok := e.TokenFromEmail(t, email, "invit", since)

	accepted := make(chan *Response, 1)
	go func() {
		accepted <- e.Call(t, "POST", "/v1/invitations/accept", "", map[string]string{"token": tok, "name": "Ivy", "password": goodPassword})
	}()
	select {
	case <-gate.reached:
	case <-time.After(20 * time.Second): // deadline
		t.Fatal("the acceptance never reached its commit")
	}
	etag := e.Call(t, "GET", "/v1/users/"+mgrID, ownerTk, nil).Want(t, http.StatusOK, "").Header.Get("ETag")
	e.Call(t, "PATCH", "/v1/users/"+mgrID, ownerTk, map[string]any{"assignments": []map[string]string{
		{"role": "manager", "scope": "store:s1"},
	}}, "If-Match", etag).Want(t, http.StatusOK, "")
	close(gate.release)
	(<-accepted).Want(t, http.StatusConflict, "retry")
	e.Call(t, "POST", "/v1/invitations/accept", "", map[string]string{"token": tok, "name": "Ivy", "password": goodPassword}).Want(t, http.StatusGone, "invitation_revoked")
	e.Call(t, "GET", "/v1/users/"+inv.MemberID, ownerTk, nil).Want(t, http.StatusNotFound, "")
}

package permissions_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/authz"
	"github.com/stewardhq/steward/pkg/awsclient"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/permissions"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// routes are the permission routes as the route table will list them.
var routes = []struct{ method, path, op string }{
	{"GET", "/v1/permissions", "listPermissions"},
	{"GET", "/v1/roles", "listRoles"},
	{"POST", "/v1/roles", "createRole"},
	{"GET", "/v1/roles/{id}", "getRole"},
	{"PATCH", "/v1/roles/{id}", "updateRole"},
	{"DELETE", "/v1/roles/{id}", "deleteRole"},
	{"POST", "/v1/authz/check", "checkPermission"},
	{"POST", "/v1/authz/check-batch", "checkPermissionBatch"},
	{"GET", "/v1/me/permissions", "myPermissions"},
	{"GET", "/v1/authz/who-can", "whoCan"},
}

// counter counts the DynamoDB requests of a client.
type counter struct {
	mu  sync.Mutex
	ops []string
}

func (c *counter) reset() {
	c.mu.Lock()
	c.ops = nil
	c.mu.Unlock()
}

func (c *counter) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.ops
	c.ops = nil
	return out
}

// register counts every request the client sends (each attempt, after
// retries are decided), by operation name.
func (c *counter) register(stack *middleware.Stack) error {
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("countRequests",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			c.mu.Lock()
			c.ops = append(c.ops, awsmiddleware.GetOperationName(ctx))
			c.mu.Unlock()
			return next.HandleFinalize(ctx, in)
		}), middleware.After)
}

// env is the permission routes over DynamoDB Local, with an account and
// its owner.
type env struct {
	t     *testing.T
	store *store.Store
	mux   *http.ServeMux
	count *counter
	acct  string
	owner team.Member
}

func newEnv(t *testing.T) *env {
	t.Helper()
	d := testenv.DynamoDB(t)
	cfg, err := awsclient.LoadConfig(context.Background(), testenv.Region, awsclient.Endpoints{DynamoDB: d.URL})
	if err != nil {
		t.Fatal(err)
	}
	c := &counter{}
	client := awsclient.DynamoDB(cfg, d.URL, func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, c.register)
	})
	k := make([]byte, store.CursorKeySize)
	_, _ = rand.Read(k)
	st, err := store.New(client, d.Table, k)
	if err != nil {
		t.Fatal(err)
	}
	svc := &permissions.Service{Store: st}
	ops := svc.Operations()
	mux := http.NewServeMux()
	for _, rt := range routes {
		h, ok := ops[rt.op]
		if !ok {
			t.Fatalf("no handler for %s", rt.op)
		}
		mux.Handle(rt.method+" "+rt.path, h)
	}
	if len(ops) != len(routes) {
		t.Fatalf("%d operations, %d routes", len(ops), len(routes))
	}
	e := &env{t: t, store: st, mux: mux, count: c}
	e.acct, e.owner = e.newAccount()
	return e
}

// newAccount writes an account and its owner.
func (e *env) newAccount() (string, team.Member) {
	e.t.Helper()
	now := time.Now().UTC()
	acct := team.Account{ID: store.NewID("a"), Name: "Shop", Settings: team.DefaultSettings(), Version: 1, CreatedAt: now, UpdatedAt: now}
	ident := team.Identity{ID: store.NewID("i"), Email: testenv.NewID("owner") + "@example.com", Version: 1, CreatedAt: now, UpdatedAt: now}
	owner := team.Member{
		ID: store.NewID("m"), AccountID: acct.ID, IdentityID: ident.ID, Email: ident.Email, Name: "Olive Owner",
		Status: authz.StatusActive, Admin: true, Owner: true, Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	acct.OwnerID = owner.ID
	err := e.store.CreateAccount(context.Background(), store.NewAccount{Account: acct, Owner: owner, Identity: ident, NewIdentity: true},
		audit.Event{AccountID: acct.ID, ActorID: owner.ID, Action: "account.create"})
	if err != nil {
		e.t.Fatal(err)
	}
	return acct.ID, owner
}

// member adds an active member of account acct with assignments written
// "role@scope".
func (e *env) member(acct, name string, assignments ...string) team.Member {
	e.t.Helper()
	now := time.Now().UTC()
	m := team.Member{
		ID: store.NewID("m"), AccountID: acct, Email: testenv.NewID("u") + "@example.com", Name: name,
		Status: authz.StatusActive, Assignments: parseAssignments(e.t, assignments...), Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	if err := e.store.AddMember(context.Background(), m, audit.Event{AccountID: acct, ActorID: "test", Action: "member.create", TargetType: "member", TargetID: m.ID}); err != nil {
		e.t.Fatal(err)
	}
	return m
}

func parseAssignments(t *testing.T, in ...string) []authz.Assignment {
	t.Helper()
	out := []authz.Assignment{}
	for _, a := range in {
		role, scope, ok := strings.Cut(a, "@")
		sc, err := authz.ParseScope(scope)
		if !ok || err != nil {
			t.Fatalf("assignment %q: %v", a, err)
		}
		out = append(out, authz.Assignment{Role: role, Scope: sc})
	}
	return out
}

// assign replaces a member's assignments through the store, as the users
// routes will.
func (e *env) assign(m team.Member, assignments ...string) team.Member {
	e.t.Helper()
	cur, err := e.store.GetMember(context.Background(), m.AccountID, m.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	cur.Assignments = parseAssignments(e.t, assignments...)
	next, err := e.store.UpdateMember(context.Background(), cur, audit.Event{AccountID: m.AccountID, ActorID: e.owner.ID, Action: "member.update", TargetType: "member", TargetID: m.ID})
	if err != nil {
		e.t.Fatal(err)
	}
	return next
}

// principal builds the caller as authentication would: the member and the
// account's roles loaded fresh, compiled.
func (e *env) principal(m team.Member) *auth.Principal {
	e.t.Helper()
	st, err := e.store.LoadAuth(context.Background(), m.AccountID, m.ID, "", "")
	if err != nil {
		e.t.Fatal(err)
	}
	rs, err := authz.NewRoleSet(st.Roles.Roles...)
	if err != nil {
		e.t.Fatal(err)
	}
	return &auth.Principal{Member: st.Member, Roles: rs, Authz: rs.Compile(st.Member.Authz())}
}

// response is a recorded answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

// problem checks that r is a problem with status and code, and returns its
// detail.
func (r response) problem(t *testing.T, status int, code string) string {
	t.Helper()
	if r.status != status || r.header.Get("Content-Type") != httpapi.ProblemContentType {
		t.Fatalf("status %d (%s), want %d problem %s: %s", r.status, r.header.Get("Content-Type"), status, code, r.body)
	}
	m := r.json(t)
	if m["code"] != code {
		t.Fatalf("code %v, want %s: %s", m["code"], code, r.body)
	}
	d, _ := m["detail"].(string)
	return d
}

// do sends a request as member as: body is JSON-encoded unless it is a
// string; headers come in name, value pairs. The DynamoDB request counter
// is reset after the principal is loaded, so it counts the handler's own
// requests.
func (e *env) do(as team.Member, method, path string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	req = req.WithContext(auth.WithPrincipal(req.Context(), e.principal(as)))
	e.count.reset()
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// ok checks a 2xx answer with status and returns its JSON body.
func (r response) ok(t *testing.T, status int) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r.json(t)
}

// check is a check body.
func check(action string, resource map[string]any, userID string) map[string]any {
	c := map[string]any{"action": action, "resource": resource}
	if userID != "" {
		c["userId"] = userID
	}
	return c
}

// auditCount is the number of events of action in the account.
func (e *env) auditCount(acct, action string) int {
	e.t.Helper()
	page, err := e.store.ListAudit(context.Background(), acct, audit.Filter{Action: action}, store.MaxPageSize, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return len(page.Items)
}

// rolesVersion is the version of the account's custom roles item.
func (e *env) rolesVersion(acct string) int64 {
	e.t.Helper()
	cr, err := e.store.GetCustomRoles(context.Background(), acct)
	if err != nil {
		e.t.Fatal(err)
	}
	return cr.Version
}

// assignStatus sets a member's status through the store.
func (e *env) assignStatus(m team.Member) {
	e.t.Helper()
	cur, err := e.store.GetMember(context.Background(), m.AccountID, m.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	cur.Status = m.Status
	if _, err := e.store.UpdateMember(context.Background(), cur, audit.Event{AccountID: m.AccountID, ActorID: e.owner.ID, Action: "member.update", TargetType: "member", TargetID: m.ID}); err != nil {
		e.t.Fatal(err)
	}
}

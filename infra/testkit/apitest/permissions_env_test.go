package apitest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
	"github.com/golang-jwt/jwt/v5"

	"github.com/stewardhq/steward/infra/localstack/server"
	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/accesstoken"
	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/permissions"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// The permission tests (roles_api_test.go, checks_api_test.go) drive the
// permission routes through the whole handler stack (authentication,
// middleware, the route table, the OpenAPI check of every answer) as
// members written straight to the store, each signed in with a session
// and an access token minted for it.

// reqCounter counts the DynamoDB requests of a client.
type reqCounter struct {
	mu  sync.Mutex
	ops []string
}

func (c *reqCounter) reset() {
	c.mu.Lock()
	c.ops = nil
	c.mu.Unlock()
}

func (c *reqCounter) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.ops
	c.ops = nil
	return out
}

// register counts every request the client sends (each attempt, after
// retries are decided), by operation name.
func (c *reqCounter) register(stack *middleware.Stack) error {
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("countRequests",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			c.mu.Lock()
			c.ops = append(c.ops, awsmiddleware.GetOperationName(ctx))
			c.mu.Unlock()
			return next.HandleFinalize(ctx, in)
		}), middleware.After)
}

// permEnv is the whole API with an account and its owner. The permission
// service reads and writes through its own DynamoDB client, whose requests
// count tells what a permission route costs (authentication's requests,
// on the other services' client, are not counted).
type permEnv struct {
	t      *testing.T
	api    *Env
	store  *store.Store
	count  *reqCounter
	issuer *accesstoken.Issuer
	acct   string
	owner  team.Member

	mu     sync.Mutex
	tokens map[string]string // member id: access token
}

func newPermEnv(t *testing.T) *permEnv { return newPermEnvWith(t, nil) }

// newPermEnvWith is newPermEnv with the permissions service adjusted by
// adjust (may be nil).
func newPermEnvWith(t *testing.T, adjust func(*permissions.Service)) *permEnv {
	t.Helper()
	c := &reqCounter{}
	api := New(t, func(d *server.Deps) {
		d.Permissions = &permissions.Service{Store: dynamoStore(t, func(o *dynamodb.Options) {
			o.APIOptions = append(o.APIOptions, c.register)
		})}
		if adjust != nil {
			adjust(d.Permissions)
		}
	})
	e := &permEnv{
		t: t, api: api, store: api.Store, count: c, tokens: map[string]string{},
		issuer: &accesstoken.Issuer{Keys: api.Keys, Issuer: api.Issuer, Audience: api.Audience},
	}
	e.acct, e.owner = e.newAccount()
	return e
}

// newAccount writes an account and its owner.
func (e *permEnv) newAccount() (string, team.Member) {
	e.t.Helper()
	now := time.Now().UTC()
	acct := team.Account{ID: store.NewID("a"), Name: "Shop", Settings: team.DefaultSettings(), Version: 1, CreatedAt: now, UpdatedAt: now}
	ident := team.Identity{ID: store.NewID("i"), Email: testenv.NewID("owner") + "@example.com", Version: 1, CreatedAt: now, UpdatedAt: now}
	owner := team.Member{
		ID: store.NewID("m"), AccountID: acct.ID, IdentityID: ident.ID, Email: ident.Email, Name: "Olive Owner",
		Status: rbac.StatusActive, Admin: true, Owner: true, Version: 1, CreatedAt: now, UpdatedAt: now,
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
func (e *permEnv) member(acct, name string, assignments ...string) team.Member {
	e.t.Helper()
	now := time.Now().UTC()
	m := team.Member{
		ID: store.NewID("m"), AccountID: acct, Email: testenv.NewID("u") + "@example.com", Name: name,
		Status: rbac.StatusActive, Assignments: permAssignments(e.t, assignments...), Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	if err := e.store.AddMember(context.Background(), m, audit.Event{AccountID: acct, ActorID: "test", Action: "member.create", TargetType: "member", TargetID: m.ID}); err != nil {
		e.t.Fatal(err)
	}
	return m
}

func permAssignments(t *testing.T, in ...string) []rbac.Assignment {
	t.Helper()
	out := []rbac.Assignment{}
	for _, a := range in {
		role, scope, ok := strings.Cut(a, "@")
		sc, err := rbac.ParseScope(scope)
		if !ok || err != nil {
			t.Fatalf("assignment %q: %v", a, err)
		}
		out = append(out, rbac.Assignment{Role: role, Scope: sc})
	}
	return out
}

// assign replaces a member's assignments through the store.
func (e *permEnv) assign(m team.Member, assignments ...string) team.Member {
	e.t.Helper()
	cur, err := e.store.GetMember(context.Background(), m.AccountID, m.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	cur.Assignments = permAssignments(e.t, assignments...)
	next, err := e.store.UpdateMember(context.Background(), cur, audit.Event{AccountID: m.AccountID, ActorID: e.owner.ID, Action: "member.update", TargetType: "member", TargetID: m.ID})
	if err != nil {
		e.t.Fatal(err)
	}
	return next
}

// token signs member m in: a session in the store and an access token for
// it, as sign-in makes them (once per member). Authentication reloads the
// member and the account's roles on every request.
func (e *permEnv) token(m team.Member) string {
	e.t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if tk, ok := e.tokens[m.ID]; ok {
		return tk
	}
	identity := m.IdentityID
	if identity == "" {
		identity = store.NewID("i")
	}
	now := time.Now().UTC()
	sess := store.Session{
		ID: store.NewID("s"), IdentityID: identity, AccountID: m.AccountID, MemberID: m.ID,
		RefreshHash: testenv.NewID("refresh"), CreatedAt: now, ExpiresAt: now.Add(time.Hour),
	}
	if err := e.store.CreateSession(context.Background(), sess, audit.Event{AccountID: m.AccountID, ActorID: m.ID, Action: "session.create", TargetType: "member", TargetID: m.ID}); err != nil {
		e.t.Fatal(err)
	}
	tk, _, err := e.issuer.Sign(accesstoken.Claims{AccountID: m.AccountID, SessionID: sess.ID, IdentityID: identity,
		RegisteredClaims: jwt.RegisteredClaims{Subject: m.ID}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.tokens[m.ID] = tk
	return tk
}

// permResponse is a finished call.
type permResponse struct {
	status int
	header http.Header
	body   []byte
}

func (r permResponse) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

// problem checks that r is a problem with status and code, and returns its
// detail.
func (r permResponse) problem(t *testing.T, status int, code string) string {
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

// ok checks a 2xx answer with status and returns its JSON body.
func (r permResponse) ok(t *testing.T, status int) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r.json(t)
}

// do sends a request through the whole API as member as: body is
// JSON-encoded unless it is a string; headers come in name, value pairs.
// The DynamoDB request counter is reset first, so that it counts the
// permission service's requests for this call.
func (e *permEnv) do(as team.Member, method, path string, body any, headers ...string) permResponse {
	e.t.Helper()
	tk := e.token(as)
	e.count.reset()
	r := e.api.Call(e.t, method, path, tk, body, headers...)
	return permResponse{status: r.Status, header: r.Header, body: r.Body}
}

// permCheck is a check body.
func permCheck(action string, resource map[string]any, userID string) map[string]any {
	c := map[string]any{"action": action, "resource": resource}
	if userID != "" {
		c["userId"] = userID
	}
	return c
}

// auditCount is the number of events of action in the account.
func (e *permEnv) auditCount(acct, action string) int {
	e.t.Helper()
	page, err := e.store.ListAudit(context.Background(), acct, audit.Filter{Action: action}, store.MaxPageSize, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return len(page.Items)
}

// rolesVersion is the version of the account's custom roles item.
func (e *permEnv) rolesVersion(acct string) int64 {
	e.t.Helper()
	cr, err := e.store.GetCustomRoles(context.Background(), acct)
	if err != nil {
		e.t.Fatal(err)
	}
	return cr.Version
}

// assignStatus sets a member's status through the store.
func (e *permEnv) assignStatus(m team.Member) {
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

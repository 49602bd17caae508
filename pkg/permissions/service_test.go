package permissions_test

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/permissions"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// The API tests of the permission routes are in infra/testkit/apitest
// (roles_api_test.go, checks_api_test.go, permissions_api_test.go); these
// call the service's operations directly, as a portal page or a workflow
// step does, with no HTTP in between.

func TestMain(m *testing.M) { testenv.Main(m) }

// newService is the service over DynamoDB Local with a new account, and
// its owner as a principal loaded as authentication loads it.
func newService(t *testing.T) (*permissions.Service, *store.Store, *auth.Principal) {
	t.Helper()
	d := testenv.DynamoDB(t)
	k := make([]byte, store.CursorKeySize)
	_, _ = rand.Read(k)
	st, err := store.New(d.Client, d.Table, k)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	acct := team.Account{ID: store.NewID("a"), Name: "Shop", Settings: team.DefaultSettings(), Version: 1, CreatedAt: now, UpdatedAt: now}
	ident := team.Identity{ID: store.NewID("i"), Email: testenv.NewID("owner") + "@example.com", Version: 1, CreatedAt: now, UpdatedAt: now}
	owner := team.Member{
		ID: store.NewID("m"), AccountID: acct.ID, IdentityID: ident.ID, Email: ident.Email, Name: "Olive Owner",
		Status: rbac.StatusActive, Admin: true, Owner: true, Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	acct.OwnerID = owner.ID
	if err := st.CreateAccount(context.Background(), store.NewAccount{Account: acct, Owner: owner, Identity: ident, NewIdentity: true},
		audit.Event{AccountID: acct.ID, ActorID: owner.ID, Action: "account.create"}); err != nil {
		t.Fatal(err)
	}
	return &permissions.Service{Store: st}, st, principal(t, st, owner)
}

func principal(t *testing.T, st *store.Store, m team.Member) *auth.Principal {
	t.Helper()
	a, err := st.LoadAuth(context.Background(), m.AccountID, m.ID, "", "")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rbac.NewRoleSet(a.Roles.Roles...)
	if err != nil {
		t.Fatal(err)
	}
	return &auth.Principal{Member: a.Member, Roles: rs, Authz: rs.Compile(a.Member.Authz(time.Now()))}
}

// wantFault checks that err is a *fault.Error of kind and code.
func wantFault(t *testing.T, err error, kind fault.Kind, code string) {
	t.Helper()
	var f *fault.Error
	if !errors.As(err, &f) || f.Kind != kind || f.Code != code {
		t.Fatalf("error %v, want %s (kind %d)", err, code, kind)
	}
}

func TestOperationsNeedAPrincipal(t *testing.T) {
	s := &permissions.Service{}
	ctx := context.Background()
	_, err := s.Catalogue(ctx, nil)
	wantFault(t, err, fault.Unauthenticated, "unauthenticated")
	_, err = s.ListRoles(ctx, nil)
	wantFault(t, err, fault.Unauthenticated, "unauthenticated")
	_, err = s.CreateRole(ctx, nil, permissions.RoleInput{})
	wantFault(t, err, fault.Unauthenticated, "unauthenticated")
	_, err = s.Check(ctx, &auth.Principal{}, permissions.CheckInput{})
	wantFault(t, err, fault.Unauthenticated, "unauthenticated")
	_, err = s.WhoCan(ctx, nil, permissions.WhoCanQuery{})
	wantFault(t, err, fault.Unauthenticated, "unauthenticated")
}

// A role's life through the service: create, read, change at the version
// read, check a member holding it, list who can, delete with its holder
// reassigned.
func TestRoleLifeThroughTheService(t *testing.T) {
	s, st, owner := newService(t)
	ctx := context.Background()

	cat, err := s.Catalogue(ctx, owner)
	if err != nil || len(cat.Permissions) != len(rbac.Permissions()) {
		t.Fatalf("catalogue: %d permissions, %v", len(cat.Permissions), err)
	}

	c, err := s.CreateRole(ctx, owner, permissions.RoleInput{ID: "buyer", Name: " Buyer ", Permissions: []string{"purchases.edit", "purchases.view"}, ScopeKinds: []string{"store"}})
	if err != nil || c.Version != 1 || c.Role.Name != "Buyer" || c.Role.BuiltIn {
		t.Fatalf("create: %+v, %v", c, err)
	}
	_, err = s.CreateRole(ctx, owner, permissions.RoleInput{ID: "buyer", Name: "Buyer", Permissions: []string{"orders.view"}})
	wantFault(t, err, fault.Conflict, "role_exists")

	role, v, err := s.GetRole(ctx, owner, "buyer")
	if err != nil || v != 1 || role.ID != "buyer" {
		t.Fatalf("get: %+v %d %v", role, v, err)
	}
	_, _, err = s.GetRole(ctx, owner, "nope")
	wantFault(t, err, fault.NotFound, "role_not_found")

	name := "Store buyer"
	_, err = s.UpdateRole(ctx, owner, "buyer", httpapi.Precondition{}, permissions.RolePatch{Name: &name})
	wantFault(t, err, fault.PreconditionRequired, "precondition_required")
	_, err = s.UpdateRole(ctx, owner, "buyer", httpapi.Precondition{Present: true, Versions: []int64{7}}, permissions.RolePatch{Name: &name})
	wantFault(t, err, fault.Stale, "stale_version")
	u, err := s.UpdateRole(ctx, owner, "buyer", httpapi.Precondition{Present: true, Versions: []int64{1}}, permissions.RolePatch{Name: &name})
	if err != nil || u.Version != 2 || u.Role.Name != name {
		t.Fatalf("update: %+v, %v", u, err)
	}

	now := time.Now().UTC()
	bob := team.Member{
		ID: store.NewID("m"), AccountID: owner.AccountID(), Email: testenv.NewID("bob") + "@example.com", Name: "Bob",
		Status: rbac.StatusActive, Assignments: []rbac.Assignment{{Role: "buyer", Scope: rbac.Scope{Kind: rbac.ScopeStore, ID: "s1"}}},
		Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	if err := st.AddMember(ctx, bob, audit.Event{AccountID: bob.AccountID, ActorID: "test", Action: "member.create", TargetType: "member", TargetID: bob.ID}); err != nil {
		t.Fatal(err)
	}
	res, err := s.CheckBatch(ctx, owner, []permissions.CheckInput{
		{Action: "purchases.edit", Resource: &permissions.ResourceInput{Store: "s1"}, UserID: bob.ID},
		{Action: "purchases.edit", Resource: &permissions.ResourceInput{Store: "s2"}, UserID: bob.ID},
	})
	if err != nil || len(res) != 2 || !res[0].Allowed || res[0].GrantedBy == nil || res[0].GrantedBy.Role != "buyer" || res[1].Allowed {
		t.Fatalf("batch: %+v, %v", res, err)
	}
	_, err = s.CheckBatch(ctx, owner, []permissions.CheckInput{{Action: "orders.fly", Resource: &permissions.ResourceInput{}}})
	wantFault(t, err, fault.Invalid, "unknown_action")
	mine, err := s.Check(ctx, principal(t, st, bob), permissions.CheckInput{Action: "purchases.edit", Resource: &permissions.ResourceInput{Store: "s1"}})
	if err != nil || !mine.Allowed || mine.Code != "role" {
		t.Fatalf("bob's own check: %+v, %v", mine, err)
	}
	_, err = s.Check(ctx, principal(t, st, bob), permissions.CheckInput{Action: "orders.view", Resource: &permissions.ResourceInput{}, UserID: owner.Member.ID})
	wantFault(t, err, fault.Forbidden, "forbidden")

	// Who-can decides with the caller's role set: load the principal
	// again, as authentication does for every request.
	owner = principal(t, st, owner.Member)
	page, err := s.WhoCan(ctx, owner, permissions.WhoCanQuery{Action: "purchases.edit", Resource: permissions.ResourceInput{Store: "s1"}})
	if err != nil || len(page.Items) != 2 || page.Next != "" {
		t.Fatalf("who can: %+v, %v", page, err)
	}
	_, err = s.WhoCan(ctx, principal(t, st, bob), permissions.WhoCanQuery{Action: "purchases.edit"})
	wantFault(t, err, fault.Forbidden, "forbidden")

	effective, err := s.MyPermissions(ctx, owner)
	if err != nil || !effective.Owner || effective.MemberID != owner.Member.ID {
		t.Fatalf("my permissions: %+v, %v", effective, err)
	}

	_, err = s.DeleteRole(ctx, owner, "buyer", permissions.DeleteOptions{}, httpapi.Precondition{})
	wantFault(t, err, fault.Conflict, "role_in_use")
	_, err = s.DeleteRole(ctx, owner, "manager", permissions.DeleteOptions{}, httpapi.Precondition{})
	wantFault(t, err, fault.Forbidden, "built_in_role")
	del, err := s.DeleteRole(ctx, owner, "buyer", permissions.DeleteOptions{Members: permissions.MembersReassign, To: "team_member"}, httpapi.Precondition{Present: true, Versions: []int64{2}})
	if err != nil || del.Version != 3 || del.Members.Count != 1 || del.Members.IDs[0] != bob.ID || del.Members.Action != "reassign" {
		t.Fatalf("delete: %+v, %v", del, err)
	}
	rs, err := s.ListRoles(ctx, owner)
	if err != nil || rs.Version != 3 || len(rs.Roles) != len(rbac.BuiltInRoles()) {
		t.Fatalf("roles after delete: %d roles at %d, %v", len(rs.Roles), rs.Version, err)
	}
}

package rbac_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stewardhq/steward/pkg/rbac"
)

// The case files under testdata/cases are data: each case describes a
// member (or actor and target), the input and the expected outcome.
// TestCases is the one driver that runs them all.

const defaultAccount = "acme"

// caseMember is a member in a case file. Grants use the short form
// "role@scope". Defaults: account "acme", status "active".
type caseMember struct {
	ID      string   `json:"id"`
	Account *string  `json:"account"`
	Status  *string  `json:"status"`
	Admin   bool     `json:"admin"`
	Owner   bool     `json:"owner"`
	Grants  []string `json:"grants"`
}

type caseResource struct {
	Account          *string `json:"account"`
	Type             string  `json:"type"`
	ID               string  `json:"id"`
	Store            string  `json:"store"`
	Department       string  `json:"department"`
	Supplier         string  `json:"supplier"`
	DocType          string  `json:"docType"`
	DocStatus        string  `json:"docStatus"`
	ApprovalRequired bool    `json:"approvalRequired"`
}

type caseRole struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Admin       bool     `json:"admin"`
	AdminOnly   bool     `json:"adminOnly"`
	Permissions []string `json:"permissions"`
	ScopeKinds  []string `json:"scopeKinds"`
}

type testCase struct {
	Name        string     `json:"name"`
	Kind        string     `json:"kind"` // decide (default), change, impersonate, transfer, role, effective, whocan
	CustomRoles []caseRole `json:"customRoles"`

	// decide, effective
	Member   *caseMember   `json:"member"`
	Action   string        `json:"action"`
	Resource *caseResource `json:"resource"`

	// decide expectations
	Allowed    *bool  `json:"allowed"`
	Reason     string `json:"reason"` // substring of Decision.Reason()
	Code       string `json:"code"`
	Permission string `json:"permission"`
	GrantRole  string `json:"grantRole"`
	GrantScope string `json:"grantScope"` // Decision.Scope
	Missing    string `json:"missing"`

	// change, impersonate, transfer
	Actor         *caseMember `json:"actor"`
	Before        *caseMember `json:"before"`
	After         *caseMember `json:"after"`
	Target        *caseMember `json:"target"`
	Error         *string     `json:"error"` // sentinel name, "" for success
	ErrorContains string      `json:"errorContains"`

	// role
	CustomRole *caseRole `json:"customRole"`
	Warnings   []string  `json:"warnings"`

	// effective
	Scopes   []string            `json:"scopes"`
	Includes map[string][]string `json:"includes"`
	Excludes map[string][]string `json:"excludes"`

	// whocan
	Members    []caseMember `json:"members"`
	AllowedIDs []string     `json:"allowedIds"`
}

var sentinels = map[string]error{
	"ErrInvalidScope":         rbac.ErrInvalidScope,
	"ErrInvalidPermissionKey": rbac.ErrInvalidPermissionKey,
	"ErrUnknownPermission":    rbac.ErrUnknownPermission,
	"ErrInvalidRole":          rbac.ErrInvalidRole,
	"ErrRoleCollision":        rbac.ErrRoleCollision,
	"ErrReservedPermission":   rbac.ErrReservedPermission,
	"ErrUnknownRole":          rbac.ErrUnknownRole,
	"ErrScopeNotAllowed":      rbac.ErrScopeNotAllowed,
	"ErrNotActive":            rbac.ErrNotActive,
	"ErrCrossTenant":          rbac.ErrCrossTenant,
	"ErrInvalidChange":        rbac.ErrInvalidChange,
	"ErrSelfChange":           rbac.ErrSelfChange,
	"ErrAdminOnly":            rbac.ErrAdminOnly,
	"ErrAdminOnlyRole":        rbac.ErrAdminOnlyRole,
	"ErrOwnerOnly":            rbac.ErrOwnerOnly,
	"ErrOwnerProtected":       rbac.ErrOwnerProtected,
	"ErrOutsideManagedScope":  rbac.ErrOutsideManagedScope,
	"ErrExceedsOwnRights":     rbac.ErrExceedsOwnRights,
	"ErrCannotImpersonate":    rbac.ErrCannotImpersonate,
}

// rawScope parses a scope leniently, so cases can carry malformed scopes
// for the engine to reject.
func rawScope(s string) rbac.Scope {
	if sc, err := rbac.ParseScope(s); err == nil {
		return sc
	}
	kind, id, _ := strings.Cut(s, ":")
	return rbac.Scope{Kind: rbac.ScopeKind(kind), ID: id}
}

func (m *caseMember) toMember(defaultID string) rbac.Member {
	if m == nil {
		return rbac.Member{}
	}
	out := rbac.Member{ID: m.ID, Account: defaultAccount, Status: rbac.StatusActive, Admin: m.Admin, Owner: m.Owner}
	if out.ID == "" {
		out.ID = defaultID
	}
	if m.Account != nil {
		out.Account = *m.Account
	}
	if m.Status != nil {
		out.Status = rbac.Status(*m.Status)
	}
	for _, g := range m.Grants {
		role, scope, ok := strings.Cut(g, "@")
		if !ok {
			panic("grant without @: " + g)
		}
		out.Assignments = append(out.Assignments, rbac.Assignment{Role: role, Scope: rawScope(scope)})
	}
	return out
}

func (r *caseResource) toResource() rbac.Resource {
	if r == nil {
		return rbac.Resource{Account: defaultAccount}
	}
	out := rbac.Resource{
		Account: defaultAccount, Type: r.Type, ID: r.ID, Store: r.Store, Department: r.Department,
		Supplier: r.Supplier, DocType: rbac.DocType(r.DocType), DocStatus: rbac.DocStatus(r.DocStatus),
		ApprovalRequired: r.ApprovalRequired,
	}
	if r.Account != nil {
		out.Account = *r.Account
	}
	return out
}

func (r caseRole) toRole() rbac.Role {
	out := rbac.Role{ID: r.ID, Name: r.Name, Description: r.Description, Admin: r.Admin, AdminOnly: r.AdminOnly, Permissions: r.Permissions}
	for _, k := range r.ScopeKinds {
		out.ScopeKinds = append(out.ScopeKinds, rbac.ScopeKind(k))
	}
	return out
}

func loadCases(t *testing.T) map[string][]testCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "cases", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no case files: %v", err)
	}
	out := map[string][]testCase{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var cases []testCase
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cases); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = cases
	}
	return out
}

// TestCases runs every case file under testdata/cases.
func TestCases(t *testing.T) {
	all := loadCases(t)
	total := 0
	names := map[string]bool{}
	for file, cases := range all {
		for _, c := range cases {
			total++
			if c.Name == "" || names[file+"/"+c.Name] {
				t.Errorf("%s: empty or duplicate case name %q", file, c.Name)
			}
			names[file+"/"+c.Name] = true
			t.Run(file+"/"+c.Name, func(t *testing.T) { runCase(t, c) })
		}
	}
	if total < 150 {
		t.Errorf("only %d cases; want at least 150", total)
	}
	t.Logf("%d cases", total)
}

func runCase(t *testing.T, c testCase) {
	var custom []rbac.Role
	for _, r := range c.CustomRoles {
		custom = append(custom, r.toRole())
	}
	rs, err := rbac.NewRoleSet(custom...)
	if err != nil {
		t.Fatalf("NewRoleSet: %v", err)
	}
	switch c.Kind {
	case "", "decide":
		runDecide(t, rs, c)
	case "change":
		var before rbac.Member
		if c.Before != nil {
			before = c.Before.toMember("target")
		}
		err := rs.CheckChange(c.Actor.toMember("actor"), before, c.After.toMember("target"))
		checkErr(t, c, err)
	case "impersonate":
		checkErr(t, c, rs.CheckImpersonation(c.Actor.toMember("actor"), c.Target.toMember("target")))
	case "transfer":
		checkErr(t, c, rs.CheckOwnershipTransfer(c.Actor.toMember("actor"), c.Target.toMember("target")))
	case "role":
		warnings, err := rbac.ValidateRole(c.CustomRole.toRole())
		checkErr(t, c, err)
		if err == nil {
			got := []string{}
			for _, w := range warnings {
				got = append(got, w.String())
			}
			want := c.Warnings
			if want == nil {
				want = []string{}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		}
	case "effective":
		eff := rs.Compile(c.Member.toMember("m1")).Effective()
		got := map[string][]string{}
		var scopes []string
		for _, e := range eff {
			scopes = append(scopes, e.Scope.String())
			got[e.Scope.String()] = e.Permissions
		}
		if diff := cmp.Diff(c.Scopes, scopes, cmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })); diff != "" && !(len(c.Scopes) == 0 && len(scopes) == 0) {
			t.Errorf("scopes (-want +got):\n%s", diff)
		}
		for s, keys := range c.Includes {
			for _, k := range keys {
				if !slices.Contains(got[s], k) {
					t.Errorf("at %s: %s missing from %v", s, k, got[s])
				}
			}
		}
		for s, keys := range c.Excludes {
			for _, k := range keys {
				if slices.Contains(got[s], k) {
					t.Errorf("at %s: %s present, want absent", s, k)
				}
			}
		}
	case "whocan":
		var members []rbac.Member
		for i, m := range c.Members {
			members = append(members, m.toMember(string(rune('a'+i))))
		}
		var ids []string
		for _, m := range rs.WhoCan(members, c.Action, c.Resource.toResource()) {
			ids = append(ids, m.ID)
		}
		if diff := cmp.Diff(c.AllowedIDs, ids); diff != "" {
			t.Errorf("allowed ids (-want +got):\n%s", diff)
		}
	default:
		t.Fatalf("unknown case kind %q", c.Kind)
	}
}

func runDecide(t *testing.T, rs *rbac.RoleSet, c testCase) {
	if c.Allowed == nil || c.Member == nil {
		t.Fatal("decide case needs member and allowed")
	}
	if c.Reason == "" && c.Code == "" {
		t.Fatal("decide case needs reason or code")
	}
	m := c.Member.toMember("m1")
	r := c.Resource.toResource()
	d := rs.Compile(m).Decide(c.Action, r)
	reason := d.Reason()
	if d.Allowed != *c.Allowed {
		t.Errorf("allowed = %v, want %v (%s)", d.Allowed, *c.Allowed, reason)
	}
	if c.Reason != "" && !strings.Contains(reason, c.Reason) {
		t.Errorf("reason = %q, want it to contain %q", reason, c.Reason)
	}
	if c.Code != "" && string(d.Code) != c.Code {
		t.Errorf("code = %q, want %q (%s)", d.Code, c.Code, reason)
	}
	if c.Permission != "" && d.Permission != c.Permission {
		t.Errorf("permission = %q, want %q", d.Permission, c.Permission)
	}
	if c.GrantRole != "" && d.Role != c.GrantRole {
		t.Errorf("role = %q, want %q", d.Role, c.GrantRole)
	}
	if c.GrantScope != "" && d.Scope.String() != c.GrantScope {
		t.Errorf("scope = %q, want %q", d.Scope, c.GrantScope)
	}
	if c.Missing != "" && d.Missing != c.Missing {
		t.Errorf("missing = %q, want %q", d.Missing, c.Missing)
	}
	// Every case also checks the general invariants.
	if d.Allowed != strings.HasPrefix(reason, "allowed") {
		t.Errorf("reason %q does not match allowed=%v", reason, d.Allowed)
	}
	if again := rs.Decide(m, c.Action, r); again != d {
		t.Errorf("RoleSet.Decide differs from Principal.Decide: %+v vs %+v", again, d)
	}
}

func checkErr(t *testing.T, c testCase, err error) {
	t.Helper()
	if c.Error == nil {
		t.Fatal("case needs \"error\" (sentinel name or empty)")
	}
	if *c.Error == "" {
		if err != nil {
			t.Errorf("error = %v, want nil", err)
		}
		return
	}
	want, ok := sentinels[*c.Error]
	if !ok {
		t.Fatalf("unknown sentinel %q", *c.Error)
	}
	if !errors.Is(err, want) {
		t.Errorf("error = %v, want %s", err, *c.Error)
		return
	}
	if c.ErrorContains != "" && !strings.Contains(err.Error(), c.ErrorContains) {
		t.Errorf("error = %q, want it to contain %q", err, c.ErrorContains)
	}
}

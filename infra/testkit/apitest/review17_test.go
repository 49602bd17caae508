package apitest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/localstack/server"
	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/alerts"
)

// patchAs replaces member id's assignments as the holder of tk.
func (e *Env) patchAs(t *testing.T, tk, id string, body map[string]any) *Response {
	t.Helper()
	cur := e.Call(t, "GET", "/v1/users/"+id, tk, nil).Want(t, http.StatusOK, "")
	return e.Call(t, "PATCH", "/v1/users/"+id, tk, body, "If-Match", cur.Header.Get("ETag"))
}

// A payments manager (admin-only; "managers invite team members only")
// cannot make another manager out of permission assignments, nor can a
// storefront senior manager make a senior manager; both still give the
// keys of a role they could grant.
func TestReview17PermissionsCannotRebuildAdminOnlyRoles(t *testing.T) {
	r := setupSeedRun(t, "rev17-payments", seedFile{Preset: "payments", Setup: seedSetup{
		Stores: []string{"s1", "s2"},
		Members: []seedMember{
			{ID: "mgr", Assignments: []map[string]any{{"role": "manager", "scope": "store:s1"}}},
			{ID: "team", Assignments: []map[string]any{{"role": "team_member", "scope": "store:s1"}}},
		},
	}})
	mgrTk, teamID := r.actors["mgr"].token, r.actors["team"].id
	r.e.patchAs(t, mgrTk, teamID, map[string]any{"assignments": []map[string]any{
		{"permissions": []string{"stores.view", "users.view", "users.manage", "directory.view"}, "scope": "store:s1"},
	}}).Want(t, http.StatusForbidden, "")
	r.e.patchAs(t, mgrTk, teamID, map[string]any{"assignments": []map[string]any{
		{"permissions": []string{"stores.view", "orders.view"}, "scope": "store:s1"},
	}}).Want(t, http.StatusOK, "")
	r.e.Call(t, "POST", "/v1/invitations", mgrTk, map[string]any{"email": newEmail("rev17-x"), "assignments": []map[string]any{
		{"permissions": []string{"users.manage", "users.view"}, "scope": "store:s1"},
	}}).Want(t, http.StatusForbidden, "")

	s := setupSeedRun(t, "rev17-storefront", seedFile{Preset: "storefront", Setup: seedSetup{
		Members: []seedMember{
			{ID: "senior", Assignments: []map[string]any{{"role": "senior_manager", "scope": "account"}}},
			{ID: "enduser", Assignments: []map[string]any{{"role": "end_user", "scope": "account"}}},
		},
	}})
	s.e.patchAs(t, s.actors["senior"].token, s.actors["enduser"].id, map[string]any{"assignments": []map[string]any{
		{"permissions": []string{"users.view", "users.manage", "directory.view", "products.view"}, "scope": "account"},
	}}).Want(t, http.StatusForbidden, "")
}

// Under single billing a store manager does not manage an accountant
// whose grant at its store counts account-wide: no suspending it.
func TestReview17StoreManagerAndAccountWideAccountant(t *testing.T) {
	settings, _ := json.Marshal(map[string]any{"billing": "single"})
	r := setupSeedRun(t, "rev17-single", seedFile{Preset: "payments", Setup: seedSetup{
		Stores:   []string{"s1", "s2"},
		Settings: settings,
		Members: []seedMember{
			{ID: "mgr", Assignments: []map[string]any{{"role": "manager", "scope": "store:s1"}}},
			{ID: "acc", Assignments: []map[string]any{{"role": "accountant", "scope": "store:s1"}}},
		},
	}})
	r.e.Call(t, "POST", "/v1/users/"+r.actors["acc"].id+"/suspend", r.actors["mgr"].token, nil).Want(t, http.StatusForbidden, "")
	r.e.patchAs(t, r.actors["mgr"].token, r.actors["acc"].id, map[string]any{"assignments": []map[string]any{}}).Want(t, http.StatusForbidden, "")
}

// A time-bound permission assignment is announced before it expires like
// a role (the notice names its permissions), and does not break the
// account's alert run.
func TestReview17GrantExpiryNoticeOfPermissionAssignment(t *testing.T) {
	var svc *alerts.Service
	e := New(t, func(d *server.Deps) { svc = d.Alerts })
	owner := e.signup(t, newEmail("rev17-gx"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	memberEmail := newEmail("rev17-gxm")
	memberID, _ := e.join(t, ownerTk, memberEmail, map[string]any{"assignments": []map[string]string{{"role": "team_member", "scope": "store:s2"}}})
	since := time.Now()
	soon := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	e.patchAs(t, ownerTk, memberID, map[string]any{"assignments": []map[string]any{
		{"role": "team_member", "scope": "store:s2"},
		{"permissions": []string{"orders.view"}, "scope": "store:s1", "expiresAt": soon},
		{"permissions": []string{"stock.view"}, "scope": "store:s1", "expiresAt": soon},
	}}).Want(t, http.StatusOK, "")
	if _, err := svc.Run(context.Background(), alerts.RunOptions{Force: true, Account: owner.AccountID}); err != nil {
		t.Fatalf("alert run: %v", err)
	}
	var got []testenv.Email
	for _, m := range e.SES.Emails(t, since) {
		if strings.Contains(m.Subject, "Access expires") {
			got = append(got, m)
		}
	}
	if len(got) != 2 {
		t.Fatalf("%d notices, want 2 (one per expiring permission assignment)", len(got))
	}
	subjects := got[0].Subject + " | " + got[1].Subject
	if !strings.Contains(subjects, "orders.view") || !strings.Contains(subjects, "stock.view") {
		t.Fatalf("notices %q do not name the permissions", subjects)
	}
}

// PATCH /v1/account's billing and lock-by-age hold on the very next
// request (the roles version item carries them, the caches key on them),
// and need policies.manage.
func TestReview17SettingsFreshOnNextRequest(t *testing.T) {
	r := setupSeedRun(t, "rev17-fresh", seedFile{Preset: "payments", Setup: seedSetup{
		Stores: []string{"s1", "s2"},
		Members: []seedMember{
			{ID: "acc", Assignments: []map[string]any{{"role": "accountant", "scope": "store:s1"}}},
			{ID: "mgr", Assignments: []map[string]any{{"role": "manager", "scope": "store:s1"}}},
		},
	}})
	owner, acc := r.actors["owner"].token, r.actors["acc"].token
	allowed := func(tk string, res map[string]any) bool {
		return r.e.Call(t, "POST", "/v1/authz/check", tk, permCheck("finance.transactions.view", res, "")).Want(t, http.StatusOK, "").Map(t)["allowed"] == true
	}
	patch := func(tk string, settings map[string]any) *Response {
		etag := r.e.Call(t, "GET", "/v1/account", owner, nil).Want(t, http.StatusOK, "").Header.Get("ETag")
		return r.e.Call(t, "PATCH", "/v1/account", tk, map[string]any{"settings": settings}, "If-Match", etag)
	}
	if allowed(acc, map[string]any{"store": "s2"}) {
		t.Fatal("per_store: accountant of s1 sees s2")
	}
	patch(r.actors["mgr"].token, map[string]any{"billing": "single"}).Want(t, http.StatusForbidden, "")
	patch(owner, map[string]any{"billing": "single"}).Want(t, http.StatusOK, "")
	if !allowed(acc, map[string]any{"store": "s2"}) {
		t.Fatal("single: accountant of s1 does not see s2 on the next request")
	}
	patch(owner, map[string]any{"billing": "per_store"}).Want(t, http.StatusOK, "")
	if allowed(acc, map[string]any{"store": "s2"}) {
		t.Fatal("back to per_store: accountant of s1 still sees s2")
	}
}

// lockAfterDays holds on the very next request after PATCH /v1/account.
func TestReview17LockAfterDaysFreshOnNextRequest(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("rev17-lock"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	_, mem := e.join(t, ownerTk, newEmail("rev17-lockm"), map[string]any{"assignments": []map[string]any{{"permissions": []string{"purchases.view", "purchases.edit", "settings.manage"}, "scope": "account"}}})
	old := time.Now().AddDate(0, 0, -40).UTC().Format(time.DateOnly)
	editOld := func() map[string]any {
		return e.Call(t, "POST", "/v1/authz/check", mem.AccessToken, permCheck("documents.edit",
			map[string]any{"store": "s1", "docType": "purchase_order", "docStatus": "draft", "date": old}, "")).Want(t, http.StatusOK, "").Map(t)
	}
	if d := editOld(); d["allowed"] != true {
		t.Fatalf("no lock-by-age: %v", d)
	}
	etag := e.Call(t, "GET", "/v1/account", ownerTk, nil).Want(t, http.StatusOK, "").Header.Get("ETag")
	e.Call(t, "PATCH", "/v1/account", mem.AccessToken, map[string]any{"settings": map[string]any{"lockAfterDays": 30}}, "If-Match", etag).Want(t, http.StatusForbidden, "")
	e.Call(t, "PATCH", "/v1/account", ownerTk, map[string]any{"settings": map[string]any{"lockAfterDays": 30}}, "If-Match", etag).Want(t, http.StatusOK, "")
	if d := editOld(); d["allowed"] == true {
		t.Fatalf("lockAfterDays 30: a 40-day-old document is still editable on the next request: %v", d)
	}
}

// 100 assignments of every normal key each: the member, its audit event
// and its change event still fit (DynamoDB items are at most 400 KB).
func TestReview17LargestPermissionAssignments(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("rev17-big"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	memberID, _ := e.join(t, ownerTk, newEmail("rev17-bigm"), map[string]any{"assignments": []map[string]string{{"role": "team_member", "scope": "store:s2"}}})
	var cat struct {
		Permissions []struct {
			Key  string `json:"key"`
			Tier string `json:"tier"`
		} `json:"permissions"`
	}
	e.Call(t, "GET", "/v1/permissions", ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &cat)
	var keys []string
	for _, p := range cat.Permissions {
		if p.Tier == "" || p.Tier == "normal" {
			keys = append(keys, p.Key)
		}
	}
	as := make([]map[string]any, 0, 100)
	for i := range 100 {
		// Every key, each assignment in another order.
		ks := append(append([]string{}, keys[i%len(keys):]...), keys[:i%len(keys)]...)
		as = append(as, map[string]any{"permissions": ks, "scope": []string{"account", "store:s1", "store:s2"}[i%3]})
	}
	e.patchAs(t, ownerTk, memberID, map[string]any{"assignments": as}).Want(t, http.StatusOK, "")
	e.Call(t, "GET", "/v1/users/"+memberID, ownerTk, nil).Want(t, http.StatusOK, "")
	e.Call(t, "GET", "/v1/audit?limit=5", ownerTk, nil).Want(t, http.StatusOK, "")
	e.Call(t, "GET", "/v1/events?limit=5", ownerTk, nil).Want(t, http.StatusOK, "")
}

package apitest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/localstack/server"
	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/alerts"
)

// grantAt is an assignment body with a window (zero times left out).
func grantAt(role, scope string, starts, expires time.Time) map[string]string {
	g := map[string]string{"role": role, "scope": scope}
	if !starts.IsZero() {
		g["startsAt"] = starts.UTC().Format(time.RFC3339Nano)
	}
	if !expires.IsZero() {
		g["expiresAt"] = expires.UTC().Format(time.RFC3339Nano)
	}
	return g
}

// patchGrants replaces the member's assignments as the owner.
func (e *Env) patchGrants(t *testing.T, ownerTk, id string, grants ...map[string]string) *Response {
	t.Helper()
	cur := e.Call(t, "GET", "/v1/users/"+id, ownerTk, nil).Want(t, http.StatusOK, "")
	return e.Call(t, "PATCH", "/v1/users/"+id, ownerTk, map[string]any{"assignments": grants}, "If-Match", cur.Header.Get("ETag"))
}

// grantState answers, for the member, its own check of orders.view at
// store s1, whether me/permissions lists store:s1, and whether who-can
// (asked by the owner) lists it.
func (e *Env) grantState(t *testing.T, ownerTk, memberTk, memberID string) (check, me, whoCan bool) {
	t.Helper()
	c := e.Call(t, "POST", "/v1/authz/check", memberTk, permCheck("orders.view", map[string]any{"store": "s1"}, "")).Want(t, http.StatusOK, "").Map(t)
	check = c["allowed"] == true
	var mp struct {
		Scopes []struct {
			Scope       string   `json:"scope"`
			Permissions []string `json:"permissions"`
		} `json:"scopes"`
	}
	e.Call(t, "GET", "/v1/me/permissions", memberTk, nil).Want(t, http.StatusOK, "").JSON(t, &mp)
	for _, s := range mp.Scopes {
		if s.Scope == "store:s1" {
			for _, p := range s.Permissions {
				me = me || p == "orders.view"
			}
		}
	}
	for _, it := range e.Call(t, "GET", "/v1/authz/who-can?action=orders.view&store=s1", ownerTk, nil).Want(t, http.StatusOK, "").Map(t)["items"].([]any) {
		whoCan = whoCan || it.(map[string]any)["id"] == memberID
	}
	return check, me, whoCan
}

func assignmentsOf(t *testing.T, e *Env, ownerTk, id string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, a := range e.Call(t, "GET", "/v1/users/"+id, ownerTk, nil).Want(t, http.StatusOK, "").Map(t)["assignments"].([]any) {
		out = append(out, a.(map[string]any))
	}
	return out
}

func TestTimeBoundGrants(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("tb-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	memberID, memberTk := e.join(t, ownerTk, newEmail("tb-mem"), map[string]any{"assignments": []map[string]string{{"role": "team_member", "scope": "store:s2"}}})
	tk := memberTk.AccessToken
	if c, m, w := e.grantState(t, ownerTk, tk, memberID); c || m || w {
		t.Fatalf("before the grant: check %v, me %v, who-can %v", c, m, w)
	}

	// A grant expiring 2 s ahead counts at once, everywhere, and stops
	// counting at its instant, with nothing in between.
	expires := time.Now().Add(2 * time.Second)
	e.patchGrants(t, ownerTk, memberID, grantAt("team_member", "store:s2", time.Time{}, time.Time{}), grantAt("manager", "store:s1", time.Time{}, expires)).Want(t, http.StatusOK, "")
	if c, m, w := e.grantState(t, ownerTk, tk, memberID); !c || !m || !w {
		if time.Now().Before(expires) {
			t.Fatalf("within the window: check %v, me %v, who-can %v", c, m, w)
		}
	}
	testenv.Eventually(t, 15*time.Second, "the grant expires", func() error {
		if c, m, w := e.grantState(t, ownerTk, tk, memberID); c || m || w {
			return fmt.Errorf("check %v, me %v, who-can %v", c, m, w)
		}
		return nil
	})
	if time.Now().Before(expires) {
		t.Fatal("denied before the expiry")
	}
	// The expired grant stays on the member, marked, until removed.
	as := assignmentsOf(t, e, ownerTk, memberID)
	if len(as) != 2 || as[1]["role"] != "manager" || as[1]["expired"] != true || as[1]["grantedBy"] != owner.MemberID {
		t.Fatalf("assignments after expiry: %v", as)
	}
	// Sending it back as it is keeps it (no "must be in the future" for a
	// kept grant); removing it needs nothing more than today.
	var kept []map[string]string
	for _, a := range as {
		g := map[string]string{"role": a["role"].(string), "scope": a["scope"].(string)}
		if x, ok := a["expiresAt"].(string); ok {
			g["expiresAt"] = x
		}
		kept = append(kept, g)
	}
	e.patchGrants(t, ownerTk, memberID, kept...).Want(t, http.StatusOK, "")
	e.patchGrants(t, ownerTk, memberID, kept[0]).Want(t, http.StatusOK, "")

	// A grant that starts later is pending and grants nothing yet.
	later := time.Now().Add(time.Hour)
	e.patchGrants(t, ownerTk, memberID, kept[0], grantAt("manager", "store:s1", later, later.Add(time.Hour))).Want(t, http.StatusOK, "")
	if as := assignmentsOf(t, e, ownerTk, memberID); len(as) != 2 || as[1]["pending"] != true || as[1]["expired"] != nil {
		t.Fatalf("pending grant: %v", as)
	}
	if c, m, w := e.grantState(t, ownerTk, tk, memberID); c || m || w {
		t.Fatalf("before startsAt: check %v, me %v, who-can %v", c, m, w)
	}
	// Member lists filter by the grants that count now.
	for _, it := range e.Call(t, "GET", "/v1/users?role=manager", ownerTk, nil).Want(t, http.StatusOK, "").Map(t)["items"].([]any) {
		if it.(map[string]any)["id"] == memberID {
			t.Fatal("a pending manager grant lists the member as a manager")
		}
	}

	// Validation names the field.
	now := time.Now()
	for _, tc := range []struct {
		grant map[string]string
		field string
	}{
		{grantAt("manager", "store:s1", time.Time{}, now.Add(-time.Minute)), "assignments[1].expiresAt"},
		{map[string]string{"role": "manager", "scope": "store:s1", "expiresAt": "tomorrow"}, "assignments[1].expiresAt"},
		{map[string]string{"role": "manager", "scope": "store:s1", "startsAt": "2030-13-01"}, "assignments[1].startsAt"},
		{grantAt("manager", "store:s1", now.Add(2*time.Hour), now.Add(time.Hour)), "assignments[1].expiresAt"},
		{grantAt("manager", "store:s1", time.Time{}, now.AddDate(11, 0, 0)), "assignments[1].expiresAt"},
	} {
		r := e.patchGrants(t, ownerTk, memberID, kept[0], tc.grant).Want(t, http.StatusBadRequest, "invalid_field")
		if !strings.Contains(string(r.Body), `"`+tc.field+`"`) {
			t.Errorf("%v: %s, want field %s", tc.grant, r.Body, tc.field)
		}
	}

	// The grant ceiling: a store manager cannot grant, even for an hour,
	// what it could not grant for ever.
	mgrID, mgrTk := e.join(t, ownerTk, newEmail("tb-mgr"), store1("manager"))
	_ = mgrID
	e.Call(t, "POST", "/v1/invitations", mgrTk.AccessToken, map[string]any{"email": newEmail("tb-x"), "assignments": []map[string]string{
		grantAt("accountant", "account", time.Time{}, time.Now().Add(time.Hour)),
	}}).Want(t, http.StatusForbidden, "")
}

func TestGrantExpiryNotice(t *testing.T) {
	var svc *alerts.Service
	e := New(t, func(d *server.Deps) { svc = d.Alerts })
	ctx := context.Background()
	owner := e.signup(t, newEmail("gx-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	memberEmail := newEmail("gx-mem")
	memberID, _ := e.join(t, ownerTk, memberEmail, map[string]any{"assignments": []map[string]string{{"role": "team_member", "scope": "store:s2"}}})

	since := time.Now()
	soon := time.Now().Add(48 * time.Hour)
	far := time.Now().Add(30 * 24 * time.Hour)
	e.patchGrants(t, ownerTk, memberID,
		grantAt("team_member", "store:s2", time.Time{}, time.Time{}),
		grantAt("manager", "store:s1", time.Time{}, soon),
		grantAt("approver", "store:s1", time.Time{}, far),
	).Want(t, http.StatusOK, "")

	notices := func() []testenv.Email {
		var out []testenv.Email
		for _, m := range e.SES.Emails(t, since) {
			if strings.Contains(m.Subject, "Access expires") {
				out = append(out, m)
			}
		}
		return out
	}
	for range 2 { // a second run sends nothing new
		if _, err := svc.Run(ctx, alerts.RunOptions{Force: true, Account: owner.AccountID}); err != nil {
			t.Fatal(err)
		}
	}
	got := notices()
	if len(got) != 1 {
		t.Fatalf("%d notices, want 1 (the grant expiring within 3 days, once)", len(got))
	}
	if n := got[0]; !n.SentTo(memberEmail) || !n.SentTo(owner.Email) || !strings.Contains(n.Subject, "manager at store:s1") {
		t.Fatalf("notice %q to %v", n.Subject, n.Destination)
	}

	// Off: a new grant expiring soon is not announced.
	acct := e.Call(t, "GET", "/v1/account", ownerTk, nil).Want(t, http.StatusOK, "")
	if acct.Map(t)["settings"].(map[string]any)["grantExpiryNoticeDays"] != float64(3) {
		t.Fatalf("default notice days: %s", acct.Body)
	}
	e.Call(t, "PATCH", "/v1/account", ownerTk, map[string]any{"settings": map[string]any{"grantExpiryNoticeDays": 31}}, "If-Match", acct.Header.Get("ETag")).Want(t, http.StatusBadRequest, "invalid_field")
	e.Call(t, "PATCH", "/v1/account", ownerTk, map[string]any{"settings": map[string]any{"grantExpiryNoticeDays": 0}}, "If-Match", acct.Header.Get("ETag")).Want(t, http.StatusOK, "")
	e.patchGrants(t, ownerTk, memberID,
		grantAt("team_member", "store:s2", time.Time{}, time.Time{}),
		grantAt("manager", "store:s1", time.Time{}, soon.Add(time.Hour)),
	).Want(t, http.StatusOK, "")
	if _, err := svc.Run(ctx, alerts.RunOptions{Force: true, Account: owner.AccountID}); err != nil {
		t.Fatal(err)
	}
	if n := len(notices()); n != 1 {
		t.Fatalf("%d notices with the notice off, want still 1", n)
	}
}

package rbac_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/clock"
	"github.com/stewardhq/steward/pkg/rbac"
)

var windowStart = time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)

func windowMember(at time.Time, as ...rbac.Assignment) rbac.Member {
	return rbac.Member{ID: "m1", Account: "acme", Status: rbac.StatusActive, Assignments: as, At: at}
}

func storeResource() rbac.Resource { return rbac.Resource{Account: "acme", Store: "s1"} }

func hasScope(eff []rbac.ScopePermissions, s rbac.Scope, perm string) bool {
	for _, e := range eff {
		if e.Scope == s {
			for _, p := range e.Permissions {
				if p == perm {
					return true
				}
			}
		}
	}
	return false
}

// A grant counts up to, and not at, its expiry, with a fixed clock; Decide,
// Effective and WhoCan agree.
func TestExpiryBoundary(t *testing.T) {
	rs := rbac.BuiltIns()
	expires := windowStart.Add(72 * time.Hour)
	grant := rbac.Assignment{Role: "manager", Scope: rbac.StoreScope("s1"), ExpiresAt: expires}
	for _, tc := range []struct {
		at   time.Time
		want bool
	}{
		{windowStart, true},
		{expires.Add(-time.Nanosecond), true},
		{expires, false},
		{expires.Add(time.Hour), false},
		{time.Time{}, false}, // no instant: a time-bound grant fails closed
	} {
		now := clock.Clock(func() time.Time { return tc.at }).Now()
		if tc.at.IsZero() {
			now = time.Time{}
		}
		m := windowMember(now, grant)
		p := rs.Compile(m)
		d := p.Decide("orders.view", storeResource())
		if d.Allowed != tc.want {
			t.Errorf("at %v: %s, want allowed %v", tc.at, d.Reason(), tc.want)
		}
		if tc.want && (d.Role != "manager" || d.Scope != rbac.StoreScope("s1")) {
			t.Errorf("at %v: granted by %s at %s", tc.at, d.Role, d.Scope)
		}
		if got := hasScope(p.Effective(), rbac.StoreScope("s1"), "orders.view"); got != tc.want {
			t.Errorf("at %v: Effective lists it %v, want %v", tc.at, got, tc.want)
		}
		if got := len(rs.WhoCan([]rbac.Member{m}, "orders.view", storeResource())) == 1; got != tc.want {
			t.Errorf("at %v: WhoCan %v, want %v", tc.at, got, tc.want)
		}
	}
}

func TestStartsAtInTheFuture(t *testing.T) {
	rs := rbac.BuiltIns()
	starts := windowStart.Add(time.Hour)
	grant := rbac.Assignment{Role: "manager", Scope: rbac.StoreScope("s1"), StartsAt: starts, ExpiresAt: starts.Add(time.Hour)}
	for _, tc := range []struct {
		at   time.Time
		want bool
	}{
		{starts.Add(-time.Nanosecond), false},
		{starts, true},
		{starts.Add(time.Hour - time.Nanosecond), true},
		{starts.Add(time.Hour), false},
	} {
		if got := rs.Decide(windowMember(tc.at, grant), "orders.view", storeResource()).Allowed; got != tc.want {
			t.Errorf("at %v: allowed %v, want %v", tc.at, got, tc.want)
		}
		if grant.Pending(tc.at) != tc.at.Before(starts) || grant.Expired(tc.at) != !tc.at.Before(starts.Add(time.Hour)) {
			t.Errorf("at %v: pending %v, expired %v", tc.at, grant.Pending(tc.at), grant.Expired(tc.at))
		}
	}
	// A permanent grant does not depend on the instant at all.
	perm := rbac.Assignment{Role: "manager", Scope: rbac.StoreScope("s1")}
	if !rs.Decide(windowMember(time.Time{}, perm), "orders.view", storeResource()).Allowed {
		t.Error("a permanent grant needs an instant")
	}
}

// An expired administrator grant neither makes an administrator nor
// lets a non-administrator change the member.
func TestExpiredAdministrator(t *testing.T) {
	rs := rbac.BuiltIns()
	at := windowStart
	adminGrant := rbac.Assignment{Role: "administrator", Scope: rbac.AccountScope, ExpiresAt: at.Add(-time.Minute)}
	m := windowMember(at, adminGrant)
	if rs.IsAdmin(m) || rs.Compile(m).IsAdmin() {
		t.Fatal("an expired administrator grant still makes an administrator")
	}
	actor := rbac.Member{ID: "boss", Account: "acme", Status: rbac.StatusActive, Assignments: []rbac.Assignment{{Role: "full_access", Scope: rbac.AccountScope}}, At: at}
	after := m
	after.Assignments = nil
	if err := rs.CheckChange(actor, m, after); !errors.Is(err, rbac.ErrAdminOnly) {
		t.Fatalf("removing an expired administrator grant as a non-administrator: %v", err)
	}
}

// The ceiling: a window never widens what may be granted; the actor's own
// expired grant gives no right to grant.
func TestCeilingWithWindows(t *testing.T) {
	rs := rbac.BuiltIns()
	at := windowStart
	mgr := rbac.Member{ID: "mgr", Account: "acme", Status: rbac.StatusActive, At: at,
		Assignments: []rbac.Assignment{{Role: "manager", Scope: rbac.StoreScope("s1")}}}
	target := windowMember(at, rbac.Assignment{Role: "team_member", Scope: rbac.StoreScope("s1")})
	target.ID = "t1"
	grant := func(role string, sc rbac.Scope, exp time.Time) rbac.Member {
		after := target
		after.Assignments = append([]rbac.Assignment{}, target.Assignments...)
		after.Assignments = append(after.Assignments, rbac.Assignment{Role: role, Scope: sc, ExpiresAt: exp})
		return after
	}
	if err := rs.CheckChange(mgr, target, grant("team_member", rbac.StoreScope("s1"), at.Add(time.Hour))); err == nil {
		// team_member at s1 again, time-bound: a new grant within rights.
	} else {
		t.Fatalf("time-bound grant within rights: %v", err)
	}
	if err := rs.CheckChange(mgr, target, grant("accountant", rbac.AccountScope, at.Add(time.Hour))); err == nil {
		t.Fatal("a one-hour grant beyond the actor's rights was allowed")
	}
	expired := mgr
	expired.Assignments = []rbac.Assignment{{Role: "manager", Scope: rbac.StoreScope("s1"), ExpiresAt: at}}
	if err := rs.CheckChange(expired, target, grant("team_member", rbac.StoreScope("s1"), at.Add(time.Hour))); err == nil {
		t.Fatal("an actor whose grant expired still grants")
	}
	// Changing only the window is a new grant (Equal), checked as one.
	a := rbac.Assignment{Role: "manager", Scope: rbac.StoreScope("s1"), ExpiresAt: at}
	b := a
	b.ExpiresAt = at.In(time.FixedZone("X", 3600))
	if !a.Equal(b) {
		t.Fatal("the same instant in another zone is another grant")
	}
	b.ExpiresAt = at.Add(time.Second)
	b.GrantedBy = "x"
	if a.Equal(b) {
		t.Fatal("another expiry is the same grant")
	}
}

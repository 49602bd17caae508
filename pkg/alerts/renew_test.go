package alerts

import (
	"net/url"
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/team"
)

// TestRenewURLPrefillsAnAccessRequest: the renewal link opens the host
// app's new access request page with what POST /v1/access-requests takes
// (role, scope, a proposed expiresAt), the member whose grant it is, and
// the grant's current end.
func TestRenewURLPrefillsAnAccessRequest(t *testing.T) {
	end := time.Date(2026, 12, 10, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name      string
		starts    time.Time
		wantUntil time.Time
	}{
		{"a grant with a start: as long again", end.Add(-14 * 24 * time.Hour), end.Add(14 * 24 * time.Hour)},
		{"a grant without a start: 30 days more", time.Time{}, end.Add(DefaultRenewal)},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := GrantNotice{Member: team.Member{ID: "m_1"}, Grant: rbac.Assignment{Role: "manager", Scope: rbac.StoreScope("s1"), StartsAt: c.starts, ExpiresAt: end}}
			u, err := url.Parse(RenewURL("https://app.example/", n))
			if err != nil {
				t.Fatal(err)
			}
			if u.Host != "app.example" || u.Path != "/access-requests/new" {
				t.Fatalf("link %s", u)
			}
			q := u.Query()
			want := map[string]string{
				"role": "manager", "scope": "store:s1", "member": "m_1", "renew": "1",
				"expiresAt": c.wantUntil.Format(time.RFC3339), "previousExpiresAt": end.Format(time.RFC3339),
			}
			for k, v := range want {
				if q.Get(k) != v {
					t.Errorf("%s = %q, want %q (link %s)", k, q.Get(k), v, u)
				}
			}
		})
	}
}

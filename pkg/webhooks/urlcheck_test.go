package webhooks_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/stewardhq/steward/pkg/webhooks"
)

type fakeResolver map[string][]string

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	addrs, ok := f[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	var out []netip.Addr
	for _, a := range addrs {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, nil
}

var resolver = fakeResolver{
	"hooks.example.com":  {"93.184.216.34"},
	"v6.example.com":     {"2606:2800:220:1:248:1893:25c8:1946"},
	"internal.example":   {"10.1.2.3"},
	"mixed.example.com":  {"93.184.216.34", "192.168.1.1"},
	"rebind.example.com": {"127.0.0.1"},
}

func TestURLPolicy(t *testing.T) {
	prod := webhooks.URLPolicy{Resolver: resolver}
	local := webhooks.URLPolicy{Local: true, Resolver: resolver}
	tests := []struct {
		url       string
		prod, loc bool
	}{
		{"https://hooks.example.com/steward", true, true},
		{"https://hooks.example.com:8443/steward?x=1", true, true},
		{"https://v6.example.com/", true, true},
		{"https://93.184.216.34/hook", true, true},
		{"http://hooks.example.com/steward", false, false},
		{"ftp://hooks.example.com/", false, false},
		{"https://user:pass@hooks.example.com/", false, false},
		{"https://user@hooks.example.com/", false, false},
		{"https://hooks.example.com/#frag", false, false},
		{"https://hooks.example.com/a b", false, false},
		{"https://hooks.example.com/\u202e", false, false},
		{"https://hooks.example.com/%E2%80%AE", true, true},
		{"/relative", false, false},
		{"", false, false},
		{"https://internal.example/", false, false},
		{"https://mixed.example.com/", false, false},
		{"https://rebind.example.com/", false, false},
		{"https://nowhere.example.com/", false, false},
		{"http://169.254.169.254/", false, false},
		{"https://[::127.0.0.1]/", false, false},  // IPv4-compatible
		{"https://[::7f00:1]/", false, false},     // the same, in hex
		{"https://[2001::7f00:1]/", false, false}, // Teredo
		{"https://[100::1]/", false, false},       // discard-only
		{"https://169.254.169.254/latest/meta-data", false, false},
		{"http://10.0.0.1", false, false},
		{"https://10.0.0.1", false, false},
		{"https://172.16.0.1/", false, false},
		{"https://192.168.0.1/", false, false},
		{"https://100.64.0.1/", false, false},
		{"https://0.0.0.0/", false, false},
		{"https://224.0.0.1/", false, false},
		{"https://255.255.255.255/", false, false},
		{"https://[::1]/", false, true},
		{"https://[::]/", false, false},
		{"https://[fd00::1]/", false, false},
		{"https://[fe80::1]/", false, false},
		{"https://[ff02::1]/", false, false},
		{"https://[::ffff:10.0.0.1]/", false, false},
		{"https://[64:ff9b::a00:1]/", false, false},
		{"https://localhost/", false, true},
		{"https://foo.localhost/", false, true},
		{"https://intranet/", false, false},
		{"http://127.0.0.1:8080/hook", false, true},
		{"http://localhost:8080/hook", false, true},
		{"https://127.0.0.1:8443/hook", false, true},
		{"http://[::1]:8080/hook", false, true},
		{"http://10.0.0.1:8080/hook", false, false},
		{"https://hooks.example.com:99999/", false, false},
		{"https://" + strings.Repeat("a", 2050) + ".com/", false, false},
	}
	for _, tc := range tests {
		if _, err := prod.Check(context.Background(), tc.url); (err == nil) != tc.prod {
			t.Errorf("prod %q: err %v, want ok=%v", tc.url, err, tc.prod)
		}
		if _, err := local.Check(context.Background(), tc.url); (err == nil) != tc.loc {
			t.Errorf("local %q: err %v, want ok=%v", tc.url, err, tc.loc)
		}
	}
	if webhooks.PolicyFor("prod").Local || webhooks.PolicyFor("dev").Local || !webhooks.PolicyFor("local").Local {
		t.Error("PolicyFor: only local (and test) allow loopback")
	}
}

// The dialer refuses a non-public address after resolution, whatever the
// URL said: a name rebound to 127.0.0.1 after registration is refused.
func TestPosterRefusesPrivateAddresses(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits++ }))
	defer srv.Close()
	_, err := webhooks.NewPoster(webhooks.PolicyFor("prod")).Post(context.Background(), srv.URL, nil, []byte("{}"))
	if err == nil || err.Error() != "address not allowed" {
		t.Fatalf("prod poster to %s: %v, want address not allowed", srv.URL, err)
	}
	// localhost resolves to loopback: refused at connection time too.
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	if _, err := webhooks.NewPoster(webhooks.PolicyFor("prod")).Post(context.Background(), "http://localhost"+port, nil, nil); err == nil {
		t.Fatal("prod poster reached localhost")
	}
	if hits != 0 {
		t.Fatalf("%d requests reached the server", hits)
	}
	code, err := webhooks.NewPoster(webhooks.PolicyFor("local")).Post(context.Background(), srv.URL, nil, []byte("{}"))
	if err != nil || code != 200 || hits != 1 {
		t.Fatalf("local poster: %d %v, hits %d", code, err, hits)
	}
}

// Redirects are not followed: a 3xx is the answer.
func TestPosterFollowsNoRedirect(t *testing.T) {
	followed := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/next" {
			followed = true
			return
		}
		http.Redirect(w, r, "/next", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	code, err := webhooks.NewPoster(webhooks.PolicyFor("local")).Post(context.Background(), srv.URL+"/start", nil, []byte("{}"))
	if err != nil || code != http.StatusTemporaryRedirect || followed {
		t.Fatalf("redirect: %d %v followed=%v", code, err, followed)
	}
}

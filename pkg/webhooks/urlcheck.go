package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// MaxURLLen is the longest endpoint URL accepted.
const MaxURLLen = 2048

// Resolver looks host names up (net.DefaultResolver; tests fake it).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// URLPolicy decides which endpoint URLs are allowed. Outside the local
// stage: https only, no userinfo, and a host that is (or resolves only
// to) public addresses. Locally (Local) http and https to the loopback
// host (127.0.0.1, ::1, localhost) are allowed too, so tests and the
// local stack can receive. The same policy refuses each connection's
// address again after resolution (see NewPoster): a name that resolved to
// a public address at registration and to a private one later (DNS
// rebinding) is refused when dialled.
type URLPolicy struct {
	Local bool
	// Resolver checks names at registration; nil is net.DefaultResolver.
	Resolver Resolver
}

// PolicyFor returns the policy of a stage: "local" (and "test", the API
// tests' stage) allow loopback.
func PolicyFor(stage string) URLPolicy { return URLPolicy{Local: stage == "local" || stage == "test"} }

var errNotPublic = errors.New("address is not public")

// reserved are the ranges no endpoint may reach besides the private,
// loopback, link-local, multicast and unspecified ones netip knows.
var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), // CGNAT
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"), // NAT64: may embed a private IPv4
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("::/96"),     // IPv4-compatible: embeds an IPv4
	netip.MustParsePrefix("2001::/23"), // IETF protocol assignments (Teredo embeds an IPv4)
	netip.MustParsePrefix("100::/64"),  // discard-only
	netip.MustParsePrefix("2002::/16"), // 6to4: embeds an IPv4
	netip.MustParsePrefix("fc00::/7"),  // unique local
	netip.MustParsePrefix("fec0::/10"), // site local
}

// Public reports whether a is a public unicast address.
func Public(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() ||
		a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() ||
		a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	if a.Is6() && a.Zone() != "" {
		return false
	}
	for _, p := range reserved {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// allowed reports whether the policy lets a connection reach a.
func (p URLPolicy) allowed(a netip.Addr) bool {
	return Public(a) || (p.Local && a.Unmap().IsLoopback())
}

func localHost(h string) bool {
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}

// Check parses and checks an endpoint URL at registration, resolving its
// host. The error is a sentence for the caller.
func (p URLPolicy) Check(ctx context.Context, raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("is required")
	}
	if len(raw) > MaxURLLen {
		return nil, fmt.Errorf("must be at most %d characters", MaxURLLen)
	}
	for _, c := range []byte(raw) {
		if c <= ' ' || c >= 0x7f {
			return nil, errors.New("must be printable ASCII without spaces (percent-encode the rest)")
		}
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return nil, errors.New("must be an absolute http(s) URL")
	}
	if u.User != nil {
		return nil, errors.New("must not carry a user name or password")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, errors.New("must not have a fragment")
	}
	host := u.Hostname()
	if host == "" {
		return nil, errors.New("must name a host")
	}
	if port := u.Port(); port != "" {
		if n, err := parsePort(port); err != nil || n == 0 {
			return nil, errors.New("has a bad port")
		}
	}
	ip, isIP := netip.ParseAddr(host)
	loopback := localHost(host) || (isIP == nil && ip.Unmap().IsLoopback())
	switch u.Scheme {
	case "https":
	case "http":
		if !(p.Local && loopback) {
			return nil, errors.New("must use https")
		}
	default:
		return nil, errors.New("must use https")
	}
	if p.Local && loopback {
		return u, nil
	}
	if isIP == nil {
		if !Public(ip) {
			return nil, errors.New("must not point at a private, loopback, link-local or otherwise reserved address")
		}
		return u, nil
	}
	if localHost(host) || !strings.Contains(host, ".") {
		return nil, errors.New("must name a public host")
	}
	r := p.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return nil, errors.New("names a host that does not resolve")
	}
	for _, a := range addrs {
		if !Public(a) {
			return nil, errors.New("names a host that resolves to a private, loopback or otherwise reserved address")
		}
	}
	return u, nil
}

func parsePort(s string) (int, error) {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errors.New("bad port")
		}
		n = n*10 + int(c-'0')
		if n > 65535 {
			return 0, errors.New("bad port")
		}
	}
	return n, nil
}

// dialAllowed is the check of each connection after resolution: address
// is the "ip:port" being dialled.
func (p URLPolicy) dialAllowed(address string) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, errNotPublic)
	}
	if !p.allowed(a) {
		return fmt.Errorf("dial %s: %w", a, errNotPublic)
	}
	return nil
}

package accounts

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/team"
)

// Bounds of the portal settings.
const (
	MaxPortalProductName = 60
	MaxPortalLogoURL     = 512
	MaxPortalOrigins     = 10
)

var accentColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// applyPortal applies a patch of the portal settings to ps, checked: a
// product name of at most 60 characters, a logo URL over HTTPS, an accent
// colour #rrggbb, and at most 10 allowed origins (NormalizeOrigin). An
// empty string restores Steward's own.
func applyPortal(ps *team.PortalSettings, p PortalPatch) error {
	if p.ProductName != nil {
		n, err := httpapi.CleanName("settings.portal.productName", *p.ProductName, MaxPortalProductName, false)
		if err != nil {
			return err
		}
		ps.ProductName = n
	}
	if p.LogoURL != nil {
		v := strings.TrimSpace(*p.LogoURL)
		if v != "" {
			u, err := url.Parse(v)
			if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || len(v) > MaxPortalLogoURL {
				return httpapi.InvalidField("settings.portal.logoUrl", fmt.Sprintf("must be an https:// URL of at most %d characters, or empty", MaxPortalLogoURL))
			}
		}
		ps.LogoURL = v
	}
	if p.AccentColor != nil {
		v := strings.ToLower(strings.TrimSpace(*p.AccentColor))
		if v != "" && !accentColor.MatchString(v) {
			return httpapi.InvalidField("settings.portal.accentColor", "must be a colour #rrggbb, or empty")
		}
		ps.AccentColor = v
	}
	if p.AllowedOrigins != nil {
		in := *p.AllowedOrigins
		if len(in) > MaxPortalOrigins {
			return httpapi.InvalidField("settings.portal.allowedOrigins", fmt.Sprintf("at most %d origins", MaxPortalOrigins))
		}
		out := make([]string, 0, len(in))
		for i, o := range in {
			n, err := NormalizeOrigin(o)
			if err != nil {
				return httpapi.InvalidField(httpapi.Indexed("settings.portal.allowedOrigins", i), err.Error())
			}
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
		ps.AllowedOrigins = out
	}
	return nil
}

// NormalizeOrigin checks and lower-cases an origin, scheme://host[:port]
// with nothing after it: https, or http for localhost and 127.0.0.1 only
// (a host app in development).
func NormalizeOrigin(v string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(v))
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("must be an origin such as https://app.example.com")
	}
	host := strings.ToLower(u.Hostname())
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if host != "localhost" && host != "127.0.0.1" {
			return "", fmt.Errorf("must use https (http only for localhost and 127.0.0.1)")
		}
	default:
		return "", fmt.Errorf("must be an origin such as https://app.example.com")
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host), nil
}

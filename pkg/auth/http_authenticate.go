package auth

import (
	"net"
	"net/http"

	"github.com/stewardhq/steward/pkg/httpapi"
)

// Authenticate guards an authenticated route: it authenticates the
// request's Authorization header (AuthenticateBearer) and puts the
// principal into the request context; a refusal carries WWW-Authenticate.
func (s *Service) Authenticate(next http.Handler) http.Handler {
	return httpapi.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.AuthenticateBearer(r.Context(), r.Header.Get("Authorization"))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="steward"`)
			return err
		}
		ctx := WithPrincipal(r.Context(), p)
		ctx = httpapi.WithLogger(ctx, httpapi.Logger(ctx).With("account", p.AccountID(), "member", p.Member.ID))
		next.ServeHTTP(w, r.WithContext(ctx))
		return nil
	})
}

// OptionalPrincipal authenticates a request on a public route that behaves
// differently for a signed-in caller (accepting an invitation): no
// Authorization header gives nil and no error.
func (s *Service) OptionalPrincipal(r *http.Request) (*Principal, error) {
	return s.OptionalBearer(r.Context(), r.Header.Get("Authorization"))
}

// RefuseImpersonated guards a route that acts on trust: it runs inside
// Authenticate and answers 403 impersonation_forbidden when an
// administrator is acting as the member, before the handler (and before
// any Idempotency-Key is remembered).
func RefuseImpersonated(next http.Handler) http.Handler {
	return httpapi.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		if p := FromContext(r.Context()); p != nil && p.Impersonated() {
			return ErrImpersonated
		}
		next.ServeHTTP(w, r)
		return nil
	})
}

// ClientAddressFunc returns the address of a request's caller.
type ClientAddressFunc func(*http.Request) string

// SourceIP is the caller's address for rate limits.
func (s *Service) SourceIP(r *http.Request) string {
	if s.ClientAddress != nil {
		return s.ClientAddress(r)
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

package auth

import (
	"errors"
	"net/http"
	"strings"

	"github.com/stewardhq/steward/pkg/authz"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// Authenticate guards an authenticated route: it verifies the bearer
// token, then reloads the member, session, impersonator and custom roles in
// one round trip, and refuses a suspended, inactive or deleted member, an
// ended session or an impersonator who is no longer an active admin —
// whatever the token says. The principal goes into the request context.
// A bearer token starting with "stk_" is an API key instead (see
// authenticateKey): an unknown key or a wrong secret answers 401
// token_invalid, a revoked key 401 api_key_revoked.
func (s *Service) Authenticate(next http.Handler) http.Handler {
	return httpapi.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.authenticate(r)
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

func unauthenticated(code, detail string) error {
	return fault.New(fault.Unauthenticated, code, detail)
}

func (s *Service) authenticate(r *http.Request) (*Principal, error) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return nil, httpapi.ErrUnauthenticated
	}
	tok = strings.TrimSpace(tok)
	if strings.HasPrefix(tok, APIKeyPrefix) {
		return s.authenticateKey(r.Context(), tok)
	}
	claims, err := s.Verifier.Verify(tok)
	if err != nil {
		return nil, unauthenticated("token_invalid", "The access token is not valid or has expired.")
	}
	impersonator := ""
	if claims.Actor != nil {
		impersonator = claims.Actor.Subject
	}
	st, err := s.Store.LoadAuth(r.Context(), claims.AccountID, claims.Subject, claims.SessionID, impersonator)
	switch {
	case errors.Is(err, team.ErrMemberNotFound), errors.Is(err, store.ErrSessionNotFound):
		return nil, unauthenticated("session_ended", "The session has ended; sign in again.")
	case err != nil:
		return nil, err
	}
	now := s.Now.Now()
	sess := st.Session
	if !sess.Active(now) || sess.MemberID != claims.Subject || sess.AccountID != claims.AccountID || sess.ImpersonatorID != impersonator {
		return nil, unauthenticated("session_ended", "The session has ended; sign in again.")
	}
	if st.Member.Status != authz.StatusActive {
		return nil, unauthenticated("member_"+string(st.Member.Status), "Your membership is "+string(st.Member.Status)+".")
	}
	rs, err := s.roleSets.Get(claims.AccountID, st.Roles.Version, st.Roles.Roles)
	if err != nil {
		return nil, err
	}
	if st.Impersonator != nil {
		imp := st.Impersonator.Authz()
		if imp.Status != authz.StatusActive || !rs.IsAdmin(imp) {
			return nil, unauthenticated("session_ended", "The impersonating administrator can no longer act; sign in again.")
		}
	}
	return &Principal{
		Member: st.Member, Impersonator: st.Impersonator, SessionID: sess.ID,
		Roles: rs, Authz: rs.Compile(st.Member.Authz()),
	}, nil
}

// OptionalPrincipal authenticates a request on a public route that behaves
// differently for a signed-in caller (accepting an invitation): no
// Authorization header gives nil and no error.
func (s *Service) OptionalPrincipal(r *http.Request) (*Principal, error) {
	if r.Header.Get("Authorization") == "" {
		return nil, nil
	}
	return s.authenticate(r)
}

// ErrImpersonated refuses an impersonated session on a route that acts on
// trust (routes.Route.NoImpersonation).
var ErrImpersonated = fault.New(fault.Forbidden, "impersonation_forbidden",
	"An impersonated session is for looking: it cannot request, decide or cancel approvals, nor change grants, roles, statuses, policies, settings, API keys or ownership. Sign in as yourself.")

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

package auth

import (
	"time"

	"context"
	"errors"
	"strings"

	"github.com/stewardhq/steward/pkg/apikeys/apikey"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

func unauthenticated(code, detail string) error {
	return fault.New(fault.Unauthenticated, code, detail)
}

// AuthenticateBearer authenticates the value of a request's Authorization
// header, "Bearer <token>" (the middleware Authenticate, http_authenticate.go,
// reads it): it verifies the access token, then reloads the member,
// session, impersonator and custom roles in one round trip, and refuses a
// suspended, inactive or deleted member, an ended session or an
// impersonator who is no longer an active admin — whatever the token says.
// A token starting with "stk_" is an API key instead (package
// pkg/apikeys/apikey): an unknown key or a wrong secret answers 401
// token_invalid, a revoked key 401 api_key_revoked.
func (s *Service) AuthenticateBearer(ctx context.Context, authorization string) (*Principal, error) {
	scheme, tok, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return nil, httpapi.ErrUnauthenticated
	}
	tok = strings.TrimSpace(tok)
	if strings.HasPrefix(tok, apikey.Prefix) {
		id, err := s.keys().Authenticate(ctx, tok)
		if err != nil {
			return nil, err
		}
		return keyPrincipal(id, s.Now.Now()), nil
	}
	claims, err := s.Verifier.Verify(tok)
	if err != nil {
		return nil, unauthenticated("token_invalid", "The access token is not valid or has expired.")
	}
	impersonator := ""
	if claims.Actor != nil {
		impersonator = claims.Actor.Subject
	}
	return s.sessionPrincipal(ctx, claims.AccountID, claims.Subject, claims.SessionID, impersonator, nil)
}

// sessionPrincipal loads the member of a session (with its impersonator,
// if any) and the account's custom roles in one round trip, and refuses
// an ended session, a member who is not active or an impersonator who is
// no longer an active admin: the checks of every session, whether it
// came as an access token or as a portal cookie. known is the session
// when the caller has read it already (a portal cookie names only its
// session): it is not read again.
func (s *Service) sessionPrincipal(ctx context.Context, accountID, subject, sessionID, impersonator string, known *store.Session) (*Principal, error) {
	p, _, err := s.loadSessionPrincipal(ctx, accountID, subject, sessionID, impersonator, known, store.AuthExtra{})
	return p, err
}

// loadSessionPrincipal is sessionPrincipal reading extra's items in the
// same round trip (store.LoadAuthWith), answered in the state.
func (s *Service) loadSessionPrincipal(ctx context.Context, accountID, subject, sessionID, impersonator string, known *store.Session, extra store.AuthExtra) (*Principal, store.AuthState, error) {
	read := sessionID
	if known != nil {
		read = ""
	}
	st, err := s.Store.LoadAuthWith(ctx, accountID, subject, read, impersonator, extra)
	if err == nil && known != nil {
		st.Session = *known
	}
	switch {
	case errors.Is(err, team.ErrMemberNotFound), errors.Is(err, store.ErrSessionNotFound):
		return nil, st, unauthenticated("session_ended", "The session has ended; sign in again.")
	case err != nil:
		return nil, st, err
	}
	now := s.Now.Now()
	sess := st.Session
	if !sess.Active(now) || sess.MemberID != subject || sess.AccountID != accountID || sess.ImpersonatorID != impersonator {
		return nil, st, unauthenticated("session_ended", "The session has ended; sign in again.")
	}
	if st.Member.Status != rbac.StatusActive {
		return nil, st, unauthenticated("member_"+string(st.Member.Status), "Your membership is "+string(st.Member.Status)+".")
	}
	rs, err := s.roleSets.Get(accountID, st.Roles.Options, st.Roles.Version, st.Roles.Roles)
	if err != nil {
		return nil, st, err
	}
	if st.Impersonator != nil {
		imp := st.Impersonator.Authz(now)
		if imp.Status != rbac.StatusActive || !rs.IsAdmin(imp) {
			return nil, st, unauthenticated("session_ended", "The impersonating administrator can no longer act; sign in again.")
		}
		// Nobody acts as an administrator: a member made one since the
		// impersonation began ends it.
		if rs.IsAdmin(st.Member.Authz(now)) {
			return nil, st, unauthenticated("session_ended", "The member acted as is now an administrator; the impersonation ended.")
		}
	}
	return &Principal{
		Member: st.Member, Impersonator: st.Impersonator, SessionID: sess.ID,
		Roles: rs, Authz: rs.Compile(st.Member.Authz(now)), At: now,
	}, st, nil
}

// OptionalBearer authenticates a request on a public route that behaves
// differently for a signed-in caller (accepting an invitation): an empty
// Authorization header value gives nil and no error.
func (s *Service) OptionalBearer(ctx context.Context, authorization string) (*Principal, error) {
	if authorization == "" {
		return nil, nil
	}
	return s.AuthenticateBearer(ctx, authorization)
}

// keys verifies API keys with the service's store, clock and role cache.
func (s *Service) keys() apikey.Keys {
	return apikey.Keys{Store: s.Store, Now: s.Now, Roles: &s.roleSets}
}

// keyPrincipal is the principal an API key's identity acts as.
func keyPrincipal(id apikey.Identity, now time.Time) *Principal {
	return &Principal{Member: id.Member, APIKey: &id.Key, Roles: id.Roles, Authz: id.Roles.Compile(id.Member.Authz(now)), At: now}
}

// PrincipalOf loads the member memberID of account (or the API key
// "apikey:<id>") fresh, with the account's roles, as authentication would
// but without a session: to re-check, later, the rights of whoever made a
// change (an invitation's inviter when it is accepted). A member or key
// that does not exist is team.ErrMemberNotFound; a revoked key (or one
// revoked now for exceeding its creator's rights) is a principal with
// status deleted.
func (s *Service) PrincipalOf(ctx context.Context, account, memberID string) (*Principal, error) {
	if id, ok := strings.CutPrefix(memberID, apikey.ActorPrefix); ok {
		ident, err := s.keys().Load(ctx, account, id)
		if errors.Is(err, store.ErrAPIKeyNotFound) {
			return nil, team.ErrMemberNotFound
		}
		if err != nil {
			return nil, err
		}
		return keyPrincipal(ident, s.Now.Now()), nil
	}
	lm, err := s.Store.LoadMembers(ctx, account, []string{memberID})
	if err != nil {
		return nil, err
	}
	m, ok := lm.Members[memberID]
	if !ok {
		return nil, team.ErrMemberNotFound
	}
	rs, err := s.roleSets.Get(account, lm.Roles.Options, lm.Roles.Version, lm.Roles.Roles)
	if err != nil {
		return nil, err
	}
	now := s.Now.Now()
	return &Principal{Member: m, Roles: rs, Authz: rs.Compile(m.Authz(now)), At: now}, nil
}

// ErrImpersonated refuses an impersonated session on a route that acts on
// trust (routes.Route.NoImpersonation).
var ErrImpersonated = fault.New(fault.Forbidden, "impersonation_forbidden",
	"An impersonated session is for looking: it cannot request, decide or cancel approvals, nor change grants, roles, statuses, policies, settings, API keys or ownership. Sign in as yourself.")

package auth

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/onetime"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// Portal sessions (pkg/portal): a member of the host app enters the admin
// portal through a one-time link its backend mints (MintPortalLink), or
// signs in there with email and password (PortalLogin). Either opens a
// session like any other (store.Session: logout, suspension, deletion and
// a password reset end it), held in a cookie "<session>.<secret>" whose
// secret is stored only as a hash (Session.PortalHash). A portal session
// has no refresh token and signs no access token: the cookie is its only
// credential, checked on every request (AuthenticatePortal).
//
// A minted link is opened in two steps: GET shows whom it signs in as
// (PeekPortalLink, consuming nothing, so a link previewer or a forged
// link cannot sign anyone in unseen) and the page's POST consumes it
// (EnterPortal).
//
// A portal session ends after PortalSessionTTL, or after PortalIdle
// without a request: each request that finds less than
// PortalIdle-portalTouch left moves the idle end forward (one write per
// portal touch period at most, not one per request).
const (
	// PortalLinkTTL is how long a minted portal link can be opened.
	PortalLinkTTL = 5 * time.Minute
	// PortalSessionTTL is a portal session's absolute life.
	PortalSessionTTL = 12 * time.Hour
	// PortalIdle is how long a portal session lives without a request.
	PortalIdle = 30 * time.Minute
	// portalTouch is how often, at most, a request moves the idle end.
	portalTouch = 5 * time.Minute
)

// PortalLink is a minted one-time link's token, its expiry and where the
// portal goes once it is opened.
type PortalLink struct {
	Token     string
	ExpiresAt time.Time
	ReturnTo  string
}

// PortalSession is an opened portal session: the cookie's value, its end
// and where to go first.
type PortalSession struct {
	Cookie    string
	ExpiresAt time.Time
	ReturnTo  string
}

// PortalState is what a portal session adds to its principal: the host
// app's URL to link back to, if the link named one, and the session an
// impersonation returns to.
type PortalState struct {
	BackURL string
	// ReturnSession is, in an impersonated session, the administrator's
	// own portal session it was opened from.
	ReturnSession string
	// Account is the session's account, read with its principal.
	Account team.Account
}

// Portal refusals.
var (
	errPortalNotSelf     = fault.New(fault.Forbidden, "not_self", "A member may mint a portal link only for itself; use an API key with users.view for other members.")
	errPortalMayNotView  = fault.New(fault.Forbidden, "forbidden", "This API key may not view that member (users.view).")
	errPortalBeyondKey   = fault.New(fault.Forbidden, "exceeds_key_rights", "The link would open a session with rights this API key does not hold: a key mints links only for members who are not administrators and whose every permission it holds at the same scope.")
	errPortalNotActive   = fault.New(fault.Conflict, "member_not_active", "Only an active member with a sign-in can enter the portal.")
	errPortalMemberGone  = fault.New(fault.NotFound, "not_found", "The member does not exist.")
	errPortalReturnURL   = httpapi.InvalidField("returnUrl", "must be a path of the portal (starting with /portal/) or an URL on one of the account's portal.allowedOrigins")
	errPortalSessionGone = unauthenticated("session_ended", "The portal session has ended; sign in again.")
	// errPortalNotImpersonating: stopping an impersonation that is not one.
	errPortalNotImpersonating = fault.New(fault.Conflict, "not_impersonating", "This session is not acting as another member.")
)

// portalReturn checks a returnUrl: empty (the team page), a path of the
// portal itself (where the link lands), or an URL on one of the account's
// allowed origins (team.PortalSettings.AllowedOrigins: the host app the
// portal links back to). Anything else is refused: no open redirect.
func portalReturn(v string, allowed []string) (landing, back string, err error) {
	if v == "" {
		return "/portal/team", "", nil
	}
	// Printable ASCII only (an URL's characters are percent-encoded
	// otherwise): no spaces, controls, format characters or backslashes.
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] > '~' || v[i] == '\\' {
			return "", "", errPortalReturnURL
		}
	}
	u, perr := url.Parse(v)
	if perr != nil || len(v) > 512 || u.User != nil {
		return "", "", errPortalReturnURL
	}
	if u.Scheme == "" && u.Host == "" && !strings.HasPrefix(v, "//") && strings.HasPrefix(u.Path, "/portal/") && !strings.Contains(u.Path, "/../") {
		return u.RequestURI(), "", nil
	}
	if (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
		origin := strings.ToLower(u.Scheme + "://" + u.Host)
		for _, o := range allowed {
			if o == origin {
				return "/portal/team", u.String(), nil
			}
		}
	}
	return "", "", errPortalReturnURL
}

// MintPortalLink is POST /v1/portal/sessions: a one-time link (5 minutes,
// single use) into the portal for member userID. A member may mint only
// its own link; an API key needs users.view over the member. An
// impersonated session is refused by the route.
func (s *Service) MintPortalLink(ctx context.Context, p *Principal, userID, returnURL string) (PortalLink, error) {
	if p.Impersonated() {
		return PortalLink{}, errImpersonated
	}
	if err := httpapi.CheckID("userId", userID); err != nil {
		return PortalLink{}, err
	}
	acct, err := s.Store.GetAccount(ctx, p.AccountID())
	if err != nil {
		return PortalLink{}, err
	}
	ret, back, err := portalReturn(returnURL, acct.Settings.Portal.AllowedOrigins)
	if err != nil {
		return PortalLink{}, err
	}
	if !p.IsAPIKey() && userID != p.Member.ID {
		return PortalLink{}, errPortalNotSelf
	}
	m, err := s.Store.GetMember(ctx, p.AccountID(), userID)
	if errors.Is(err, team.ErrMemberNotFound) {
		return PortalLink{}, errPortalMemberGone
	}
	if err != nil {
		return PortalLink{}, err
	}
	if p.IsAPIKey() && !mayViewMember(p, m) {
		return PortalLink{}, errPortalMayNotView
	}
	if p.IsAPIKey() && !keyCovers(p, m) {
		return PortalLink{}, errPortalBeyondKey
	}
	if m.Status != rbac.StatusActive || m.IdentityID == "" {
		return PortalLink{}, errPortalNotActive
	}
	tok, hash := onetime.New()
	exp := s.Now.Now().Add(PortalLinkTTL)
	t := store.Token{Hash: hash, Kind: store.TokenPortalLink, AccountID: m.AccountID, SubjectID: store.NewID("pl"), ExpiresAt: exp,
		Data: map[string]string{"memberId": m.ID, "returnTo": ret}}
	if back != "" {
		t.Data["backUrl"] = back
	}
	ev := p.Event(ctx, "portal_link.create", "member", m.ID)
	ev.After = audit.Snapshot(map[string]any{"expiresAt": exp})
	if err := s.Store.Commit(ctx, store.NewTx(ev).IssueToken(t)); err != nil {
		return PortalLink{}, err
	}
	return PortalLink{Token: tok, ExpiresAt: exp, ReturnTo: ret}, nil
}

// keyCovers: the member's session would hold nothing the key does not.
// The link opens a full session as the member (not an impersonation), so
// an API key may mint one only for a member who is not an administrator
// (nor the owner) and whose every effective permission, at every scope,
// the key holds at that scope: a key never becomes more than itself.
func keyCovers(p *Principal, m team.Member) bool {
	am := m.Authz(p.At)
	if m.Admin || m.Owner || p.Roles.IsAdmin(am) {
		return false
	}
	for _, sp := range p.Roles.Compile(am).Effective() {
		for _, k := range sp.Permissions {
			if !p.Authz.Holds(k, sp.Scope) {
				return false
			}
		}
	}
	return true
}

// mayViewMember: the key holds users.view at account scope or at a scope
// of each of the member's assignments.
func mayViewMember(p *Principal, m team.Member) bool {
	if p.Authz.Holds("users.view", rbac.AccountScope) {
		return true
	}
	if len(m.Assignments) == 0 {
		return false
	}
	for _, a := range m.Assignments {
		if !p.Authz.Holds("users.view", a.Scope) {
			return false
		}
	}
	return true
}

// PortalLinkInfo is whom a minted link signs in as, for the page that
// asks before opening it.
type PortalLinkInfo struct {
	Member      team.Member
	AccountName string
}

// PeekPortalLink checks a minted link without consuming it: the same
// refusals as EnterPortal (used, expired, unknown, member not active).
func (s *Service) PeekPortalLink(ctx context.Context, token string) (PortalLinkInfo, error) {
	_, t, m, err := s.portalLink(ctx, token)
	if err != nil {
		return PortalLinkInfo{}, err
	}
	acct, err := s.Store.GetAccount(ctx, t.AccountID)
	if err != nil {
		return PortalLinkInfo{}, err
	}
	return PortalLinkInfo{Member: m, AccountName: acct.Name}, nil
}

// portalLink reads a minted link's token and its member, refusing a used,
// expired or unknown link and a member who is not active.
func (s *Service) portalLink(ctx context.Context, token string) (string, store.Token, team.Member, error) {
	hash, err := onetime.Hash(token)
	if err != nil {
		return "", store.Token{}, team.Member{}, errTokenInvalid
	}
	t, err := s.Store.GetTokenOfKind(ctx, store.TokenPortalLink, hash)
	if err != nil {
		return "", store.Token{}, team.Member{}, tokenError(err)
	}
	switch now := s.Now.Now(); {
	case !t.UsedAt.IsZero():
		return "", store.Token{}, team.Member{}, errTokenUsed
	case !now.Before(t.ExpiresAt):
		return "", store.Token{}, team.Member{}, errTokenExpired
	}
	m, err := s.Store.GetMember(ctx, t.AccountID, t.Data["memberId"])
	if errors.Is(err, team.ErrMemberNotFound) {
		return "", store.Token{}, team.Member{}, errTokenInvalid
	}
	if err != nil {
		return "", store.Token{}, team.Member{}, err
	}
	if m.Status != rbac.StatusActive || m.IdentityID == "" {
		return "", store.Token{}, team.Member{}, errPortalNotActive
	}
	return hash, t, m, nil
}

// EnterPortal opens the portal session of a minted link, consuming its
// token in the same write: a used link is errTokenUsed (410), an expired
// one errTokenExpired (410), anything else errTokenInvalid (400).
func (s *Service) EnterPortal(ctx context.Context, token, requestID string) (PortalSession, error) {
	hash, t, m, err := s.portalLink(ctx, token)
	if err != nil {
		return PortalSession{}, err
	}
	now := s.Now.Now()
	sess, cookie := s.newPortalSession(m, now)
	sess.BackURL = t.Data["backUrl"]
	ev := audit.Event{AccountID: m.AccountID, ActorID: m.ID, ActorName: m.Name, Action: "session.create", TargetType: "session", TargetID: sess.ID, RequestID: requestID,
		After: audit.Snapshot(map[string]string{"via": "portal_link"})}
	if err := s.Store.CreateSessionWithToken(ctx, sess, hash, store.TokenPortalLink, t.SubjectID, now, ev); err != nil {
		if errors.Is(err, store.ErrTokenInvalid) {
			return PortalSession{}, tokenError(s.Store.TokenFailure(ctx, hash, store.TokenPortalLink, now))
		}
		return PortalSession{}, err
	}
	ret := t.Data["returnTo"]
	if ret == "" {
		ret = "/portal/team"
	}
	return PortalSession{Cookie: cookie, ExpiresAt: sess.ExpiresAt, ReturnTo: ret}, nil
}

// PortalLogin signs in to the portal with email and password, under the
// same throttling as POST /v1/auth/login.
func (s *Service) PortalLogin(ctx context.Context, in LoginInput) (PortalSession, error) {
	identityID, m, err := s.signIn(ctx, in)
	if err != nil {
		return PortalSession{}, err
	}
	m.IdentityID = identityID
	now := s.Now.Now()
	sess, cookie := s.newPortalSession(m, now)
	ev := audit.Event{AccountID: m.AccountID, ActorID: m.ID, ActorName: m.Name, Action: "session.create", TargetType: "session", TargetID: sess.ID, RequestID: in.RequestID,
		After: audit.Snapshot(map[string]string{"via": "portal_login"})}
	if err := s.Store.CreateSession(ctx, sess, ev); err != nil {
		return PortalSession{}, err
	}
	return PortalSession{Cookie: cookie, ExpiresAt: sess.ExpiresAt, ReturnTo: "/portal/team"}, nil
}

// newPortalSession is a portal session of m from now, and its cookie.
func (s *Service) newPortalSession(m team.Member, now time.Time) (store.Session, string) {
	sess := store.Session{ID: store.NewID("s"), IdentityID: m.IdentityID, AccountID: m.AccountID, MemberID: m.ID, CreatedAt: now,
		ExpiresAt: now.Add(PortalSessionTTL), IdleExpiresAt: now.Add(PortalIdle)}
	// An unusable refresh hash: a portal session never refreshes.
	_, sess.RefreshHash = onetime.New()
	cookie, hash := onetime.NewRefresh(sess.ID)
	sess.PortalHash = hash
	return sess, cookie
}

// AuthenticatePortal authenticates a portal cookie's value: the session
// must be a portal session whose secret matches, and pass every check of
// an access token's session (sessionPrincipal).
func (s *Service) AuthenticatePortal(ctx context.Context, cookie string) (*Principal, PortalState, error) {
	sid, hash, err := onetime.ParseRefresh(cookie)
	if err != nil {
		return nil, PortalState{}, errPortalSessionGone
	}
	sess, err := s.Store.GetSession(ctx, sid)
	if errors.Is(err, store.ErrSessionNotFound) {
		return nil, PortalState{}, errPortalSessionGone
	}
	if err != nil {
		return nil, PortalState{}, err
	}
	if sess.PortalHash == "" || !onetime.Equal(sess.PortalHash, hash) {
		return nil, PortalState{}, errPortalSessionGone
	}
	// One round trip beside the session's: the member, the roles, the
	// account (the pages' name and branding) and, while acting, the
	// administrator and its own session.
	extra := store.AuthExtra{Account: true}
	if sess.ReturnSessionID != "" {
		extra.Sessions = []string{sess.ReturnSessionID}
	}
	p, st, err := s.loadSessionPrincipal(ctx, sess.AccountID, sess.MemberID, sess.ID, sess.ImpersonatorID, &sess, extra)
	if err != nil {
		return nil, PortalState{}, err
	}
	if st.Account == nil {
		return nil, PortalState{}, errPortalSessionGone
	}
	// An acting session lives only while the administrator's session it
	// was opened from does (a sign-out there, a password reset, its end
	// end this one too); each touch keeps both alive.
	touch := []string{sess.ID}
	if sess.ReturnSessionID != "" {
		own, ok := st.Sessions[sess.ReturnSessionID]
		if !ok || !ownSession(own, sess.ImpersonatorID, sess.AccountID, p.At) {
			return nil, PortalState{}, errPortalSessionGone
		}
		touch = append(touch, own.ID)
	}
	if !sess.IdleExpiresAt.IsZero() && sess.IdleExpiresAt.Sub(p.At) < PortalIdle-portalTouch {
		for _, id := range touch {
			if err := s.Store.TouchSession(ctx, id, p.At, p.At.Add(PortalIdle)); err != nil {
				if errors.Is(err, store.ErrSessionNotFound) {
					return nil, PortalState{}, errPortalSessionGone
				}
				return nil, PortalState{}, err
			}
		}
	}
	return p, PortalState{BackURL: sess.BackURL, ReturnSession: sess.ReturnSessionID, Account: *st.Account}, nil
}

// ownSession: own is a live portal session of administrator admin in
// account, acting as nobody: the session an acting session returns to.
func ownSession(own store.Session, admin, account string, now time.Time) bool {
	return own.PortalHash != "" && own.MemberID == admin && own.AccountID == account && own.ImpersonatorID == "" && own.Active(now)
}

// ImpersonatePortal opens a portal session in which the calling admin (in
// its own portal session) acts as member targetID: the same rule as the
// API's impersonation (RoleSet.CheckImpersonation: an active admin, a
// non-admin active target of the account, never oneself), for at most
// ImpersonationTTL and never past the admin's own session; audited as
// session.impersonate. The new session remembers the admin's session so
// that stopping returns to it (StopImpersonatingPortal).
func (s *Service) ImpersonatePortal(ctx context.Context, p *Principal, targetID, requestID string) (PortalSession, error) {
	if err := httpapi.CheckID("id", targetID); err != nil {
		return PortalSession{}, err
	}
	target, err := s.impersonationTarget(ctx, p, targetID)
	if err != nil {
		return PortalSession{}, err
	}
	own, err := s.Store.GetSession(ctx, p.SessionID)
	if err != nil {
		return PortalSession{}, err
	}
	now := s.Now.Now()
	sess, cookie := s.newPortalSession(target, now)
	sess.ImpersonatorID = p.Member.ID
	sess.ReturnSessionID = p.SessionID
	sess.BackURL = own.BackURL
	if end := now.Add(ImpersonationTTL); end.Before(sess.ExpiresAt) {
		sess.ExpiresAt = end
	}
	if own.ExpiresAt.Before(sess.ExpiresAt) {
		sess.ExpiresAt = own.ExpiresAt
	}
	// Recorded as the API's impersonation is: the member acts, the
	// administrator is the impersonator.
	ev := audit.Event{AccountID: target.AccountID, ActorID: target.ID, ActorName: target.Name, ImpersonatorID: p.Member.ID, Action: "session.impersonate",
		TargetType: "session", TargetID: sess.ID, RequestID: requestID,
		After: audit.Snapshot(map[string]string{"impersonator": p.Member.ID, "member": target.ID, "via": "portal"})}
	if err := s.Store.CreateSession(ctx, sess, ev); err != nil {
		return PortalSession{}, err
	}
	return PortalSession{Cookie: cookie, ExpiresAt: sess.ExpiresAt, ReturnTo: "/portal/team"}, nil
}

// StopImpersonatingPortal ends the impersonated portal session of p and
// opens the administrator's own again: a new session replacing the one
// the impersonation was opened from (ret), with its end and its link
// back, provided that session is still live (not revoked, not past its
// end nor its idle end, which acting kept moving: a sign-out elsewhere or
// a password reset keeps it ended; then only the impersonation ends and
// the answer is errPortalSessionGone).
func (s *Service) StopImpersonatingPortal(ctx context.Context, p *Principal, ret, requestID string) (PortalSession, error) {
	if !p.Impersonated() {
		return PortalSession{}, errPortalNotImpersonating
	}
	now := s.Now.Now()
	if err := s.Store.RevokeSession(ctx, p.SessionID, now); err != nil {
		return PortalSession{}, err
	}
	own, err := s.Store.GetSession(ctx, ret)
	if errors.Is(err, store.ErrSessionNotFound) {
		return PortalSession{}, errPortalSessionGone
	}
	if err != nil {
		return PortalSession{}, err
	}
	if ret == "" || !ownSession(own, p.Impersonator.ID, p.AccountID(), now) {
		return PortalSession{}, errPortalSessionGone
	}
	admin := *p.Impersonator
	admin.IdentityID = own.IdentityID
	sess, cookie := s.newPortalSession(admin, now)
	sess.ExpiresAt, sess.BackURL = own.ExpiresAt, own.BackURL
	ev := audit.Event{AccountID: admin.AccountID, ActorID: admin.ID, ActorName: admin.Name, Action: "session.create", TargetType: "session", TargetID: sess.ID, RequestID: requestID,
		After: audit.Snapshot(map[string]string{"via": "portal_impersonation_end", "member": p.Member.ID})}
	if err := s.Store.ReplaceSession(ctx, own.ID, sess, now, ev); err != nil {
		if errors.Is(err, store.ErrSessionNotFound) {
			return PortalSession{}, errPortalSessionGone
		}
		return PortalSession{}, err
	}
	return PortalSession{Cookie: cookie, ExpiresAt: sess.ExpiresAt, ReturnTo: "/portal/members/" + p.Member.ID}, nil
}

// EndPortal ends the portal session of p (sign-out); an impersonated
// session's sign-out ends the administrator's session it came from (ret)
// too.
func (s *Service) EndPortal(ctx context.Context, p *Principal, ret string) error {
	now := s.Now.Now()
	if err := s.Store.RevokeSession(ctx, p.SessionID, now); err != nil {
		return err
	}
	if p.Impersonated() && ret != "" {
		return s.Store.RevokeSession(ctx, ret, now)
	}
	return nil
}

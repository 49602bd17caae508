package auth

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/stewardhq/steward/pkg/accesstoken"
	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/onetime"
	"github.com/stewardhq/steward/pkg/password"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// Tokens is what sign-in and refresh answer.
type Tokens struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    time.Duration
}

// LoginInput is the body of POST /v1/auth/login plus the caller's address.
type LoginInput struct {
	Email     string
	Password  string
	AccountID string
	SourceIP  string
	RequestID string
}

// AccountChoice is one account a sign-in could mean.
type AccountChoice struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Login checks an email and password and opens a session in one account.
func (s *Service) Login(ctx context.Context, in LoginInput) (Tokens, error) {
	identityID, member, err := s.signIn(ctx, in)
	if err != nil {
		return Tokens{}, err
	}
	return s.openSession(ctx, identityID, member, nil, s.sessionLifetime(), in.RequestID)
}

// signIn checks an email and password, throttled, and picks the
// membership to sign in to: the sign-in of Login and PortalLogin.
func (s *Service) signIn(ctx context.Context, in LoginInput) (string, team.Member, error) {
	email, err := team.NormalizeEmail(in.Email)
	if err != nil {
		return "", team.Member{}, fieldError("email", err.Error())
	}
	if in.Password == "" || len(in.Password) > password.MaxBytes {
		return "", team.Member{}, errInvalidCredentials
	}
	// Charged before the comparison; a failure keeps the charges.
	att, err := s.charge(ctx, email, in.SourceIP)
	if err != nil {
		return "", team.Member{}, err
	}
	id, err := s.Store.IdentityIDByEmail(ctx, email)
	if errors.Is(err, team.ErrIdentityNotFound) {
		password.DummyVerify(in.Password)
		return "", team.Member{}, errInvalidCredentials
	}
	if err != nil {
		return "", team.Member{}, err
	}
	ident, memberships, err := s.Store.IdentityWithMemberships(ctx, id)
	if err != nil {
		return "", team.Member{}, err
	}
	ok, rehash, err := password.Verify(in.Password, ident.PasswordHash)
	if err != nil || !ok {
		if ident.PasswordHash == "" {
			password.DummyVerify(in.Password)
		}
		return "", team.Member{}, errInvalidCredentials
	}
	att.succeeded(ctx)
	if rehash {
		if h, err := password.Hash(in.Password, password.DefaultParams); err == nil {
			if err := s.Store.SetPasswordHash(ctx, ident.ID, ident.PasswordHash, h); err != nil {
				httpapi.Logger(ctx).Warn("rehash password", "error", err.Error())
			}
		}
	}
	if !ident.EmailVerified {
		return "", team.Member{}, errEmailNotVerified
	}
	member, err := s.chooseMembership(ctx, memberships, in.AccountID)
	if err != nil {
		return "", team.Member{}, err
	}
	return ident.ID, member, nil
}

// chooseMembership picks the account of a sign-in: the one asked for, or
// the only one; with several and none asked for it answers 409 listing
// them. A membership that cannot sign in says why.
func (s *Service) chooseMembership(ctx context.Context, ms []store.Membership, accountID string) (team.Member, error) {
	if accountID != "" {
		ms = slices.DeleteFunc(slices.Clone(ms), func(m store.Membership) bool { return m.AccountID != accountID })
	}
	if len(ms) == 0 {
		if accountID != "" {
			return team.Member{}, fault.New(fault.Forbidden, "not_a_member", "You are not a member of that account.")
		}
		return team.Member{}, fault.New(fault.Forbidden, "no_account", "This sign-in belongs to no account.")
	}
	members, accounts, err := s.Store.MembersAndAccounts(ctx, ms)
	if err != nil {
		return team.Member{}, err
	}
	active := slices.DeleteFunc(members, func(m team.Member) bool { return m.Status != rbac.StatusActive })
	switch {
	case len(active) == 1:
		return active[0], nil
	case len(active) > 1:
		var choices []AccountChoice
		for _, m := range active {
			choices = append(choices, AccountChoice{ID: m.AccountID, Name: accounts[m.AccountID].Name})
		}
		slices.SortFunc(choices, func(a, b AccountChoice) int { return compare(a.Name+a.ID, b.Name+b.ID) })
		e := fault.New(fault.Conflict, "account_required", "This sign-in belongs to several accounts; say which with accountId.")
		e.Extra = map[string]any{"accounts": choices}
		return team.Member{}, e
	}
	if len(members) == 1 {
		return team.Member{}, fault.New(fault.Forbidden, "member_"+string(members[0].Status), "Your membership is "+string(members[0].Status)+"; you cannot sign in to this account.")
	}
	return team.Member{}, fault.New(fault.Forbidden, "member_not_active", "None of your memberships is active.")
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// openSession creates a session for member (acted as by impersonator, if
// set) that lasts ttl at most, and signs its first tokens. Impersonated
// sessions get no refresh token; the others end also after the idle limit
// without a refresh.
func (s *Service) openSession(ctx context.Context, identityID string, member team.Member, impersonator *team.Member, ttl time.Duration, requestID string) (Tokens, error) {
	now := s.Now.Now()
	sess := store.Session{ID: store.NewID("s"), IdentityID: identityID, AccountID: member.AccountID, MemberID: member.ID, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	var refresh string
	ev := audit.Event{AccountID: member.AccountID, ActorID: member.ID, ActorName: member.Name, Action: "session.create", TargetType: "session", TargetID: sess.ID, RequestID: requestID}
	if impersonator != nil {
		sess.ImpersonatorID = impersonator.ID
		ev.ImpersonatorID = impersonator.ID
		ev.Action = "session.impersonate"
		ev.After = audit.Snapshot(map[string]string{"impersonator": impersonator.ID, "member": member.ID})
		// An unusable refresh hash: impersonated sessions never refresh.
		_, sess.RefreshHash = onetime.New()
	} else {
		refresh, sess.RefreshHash = onetime.NewRefresh(sess.ID)
		sess.IdleExpiresAt = now.Add(s.sessionIdle())
	}
	if err := s.Store.CreateSession(ctx, sess, ev); err != nil {
		return Tokens{}, err
	}
	access, exp, err := s.sign(sess, member)
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{AccessToken: access, RefreshToken: refresh, ExpiresIn: exp.Sub(now)}, nil
}

func (s *Service) sign(sess store.Session, member team.Member) (string, time.Time, error) {
	c := accesstoken.Claims{AccountID: member.AccountID, SessionID: sess.ID, IdentityID: sess.IdentityID}
	c.Subject = member.ID
	if sess.ImpersonatorID != "" {
		c.Actor = &accesstoken.Actor{Subject: sess.ImpersonatorID}
	}
	tok, exp, err := s.Issuer.Sign(c)
	if err != nil {
		return "", time.Time{}, err
	}
	// An access token never outlives its session.
	if exp.After(sess.ExpiresAt) {
		exp = sess.ExpiresAt
	}
	if !sess.IdleExpiresAt.IsZero() && exp.After(sess.IdleExpiresAt) {
		exp = sess.IdleExpiresAt
	}
	return tok, exp, nil
}

// Refresh rotates a refresh token: the old one stops working, a new pair
// is issued, and the session's idle limit starts again (its absolute end
// does not move). Reusing a replaced token revokes the whole session.
func (s *Service) Refresh(ctx context.Context, refresh string) (Tokens, error) {
	sid, presented, err := onetime.ParseRefresh(refresh)
	if err != nil {
		return Tokens{}, errRefreshInvalid
	}
	next, nextHash := onetime.NewRefresh(sid)
	now := s.Now.Now()
	sess, err := s.Store.RotateRefresh(ctx, sid, presented, nextHash, now, s.sessionIdle())
	switch {
	case errors.Is(err, store.ErrRefreshReused):
		httpapi.Logger(ctx).Warn("refresh token reused; session revoked", "session", sid)
		return Tokens{}, errRefreshInvalid
	case errors.Is(err, store.ErrRefreshInvalid):
		return Tokens{}, errRefreshInvalid
	case err != nil:
		return Tokens{}, err
	}
	st, err := s.Store.LoadAuth(ctx, sess.AccountID, sess.MemberID, "", "")
	if err != nil {
		if errors.Is(err, team.ErrMemberNotFound) {
			return Tokens{}, errRefreshInvalid
		}
		return Tokens{}, err
	}
	if st.Member.Status != rbac.StatusActive {
		_ = s.Store.RevokeSession(ctx, sid, now)
		return Tokens{}, errRefreshInvalid
	}
	access, exp, err := s.sign(sess, st.Member)
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{AccessToken: access, RefreshToken: next, ExpiresIn: exp.Sub(now)}, nil
}

// Logout ends the caller's session; an API key has none (403
// not_a_member).
func (s *Service) Logout(ctx context.Context, p *Principal) error {
	if err := p.RequireMember(); err != nil {
		return err
	}
	return s.Store.RevokeSession(ctx, p.SessionID, s.Now.Now())
}

// OpenSession signs a member in (e.g. right after accepting an invitation)
// and returns the session's first tokens.
func (s *Service) OpenSession(ctx context.Context, identityID string, member team.Member, requestID string) (Tokens, error) {
	return s.openSession(ctx, identityID, member, nil, s.sessionLifetime(), requestID)
}

// CheckPassword verifies an identity's password where a flow other than
// sign-in needs it (joining another account, signing up with an existing
// email, accepting an invitation), under the same throttling as sign-in:
// charged before the comparison, refused with 429 past the limits.
func (s *Service) CheckPassword(ctx context.Context, ident team.Identity, plain, sourceIP string) error {
	if plain == "" || len(plain) > password.MaxBytes {
		return errInvalidCredentials
	}
	att, err := s.charge(ctx, ident.Email, sourceIP)
	if err != nil {
		return err
	}
	if ok, _, err := password.Verify(plain, ident.PasswordHash); err != nil || !ok {
		return errInvalidCredentials
	}
	att.succeeded(ctx)
	return nil
}

// Package auth is sign-up, email verification, sign-in, sessions, password
// reset and impersonation, and the authentication of every authenticated
// route.
//
// Decisions:
//   - Access tokens are RS256 JWTs for 15 minutes; refresh tokens are
//     "<session>.<secret>" for 30 days, rotated on every use, stored only as
//     SHA-256 hashes. Presenting a replaced refresh token revokes the
//     session (reuse detection).
//   - Every authenticated request reloads the member, the session and the
//     account's custom roles in one BatchGetItem, so suspension, removal of
//     a grant or logout takes effect on the very next request whatever the
//     token says.
//   - Sign-in failures are counted per email and per source address in
//     15-minute windows; the 11th failure in a window answers 429 with
//     Retry-After. Unknown emails cost one argon2id verification too.
//   - An impersonated session lasts at most 60 minutes, has no refresh
//     token, and records both identities in its token and in every audit
//     event.
package auth

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/stewardhq/steward/pkg/accesstoken"
	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/authz"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/mail"
	"github.com/stewardhq/steward/pkg/onetime"
	"github.com/stewardhq/steward/pkg/password"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// Lifetimes and limits.
const (
	RefreshTTL       = 30 * 24 * time.Hour
	ImpersonationTTL = 60 * time.Minute
	VerifyEmailTTL   = 48 * time.Hour
	PasswordResetTTL = time.Hour
	LoginWindow      = 15 * time.Minute
)

// Limits bound failed sign-ins per window (LoginWindow).
type Limits struct {
	// PerEmail is the failures one email may have (default 10).
	PerEmail int
	// PerAddress is the failures one source address may have (default
	// 100: many people may share an office's address).
	PerAddress int
}

// DefaultLimits are the production limits.
var DefaultLimits = Limits{PerEmail: 10, PerAddress: 100}

// Service implements the auth flows over the store.
type Service struct {
	Store     *store.Store
	Issuer    *accesstoken.Issuer
	Verifier  *accesstoken.Verifier
	Mail      *mail.Outbox
	PublicURL string
	Now       func() time.Time
	// Limits on failed sign-ins; zero fields mean DefaultLimits.
	Limits Limits
	// ClientAddress returns the caller's address for the per-address
	// limit; nil means the connection's (API Gateway's sourceIp in Lambda).
	ClientAddress func(*http.Request) string

	roleSets authz.RoleSetCache
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Public errors of the auth flows.
var (
	errInvalidCredentials = httpapi.Errorf(http.StatusUnauthorized, "invalid_credentials", "The email or password is wrong.")
	errEmailNotVerified   = httpapi.Errorf(http.StatusForbidden, "email_not_verified", "Verify your email address first: follow the link we sent you, or ask for a new one.")
	errEmailRegistered    = httpapi.Errorf(http.StatusConflict, "email_registered", "This email already has a Steward sign-in; give its password to create another account with it, or sign in.")
	errTokenInvalid       = httpapi.Errorf(http.StatusBadRequest, "token_invalid", "The link is not valid. Ask for a new one.")
	errTokenUsed          = httpapi.Errorf(http.StatusGone, "token_used", "The link was used already. Ask for a new one if you still need it.")
	errTokenExpired       = httpapi.Errorf(http.StatusGone, "token_expired", "The link has expired. Ask for a new one.")
	errRefreshInvalid     = httpapi.Errorf(http.StatusUnauthorized, "refresh_invalid", "The refresh token is not valid; sign in again.")
	errImpersonated       = ErrImpersonated
)

func tokenError(err error) error {
	switch {
	case errors.Is(err, store.ErrTokenUsed):
		return errTokenUsed
	case errors.Is(err, store.ErrTokenExpired):
		return errTokenExpired
	case errors.Is(err, store.ErrTokenInvalid):
		return errTokenInvalid
	}
	return err
}

// SignupInput is the body of POST /v1/signup.
type SignupInput struct {
	AccountName string
	Email       string
	Name        string
	Password    string
	SourceIP    string
	RequestID   string
}

// Signup creates an account and its owner, and emails the owner a link to
// verify the address. An email that already has an identity may create
// another account only with that identity's password.
func (s *Service) Signup(ctx context.Context, in SignupInput) (team.Account, team.Member, error) {
	email, err := team.NormalizeEmail(in.Email)
	if err != nil {
		return team.Account{}, team.Member{}, fieldError("email", err.Error())
	}
	accountName, err := cleanName("accountName", in.AccountName, 120)
	if err != nil {
		return team.Account{}, team.Member{}, err
	}
	name, err := cleanName("name", in.Name, 120)
	if err != nil {
		return team.Account{}, team.Member{}, err
	}
	now := s.now()
	ident := team.Identity{ID: store.NewID("i"), Email: email, CreatedAt: now, UpdatedAt: now, Version: 1}
	newIdentity := true
	switch id, err := s.Store.IdentityIDByEmail(ctx, email); {
	case err == nil:
		existing, err := s.Store.GetIdentity(ctx, id)
		if err != nil {
			return team.Account{}, team.Member{}, err
		}
		// Proving the identity counts against the sign-in limits.
		if err := s.CheckPassword(ctx, existing, in.Password, in.SourceIP); err != nil {
			if errors.Is(err, errInvalidCredentials) {
				return team.Account{}, team.Member{}, errEmailRegistered
			}
			return team.Account{}, team.Member{}, err
		}
		ident, newIdentity = existing, false
	case errors.Is(err, team.ErrIdentityNotFound):
		if err := password.Validate(in.Password, email); err != nil {
			return team.Account{}, team.Member{}, fieldError("password", err.Error())
		}
		if ident.PasswordHash, err = password.Hash(in.Password, password.DefaultParams); err != nil {
			return team.Account{}, team.Member{}, err
		}
	default:
		return team.Account{}, team.Member{}, err
	}
	acct := team.Account{ID: store.NewID("a"), Name: accountName, Settings: team.DefaultSettings(), Version: 1, CreatedAt: now, UpdatedAt: now}
	owner := team.Member{
		ID: store.NewID("m"), AccountID: acct.ID, IdentityID: ident.ID, Email: email, Name: name,
		Status: authz.StatusActive, Admin: true, Owner: true, Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	acct.OwnerID = owner.ID
	na := store.NewAccount{Account: acct, Owner: owner, Identity: ident, NewIdentity: newIdentity}
	var link string
	if !ident.EmailVerified {
		tok, hash := onetime.New()
		na.VerifyToken = &store.Token{Hash: hash, Kind: store.TokenVerifyEmail, AccountID: acct.ID, SubjectID: ident.ID, ExpiresAt: now.Add(VerifyEmailTTL)}
		link = s.link("/verify-email", tok)
	}
	ev := audit.Event{AccountID: acct.ID, ActorID: owner.ID, ActorName: name, Action: "account.create", TargetType: "account", TargetID: acct.ID,
		After: audit.Snapshot(map[string]string{"name": accountName, "owner": owner.ID, "email": email}), RequestID: in.RequestID}
	if err := s.Store.CreateAccount(ctx, na, ev); err != nil {
		if errors.Is(err, team.ErrEmailTaken) {
			return team.Account{}, team.Member{}, errEmailRegistered
		}
		return team.Account{}, team.Member{}, err
	}
	if link != "" {
		if err := s.sendVerify(ctx, na.VerifyToken.Hash, email, name, link); err != nil {
			return team.Account{}, team.Member{}, err
		}
	}
	return acct, owner, nil
}

func (s *Service) link(path, token string) string {
	return s.PublicURL + path + "?token=" + token
}

func (s *Service) sendVerify(ctx context.Context, tokenHash, email, name, link string) error {
	subject, text, html, err := mail.Render("verify_email", mail.VerifyEmailData{Name: name, Link: link})
	if err != nil {
		return err
	}
	_, _, err = s.Mail.Send(ctx, "verify:"+tokenHash, mail.Message{
		To: []mail.Address{{Name: name, Email: email}}, Subject: subject, Text: text, HTML: html,
	})
	return err
}

// ResendVerification emails a new verification link to an unverified
// identity, making older links unusable. It reveals nothing: an unknown or
// verified email gets no email and the same answer.
func (s *Service) ResendVerification(ctx context.Context, rawEmail, requestID string) error {
	email, err := team.NormalizeEmail(rawEmail)
	if err != nil {
		return fieldError("email", err.Error())
	}
	id, err := s.Store.IdentityIDByEmail(ctx, email)
	if errors.Is(err, team.ErrIdentityNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	ident, ms, err := s.Store.IdentityWithMemberships(ctx, id)
	if err != nil || ident.EmailVerified {
		return ignoreNotFound(err)
	}
	account := ""
	if len(ms) > 0 {
		account = ms[0].AccountID
	}
	tok, hash := onetime.New()
	t := store.Token{Hash: hash, Kind: store.TokenVerifyEmail, AccountID: account, SubjectID: ident.ID, ExpiresAt: s.now().Add(VerifyEmailTTL)}
	ev := audit.Event{AccountID: orSystem(account), ActorID: "system", Action: "identity.verification_sent", TargetType: "identity", TargetID: ident.ID, RequestID: requestID}
	if err := s.Store.IssueIdentityToken(ctx, t, ev); err != nil {
		return err
	}
	return s.sendVerify(ctx, hash, email, "", s.link("/verify-email", tok))
}

// VerifyEmail uses a verification token.
func (s *Service) VerifyEmail(ctx context.Context, token, requestID string) error {
	hash, err := onetime.Hash(token)
	if err != nil {
		return errTokenInvalid
	}
	t, err := s.Store.GetToken(ctx, hash)
	if err != nil || t.Kind != store.TokenVerifyEmail {
		return tokenError(store.ErrTokenInvalid)
	}
	now := s.now()
	ev := audit.Event{AccountID: orSystem(t.AccountID), ActorID: "identity:" + t.SubjectID, Action: "identity.verify_email", TargetType: "identity", TargetID: t.SubjectID, RequestID: requestID}
	if err := s.Store.VerifyEmail(ctx, hash, t.SubjectID, now, ev); err != nil {
		if errors.Is(err, store.ErrTokenInvalid) {
			return tokenError(s.Store.TokenFailure(ctx, hash, store.TokenVerifyEmail, now))
		}
		return err
	}
	return nil
}

// orSystem files events that belong to no account under "system".
func orSystem(account string) string {
	if account == "" {
		return "system"
	}
	return account
}

func ignoreNotFound(err error) error {
	if errors.Is(err, team.ErrIdentityNotFound) {
		return nil
	}
	return err
}

func fieldError(field, detail string) error { return httpapi.InvalidField(field, detail) }

// cleanName trims a required display name and checks it.
func cleanName(field, v string, max int) (string, error) {
	return httpapi.CleanName(field, v, max, true)
}

// SendVerifyEmail emails the link that verifies email with token (whose
// hash is stored), for flows outside sign-up (self-registration).
func (s *Service) SendVerifyEmail(ctx context.Context, email, name, token, hash string) error {
	return s.sendVerify(ctx, hash, email, name, s.link("/verify-email", token))
}

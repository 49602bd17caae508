// Package auth is sign-up, email verification, sign-in, sessions, password
// reset and impersonation, and the authentication of every authenticated
// route.
//
// Decisions:
//   - Access tokens are RS256 JWTs for 15 minutes; refresh tokens are
//     "<session>.<secret>", rotated on every use, stored only as SHA-256
//     hashes. A session lives 30 days from sign-in at most and ends after
//     7 days without a refresh (Service.SessionLifetime and SessionIdle,
//     STEWARD_SESSION_LIFETIME and STEWARD_SESSION_IDLE); it can be
//     refreshed any number of times within those. Presenting a replaced
//     refresh token revokes the session (reuse detection); the session
//     remembers only its last few replaced hashes (at least 8), so its
//     item stays small however long it lives.
//   - Every authenticated request reloads the member, the session and the
//     account's custom roles in one BatchGetItem, so suspension, removal of
//     a grant or logout takes effect on the very next request whatever the
//     token says.
//   - Sign-in throttling (see throttle.go) counts password comparisons per
//     email and source address pair, per email across addresses and per
//     address across emails, in 15-minute windows, charged atomically
//     before the comparison; failures from one address never refuse the
//     right password from another. Every 429 carries Retry-After. Unknown
//     emails cost one argon2id verification too.
//   - An impersonated session lasts at most 60 minutes, has no refresh
//     token, and records both identities in its token and in every audit
//     event.
package auth

import (
	"errors"
	"time"

	"github.com/stewardhq/steward/pkg/accesstoken"
	"github.com/stewardhq/steward/pkg/clock"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/mail"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// Lifetimes.
const (
	// DefaultSessionLifetime is a session's absolute life: it ends this
	// long after sign-in, however often it is refreshed.
	DefaultSessionLifetime = 30 * 24 * time.Hour
	// DefaultSessionIdle ends a session that was not refreshed for this
	// long.
	DefaultSessionIdle = 7 * 24 * time.Hour
	ImpersonationTTL   = 60 * time.Minute
	VerifyEmailTTL     = 48 * time.Hour
	PasswordResetTTL   = time.Hour
)

// Service implements the auth flows over the store.
type Service struct {
	Store     *store.Store
	Issuer    *accesstoken.Issuer
	Verifier  *accesstoken.Verifier
	Mail      *mail.Outbox
	PublicURL string
	Now       clock.Clock
	// Limits on failed sign-ins; zero fields mean DefaultLimits.
	Limits Limits
	// SessionLifetime and SessionIdle are a session's absolute and idle
	// limits; zero means DefaultSessionLifetime and DefaultSessionIdle.
	SessionLifetime, SessionIdle time.Duration
	// ClientAddress returns the caller's address for the per-address
	// limit; nil means the connection's (API Gateway's sourceIp in Lambda).
	ClientAddress ClientAddressFunc
	// MailCaps bound the emails public routes send; zero fields mean
	// DefaultMailCaps (register.go).
	MailCaps MailCaps

	roleSets rbac.RoleSetCache
}

func (s *Service) sessionLifetime() time.Duration {
	if s.SessionLifetime > 0 {
		return s.SessionLifetime
	}
	return DefaultSessionLifetime
}

func (s *Service) sessionIdle() time.Duration {
	if s.SessionIdle > 0 {
		return s.SessionIdle
	}
	return DefaultSessionIdle
}

// Public errors of the auth flows.
var (
	errInvalidCredentials = fault.New(fault.Unauthenticated, "invalid_credentials", "The email or password is wrong.")
	errEmailNotVerified   = fault.New(fault.Forbidden, "email_not_verified", "Verify your email address first: follow the link we sent you, or ask for a new one.")
	errTokenInvalid       = fault.New(fault.Invalid, "token_invalid", "The link is not valid. Ask for a new one.")
	errTokenUsed          = fault.New(fault.Gone, "token_used", "The link was used already. Ask for a new one if you still need it.")
	errTokenExpired       = fault.New(fault.Gone, "token_expired", "The link has expired. Ask for a new one.")
	errRefreshInvalid     = fault.New(fault.Unauthenticated, "refresh_invalid", "The refresh token is not valid; sign in again.")
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

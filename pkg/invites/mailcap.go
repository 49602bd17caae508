package invites

import (
	"context"

	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/team"
)

// Re-sending an invitation is capped like the public mail routes (per
// recipient and per source address per hour, auth.MailCaps); being
// authenticated, the caller is told: 429 too_many_emails with
// Retry-After.

type sourceKey struct{}

// withSource records the caller's address for the mail caps.
func withSource(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, sourceKey{}, addr)
}

// capResend counts the re-sent invitation's email, or refuses it.
func (s *Service) capResend(ctx context.Context, inv team.Invitation) error {
	addr, _ := ctx.Value(sourceKey{}).(string)
	ok, retry, err := s.Auth.TakeMail(ctx, auth.MailInvitation, inv.Email, addr)
	if err != nil || ok {
		return err
	}
	e := fault.New(fault.TooMany, "too_many_emails", "This invitation was sent too often lately; try again later.")
	e.RetryAfter = retry
	return e
}

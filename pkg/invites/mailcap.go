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

// capResend counts the re-sent invitation's email, sent at the request of
// addr, or refuses it.
func (s *Service) capResend(ctx context.Context, inv team.Invitation, addr string) error {
	ok, retry, err := s.Auth.TakeMail(ctx, auth.MailInvitation, inv.Email, addr)
	if err != nil || ok {
		return err
	}
	e := fault.New(fault.TooMany, "too_many_emails", "This invitation was sent too often lately; try again later.")
	e.RetryAfter = retry
	return e
}

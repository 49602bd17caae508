package auth

import (
	"context"
	"errors"

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/mail"
	"github.com/stewardhq/steward/pkg/onetime"
	"github.com/stewardhq/steward/pkg/password"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// RequestPasswordReset emails a one-hour reset link when the email has an
// identity, within the mail caps (MailReset per recipient, and per source
// address). The answer is the same either way.
func (s *Service) RequestPasswordReset(ctx context.Context, rawEmail, sourceIP, requestID string) error {
	email, err := team.NormalizeEmail(rawEmail)
	if err != nil {
		return fieldError("email", err.Error())
	}
	if ok, _, err := s.TakeMail(ctx, MailReset, email, sourceIP); err != nil || !ok {
		return err
	}
	id, err := s.Store.IdentityIDByEmail(ctx, email)
	if errors.Is(err, team.ErrIdentityNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	_, ms, err := s.Store.IdentityWithMemberships(ctx, id)
	if err != nil {
		return ignoreNotFound(err)
	}
	account := ""
	if len(ms) > 0 {
		account = ms[0].AccountID
	}
	tok, hash := onetime.New()
	t := store.Token{Hash: hash, Kind: store.TokenPasswordReset, AccountID: account, SubjectID: id, ExpiresAt: s.Now.Now().Add(PasswordResetTTL)}
	ev := audit.Event{AccountID: orSystem(account), ActorID: "identity:" + id, Action: "identity.password_reset_requested", TargetType: "identity", TargetID: id, RequestID: requestID}
	if err := s.Store.IssueIdentityToken(ctx, t, ev); err != nil {
		return err
	}
	subject, text, html, err := mail.Render("password_reset", mail.PasswordResetData{Link: s.link("/reset-password", tok)})
	if err != nil {
		return err
	}
	_, _, err = s.Mail.Send(ctx, "reset:"+hash, mail.Message{To: []mail.Address{{Email: email}}, Subject: subject, Text: text, HTML: html})
	return err
}

// ConfirmPasswordReset sets a new password with a reset token and ends
// every session of the identity.
func (s *Service) ConfirmPasswordReset(ctx context.Context, token, newPassword, requestID string) error {
	hash, err := onetime.Hash(token)
	if err != nil {
		return errTokenInvalid
	}
	t, err := s.Store.GetToken(ctx, hash)
	if err != nil || t.Kind != store.TokenPasswordReset {
		return errTokenInvalid
	}
	ident, err := s.Store.GetIdentity(ctx, t.SubjectID)
	if err != nil {
		return errTokenInvalid
	}
	if err := password.Validate(newPassword, ident.Email); err != nil {
		return fieldError("password", err.Error())
	}
	ph, err := password.Hash(newPassword, password.DefaultParams)
	if err != nil {
		return err
	}
	now := s.Now.Now()
	ev := audit.Event{AccountID: orSystem(t.AccountID), ActorID: "identity:" + ident.ID, Action: "identity.password_reset", TargetType: "identity", TargetID: ident.ID, RequestID: requestID}
	if err := s.Store.ResetPassword(ctx, hash, ident.ID, ph, now, ev); err != nil {
		if errors.Is(err, store.ErrTokenInvalid) {
			return tokenError(s.Store.TokenFailure(ctx, hash, store.TokenPasswordReset, now))
		}
		return err
	}
	return s.Store.RevokeSessions(ctx, ident.ID, "", "", now)
}

// Package mailboot builds the mail outbox over SES, once per cold start,
// for the functions that send email (auth, invites, the approval
// workflow's steps, the alert job); the others do not link the SES
// client.
package mailboot

import (
	"errors"
	"fmt"

	"github.com/stewardhq/steward/pkg/app/boot"
	"github.com/stewardhq/steward/pkg/awsclient/sesclient"
	"github.com/stewardhq/steward/pkg/mail"
	"github.com/stewardhq/steward/pkg/mail/sesmail"
	"github.com/stewardhq/steward/pkg/store"
)

// Outbox returns the outbox sending through SES from STEWARD_MAIL_FROM,
// deduplicated in st.
func Outbox(e *boot.Env, st *store.Store) (*mail.Outbox, error) {
	cfg := e.Config
	from, err := mail.ParseAddress(cfg.MailFrom)
	if err != nil {
		return nil, fmt.Errorf("STEWARD_MAIL_FROM: %w", err)
	}
	sender, err := sesmail.New(sesclient.New(e.AWS, cfg.Endpoints.SES), from, cfg.SESConfigurationSet)
	if err != nil {
		return nil, err
	}
	if cfg.PublicURL == "" {
		return nil, errors.New("STEWARD_PUBLIC_URL must be set")
	}
	return &mail.Outbox{Sender: sender, Deduper: st.Outbox(), Logger: e.Logger}, nil
}

var _ mail.Deduper = (*store.Outbox)(nil)

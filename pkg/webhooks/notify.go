package webhooks

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/stewardhq/steward/pkg/mail"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/store"
)

// Mailer sends one email per idempotency key (mail.Outbox).
type Mailer interface {
	Send(ctx context.Context, key string, m mail.Message) (messageID string, sent bool, err error)
}

// MailNotifier emails every active administrator (and the owner) of the
// account that an endpoint was disabled, once per administrator and
// disabling (the outbox key names both).
type MailNotifier struct {
	Store *store.Store
	Mail  Mailer
}

// WebhookDisabled sends the emails; it tries every administrator and
// reports the failures together.
func (n *MailNotifier) WebhookDisabled(ctx context.Context, w store.Webhook) error {
	acct, err := n.Store.GetAccount(ctx, w.AccountID)
	if err != nil {
		return err
	}
	var errs []error
	cursor := ""
	for {
		page, err := n.Store.ListMembers(ctx, w.AccountID, store.MaxPageSize, cursor)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		for _, m := range page.Items {
			if m.Status != rbac.StatusActive || !(m.Admin || m.Owner) || m.Email == "" {
				continue
			}
			subject, text, html, err := mail.Render(mail.TemplateWebhookDisabled, mail.WebhookDisabledData{
				Name: m.Name, AccountName: acct.Name, URL: w.URL, Description: w.Description, FailingSince: w.FailingSince,
			})
			if err != nil {
				return err
			}
			to, err := mail.ParseAddress(m.Email)
			if err != nil {
				errs = append(errs, fmt.Errorf("member %s: %w", m.ID, err))
				continue
			}
			to.Name = m.Name
			key := "webhook-disabled/" + w.AccountID + "/" + w.ID + "/" + strconv.FormatInt(w.DisabledAt.Unix(), 10) + "/" + m.ID
			if _, _, err := n.Mail.Send(ctx, key, mail.Message{
				To: []mail.Address{to}, Subject: subject, Text: text, HTML: html,
				Tags: map[string]string{"kind": "webhook_disabled"},
			}); err != nil {
				errs = append(errs, fmt.Errorf("member %s: %w", m.ID, err))
			}
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	return errors.Join(errs...)
}

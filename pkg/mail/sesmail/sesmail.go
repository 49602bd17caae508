// Package sesmail sends Steward's email through Amazon SES v2: the
// mail.Sender of the functions that send email. It is apart from
// pkg/mail, which every authenticating function links, so that only the
// functions that send link the SES client.
package sesmail

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/stewardhq/steward/pkg/mail"
)

var _ mail.Sender = (*Sender)(nil)

// charset is the character set of every subject and body.
const charset = "UTF-8"

// Sender sends email through Amazon SES v2 (SendEmail with Simple content:
// subject, text and HTML in UTF-8, custom headers in the Simple content's
// Headers). SES builds the MIME message itself, so this package writes no
// MIME. Locally the client points at aws-ses-v2-local, which keeps the
// headers too.
type Sender struct {
	// Client is the SES v2 client (pkg/awsclient/sesclient).
	Client *sesv2.Client
	// From is the sender used when a Message has none; it must be a
	// verified identity in SES.
	From mail.Address
	// ConfigurationSet is the SES configuration set to send with
	// (event publishing, dedicated IPs); empty means none.
	ConfigurationSet string
}

// New returns an SES sender with a default From address and an optional
// configuration set name.
func New(client *sesv2.Client, from mail.Address, configurationSet string) (*Sender, error) {
	if client == nil {
		return nil, errors.New("mail: nil SES client")
	}
	if err := from.Validate(); err != nil {
		return nil, fmt.Errorf("default from: %w", err)
	}
	return &Sender{Client: client, From: from, ConfigurationSet: configurationSet}, nil
}

// Send validates m, fills in the default From and sends it with one
// SendEmail call. The error never quotes the message's body or headers.
func (s *Sender) Send(ctx context.Context, m mail.Message) (string, error) {
	if m.From.IsZero() {
		m.From = s.From
	}
	if err := m.Validate(); err != nil {
		return "", err
	}
	in := s.input(m)
	out, err := s.Client.SendEmail(ctx, in)
	if err != nil {
		return "", fmt.Errorf("mail: ses SendEmail: %w", err)
	}
	return aws.ToString(out.MessageId), nil
}

// input builds the SendEmail request for a validated message.
func (s *Sender) input(m mail.Message) *sesv2.SendEmailInput {
	to := make([]string, len(m.To))
	for i, a := range m.To {
		to[i] = a.String()
	}
	body := &types.Body{}
	if m.Text != "" {
		body.Text = &types.Content{Data: aws.String(m.Text), Charset: aws.String(charset)}
	}
	if m.HTML != "" {
		body.Html = &types.Content{Data: aws.String(m.HTML), Charset: aws.String(charset)}
	}
	msg := &types.Message{
		Subject: &types.Content{Data: aws.String(m.Subject), Charset: aws.String(charset)},
		Body:    body,
	}
	for _, name := range sortedKeys(m.Headers) {
		msg.Headers = append(msg.Headers, types.MessageHeader{Name: aws.String(name), Value: aws.String(m.Headers[name])})
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(m.From.String()),
		Destination:      &types.Destination{ToAddresses: to},
		Content:          &types.EmailContent{Simple: msg},
	}
	if !m.ReplyTo.IsZero() {
		in.ReplyToAddresses = []string{m.ReplyTo.String()}
	}
	if s.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(s.ConfigurationSet)
	}
	for _, name := range sortedKeys(m.Tags) {
		in.EmailTags = append(in.EmailTags, types.MessageTag{Name: aws.String(name), Value: aws.String(m.Tags[name])})
	}
	return in
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

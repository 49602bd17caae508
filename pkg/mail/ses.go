package mail

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

// Sender sends one email and returns the id the mail service gave it.
type Sender interface {
	// Send validates m and sends it. An invalid m gives an error wrapping
	// ErrInvalid and sends nothing.
	Send(ctx context.Context, m Message) (messageID string, err error)
}

// charset is the character set of every subject and body.
const charset = "UTF-8"

// SES sends email through Amazon SES v2 (SendEmail with Simple content:
// subject, text and HTML in UTF-8, custom headers in the Simple content's
// Headers). SES builds the MIME message itself, so this package writes no
// MIME. Locally the client points at aws-ses-v2-local, which keeps the
// headers too.
type SES struct {
	// Client is the SES v2 client (awsclient/sesclient).
	Client *sesv2.Client
	// From is the sender used when a Message has none; it must be a
	// verified identity in SES.
	From Address
	// ConfigurationSet is the SES configuration set to send with
	// (event publishing, dedicated IPs); empty means none.
	ConfigurationSet string
}

// NewSES returns an SES sender with a default From address and an
// optional configuration set name.
func NewSES(client *sesv2.Client, from Address, configurationSet string) (*SES, error) {
	if client == nil {
		return nil, errors.New("mail: nil SES client")
	}
	if err := from.Validate(); err != nil {
		return nil, fmt.Errorf("default from: %w", err)
	}
	return &SES{Client: client, From: from, ConfigurationSet: configurationSet}, nil
}

// Send validates m, fills in the default From and sends it with one
// SendEmail call. The error never quotes the message's body or headers.
func (s *SES) Send(ctx context.Context, m Message) (string, error) {
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
func (s *SES) input(m Message) *sesv2.SendEmailInput {
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

// UnsubscribeHeaders returns the List-Unsubscribe and
// List-Unsubscribe-Post headers for one-click unsubscription (RFC 2369,
// RFC 8058) to link, an absolute http or https URL (https in production:
// mailbox providers ignore one-click on plain http). The page at link
// must accept a POST with the body "List-Unsubscribe=One-Click" and
// unsubscribe without further questions.
func UnsubscribeHeaders(link string) (map[string]string, error) {
	u, err := checkLink(link)
	if err != nil {
		return nil, fmt.Errorf("unsubscribe link: %w", err)
	}
	v := "<" + u.String() + ">"
	if err := validateHeader("List-Unsubscribe", v); err != nil {
		return nil, err
	}
	return map[string]string{
		"List-Unsubscribe":      v,
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
	}, nil
}

// checkLink accepts an absolute http or https URL with a host and no
// credentials. Errors never quote the link (it carries a token).
func checkLink(link string) (*url.URL, error) {
	if link == "" {
		return nil, fmt.Errorf("%w: link is empty", ErrInvalid)
	}
	if hasLineBreak(link) || hasControl(link) {
		return nil, fmt.Errorf("%w: link contains a control character", ErrInvalid)
	}
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("%w: link must be an absolute http or https URL", ErrInvalid)
	}
	return u, nil
}

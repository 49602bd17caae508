package mail

import (
	"context"
	"fmt"
	"net/url"
)

// Sender sends one email and returns the id the mail service gave it
// (pkg/mail/sesmail sends through Amazon SES).
type Sender interface {
	// Send validates m and sends it. An invalid m gives an error wrapping
	// ErrInvalid and sends nothing.
	Send(ctx context.Context, m Message) (messageID string, err error)
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

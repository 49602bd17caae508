package mail

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrInvalid is wrapped by every error that reports a message, address,
// header or tag that cannot be sent as it is. Test with errors.Is.
var ErrInvalid = errors.New("mail: invalid message")

// Limits enforced by Validate (SES's own limits).
const (
	// MaxRecipients is the most To addresses one message may have.
	MaxRecipients = 50
	// maxHeaderName, maxHeaderValue and maxHeaderLine bound a custom
	// header's name, value and "name: value" line.
	maxHeaderName  = 126
	maxHeaderValue = 995
	maxHeaderLine  = 996
	// maxTag bounds a tag's name and value.
	maxTag = 256
	// maxName bounds a display name.
	maxName = 256
)

// reservedHeaders are headers that the message's own fields (or SES) set;
// a custom header may not replace them.
var reservedHeaders = map[string]bool{
	"from": true, "sender": true, "to": true, "cc": true, "bcc": true,
	"reply-to": true, "subject": true, "return-path": true, "date": true,
	"message-id": true, "mime-version": true, "content-type": true,
	"content-transfer-encoding": true, "content-disposition": true,
	"dkim-signature": true, "received": true,
}

// Address is an email address with an optional display name.
type Address struct {
	// Name is the display name ("Ada Lovelace"); it may be empty and
	// may hold any Unicode text except control characters.
	Name string
	// Email is the bare address ("ada@example.com"), ASCII only.
	Email string
}

// ParseAddress parses one RFC 5322 address such as
// `"Steward" <no-reply@example.com>` or `no-reply@example.com`.
func ParseAddress(s string) (Address, error) {
	if hasLineBreak(s) {
		return Address{}, fmt.Errorf("%w: address contains a line break", ErrInvalid)
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return Address{}, fmt.Errorf("%w: address: %v", ErrInvalid, err)
	}
	out := Address{Name: a.Name, Email: a.Address}
	if err := out.Validate(); err != nil {
		return Address{}, err
	}
	return out, nil
}

// IsZero reports whether a has neither name nor email.
func (a Address) IsZero() bool { return a.Name == "" && a.Email == "" }

// String formats a for an email header: the display name is quoted or
// RFC 2047 encoded as needed (net/mail.Address), so that no name can
// break out of it. Call Validate first; String does not check.
func (a Address) String() string {
	return (&mail.Address{Name: a.Name, Address: a.Email}).String()
}

// Validate reports, wrapping ErrInvalid, why a cannot be used as a
// sender or recipient: a missing or malformed email, a non-ASCII email
// (SES needs the domain in punycode and no Unicode local part), or a line
// break or other control character in the name or email.
func (a Address) Validate() error {
	switch {
	case a.Email == "":
		return fmt.Errorf("%w: email is empty", ErrInvalid)
	case hasLineBreak(a.Email) || hasLineBreak(a.Name):
		return fmt.Errorf("%w: name or email contains a line break", ErrInvalid)
	case hasControl(a.Email) || hasControl(a.Name):
		return fmt.Errorf("%w: name or email contains a control character", ErrInvalid)
	case !utf8.ValidString(a.Name):
		return fmt.Errorf("%w: name is not valid UTF-8", ErrInvalid)
	case len(a.Name) > maxName:
		return fmt.Errorf("%w: name is longer than %d bytes", ErrInvalid, maxName)
	case !isASCII(a.Email):
		return fmt.Errorf("%w: email must be ASCII (write an international domain in punycode)", ErrInvalid)
	}
	p, err := mail.ParseAddress(a.Email)
	if err != nil || p.Name != "" || p.Address != a.Email || !strings.Contains(a.Email, "@") {
		return fmt.Errorf("%w: %q is not a bare email address", ErrInvalid, a.Email)
	}
	return nil
}

// Message is one email.
type Message struct {
	// To lists the recipients (1 to MaxRecipients); every recipient sees
	// the others.
	To []Address
	// From is the sender; zero means the Sender's default.
	From Address
	// ReplyTo is where replies go; zero means From.
	ReplyTo Address
	// Subject is one line of Unicode text.
	Subject string
	// Text and HTML are the bodies; at least one is required, and both
	// should be given (clients that cannot show HTML show Text).
	Text string
	HTML string
	// Headers are extra headers, such as List-Unsubscribe and
	// List-Unsubscribe-Post (see UnsubscribeHeaders). Names are printable
	// ASCII without a colon; values printable ASCII (encode anything
	// else, e.g. RFC 2047); headers that the other fields set (From, To,
	// Subject, Content-Type, ...) are refused.
	Headers map[string]string
	// Tags label the email for SES event publishing (configuration set
	// event destinations); names and values use only ASCII letters,
	// digits, '_' and '-'.
	Tags map[string]string
}

// Validate reports, wrapping ErrInvalid, the first reason m cannot be sent:
// no recipient or too many, an invalid address, an empty or multi-line
// subject, no body, or an invalid header or tag. It requires From; SES.Send
// fills in its default first.
func (m Message) Validate() error {
	if len(m.To) == 0 {
		return fmt.Errorf("%w: no recipient", ErrInvalid)
	}
	if len(m.To) > MaxRecipients {
		return fmt.Errorf("%w: %d recipients, at most %d", ErrInvalid, len(m.To), MaxRecipients)
	}
	for i, a := range m.To {
		if err := a.Validate(); err != nil {
			return fmt.Errorf("to[%d]: %w", i, err)
		}
	}
	if err := m.From.Validate(); err != nil {
		return fmt.Errorf("from: %w", err)
	}
	if !m.ReplyTo.IsZero() {
		if err := m.ReplyTo.Validate(); err != nil {
			return fmt.Errorf("reply-to: %w", err)
		}
	}
	switch {
	case strings.TrimSpace(m.Subject) == "":
		return fmt.Errorf("%w: subject is empty", ErrInvalid)
	case hasLineBreak(m.Subject):
		return fmt.Errorf("%w: subject contains a line break", ErrInvalid)
	case hasControl(m.Subject):
		return fmt.Errorf("%w: subject contains a control character", ErrInvalid)
	case !utf8.ValidString(m.Subject):
		return fmt.Errorf("%w: subject is not valid UTF-8", ErrInvalid)
	case m.Text == "" && m.HTML == "":
		return fmt.Errorf("%w: no text or HTML body", ErrInvalid)
	case !utf8.ValidString(m.Text) || !utf8.ValidString(m.HTML):
		return fmt.Errorf("%w: body is not valid UTF-8", ErrInvalid)
	}
	for name, value := range m.Headers {
		if err := validateHeader(name, value); err != nil {
			return err
		}
	}
	for name, value := range m.Tags {
		if !isTagText(name) {
			return fmt.Errorf("%w: tag name %q: use 1 to %d ASCII letters, digits, '_' or '-'", ErrInvalid, name, maxTag)
		}
		if !isTagText(value) {
			return fmt.Errorf("%w: tag %q: value must be 1 to %d ASCII letters, digits, '_' or '-'", ErrInvalid, name, maxTag)
		}
	}
	return nil
}

// validateHeader checks one custom header. Errors name the header but
// never quote its value (List-Unsubscribe values carry tokens).
func validateHeader(name, value string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty header name", ErrInvalid)
	case hasLineBreak(name):
		return fmt.Errorf("%w: header name contains a line break", ErrInvalid)
	case len(name) > maxHeaderName:
		return fmt.Errorf("%w: header name longer than %d characters", ErrInvalid, maxHeaderName)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 33 || c > 126 || c == ':' {
			return fmt.Errorf("%w: header name %q: only printable ASCII without spaces or ':'", ErrInvalid, strings.ToValidUTF8(name, "?"))
		}
	}
	if reservedHeaders[strings.ToLower(name)] {
		return fmt.Errorf("%w: header %s is set by the message itself and cannot be overridden", ErrInvalid, name)
	}
	switch {
	case hasLineBreak(value):
		return fmt.Errorf("%w: header %s: value contains a line break", ErrInvalid, name)
	case strings.TrimSpace(value) == "":
		return fmt.Errorf("%w: header %s: value is empty", ErrInvalid, name)
	case len(value) > maxHeaderValue || len(name)+len(value) > maxHeaderLine:
		return fmt.Errorf("%w: header %s: value too long (at most %d characters with the name)", ErrInvalid, name, maxHeaderLine)
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 32 || c > 126 {
			return fmt.Errorf("%w: header %s: value must be printable ASCII (encode it first)", ErrInvalid, name)
		}
	}
	return nil
}

func hasLineBreak(s string) bool { return strings.ContainsAny(s, "\r\n") }

// hasControl reports a control character (C0, DEL, C1) or a Unicode line
// or paragraph separator.
func hasControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
	}) >= 0
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isTagText(s string) bool {
	if s == "" || len(s) > maxTag {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

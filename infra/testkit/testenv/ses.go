package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/stewardhq/steward/pkg/awsclient"
	"github.com/stewardhq/steward/pkg/awsclient/sesclient"
	stmail "github.com/stewardhq/steward/pkg/mail"
	"github.com/stewardhq/steward/pkg/mail/sesmail"
)

// SESEmulator is aws-ses-v2-local. It keeps every email sent to it; GET
// /store lists them and its web UI at URL shows them.
type SESEmulator struct {
	// URL is the emulator's endpoint and web UI.
	URL string
	// Client is an SES v2 client for URL (built by pkg/awsclient).
	Client *sesv2.Client
}

// Email is one email in aws-ses-v2-local's store.
type Email struct {
	// MessageID is the id SendEmail returned.
	MessageID string `json:"messageId"`
	// From is the sender as sent, possibly with a display name.
	From string `json:"from"`
	// ReplyTo lists the Reply-To addresses.
	ReplyTo []string `json:"replyTo"`
	// Destination holds the recipients.
	Destination Destination `json:"destination"`
	// Subject is the subject line.
	Subject string `json:"subject"`
	// Body is the HTML and text content.
	Body EmailBody `json:"body"`
	// Headers are the custom headers sent (Simple and Template content).
	Headers []EmailHeader `json:"headers"`
	// Attachments are the attached files.
	Attachments []Attachment `json:"attachments"`
	// At is when the emulator stored the email, in epoch seconds.
	At int64 `json:"at"`
}

// Destination holds an email's recipients as sent (raw emails keep
// display names: "Name <a@example.com>").
type Destination struct {
	// To, CC and BCC are the recipients by kind.
	To  []string `json:"to"`
	CC  []string `json:"cc"`
	BCC []string `json:"bcc"`
}

// EmailBody is an email's HTML and text parts (either may be empty).
type EmailBody struct {
	// HTML is the HTML part.
	HTML string `json:"html"`
	// Text is the plain-text part.
	Text string `json:"text"`
}

// EmailHeader is one custom header sent with the email.
type EmailHeader struct {
	// Name and Value are the header's name and value.
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Attachment is one attachment; Content is base64.
type Attachment struct {
	// Filename, ContentType, Size (bytes) and Content (base64) describe
	// the file.
	Filename    string `json:"filename"`
	ContentType string `json:"contentType"`
	Size        int    `json:"size"`
	Content     string `json:"content"`
}

// Time returns At as a time.
func (e Email) Time() time.Time { return time.Unix(e.At, 0) }

// Recipients lists the To, Cc and Bcc recipients.
func (e Email) Recipients() []string {
	var out []string
	out = append(out, e.Destination.To...)
	out = append(out, e.Destination.CC...)
	return append(out, e.Destination.BCC...)
}

// SentTo reports whether addr (compared case-insensitively, display names
// ignored) is among the recipients.
func (e Email) SentTo(addr string) bool {
	want := bareAddress(addr)
	for _, r := range e.Recipients() {
		if bareAddress(r) == want {
			return true
		}
	}
	return false
}

func bareAddress(s string) string {
	if a, err := mail.ParseAddress(s); err == nil {
		s = a.Address
	}
	return strings.ToLower(strings.TrimSpace(s))
}

// SES returns aws-ses-v2-local, starting it on first use; it fails the
// test if the emulator cannot be had.
func SES(t testing.TB) *SESEmulator {
	t.Helper()
	url := sesEmu.mustURL(t)
	return &SESEmulator{URL: url, Client: sesclient.New(awsConfig(t, awsclient.Endpoints{SES: url}), url)}
}

// Sender is Steward's SES sender (pkg/mail/sesmail) on this emulator,
// sending from from with the configuration set "steward-test".
func (s *SESEmulator) Sender(t testing.TB, from stmail.Address) *sesmail.Sender {
	t.Helper()
	snd, err := sesmail.New(s.Client, from, "steward-test")
	if err != nil {
		t.Fatal(err)
	}
	return snd
}

// Emails returns the stored emails stored at or after since (whole
// seconds; the zero time means all of them), oldest first.
func (s *SESEmulator) Emails(t testing.TB, since time.Time) []Email {
	t.Helper()
	emails, err := s.emails(since)
	if err != nil {
		t.Fatalf("read SES store: %v", err)
	}
	return emails
}

func (s *SESEmulator) emails(since time.Time) ([]Email, error) {
	u := s.URL + "/store"
	if !since.IsZero() {
		u += "?since=" + strconv.FormatInt(since.Unix(), 10)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("GET %s: %s: %s", u, resp.Status, b)
	}
	var store struct {
		Emails []Email `json:"emails"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&store); err != nil {
		return nil, fmt.Errorf("GET %s: decode: %w", u, err)
	}
	return store.Emails, nil
}

// WaitForEmail waits up to timeout for an email to addr (To, Cc or Bcc)
// and returns the first one; it fails the test when none arrives.
func (s *SESEmulator) WaitForEmail(t testing.TB, addr string, timeout time.Duration) Email {
	t.Helper()
	return s.WaitFor(t, timeout, "an email to "+addr, func(e Email) bool { return e.SentTo(addr) })
}

// WaitFor waits up to timeout for a stored email that match accepts and
// returns the first one; what describes it in the failure message.
func (s *SESEmulator) WaitFor(t testing.TB, timeout time.Duration, what string, match func(Email) bool) Email {
	t.Helper()
	var found Email
	Eventually(t, timeout, what, func() error {
		emails, err := s.emails(time.Time{})
		if err != nil {
			t.Fatalf("read SES store: %v", err)
		}
		for _, e := range emails {
			if match(e) {
				found = e
				return nil
			}
		}
		return fmt.Errorf("none among the %d emails stored", len(emails))
	})
	return found
}

package sesmail_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	netmail "net/mail"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/mail"
	"github.com/stewardhq/steward/pkg/mail/sesmail"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var defaultFrom = mail.Address{Name: "Steward", Email: "no-reply@steward.test"}

// newSES returns an SES sender on aws-ses-v2-local and the emulator.
func newSES(t *testing.T) (*sesmail.Sender, *testenv.SESEmulator) {
	t.Helper()
	emu := testenv.SES(t)
	return emu.Sender(t, defaultFrom), emu
}

func TestSESSendRoundTrip(t *testing.T) {
	t.Parallel()
	s, emu := newSES(t)
	to := testenv.NewID("ada") + "@example.com"
	unsub, err := mail.UnsubscribeHeaders("https://steward.test/v1/alerts/unsubscribe?token=tok123")
	if err != nil {
		t.Fatal(err)
	}
	m := mail.Message{
		To:      []mail.Address{{Name: "Zoë O'Brien", Email: to}},
		ReplyTo: mail.Address{Name: "Support", Email: "support@steward.test"},
		Subject: "Stock alerts für Zoë",
		Text:    "Plain text body\nsecond line",
		HTML:    "<p>HTML body</p>",
		Headers: unsub,
		Tags:    map[string]string{"template": "alert_digest"},
	}
	id, err := s.Send(context.Background(), m)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if id == "" {
		t.Fatal("empty message id")
	}

	got := emu.WaitFor(t, 10*time.Second, "the sent email", func(e testenv.Email) bool { return e.MessageID == id })
	if got.Subject != m.Subject {
		t.Errorf("subject = %q, want %q", got.Subject, m.Subject)
	}
	if !got.SentTo(to) || len(got.Recipients()) != 1 {
		t.Errorf("recipients = %v, want only %s", got.Recipients(), to)
	}
	if a, err := netmail.ParseAddress(got.Destination.To[0]); err != nil || a.Name != "Zoë O'Brien" {
		t.Errorf("to = %q (parsed %+v, %v), want the display name kept", got.Destination.To[0], a, err)
	}
	if a, err := netmail.ParseAddress(got.From); err != nil || a.Address != defaultFrom.Email || a.Name != defaultFrom.Name {
		t.Errorf("from = %q, want the default %s", got.From, defaultFrom)
	}
	if len(got.ReplyTo) != 1 || !strings.Contains(got.ReplyTo[0], "support@steward.test") {
		t.Errorf("reply-to = %v", got.ReplyTo)
	}
	if got.Body.Text != m.Text || got.Body.HTML != m.HTML {
		t.Errorf("body = %+v, want text %q and html %q", got.Body, m.Text, m.HTML)
	}
	headers := map[string]string{}
	for _, h := range got.Headers {
		headers[h.Name] = h.Value
	}
	for name, want := range unsub {
		if headers[name] != want {
			t.Errorf("stored header %s = %q, want %q (all: %v)", name, headers[name], want, got.Headers)
		}
	}

	// The MIME message the emulator builds from the stored email carries
	// the headers too.
	eml := emlContent(t, emu.URL, id)
	if v := eml.Header.Get("List-Unsubscribe"); v != unsub["List-Unsubscribe"] {
		t.Errorf("EML List-Unsubscribe = %q, want %q", v, unsub["List-Unsubscribe"])
	}
	if v := eml.Header.Get("List-Unsubscribe-Post"); v != "List-Unsubscribe=One-Click" {
		t.Errorf("EML List-Unsubscribe-Post = %q", v)
	}
	if subj, err := new(mime.WordDecoder).DecodeHeader(eml.Header.Get("Subject")); err != nil || subj != m.Subject {
		t.Errorf("EML subject = %q (%v), want %q", subj, err, m.Subject)
	}
}

func TestSESSendRejectsInjectionWithoutSending(t *testing.T) {
	t.Parallel()
	s, emu := newSES(t)
	to := testenv.NewID("eve") + "@example.com"
	victim := testenv.NewID("victim") + "@example.com"
	bad := []mail.Message{
		{To: []mail.Address{{Email: to}}, Subject: "Hi\r\nBcc: " + victim, Text: "x"},
		{To: []mail.Address{{Email: to}}, Subject: "Hi", Text: "x", Headers: map[string]string{"X-Note": "a\r\nBcc: " + victim}},
		{To: []mail.Address{{Name: "Eve\r\nBcc: " + victim, Email: to}}, Subject: "Hi", Text: "x"},
		{To: []mail.Address{{Email: to + "\r\nBcc: " + victim}}, Subject: "Hi", Text: "x"},
	}
	for i, m := range bad {
		if _, err := s.Send(context.Background(), m); !errors.Is(err, mail.ErrInvalid) {
			t.Errorf("message %d: Send = %v, want ErrInvalid", i, err)
		}
	}
	// The emulator stores an email before SendEmail returns, so nothing
	// stored now means nothing was sent.
	for _, e := range emu.Emails(t, time.Time{}) {
		if e.SentTo(to) || e.SentTo(victim) {
			t.Fatalf("an invalid message was sent: %s", e.MessageID)
		}
	}
}

func TestNewSESRejectsBadFrom(t *testing.T) {
	t.Parallel()
	emu := testenv.SES(t)
	if _, err := sesmail.New(emu.Client, mail.Address{Email: "x@y.test\nBcc: z@y.test"}, ""); !errors.Is(err, mail.ErrInvalid) {
		t.Fatalf("NewSES = %v, want ErrInvalid", err)
	}
}

// emlContent fetches the emulator's MIME rendering of a stored email
// (GET /get-emlContent answers {messageId, fileName, body: Buffer}).
func emlContent(t *testing.T, base, id string) *netmail.Message {
	t.Helper()
	resp, err := http.Get(base + "/get-emlContent?messageId=" + url.QueryEscape(id))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("get-emlContent: %s: %s", resp.Status, raw)
	}
	var out struct {
		Body json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("get-emlContent: %v", err)
	}
	var eml string
	var buf struct {
		Data []int `json:"data"` // a Node Buffer: {"type":"Buffer","data":[...]}
	}
	if err := json.Unmarshal(out.Body, &eml); err != nil {
		if err := json.Unmarshal(out.Body, &buf); err != nil {
			t.Fatalf("get-emlContent body: %v", err)
		}
		b := make([]byte, len(buf.Data))
		for i, v := range buf.Data {
			b[i] = byte(v)
		}
		eml = string(b)
	}
	msg, err := netmail.ReadMessage(strings.NewReader(eml))
	if err != nil {
		t.Fatalf("parse EML: %v", err)
	}
	return msg
}

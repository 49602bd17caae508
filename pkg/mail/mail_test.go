package mail_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/mail"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// validMessage is a message that passes Validate; tests break one field.
func validMessage() mail.Message {
	return mail.Message{
		To:      []mail.Address{{Name: "Ada Lovelace", Email: "ada@example.com"}},
		From:    mail.Address{Name: "Steward", Email: "no-reply@steward.test"},
		Subject: "Hello",
		Text:    "Hello, Ada.",
		HTML:    "<p>Hello, Ada.</p>",
		Headers: map[string]string{"List-Unsubscribe": "<https://steward.test/u?token=abc>"},
		Tags:    map[string]string{"template": "verify_email"},
	}
}

func TestValidateAcceptsValidMessage(t *testing.T) {
	t.Parallel()
	if err := validMessage().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateRejectsHeaderInjection(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		mutate func(*mail.Message)
		want   string // in the error message
	}{
		{"subject LF", func(m *mail.Message) { m.Subject = "Hi\nBcc: victim@example.com" }, "subject contains a line break"},
		{"subject CR", func(m *mail.Message) { m.Subject = "Hi\rBcc: victim@example.com" }, "subject contains a line break"},
		{"subject CRLF", func(m *mail.Message) { m.Subject = "Hi\r\nBcc: victim@example.com" }, "subject contains a line break"},
		{"subject NUL", func(m *mail.Message) { m.Subject = "Hi\x00" }, "control character"},
		{"to name LF", func(m *mail.Message) { m.To[0].Name = "Ada\nBcc: victim@example.com" }, "to[0]"},
		{"to email CRLF", func(m *mail.Message) { m.To[0].Email = "ada@example.com\r\nBcc: victim@example.com" }, "line break"},
		{"to email with display name", func(m *mail.Message) { m.To[0].Email = "Eve <eve@example.com>" }, "not a bare email address"},
		{"to two addresses", func(m *mail.Message) { m.To[0].Email = "ada@example.com, eve@example.com" }, "not a bare email address"},
		{"to non-ASCII email", func(m *mail.Message) { m.To[0].Email = "ada@exämple.com" }, "punycode"},
		{"from name LF", func(m *mail.Message) { m.From.Name = "Steward\nX-Evil: 1" }, "from"},
		{"reply-to email LF", func(m *mail.Message) { m.ReplyTo = mail.Address{Email: "a@b.test\nBcc: x@y.test"} }, "reply-to"},
		{"header value LF", func(m *mail.Message) { m.Headers["X-Test"] = "a\nBcc: victim@example.com" }, "header X-Test: value contains a line break"},
		{"header value CR", func(m *mail.Message) { m.Headers["X-Test"] = "a\rb" }, "line break"},
		{"header name LF", func(m *mail.Message) { m.Headers["X-Test\nBcc"] = "a" }, "header name contains a line break"},
		{"header name colon", func(m *mail.Message) { m.Headers["Bcc: victim@example.com\r\nX"] = "a" }, "line break"},
		{"header name colon only", func(m *mail.Message) { m.Headers["X-A:B"] = "a" }, "without spaces or ':'"},
		{"header name space", func(m *mail.Message) { m.Headers["X Test"] = "a" }, "printable ASCII"},
		{"header value non-ASCII", func(m *mail.Message) { m.Headers["X-Test"] = "Zoë" }, "printable ASCII"},
		{"reserved header", func(m *mail.Message) { m.Headers["bcc"] = "victim@example.com" }, "cannot be overridden"},
		{"reserved header content-type", func(m *mail.Message) { m.Headers["Content-Type"] = "text/plain" }, "cannot be overridden"},
		{"tag value", func(m *mail.Message) { m.Tags["t"] = "a b" }, "tag"},
		{"no recipient", func(m *mail.Message) { m.To = nil }, "no recipient"},
		{"no subject", func(m *mail.Message) { m.Subject = " " }, "subject is empty"},
		{"no body", func(m *mail.Message) { m.Text, m.HTML = "", "" }, "no text or HTML body"},
		{"no from", func(m *mail.Message) { m.From = mail.Address{} }, "from"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := validMessage()
			tc.mutate(&m)
			err := m.Validate()
			if !errors.Is(err, mail.ErrInvalid) {
				t.Fatalf("Validate = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "victim") || strings.Contains(err.Error(), "token=") {
				t.Fatalf("error %q quotes the rejected value", err)
			}
		})
	}
}

func TestHeaderErrorsDoNotQuoteValues(t *testing.T) {
	t.Parallel()
	m := validMessage()
	m.Headers["List-Unsubscribe"] = "<https://steward.test/u?token=secret123>\n"
	err := m.Validate()
	if err == nil || strings.Contains(err.Error(), "secret123") {
		t.Fatalf("error %v quotes the header value", err)
	}
}

func TestAddressString(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   mail.Address
		want string
	}{
		{mail.Address{Email: "ada@example.com"}, "<ada@example.com>"},
		{mail.Address{Name: "Ada Lovelace", Email: "ada@example.com"}, `"Ada Lovelace" <ada@example.com>`},
		{mail.Address{Name: `Eve "the <boss>", Inc.`, Email: "eve@example.com"}, `"Eve \"the <boss>\", Inc." <eve@example.com>`},
		{mail.Address{Name: "Zoë", Email: "zoe@example.com"}, "=?utf-8?q?Zo=C3=AB?= <zoe@example.com>"},
	}
	for _, tc := range cases {
		if err := tc.in.Validate(); err != nil {
			t.Fatalf("%+v: %v", tc.in, err)
		}
		if got := tc.in.String(); got != tc.want {
			t.Errorf("%+v: String = %s, want %s", tc.in, got, tc.want)
		}
		back, err := mail.ParseAddress(tc.in.String())
		if err != nil || back != tc.in {
			t.Errorf("ParseAddress(%s) = %+v, %v; want %+v", tc.in.String(), back, err, tc.in)
		}
	}
}

func TestUnsubscribeHeaders(t *testing.T) {
	t.Parallel()
	h, err := mail.UnsubscribeHeaders("https://steward.test/v1/unsubscribe?token=abc")
	if err != nil {
		t.Fatal(err)
	}
	if got := h["List-Unsubscribe"]; got != "<https://steward.test/v1/unsubscribe?token=abc>" {
		t.Errorf("List-Unsubscribe = %q", got)
	}
	if got := h["List-Unsubscribe-Post"]; got != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post = %q", got)
	}
	for _, bad := range []string{"", "/relative?token=x", "javascript:alert(1)", "https://steward.test/u?t=1\r\nBcc: x@y.test", "mailto:u@steward.test"} {
		if _, err := mail.UnsubscribeHeaders(bad); !errors.Is(err, mail.ErrInvalid) {
			t.Errorf("UnsubscribeHeaders(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

package mail

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/a-h/templ"
)

// Template names, for Render.
const (
	TemplateVerifyEmail     = "verify_email"
	TemplatePasswordReset   = "password_reset"
	TemplateInvitation      = "invitation"
	TemplateApprovalRequest = "approval_request"
	TemplateApprovalOutcome = "approval_outcome"
	TemplateAlertDigest     = "alert_digest"
	TemplateWebhookDisabled = "webhook_disabled"
	TemplateGrantExpiry     = "grant_expiry"
	TemplateAccessRequest   = "access_request"
	TemplateAccessOutcome   = "access_outcome"
)

// templateData is what every template's data type implements: check
// reports missing or unsafe fields (links must be absolute http(s) URLs);
// subject and text give the subject line and the plain-text body and
// footer (text.go; an empty footer means the default one); html gives the
// preview line and the components the HTML layout wraps (emails.templ; a
// nil footer means the default one).
type templateData interface {
	check() error
	subject() string
	text() (body, footer string)
	html() (preheader string, content, footer templ.Component)
}

// templateTypes maps each template to the data type it takes.
var templateTypes = map[string]reflect.Type{
	TemplateVerifyEmail:     reflect.TypeFor[VerifyEmailData](),
	TemplatePasswordReset:   reflect.TypeFor[PasswordResetData](),
	TemplateInvitation:      reflect.TypeFor[InvitationData](),
	TemplateApprovalRequest: reflect.TypeFor[ApprovalRequestData](),
	TemplateApprovalOutcome: reflect.TypeFor[ApprovalOutcomeData](),
	TemplateAlertDigest:     reflect.TypeFor[AlertDigestData](),
	TemplateWebhookDisabled: reflect.TypeFor[WebhookDisabledData](),
	TemplateGrantExpiry:     reflect.TypeFor[GrantExpiryData](),
	TemplateAccessRequest:   reflect.TypeFor[AccessRequestData](),
	TemplateAccessOutcome:   reflect.TypeFor[AccessOutcomeData](),
}

// TemplateNames lists the templates Render knows, sorted.
func TemplateNames() []string {
	return slices.Sorted(maps.Keys(templateTypes))
}

// maxSubject bounds a rendered subject, in runes; longer ones (a long
// document title) are cut with an ellipsis.
const maxSubject = 200

// Render fills template name with data and returns the subject (one
// line), the plain-text body and the HTML body. data must be the
// template's data type (VerifyEmailData for "verify_email", and so on) or
// a pointer to it. The HTML is rendered with templ (see *.templ), so every
// user-supplied field is escaped for its context; links must be absolute
// http or https URLs. The subject and the text body are plain Go (text.go).
// Errors never quote the data.
//
// No text/template or html/template here: their reflective method lookup
// (reflect.Value.MethodByName) makes the linker keep every exported
// method of every reachable type, so every AWS SDK operation stayed linked
// into every Lambda (about 6 MB each). Keep reflection out of rendering.
func Render(name string, data any) (subject, text, html string, err error) {
	want, ok := templateTypes[name]
	if !ok {
		return "", "", "", fmt.Errorf("mail: unknown template %q", name)
	}
	v := reflect.ValueOf(data)
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if !v.IsValid() || v.Type() != want {
		return "", "", "", fmt.Errorf("mail: template %s takes a mail.%s, not %T", name, want.Name(), data)
	}
	d := v.Interface().(templateData)
	if err := d.check(); err != nil {
		return "", "", "", fmt.Errorf("mail: template %s: %w", name, err)
	}

	subject = oneLine(d.subject(), maxSubject)

	body, footer := d.text()
	if footer == "" {
		footer = defaultTextFooter
	}
	text = tidyText(body + "\n\n--\n" + footer + "\n")

	preheader, content, htmlFooter := d.html()
	var b strings.Builder
	if err := layout(subject, preheader, content, htmlFooter).Render(context.Background(), &b); err != nil {
		return "", "", "", fmt.Errorf("mail: template %s: html: %w", name, err)
	}
	return subject, text, breakLines(b.String()), nil
}

// blockTags start a new line in the HTML body: templ writes a component on
// one line, and mail lines may not exceed 998 characters (RFC 5322 2.1.1).
// Only block-level tags, where a line break renders as nothing.
var blockTags = strings.NewReplacer(
	"<table", "\n<table", "</table>", "\n</table>", "<tr", "\n<tr",
	"<p ", "\n<p ", "<p>", "\n<p>", "<h1", "\n<h1", "<div", "\n<div",
	"<head>", "\n<head>", "<body", "\n<body", "</body>", "\n</body>",
	"</html>", "\n</html>", "<meta", "\n<meta", "<title>", "\n<title>", "<ul", "\n<ul", "<li", "\n<li",
)

func breakLines(html string) string {
	return strings.TrimLeft(blockTags.Replace(html), "\n") + "\n"
}

// Formatting helpers shared by the text and HTML bodies.

func date(t time.Time) string     { return t.Format("2 Jan 2006") }
func datetime(t time.Time) string { return t.Format("2 Jan 2006 15:04 MST") }
func qty(f float64) string        { return strconv.FormatFloat(f, 'f', -1, 64) }

func money(amount, currency string) string {
	return strings.TrimSpace(amount + " " + currency)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// greeting is "Hi Ada," or, without a name, "Hi,".
func greeting(name string) string {
	if name == "" {
		return "Hi,"
	}
	return "Hi " + name + ","
}

// docType is the document kind for people, "Document" when unset.
func docType(t string) string {
	if t == "" {
		return "Document"
	}
	return t
}

// href prepares a link for an href attribute: it percent-encodes what
// html/template's URL normalizer encodes (spaces, quotes, parentheses,
// non-ASCII bytes...), so that a link reaches mail clients intact, and
// templ.URL then refuses any scheme but http(s), mailto and tel. The
// data types' check methods already require absolute http(s) links.
func href(link string) templ.SafeURL {
	var b strings.Builder
	written := 0
	for i := 0; i < len(link); i++ {
		c := link[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			continue
		case strings.IndexByte("-._~!#$&*+,/:;=?@[]%", c) >= 0:
			continue
		}
		b.WriteString(link[written:i])
		fmt.Fprintf(&b, "%%%02x", c)
		written = i + 1
	}
	if written == 0 {
		return templ.URL(link)
	}
	b.WriteString(link[written:])
	return templ.URL(b.String())
}

// oneLine collapses whitespace and drops control characters so that no
// user data can break the subject line, and cuts it to max runes.
func oneLine(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		s = strings.TrimSpace(string(r[:max-1])) + "…"
	}
	return s
}

// blankLines is compiled on first use, not at package init: only the
// functions that send email render text.
var blankLines = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\n{3,}`) })

// tidyText trims trailing spaces on every line, collapses runs of blank
// lines into one and ends the text with one newline, so that text.go may
// join optional paragraphs without counting blank lines.
func tidyText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	s = blankLines().ReplaceAllString(strings.Join(lines, "\n"), "\n\n")
	return strings.Trim(s, "\n") + "\n"
}

// requireLink checks a required link field; optionalLink one that may be
// empty.
func requireLink(field, link string) error {
	if _, err := checkLink(link); err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	return nil
}

func optionalLink(field, link string) error {
	if link == "" {
		return nil
	}
	return requireLink(field, link)
}

func require(field, value string) error {
	if strings.TrimSpace(value) == "" {
		return fmt.Errorf("%w: %s is empty", ErrInvalid, field)
	}
	return nil
}

package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"
)

// Template names, for Render.
const (
	TemplateVerifyEmail     = "verify_email"
	TemplatePasswordReset   = "password_reset"
	TemplateInvitation      = "invitation"
	TemplateApprovalRequest = "approval_request"
	TemplateApprovalOutcome = "approval_outcome"
	TemplateAlertDigest     = "alert_digest"
)

// templateData is what every template's data type implements: check
// reports missing or unsafe fields (links must be absolute http(s) URLs).
type templateData interface{ check() error }

// templateTypes maps each template to the data type it takes.
var templateTypes = map[string]reflect.Type{
	TemplateVerifyEmail:     reflect.TypeFor[VerifyEmailData](),
	TemplatePasswordReset:   reflect.TypeFor[PasswordResetData](),
	TemplateInvitation:      reflect.TypeFor[InvitationData](),
	TemplateApprovalRequest: reflect.TypeFor[ApprovalRequestData](),
	TemplateApprovalOutcome: reflect.TypeFor[ApprovalOutcomeData](),
	TemplateAlertDigest:     reflect.TypeFor[AlertDigestData](),
}

// TemplateNames lists the templates Render knows, sorted.
func TemplateNames() []string {
	return slices.Sorted(maps.Keys(templateTypes))
}

//go:embed templates
var templateFS embed.FS

// maxSubject bounds a rendered subject, in runes; longer ones (a long
// document title) are cut with an ellipsis.
const maxSubject = 200

type compiled struct {
	text *texttemplate.Template // defines "subject" and "layout"
	html *htmltemplate.Template // defines "layout"; never executed itself, only clones
}

var templates = mustParse()

func mustParse() map[string]compiled {
	out := make(map[string]compiled, len(templateTypes))
	for name := range templateTypes {
		t := texttemplate.Must(texttemplate.New(name).Funcs(textFuncs).ParseFS(templateFS, "templates/layout.txt", "templates/"+name+".txt"))
		h := htmltemplate.Must(htmltemplate.New(name).Funcs(htmlFuncs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
		out[name] = compiled{text: t, html: h}
	}
	return out
}

// Render fills template name with data and returns the subject (one
// line), the plain-text body and the HTML body. data must be the
// template's data type (VerifyEmailData for "verify_email", and so on) or
// a pointer to it. The HTML is rendered with html/template, so every
// user-supplied field is escaped for its context; links must be absolute
// http or https URLs. Errors never quote the data.
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
	d := v.Interface()
	if err := d.(templateData).check(); err != nil {
		return "", "", "", fmt.Errorf("mail: template %s: %w", name, err)
	}
	c := templates[name]

	var b bytes.Buffer
	if err := c.text.ExecuteTemplate(&b, "subject", d); err != nil {
		return "", "", "", fmt.Errorf("mail: template %s: subject: %w", name, err)
	}
	subject = oneLine(b.String(), maxSubject)

	b.Reset()
	if err := c.text.ExecuteTemplate(&b, "layout", d); err != nil {
		return "", "", "", fmt.Errorf("mail: template %s: text: %w", name, err)
	}
	text = tidyText(b.String())

	h, err := c.html.Clone()
	if err != nil {
		return "", "", "", fmt.Errorf("mail: template %s: %w", name, err)
	}
	h.Funcs(htmltemplate.FuncMap{"subject": func() string { return subject }})
	b.Reset()
	if err := h.ExecuteTemplate(&b, "layout", d); err != nil {
		return "", "", "", fmt.Errorf("mail: template %s: html: %w", name, err)
	}
	return subject, text, b.String(), nil
}

// button is the data of the layout's "button" template.
type button struct{ Label, URL string }

var commonFuncs = map[string]any{
	"date":     func(t time.Time) string { return t.Format("2 Jan 2006") },
	"datetime": func(t time.Time) string { return t.Format("2 Jan 2006 15:04 MST") },
	"qty":      func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) },
	"money": func(amount, currency string) string {
		return strings.TrimSpace(amount + " " + currency)
	},
	"plural": func(n int, one, many string) string {
		if n == 1 {
			return one
		}
		return many
	},
}

var textFuncs = texttemplate.FuncMap(commonFuncs)

var htmlFuncs = func() htmltemplate.FuncMap {
	m := htmltemplate.FuncMap{
		"button":  func(label, url string) button { return button{Label: label, URL: url} },
		"subject": func() string { return "" }, // replaced per Render
	}
	for k, f := range commonFuncs {
		m[k] = f
	}
	return m
}()

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

var blankLines = regexp.MustCompile(`\n{3,}`)

// tidyText trims trailing spaces on every line, collapses runs of blank
// lines into one and ends the text with one newline, so that templates
// may be laid out for reading.
func tidyText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	s = blankLines.ReplaceAllString(strings.Join(lines, "\n"), "\n\n")
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

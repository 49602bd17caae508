package mail_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/mail"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// evil is a user-supplied value that must come out escaped in HTML.
const evil = `<script>alert("x")</script> & Co`

var (
	expires  = time.Date(2026, 3, 14, 15, 9, 0, 0, time.UTC)
	base     = "https://steward.test"
	tokenURL = base + "/v1/auth/verify-email?token=tok_abc&x=1"
)

// samples gives every template data with user-supplied fields set to
// evil.
func samples() map[string]any {
	return map[string]any{
		mail.TemplateVerifyEmail:     mail.VerifyEmailData{Name: evil, Link: tokenURL, ExpiresAt: expires},
		mail.TemplateWebhookDisabled: mail.WebhookDisabledData{Name: evil, AccountName: "Acme " + evil, URL: "https://hooks.example.com/steward?x=" + evil, Description: evil, FailingSince: expires},
		mail.TemplatePasswordReset:   &mail.PasswordResetData{Name: evil, Link: base + "/reset?token=tok_reset", ExpiresAt: expires},
		mail.TemplateInvitation: mail.InvitationData{
			Name: evil, InviterName: evil, AccountName: "Acme " + evil,
			Link: base + "/invitations/accept?token=tok_inv", ExpiresAt: expires,
		},
		mail.TemplateApprovalRequest: mail.ApprovalRequestData{
			ApproverName: "Grace", RequesterName: evil, AccountName: "Acme",
			DocumentType: "Purchase order", DocumentTitle: "PO-1042 " + evil, StoreName: "Berlin", DepartmentName: "Purchasing " + evil, SupplierName: "sup-7",
			Amount: "4250.00", Currency: "EUR", Note: "Urgent.\n" + evil,
			ApproveLink: base + "/approve/tok_approve", ExpiresAt: expires,
		},
		mail.TemplateApprovalOutcome: mail.ApprovalOutcomeData{
			RequesterName: evil, DocumentType: "Purchase order", DocumentTitle: "PO-1042 " + evil,
			Amount: "4250.00", Currency: "EUR", Outcome: mail.OutcomeDenied,
			DeciderName: "Grace", Comment: "Too expensive.\n" + evil,
			Link: base + "/documents/purchase_order/po-1042",
		},
		mail.TemplateGrantExpiry: mail.GrantExpiryData{
			MemberName: evil, AccountName: "Acme " + evil, Role: "manager", Scope: "store:s1",
			ExpiresAt: expires, RenewLink: base + "/members/m_1/access?renew=manager%40store%3As1",
		},
		mail.TemplateAccessRequest: mail.AccessRequestData{
			ApproverName: "Grace", RequesterName: evil, AccountName: "Acme", Role: "Store manager " + evil, Scope: "Berlin " + evil,
			Reason: "Covering for Ada.\n" + evil, GrantExpiresAt: expires.AddDate(0, 0, 14),
			DecideLink: base + "/access/tok_access", ExpiresAt: expires,
		},
		mail.TemplateAccessOutcome: mail.AccessOutcomeData{
			RequesterName: evil, Role: "Store manager " + evil, Scope: "Berlin", Outcome: mail.OutcomeApproved,
			DeciderName: "Grace", Comment: "Two weeks only.\n" + evil, GrantExpiresAt: expires.AddDate(0, 0, 7),
		},
		mail.TemplateAlertDigest: mail.AlertDigestData{
			Name: evil, AccountName: "Acme",
			UnsubscribeLink: base + "/v1/alerts/unsubscribe?token=tok_unsub",
			PreferencesLink: base + "/settings/notifications",
			Stores: []mail.StoreAlerts{
				{
					StoreName: "Berlin " + evil,
					LowStock: []mail.LowStockItem{
						{SKU: "SKU-1", Name: "Blue mug " + evil, OnHand: 3, Threshold: 10},
						{SKU: "SKU-2", Name: "Coffee beans (kg)", OnHand: 1.5, Threshold: 5},
					},
					DuePurchaseOrders: []mail.DueDocument{
						{Title: "PO-1001", Counterparty: "Beans Ltd " + evil, Amount: "980.00", Currency: "EUR", DueDate: expires, Link: base + "/documents/purchase_order/po-1001"},
					},
					ApprovalReminders: []mail.ApprovalReminder{
						{DocumentTitle: "WO-7 " + evil, RequesterName: "Alan", Amount: "120.00", Currency: "EUR", RequestedAt: expires.AddDate(0, 0, -2), Link: base + "/approve/tok_rem"},
					},
				},
				{
					StoreName: "Online shop",
					PaymentReminders: []mail.DueDocument{
						{Title: "Invoice 2026-17", Counterparty: "Retail GmbH", Amount: "1,200.00", Currency: "EUR", DueDate: expires.AddDate(0, 0, -3), Overdue: true},
					},
				},
			},
		},
	}
}

func TestRenderEveryTemplate(t *testing.T) {
	t.Parallel()
	all := samples()
	if len(all) != len(mail.TemplateNames()) {
		t.Fatalf("samples cover %d templates, Render knows %v", len(all), mail.TemplateNames())
	}
	for _, name := range mail.TemplateNames() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			subject, text, html, err := mail.Render(name, all[name])
			if err != nil {
				t.Fatal(err)
			}
			if subject == "" || strings.ContainsAny(subject, "\r\n\t") {
				t.Errorf("subject %q: want one non-empty line", subject)
			}
			if text == "" || html == "" {
				t.Fatal("empty body")
			}

			// User data is escaped in HTML: no live <script>, the
			// escaped form present, no unescaped ampersand from the data.
			if strings.Contains(html, "<script") {
				t.Errorf("HTML contains an unescaped <script>")
			}
			if !strings.Contains(html, "&lt;script&gt;") {
				t.Errorf("HTML lacks the escaped user value &lt;script&gt;")
			}
			if strings.Contains(html, "</script> & Co") {
				t.Errorf("HTML contains an unescaped ampersand from user data")
			}
			// The text body is plain text: the value appears as typed.
			if !strings.Contains(text, `<script>alert("x")</script>`) {
				t.Errorf("text body lacks the user value as typed")
			}

			// The message built from the rendering passes validation.
			m := mail.Message{To: []mail.Address{{Email: "a@example.com"}}, From: defaultFrom, Subject: subject, Text: text, HTML: html}
			if err := m.Validate(); err != nil {
				t.Errorf("rendered message invalid: %v", err)
			}

			checkGolden(t, name+".txt", "Subject: "+subject+"\n\n"+text)
			checkGolden(t, name+".html", html)
		})
	}
}

func TestRenderLinks(t *testing.T) {
	t.Parallel()
	_, text, html, err := mail.Render(mail.TemplateVerifyEmail, mail.VerifyEmailData{Name: "Ada", Link: tokenURL})
	if err != nil {
		t.Fatal(err)
	}
	// The button and the raw link below it both carry the URL (with &
	// escaped in HTML); the text body carries it verbatim.
	escaped := strings.ReplaceAll(tokenURL, "&", "&amp;")
	if n := strings.Count(html, `href="`+escaped+`"`); n != 2 {
		t.Errorf("HTML has %d links to the token URL, want 2 (button and raw link)", n)
	}
	if !strings.Contains(html, ">"+escaped+"</a>") {
		t.Errorf("HTML lacks the raw link text")
	}
	if !strings.Contains(text, "\n"+tokenURL+"\n") {
		t.Errorf("text lacks the link on its own line:\n%s", text)
	}
	if strings.Contains(html, "expires") {
		t.Errorf("zero ExpiresAt still mentioned")
	}
}

func TestRenderOutcomes(t *testing.T) {
	t.Parallel()
	for outcome, want := range map[mail.Outcome]string{
		mail.OutcomeApproved: "Approved: PO-1",
		mail.OutcomeDenied:   "Denied: PO-1",
		mail.OutcomeExpired:  "Expired: PO-1",
	} {
		subject, _, _, err := mail.Render(mail.TemplateApprovalOutcome, mail.ApprovalOutcomeData{DocumentTitle: "PO-1", Outcome: outcome})
		if err != nil || subject != want {
			t.Errorf("%s: subject %q, %v; want %q", outcome, subject, err, want)
		}
	}
}

func TestRenderSubjectIsOneLine(t *testing.T) {
	t.Parallel()
	d := mail.ApprovalRequestData{
		RequesterName: "Eve", DocumentTitle: "PO\r\nBcc: victim@example.com\t" + strings.Repeat("x", 300),
		Amount: "1", Currency: "EUR", ApproveLink: base + "/approve/t",
	}
	subject, _, _, err := mail.Render(mail.TemplateApprovalRequest, d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(subject, "\r\n\t") || len([]rune(subject)) > 200 || !strings.HasSuffix(subject, "…") {
		t.Fatalf("subject %q: want one line of at most 200 runes, cut with an ellipsis", subject)
	}
}

func TestRenderErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, template string
		data           any
		invalid        bool // wraps ErrInvalid
	}{
		{"unknown template", "nope", mail.VerifyEmailData{}, false},
		{"wrong data type", mail.TemplateVerifyEmail, mail.PasswordResetData{Link: base}, false},
		{"nil data", mail.TemplateVerifyEmail, nil, false},
		{"nil pointer", mail.TemplateVerifyEmail, (*mail.VerifyEmailData)(nil), false},
		{"missing link", mail.TemplateVerifyEmail, mail.VerifyEmailData{Name: "Ada"}, true},
		{"relative link", mail.TemplatePasswordReset, mail.PasswordResetData{Link: "/reset?token=secret"}, true},
		{"javascript link", mail.TemplateVerifyEmail, mail.VerifyEmailData{Link: "javascript:alert(1)"}, true},
		{"missing inviter", mail.TemplateInvitation, mail.InvitationData{AccountName: "Acme", Link: base}, true},
		{"bad outcome", mail.TemplateApprovalOutcome, mail.ApprovalOutcomeData{DocumentTitle: "PO", Outcome: "maybe"}, true},
		{"empty digest", mail.TemplateAlertDigest, mail.AlertDigestData{AccountName: "Acme", UnsubscribeLink: base, Stores: []mail.StoreAlerts{{StoreName: "B"}}}, true},
		{"digest without unsubscribe", mail.TemplateAlertDigest, mail.AlertDigestData{AccountName: "Acme", Stores: []mail.StoreAlerts{{StoreName: "B", LowStock: []mail.LowStockItem{{Name: "x"}}}}}, true},
	}
	for _, tc := range cases {
		_, _, _, err := mail.Render(tc.template, tc.data)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if errors.Is(err, mail.ErrInvalid) != tc.invalid {
			t.Errorf("%s: %v; ErrInvalid %v, want %v", tc.name, err, errors.Is(err, mail.ErrInvalid), tc.invalid)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error %q quotes the link", tc.name, err)
		}
	}
}

// checkGolden compares got with testdata/name, or rewrites it with
// -update. The golden files let a reviewer read every email as sent.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the rendering (run go test ./pkg/mail -update and review the diff); got:\n%s", path, got)
	}
}

func TestRenderConcurrently(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := mail.VerifyEmailData{Name: "Ada", Link: base + "/verify?token=" + strconv.Itoa(i)}
			subject, _, html, err := mail.Render(mail.TemplateVerifyEmail, d)
			if err != nil || !strings.Contains(html, "<title>"+subject+"</title>") || !strings.Contains(html, d.Link) {
				t.Errorf("render %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
}

func TestRenderLinkEncoding(t *testing.T) {
	t.Parallel()
	// An href carries the link percent-encoded where a mail client could
	// cut it (space, quotes, parentheses, non-ASCII), as html/template
	// did; the visible raw link is only HTML-escaped.
	link := base + `/verify?name=Zoë (x)&q='a'`
	_, _, html, err := mail.Render(mail.TemplateVerifyEmail, mail.VerifyEmailData{Link: link})
	if err != nil {
		t.Fatal(err)
	}
	want := `href="` + base + `/verify?name=Zo%c3%ab%20%28x%29&amp;q=%27a%27"`
	if n := strings.Count(html, want); n != 2 {
		t.Errorf("HTML has %d links %s, want 2:\n%s", n, want, html)
	}
	if !strings.Contains(html, `>`+base+`/verify?name=Zoë (x)&amp;q=&#39;a&#39;</a>`) {
		t.Errorf("HTML lacks the escaped raw link:\n%s", html)
	}
}

// TestRenderLinesFitMail checks no line of any body is longer than the
// 998 characters a mail line may have (RFC 5322 2.1.1), long notes
// included.
func TestRenderLinesFitMail(t *testing.T) {
	for name, data := range samples() {
		_, text, html, err := mail.Render(name, data)
		if err != nil {
			t.Fatal(err)
		}
		for part, body := range map[string]string{"text": text, "html": html} {
			for i, line := range strings.Split(body, "\n") {
				if len(line) > 998 {
					t.Errorf("%s %s line %d: %d characters", name, part, i+1, len(line))
				}
			}
		}
	}
}

// TestApprovalReasons: a reminder and an escalation say why they come,
// in the subject and both bodies; an unknown reason is refused.
func TestApprovalReasons(t *testing.T) {
	t.Parallel()
	d := mail.ApprovalRequestData{RequesterName: "Ada", DocumentTitle: "PO-7", Amount: "10.00", Currency: "EUR", ApproveLink: base + "/approve/t"}
	for reason, want := range map[mail.ApprovalReason][2]string{
		mail.ReasonReminder:   {"Reminder: Approval needed: PO-7", "still waits for your decision"},
		mail.ReasonEscalation: {"Escalated: Approval needed: PO-7", "was escalated to you"},
	} {
		d.Reason = reason
		subject, text, html, err := mail.Render(mail.TemplateApprovalRequest, d)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(subject, want[0]) || !strings.Contains(text, want[1]) || !strings.Contains(html, want[1]) {
			t.Errorf("%s: subject %q, text %q", reason, subject, text)
		}
	}
	d.Reason = "nagging"
	if _, _, _, err := mail.Render(mail.TemplateApprovalRequest, d); !errors.Is(err, mail.ErrInvalid) {
		t.Errorf("reason nagging: %v, want ErrInvalid", err)
	}
}

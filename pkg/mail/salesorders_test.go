package mail_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/mail"
)

// TestAlertDigestDueSalesOrders: a digest lists due sales orders under
// their own heading, in the text and the HTML part, and they count as
// items (a digest of sales orders only is not empty).
func TestAlertDigestDueSalesOrders(t *testing.T) {
	t.Parallel()
	due := time.Date(2026, 3, 12, 0, 0, 0, 0, time.UTC)
	d := mail.AlertDigestData{
		Name: "Ann", AccountName: "Acme", UnsubscribeLink: "https://steward.test/v1/alerts/unsubscribe?token=tok",
		Stores: []mail.StoreAlerts{{StoreName: "Berlin", DueSalesOrders: []mail.DueDocument{
			{Title: "SO-17", Counterparty: "Retail GmbH", Amount: "80.00", Currency: "EUR", DueDate: due, Link: "https://host.example/sales_order/so-17"},
			{Title: "SO-18", DueDate: due.AddDate(0, 0, -2), Overdue: true},
		}}},
	}
	if n := d.Items(); n != 2 {
		t.Fatalf("Items() = %d, want 2", n)
	}
	subject, text, html, err := mail.Render(mail.TemplateAlertDigest, d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(subject, "2 alerts") {
		t.Errorf("subject %q", subject)
	}
	for _, want := range []string{"Sales orders due:", "SO-17, Retail GmbH", "https://host.example/sales_order/so-17", "SO-18", "OVERDUE since"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	for _, want := range []string{"Sales orders due", `href="https://host.example/sales_order/so-17"`, "overdue since"} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if strings.Contains(text, "Purchase orders due") || strings.Contains(text, "Payments due") {
		t.Errorf("text has empty sections:\n%s", text)
	}
	// A bad link in a sales order is refused like any other.
	d.Stores[0].DueSalesOrders[0].Link = "javascript:alert(1)"
	if _, _, _, err := mail.Render(mail.TemplateAlertDigest, d); err == nil {
		t.Error("a javascript: link in a due sales order rendered")
	}
}

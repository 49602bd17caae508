package approvals

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stewardhq/steward/pkg/httpapi"
)

func wantBadRequest(t *testing.T, what string, err error) {
	t.Helper()
	var e *httpapi.Error
	if !errors.As(err, &e) || httpapi.Status(e.Kind) != http.StatusBadRequest || e.Code == "" {
		t.Fatalf("%s: %v is not a 400 problem", what, err)
	}
}

// FuzzDocumentInput validates arbitrary document bodies (PUT
// /v1/documents/{type}/{id}): no panic; refusals are 400 problems; an
// accepted document has an amount from 0 to MaxAmount, a three-letter
// currency, a title of printable text and, when set, an http(s) link.
func FuzzDocumentInput(f *testing.F) {
	f.Add("s1", "", "", 10.0, "EUR", "PO for widgets", "", "2026-03-01", "https://host.example/po/1", "")
	f.Add("a#b", "", "", 1.0, "eur", "", "x", "2026-13-01", "javascript:alert(1)", "approved")
	f.Add("", "sales", "p1", 1e12, "USD", " t ", "line\nbreak", "", "http://x", "completed")
	f.Add("", "", "", math.NaN(), "EUR", "\u202etitle", "\x00", "", "https://", "draft")
	f.Fuzz(func(t *testing.T, store, dept, supplier string, amount float64, currency, title, summary, due, link, status string) {
		// The fields come from a JSON body, which httpapi.Decode refuses
		// unless it is valid UTF-8: nothing to check for other input (a
		// return, not a skip, so the committed corpus counts as passed).
		for _, s := range []string{store, dept, supplier, currency, title, summary, due, link, status} {
			if !utf8.ValidString(s) {
				return
			}
		}
		in := DocumentInput{Store: store, Department: dept, Supplier: supplier, Amount: &amount, Currency: currency,
			Title: title, Summary: summary, DueDate: due, URL: link, Status: status}
		d, err := in.validate()
		if err != nil {
			wantBadRequest(t, "document", err)
			return
		}
		if math.IsNaN(d.Amount) || d.Amount < 0 || d.Amount > MaxAmount || len(d.Currency) != 3 || strings.ToUpper(d.Currency) != d.Currency {
			t.Fatalf("accepted amount %v %q", d.Amount, d.Currency)
		}
		if d.Title == "" || !utf8.ValidString(d.Title) || strings.IndexFunc(d.Title, httpapi.IsControl) >= 0 {
			t.Fatalf("accepted title %q", d.Title)
		}
		if d.URL != "" {
			u, err := url.Parse(d.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				t.Fatalf("accepted link %q", d.URL)
			}
		}
		if d.Status != "" && d.Status != "draft" && d.Status != "completed" {
			t.Fatalf("accepted status %q", d.Status)
		}
	})
}

// FuzzParseDecision reads arbitrary decisions (the API body and the
// approval page's form): only "approve" and "deny" pass, with a comment
// of at most 1000 characters without control characters.
func FuzzParseDecision(f *testing.F) {
	for _, s := range [][2]string{{"approve", ""}, {"deny", "Too expensive"}, {"Approve", ""}, {"approve ", ""}, {"deny", strings.Repeat("x", 1001)}, {"deny", "a\u0007b"}, {"approve", "\u2066x"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, decision, comment string) {
		d, err := parseDecision(decision, comment)
		if err != nil {
			wantBadRequest(t, "decision", err)
			return
		}
		if (decision == "approve") != d.Approve || decision != "approve" && decision != "deny" {
			t.Fatalf("parseDecision(%q) = %+v", decision, d)
		}
		if utf8.RuneCountInString(d.Comment) > 1000 || strings.IndexFunc(d.Comment, func(r rune) bool {
			return r != '\n' && r != '\t' && r != '\r' && httpapi.IsControl(r)
		}) >= 0 {
			t.Fatalf("accepted comment %q", d.Comment)
		}
	})
}

// FuzzParseDocPath reads arbitrary {type} and {id} path segments: a known
// type or a 404 problem, an id of 1 to 64 safe characters or a 400.
func FuzzParseDocPath(f *testing.F) {
	for _, s := range [][2]string{{"purchase_order", "po-1"}, {"spaceship", "x"}, {"invoice", strings.Repeat("x", 65)}, {"bill", "a#b"}, {"", ""}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, typ, id string) {
		if dt, err := parseDocType(typ); err == nil && !dt.Valid() {
			t.Fatalf("parseDocType(%q) = %q", typ, dt)
		} else if err != nil {
			var e *httpapi.Error
			if !errors.As(err, &e) || httpapi.Status(e.Kind) != http.StatusNotFound {
				t.Fatalf("parseDocType(%q): %v", typ, err)
			}
		}
		got, err := parseDocID(id)
		if err != nil {
			wantBadRequest(t, "id", err)
			return
		}
		if got != id || len(id) < 1 || len(id) > 64 || strings.ContainsAny(id, "#/ .%") {
			t.Fatalf("parseDocID(%q) = %q", id, got)
		}
	})
}

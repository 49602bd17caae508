package accounts

import (
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/stewardhq/steward/pkg/httpapi"
)

// FuzzParseAuditFilter reads arbitrary GET /v1/audit query strings: no
// panic; a refused query is a 400 naming a parameter; an accepted filter
// holds only what the query said, with to not before from.
func FuzzParseAuditFilter(f *testing.F) {
	for _, s := range []string{
		"", "actor=m_1", "target=store:s1", "targetType=store&targetId=s1", "target=store", "target=store:s1&targetId=x",
		"action=store.create", "from=2025-01-31T09:00:00Z&to=2025-01-30T09:00:00Z", "from=2025-01-31T09:00:00%2B14:00",
		"from=yesterday", "actor=%00", "target=:", "action=A", "to=9999-12-31T23:59:59.999999999Z", "actor=m_1&actor=m_2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		fl, err := ParseAuditFilter(q)
		if err != nil {
			var e *httpapi.Error
			if !errors.As(err, &e) || httpapi.Status(e.Kind) != http.StatusBadRequest || len(e.Fields) != 1 {
				t.Fatalf("ParseAuditFilter(%q): %v", query, err)
			}
			return
		}
		if fl.ActorID != q.Get("actor") {
			t.Fatalf("ParseAuditFilter(%q): actor %q", query, fl.ActorID)
		}
		if !fl.From.IsZero() && !fl.To.IsZero() && fl.To.Before(fl.From) {
			t.Fatalf("ParseAuditFilter(%q): to %v before from %v", query, fl.To, fl.From)
		}
		if (fl.TargetType == "") != (fl.TargetID == "") {
			t.Fatalf("ParseAuditFilter(%q): target %q / %q", query, fl.TargetType, fl.TargetID)
		}
	})
}

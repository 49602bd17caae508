package httpapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
)

// PageCSP is the content security policy of every HTML page Steward
// serves (the approval and unsubscribe pages): no scripts, nothing
// external, inline styles only, forms post to this origin, never framed.
const PageCSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"

// Page is an HTML component (a templ component).
type Page interface {
	Render(ctx context.Context, w io.Writer) error
}

// WriteHTML renders page and writes it with the headers every Steward
// page carries: the CSP, no framing, no MIME sniffing, no caching and no
// referrer (the pages' URLs hold one-time tokens). A page that fails to
// render answers a bare 500 page instead of half a page.
func WriteHTML(w http.ResponseWriter, r *http.Request, status int, page Page) {
	var buf bytes.Buffer
	if err := page.Render(r.Context(), &buf); err != nil {
		Logger(r.Context()).Error("page render failed", "error", err)
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString("<!doctype html><title>Error</title><p>Something went wrong.</p>")
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", PageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

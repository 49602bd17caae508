package httpapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"github.com/stewardhq/steward/pkg/fault"
)

// PageCSP is the content security policy of every HTML page Steward
// serves (the approval and unsubscribe pages): no scripts, nothing
// external, inline styles only, forms post to this origin, never framed.
const PageCSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"

// PortalCSP is the content security policy of the admin portal's pages
// (pkg/portal): like PageCSP, but styles come from the portal's one
// stylesheet on this origin (no inline styles) and images (the account's
// logo) from this origin or over HTTPS.
const PortalCSP = "default-src 'none'; style-src 'self'; img-src 'self' https:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Page is an HTML component (a templ component).
type Page interface {
	Render(ctx context.Context, w io.Writer) error
}

// WriteHTML renders page and writes it with the headers every Steward
// page carries: the CSP, no framing, no MIME sniffing, no caching and no
// referrer (the pages' URLs hold one-time tokens). A page that fails to
// render answers a bare 500 page instead of half a page.
func WriteHTML(w http.ResponseWriter, r *http.Request, status int, page Page) {
	WriteHTMLWithCSP(w, r, status, page, PageCSP)
}

// WriteHTMLWithCSP is WriteHTML with another content security policy
// (the portal's, PortalCSP).
func WriteHTMLWithCSP(w http.ResponseWriter, r *http.Request, status int, page Page, csp string) {
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
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// LinkPageMaxForm bounds the form body of a one-time link's page (the
// approval and access-request pages): a decision and a comment.
const LinkPageMaxForm = 16 << 10

// FormRefusal says why a link page's form was not read: the status to
// answer and what the page says.
type FormRefusal struct {
	Status           int
	Heading, Message string
}

// ReadLinkForm reads the url-encoded form a one-time link's page posts
// (at most LinkPageMaxForm bytes). what names the page in the refusal's
// message ("approval page", "decision page").
func ReadLinkForm(w http.ResponseWriter, r *http.Request, what string) (url.Values, *FormRefusal) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, &FormRefusal{http.StatusUnsupportedMediaType, "Unsupported form", "Submit the decision with the form on the " + what + "."}
	}
	r.Body = http.MaxBytesReader(w, r.Body, LinkPageMaxForm)
	if err := r.ParseForm(); err != nil {
		return nil, &FormRefusal{http.StatusBadRequest, "The form could not be read", "Go back to the " + what + " and submit the form again."}
	}
	return r.PostForm, nil
}

// LinkRefusal pairs a refusal of a one-time link with the page it shows
// (410).
type LinkRefusal[P any] struct {
	Err  error
	Page P
}

// RefusalStatus is how a link page answers err: with table's page and
// 410 when err is one of its refusals, with bad (400) when err is an
// invalid decision, else 500 (the caller logs it and shows a generic
// page; logged is false only then).
func RefusalStatus[P any](table []LinkRefusal[P], bad P, err error) (P, int, bool) {
	for _, g := range table {
		if errors.Is(err, g.Err) {
			return g.Page, http.StatusGone, true
		}
	}
	if e := (*fault.Error)(nil); errors.As(err, &e) && e.Kind == fault.Invalid {
		return bad, http.StatusBadRequest, true
	}
	var zero P
	return zero, http.StatusInternalServerError, false
}

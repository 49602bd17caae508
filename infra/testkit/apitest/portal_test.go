package apitest

import (
	"html"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/routes"
)

type portalLink struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// mintPortalLink mints a one-time portal link for member as token.
func (e *Env) mintPortalLink(t testing.TB, token, member string) portalLink {
	t.Helper()
	var l portalLink
	e.Call(t, "POST", "/v1/portal/sessions", token, map[string]any{"userId": member}).Want(t, http.StatusCreated, "").JSON(t, &l)
	if !strings.HasPrefix(l.URL, e.URL+"/portal/enter/") || time.Until(l.ExpiresAt) > 5*time.Minute || time.Until(l.ExpiresAt) < 4*time.Minute {
		t.Fatalf("portal link %+v", l)
	}
	return l
}

// enterPortal opens a minted link (its page, then Continue) and returns
// the session cookie.
func (e *Env) enterPortal(t testing.TB, l portalLink) string {
	t.Helper()
	r := e.submitPortalLink(t, l).Want(t, http.StatusSeeOther, "")
	if loc := r.Header.Get("Location"); loc != "/portal/team" {
		t.Fatalf("enter redirects to %q", loc)
	}
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == "steward_portal" {
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Value == "" {
				t.Fatalf("session cookie %+v", c)
			}
			return c.Name + "=" + c.Value
		}
	}
	t.Fatalf("no session cookie in %v", r.Header.Values("Set-Cookie"))
	return ""
}

// submitPortalLink posts a minted link's Continue form (portalLinkForm)
// and returns the answer.
func (e *Env) submitPortalLink(t testing.TB, l portalLink) *Response {
	t.Helper()
	path := strings.TrimPrefix(l.URL, e.URL)
	pre, csrf := e.portalLinkForm(t, path)
	return e.portalPost(t, pre, path, url.Values{"csrf": {csrf}})
}

// portalLinkForm reads a minted link's page (200, naming whom it signs
// in as, using nothing) and returns the cookie it set for its form and
// the form's CSRF token.
func (e *Env) portalLinkForm(t testing.TB, path string) (string, string) {
	t.Helper()
	r := e.Call(t, "GET", path, "", nil).Want(t, http.StatusOK, "")
	body := string(r.Body)
	m := csrfField.FindStringSubmatch(body)
	if m == nil || !strings.Contains(body, "Continue as") || !strings.Contains(body, `action="`+path+`"`) {
		t.Fatalf("link page: %s", body)
	}
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == "steward_portal_login" && c.HttpOnly && c.Value != "" {
			return c.Name + "=" + c.Value, html.UnescapeString(m[1])
		}
	}
	t.Fatalf("the link page set no form cookie: %v", r.Header.Values("Set-Cookie"))
	return "", ""
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// portalPage reads a portal page with the session cookie (200) and
// returns its HTML and the CSRF token of its forms.
func (e *Env) portalPage(t testing.TB, cookie, path string) (string, string) {
	t.Helper()
	r := e.Call(t, "GET", path, "", nil, "Cookie", cookie).Want(t, http.StatusOK, "")
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("%s: CSP %q", path, csp)
	}
	for _, h := range []string{"X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy", "Cache-Control"} {
		if r.Header.Get(h) == "" {
			t.Fatalf("%s: no %s header", path, h)
		}
	}
	body := string(r.Body)
	if strings.Contains(strings.ToLower(body), "<script") {
		t.Fatalf("%s has a script", path)
	}
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("%s: no CSRF token in %s", path, body)
	}
	return body, html.UnescapeString(m[1])
}

// portalPost posts a form with the session cookie.
func (e *Env) portalPost(t testing.TB, cookie, path string, form url.Values) *Response {
	t.Helper()
	return e.Call(t, "POST", path, "", form.Encode(), "Cookie", cookie, "Content-Type", "application/x-www-form-urlencoded")
}

// TestPortalLinksSessionsAndCSRF: minting (who may, for whom, where to),
// the single use of a link, the session cookie, CSRF refusals, sign-out
// and suspension ending the session, and sign-in with a password, all
// answers checked against the OpenAPI document.
func TestPortalLinksSessionsAndCSRF(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("portal-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "")
	mgrID, mgrTk := e.join(t, ownerTk.AccessToken, newEmail("portal-mgr"), store1("manager"))

	// Who may mint: the member for itself, an API key with users.view.
	e.Call(t, "POST", "/v1/portal/sessions", mgrTk.AccessToken, map[string]any{"userId": owner.MemberID}).Want(t, http.StatusForbidden, "not_self")
	e.Call(t, "POST", "/v1/portal/sessions", "", map[string]any{"userId": owner.MemberID}).Want(t, http.StatusUnauthorized, "")
	e.Call(t, "POST", "/v1/portal/sessions", ownerTk.AccessToken, map[string]any{"userId": owner.MemberID, "returnUrl": "https://evil.example/x"}).Want(t, http.StatusBadRequest, "")
	e.Call(t, "POST", "/v1/portal/sessions", ownerTk.AccessToken, map[string]any{"userId": owner.MemberID, "returnUrl": "//evil.example/portal/"}).Want(t, http.StatusBadRequest, "")
	// A key mints only for a member whose every right it holds (the link
	// opens a full session as the member): users.view alone is not enough
	// for a manager; the manager's permissions account-wide are.
	viewer := e.createKey(t, ownerTk.AccessToken, map[string]any{"name": "Viewer", "permissions": []string{"users.view"}})
	e.Call(t, "POST", "/v1/portal/sessions", viewer.Secret, map[string]any{"userId": mgrID}).Want(t, http.StatusForbidden, "exceeds_key_rights")
	backend := e.createKey(t, ownerTk.AccessToken, map[string]any{"name": "Backend", "permissions": []string{
		"stores.view", "products.view", "finance.transactions.view", "orders.view", "finance.bank_accounts.view",
		"finance.invoices.view", "users.view", "users.manage", "directory.view"}})
	orders := e.createKey(t, ownerTk.AccessToken, map[string]any{"name": "Orders", "permissions": []string{"orders.view"}})
	e.Call(t, "POST", "/v1/portal/sessions", orders.Secret, map[string]any{"userId": mgrID}).Want(t, http.StatusForbidden, "")
	e.Call(t, "POST", "/v1/portal/sessions", backend.Secret, map[string]any{"userId": owner.MemberID}).Want(t, http.StatusForbidden, "exceeds_key_rights")
	keyLink := e.mintPortalLink(t, backend.Secret, mgrID)
	mgrCookie := e.enterPortal(t, keyLink)

	// A link works once; an unknown one does not work at all.
	r := e.Call(t, "GET", strings.TrimPrefix(keyLink.URL, e.URL), "", nil).Want(t, http.StatusGone, "")
	if !strings.Contains(string(r.Body), "This link was used") {
		t.Fatalf("used link page: %s", r.Body)
	}
	e.Call(t, "GET", "/portal/enter/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "", nil).Want(t, http.StatusGone, "")
	e.Call(t, "GET", "/portal/enter/nonsense", "", nil).Want(t, http.StatusGone, "")

	// Without a session the pages send to the sign-in page.
	r = e.Call(t, "GET", "/portal/team", "", nil).Want(t, http.StatusSeeOther, "")
	if r.Header.Get("Location") != "/portal/login" {
		t.Fatalf("team without a session redirects to %q", r.Header.Get("Location"))
	}
	e.Call(t, "GET", "/portal/team", "", nil, "Cookie", "steward_portal=s_x.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").Want(t, http.StatusSeeOther, "")

	// The owner's session: the team page, and CSRF on every POST.
	ownerCookie := e.enterPortal(t, e.mintPortalLink(t, ownerTk.AccessToken, owner.MemberID))
	body, csrf := e.portalPage(t, ownerCookie, "/portal/team")
	if !strings.Contains(body, "Olive Owner") || !strings.Contains(body, mgrID) {
		t.Fatalf("team page lacks the owner or the manager: %s", body)
	}
	invite := url.Values{"email": {newEmail("portal-x")}, "role": {"team_member"}, "scope": {"store:s1"}}
	e.portalPost(t, ownerCookie, "/portal/invite", invite).Want(t, http.StatusForbidden, "")
	invite.Set("csrf", "forged"+csrf)
	e.portalPost(t, ownerCookie, "/portal/invite", invite).Want(t, http.StatusForbidden, "")
	_, mgrCSRF := e.portalPage(t, mgrCookie, "/portal/team")
	invite.Set("csrf", mgrCSRF) // another session's token
	e.portalPost(t, ownerCookie, "/portal/invite", invite).Want(t, http.StatusForbidden, "")
	invite.Set("csrf", csrf)
	r = e.portalPost(t, ownerCookie, "/portal/invite", invite).Want(t, http.StatusSeeOther, "")
	if !strings.HasPrefix(r.Header.Get("Location"), "/portal/team?notice=") {
		t.Fatalf("invite redirects to %q", r.Header.Get("Location"))
	}
	// A field's error is shown next to it.
	bad := url.Values{"csrf": {csrf}, "email": {"not-an-email"}, "role": {"team_member"}, "scope": {"store:s1"}}
	r = e.portalPost(t, ownerCookie, "/portal/invite", bad).Want(t, http.StatusBadRequest, "")
	if !strings.Contains(string(r.Body), `id="email-error"`) {
		t.Fatalf("no error next to the email: %s", r.Body)
	}

	// Suspending the manager (through the API) ends its portal session.
	e.portalPage(t, mgrCookie, "/portal/team")
	e.Call(t, "POST", "/v1/users/"+mgrID+"/suspend", ownerTk.AccessToken, nil).Want(t, http.StatusOK, "")
	e.Call(t, "GET", "/portal/team", "", nil, "Cookie", mgrCookie).Want(t, http.StatusSeeOther, "")

	// Signing out ends the session like logout.
	e.portalPost(t, ownerCookie, "/portal/logout", url.Values{"csrf": {csrf}}).Want(t, http.StatusOK, "")
	e.Call(t, "GET", "/portal/team", "", nil, "Cookie", ownerCookie).Want(t, http.StatusSeeOther, "")

	// Sign-in with email and password: a double-submit token, the API's
	// answers (a wrong password is 401 on the page), then a session.
	r = e.Call(t, "GET", "/portal/login", "", nil).Want(t, http.StatusOK, "")
	var loginCookie string
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == "steward_portal_login" {
			loginCookie = c.Name + "=" + c.Value
		}
	}
	m := csrfField.FindStringSubmatch(string(r.Body))
	if loginCookie == "" || m == nil {
		t.Fatalf("login page: cookie %q, body %s", loginCookie, r.Body)
	}
	form := url.Values{"csrf": {html.UnescapeString(m[1])}, "email": {owner.Email}, "password": {"wrong password entirely"}}
	e.portalPost(t, loginCookie, "/portal/login", form).Want(t, http.StatusUnauthorized, "")
	form.Set("password", goodPassword)
	e.portalPost(t, "steward_portal_login=other", "/portal/login", form).Want(t, http.StatusForbidden, "")
	r = e.portalPost(t, loginCookie, "/portal/login", form).Want(t, http.StatusSeeOther, "")
	if r.Header.Get("Location") != "/portal/team" {
		t.Fatalf("login redirects to %q", r.Header.Get("Location"))
	}
	var sess string
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == "steward_portal" {
			sess = c.Name + "=" + c.Value
		}
	}
	e.portalPage(t, sess, "/portal/team")
	e.Call(t, "GET", "/portal/static/portal.css", "", nil).Want(t, http.StatusOK, "")
}

// TestPortalBrandingAndReturnURL: the account's portal settings brand the
// portal (product name, logo, accent colour in the one stylesheet), and a
// link's returnUrl must be a portal path or on the allowed origins (a
// policy: policies.manage).
func TestPortalBrandingAndReturnURL(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("portal-brand"))
	ownerTk := e.login(t, owner.Email, goodPassword, "")
	etag := e.Call(t, "GET", "/v1/account", ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").Header.Get("ETag")
	bad := map[string]any{"settings": map[string]any{"portal": map[string]any{"accentColor": "red"}}}
	e.Call(t, "PATCH", "/v1/account", ownerTk.AccessToken, bad, "If-Match", etag).Want(t, http.StatusBadRequest, "invalid_field")
	bad = map[string]any{"settings": map[string]any{"portal": map[string]any{"allowedOrigins": []string{"http://app.example.com"}}}}
	e.Call(t, "PATCH", "/v1/account", ownerTk.AccessToken, bad, "If-Match", etag).Want(t, http.StatusBadRequest, "invalid_field")
	e.Call(t, "POST", "/v1/portal/sessions", ownerTk.AccessToken, map[string]any{"userId": owner.MemberID, "returnUrl": "https://app.example.com/settings"}).Want(t, http.StatusBadRequest, "invalid_field")
	change := map[string]any{"settings": map[string]any{"portal": map[string]any{
		"productName": "Acme Shop", "logoUrl": "https://cdn.example.com/logo.png", "accentColor": "#AA3300",
		"allowedOrigins": []string{"https://App.example.com", "https://app.example.com"},
	}}}
	var acct struct {
		Settings struct {
			Portal struct {
				ProductName    string   `json:"productName"`
				AccentColor    string   `json:"accentColor"`
				AllowedOrigins []string `json:"allowedOrigins"`
			} `json:"portal"`
		} `json:"settings"`
	}
	e.Call(t, "PATCH", "/v1/account", ownerTk.AccessToken, change, "If-Match", etag).Want(t, http.StatusOK, "").JSON(t, &acct)
	if p := acct.Settings.Portal; p.ProductName != "Acme Shop" || p.AccentColor != "#aa3300" || len(p.AllowedOrigins) != 1 || p.AllowedOrigins[0] != "https://app.example.com" {
		t.Fatalf("portal settings %+v", p)
	}
	// Full access may brand the portal but not change where it sends
	// people.
	_, fullTk := e.join(t, ownerTk.AccessToken, newEmail("portal-full"), map[string]any{})
	etag = e.Call(t, "GET", "/v1/account", ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").Header.Get("ETag")
	e.Call(t, "PATCH", "/v1/account", fullTk.AccessToken, map[string]any{"settings": map[string]any{"portal": map[string]any{"allowedOrigins": []string{"https://evil.example"}}}}, "If-Match", etag).Want(t, http.StatusForbidden, "")

	e.Call(t, "POST", "/v1/portal/sessions", ownerTk.AccessToken, map[string]any{"userId": owner.MemberID, "returnUrl": "https://evil.example/settings"}).Want(t, http.StatusBadRequest, "invalid_field")
	var l portalLink
	e.Call(t, "POST", "/v1/portal/sessions", ownerTk.AccessToken, map[string]any{"userId": owner.MemberID, "returnUrl": "https://app.example.com/settings?tab=team"}).Want(t, http.StatusCreated, "").JSON(t, &l)
	cookie := e.enterPortal(t, l)
	body, _ := e.portalPage(t, cookie, "/portal/team")
	for _, want := range []string{`href="https://app.example.com/settings?tab=team"`, "Back to Acme Shop", `src="https://cdn.example.com/logo.png"`, "<title>Team · Acme Shop</title>"} {
		if !strings.Contains(body, want) {
			t.Errorf("team page lacks %s", want)
		}
	}
	// The stylesheet the page links is in the account's accent.
	href := regexp.MustCompile(`<link rel="stylesheet" href="([^"]+)"`).FindStringSubmatch(body)
	if href == nil {
		t.Fatalf("team page links no stylesheet: %s", body)
	}
	css := e.Call(t, "GET", html.UnescapeString(href[1]), "", nil).Want(t, http.StatusOK, "")
	if !strings.Contains(string(css.Body), "--accent:#aa3300") {
		t.Errorf("stylesheet without the account's accent: %.100s", css.Body)
	}
	// A portal path lands there.
	e.Call(t, "POST", "/v1/portal/sessions", ownerTk.AccessToken, map[string]any{"userId": owner.MemberID, "returnUrl": "/portal/invite"}).Want(t, http.StatusCreated, "").JSON(t, &l)
	r := e.submitPortalLink(t, l).Want(t, http.StatusSeeOther, "")
	if r.Header.Get("Location") != "/portal/invite" {
		t.Fatalf("landing %q", r.Header.Get("Location"))
	}
}

// portalPage reports whether a route is one of the admin portal's pages
// (cookie-authenticated HTML), not the API's.
func portalPage(r routes.Route) bool { return strings.HasPrefix(r.Path, "/portal") }

// portalForm posts a raw body with a content type and the session cookie.
func (e *Env) portalRaw(t testing.TB, cookie, method, path, contentType, body string) *Response {
	t.Helper()
	return e.Call(t, method, path, "", body, "Cookie", cookie, "Content-Type", contentType)
}

// wantPortalHeaders checks a portal page's security headers.
func wantPortalHeaders(t *testing.T, what string, r *Response) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy": httpapi.PortalCSP,
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
		"Cache-Control":           "no-store",
		"Referrer-Policy":         "no-referrer",
	}
	for k, v := range want {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s: %s = %q, want %q", what, k, got, v)
		}
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Errorf("%s: Content-Type %q, want HTML", what, r.Header.Get("Content-Type"))
	}
}

// TestPortalPagesCarrySecurityHeaders calls every portal route of the
// table without a session (each sends to the sign-in page, or answers its
// own refusal) and with one (every HTML answer carries PortalCSP: no
// script, no inline style, no framing; nosniff; no caching; no referrer).
func TestPortalPagesCarrySecurityHeaders(t *testing.T) {
	if !strings.Contains(httpapi.PortalCSP, "default-src 'none'") || !strings.Contains(httpapi.PortalCSP, "frame-ancestors 'none'") || strings.Contains(httpapi.PortalCSP, "script-src") || strings.Contains(httpapi.PortalCSP, "unsafe-inline") {
		t.Fatalf("portal CSP %q must allow no script and no inline style, and forbid framing", httpapi.PortalCSP)
	}
	e := New(t)
	owner := e.signup(t, newEmail("portal-hdr"))
	ownerTk := e.login(t, owner.Email, goodPassword, "")
	cookie := e.enterPortal(t, e.mintPortalLink(t, ownerTk.AccessToken, owner.MemberID))
	_, csrf := e.portalPage(t, cookie, "/portal/team")
	n := 0
	for _, rt := range routes.Table {
		if !portalPage(rt) || rt.Operation == "submitPortalLogout" {
			continue
		}
		n++
		path := strings.NewReplacer("{token}", strings.Repeat("x", 43), "{id}", "nope").Replace(rt.Path)
		form := url.Values{"csrf": {csrf}}.Encode()
		if rt.Method == http.MethodGet {
			form = ""
		}
		// Without a session.
		r := e.portalRaw(t, "", rt.Method, path, "application/x-www-form-urlencoded", form)
		switch {
		case rt.Operation == "getPortal":
			r.Want(t, http.StatusSeeOther, "")
		case rt.Operation == "getPortalStylesheet":
			r.Want(t, http.StatusOK, "")
			if r.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/css") {
				t.Errorf("stylesheet headers %v", r.Header)
			}
			continue
		case rt.Operation == "enterPortal", rt.Operation == "submitPortalEnter":
			r.Want(t, http.StatusGone, "")
			wantPortalHeaders(t, rt.Operation, r)
		case rt.Operation == "getPortalLogin":
			r.Want(t, http.StatusOK, "")
			wantPortalHeaders(t, rt.Operation, r)
		case rt.Operation == "submitPortalLogin":
			r.Want(t, http.StatusForbidden, "") // no login cookie: the token is wrong
			wantPortalHeaders(t, rt.Operation, r)
		default:
			r.Want(t, http.StatusSeeOther, "")
			if r.Header.Get("Location") != "/portal/login" {
				t.Errorf("%s without a session: Location %q", rt.Operation, r.Header.Get("Location"))
			}
		}
		// With one: the page, or its refusal (an unknown id).
		r = e.portalRaw(t, cookie, rt.Method, path, "application/x-www-form-urlencoded", form)
		if r.Status >= 500 {
			t.Errorf("%s %s: %d", rt.Method, path, r.Status)
		}
		if r.Status != http.StatusSeeOther {
			wantPortalHeaders(t, rt.Operation+" (signed in)", r)
		}
	}
	if n < 10 {
		t.Fatalf("only %d portal routes", n)
	}
}

// TestPortalBadInputSweep posts wrong forms to every portal route that
// changes something, signed in as the owner with a valid CSRF token: a
// wrong content type (415), an oversized body (400), unknown ids, and
// every field the pages post with a wrong value. Nothing answers 5xx and
// nothing changes (the account's audit log gets no event).
func TestPortalBadInputSweep(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("portal-sweep"))
	ownerTk := e.login(t, owner.Email, goodPassword, "")
	memberID, _ := e.join(t, ownerTk.AccessToken, newEmail("portal-sweep-m"), store1("team_member"))
	cookie := e.enterPortal(t, e.mintPortalLink(t, ownerTk.AccessToken, owner.MemberID))
	_, csrf := e.portalPage(t, cookie, "/portal/team")
	before := e.auditCount(t, owner.AccountID)
	bad := []url.Values{
		{},
		{"action": {"nonsense"}, "version": {"-1"}, "index": {"999"}, "role": {"no_such_role"}, "scope": {"store:nope"}},
		{"action": {"add"}, "version": {"1"}, "role": {"administrator"}, "scope": {"store:s1"}, "expiresAt": {"yesterday"}},
		{"action": {"remove"}, "version": {"999"}, "index": {"0"}},
		{"action": {"delete"}, "version": {"999"}, "confirm": {"yes"}, "reassignTo": {"m_nope"}},
		{"action": {"suspend"}, "version": {"1"}, "confirm": {"no"}},
		{"email": {strings.Repeat("a", 300) + "@example.com"}, "name": {strings.Repeat("n", 500)}, "role": {"team_member"}, "scope": {"store:s1"}},
		{"email": {"x@example.com"}, "role": {"team_member"}, "scope": {"nowhere:1"}},
		{"email": {"x@example.com"}, "role": {"administrator"}, "scope": {"store:s1"}},
		{"email": {"\u202ex@example.com"}, "role": {"team_member"}, "scope": {"store:s1"}},
	}
	requests := 0
	for _, rt := range routes.Table {
		// Acting as a member takes no fields (a valid post acts: not a bad
		// input); it is swept by TestPortalImpersonation and the abuse suite.
		if !portalPage(rt) || rt.Method != http.MethodPost || rt.Operation == "submitPortalLogout" || rt.Operation == "submitPortalLogin" || rt.Operation == "submitPortalImpersonate" {
			continue
		}
		var paths []string
		if strings.Contains(rt.Path, "{id}") {
			for _, id := range []string{"nope", "m_" + strings.Repeat("z", 30), memberID, "%2e%2e"} {
				if strings.Contains(rt.Path, "/invitations/") && id == memberID {
					continue
				}
				paths = append(paths, strings.Replace(rt.Path, "{id}", id, 1))
			}
		} else {
			paths = []string{rt.Path}
		}
		for _, path := range paths {
			check := func(what string, r *Response) {
				t.Helper()
				requests++
				if r.Status >= 500 || (r.Status < 400 && r.Status != http.StatusSeeOther) {
					t.Errorf("%s %s: %d %.300s", path, what, r.Status, r.Body)
				}
				if r.Status != http.StatusSeeOther && r.Status != http.StatusRequestEntityTooLarge && !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
					t.Errorf("%s %s: Content-Type %q", path, what, r.Header.Get("Content-Type"))
				}
			}
			check("json body", e.portalRaw(t, cookie, "POST", path, "application/json", `{"csrf":"`+csrf+`"}`))
			check("oversized form", e.portalRaw(t, cookie, "POST", path, "application/x-www-form-urlencoded", "csrf="+csrf+"&name="+strings.Repeat("x", 20<<10)))
			for _, f := range bad {
				f = url.Values(maps.Clone(f))
				f.Set("csrf", csrf)
				check(f.Encode(), e.portalPost(t, cookie, path, f))
			}
		}
	}
	if after := e.auditCount(t, owner.AccountID); after != before {
		t.Fatalf("the audit log went from %d to %d events: a refused form changed something", before, after)
	}
	t.Logf("portal bad-input sweep: %d requests", requests)
}

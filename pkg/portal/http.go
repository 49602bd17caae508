package portal

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stewardhq/steward/pkg/access"
	"github.com/stewardhq/steward/pkg/accounts"
	"github.com/stewardhq/steward/pkg/approvals"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/invites"
	"github.com/stewardhq/steward/pkg/members"
	"github.com/stewardhq/steward/pkg/onetime"
	"github.com/stewardhq/steward/pkg/permissions"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
	"github.com/stewardhq/steward/pkg/webhooks"
)

// Service serves the portal's pages over the API's services.
type Service struct {
	Store   *store.Store
	Auth    *auth.Service
	Members *members.Service
	Invites *invites.Service
	// Roles is the permissions service: the roles section's custom roles.
	Roles *permissions.Service
	// Accounts serves the settings and audit sections; Webhooks the
	// webhooks section.
	Accounts *accounts.Handler
	Webhooks *webhooks.Service
	// Approvals and Access serve the approvals and access pages.
	Approvals *approvals.Service
	Access    *access.Service
	// PublicURL is Steward's public URL; when it is HTTPS the cookies are
	// Secure with the __Host- prefix.
	PublicURL string
}

// maxForm bounds a portal form's body.
const maxForm = 16 << 10

func (s *Service) secure() bool { return strings.HasPrefix(s.PublicURL, "https://") }

// SessionCookie is the portal session cookie's name.
func (s *Service) SessionCookie() string {
	if s.secure() {
		return "__Host-steward_portal"
	}
	return "steward_portal"
}

func (s *Service) loginCookie() string {
	if s.secure() {
		return "__Host-steward_portal_login"
	}
	return "steward_portal_login"
}

func (s *Service) setCookie(w http.ResponseWriter, name, value string, expires time.Time) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: s.secure(), SameSite: http.SameSiteLaxMode}
	if expires.IsZero() {
		c.MaxAge = -1
	} else {
		c.Expires = expires.UTC()
		c.MaxAge = int(time.Until(expires).Seconds())
	}
	http.SetCookie(w, c)
}

func cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// req is a signed-in request: the principal, its account, its cookie.
type req struct {
	P       *auth.Principal
	Account team.Account
	// Back is the host app's URL the session links back to ("" when the
	// link named none).
	Back string
	// ret is, while an administrator acts as the member, the
	// administrator's own session (auth.PortalState.ReturnSession).
	ret    string
	cookie string
	// notice is the confirmation the page was redirected with, when its
	// signature holds (signedNotice).
	notice string
}

// chrome is the page frame of a signed-in request.
func (q *req) chrome(title, nav string) chrome {
	l := chrome{Title: title, Product: defaultProduct, Member: q.P.Member.Name, CSRF: csrfToken(q.cookie, "session"), Nav: nav, MayInvite: mayInvite(q.P),
		Account: q.Account.Name, LogoURL: q.Account.Settings.Portal.LogoURL, BackURL: q.Back, Notice: q.notice,
		Stylesheet: stylesheetHref(q.Account.Settings.Portal.AccentColor)}
	if l.Member == "" {
		l.Member = q.P.Member.Email
	}
	if n := q.Account.Settings.Portal.ProductName; n != "" {
		l.Product = n
	}
	if q.P.Impersonator != nil {
		l.Impersonator = q.P.Impersonator.Name
	}
	l.Links = navFor(q.P)
	return l
}

// navFor lists the sections beyond Team and Invite that p may use, each
// decided by the same decisions as the API behind it. One entry per
// section: each section's file adds its own.
func navFor(p *auth.Principal) []navLink {
	var out []navLink
	for _, s := range sections {
		if s.may(p) {
			out = append(out, navLink{Nav: s.nav, Href: s.href, Label: s.label})
		}
	}
	return out
}

// section is a portal section in the navigation, shown when may says the
// member may use it.
type section struct {
	nav, href, label string
	may              func(p *auth.Principal) bool
}

// sections are the navigation's sections after Team and Invite, in order;
// each section's file registers itself in its init (page order is the
// slice order: register with registerSection at the position given).
var sections []section

// registerSection adds a section to the navigation at position order
// (lower first).
func registerSection(order int, s section) {
	sectionOrder = append(sectionOrder, order)
	sections = append(sections, s)
	for i := len(sections) - 1; i > 0 && sectionOrder[i-1] > sectionOrder[i]; i-- {
		sections[i-1], sections[i] = sections[i], sections[i-1]
		sectionOrder[i-1], sectionOrder[i] = sectionOrder[i], sectionOrder[i-1]
	}
}

var sectionOrder []int

func anonymous(title string) chrome {
	return chrome{Title: title, Product: defaultProduct, Stylesheet: stylesheetPath}
}

// session authenticates the portal cookie; nil without a live session.
func (s *Service) session(r *http.Request) (*req, error) {
	c := cookieValue(r, s.SessionCookie())
	if c == "" {
		return nil, nil
	}
	p, st, err := s.Auth.AuthenticatePortal(r.Context(), c)
	if err != nil {
		var e *httpapi.Error
		if errors.As(err, &e) && statusFor(err) == http.StatusUnauthorized {
			return nil, nil
		}
		return nil, err
	}
	return &req{P: p, Account: st.Account, Back: st.BackURL, ret: st.ReturnSession, cookie: c, notice: signedNotice(r, c)}, nil
}

// signedIn is the request's portal session; without one it answers
// (the sign-in page, or the failure) and reports false.
func (s *Service) signedIn(w http.ResponseWriter, r *http.Request) (*req, bool) {
	q, err := s.session(r)
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	if q == nil {
		http.Redirect(w, r, "/portal/login", http.StatusSeeOther)
		return nil, false
	}
	return q, true
}

// view wraps a GET page: without a session it goes to the sign-in page.
func (s *Service) view(fn func(w http.ResponseWriter, r *http.Request, q *req)) httpapi.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		q, ok := s.signedIn(w, r)
		if !ok {
			return nil
		}
		ctx := auth.WithPrincipal(r.Context(), q.P)
		fn(w, r.WithContext(ctx), q)
		return nil
	}
}

// action wraps a POST: the form is read (bounded), the session required
// and the CSRF token checked before fn runs. While an administrator acts
// as the member the portal is for looking only: every change is refused
// (403) but signing out and stopping (sessionAction).
func (s *Service) action(fn func(w http.ResponseWriter, r *http.Request, q *req, form url.Values)) httpapi.HandlerFunc {
	return s.sessionAction(func(w http.ResponseWriter, r *http.Request, q *req, form url.Values) {
		if q.P.Impersonated() {
			l := q.chrome("Acting as "+memberTitle(q.P.Member), "")
			l.Error = "While you act as another member the portal is for looking only."
			writeMessage(w, r, http.StatusForbidden, l, "Nothing was changed. Stop acting as them (the button at the top) to make changes as yourself.", "/portal/team", "Back to the team")
			return
		}
		fn(w, r, q, form)
	})
}

// sessionAction is action without the refusal of an impersonated
// session: for the POSTs that end it.
func (s *Service) sessionAction(fn func(w http.ResponseWriter, r *http.Request, q *req, form url.Values)) httpapi.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		form, ok := s.readForm(w, r)
		if !ok {
			return nil
		}
		q, ok := s.signedIn(w, r)
		if !ok {
			return nil
		}
		if !csrfValid(q.cookie, "session", form.Get("csrf")) {
			writeMessage(w, r, http.StatusForbidden, q.chrome("The form has expired", ""), "This form could not be accepted (its security token is missing or wrong). Nothing was changed. Go back, reload the page and try again.", "/portal/team", "Back to the team")
			return nil
		}
		ctx := auth.WithPrincipal(r.Context(), q.P)
		fn(w, r.WithContext(ctx), q, form)
		return nil
	}
}

func (s *Service) readForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		writeMessage(w, r, http.StatusUnsupportedMediaType, anonymous("Unsupported form"), "Submit the form on the portal's page.", "/portal/team", "Back to the portal")
		return nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		writeMessage(w, r, http.StatusBadRequest, anonymous("The form could not be read"), "Go back and submit the form again.", "/portal/team", "Back to the portal")
		return nil, false
	}
	return r.PostForm, true
}

// fail answers an unexpected error with a generic page.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpapi.Logger(r.Context()).ErrorContext(r.Context(), "portal", "error", err)
	writeMessage(w, r, http.StatusInternalServerError, anonymous("Something went wrong"), "Please try again in a moment.", "/portal/team", "Back to the portal")
}

// refuse answers a refusal of a service operation with its detail on a
// page (a domain error), or the generic page.
func (s *Service) refuse(w http.ResponseWriter, r *http.Request, q *req, title string, err error) {
	_, msg, ok := problemOf(err, nil)
	if !ok || statusFor(err) >= 500 {
		s.fail(w, r, err)
		return
	}
	l := q.chrome(title, "")
	l.Error = msg
	writeMessage(w, r, statusFor(err), l, "Nothing was changed.", "/portal/team", "Back to the team")
}

// redirect answers a POST with 303 to a page with a notice.
func (q *req) redirect(w http.ResponseWriter, r *http.Request, path, notice string) {
	redirectSigned(w, r, q.cookie, path, notice)
}

// redirectSigned answers with 303 to path carrying notice, signed for the
// session of cookie (signedNotice).
func redirectSigned(w http.ResponseWriter, r *http.Request, cookie, path, notice string) {
	notice = clip(notice, maxNotice)
	if notice != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "notice=" + url.QueryEscape(notice) + "&n=" + noticeMAC(cookie, notice)
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// signedNotice is the confirmation a redirect carries (plain text,
// escaped on the page), shown only when its MAC is the session's: a link
// crafted elsewhere cannot put words on a portal page.
func signedNotice(r *http.Request, cookie string) string {
	q := r.URL.Query()
	n := q.Get("notice")
	if n == "" || len(n) > 4*maxNotice || !csrfValid(cookie, "notice:"+n, q.Get("n")) {
		return ""
	}
	return n
}

// maxNotice bounds a notice's characters (a longer one, naming a long
// URL, is shortened).
const maxNotice = 200

// clip shortens s to n characters at most, ending it with "…" when cut.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// noticeMAC signs a notice for a session.
func noticeMAC(cookie, notice string) string { return csrfToken(cookie, "notice:"+notice) }

// HandleStylesheet serves GET /portal/static/portal.css: the one
// stylesheet, in the accent colour its address names (?accent=rrggbb,
// written by the page from the account's settings; anything else is the
// default). It reads nothing: a page view costs one authentication, not
// two, and the stylesheet is cached like any static file.
func (s *Service) HandleStylesheet(w http.ResponseWriter, r *http.Request) error {
	accent := defaultAccent
	if a := r.URL.Query().Get("accent"); accentHex.MatchString(a) {
		accent = "#" + strings.ToLower(a)
	}
	css := stylesheet(accent)
	h := w.Header()
	h.Set("Content-Type", "text/css; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(css))
	return nil
}

// HandleRoot serves GET /portal: the team page.
func (s *Service) HandleRoot(w http.ResponseWriter, r *http.Request) error {
	http.Redirect(w, r, "/portal/team", http.StatusSeeOther)
	return nil
}

// HandleEnter serves GET /portal/enter/{token}: the minted link. It
// consumes nothing: it names the member and the account the link signs in
// as and asks to continue (a form posting to HandleEnterSubmit), so that a
// link previewer does not use it up and a link someone else minted does
// not sign anyone in unseen. A used, expired or unknown link answers a
// page that says so.
func (s *Service) HandleEnter(w http.ResponseWriter, r *http.Request) error {
	info, err := s.Auth.PeekPortalLink(r.Context(), r.PathValue("token"))
	if err != nil {
		s.linkRefused(w, r, err)
		return nil
	}
	s.writeEnter(w, r, http.StatusOK, info, "")
	return nil
}

// writeEnter writes the page that asks before a link is used, with a
// fresh double-submit cookie for its CSRF token.
func (s *Service) writeEnter(w http.ResponseWriter, r *http.Request, status int, info auth.PortalLinkInfo, msg string) {
	tok, _ := onetime.New()
	s.setCookie(w, s.loginCookie(), tok, time.Now().Add(time.Hour))
	l := anonymous("Open the portal")
	l.CSRF = csrfToken(tok, "enter")
	l.Error = msg
	writePage(w, r, status, enterPage(l, "/portal/enter/"+r.PathValue("token"), memberTitle(info.Member), info.Member.Email, info.AccountName))
}

// HandleEnterSubmit serves POST /portal/enter/{token}: the page's
// "Continue" consumes the link, sets the session cookie and goes (303) to
// the team page or the link's return path.
func (s *Service) HandleEnterSubmit(w http.ResponseWriter, r *http.Request) error {
	form, ok := s.readForm(w, r)
	if !ok {
		return nil
	}
	if !csrfValid(cookieValue(r, s.loginCookie()), "enter", form.Get("csrf")) {
		info, err := s.Auth.PeekPortalLink(r.Context(), r.PathValue("token"))
		if err != nil {
			s.linkRefused(w, r, err)
			return nil
		}
		s.writeEnter(w, r, http.StatusForbidden, info, "The page had expired; the link was not used. Continue again.")
		return nil
	}
	sess, err := s.Auth.EnterPortal(r.Context(), r.PathValue("token"), httpapi.RequestID(r.Context()))
	if err != nil {
		s.linkRefused(w, r, err)
		return nil
	}
	s.setCookie(w, s.loginCookie(), "", time.Time{})
	s.setCookie(w, s.SessionCookie(), sess.Cookie, sess.ExpiresAt)
	http.Redirect(w, r, sess.ReturnTo, http.StatusSeeOther)
	return nil
}

// linkRefused answers a link that cannot be used with a page that says
// why.
func (s *Service) linkRefused(w http.ResponseWriter, r *http.Request, err error) {
	var e *httpapi.Error
	if !errors.As(err, &e) || statusFor(err) >= 500 {
		s.fail(w, r, err)
		return
	}
	title, msg := "This link does not work", "This sign-in link is not valid. Go back to the app and open the portal again."
	status := http.StatusGone
	switch e.Code {
	case "token_used":
		title, msg = "This link was used", "Each sign-in link works once. Go back to the app and open the portal again for a new link."
	case "token_expired":
		title, msg = "This link has expired", "A sign-in link works for 5 minutes. Go back to the app and open the portal again for a new link."
	case "member_not_active":
		title, msg, status = "You cannot sign in", "Your membership is not active.", http.StatusForbidden
	}
	writeMessage(w, r, status, anonymous(title), msg, "/portal/login", "Sign in with email and password")
}

// HandleLoginPage serves GET /portal/login: the sign-in form, with a
// fresh double-submit cookie for its CSRF token.
func (s *Service) HandleLoginPage(w http.ResponseWriter, r *http.Request) error {
	s.writeLogin(w, r, http.StatusOK, "", "", nil)
	return nil
}

func (s *Service) writeLogin(w http.ResponseWriter, r *http.Request, status int, email, msg string, errs fieldErrors) {
	s.writeLoginChoosing(w, r, status, email, msg, errs, nil)
}

// writeLoginChoosing is the sign-in form; with accounts, a sign-in that
// belongs to several accounts chooses one (the password is asked again:
// it is never written back into a page).
func (s *Service) writeLoginChoosing(w http.ResponseWriter, r *http.Request, status int, email, msg string, errs fieldErrors, accounts []option) {
	tok, _ := onetime.New()
	s.setCookie(w, s.loginCookie(), tok, time.Now().Add(time.Hour))
	l := anonymous("Sign in")
	l.CSRF = csrfToken(tok, "login")
	l.Error = msg
	writePage(w, r, status, loginPage(l, email, errs, accounts))
}

// accountChoices are the accounts of an account_required refusal.
func accountChoices(err error) []option {
	var e *fault.Error
	if !errors.As(err, &e) || e.Code != "account_required" {
		return nil
	}
	cs, _ := e.Extra["accounts"].([]auth.AccountChoice)
	out := make([]option, 0, len(cs))
	for _, c := range cs {
		name := c.Name
		if name == "" {
			name = c.ID
		}
		out = append(out, option{Value: c.ID, Label: name})
	}
	return out
}

// HandleLogin serves POST /portal/login: email and password through the
// auth service's sign-in (its throttling included); on success the
// session cookie and 303 to the team page.
func (s *Service) HandleLogin(w http.ResponseWriter, r *http.Request) error {
	form, ok := s.readForm(w, r)
	if !ok {
		return nil
	}
	email := form.Get("email")
	if !csrfValid(cookieValue(r, s.loginCookie()), "login", form.Get("csrf")) {
		s.writeLogin(w, r, http.StatusForbidden, email, "The form had expired; nothing was checked. Sign in again.", nil)
		return nil
	}
	sess, err := s.Auth.PortalLogin(r.Context(), auth.LoginInput{Email: email, Password: form.Get("password"), AccountID: form.Get("accountId"),
		SourceIP: s.Auth.SourceIP(r), RequestID: httpapi.RequestID(r.Context())})
	if err != nil {
		errs, msg, ok := problemOf(err, nil)
		if !ok || statusFor(err) >= 500 {
			s.fail(w, r, err)
			return nil
		}
		// The sign-in limit's 429 says when to try again, as the API's does.
		if e := (*httpapi.Error)(nil); errors.As(err, &e) && e.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(e.RetryAfter.Seconds())))
		}
		if accounts := accountChoices(err); len(accounts) > 0 {
			s.writeLoginChoosing(w, r, http.StatusConflict, email, "Your sign-in belongs to several accounts: choose one and enter your password again.", nil, accounts)
			return nil
		}
		s.writeLogin(w, r, statusFor(err), email, msg, errs)
		return nil
	}
	s.setCookie(w, s.loginCookie(), "", time.Time{})
	s.setCookie(w, s.SessionCookie(), sess.Cookie, sess.ExpiresAt)
	http.Redirect(w, r, sess.ReturnTo, http.StatusSeeOther)
	return nil
}

// HandleLogout serves POST /portal/logout: the session ends (like the
// API's logout) and its cookie goes; signing out while acting as a member
// ends the administrator's own session too.
func (s *Service) HandleLogout(w http.ResponseWriter, r *http.Request) error {
	return s.sessionAction(func(w http.ResponseWriter, r *http.Request, q *req, _ url.Values) {
		if err := s.Auth.EndPortal(r.Context(), q.P, q.ret); err != nil {
			s.fail(w, r, err)
			return
		}
		s.setCookie(w, s.SessionCookie(), "", time.Time{})
		href, text := "/portal/login", "Sign in again"
		if q.Back != "" {
			href, text = q.Back, "Back to "+q.chrome("", "").Product
		}
		writeMessage(w, r, http.StatusOK, anonymous("Signed out"), "You are signed out of the portal.", href, text)
	})(w, r)
}

package apitest

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/pkg/audit"
)

// portalCookie is the session cookie a portal answer sets ("" if none).
func portalCookie(r *Response) string { return paCookie(r, "steward_portal") }

// wantSignIn: the cookie no longer opens the portal (the team page sends
// to the sign-in page).
func (e *Env) wantSignIn(t *testing.T, cookie, why string) {
	t.Helper()
	r := e.Call(t, "GET", "/portal/team", "", nil, "Cookie", cookie).Want(t, http.StatusSeeOther, "")
	if r.Header.Get("Location") != "/portal/login" {
		t.Fatalf("%s: the team page redirects to %q", why, r.Header.Get("Location"))
	}
}

// A minted link's GET names whom it signs in as and uses nothing (a link
// previewer cannot use it up); only its page's POST, with the page's
// CSRF token and cookie, uses it: a forged form (another site's, without
// the cookie) is refused with the link still usable.
func TestPortalLinkAsksBeforeUse(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("pl-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "")
	l := e.mintPortalLink(t, ownerTk.AccessToken, owner.MemberID)
	path := strings.TrimPrefix(l.URL, e.URL)
	for range 3 { // a previewer, a scanner, the member
		r := e.Call(t, "GET", path, "", nil).Want(t, http.StatusOK, "")
		if b := string(r.Body); !strings.Contains(b, "Continue as Olive Owner") || !strings.Contains(b, owner.Email) || portalCookie(r) != "" {
			t.Fatalf("the link page: %s", b)
		}
	}
	// Another site's form: no form cookie, or the sign-in page's token
	// (another purpose).
	pre, stale := e.portalLinkForm(t, path)
	e.portalPost(t, "", path, url.Values{"csrf": {stale}}).Want(t, http.StatusForbidden, "")
	e.portalPost(t, "", path, url.Values{"csrf": {"x"}}).Want(t, http.StatusForbidden, "")
	lr := e.Call(t, "GET", "/portal/login", "", nil).Want(t, http.StatusOK, "")
	loginCSRF := csrfField.FindStringSubmatch(string(lr.Body))[1]
	var loginPre string
	for _, c := range (&http.Response{Header: lr.Header}).Cookies() {
		if c.Name == "steward_portal_login" {
			loginPre = c.Name + "=" + c.Value
		}
	}
	e.portalPost(t, loginPre, path, url.Values{"csrf": {html.UnescapeString(loginCSRF)}}).Want(t, http.StatusForbidden, "")
	e.Call(t, "POST", path, "", `{"csrf":"x"}`, "Content-Type", "application/json").Want(t, http.StatusUnsupportedMediaType, "")
	// The link still works once.
	cookie := e.enterPortal(t, l)
	e.portalPage(t, cookie, "/portal/team")
	r := e.Call(t, "GET", path, "", nil).Want(t, http.StatusGone, "")
	if !strings.Contains(string(r.Body), "This link was used") {
		t.Fatalf("used link: %s", r.Body)
	}
	// The form of a page read before the link was used: used (410).
	r = e.portalPost(t, pre, path, url.Values{"csrf": {stale}}).Want(t, http.StatusGone, "")
	if !strings.Contains(string(r.Body), "This link was used") || portalCookie(r) != "" {
		t.Fatalf("used link's form: %s", r.Body)
	}
}

// A notice is shown only when the portal itself redirected with it: a
// crafted address cannot put words on a portal page.
func TestPortalNoticeIsSigned(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("pn-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "")
	cookie := e.enterPortal(t, e.mintPortalLink(t, ownerTk.AccessToken, owner.MemberID))
	body, _ := e.portalPage(t, cookie, "/portal/team?notice=Your+account+is+locked.+Call+0800")
	if strings.Contains(body, "Call 0800") {
		t.Fatalf("a crafted notice is shown: %s", body)
	}
	body, _ = e.portalPage(t, cookie, "/portal/team?notice=Your+account+is+locked.&n=AAAA")
	if strings.Contains(body, "Your account is locked") {
		t.Fatalf("a notice with a forged signature is shown: %s", body)
	}
	_, csrf := e.portalPage(t, cookie, "/portal/invite")
	r := e.portalPost(t, cookie, "/portal/invite", url.Values{"csrf": {csrf}, "email": {newEmail("pn-x")}, "role": {"team_member"}, "scope": {"store:s1"}}).Want(t, http.StatusSeeOther, "")
	body, _ = e.portalPage(t, cookie, r.Header.Get("Location"))
	if !strings.Contains(body, "An invitation was sent to") {
		t.Fatalf("the portal's own notice is not shown: %s", body)
	}
	// Another session's signed address shows nothing in this one.
	other := e.enterPortal(t, e.mintPortalLink(t, ownerTk.AccessToken, owner.MemberID))
	body, _ = e.portalPage(t, other, r.Header.Get("Location"))
	if strings.Contains(body, "An invitation was sent to") {
		t.Fatalf("a notice signed for another session is shown: %s", body)
	}
}

// An administrator acts as a member from the member's page: a banner
// names both, every change is refused, stopping returns to a session of
// the administrator's own (the impersonated and the left sessions end),
// signing out while acting ends both; a non-administrator gets no button
// and a refusal, an administrator cannot be acted as.
func TestPortalImpersonation(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("pi-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "")
	memberID, _ := e.join(t, ownerTk.AccessToken, newEmail("pi-member"), store1("team_member"))
	mgrID, mgrTk := e.join(t, ownerTk.AccessToken, newEmail("pi-mgr"), store1("manager"))
	adminEmail := newEmail("pi-admin")
	adminID, _ := e.join(t, ownerTk.AccessToken, adminEmail, map[string]any{"assignments": []map[string]string{{"role": "administrator", "scope": "account"}}})
	admin := e.enterPortal(t, e.mintPortalLink(t, ownerTk.AccessToken, owner.MemberID))

	// The member page offers it to the administrator, not for an
	// administrator, and not to a manager.
	body, csrf := e.portalPage(t, admin, "/portal/members/"+memberID)
	if !strings.Contains(body, `action="/portal/members/`+memberID+`/impersonate"`) {
		t.Fatalf("no act-as form for an administrator: %s", body)
	}
	if b, _ := e.portalPage(t, admin, "/portal/members/"+adminID); strings.Contains(b, "/impersonate") {
		t.Fatalf("an act-as form for another administrator: %s", b)
	}
	e.portalPost(t, admin, "/portal/members/"+adminID+"/impersonate", url.Values{"csrf": {csrf}}).Want(t, http.StatusForbidden, "")
	e.portalPost(t, admin, "/portal/members/"+owner.MemberID+"/impersonate", url.Values{"csrf": {csrf}}).Want(t, http.StatusForbidden, "")
	e.portalPost(t, admin, "/portal/members/"+memberID+"/impersonate", url.Values{"csrf": {"forged"}}).Want(t, http.StatusForbidden, "")
	e.portalPost(t, admin, "/portal/members/m_nope/impersonate", url.Values{"csrf": {csrf}}).Want(t, http.StatusNotFound, "")
	mgr := e.enterPortal(t, e.mintPortalLink(t, mgrTk.AccessToken, mgrID))
	mb, mcsrf := e.portalPage(t, mgr, "/portal/members/"+memberID)
	if strings.Contains(mb, "/impersonate") {
		t.Fatalf("an act-as form for a manager: %s", mb)
	}
	e.portalPost(t, mgr, "/portal/members/"+memberID+"/impersonate", url.Values{"csrf": {mcsrf}}).Want(t, http.StatusForbidden, "")

	// Act as the member.
	r := e.portalPost(t, admin, "/portal/members/"+memberID+"/impersonate", url.Values{"csrf": {csrf}}).Want(t, http.StatusSeeOther, "")
	acting := portalCookie(r)
	if acting == "" || acting == admin || !strings.HasPrefix(r.Header.Get("Location"), "/portal/team?") {
		t.Fatalf("impersonate answered cookie %q, location %q", acting, r.Header.Get("Location"))
	}
	// The member's team page: what a team member sees (only itself: it
	// may not view the members), under the banner.
	body, _ = e.portalPage(t, acting, r.Header.Get("Location"))
	if !strings.Contains(body, "Only you are shown") || !strings.Contains(body, memberID) || strings.Contains(body, mgrID) {
		t.Fatalf("a team member's team page: %s", body)
	}
	if !strings.Contains(body, "Olive Owner is acting as") || !strings.Contains(body, `action="/portal/impersonation/stop"`) || !strings.Contains(body, "You are acting as this member") {
		t.Fatalf("no banner while acting: %s", body)
	}
	_, actCSRF := e.portalPage(t, acting, "/portal/access")
	// Looking only: a change is refused and nothing is made.
	inv := url.Values{"csrf": {actCSRF}, "email": {newEmail("pi-x")}, "role": {"team_member"}, "scope": {"store:s1"}}
	r = e.portalPost(t, acting, "/portal/invite", inv).Want(t, http.StatusForbidden, "")
	if !strings.Contains(string(r.Body), "for looking only") {
		t.Fatalf("a change while acting: %s", r.Body)
	}
	var invs struct{ Items []struct{ Email string } }
	e.Call(t, "GET", "/v1/invitations", ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &invs)
	for _, i := range invs.Items {
		if i.Email == inv.Get("email") {
			t.Fatal("an invitation was made while acting")
		}
	}
	// No acting again from inside, and the API's rule holds.
	e.portalPost(t, acting, "/portal/members/"+mgrID+"/impersonate", url.Values{"csrf": {actCSRF}}).Want(t, http.StatusForbidden, "")
	page, err := e.Store.ListAudit(context.Background(), owner.AccountID, audit.Filter{Action: "session.impersonate"}, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].ActorID != memberID || page.Items[0].ImpersonatorID != owner.MemberID {
		t.Fatalf("session.impersonate audit: %+v", page.Items)
	}

	// Stop: back on the member's page as the administrator, in a new
	// session; the acting and the left sessions are over.
	r = e.portalPost(t, acting, "/portal/impersonation/stop", url.Values{"csrf": {actCSRF}}).Want(t, http.StatusSeeOther, "")
	back := portalCookie(r)
	if back == "" || back == admin || back == acting || !strings.HasPrefix(r.Header.Get("Location"), "/portal/members/"+memberID) {
		t.Fatalf("stop answered cookie %q, location %q", back, r.Header.Get("Location"))
	}
	body, backCSRF := e.portalPage(t, back, r.Header.Get("Location"))
	if strings.Contains(body, "is acting as") || !strings.Contains(body, "You stopped acting as") {
		t.Fatalf("after stopping: %s", body)
	}
	e.wantSignIn(t, acting, "the acting session after stopping")
	e.wantSignIn(t, admin, "the left session after stopping")
	// Stopping a session that acts as nobody: 409.
	e.portalPost(t, back, "/portal/impersonation/stop", url.Values{"csrf": {backCSRF}}).Want(t, http.StatusConflict, "")

	// Signing out while acting ends both sessions.
	r = e.portalPost(t, back, "/portal/members/"+memberID+"/impersonate", url.Values{"csrf": {backCSRF}}).Want(t, http.StatusSeeOther, "")
	acting = portalCookie(r)
	_, actCSRF = e.portalPage(t, acting, "/portal/access")
	e.portalPost(t, acting, "/portal/logout", url.Values{"csrf": {actCSRF}}).Want(t, http.StatusOK, "")
	e.wantSignIn(t, acting, "the acting session after signing out")
	e.wantSignIn(t, back, "the administrator's session after signing out while acting")

	// The administrator's own session ends meanwhile (signed out in
	// another tab): stopping ends the acting session and says to sign in.
	own := e.enterPortal(t, e.mintPortalLink(t, ownerTk.AccessToken, owner.MemberID))
	_, ownCSRF := e.portalPage(t, own, "/portal/team")
	r = e.portalPost(t, own, "/portal/members/"+memberID+"/impersonate", url.Values{"csrf": {ownCSRF}}).Want(t, http.StatusSeeOther, "")
	acting = portalCookie(r)
	_, actCSRF = e.portalPage(t, acting, "/portal/access")
	e.portalPost(t, own, "/portal/logout", url.Values{"csrf": {ownCSRF}}).Want(t, http.StatusOK, "")
	// (The own session's sign-out already ended the acting one.)
	e.wantSignIn(t, acting, "acting after the administrator's own session signed out")
	r = e.portalPost(t, acting, "/portal/impersonation/stop", url.Values{"csrf": {actCSRF}}).Want(t, http.StatusSeeOther, "")
	if r.Header.Get("Location") != "/portal/login" || portalCookie(r) != "" {
		t.Fatalf("stop after the administrator's session ended: %s", r.Body)
	}
	e.wantSignIn(t, acting, "the acting session after stopping")

	// Suspending the acting administrator ends the acting session.
	adminLink := e.mintPortalLink(t, e.login(t, adminEmail, goodPassword, "").AccessToken, adminID)
	own = e.enterPortal(t, adminLink)
	_, ownCSRF = e.portalPage(t, own, "/portal/team")
	r = e.portalPost(t, own, "/portal/members/"+memberID+"/impersonate", url.Values{"csrf": {ownCSRF}}).Want(t, http.StatusSeeOther, "")
	acting = portalCookie(r)
	e.portalPage(t, acting, "/portal/access")
	e.Call(t, "POST", "/v1/users/"+adminID+"/suspend", ownerTk.AccessToken, map[string]any{}).Want(t, http.StatusOK, "")
	e.wantSignIn(t, acting, "acting after the administrator was suspended")
}

// A portal session ends after PortalIdle without a request; requests
// keep it alive up to its absolute end.
func TestPortalIdleTimeout(t *testing.T) {
	clk := &shiftedClock{}
	e := New(t, withClock(clk))
	owner := e.signup(t, newEmail("pt-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "")
	cookie := e.enterPortal(t, e.mintPortalLink(t, ownerTk.AccessToken, owner.MemberID))
	// A request every 20 minutes for 2 hours keeps it alive.
	for range 6 {
		clk.Advance(20 * time.Minute)
		e.portalPage(t, cookie, "/portal/team")
	}
	// 31 minutes without one ends it.
	clk.Advance(31 * time.Minute)
	e.wantSignIn(t, cookie, "after 31 idle minutes")
	// Requests keep a session alive no longer than 12 hours.
	ownerTk = e.login(t, owner.Email, goodPassword, "")
	var l portalLink
	e.Call(t, "POST", "/v1/portal/sessions", ownerTk.AccessToken, map[string]any{"userId": owner.MemberID}).Want(t, http.StatusCreated, "").JSON(t, &l)
	cookie = e.enterPortal(t, l)
	for range 12*3 - 1 { // up to 11h40m
		clk.Advance(20 * time.Minute)
		e.portalPage(t, cookie, "/portal/team")
	}
	clk.Advance(20 * time.Minute)
	e.wantSignIn(t, cookie, "after 12 hours")
}

// A sign-in that belongs to several accounts chooses one on the portal's
// sign-in page (the password asked again, never written back).
func TestPortalLoginChoosesAnAccount(t *testing.T) {
	e := New(t)
	email := newEmail("pl-multi")
	e.signup(t, email)
	since := time.Now()
	e.Call(t, "POST", "/v1/signup", "", map[string]string{"accountName": "Second shop", "email": email, "name": "Olive", "password": "not-the-password"}).Want(t, http.StatusAccepted, "")
	tok := e.TokenFromEmail(t, email, "already have a Steward sign-in", since)
	var v verified
	e.Call(t, "POST", "/v1/auth/verify-email", "", map[string]string{"token": tok, "password": goodPassword}).Want(t, http.StatusOK, "").JSON(t, &v)

	login := func(form url.Values) *Response {
		page := e.Call(t, "GET", "/portal/login", "", nil).Want(t, http.StatusOK, "")
		form.Set("csrf", html.UnescapeString(csrfField.FindStringSubmatch(string(page.Body))[1]))
		form.Set("email", email)
		return e.portalPost(t, paCookie(page, "steward_portal_login"), "/portal/login", form)
	}
	r := login(url.Values{"password": {goodPassword}}).Want(t, http.StatusConflict, "")
	body := string(r.Body)
	if !strings.Contains(body, "choose one") || !strings.Contains(body, `value="`+v.AccountID+`"`) || !strings.Contains(body, "Second shop") ||
		strings.Contains(body, goodPassword) || portalCookie(r) != "" {
		t.Fatalf("the account choice: %s", body)
	}
	// A wrong password with a choice is still a wrong password.
	login(url.Values{"password": {"wrong-password"}, "accountId": {v.AccountID}}).Want(t, http.StatusUnauthorized, "")
	// An account the sign-in is not a member of: refused.
	login(url.Values{"password": {goodPassword}, "accountId": {"a_notmine"}}).Want(t, http.StatusForbidden, "")
	r = login(url.Values{"password": {goodPassword}, "accountId": {v.AccountID}}).Want(t, http.StatusSeeOther, "")
	cookie := portalCookie(r)
	if body, _ := e.portalPage(t, cookie, "/portal/team"); !strings.Contains(body, "Second shop") {
		t.Fatalf("signed in to the wrong account: %s", body)
	}
}

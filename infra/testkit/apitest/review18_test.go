package apitest

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/onetime"
	"github.com/stewardhq/steward/pkg/routes"
	"github.com/stewardhq/steward/pkg/store"
)

// Review 18 (ffd0963..44ed178): the portal's two-step link, acting as a
// member, signed notices and the idle end, replayed over HTTP.
// TestReview18Fixed* assert the secure behaviour and fail while the hole
// is open; TestReview18Fine* confirm what holds.

// r18Acting is an account whose owner (an administrator) acts as one of
// its team members from the owner's own portal session.
type r18Acting struct {
	owner                  signedUp
	ownerTk                tokens
	memberID               string
	own, ownCSRF           string // the owner's own portal session
	acting, actCSRF        string // the session acting as the member
	ownSession, actSession string // their session ids
}

func (e *Env) r18Act(t *testing.T, prefix string) r18Acting {
	t.Helper()
	var a r18Acting
	a.owner = e.signup(t, newEmail(prefix))
	a.ownerTk = e.login(t, a.owner.Email, goodPassword, "")
	a.memberID, _ = e.join(t, a.ownerTk.AccessToken, newEmail(prefix+"-m"), store1("team_member"))
	a.own = e.enterPortal(t, e.mintPortalLink(t, a.ownerTk.AccessToken, a.owner.MemberID))
	_, a.ownCSRF = e.portalPage(t, a.own, "/portal/members/"+a.memberID)
	a.acting, a.actCSRF = e.r18Impersonate(t, a.own, a.ownCSRF, a.memberID)
	a.ownSession, a.actSession = r18SessionID(t, a.own), r18SessionID(t, a.acting)
	return a
}

// r18Impersonate acts as member from the session cookie and returns the
// acting session's cookie and CSRF token.
func (e *Env) r18Impersonate(t *testing.T, cookie, csrf, member string) (string, string) {
	t.Helper()
	r := e.portalPost(t, cookie, "/portal/members/"+member+"/impersonate", url.Values{"csrf": {csrf}}).Want(t, http.StatusSeeOther, "")
	acting := portalCookie(r)
	if acting == "" {
		t.Fatal("impersonating set no cookie")
	}
	_, actCSRF := e.portalPage(t, acting, "/portal/access")
	return acting, actCSRF
}

// r18SessionID is the session id in a portal cookie ("steward_portal=…").
func r18SessionID(t *testing.T, cookie string) string {
	t.Helper()
	sid, _, err := onetime.ParseRefresh(strings.TrimPrefix(cookie, "steward_portal="))
	if err != nil {
		t.Fatalf("portal cookie %q: %v", cookie, err)
	}
	return sid
}

// r18Alive reports whether the portal cookie still opens a page.
func (e *Env) r18Alive(t *testing.T, cookie string) bool {
	t.Helper()
	r := e.Call(t, "GET", "/portal/access", "", nil, "Cookie", cookie)
	return r.Status == http.StatusOK
}

// ---------------------------------------------------------------------
// Holes.

// An administrator's password reset ("my sign-in was stolen") ends every
// session of the administrator's identity, but not the portal session in
// which it acts as a member: that session belongs to the member's
// identity (auth.ImpersonatePortal → newPortalSession(target)), so
// store.RevokeSessions(admin identity) never sees it. Whoever holds the
// acting cookie keeps looking at the account as the member for up to an
// hour after the reset.
func TestReview18FixedActingOutlivesAdminPasswordReset(t *testing.T) {
	e := New(t)
	a := e.r18Act(t, "r18-reset")
	since := time.Now()
	e.Call(t, "POST", "/v1/auth/password-reset", "", map[string]string{"email": a.owner.Email}).Want(t, http.StatusAccepted, "")
	tok := e.TokenFromEmail(t, a.owner.Email, "reset", since)
	e.Call(t, "POST", "/v1/auth/password-reset/confirm", "", map[string]string{"token": tok, "password": "another long passphrase"}).Want(t, http.StatusNoContent, "")
	e.wantSignIn(t, a.own, "the administrator's own session after its password reset")
	if e.r18Alive(t, a.acting) {
		t.Errorf("the session acting as member %s still opens the portal after the administrator's password reset", a.memberID)
	}
}

// The acting session is derived from the administrator's own session
// (ReturnSessionID) but does not end with it: the own session signed out
// (another tab, or a thief's copy of the cookie used meanwhile), or
// replaced by stopping a second acting session opened from it, leaves the
// acting session working.
func TestReview18FixedActingOutlivesItsAdminSession(t *testing.T) {
	e := New(t)
	t.Run("own session signed out", func(t *testing.T) {
		a := e.r18Act(t, "r18-out")
		e.portalPost(t, a.own, "/portal/logout", url.Values{"csrf": {a.ownCSRF}}).Want(t, http.StatusOK, "")
		e.wantSignIn(t, a.own, "the own session after signing out")
		if e.r18Alive(t, a.acting) {
			t.Errorf("the acting session still opens the portal after the session it came from was signed out")
		}
	})
	t.Run("sibling acting session stopped", func(t *testing.T) {
		a := e.r18Act(t, "r18-sib")
		// A second acting session from the same own session (the old
		// cookie, still valid while acting).
		second, secondCSRF := e.r18Impersonate(t, a.own, a.ownCSRF, a.memberID)
		r := e.portalPost(t, second, "/portal/impersonation/stop", url.Values{"csrf": {secondCSRF}}).Want(t, http.StatusSeeOther, "")
		if portalCookie(r) == "" {
			t.Fatal("stop gave no session")
		}
		e.wantSignIn(t, a.own, "the own session after a stop replaced it")
		if e.r18Alive(t, a.acting) {
			t.Errorf("the first acting session still opens the portal after its own session was replaced by a stop")
		}
	})
}

// Stopping checks that the administrator's own session is unrevoked and
// before its absolute end, not its idle end: an own session idle for more
// than PortalIdle (30 minutes without a request) is brought back as a
// fresh full administrator session by a stop. The acting cookie (for
// looking only) is thus a bearer credential for a full administrator
// session for as long as it lives, whatever became of the session it
// came from.
func TestReview18FixedStopRevivesIdleEndedAdminSession(t *testing.T) {
	clk := &shiftedClock{}
	e := New(t, withClock(clk))
	a := e.r18Act(t, "r18-idle")
	// The acting session is used; the own session is not.
	for range 2 {
		clk.Advance(20 * time.Minute)
		e.portalPage(t, a.acting, "/portal/access")
	}
	own, err := e.Store.GetSession(context.Background(), a.ownSession)
	if err != nil {
		t.Fatal(err)
	}
	if own.Active(clk.Now()) {
		// Fixed by keeping the own session alive while acting: then a
		// stop may give it back.
		t.Logf("the own session was kept alive while acting (idle end %v)", own.IdleExpiresAt)
		return
	}
	e.wantSignIn(t, a.own, "the own session after 40 idle minutes")
	r := e.portalPost(t, a.acting, "/portal/impersonation/stop", url.Values{"csrf": {a.actCSRF}})
	if c := portalCookie(r); c != "" && e.r18Alive(t, c) {
		t.Errorf("stop answered %d with a working administrator session for an own session that had ended (idle since %v)", r.Status, own.IdleExpiresAt)
	}
}

// "An administrator cannot be acted as" is decided only when acting
// starts: a member promoted to administrator meanwhile goes on being
// acted as (sessionPrincipal re-checks the impersonator, not the target).
func TestReview18FixedActingGoesOnWhenTargetBecomesAdmin(t *testing.T) {
	e := New(t)
	a := e.r18Act(t, "r18-promote")
	e.Call(t, "PATCH", "/v1/users/"+a.memberID, a.ownerTk.AccessToken, map[string]any{
		"assignments": []map[string]string{{"role": "administrator", "scope": "account"}},
	}, "If-Match", e.mbETag(t, a.ownerTk.AccessToken, a.memberID)).Want(t, http.StatusOK, "")
	// Acting as an administrator now (a fresh attempt is refused).
	e.portalPost(t, a.own, "/portal/members/"+a.memberID+"/impersonate", url.Values{"csrf": {a.ownCSRF}}).Want(t, http.StatusForbidden, "")
	if e.r18Alive(t, a.acting) {
		t.Errorf("the session acting as %s still works after they became an administrator", a.memberID)
	}
}

// ---------------------------------------------------------------------
// What holds.

// Every portal POST route (routes.Table) but the four that are not
// changes of the account (enter, login, logout, stop) answers the acting
// session 403 "for looking only" with its valid CSRF token, and nothing is
// written to the audit log.
func TestReview18FineEveryPortalPostRefusedWhileActing(t *testing.T) {
	e := New(t)
	a := e.r18Act(t, "r18-sweep")
	allowed := map[string]bool{"/portal/enter/{token}": true, "/portal/login": true, "/portal/logout": true, "/portal/impersonation/stop": true}
	before := e.auditCount(t, a.owner.AccountID)
	n := 0
	for _, rt := range routes.Table {
		if rt.Method != "POST" || !strings.HasPrefix(rt.Path, "/portal") || allowed[rt.Path] {
			continue
		}
		n++
		path := strings.NewReplacer("{id}", a.memberID).Replace(rt.Path)
		if strings.Contains(path, "{") {
			t.Fatalf("unfilled parameter in %s", rt.Path)
		}
		form := url.Values{"csrf": {a.actCSRF}, "action": {"suspend"}, "confirm": {"yes"}, "version": {"1"}, "email": {newEmail("r18-sw")},
			"role": {"team_member"}, "scope": {"store:s1"}, "decision": {"approve"}, "url": {"https://example.com/h"}, "name": {"X"}}
		r := e.portalPost(t, a.acting, path, form)
		if r.Status != http.StatusForbidden || !strings.Contains(string(r.Body), "for looking only") {
			t.Errorf("POST %s while acting: %d %.300s", path, r.Status, r.Body)
		}
	}
	if n < 20 {
		t.Fatalf("only %d portal POST routes swept", n)
	}
	e.paNoAudit(t, a.owner.AccountID, before)
	if !e.r18Alive(t, a.acting) {
		t.Fatal("the acting session ended during the sweep")
	}
}

// Stopping: concurrent stops of one acting session give at most one new
// administrator session; the acting cookie and the left session are
// over afterwards (an old acting cookie is worth nothing); a stop needs
// the acting session's cookie and token; a session acting as nobody
// cannot stop; another tenant's member cannot be acted as.
func TestReview18FineStopIsOneShot(t *testing.T) {
	e := New(t)
	a := e.r18Act(t, "r18-race")
	const n = 6
	var wg sync.WaitGroup
	res := make([]*Response, n)
	for i := range n {
		wg.Go(func() {
			res[i] = e.portalPost(t, a.acting, "/portal/impersonation/stop", url.Values{"csrf": {a.actCSRF}})
		})
	}
	wg.Wait()
	var fresh []string
	for _, r := range res {
		if c := portalCookie(r); c != "" {
			fresh = append(fresh, c)
		}
		t.Logf("concurrent stop: %d %s", r.Status, r.Header.Get("Location"))
	}
	live := 0
	for _, c := range fresh {
		if e.r18Alive(t, c) {
			live++
		}
	}
	if live > 1 {
		t.Errorf("%d concurrent stops gave %d working administrator sessions", n, live)
	}
	e.wantSignIn(t, a.acting, "the acting cookie after stopping")
	e.wantSignIn(t, a.own, "the left session after stopping")
	// Replaying the stop with the old acting cookie: the sign-in page, no
	// cookie.
	r := e.portalPost(t, a.acting, "/portal/impersonation/stop", url.Values{"csrf": {a.actCSRF}}).Want(t, http.StatusSeeOther, "")
	if r.Header.Get("Location") != "/portal/login" || portalCookie(r) != "" {
		t.Errorf("a replayed stop: %s, cookie %q", r.Header.Get("Location"), portalCookie(r))
	}

	b := e.r18Act(t, "r18-stop")
	// A stranger's forms: no cookie, or the cookie without its token.
	r = e.portalPost(t, "", "/portal/impersonation/stop", url.Values{"csrf": {b.actCSRF}}).Want(t, http.StatusSeeOther, "")
	if r.Header.Get("Location") != "/portal/login" || portalCookie(r) != "" {
		t.Errorf("stop without a cookie: %s", r.Header.Get("Location"))
	}
	e.portalPost(t, b.acting, "/portal/impersonation/stop", url.Values{"csrf": {b.ownCSRF}}).Want(t, http.StatusForbidden, "")
	e.portalPost(t, b.acting, "/portal/impersonation/stop", url.Values{}).Want(t, http.StatusForbidden, "")
	if !e.r18Alive(t, b.acting) || !e.r18Alive(t, b.own) {
		t.Fatal("a refused stop ended a session")
	}
	// A session acting as nobody: 409, no cookie.
	r = e.portalPost(t, b.own, "/portal/impersonation/stop", url.Values{"csrf": {b.ownCSRF}}).Want(t, http.StatusConflict, "")
	if portalCookie(r) != "" {
		t.Error("stopping a session acting as nobody set a cookie")
	}
	// Another tenant's member: the same 404 as an unknown one.
	other := e.signup(t, newEmail("r18-other"))
	r = e.portalPost(t, b.own, "/portal/members/"+other.MemberID+"/impersonate", url.Values{"csrf": {b.ownCSRF}}).Want(t, http.StatusNotFound, "")
	if portalCookie(r) != "" {
		t.Error("acting as another tenant's member set a cookie")
	}
	// Without the token (a cross-site form): 403, no cookie.
	r = e.portalPost(t, b.own, "/portal/members/"+b.memberID+"/impersonate", url.Values{}).Want(t, http.StatusForbidden, "")
	if portalCookie(r) != "" {
		t.Error("a tokenless impersonation set a cookie")
	}
}

// An administrator demoted while acting: the acting session ends at its
// next request (sessionPrincipal re-checks the impersonator), and a
// stop cannot turn it into a session.
func TestReview18FineDemotedAdminStopsActing(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("r18-dem"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	adminID, adminTk := e.mbAdmin(t, owner)
	memberID, _ := e.join(t, ownerTk, newEmail("r18-dem-m"), store1("team_member"))
	own, ownCSRF := e.paSession(t, adminTk, adminID)
	acting, actCSRF := e.r18Impersonate(t, own, ownCSRF, memberID)
	e.mbDemote(t, ownerTk, adminID)
	e.wantSignIn(t, acting, "acting after the administrator was demoted")
	r := e.portalPost(t, acting, "/portal/impersonation/stop", url.Values{"csrf": {actCSRF}}).Want(t, http.StatusSeeOther, "")
	if r.Header.Get("Location") != "/portal/login" || portalCookie(r) != "" {
		t.Errorf("a demoted administrator's stop: %s, cookie %q", r.Header.Get("Location"), portalCookie(r))
	}
}

// Acting and stopping never move the administrator's absolute end: the
// acting session ends within an hour and by the own session's end, the
// session a stop gives ends when the left one would have.
func TestReview18FineActAndStopKeepTheAbsoluteEnd(t *testing.T) {
	e := New(t)
	a := e.r18Act(t, "r18-abs")
	own, err := e.Store.GetSession(context.Background(), a.ownSession)
	if err != nil {
		t.Fatal(err)
	}
	act, err := e.Store.GetSession(context.Background(), a.actSession)
	if err != nil {
		t.Fatal(err)
	}
	if act.ExpiresAt.After(own.ExpiresAt) || act.ExpiresAt.After(time.Now().Add(auth.ImpersonationTTL+time.Minute)) || act.ReturnSessionID != a.ownSession || act.ImpersonatorID != a.owner.MemberID {
		t.Errorf("acting session %+v from own %+v", act, own)
	}
	r := e.portalPost(t, a.acting, "/portal/impersonation/stop", url.Values{"csrf": {a.actCSRF}}).Want(t, http.StatusSeeOther, "")
	back, err := e.Store.GetSession(context.Background(), r18SessionID(t, portalCookie(r)))
	if err != nil {
		t.Fatal(err)
	}
	if !back.ExpiresAt.Equal(own.ExpiresAt) || back.ImpersonatorID != "" || back.MemberID != a.owner.MemberID || back.ReturnSessionID != "" {
		t.Errorf("the session after stopping %+v, the left one %+v", back, own)
	}
}

// Notices: a signed address made in the attacker's session (another
// tenant) shows nothing in the victim's; a notice's MAC is no CSRF token;
// the acting session's notice is not shown in the session a stop gives.
func TestReview18FineNoticeMACStaysInItsSession(t *testing.T) {
	e := New(t)
	_, _, attacker, attackerCSRF := e.paOwner(t, "r18-n-att")
	_, _, victim, _ := e.paOwner(t, "r18-n-vic")
	// The attacker gets a signed notice in its own session and sends the
	// address to the victim.
	r := e.portalPost(t, attacker, "/portal/invite", paInvite(attackerCSRF, "team_member", "store:s1")).Want(t, http.StatusSeeOther, "")
	loc := r.Header.Get("Location")
	u, err := url.Parse(loc)
	if err != nil || u.Query().Get("n") == "" {
		t.Fatalf("invite redirect %q", loc)
	}
	body, _ := e.portalPage(t, attacker, loc)
	if !strings.Contains(body, "An invitation was sent to") {
		t.Fatalf("the attacker's own notice is not shown: %.500s", body)
	}
	body, _ = e.portalPage(t, victim, loc)
	if strings.Contains(body, "An invitation was sent to") {
		t.Errorf("a notice signed for another session is shown")
	}
	// The same MAC on another page of the attacker's own session is shown
	// (not bound to the page: harmless, only that session has it).
	if b, _ := e.portalPage(t, attacker, "/portal/access?"+u.RawQuery); !strings.Contains(b, "An invitation was sent to") {
		t.Logf("the notice is bound to its page too")
	}
	// A notice MAC as a form token: refused.
	e.portalPost(t, attacker, "/portal/invite", paInvite(u.Query().Get("n"), "team_member", "store:s1")).Want(t, http.StatusForbidden, "")

	// The impersonation's notice (signed for the acting cookie) is not
	// shown in the administrator's session after stopping.
	a := e.r18Act(t, "r18-n-act")
	r = e.portalPost(t, a.own, "/portal/members/"+a.memberID+"/impersonate", url.Values{"csrf": {a.ownCSRF}}).Want(t, http.StatusSeeOther, "")
	actLoc, acting := r.Header.Get("Location"), portalCookie(r)
	_, csrf := e.portalPage(t, acting, "/portal/access")
	r = e.portalPost(t, acting, "/portal/impersonation/stop", url.Values{"csrf": {csrf}}).Want(t, http.StatusSeeOther, "")
	back := portalCookie(r)
	q, _ := url.Parse(actLoc)
	if b, _ := e.portalPage(t, back, "/portal/members/"+a.memberID+"?"+q.RawQuery); strings.Contains(b, "You are acting as this member") {
		t.Errorf("the acting session's notice is shown in the administrator's session")
	}
}

// The link's page: nothing consumed, no caching, no referrer, no framing,
// nothing loaded from elsewhere; its form cookie is HttpOnly and Lax.
// Login CSRF: the attacker's own page token (with its own form cookie)
// does not pass with the victim's form cookie, and a victim's form cookie
// is not tied to one link (any valid pair works only in the browser that
// holds both).
func TestReview18FineEnterPageHeadersAndLoginCSRF(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("r18-enter"))
	ownerTk := e.login(t, owner.Email, goodPassword, "")
	link := e.mintPortalLink(t, ownerTk.AccessToken, owner.MemberID)
	path := strings.TrimPrefix(link.URL, e.URL)
	r := e.Call(t, "GET", path, "", nil).Want(t, http.StatusOK, "")
	h := r.Header
	if h.Get("Cache-Control") != "no-store" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Frame-Options") != "DENY" ||
		!strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") || !strings.Contains(h.Get("Content-Security-Policy"), "form-action 'self'") {
		t.Errorf("enter page headers: %v", h)
	}
	body := string(r.Body)
	if strings.Contains(body, `src="http`) || strings.Contains(body, `href="http`) {
		t.Errorf("the enter page loads or links elsewhere: %s", body)
	}
	var pre *http.Cookie
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == "steward_portal_login" {
			pre = c
		}
		if c.Name == "steward_portal" {
			t.Error("the link's GET set a session cookie")
		}
	}
	if pre == nil || !pre.HttpOnly || pre.SameSite != http.SameSiteLaxMode || pre.Path != "/" {
		t.Fatalf("form cookie %+v", pre)
	}
	// The attacker (another tenant) mints its own link, reads its page
	// and posts the victim's browser: with the victim's form cookie the
	// attacker's token fails.
	att := e.signup(t, newEmail("r18-enter-att"))
	attTk := e.login(t, att.Email, goodPassword, "")
	attLink := e.mintPortalLink(t, attTk.AccessToken, att.MemberID)
	attPath := strings.TrimPrefix(attLink.URL, e.URL)
	_, attCSRF := e.portalLinkForm(t, attPath)
	victimPre, _ := e.portalLinkForm(t, path)
	r = e.portalPost(t, victimPre, attPath, url.Values{"csrf": {attCSRF}}).Want(t, http.StatusForbidden, "")
	if portalCookie(r) != "" {
		t.Error("the victim was signed in as the attacker")
	}
	// Both links still work once.
	e.portalPage(t, e.enterPortal(t, attLink), "/portal/team")
	e.portalPage(t, e.enterPortal(t, link), "/portal/team")
}

// The idle end: a request within the touch period writes nothing, one
// after it writes once and moves the idle end; a touch cannot bring back
// a revoked session. Measured: the DynamoDB units of a portal page and
// of its stylesheet (each authenticates the session in full).
func TestReview18FineIdleTouchIsThrottledAndCannotResurrect(t *testing.T) {
	clk := &shiftedClock{}
	meter := &testenv.Capacity{}
	e := New(t, withClock(clk), withDynamoOptions(t, meter.Option))
	owner := e.signup(t, newEmail("r18-touch"))
	ownerTk := e.login(t, owner.Email, goodPassword, "")
	cookie := e.enterPortal(t, e.mintPortalLink(t, ownerTk.AccessToken, owner.MemberID))
	sid := r18SessionID(t, cookie)
	idle := func() time.Time {
		s, err := e.Store.GetSession(context.Background(), sid)
		if err != nil {
			t.Fatal(err)
		}
		return s.IdleExpiresAt
	}
	e.portalPage(t, cookie, "/portal/team") // warm caches
	first := idle()
	clk.Advance(2 * time.Minute)
	meter.Reset()
	e.portalPage(t, cookie, "/portal/team")
	page := meter.Reset()
	e.Call(t, "GET", "/portal/static/portal.css", "", nil, "Cookie", cookie).Want(t, http.StatusOK, "")
	css := meter.Reset()
	t.Logf("team page: %.1f RRU %.1f WRU in %d calls; stylesheet: %.1f RRU %.1f WRU in %d calls", page.Read, page.Write, page.Calls, css.Read, css.Write, css.Calls)
	if page.Write != 0 || css.Write != 0 || !idle().Equal(first) {
		t.Errorf("a request inside the touch period wrote: page %+v, stylesheet %+v, idle end %v → %v", page, css, first, idle())
	}
	clk.Advance(4 * time.Minute) // 6 minutes since the last touch
	meter.Reset()
	e.portalPage(t, cookie, "/portal/team")
	touched := meter.Reset()
	t.Logf("team page with a touch: %.1f RRU %.1f WRU in %d calls", touched.Read, touched.Write, touched.Calls)
	// One more call, one session item update (2 WRU: the item is over
	// 1 KB).
	if touched.Write == 0 || touched.Write > 2 || touched.Calls != page.Calls+1 || !idle().After(first) {
		t.Errorf("the touch after 6 minutes: %+v, idle end %v → %v", touched, first, idle())
	}
	// Revoked, then touched (a request that read it before the revoke):
	// refused, and it stays revoked.
	_, csrf := e.portalPage(t, cookie, "/portal/team")
	e.portalPost(t, cookie, "/portal/logout", url.Values{"csrf": {csrf}}).Want(t, http.StatusOK, "")
	if err := e.Store.TouchSession(context.Background(), sid, clk.Now(), clk.Now().Add(auth.PortalIdle)); !errors.Is(err, store.ErrSessionNotFound) {
		t.Errorf("touching a revoked session: %v", err)
	}
	if s, err := e.Store.GetSession(context.Background(), sid); err != nil || s.RevokedAt.IsZero() {
		t.Errorf("after the touch: %+v, %v", s, err)
	}
	e.wantSignIn(t, cookie, "a revoked session after a touch")
}

// signedNotice drops a notice over 300 characters, but the portal makes
// longer ones itself: "The endpoint <URL> was deleted." with a URL of up
// to webhooks.MaxURLLen (2048). The page then confirms nothing.
func TestReview18FixedLongNoticeIsDropped(t *testing.T) {
	e := New(t)
	_, ownerTk, cookie, csrf := e.paOwner(t, "r18-long")
	long := "http://127.0.0.1:9/" + strings.Repeat("a", 400)
	var wh struct{ ID string }
	e.Call(t, "POST", "/v1/webhooks", ownerTk, map[string]any{"url": long}).Want(t, http.StatusCreated, "").JSON(t, &wh)
	r := e.portalPost(t, cookie, "/portal/webhooks/"+wh.ID+"/delete", url.Values{"csrf": {csrf}}).Want(t, http.StatusSeeOther, "")
	body, _ := e.portalPage(t, cookie, r.Header.Get("Location"))
	if !strings.Contains(body, " was deleted.") {
		t.Errorf("deleting an endpoint with a %d-character URL shows no confirmation", len(long))
	}
}

package apitest

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// portalInvitation is an invitation as GET /v1/invitations lists it,
// with its assignments.
type portalInvitation struct {
	ID          string `json:"id"`
	Email       string `json:"email"`
	Status      string `json:"status"`
	MemberID    string `json:"memberId"`
	Assignments []struct {
		Role        string   `json:"role"`
		Permissions []string `json:"permissions"`
		Scope       string   `json:"scope"`
	} `json:"assignments"`
}

// portalInvitationTo is the invitation to email in the account of token
// (false when there is none).
func (e *Env) portalInvitationTo(t *testing.T, token, email string) (portalInvitation, bool) {
	t.Helper()
	var list struct {
		Items []portalInvitation `json:"items"`
	}
	e.Call(t, "GET", "/v1/invitations", token, nil).Want(t, http.StatusOK, "").JSON(t, &list)
	for _, inv := range list.Items {
		if inv.Email == email {
			return inv, true
		}
	}
	return portalInvitation{}, false
}

var (
	inviteControlID = regexp.MustCompile(`<input type="(?:checkbox|radio)" id="([^"]+)"`)
	inviteCheckName = regexp.MustCompile(`type="checkbox" id="[^"]+" name="(permission:[^"]+)" value="([^"]+)"`)
)

// wantLabelled fails unless every checkbox and radio button of page has
// a label.
func wantLabelled(t *testing.T, page string) {
	t.Helper()
	ids := inviteControlID.FindAllStringSubmatch(page, -1)
	if len(ids) == 0 {
		t.Fatalf("no checkboxes on the page: %s", page)
	}
	for _, m := range ids {
		if !strings.Contains(page, `for="`+m[1]+`"`) {
			t.Fatalf("control %s has no label: %s", m[1], page)
		}
	}
}

// offered is what the invite page's toggles offer: keys by place.
func offered(page string) map[string][]string {
	out := map[string][]string{}
	for _, m := range inviteCheckName.FindAllStringSubmatch(page, -1) {
		sc := html.UnescapeString(strings.TrimPrefix(m[1], "permission:"))
		out[sc] = append(out[sc], m[2])
	}
	return out
}

// TestPortalInviteWithPermissionToggles: the invite page offers a role or
// permissions of the member's own (toggles grouped by area, labelled,
// only what the inviter may grant at each place); inviting with toggles
// creates an invitation (through the API's operation) whose one
// assignment carries exactly the keys checked, and accepting it gives
// them; a store manager posting a key it may not grant, or a place it
// does not manage, is refused (403, the message next to the toggles) and
// nothing is created.
func TestPortalInviteWithPermissionToggles(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("pit-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "")
	cookie := e.enterPortal(t, e.mintPortalLink(t, ownerTk.AccessToken, owner.MemberID))

	// The owner's page: the choice, the role part, and toggles at every
	// place, grouped by area, each control labelled.
	body, csrf := e.portalPage(t, cookie, "/portal/invite")
	for _, want := range []string{
		`<legend>What they get</legend>`, `name="grant" value="role" checked`, `name="grant" value="permissions"`,
		`<legend>A role</legend>`, `<legend>Permissions of their own</legend>`, `<legend>Orders and sales</legend>`,
		`<legend class="visually-hidden">Permissions at Store: `,
	} {
		if !strings.Contains(body, want) {
			t.Fatalf("the owner's invite page lacks %s: %s", want, body)
		}
	}
	wantLabelled(t, body)
	ownerOffer := offered(body)
	for _, sc := range []string{"account", "store:s1", "store:s2"} {
		if !slices.Contains(ownerOffer[sc], "orders.view") || !slices.Contains(ownerOffer[sc], "reports.view") {
			t.Fatalf("the owner is not offered orders.view and reports.view at %s: %v", sc, ownerOffer)
		}
		// Reserved keys are never offered (they come with being an
		// administrator).
		if slices.Contains(ownerOffer[sc], "billing.manage") || slices.Contains(ownerOffer[sc], "ownership.transfer") {
			t.Fatalf("a reserved key is offered at %s: %v", sc, ownerOffer[sc])
		}
	}

	// Choosing permissions with none checked is refused next to them,
	// and nothing is created (the API would give the default grant).
	none := newEmail("pit-none")
	r := e.portalPost(t, cookie, "/portal/invite", url.Values{"csrf": {csrf}, "email": {none}, "grant": {"permissions"}, "role": {"team_member"}, "scope": {"store:s1"}}).Want(t, http.StatusBadRequest, "")
	if !strings.Contains(string(r.Body), `id="permissions-error">Choose at least one permission.`) {
		t.Fatalf("no error next to the toggles: %s", r.Body)
	}
	if _, ok := e.portalInvitationTo(t, ownerTk.AccessToken, none); ok {
		t.Fatalf("an invitation to %s was created without permissions", none)
	}
	// An unknown key is the API's 400, next to the toggles.
	r = e.portalPost(t, cookie, "/portal/invite", url.Values{"csrf": {csrf}, "email": {none}, "grant": {"permissions"}, "permission:store:s1": {"no.such_key"}}).Want(t, http.StatusBadRequest, "")
	if !strings.Contains(string(r.Body), `id="permissions-error"`) {
		t.Fatalf("no error next to the toggles for an unknown key: %s", r.Body)
	}

	// Invite with toggles at store s1 (the role part, also filled, is not
	// used): one invitation, one assignment, exactly those keys.
	email := newEmail("pit-member")
	since := time.Now()
	form := url.Values{"csrf": {csrf}, "email": {email}, "name": {"Tia Toggles"}, "grant": {"permissions"},
		"role": {"team_member"}, "scope": {"store:s2"}, "permission:store:s1": {"orders.view", "reports.view"}}
	r = e.portalPost(t, cookie, "/portal/invite", form).Want(t, http.StatusSeeOther, "")
	if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, "/portal/team?notice=") {
		t.Fatalf("invite redirects to %q", loc)
	}
	inv, ok := e.portalInvitationTo(t, ownerTk.AccessToken, email)
	if !ok || inv.Status != "pending" || len(inv.Assignments) != 1 {
		t.Fatalf("invitation %+v (found %v)", inv, ok)
	}
	a := inv.Assignments[0]
	if a.Role != "" || a.Scope != "store:s1" || !slices.Equal(slices.Sorted(slices.Values(a.Permissions)), []string{"orders.view", "reports.view"}) {
		t.Fatalf("the invitation's assignment %+v, want orders.view and reports.view at store:s1", a)
	}
	body, _ = e.portalPage(t, cookie, "/portal/team")
	if !strings.Contains(body, "Own permissions: ") || !strings.Contains(body, email) {
		t.Fatalf("the team page does not show the invitation's permissions: %s", body)
	}

	// Accepting it gives them: the member holds those keys at store s1
	// and nothing anywhere else.
	tok := e.TokenFromEmail(t, email, "invit", since)
	var acc accepted
	e.Call(t, "POST", "/v1/invitations/accept", "", map[string]string{"token": tok, "password": goodPassword}).Want(t, http.StatusOK, "").JSON(t, &acc)
	if acc.Member.ID != inv.MemberID || acc.Member.Status != "active" {
		t.Fatalf("accept %+v", acc)
	}
	var m struct {
		Assignments []struct {
			Role        string   `json:"role"`
			Permissions []string `json:"permissions"`
			Scope       string   `json:"scope"`
		} `json:"assignments"`
		EffectivePermissions []struct {
			Scope       string   `json:"scope"`
			Permissions []string `json:"permissions"`
		} `json:"effectivePermissions"`
	}
	e.Call(t, "GET", "/v1/users/"+acc.Member.ID, ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &m)
	if len(m.Assignments) != 1 || m.Assignments[0].Role != "" || m.Assignments[0].Scope != "store:s1" {
		t.Fatalf("the member's assignments %+v", m.Assignments)
	}
	held := map[string][]string{}
	for _, sp := range m.EffectivePermissions {
		if len(sp.Permissions) > 0 {
			held[sp.Scope] = slices.Sorted(slices.Values(sp.Permissions))
		}
	}
	if len(held) != 1 || !slices.Equal(held["store:s1"], []string{"orders.view", "reports.view"}) {
		t.Fatalf("the member's effective permissions %+v", m.EffectivePermissions)
	}

	// A store manager is offered only what it may grant: store s1, and
	// only keys it holds there.
	mgrID, mgrTk := e.join(t, ownerTk.AccessToken, newEmail("pit-mgr"), store1("manager"))
	mgrCookie := e.enterPortal(t, e.mintPortalLink(t, mgrTk.AccessToken, mgrID))
	body, mcsrf := e.portalPage(t, mgrCookie, "/portal/invite")
	wantLabelled(t, body)
	mgrOffer := offered(body)
	if len(mgrOffer) != 1 || !slices.Contains(mgrOffer["store:s1"], "orders.view") || slices.Contains(mgrOffer["store:s1"], "reports.view") {
		t.Fatalf("the manager's toggles %v, want store:s1 only, with orders.view and without reports.view", mgrOffer)
	}

	// A key it may not grant, posted anyway: 403, the ceiling's message
	// next to the toggles, nothing created.
	refused := newEmail("pit-refused")
	r = e.portalPost(t, mgrCookie, "/portal/invite", url.Values{"csrf": {mcsrf}, "email": {refused}, "grant": {"permissions"},
		"permission:store:s1": {"orders.view", "reports.view"}}).Want(t, http.StatusForbidden, "")
	page := string(r.Body)
	if !regexp.MustCompile(`id="permissions-error">[^<]*you lack reports\.view`).MatchString(page) || !strings.Contains(page, `role="alert"`) {
		t.Fatalf("the refusal's page: %s", page)
	}
	// A place it does not manage: 403 too.
	r = e.portalPost(t, mgrCookie, "/portal/invite", url.Values{"csrf": {mcsrf}, "email": {refused}, "grant": {"permissions"},
		"permission:store:s2": {"orders.view"}}).Want(t, http.StatusForbidden, "")
	if !strings.Contains(string(r.Body), `id="permissions-error"`) {
		t.Fatalf("the refusal's page at another store: %s", r.Body)
	}
	if inv, ok := e.portalInvitationTo(t, ownerTk.AccessToken, refused); ok {
		t.Fatalf("a refused invitation was created: %+v", inv)
	}
	var users struct {
		Items []struct {
			Email string `json:"email"`
		} `json:"items"`
	}
	e.Call(t, "GET", "/v1/users?status=invited", ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &users)
	for _, u := range users.Items {
		if u.Email == refused {
			t.Fatalf("a refused invitation created the member %s", refused)
		}
	}

	// What it may grant goes through.
	granted := newEmail("pit-granted")
	e.portalPost(t, mgrCookie, "/portal/invite", url.Values{"csrf": {mcsrf}, "email": {granted}, "grant": {"permissions"},
		"permission:store:s1": {"orders.view"}}).Want(t, http.StatusSeeOther, "")
	inv, ok = e.portalInvitationTo(t, ownerTk.AccessToken, granted)
	if !ok || len(inv.Assignments) != 1 || inv.Assignments[0].Scope != "store:s1" || !slices.Equal(inv.Assignments[0].Permissions, []string{"orders.view"}) {
		t.Fatalf("the manager's invitation %+v (found %v)", inv, ok)
	}
}

// TestPortalInviteTogglesInABrowser: in headless Chromium (no scripts),
// the owner invites with a permission toggle (choosing permissions,
// unfolding a place, ticking a key) and sees the error next to the
// toggles when none is ticked; the pages pass axe-core with the toggles
// unfolded.
func TestPortalInviteTogglesInABrowser(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("pitb-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "")
	b := newPortalBrowser(t)
	t.Cleanup(func() { t.Log("axe-core, per page:\n" + strings.Join(b.summary, "\n")) })

	b.enter(e.mintPortalLink(t, ownerTk.AccessToken, owner.MemberID).URL)

	// None ticked: the error next to the toggles.
	b.run("open the invite page", chromedp.Navigate(e.URL+"/portal/invite"))
	b.wantHeading("Invite a member")
	b.run("choose permissions, tick none",
		chromedp.SendKeys("#email", newEmail("pitb-none"), chromedp.ByID),
		chromedp.Click("#grant-permissions", chromedp.ByID),
		chromedp.Click("form.card button.primary", chromedp.ByQuery),
		chromedp.WaitVisible("#permissions-error", chromedp.ByID),
	)
	b.check("invite-toggles-error")

	// Tick orders.view at store s1 and send.
	email := newEmail("pitb-member")
	s1 := `input[name="permission:store:s1"]`
	b.run("open the invite page again", chromedp.Navigate(e.URL+"/portal/invite"))
	b.wantHeading("Invite a member")
	b.run("choose permissions at store s1",
		chromedp.SendKeys("#email", email, chromedp.ByID),
		chromedp.Click("#grant-permissions", chromedp.ByID),
		chromedp.Click(`details:has(`+s1+`) summary`, chromedp.ByQuery),
		chromedp.WaitVisible(s1+`[value="orders.view"]`, chromedp.ByQuery),
	)
	b.check("invite-toggles-open")
	b.run("tick orders.view and send",
		chromedp.Click(s1+`[value="orders.view"]`, chromedp.ByQuery),
		chromedp.Click("form.card button.primary", chromedp.ByQuery),
		chromedp.WaitVisible(".notice", chromedp.ByQuery),
	)
	b.wantHeading("Team")
	if body := b.body(); !strings.Contains(body, "An invitation was sent to "+email) || !strings.Contains(body, "Own permissions: orders.view") {
		t.Fatalf("after inviting: %s", body)
	}
	inv, ok := e.portalInvitationTo(t, ownerTk.AccessToken, email)
	if !ok || len(inv.Assignments) != 1 || inv.Assignments[0].Scope != "store:s1" || !slices.Equal(inv.Assignments[0].Permissions, []string{"orders.view"}) {
		t.Fatalf("the invitation %+v (found %v)", inv, ok)
	}
}

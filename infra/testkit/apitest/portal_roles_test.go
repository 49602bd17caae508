package apitest

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var portalVersionField = regexp.MustCompile(`name="version" value="([0-9]+)"`)

// rolesPortalVersion is the first version field of a portal page.
func rolesPortalVersion(t *testing.T, body string) string {
	t.Helper()
	m := portalVersionField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no version field in %s", body)
	}
	return m[1]
}

// TestPortalRoles: the roles section creates, changes and deletes a
// custom role through its forms (CSRF checked, the API's errors next to
// the fields); a team member sees no Roles link and is refused; the
// member page's permission toggles and notifications save through the
// members service, as GET /v1/users/{id} shows.
func TestPortalRoles(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("portal-roles"))
	ownerTk := e.login(t, owner.Email, goodPassword, "")
	memberID, memberTk := e.join(t, ownerTk.AccessToken, newEmail("portal-roles-m"), store1("team_member"))
	cookie := e.enterPortal(t, e.mintPortalLink(t, ownerTk.AccessToken, owner.MemberID))

	body, csrf := e.portalPage(t, cookie, "/portal/team")
	if !strings.Contains(body, `href="/portal/roles"`) {
		t.Fatalf("the owner's team page has no Roles link: %s", body)
	}
	body, _ = e.portalPage(t, cookie, "/portal/roles")
	if !strings.Contains(body, "Built-in roles") || !strings.Contains(body, "Team member") {
		t.Fatalf("roles page: %s", body)
	}
	e.portalPage(t, cookie, "/portal/roles/new")

	// CSRF: missing and forged tokens are refused; nothing is created.
	create := url.Values{"id": {"auditor"}, "name": {"Auditor"}, "permission": {"orders.view"}, "scopeKind": {"store"}}
	e.portalPost(t, cookie, "/portal/roles/new", create).Want(t, http.StatusForbidden, "")
	create.Set("csrf", "forged"+csrf)
	e.portalPost(t, cookie, "/portal/roles/new", create).Want(t, http.StatusForbidden, "")
	e.Call(t, "GET", "/v1/roles/auditor", ownerTk.AccessToken, nil).Want(t, http.StatusNotFound, "")

	// The API's errors, next to the field.
	create.Set("csrf", csrf)
	bad := url.Values{"csrf": {csrf}, "id": {"auditor"}, "name": {"Auditor"}, "permission": {"nothing.there"}}
	r := e.portalPost(t, cookie, "/portal/roles/new", bad).Want(t, http.StatusBadRequest, "")
	if !strings.Contains(string(r.Body), `id="perm-permission-error"`) {
		t.Fatalf("unknown permission not shown at the permissions: %s", r.Body)
	}

	// Create, then edit.
	r = e.portalPost(t, cookie, "/portal/roles/new", create).Want(t, http.StatusSeeOther, "")
	if !strings.HasPrefix(r.Header.Get("Location"), "/portal/roles?notice=") {
		t.Fatalf("create redirects to %q", r.Header.Get("Location"))
	}
	var role struct {
		Name        string   `json:"name"`
		Permissions []string `json:"permissions"`
		ScopeKinds  []string `json:"scopeKinds"`
	}
	e.Call(t, "GET", "/v1/roles/auditor", ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &role)
	if role.Name != "Auditor" || !slices.Equal(role.Permissions, []string{"orders.view"}) || !slices.Equal(role.ScopeKinds, []string{"store"}) {
		t.Fatalf("created role %+v", role)
	}
	body, _ = e.portalPage(t, cookie, "/portal/roles")
	if !strings.Contains(body, "Auditor") || !strings.Contains(body, "/portal/roles/auditor/edit") {
		t.Fatalf("roles page lacks the custom role: %s", body)
	}
	body, _ = e.portalPage(t, cookie, "/portal/roles/auditor/edit")
	edit := url.Values{"csrf": {csrf}, "version": {rolesPortalVersion(t, body)}, "name": {"Auditor 2"}, "permission": {"orders.view", "stock.view"}, "scopeKind": {"store", "account"}}
	e.portalPost(t, cookie, "/portal/roles/auditor/edit", edit).Want(t, http.StatusSeeOther, "")
	e.Call(t, "GET", "/v1/roles/auditor", ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &role)
	if role.Name != "Auditor 2" || !slices.Contains(role.Permissions, "stock.view") {
		t.Fatalf("edited role %+v", role)
	}
	// A stale version is the API's 412.
	e.portalPost(t, cookie, "/portal/roles/auditor/edit", edit).Want(t, http.StatusPreconditionFailed, "")
	// Built-in roles have no form.
	e.Call(t, "GET", "/portal/roles/team_member/edit", "", nil, "Cookie", cookie).Want(t, http.StatusNotFound, "")

	// A team member: no Roles link, no pages, refused POSTs.
	memberCookie := e.enterPortal(t, e.mintPortalLink(t, memberTk.AccessToken, memberID))
	// (a team member may not list the team: the page says so, 403)
	mr := e.Call(t, "GET", "/portal/team", "", nil, "Cookie", memberCookie)
	body = string(mr.Body)
	mm := csrfField.FindStringSubmatch(body)
	if mm == nil {
		t.Fatalf("no CSRF token on the team member's page: %s", body)
	}
	mcsrf := html.UnescapeString(mm[1])
	if strings.Contains(body, `href="/portal/roles"`) {
		t.Fatalf("a team member sees the Roles link: %s", body)
	}
	e.Call(t, "GET", "/portal/roles", "", nil, "Cookie", memberCookie).Want(t, http.StatusNotFound, "")
	sneak := url.Values{"csrf": {mcsrf}, "id": {"sneak"}, "name": {"Sneak"}, "permission": {"orders.view"}}
	if r := e.portalPost(t, memberCookie, "/portal/roles/new", sneak); r.Status != http.StatusForbidden && r.Status != http.StatusNotFound {
		t.Fatalf("a team member's create: %d", r.Status)
	}
	e.Call(t, "GET", "/v1/roles/sneak", ownerTk.AccessToken, nil).Want(t, http.StatusNotFound, "")
	for _, p := range []string{"/portal/roles/auditor/edit", "/portal/roles/auditor/delete"} {
		if r := e.portalPost(t, memberCookie, p, url.Values{"csrf": {mcsrf}, "confirm": {"yes"}, "members": {"remove"}, "name": {"x"}, "permission": {"orders.view"}}); r.Status != http.StatusForbidden && r.Status != http.StatusNotFound {
			t.Fatalf("a team member's POST %s: %d", p, r.Status)
		}
	}
	// Nor may it toggle its own permissions.
	if r := e.portalPost(t, memberCookie, "/portal/members/"+memberID+"/permissions", url.Values{"csrf": {mcsrf}, "version": {"1"}, "scope": {"store:s1"}, "permission": {"reports.view"}}); r.Status != http.StatusForbidden && r.Status != http.StatusNotFound && r.Status != http.StatusPreconditionFailed && r.Status != http.StatusConflict {
		t.Fatalf("a team member's toggles: %d", r.Status)
	}

	// Delete through the confirmation page, reassigning its holders.
	body, _ = e.portalPage(t, cookie, "/portal/roles/auditor/delete")
	if !strings.Contains(body, `name="to"`) {
		t.Fatalf("delete page: %s", body)
	}
	e.portalPost(t, cookie, "/portal/roles/auditor/delete", url.Values{"csrf": {csrf}, "members": {"reassign"}, "to": {"team_member"}}).Want(t, http.StatusSeeOther, "")
	e.Call(t, "GET", "/v1/roles/auditor", ownerTk.AccessToken, nil).Want(t, http.StatusOK, "") // not confirmed
	e.portalPost(t, cookie, "/portal/roles/auditor/delete", url.Values{"csrf": {"forged"}, "confirm": {"yes"}, "members": {"remove"}}).Want(t, http.StatusForbidden, "")
	e.portalPost(t, cookie, "/portal/roles/auditor/delete", url.Values{"csrf": {csrf}, "confirm": {"yes"}, "members": {"reassign"}, "to": {"team_member"}}).Want(t, http.StatusSeeOther, "")
	e.Call(t, "GET", "/v1/roles/auditor", ownerTk.AccessToken, nil).Want(t, http.StatusNotFound, "")

	// Toggles on the member page, saved and visible in effectivePermissions.
	body, _ = e.portalPage(t, cookie, "/portal/members/"+memberID)
	if !strings.Contains(body, "/portal/members/"+memberID+"/permissions") || !strings.Contains(body, `value="reports.view"`) {
		t.Fatalf("member page has no toggles: %s", body)
	}
	version := rolesPortalVersion(t, body)
	e.portalPost(t, cookie, "/portal/members/"+memberID+"/permissions", url.Values{"version": {version}, "scope": {"store:s1"}, "permission": {"reports.view"}}).Want(t, http.StatusForbidden, "")
	e.portalPost(t, cookie, "/portal/members/"+memberID+"/permissions", url.Values{"csrf": {csrf}, "version": {version}, "scope": {"store:s1"}, "permission": {"reports.view"}}).Want(t, http.StatusSeeOther, "")
	var detail struct {
		Version              int64 `json:"version"`
		EffectivePermissions []struct {
			Scope       string   `json:"scope"`
			Permissions []string `json:"permissions"`
		} `json:"effectivePermissions"`
		Notifications map[string]bool `json:"notifications"`
	}
	e.Call(t, "GET", "/v1/users/"+memberID, ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &detail)
	found := false
	for _, sp := range detail.EffectivePermissions {
		if sp.Scope == "store:s1" && slices.Contains(sp.Permissions, "reports.view") {
			found = true
		}
	}
	if !found {
		t.Fatalf("effectivePermissions lack the toggle: %+v", detail.EffectivePermissions)
	}
	body, _ = e.portalPage(t, cookie, "/portal/members/"+memberID)
	if !regexp.MustCompile(`value="reports.view" checked`).MatchString(body) {
		t.Fatalf("the toggle is not shown checked: %s", body)
	}

	// Notifications: only approval reminders kept.
	version = rolesPortalVersion(t, body)
	e.portalPost(t, cookie, "/portal/members/"+memberID+"/notifications", url.Values{"csrf": {csrf}, "version": {version}, "notifications": {"set"}, "approvalReminders": {"on"}}).Want(t, http.StatusSeeOther, "")
	e.Call(t, "GET", "/v1/users/"+memberID, ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &detail)
	n := detail.Notifications
	if !n["approvalReminders"] || n["lowStock"] || n["duePurchaseOrders"] || n["paymentReminders"] {
		t.Fatalf("notifications %+v", n)
	}
}

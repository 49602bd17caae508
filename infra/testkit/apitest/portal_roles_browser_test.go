package apitest

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestPortalRolesInABrowser drives the roles section in headless
// Chromium: the owner creates a custom role, edits it, gives a member
// permission toggles on the member page and sets their notifications,
// then deletes the role through its confirmation. Every page is
// screenshotted under .artifacts/portal/ and checked with axe-core.
func TestPortalRolesInABrowser(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("pbr-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "")
	memberID, _ := e.join(t, ownerTk.AccessToken, newEmail("pbr-member"), store1("team_member"))
	b := newPortalBrowser(t)
	t.Cleanup(func() { t.Log("axe-core, per page:\n" + strings.Join(b.summary, "\n")) })

	b.enter(e.mintPortalLink(t, ownerTk.AccessToken, owner.MemberID).URL)
	b.run("open the roles", chromedp.Click(`nav a[href="/portal/roles"]`, chromedp.ByQuery))
	b.wantHeading("Roles")
	b.check("roles")

	// A new role: an unknown id first shows the API's error next to it.
	b.run("open the new role form", chromedp.Click(`a[href="/portal/roles/new"]`, chromedp.ByQuery))
	b.wantHeading("New role")
	b.check("role-new")
	b.run("fill the role",
		chromedp.SendKeys("#id", "Bad Id", chromedp.ByID),
		chromedp.SendKeys("#name", "Stock checker", chromedp.ByID),
		chromedp.Click("#perm-stock-view", chromedp.ByID),
		chromedp.Click("#kind-store", chromedp.ByID),
		chromedp.Click("form.card button.primary", chromedp.ByQuery),
		chromedp.WaitVisible(".field-error", chromedp.ByQuery),
	)
	b.check("role-new-error")
	b.run("fix the id",
		chromedp.SetValue("#id", "stock_checker", chromedp.ByID),
		chromedp.Click("form.card button.primary", chromedp.ByQuery),
		chromedp.WaitVisible(".notice", chromedp.ByQuery),
	)
	b.wantHeading("Roles")
	if !strings.Contains(b.body(), "The role Stock checker was created.") {
		t.Fatalf("after creating: %s", b.body())
	}
	b.check("roles-created")
	var role struct {
		Permissions []string `json:"permissions"`
	}
	e.Call(t, "GET", "/v1/roles/stock_checker", ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &role)
	if !slices.Equal(role.Permissions, []string{"stock.view"}) {
		t.Fatalf("created role %+v", role)
	}

	// Edit it: add orders.view.
	b.run("open the edit form", chromedp.Click(`a[href="/portal/roles/stock_checker/edit"]`, chromedp.ByQuery))
	b.wantHeading("Edit Stock checker")
	b.check("role-edit")
	b.run("add a permission",
		chromedp.Click("#perm-orders-view", chromedp.ByID),
		chromedp.Click("form.card button.primary", chromedp.ByQuery),
		chromedp.WaitVisible(".notice", chromedp.ByQuery),
	)
	e.Call(t, "GET", "/v1/roles/stock_checker", ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &role)
	if !slices.Contains(role.Permissions, "orders.view") {
		t.Fatalf("edited role %+v", role)
	}

	// The member's toggles at store s1 and their notifications.
	b.run("open the member", chromedp.Navigate(e.URL+"/portal/members/"+memberID))
	b.run("wait for the toggles", chromedp.WaitVisible(`form[action$="/permissions"]`, chromedp.ByQuery))
	b.check("member-extra")
	b.run("toggle reports.view at s1",
		chromedp.Click(`details:has(input[name=scope][value="store:s1"]) summary`, chromedp.ByQuery),
		chromedp.Click(`form:has(input[name=scope][value="store:s1"]) input[value="reports.view"]`, chromedp.ByQuery),
		chromedp.Click(`form:has(input[name=scope][value="store:s1"]) button.primary`, chromedp.ByQuery),
		chromedp.WaitVisible(".notice", chromedp.ByQuery),
	)
	if !strings.Contains(b.body(), "The permissions were saved.") {
		t.Fatalf("after the toggles: %s", b.body())
	}
	var detail struct {
		EffectivePermissions []struct {
			Scope       string   `json:"scope"`
			Permissions []string `json:"permissions"`
		} `json:"effectivePermissions"`
		Notifications map[string]bool `json:"notifications"`
	}
	e.Call(t, "GET", "/v1/users/"+memberID, ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &detail)
	found := false
	for _, sp := range detail.EffectivePermissions {
		found = found || (sp.Scope == "store:s1" && slices.Contains(sp.Permissions, "reports.view"))
	}
	if !found {
		t.Fatalf("effectivePermissions %+v", detail.EffectivePermissions)
	}
	was := detail.Notifications["lowStock"]
	b.run("flip low stock emails",
		chromedp.Click("#notify-lowStock", chromedp.ByID),
		chromedp.Click(`form[action$="/notifications"] button.primary`, chromedp.ByQuery),
		chromedp.WaitVisible(".notice", chromedp.ByQuery),
	)
	b.check("member-extra-saved")
	e.Call(t, "GET", "/v1/users/"+memberID, ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &detail)
	if detail.Notifications["lowStock"] == was {
		t.Fatalf("low stock notifications still %v", was)
	}

	// Delete the role after its confirmation.
	b.run("ask to delete", chromedp.Navigate(e.URL+"/portal/roles"), chromedp.Click(`a[href="/portal/roles/stock_checker/delete"]`, chromedp.ByQuery))
	b.wantHeading("Delete Stock checker")
	b.check("role-delete")
	b.run("confirm", chromedp.Click("form.card button.danger", chromedp.ByQuery), chromedp.WaitVisible(".notice", chromedp.ByQuery))
	b.wantHeading("Roles")
	e.Call(t, "GET", "/v1/roles/stock_checker", ownerTk.AccessToken, nil).Want(t, http.StatusNotFound, "")
}

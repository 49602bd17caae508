package apitest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestPortalSettingsInABrowser drives the settings, audit and webhooks
// sections in headless Chromium as the owner: add a store, change the
// alert hour, filter the audit log, open the webhooks pages. Every page is
// screenshotted under .artifacts/portal/ (settings-*) and checked with
// axe-core.
func TestPortalSettingsInABrowser(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("psb-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "")
	b := newPortalBrowser(t)
	t.Cleanup(func() { t.Log("axe-core, per page:\n" + strings.Join(b.summary, "\n")) })

	link := e.mintPortalLink(t, ownerTk.AccessToken, owner.MemberID)
	b.enter(link.URL)
	b.run("open the settings", chromedp.Click(`nav a[href="/portal/settings"]`, chromedp.ByQuery))
	b.wantHeading("Settings")
	b.check("settings")

	// Add a store.
	b.run("open the store form", chromedp.Click(`a.button[href="/portal/settings/items?kind=stores"]`, chromedp.ByQuery))
	b.wantHeading("Add a store")
	b.check("settings-store-new")
	b.run("fill the store",
		chromedp.SendKeys("#id", "s7", chromedp.ByID),
		chromedp.SendKeys("#name", "Seventh Street", chromedp.ByID),
		chromedp.SendKeys("#address", "7 Seventh St", chromedp.ByID),
		chromedp.Click("form.card button.primary", chromedp.ByQuery),
		chromedp.WaitVisible(".notice", chromedp.ByQuery),
	)
	b.wantHeading("Settings")
	if body := b.body(); !strings.Contains(body, "The store Seventh Street was added.") || !strings.Contains(body, "7 Seventh St") {
		t.Fatalf("after adding the store: %s", body)
	}
	e.Call(t, "GET", "/v1/stores/s7", ownerTk.AccessToken, nil).Want(t, http.StatusOK, "")
	b.check("settings-store-added")

	// Change the alert hour; a wrong one first shows its error.
	b.run("a wrong alert hour",
		chromedp.SetValue("#alertHour", "31", chromedp.ByID),
		chromedp.Click(`form[action="/portal/settings"] button.primary`, chromedp.ByQuery),
		chromedp.WaitVisible("#alertHour-error", chromedp.ByID),
	)
	b.check("settings-error")
	b.run("change the alert hour",
		chromedp.SetValue("#alertHour", "10", chromedp.ByID),
		chromedp.Click(`form[action="/portal/settings"] button.primary`, chromedp.ByQuery),
		chromedp.WaitVisible(".notice", chromedp.ByQuery),
	)
	var acct struct {
		Settings struct {
			AlertHour int `json:"alertHour"`
		} `json:"settings"`
	}
	e.Call(t, "GET", "/v1/account", ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &acct)
	if acct.Settings.AlertHour != 10 {
		t.Fatalf("alert hour %d", acct.Settings.AlertHour)
	}
	b.check("settings-saved")

	// Filter the audit log.
	b.run("open the audit log", chromedp.Click(`nav a[href="/portal/audit"]`, chromedp.ByQuery))
	b.wantHeading("Audit log")
	b.check("settings-audit")
	b.run("filter by action",
		chromedp.SendKeys("#action", "store.create", chromedp.ByID),
		chromedp.Submit("#action", chromedp.ByID),
	)
	b.waitURL("action=store.create")
	b.wantHeading("Audit log")
	body := b.body()
	if !strings.Contains(body, "store:s7") || strings.Contains(body, "account.update") {
		t.Fatalf("filtered audit log: %s", body)
	}
	b.check("settings-audit-filtered")

	// The webhooks pages.
	b.run("open the webhooks", chromedp.Click(`nav a[href="/portal/webhooks"]`, chromedp.ByQuery))
	b.wantHeading("Webhooks")
	b.check("settings-webhooks")
	b.run("add an endpoint",
		chromedp.SendKeys("#url", "http://127.0.0.1:9/hook", chromedp.ByID),
		chromedp.Click(`form[action="/portal/webhooks"] button.primary`, chromedp.ByQuery),
		chromedp.WaitVisible("#webhook-secret", chromedp.ByID),
	)
	b.check("settings-webhook-secret")
	b.run("open the endpoint", chromedp.Click(`td a[href^="/portal/webhooks/"]`, chromedp.ByQuery))
	b.wantHeading("Webhook endpoint")
	b.check("settings-webhook")
	b.run("ask to delete", chromedp.Click(`a.button.danger`, chromedp.ByQuery))
	b.wantHeading("Delete the endpoint")
	b.check("settings-webhook-delete")
}

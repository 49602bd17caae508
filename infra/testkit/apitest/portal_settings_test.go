package apitest

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stewardhq/steward/pkg/audit"
)

var (
	settingsInput    = regexp.MustCompile(`<input[^>]*\sname="([^"]+)"[^>]*>`)
	settingsValue    = regexp.MustCompile(`\svalue="([^"]*)"`)
	settingsSelect   = regexp.MustCompile(`(?s)<select[^>]*\sname="([^"]+)"[^>]*>(.*?)</select>`)
	settingsSelected = regexp.MustCompile(`<option value="([^"]*)" selected`)
)

// settingsFormValues reads the values the form posting to action would
// submit as the page shows it (inputs, checked boxes, selected options).
func settingsFormValues(t *testing.T, body, action string) url.Values {
	t.Helper()
	i := strings.Index(body, `action="`+action+`"`)
	if i < 0 {
		t.Fatalf("no form posting to %s in %s", action, body)
	}
	form := body[i:]
	form = form[:strings.Index(form, "</form>")]
	v := url.Values{}
	for _, m := range settingsInput.FindAllStringSubmatch(form, -1) {
		tag := m[0]
		if strings.Contains(tag, `type="checkbox"`) && !strings.Contains(tag, " checked") {
			continue
		}
		val := ""
		if vm := settingsValue.FindStringSubmatch(tag); vm != nil {
			val = html.UnescapeString(vm[1])
		} else if strings.Contains(tag, `type="checkbox"`) {
			val = "on"
		}
		v.Add(m[1], val)
	}
	for _, m := range settingsSelect.FindAllStringSubmatch(form, -1) {
		if sm := settingsSelected.FindStringSubmatch(m[2]); sm != nil {
			v.Set(m[1], html.UnescapeString(sm[1]))
		}
	}
	return v
}

// TestPortalSettingsSections: the settings, audit and webhooks sections
// are offered only to members the API lets use them; each form works with
// its CSRF token (and not with a forged one), goes through the API's
// operation (audited, version-checked) and shows its errors next to its
// fields.
func TestPortalSettingsSections(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("ps-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "")
	fullID, fullTk := e.join(t, ownerTk.AccessToken, newEmail("ps-full"), map[string]any{"assignments": []map[string]string{{"role": "full_access", "scope": "account"}}})
	mgrID, mgrTk := e.join(t, ownerTk.AccessToken, newEmail("ps-mgr"), store1("manager"))
	ownerCookie := e.enterPortal(t, e.mintPortalLink(t, ownerTk.AccessToken, owner.MemberID))
	fullCookie := e.enterPortal(t, e.mintPortalLink(t, fullTk.AccessToken, fullID))
	mgrCookie := e.enterPortal(t, e.mintPortalLink(t, mgrTk.AccessToken, mgrID))

	// Navigation: the owner sees the three sections; full access sees
	// settings and audit (not webhooks: webhooks.manage is critical); a
	// store manager none, and gets 403 pages.
	body, _ := e.portalPage(t, ownerCookie, "/portal/team")
	for _, href := range []string{`href="/portal/settings"`, `href="/portal/audit"`, `href="/portal/webhooks"`} {
		if !strings.Contains(body, href) {
			t.Errorf("owner's navigation lacks %s", href)
		}
	}
	body, _ = e.portalPage(t, fullCookie, "/portal/team")
	if !strings.Contains(body, `href="/portal/settings"`) || !strings.Contains(body, `href="/portal/audit"`) || strings.Contains(body, `href="/portal/webhooks"`) {
		t.Errorf("full access's navigation: %s", body)
	}
	body, mgrCSRF := e.portalPage(t, mgrCookie, "/portal/team")
	for _, href := range []string{`href="/portal/settings"`, `href="/portal/audit"`, `href="/portal/webhooks"`} {
		if strings.Contains(body, href) {
			t.Errorf("the manager's navigation offers %s", href)
		}
	}
	for _, path := range []string{"/portal/settings", "/portal/settings/items?kind=stores", "/portal/settings/items/s1?kind=stores", "/portal/audit", "/portal/webhooks"} {
		e.Call(t, "GET", path, "", nil, "Cookie", mgrCookie).Want(t, http.StatusForbidden, "")
	}
	before := e.auditCount(t, owner.AccountID)
	e.portalPost(t, mgrCookie, "/portal/settings", url.Values{"csrf": {mgrCSRF}, "name": {"Hijacked"}, "alertHour": {"3"}, "timeZone": {"UTC"}}).Want(t, http.StatusForbidden, "")
	e.portalPost(t, mgrCookie, "/portal/settings/items?kind=stores", url.Values{"csrf": {mgrCSRF}, "id": {"s66"}, "name": {"Nope"}}).Want(t, http.StatusForbidden, "")
	e.portalPost(t, mgrCookie, "/portal/webhooks", url.Values{"csrf": {mgrCSRF}, "url": {"http://127.0.0.1:9/hook"}}).Want(t, http.StatusForbidden, "")
	if after := e.auditCount(t, owner.AccountID); after != before {
		t.Fatalf("refused forms changed something: %d -> %d audit events", before, after)
	}

	// The owner changes the alert hour with the page's form.
	body, csrf := e.portalPage(t, ownerCookie, "/portal/settings")
	form := settingsFormValues(t, body, "/portal/settings")
	if form.Get("version") == "" || form.Get("csrf") != csrf || form.Get("invitationTtlHours") == "" {
		t.Fatalf("settings form %v", form)
	}
	stale := url.Values{}
	for k, v := range form {
		stale[k] = v
	}
	// A forged token is refused, and changes nothing.
	form.Set("alertHour", "9")
	form.Set("csrf", "forged")
	e.portalPost(t, ownerCookie, "/portal/settings", form).Want(t, http.StatusForbidden, "")
	form.Set("csrf", csrf)
	// A bad value: the error next to its field.
	form.Set("alertHour", "25")
	r := e.portalPost(t, ownerCookie, "/portal/settings", form).Want(t, http.StatusBadRequest, "")
	if !strings.Contains(string(r.Body), `id="alertHour-error"`) {
		t.Fatalf("no error next to the alert hour: %s", r.Body)
	}
	form.Set("accentColor", "blue")
	form.Set("alertHour", "9")
	r = e.portalPost(t, ownerCookie, "/portal/settings", form).Want(t, http.StatusBadRequest, "")
	if !strings.Contains(string(r.Body), `id="accentColor-error"`) {
		t.Fatalf("no error next to the accent colour: %s", r.Body)
	}
	form.Set("accentColor", "")
	r = e.portalPost(t, ownerCookie, "/portal/settings", form).Want(t, http.StatusSeeOther, "")
	if !strings.HasPrefix(r.Header.Get("Location"), "/portal/settings?notice=") {
		t.Fatalf("settings redirect to %q", r.Header.Get("Location"))
	}
	var acct struct {
		Settings struct {
			AlertHour int `json:"alertHour"`
		} `json:"settings"`
	}
	e.Call(t, "GET", "/v1/account", ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &acct)
	if acct.Settings.AlertHour != 9 {
		t.Fatalf("alert hour %d after the form", acct.Settings.AlertHour)
	}
	// The change is in the audit log (and the audit page finds it).
	page, err := e.Store.ListAudit(context.Background(), owner.AccountID, audit.Filter{Action: "account.update"}, 50, "")
	if err != nil || len(page.Items) == 0 || page.Items[0].ActorID != owner.MemberID {
		t.Fatalf("account.update in the audit log: %+v %v", page.Items, err)
	}
	body, _ = e.portalPage(t, ownerCookie, "/portal/audit?action=account.update&actor="+owner.MemberID)
	if !strings.Contains(body, "account.update") || !strings.Contains(body, "account:"+owner.AccountID) {
		t.Fatalf("audit page: %s", body)
	}
	// The form read before that change is stale now.
	stale.Set("name", "Stale name")
	r = e.portalPost(t, ownerCookie, "/portal/settings", stale).Want(t, http.StatusPreconditionFailed, "")
	if !strings.Contains(string(r.Body), "changed meanwhile") {
		t.Fatalf("stale form: %s", r.Body)
	}
	// Audit filters: a bad one is shown next to its field.
	r = e.Call(t, "GET", "/portal/audit?from=yesterday", "", nil, "Cookie", ownerCookie).Want(t, http.StatusBadRequest, "")
	if !strings.Contains(string(r.Body), `id="from-error"`) {
		t.Fatalf("bad from: %s", r.Body)
	}
	r = e.Call(t, "GET", "/portal/audit?target=nocolon", "", nil, "Cookie", ownerCookie).Want(t, http.StatusBadRequest, "")
	if !strings.Contains(string(r.Body), `id="target-error"`) {
		t.Fatalf("bad target: %s", r.Body)
	}

	// Full access: the policies are read-only with a note; the rest can
	// change.
	body, fullCSRF := e.portalPage(t, fullCookie, "/portal/settings")
	if strings.Contains(body, `name="invitationTtlHours"`) || !strings.Contains(body, "policies.manage") {
		t.Fatalf("full access sees the policies editable: %s", body)
	}
	form = settingsFormValues(t, body, "/portal/settings")
	form.Set("timeZone", "Europe/Berlin")
	e.portalPost(t, fullCookie, "/portal/settings", form).Want(t, http.StatusSeeOther, "")
	// A policy field posted anyway is ignored, not applied.
	body, _ = e.portalPage(t, fullCookie, "/portal/settings")
	form = settingsFormValues(t, body, "/portal/settings")
	form.Set("csrf", fullCSRF)
	form.Set("lockAfterDays", "30")
	e.portalPost(t, fullCookie, "/portal/settings", form).Want(t, http.StatusSeeOther, "")
	var acct2 struct {
		Settings struct {
			TimeZone      string `json:"timeZone"`
			LockAfterDays int    `json:"lockAfterDays"`
		} `json:"settings"`
	}
	e.Call(t, "GET", "/v1/account", ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &acct2)
	if acct2.Settings.TimeZone != "Europe/Berlin" || acct2.Settings.LockAfterDays != 0 {
		t.Fatalf("after full access's forms: %+v", acct2.Settings)
	}

	// Stores: add, a taken id, edit (and a stale edit).
	_, csrf = e.portalPage(t, ownerCookie, "/portal/settings/items?kind=stores")
	e.portalPost(t, ownerCookie, "/portal/settings/items?kind=stores", url.Values{"csrf": {csrf}, "id": {"s9"}, "name": {"Ninth Street"}, "address": {"9 Ninth St"}, "timeZone": {"Europe/Paris"}}).Want(t, http.StatusSeeOther, "")
	e.Call(t, "GET", "/v1/stores/s9", ownerTk.AccessToken, nil).Want(t, http.StatusOK, "")
	r = e.portalPost(t, ownerCookie, "/portal/settings/items?kind=stores", url.Values{"csrf": {csrf}, "id": {"s9"}, "name": {"Again"}}).Want(t, http.StatusPreconditionRequired, "")
	if !strings.Contains(string(r.Body), `id="id-error"`) {
		t.Fatalf("taken id: %s", r.Body)
	}
	r = e.portalPost(t, ownerCookie, "/portal/settings/items?kind=stores", url.Values{"csrf": {csrf}, "id": {"s10"}, "name": {""}, "timeZone": {"Mars/Base"}}).Want(t, http.StatusBadRequest, "")
	if !strings.Contains(string(r.Body), `id="name-error"`) && !strings.Contains(string(r.Body), `id="timeZone-error"`) {
		t.Fatalf("bad store: %s", r.Body)
	}
	body, _ = e.portalPage(t, ownerCookie, "/portal/settings/items/s9?kind=stores")
	edit := settingsFormValues(t, body, "/portal/settings/items/s9?kind=stores")
	staleEdit := url.Values{}
	for k, v := range edit {
		staleEdit[k] = v
	}
	edit.Set("name", "Ninth Avenue")
	e.portalPost(t, ownerCookie, "/portal/settings/items/s9?kind=stores", edit).Want(t, http.StatusSeeOther, "")
	body, _ = e.portalPage(t, ownerCookie, "/portal/settings")
	if !strings.Contains(body, "Ninth Avenue") {
		t.Fatalf("settings page lacks the store: %s", body)
	}
	staleEdit.Set("name", "Old")
	r = e.portalPost(t, ownerCookie, "/portal/settings/items/s9?kind=stores", staleEdit).Want(t, http.StatusPreconditionFailed, "")
	if !strings.Contains(string(r.Body), "changed meanwhile") {
		t.Fatalf("stale store: %s", r.Body)
	}
	// Departments and suppliers.
	e.portalPost(t, ownerCookie, "/portal/settings/items?kind=departments", url.Values{"csrf": {csrf}, "id": {"d1"}, "name": {"Sales"}, "kind": {"sales"}}).Want(t, http.StatusSeeOther, "")
	e.portalPost(t, ownerCookie, "/portal/settings/items?kind=suppliers", url.Values{"csrf": {csrf}, "id": {"p1"}, "name": {"Acme"}}).Want(t, http.StatusSeeOther, "")
	e.Call(t, "GET", "/v1/departments/d1", ownerTk.AccessToken, nil).Want(t, http.StatusOK, "")
	e.Call(t, "GET", "/v1/suppliers/p1", ownerTk.AccessToken, nil).Want(t, http.StatusOK, "")
	for _, action := range []string{"store.create", "store.replace", "department.create", "supplier.create"} {
		if e.auditCountAction(t, owner.AccountID, action) == 0 {
			t.Errorf("no %s in the audit log", action)
		}
	}

	// Webhooks: create (the secret shown once), edit, rotate, deliveries,
	// replay, delete after confirmation.
	_, csrf = e.portalPage(t, ownerCookie, "/portal/webhooks")
	r = e.portalPost(t, ownerCookie, "/portal/webhooks", url.Values{"csrf": {csrf}, "url": {"https://10.1.2.3/"}}).Want(t, http.StatusBadRequest, "")
	if !strings.Contains(string(r.Body), `id="url-error"`) {
		t.Fatalf("bad webhook URL: %s", r.Body)
	}
	r = e.portalPost(t, ownerCookie, "/portal/webhooks", url.Values{"csrf": {csrf}, "url": {"http://127.0.0.1:9/hook"}, "description": {"CRM"}, "types": {"member.invited", "account.updated"}}).Want(t, http.StatusOK, "")
	if !strings.Contains(string(r.Body), "whsec_") || !strings.Contains(string(r.Body), "shown this once") {
		t.Fatalf("created webhook page: %s", r.Body)
	}
	var hooks struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	e.Call(t, "GET", "/v1/webhooks", ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &hooks)
	if len(hooks.Items) != 1 {
		t.Fatalf("webhooks %+v", hooks)
	}
	id := hooks.Items[0].ID
	body, _ = e.portalPage(t, ownerCookie, "/portal/webhooks/"+id)
	if strings.Contains(body, "whsec_") {
		t.Fatalf("the secret is shown again: %s", body)
	}
	wf := settingsFormValues(t, body, "/portal/webhooks/"+id)
	wf.Set("description", "CRM sync")
	wf.Set("status", "disabled")
	e.portalPost(t, ownerCookie, "/portal/webhooks/"+id, wf).Want(t, http.StatusSeeOther, "")
	r = e.portalPost(t, ownerCookie, "/portal/webhooks/"+id+"/rotate-secret", url.Values{"csrf": {csrf}}).Want(t, http.StatusOK, "")
	if !strings.Contains(string(r.Body), "whsec_") {
		t.Fatalf("rotated secret page: %s", r.Body)
	}
	r = e.portalPost(t, ownerCookie, "/portal/webhooks/"+id+"/replay", url.Values{"csrf": {csrf}, "since": {"yesterday"}}).Want(t, http.StatusBadRequest, "")
	if !strings.Contains(string(r.Body), `id="since-error"`) {
		t.Fatalf("bad replay: %s", r.Body)
	}
	body, _ = e.portalPage(t, ownerCookie, "/portal/webhooks/"+id+"/delete")
	if !strings.Contains(body, "Delete the endpoint") {
		t.Fatalf("confirmation: %s", body)
	}
	e.portalPost(t, ownerCookie, "/portal/webhooks/"+id+"/delete", url.Values{"csrf": {"forged"}, "confirm": {"yes"}}).Want(t, http.StatusForbidden, "")
	e.portalPost(t, ownerCookie, "/portal/webhooks/"+id+"/delete", url.Values{"csrf": {csrf}, "confirm": {"yes"}}).Want(t, http.StatusSeeOther, "")
	e.Call(t, "GET", "/v1/webhooks/"+id, ownerTk.AccessToken, nil).Want(t, http.StatusNotFound, "")
	for _, action := range []string{"webhook.create", "webhook.update", "webhook.rotate_secret", "webhook.delete"} {
		if e.auditCountAction(t, owner.AccountID, action) == 0 {
			t.Errorf("no %s in the audit log", action)
		}
	}
}

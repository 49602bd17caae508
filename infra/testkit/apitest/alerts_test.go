package apitest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/infra/localstack/server"
	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/alerts"
	"github.com/stewardhq/steward/pkg/audit"
)

func stockItem(store, sku string, onHand, threshold float64) map[string]any {
	return map[string]any{"sku": sku, "name": "Product " + sku, "store": store, "onHand": onHand, "threshold": threshold}
}

func digestsTo(t *testing.T, e *Env, addr string, since time.Time) []testenv.Email {
	t.Helper()
	var out []testenv.Email
	for _, m := range e.SES.Emails(t, since) {
		if m.SentTo(addr) && strings.Contains(m.Subject, "attention") {
			out = append(out, m)
		}
	}
	return out
}

func header(m testenv.Email, name string) string {
	for _, h := range m.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

type previewView struct {
	AccountID  string `json:"accountId"`
	Recipients []struct {
		MemberID string `json:"memberId"`
		Email    string `json:"email"`
		Kinds    []struct {
			Kind      string `json:"kind"`
			Count     int    `json:"count"`
			Qualified string `json:"qualified"`
		} `json:"kinds"`
		Stores []struct {
			Store    string `json:"store"`
			LowStock []struct {
				SKU string `json:"sku"`
			} `json:"lowStock"`
		} `json:"stores"`
	} `json:"recipients"`
}

func TestAlertsDigest(t *testing.T) {
	var svc *alerts.Service
	e := New(t, func(d *server.Deps) { svc = d.Alerts })
	ctx := context.Background()
	owner := e.signup(t, newEmail("al-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	viewerEmail, twinEmail, optEmail, s2Email, acctEmail := newEmail("al-view"), newEmail("al-twin"), newEmail("al-opt"), newEmail("al-s2"), newEmail("al-acct")
	viewerID, viewerTk := e.join(t, ownerTk, viewerEmail, store1("approver"))
	twinID, _ := e.join(t, ownerTk, twinEmail, store1("approver"))
	optID, optTk := e.join(t, ownerTk, optEmail, store1("approver"))
	e.join(t, ownerTk, s2Email, map[string]any{"assignments": []map[string]string{{"role": "approver", "scope": "store:s2"}}})
	e.join(t, ownerTk, acctEmail, store1("accountant"))

	// The opted-out member turns low-stock alerts off themselves.
	cur := e.Call(t, "GET", "/v1/users/"+optID, optTk.AccessToken, nil).Want(t, http.StatusOK, "")
	e.Call(t, "PATCH", "/v1/users/"+optID, optTk.AccessToken, map[string]any{"notifications": map[string]bool{
		"lowStock": false, "duePurchaseOrders": true, "paymentReminders": true, "approvalReminders": true,
	}}, "If-Match", cur.Header.Get("ETag")).Want(t, http.StatusOK, "")

	// Stock: two items below threshold in s1, one above; s2 above only.
	var res alerts.StockResult
	e.Call(t, "PUT", "/v1/stock-levels", ownerTk, map[string]any{"items": []any{
		stockItem("s1", "A-1", 2, 10), stockItem("s1", "A-2", 0, 1), stockItem("s1", "A-3", 50, 10), stockItem("s2", "B-1", 9, 5),
	}}).Want(t, http.StatusOK, "").JSON(t, &res)
	if res.Written != 4 || res.Low != 2 {
		t.Fatalf("push answered %+v", res)
	}
	// A later push takes an item back above its threshold: it leaves the
	// sparse index.
	e.Call(t, "PUT", "/v1/stock-levels", ownerTk, map[string]any{"items": []any{stockItem("s1", "A-2", 5, 1)}}).Want(t, http.StatusOK, "")

	// The preview names the recipients and why.
	var pv previewView
	e.Call(t, "GET", "/v1/alerts/preview", ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &pv)
	got := map[string]string{}
	for _, rc := range pv.Recipients {
		if len(rc.Kinds) != 1 || rc.Kinds[0].Kind != "lowStock" || rc.Kinds[0].Count != 1 || rc.Kinds[0].Qualified != "stock.view" {
			t.Fatalf("preview recipient %s: %+v", rc.Email, rc.Kinds)
		}
		if len(rc.Stores) != 1 || rc.Stores[0].Store != "s1" || rc.Stores[0].LowStock[0].SKU != "A-1" {
			t.Fatalf("preview recipient %s: %+v", rc.Email, rc.Stores)
		}
		got[rc.Email] = rc.MemberID
	}
	want := []string{owner.Email, viewerEmail, twinEmail}
	if len(got) != len(want) {
		t.Fatalf("preview recipients %v, want %v", got, want)
	}
	for _, w := range want {
		if _, ok := got[w]; !ok {
			t.Fatalf("preview recipients %v, want %v", got, want)
		}
	}
	// A member without users.view may not preview.
	e.Call(t, "GET", "/v1/alerts/preview", viewerTk.AccessToken, nil).Want(t, http.StatusForbidden, "forbidden")

	// A forced run emails exactly them, once.
	since := time.Now().Add(-time.Second)
	rep, err := svc.Run(ctx, alerts.RunOptions{Force: true, Account: owner.AccountID})
	if err != nil || rep.Sent != 3 {
		t.Fatalf("run: %+v %v", rep, err)
	}
	for _, addr := range []string{optEmail, s2Email, acctEmail} {
		if n := len(digestsTo(t, e, addr, since)); n != 0 {
			t.Fatalf("%s got %d digests, want none", addr, n)
		}
	}
	var viewerMail testenv.Email
	for _, addr := range want {
		ms := digestsTo(t, e, addr, since)
		if len(ms) != 1 {
			t.Fatalf("%s got %d digests, want 1", addr, len(ms))
		}
		if addr == viewerEmail {
			viewerMail = ms[0]
		}
	}
	if !strings.Contains(viewerMail.Body.Text, "A-1") || strings.Contains(viewerMail.Body.Text, "A-2") || strings.Contains(viewerMail.Body.Text, "B-1") ||
		!strings.Contains(viewerMail.Body.HTML, "Store s1") {
		t.Fatalf("digest body: %s", viewerMail.Body.Text)
	}
	lu := header(viewerMail, "List-Unsubscribe")
	if header(viewerMail, "List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" || !strings.HasPrefix(lu, "<"+e.URL+"/v1/alerts/unsubscribe?token=") {
		t.Fatalf("unsubscribe headers: %+v", viewerMail.Headers)
	}

	// A second run the same day sends nothing.
	rep, err = svc.Run(ctx, alerts.RunOptions{Force: true, Account: owner.AccountID})
	if err != nil || rep.Sent != 0 || rep.Skipped != 3 {
		t.Fatalf("second run: %+v %v", rep, err)
	}
	// (Run sends synchronously: an email it sent is stored by now.)
	if n := len(digestsTo(t, e, viewerEmail, since)); n != 1 {
		t.Fatalf("after a second run the viewer has %d digests", n)
	}

	// The unsubscribe link works without signing in, for that member only.
	link, err := url.Parse(strings.Trim(lu, "<>"))
	if err != nil {
		t.Fatal(err)
	}
	path := link.Path + "?" + link.RawQuery
	page := e.Call(t, "GET", path, "", nil).Want(t, http.StatusOK, "")
	if !strings.Contains(string(page.Body), "<form") || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("unsubscribe page: %s", page.Body)
	}
	lowStockOn := func(id string) bool {
		m, err := e.Store.GetMember(ctx, owner.AccountID, id)
		if err != nil {
			t.Fatal(err)
		}
		return !m.Notifications.LowStockOff
	}
	if !lowStockOn(viewerID) {
		t.Fatal("opening the page (GET) unsubscribed")
	}
	e.Call(t, "POST", path, "", "List-Unsubscribe=One-Click", "Content-Type", "application/x-www-form-urlencoded").Want(t, http.StatusOK, "")
	if lowStockOn(viewerID) || !lowStockOn(twinID) {
		t.Fatalf("after one-click: viewer on=%v twin on=%v", lowStockOn(viewerID), lowStockOn(twinID))
	}
	// Used again: still a friendly page, nothing else changes.
	e.Call(t, "POST", path, "", "List-Unsubscribe=One-Click", "Content-Type", "application/x-www-form-urlencoded").Want(t, http.StatusOK, "")
	e.Call(t, "GET", "/v1/alerts/unsubscribe?token=nope", "", nil).Want(t, http.StatusGone, "")
	if e.auditCountAction(t, owner.AccountID, "member.unsubscribe") != 1 {
		t.Fatal("want one member.unsubscribe audit event")
	}
	// The next preview leaves the unsubscribed viewer out.
	pv = previewView{}
	e.Call(t, "GET", "/v1/alerts/preview", ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &pv)
	for _, rc := range pv.Recipients {
		if rc.Email == viewerEmail {
			t.Fatal("unsubscribed viewer still in the preview")
		}
	}
}

func (e *Env) auditCountAction(t *testing.T, account, action string) int {
	t.Helper()
	page, err := e.Store.ListAudit(context.Background(), account, audit.Filter{Action: action}, 200, "")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range page.Items {
		if ev.Action == action {
			n++
		}
	}
	return n
}

func TestStockLevelsValidation(t *testing.T) {
	e := New(t)
	ctx := context.Background()
	owner := e.signup(t, newEmail("stk-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken

	// A bad item names its index and field; nothing of the batch is written.
	bad := []any{stockItem("s1", "OK-1", 1, 5), stockItem("s1", "OK-2", 1, 5), stockItem("s1", "OK-3", 1, 5),
		map[string]any{"sku": "X", "name": "X", "store": "s1", "onHand": 1, "threshold": -1}}
	r := e.Call(t, "PUT", "/v1/stock-levels", ownerTk, map[string]any{"items": bad}).Want(t, http.StatusBadRequest, "invalid_field")
	var prob struct {
		Errors []struct{ Field string } `json:"errors"`
	}
	r.JSON(t, &prob)
	if len(prob.Errors) != 1 || prob.Errors[0].Field != "items[3].threshold" {
		t.Fatalf("problem: %s", r.Body)
	}
	if _, err := e.Store.GetStockLevel(ctx, owner.AccountID, "s1", "OK-1"); err == nil {
		t.Fatal("a rejected batch wrote an item")
	}
	// Missing fields, a duplicate and an unknown store.
	r = e.Call(t, "PUT", "/v1/stock-levels", ownerTk, map[string]any{"items": []any{
		map[string]any{"sku": "Y", "name": "Y", "store": "s1", "onHand": 1}, stockItem("s1", "Z", 1, 1), stockItem("s1", "Z", 1, 1),
	}}).Want(t, http.StatusBadRequest, "invalid_field")
	if !strings.Contains(string(r.Body), "items[0].threshold") || !strings.Contains(string(r.Body), "items[2].sku") {
		t.Fatalf("problem: %s", r.Body)
	}
	e.Call(t, "PUT", "/v1/stock-levels", ownerTk, map[string]any{"items": []any{stockItem("s1", "OK-1", 1, 5), stockItem("nope", "N", 1, 5)}}).
		Want(t, http.StatusBadRequest, "unknown_scope")
	if _, err := e.Store.GetStockLevel(ctx, owner.AccountID, "s1", "OK-1"); err == nil {
		t.Fatal("a rejected batch wrote an item")
	}

	// 501 items are refused; 500 are written.
	items := make([]any, 501)
	for i := range items {
		items[i] = stockItem("s1", fmt.Sprintf("SKU-%03d", i), float64(i%20), 10)
	}
	e.Call(t, "PUT", "/v1/stock-levels", ownerTk, map[string]any{"items": items}).Want(t, http.StatusBadRequest, "invalid_field")
	var res alerts.StockResult
	e.Call(t, "PUT", "/v1/stock-levels", ownerTk, map[string]any{"items": items[:500]}).Want(t, http.StatusOK, "").JSON(t, &res)
	if res.Written != 500 || res.Low != 250 {
		t.Fatalf("push answered %+v", res)
	}
	low, err := e.Store.LowStock(ctx, owner.AccountID)
	if err != nil || len(low) != 250 {
		t.Fatalf("low stock: %d %v", len(low), err)
	}

	// Only members with stock.edit at the item's store may push.
	_, s2Tk := e.join(t, ownerTk, newEmail("stk-s2"), map[string]any{"assignments": []map[string]string{{"role": "junior_admin", "scope": "store:s2"}}})
	e.Call(t, "PUT", "/v1/stock-levels", s2Tk.AccessToken, map[string]any{"items": []any{stockItem("s2", "S2", 1, 5)}}).Want(t, http.StatusOK, "")
	e.Call(t, "PUT", "/v1/stock-levels", s2Tk.AccessToken, map[string]any{"items": []any{stockItem("s2", "S2", 1, 5), stockItem("s1", "S1", 1, 5)}}).
		Want(t, http.StatusForbidden, "forbidden")

	// Tenant isolation: B pushes to its own account only, whatever store
	// ids it names; A's items stay as they were.
	b := e.signup(t, newEmail("stk-b"))
	bTk := e.login(t, b.Email, goodPassword, "").AccessToken
	e.Call(t, "PUT", "/v1/stock-levels", bTk, map[string]any{"items": []any{stockItem("s1", "SKU-000", 0.5, 1)}}).Want(t, http.StatusOK, "")
	a0, err := e.Store.GetStockLevel(ctx, owner.AccountID, "s1", "SKU-000")
	if err != nil || a0.OnHand != 0 {
		t.Fatalf("A's item after B's push: %+v %v", a0, err)
	}
	if bl, err := e.Store.GetStockLevel(ctx, b.AccountID, "s1", "SKU-000"); err != nil || bl.OnHand != 0.5 {
		t.Fatalf("B's item: %+v %v", bl, err)
	}
	// B's preview never lists A's members.
	var pv previewView
	e.Call(t, "GET", "/v1/alerts/preview", bTk, nil).Want(t, http.StatusOK, "").JSON(t, &pv)
	if pv.AccountID != b.AccountID || len(pv.Recipients) != 1 || pv.Recipients[0].Email != b.Email {
		t.Fatalf("B's preview: %+v", pv)
	}
}

// TestAlertsDueDocumentsAndApprovals: due purchase orders reach members
// with purchases.view at the store, payment reminders those with
// finance.invoices.view, approval reminders only the approvers still
// awaited; one digest carries them all, grouped by store, with links.
func TestAlertsDueDocumentsAndApprovals(t *testing.T) {
	var svc *alerts.Service
	e := New(t, func(d *server.Deps) { svc = d.Alerts })
	ctx := context.Background()
	owner := e.signup(t, newEmail("due-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	poEmail, payEmail, mgrEmail, mgr2Email := newEmail("due-po"), newEmail("due-pay"), newEmail("due-mgr"), newEmail("due-mgr2")
	e.join(t, ownerTk, poEmail, store1("approver"))
	e.join(t, ownerTk, payEmail, store1("accountant"))
	mgrBody := func(store string) map[string]any {
		return map[string]any{"assignments": []map[string]string{{"role": "manager", "scope": store}, {"role": "approver", "scope": store}}}
	}
	e.join(t, ownerTk, mgrEmail, mgrBody("store:s1"))
	e.join(t, ownerTk, mgr2Email, mgrBody("store:s2"))

	a, err := e.Store.GetAccount(ctx, owner.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().In(time.UTC)
	if a.Settings.TimeZone != "" {
		if loc, err := time.LoadLocation(a.Settings.TimeZone); err == nil {
			today = time.Now().In(loc)
		}
	}
	day := func(d int) string { return today.AddDate(0, 0, d).Format(time.DateOnly) }
	doc := func(typ, id, due string) {
		e.Call(t, "PUT", "/v1/documents/"+typ+"/"+id, ownerTk, map[string]any{
			"store": "s1", "amount": 120.5, "currency": "EUR", "title": typ + " " + id, "dueDate": due, "url": "https://host.example/" + typ + "/" + id,
		}).Want(t, http.StatusCreated, "")
	}
	doc("purchase_order", "po-soon", day(1))
	doc("purchase_order", "po-late", day(30))
	doc("invoice", "inv-overdue", day(-2))
	doc("bill", "bill-far", day(20))

	// An approval request asks the managers of s1.
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", ownerTk, map[string]any{
		"enabled": true, "levels": []map[string]any{{"minAmount": 0, "role": "manager", "required": 1, "scope": "document"}},
		"selfApproval": false, "externalApprovers": map[string]any{"allowed": false, "domains": []string{}}, "expiresAfterHours": 48,
	}).Want(t, http.StatusOK, "")
	doc("purchase_order", "po-ask", "")
	req := e.requestApproval(t, ownerTk, "po-ask", nil)
	e.waitRequest(t, ownerTk, req.ID, "approvers asked", func(r apRequest) bool { return len(r.Asked) > 0 })
	svc.ApprovalAfter = time.Nanosecond

	var pv previewView
	e.Call(t, "GET", "/v1/alerts/preview", ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &pv)
	kinds := map[string]map[string]int{}
	for _, rc := range pv.Recipients {
		kinds[rc.Email] = map[string]int{}
		for _, k := range rc.Kinds {
			kinds[rc.Email][k.Kind] = k.Count
		}
	}
	want := map[string]map[string]int{
		owner.Email: {"duePurchaseOrder": 1, "paymentReminder": 1},
		poEmail:     {"duePurchaseOrder": 1},
		payEmail:    {"paymentReminder": 1},
		mgrEmail:    {"approvalReminder": 1, "duePurchaseOrder": 1, "paymentReminder": 1},
	}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Fatalf("preview kinds\n got %v\nwant %v", kinds, want)
	}

	since := time.Now().Add(-time.Second)
	rep, err := svc.Run(ctx, alerts.RunOptions{Force: true, Account: owner.AccountID})
	if err != nil || rep.Sent != 4 {
		t.Fatalf("run: %+v %v", rep, err)
	}
	ms := digestsTo(t, e, mgrEmail, since)
	if len(ms) != 1 || !strings.Contains(ms[0].Body.HTML, "https://host.example/purchase_order/po-ask") ||
		!strings.Contains(ms[0].Body.HTML, "https://host.example/invoice/inv-overdue") || !strings.Contains(ms[0].Body.Text, "overdue") {
		t.Fatalf("manager's digest: %+v", ms)
	}
	if n := len(digestsTo(t, e, mgr2Email, since)); n != 0 {
		t.Fatalf("the s2 manager got %d digests", n)
	}
}

// TestAlertsDueSalesOrders: due sales orders (open, due within the
// window or overdue) reach the members with orders.view at the document's
// store who have not turned them off (dueSalesOrders in their
// notifications, or the digest's unsubscribe link); completed ones and
// those due later are left out.
func TestAlertsDueSalesOrders(t *testing.T) {
	var svc *alerts.Service
	e := New(t, func(d *server.Deps) { svc = d.Alerts })
	ctx := context.Background()
	owner := e.signup(t, newEmail("dso-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	tmEmail, s2Email, optEmail, ovEmail := newEmail("dso-tm"), newEmail("dso-s2"), newEmail("dso-opt"), newEmail("dso-ov")
	tmID, _ := e.join(t, ownerTk, tmEmail, store1("team_member"))
	e.join(t, ownerTk, s2Email, map[string]any{"assignments": []map[string]string{{"role": "team_member", "scope": "store:s2"}}})
	optID, optTk := e.join(t, ownerTk, optEmail, store1("team_member"))
	e.join(t, ownerTk, ovEmail, store1("planner_overview")) // no orders.view

	// The opted-out member turns due sales orders off; a later change
	// that leaves dueSalesOrders out (a client that predates it) keeps it
	// off.
	type notif struct {
		Notifications map[string]bool `json:"notifications"`
	}
	prefs := func(lowStock bool, dueSales *bool) map[string]any {
		n := map[string]any{"lowStock": lowStock, "duePurchaseOrders": true, "paymentReminders": true, "approvalReminders": true}
		if dueSales != nil {
			n["dueSalesOrders"] = *dueSales
		}
		return map[string]any{"notifications": n}
	}
	off := false
	cur := e.Call(t, "GET", "/v1/users/"+optID, optTk.AccessToken, nil).Want(t, http.StatusOK, "")
	var got notif
	cur = e.Call(t, "PATCH", "/v1/users/"+optID, optTk.AccessToken, prefs(true, &off), "If-Match", cur.Header.Get("ETag")).Want(t, http.StatusOK, "")
	cur.JSON(t, &got)
	if got.Notifications["dueSalesOrders"] || !got.Notifications["duePurchaseOrders"] {
		t.Fatalf("after turning due sales orders off: %+v", got)
	}
	cur = e.Call(t, "PATCH", "/v1/users/"+optID, optTk.AccessToken, prefs(false, nil), "If-Match", cur.Header.Get("ETag")).Want(t, http.StatusOK, "")
	got = notif{}
	cur.JSON(t, &got)
	if got.Notifications["dueSalesOrders"] || got.Notifications["lowStock"] {
		t.Fatalf("a change without dueSalesOrders: %+v", got)
	}

	a, err := e.Store.GetAccount(ctx, owner.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().In(time.UTC)
	if a.Settings.TimeZone != "" {
		if loc, err := time.LoadLocation(a.Settings.TimeZone); err == nil {
			today = time.Now().In(loc)
		}
	}
	day := func(d int) string { return today.AddDate(0, 0, d).Format(time.DateOnly) }
	doc := func(store, id, due, status string) {
		body := map[string]any{
			"store": store, "amount": 80, "currency": "EUR", "title": "sales_order " + id, "dueDate": due, "url": "https://host.example/sales_order/" + id,
		}
		if status != "" {
			body["status"] = status
		}
		e.Call(t, "PUT", "/v1/documents/sales_order/"+id, ownerTk, body).Want(t, http.StatusCreated, "")
	}
	doc("s1", "so-overdue", day(-1), "")
	doc("s1", "so-soon", day(2), "")
	doc("s1", "so-late", day(30), "")
	doc("s1", "so-done", day(-3), "completed")
	doc("s2", "so-s2", day(1), "")

	type salesPreview struct {
		Recipients []struct {
			Email string `json:"email"`
			Kinds []struct {
				Kind      string `json:"kind"`
				Count     int    `json:"count"`
				Qualified string `json:"qualified"`
			} `json:"kinds"`
			Stores []struct {
				Store          string `json:"store"`
				DueSalesOrders []struct {
					ID      string `json:"id"`
					Type    string `json:"type"`
					Overdue bool   `json:"overdue"`
				} `json:"dueSalesOrders"`
			} `json:"stores"`
		} `json:"recipients"`
	}
	var pv salesPreview
	e.Call(t, "GET", "/v1/alerts/preview", ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &pv)
	kinds := map[string]map[string]int{}
	docs := map[string][]string{}
	for _, rc := range pv.Recipients {
		kinds[rc.Email] = map[string]int{}
		for _, k := range rc.Kinds {
			kinds[rc.Email][k.Kind] = k.Count
			if k.Qualified != "orders.view" {
				t.Fatalf("%s qualified by %q", rc.Email, k.Qualified)
			}
		}
		for _, st := range rc.Stores {
			for _, d := range st.DueSalesOrders {
				docs[rc.Email] = append(docs[rc.Email], st.Store+"/"+d.ID+fmt.Sprint("/", d.Overdue))
			}
		}
	}
	want := map[string]map[string]int{
		owner.Email: {"dueSalesOrder": 3},
		tmEmail:     {"dueSalesOrder": 2},
		s2Email:     {"dueSalesOrder": 1},
	}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Fatalf("preview kinds\n got %v\nwant %v", kinds, want)
	}
	if fmt.Sprint(docs[tmEmail]) != "[s1/so-overdue/true s1/so-soon/false]" || fmt.Sprint(docs[s2Email]) != "[s2/so-s2/false]" {
		t.Fatalf("preview documents: %v", docs)
	}

	since := time.Now().Add(-time.Second)
	rep, err := svc.Run(ctx, alerts.RunOptions{Force: true, Account: owner.AccountID})
	if err != nil || rep.Sent != 3 {
		t.Fatalf("run: %+v %v", rep, err)
	}
	for _, addr := range []string{optEmail, ovEmail} {
		if n := len(digestsTo(t, e, addr, since)); n != 0 {
			t.Fatalf("%s got %d digests, want none", addr, n)
		}
	}
	ms := digestsTo(t, e, tmEmail, since)
	if len(ms) != 1 {
		t.Fatalf("team member got %d digests", len(ms))
	}
	body := ms[0].Body
	if !strings.Contains(body.Text, "Sales orders due:") || !strings.Contains(body.HTML, "Sales orders due") ||
		!strings.Contains(body.HTML, "https://host.example/sales_order/so-overdue") || !strings.Contains(body.HTML, "https://host.example/sales_order/so-soon") ||
		!strings.Contains(body.Text, "OVERDUE") || strings.Contains(body.Text, "so-late") || strings.Contains(body.Text, "so-done") || strings.Contains(body.Text, "so-s2") {
		t.Fatalf("team member's digest: %s", body.Text)
	}

	// Its unsubscribe link turns due sales orders off for that member
	// only, and nothing else.
	link, err := url.Parse(strings.Trim(header(ms[0], "List-Unsubscribe"), "<>"))
	if err != nil {
		t.Fatal(err)
	}
	e.Call(t, "POST", link.Path+"?"+link.RawQuery, "", "List-Unsubscribe=One-Click", "Content-Type", "application/x-www-form-urlencoded").Want(t, http.StatusOK, "")
	got = notif{}
	e.Call(t, "GET", "/v1/users/"+tmID, ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &got)
	if got.Notifications["dueSalesOrders"] || !got.Notifications["duePurchaseOrders"] || !got.Notifications["lowStock"] {
		t.Fatalf("after unsubscribing: %+v", got)
	}
	pv = salesPreview{}
	e.Call(t, "GET", "/v1/alerts/preview", ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &pv)
	for _, rc := range pv.Recipients {
		if rc.Email == tmEmail {
			t.Fatal("unsubscribed team member still in the preview")
		}
	}
}

// TestAlertsPreviewPages: the preview answers a page of members at a time
// (limit, and nextCursor while more follow), and lists at most the first
// PreviewItemsPerDigest items of a digest, whose kinds still count them
// all.
func TestAlertsPreviewPages(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("alp-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
	e.join(t, ownerTk, newEmail("alp-a"), store1("approver"))
	e.join(t, ownerTk, newEmail("alp-b"), store1("approver"))
	const items = alerts.PreviewItemsPerDigest + 10
	var push []any
	for i := range items {
		push = append(push, stockItem("s1", fmt.Sprintf("P-%03d", i), 1, 10))
	}
	e.Call(t, "PUT", "/v1/stock-levels", ownerTk, map[string]any{"items": push}).Want(t, http.StatusOK, "")

	type page struct {
		previewView
		Recipients []struct {
			MemberID  string `json:"memberId"`
			Truncated bool   `json:"truncated"`
			Kinds     []struct {
				Count int `json:"count"`
			} `json:"kinds"`
			Stores []struct {
				LowStock []struct {
					SKU string `json:"sku"`
				} `json:"lowStock"`
			} `json:"stores"`
		} `json:"recipients"`
		Next string `json:"nextCursor"`
	}
	seen := map[string]bool{}
	path, pages := "/v1/alerts/preview?limit=1", 0
	for {
		var pg page
		e.Call(t, "GET", path, ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &pg)
		pages++
		if pg.AccountID != owner.AccountID || len(pg.Recipients) > 1 {
			t.Fatalf("page %d: %+v", pages, pg)
		}
		if len(pg.Recipients) == 0 {
			// The page after the last member (DynamoDB stops at the limit
			// before it knows nothing follows) is empty and the last.
			if pg.Next != "" || len(seen) != 3 {
				t.Fatalf("empty page %d before the end: %+v", pages, pg)
			}
			break
		}
		r := pg.Recipients[0]
		if seen[r.MemberID] || !r.Truncated || len(r.Kinds) != 1 || r.Kinds[0].Count != items || len(r.Stores) != 1 || len(r.Stores[0].LowStock) != alerts.PreviewItemsPerDigest {
			t.Fatalf("page %d recipient: %+v", pages, r)
		}
		seen[r.MemberID] = true
		if pg.Next == "" {
			break
		}
		if pages > 4 {
			t.Fatal("the preview does not end")
		}
		path = "/v1/alerts/preview?limit=1&cursor=" + url.QueryEscape(pg.Next)
	}
	if len(seen) != 3 {
		t.Fatalf("%d recipients over %d pages, want 3", len(seen), pages)
	}
	e.Call(t, "GET", "/v1/alerts/preview?limit=0", ownerTk, nil).Want(t, http.StatusBadRequest, "")
	e.Call(t, "GET", "/v1/alerts/preview?cursor=bogus", ownerTk, nil).Want(t, http.StatusBadRequest, "bad_cursor")
}

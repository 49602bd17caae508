package apitest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestPortalApprovalsInABrowser drives the approvals section in headless
// Chromium: a store manager approves a pending purchase order on its
// request page, then the owner edits the purchase order policy (a wrong
// level first: its error next to the field). Every page is screenshotted
// under .artifacts/portal/ and checked with axe-core.
func TestPortalApprovalsInABrowser(t *testing.T) {
	e := New(t)
	tm := e.apSetup(t)
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, twoLevelPolicy()).Want(t, http.StatusOK, "")
	req := e.apPending(t, tm, "po-br", 120)
	b := newPortalBrowser(t)
	t.Cleanup(func() { t.Log("axe-core, per page:\n" + strings.Join(b.summary, "\n")) })

	// The manager: the waiting list, the request's page, the decision.
	b.enter(e.mintPortalLink(t, tm.mgr1.Token, tm.mgr1.ID).URL)
	b.run("open approvals", chromedp.Click(`nav a[href="/portal/approvals"]`, chromedp.ByQuery))
	b.wantHeading("Approvals")
	if !strings.Contains(b.body(), "Waiting for me") || !strings.Contains(b.body(), "PO for widgets") {
		t.Fatalf("approvals page: %s", b.body())
	}
	b.check("approvals")
	b.run("open the request", chromedp.Click(`td a[href="/portal/approvals/requests/`+req.ID+`"]`, chromedp.ByQuery))
	b.wantHeading("Approval request")
	b.check("approval-request")
	b.run("approve with a comment",
		chromedp.SendKeys(`[id="comment-`+req.ID+`"]`, "Looks right", chromedp.ByQuery),
		chromedp.Click(`main form.decide button[value="approve"]`, chromedp.ByQuery),
	)
	b.wantHeading("Approvals")
	if !strings.Contains(b.body(), "You approved") {
		t.Fatalf("no notice: %s", b.body())
	}
	b.check("approvals-decided")
	e.waitRequest(t, tm.requester.Token, req.ID, "approved", func(r apRequest) bool { return r.Status == "approved" })
	b.run("open access", chromedp.Navigate(e.URL+"/portal/access"))
	b.wantHeading("Access")
	b.check("access")

	// The owner edits the policy.
	b.enter(e.mintPortalLink(t, tm.ownerTk, tm.owner.MemberID).URL)
	b.run("open the policies", chromedp.Navigate(e.URL+"/portal/approvals/policies"))
	b.wantHeading("Approval policies")
	b.check("approval-policies")
	b.run("open the purchase order policy", chromedp.Click(`td a[href="/portal/approvals/policies/purchase_order"]`, chromedp.ByQuery))
	b.wantHeading("Approval policy: purchase order")
	b.check("approval-policy")
	b.run("a wrong level",
		chromedp.SetValue(`[id="levels[0].required"]`, "0", chromedp.ByQuery),
		chromedp.Click("form.card button.primary", chromedp.ByQuery),
	)
	b.wantHeading("Approval policy: purchase order")
	if !strings.Contains(b.body(), "must be 1 to 10") {
		t.Fatalf("no error next to the field: %s", b.body())
	}
	b.check("approval-policy-error")
	b.run("a good change",
		chromedp.SetValue(`[id="levels[0].required"]`, "2", chromedp.ByQuery),
		chromedp.SetValue(`#expiresAfterHours`, "24", chromedp.ByQuery),
		chromedp.Click("form.card button.primary", chromedp.ByQuery),
		chromedp.WaitVisible(".notice", chromedp.ByQuery),
	)
	b.check("approval-policy-saved")
	var pol struct {
		ExpiresAfterHours int `json:"expiresAfterHours"`
		Levels            []struct {
			Required int `json:"required"`
		} `json:"levels"`
	}
	e.Call(t, "GET", "/v1/approval-policies/purchase_order", tm.ownerTk, nil).Want(t, http.StatusOK, "").JSON(t, &pol)
	if pol.ExpiresAfterHours != 24 || len(pol.Levels) != 2 || pol.Levels[0].Required != 2 {
		t.Fatalf("policy after the browser's form: %+v", pol)
	}
}

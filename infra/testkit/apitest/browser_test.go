package apitest

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stewardhq/steward/infra/emulator"
)

// chromiumPath finds the Chrome or Chromium to drive, as chromedp would
// (emulator.FindBrowser); the test fails (never skips) when there is
// none, saying what to install.
func chromiumPath(t *testing.T) string {
	t.Helper()
	p, err := emulator.FindBrowser()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestApprovalLinkInABrowser opens the emailed approval link in headless
// Chromium, reads the summary, approves with a comment and sees the
// confirmation, as an approver would; the page works without JavaScript
// (Chromium runs with it disabled). The screenshot lands in
// .artifacts/approval-confirmation.png.
func TestApprovalLinkInABrowser(t *testing.T) {
	e := New(t)
	tm := e.apSetup(t)
	p := twoLevelPolicy()
	p["levels"] = []map[string]any{{"minAmount": 0, "role": "manager", "required": 1, "scope": "document"}}
	e.Call(t, "PUT", "/v1/approval-policies/purchase_order", tm.ownerTk, p).Want(t, http.StatusOK, "")
	body := poBody(1234.5)
	body["title"] = "Spring restock of umbrellas"
	e.Call(t, "PUT", "/v1/documents/purchase_order/po-browser", tm.requester.Token, body).Want(t, http.StatusCreated, "")
	since := time.Now()
	req := e.requestApproval(t, tm.requester.Token, "po-browser", nil)
	tok := e.approvalToken(t, tm.mgr1.Email, since)

	// Chromium's helper processes may still write to the profile for a
	// moment after the browser is closed: remove it best-effort rather
	// than with t.TempDir, whose cleanup fails the test on a late write.
	profile, err := os.MkdirTemp("", "steward-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(profile) })
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("blink-settings", "scriptEnabled=false"),
		chromedp.UserDataDir(profile),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTimeout()

	var summary, confirmation string
	var shot []byte
	err = chromedp.Run(ctx,
		chromedp.Navigate(e.URL+"/approve/"+tok),
		chromedp.WaitVisible(`button.approve`, chromedp.ByQuery),
		chromedp.Text(`dl`, &summary, chromedp.ByQuery),
		chromedp.SendKeys(`#comment`, "Approved in the browser: go ahead.", chromedp.ByID),
		chromedp.Click(`button.approve`, chromedp.ByQuery),
		chromedp.WaitVisible(`.message`, chromedp.ByQuery),
		chromedp.Text(`body`, &confirmation, chromedp.ByQuery),
		chromedp.FullScreenshot(&shot, 100),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	for _, want := range []string{"Spring restock of umbrellas", "1234.5", "Rita Requester"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary %q lacks %q", summary, want)
		}
	}
	if !strings.Contains(strings.ToLower(confirmation), "approved") {
		t.Errorf("confirmation page says %q", confirmation)
	}
	root, err := emulator.ProjectRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, ".artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "approval-confirmation.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	r := e.waitRequest(t, tm.requester.Token, req.ID, "approved", func(r apRequest) bool { return r.Status == "approved" })
	if len(r.Decisions) != 1 || r.Decisions[0].Comment != "Approved in the browser: go ahead." || !r.Decisions[0].ByLink {
		t.Fatalf("decisions %+v", r.Decisions)
	}
}

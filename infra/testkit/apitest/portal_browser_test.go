package apitest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/stewardhq/steward/infra/emulator"
	"github.com/stewardhq/steward/infra/testkit/testenv"
)

// axeViolation is one rule axe-core found broken on a page.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  int    `json:"nodes"`
}

// portalBrowser drives headless Chromium through the portal: it saves a
// screenshot of every page it checks under .artifacts/portal/ and runs
// axe-core (pinned in infra/emulators/package.json) on it.
type portalBrowser struct {
	t       *testing.T
	ctx     context.Context
	dir     string
	axe     string
	summary []string
}

func newPortalBrowser(t *testing.T) *portalBrowser {
	t.Helper()
	root, err := emulator.ProjectRoot()
	if err != nil {
		t.Fatal(err)
	}
	// The emulators' npm packages are installed by the test environment
	// (emulator.EnsureInstalled); axe-core is one of them.
	if err := emulator.EnsureInstalled(context.Background(), root, nil); err != nil {
		t.Fatal(err)
	}
	axe, err := os.ReadFile(filepath.Join(emulator.EmulatorsDir(root), "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core: %v", err)
	}
	dir := filepath.Join(root, ".artifacts", "portal")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
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
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(profile),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelTimeout)
	// The pages' scripts are off (they have none, and need none): scripts
	// run only for axe-core, which check turns them on for.
	if err := chromedp.Run(ctx, emulation.SetScriptExecutionDisabled(true)); err != nil {
		t.Fatalf("browser: %v", err)
	}
	return &portalBrowser{t: t, ctx: ctx, dir: dir, axe: string(axe)}
}

// run runs actions, failing the test with what on an error.
func (b *portalBrowser) run(what string, actions ...chromedp.Action) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		var url, text string
		_ = chromedp.Run(b.ctx, chromedp.Location(&url), chromedp.Text("body", &text, chromedp.ByQuery))
		b.t.Fatalf("%s: %v (at %s: %.600s)", what, err, url, text)
	}
}

// enter opens a minted link: its page names whom it signs in as, and
// Continue (the link's POST) lands on the team page.
func (b *portalBrowser) enter(link string) {
	b.t.Helper()
	b.run("open the minted link", chromedp.Navigate(link))
	b.wantHeading("Open the portal")
	b.run("continue", chromedp.Click(`main form button[type="submit"]`, chromedp.ByQuery))
	b.wantHeading("Team")
}

// heading reads the page's h1 ("" while there is none).
func (b *portalBrowser) heading() (string, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	var h string
	err := chromedp.Run(ctx, chromedp.WaitReady("h1", chromedp.ByQuery), chromedp.Text("h1", &h, chromedp.ByQuery))
	return strings.TrimSpace(h), err
}

// wantHeading waits (polling, with a deadline) until the page's h1 is
// want: a click's navigation may not have landed yet.
func (b *portalBrowser) wantHeading(want string) {
	b.t.Helper()
	testenv.Eventually(b.t, 15*time.Second, "the page "+want, func() error {
		got, err := b.heading()
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("heading %q (page: %.400s)", got, b.body())
		}
		return nil
	})
}

// body is the page's text. A navigation still landing (a submitted
// form) can discard the page being read ("Cannot find context"): it
// reads again, polling with a deadline.
func (b *portalBrowser) body() string {
	b.t.Helper()
	var text string
	testenv.Eventually(b.t, 15*time.Second, "the page's text", func() error {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		defer cancel()
		return chromedp.Run(ctx, chromedp.WaitReady("body", chromedp.ByQuery), chromedp.Text("body", &text, chromedp.ByQuery))
	})
	return text
}

// waitURL waits (polling, with a deadline) until the page's address
// holds part: a submitted form's navigation has landed.
func (b *portalBrowser) waitURL(part string) {
	b.t.Helper()
	testenv.Eventually(b.t, 15*time.Second, "an address with "+part, func() error {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		defer cancel()
		var url string
		if err := chromedp.Run(ctx, chromedp.Location(&url)); err != nil {
			return err
		}
		if !strings.Contains(url, part) {
			return fmt.Errorf("at %s", url)
		}
		return nil
	})
}

// check saves the page's screenshot as name.png and runs axe-core on it:
// no serious or critical violation.
func (b *portalBrowser) check(name string) {
	b.t.Helper()
	var shot []byte
	b.run("screenshot "+name, chromedp.FullScreenshot(&shot, 100))
	if err := os.WriteFile(filepath.Join(b.dir, name+".png"), shot, 0o644); err != nil {
		b.t.Fatal(err)
	}
	var out string
	script := b.axe + `
;axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify({passes: r.passes.length, violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length}))}))`
	b.run("axe "+name,
		emulation.SetScriptExecutionDisabled(false),
		chromedp.Evaluate(script, &out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }),
		emulation.SetScriptExecutionDisabled(true),
	)
	var res struct {
		Passes     int            `json:"passes"`
		Violations []axeViolation `json:"violations"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		b.t.Fatalf("axe %s: %v (%s)", name, err, out)
	}
	if res.Passes == 0 {
		b.t.Fatalf("axe %s: no rule passed; did axe-core run? (%s)", name, out)
	}
	vs := res.Violations
	var parts []string
	for _, v := range vs {
		parts = append(parts, fmt.Sprintf("%s (%s, %d)", v.ID, v.Impact, v.Nodes))
		if v.Impact == "serious" || v.Impact == "critical" {
			b.t.Errorf("axe-core on %s: %s violation %s: %s (%d nodes)", name, v.Impact, v.ID, v.Help, v.Nodes)
		}
	}
	line := fmt.Sprintf("%-18s %2d rules passed, %d violations", name, res.Passes, len(vs))
	if len(parts) > 0 {
		line += ": " + strings.Join(parts, ", ")
	}
	b.summary = append(b.summary, line)
}

// TestPortalInABrowser drives the portal in headless Chromium: an owner
// enters through a minted link, invites a member (who accepts through the
// emailed link), gives them another role and suspends them; the refusals
// (a forged CSRF token, a used link, a store manager and another store's
// members) show their pages. Every page is screenshotted under
// .artifacts/portal/ and checked with axe-core.
func TestPortalInABrowser(t *testing.T) {
	e := New(t)
	owner := e.signup(t, newEmail("pb-owner"))
	ownerTk := e.login(t, owner.Email, goodPassword, "")
	b := newPortalBrowser(t)
	t.Cleanup(func() { t.Log("axe-core, per page:\n" + strings.Join(b.summary, "\n")) })

	// Sign-in page (anonymous).
	b.run("open the sign-in page", chromedp.Navigate(e.URL+"/portal/login"))
	b.wantHeading("Sign in")
	b.check("login")

	// Enter through a minted link: the team page.
	link := e.mintPortalLink(t, ownerTk.AccessToken, owner.MemberID)
	b.run("open the minted link", chromedp.Navigate(link.URL))
	b.wantHeading("Open the portal")
	if !strings.Contains(b.body(), "Continue as Olive Owner") {
		t.Fatalf("link page: %s", b.body())
	}
	b.check("enter")
	b.run("continue", chromedp.Click(`main form button[type="submit"]`, chromedp.ByQuery))
	b.wantHeading("Team")
	if !strings.Contains(b.body(), "Olive Owner") {
		t.Fatalf("team page: %s", b.body())
	}
	b.check("team")
	// The same page on a phone.
	b.run("phone size", emulation.SetDeviceMetricsOverride(390, 844, 2, true))
	b.check("team-phone")
	b.run("desktop size", emulation.ClearDeviceMetricsOverride())

	// Invite a team member at store s1, with the keyboard.
	email := newEmail("pb-member")
	since := time.Now()
	b.run("open the invite page", chromedp.Navigate(e.URL+"/portal/invite"))
	b.wantHeading("Invite a member")
	b.check("invite")
	b.run("fill the invitation",
		chromedp.SendKeys("#email", email, chromedp.ByID),
		chromedp.SendKeys("#name", "Tess Member", chromedp.ByID),
		chromedp.SetValue("#role", "team_member", chromedp.ByID),
		chromedp.Click(`input[name=scope][value="store:s1"]`, chromedp.ByQuery),
		chromedp.Click("form.card button.primary", chromedp.ByQuery),
		chromedp.WaitVisible(".notice", chromedp.ByQuery),
	)
	b.wantHeading("Team")
	if body := b.body(); !strings.Contains(body, "An invitation was sent to "+email) || !strings.Contains(body, "Resend") {
		t.Fatalf("after inviting: %s", body)
	}
	b.check("team-invited")

	// The invitee accepts through the emailed link (the host app's page
	// calls accept).
	tok := e.TokenFromEmail(t, email, "invit", since)
	var acc accepted
	e.Call(t, "POST", "/v1/invitations/accept", "", map[string]string{"token": tok, "password": goodPassword}).Want(t, http.StatusOK, "").JSON(t, &acc)
	memberID := acc.Member.ID

	// Search finds them; their page shows the assignment.
	b.run("search the team",
		chromedp.Navigate(e.URL+"/portal/team"),
		chromedp.SendKeys("#q", "tess", chromedp.ByID),
		chromedp.Submit("#q", chromedp.ByID),
	)
	b.waitURL("q=tess")
	b.wantHeading("Team")
	b.run("open their page",
		chromedp.WaitVisible(`a[href="/portal/members/`+memberID+`"]`, chromedp.ByQuery),
		chromedp.Click(`a[href="/portal/members/`+memberID+`"]`, chromedp.ByQuery),
	)
	b.wantHeading("Tess Member")
	b.check("member")

	// Change their role: add manager at s1, then remove team member.
	b.run("add an assignment",
		chromedp.SetValue("#role", "manager", chromedp.ByID),
		chromedp.SetValue("#scope", "store:s1", chromedp.ByID),
		chromedp.Click("form.card button.primary", chromedp.ByQuery),
		chromedp.WaitVisible(".notice", chromedp.ByQuery),
	)
	b.run("remove the first assignment", chromedp.Click("td.actions button.danger", chromedp.ByQuery))
	// The page before had the same notice: wait for the one assignment
	// left (polling, with a deadline).
	testenv.Eventually(t, 15*time.Second, "one assignment left on the page", func() error {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		defer cancel()
		var rows []*cdp.Node
		if err := chromedp.Run(ctx, chromedp.WaitReady("h1", chromedp.ByQuery), chromedp.Nodes("td.actions button.danger", &rows, chromedp.ByQueryAll, chromedp.AtLeast(0))); err != nil {
			return err
		}
		if len(rows) != 1 {
			return fmt.Errorf("%d assignments", len(rows))
		}
		return nil
	})
	var m memberView
	e.Call(t, "GET", "/v1/users/"+memberID, ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &m)
	if len(m.Assignments) != 1 || m.Assignments[0].Role != "manager" || m.Assignments[0].Scope != "store:s1" {
		t.Fatalf("after the role change: %+v", m.Assignments)
	}
	b.check("member-changed")

	// Act as them: their team page under the banner, then stop (back on
	// their page as the owner).
	b.run("act as them", chromedp.Click(`form[action$="/impersonate"] button`, chromedp.ByQuery))
	b.wantHeading("Team")
	if body := b.body(); !strings.Contains(body, "Olive Owner is acting as Tess Member") {
		t.Fatalf("acting: %s", body)
	}
	b.check("impersonating")
	b.run("stop acting", chromedp.Click(".banner button", chromedp.ByQuery))
	b.wantHeading("Tess Member")
	if body := b.body(); !strings.Contains(body, "You stopped acting as Tess Member.") || strings.Contains(body, "is acting as") {
		t.Fatalf("after stopping: %s", body)
	}

	// Suspend them, after the confirmation.
	b.run("ask to suspend", chromedp.Click(`a.button[href$="action=suspend"]`, chromedp.ByQuery))
	b.wantHeading("Suspend Tess Member")
	b.check("confirm-suspend")
	b.run("confirm", chromedp.Click("form.card button.danger", chromedp.ByQuery), chromedp.WaitVisible(".notice", chromedp.ByQuery))
	if body := b.body(); !strings.Contains(body, "Tess Member was suspended.") {
		t.Fatalf("after suspending: %s", body)
	}
	e.Call(t, "GET", "/v1/users/"+memberID, ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &m)
	if m.Status != "suspended" {
		t.Fatalf("status %q after suspending", m.Status)
	}
	b.check("member-suspended")

	// A forged CSRF token is refused, and nothing is changed.
	forged := newEmail("pb-forged")
	b.run("post a forged token",
		chromedp.Navigate(e.URL+"/portal/invite"),
		chromedp.WaitVisible("#email", chromedp.ByID),
		chromedp.SendKeys("#email", forged, chromedp.ByID),
		chromedp.Click(`input[name=scope][value="store:s1"]`, chromedp.ByQuery),
		chromedp.SetAttributeValue(`form.card input[name=csrf]`, "value", "forged-token", chromedp.ByQuery),
		chromedp.Click("form.card button.primary", chromedp.ByQuery),
	)
	b.wantHeading("The form has expired")
	b.check("csrf-refused")
	var invs struct {
		Items []invitation `json:"items"`
	}
	e.Call(t, "GET", "/v1/invitations", ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &invs)
	for _, inv := range invs.Items {
		if inv.Email == forged {
			t.Fatalf("the forged form invited %s", forged)
		}
	}

	// A used link shows its page.
	b.run("open the used link", chromedp.Navigate(link.URL))
	b.wantHeading("This link was used")
	b.check("link-used")

	// A manager of store s1 sees s1's members, not s2's.
	mgrEmail := newEmail("pb-mgr")
	mgrID, mgrTk := e.join(t, ownerTk.AccessToken, mgrEmail, store1("manager"))
	s1ID, _ := e.join(t, ownerTk.AccessToken, newEmail("pb-s1"), store1("team_member"))
	s2Email := newEmail("pb-s2")
	s2ID, _ := e.join(t, ownerTk.AccessToken, s2Email, map[string]any{"assignments": []map[string]string{{"role": "team_member", "scope": "store:s2"}}})
	mgrLink := e.mintPortalLink(t, mgrTk.AccessToken, mgrID)
	b.enter(mgrLink.URL)
	var html string
	b.run("read the manager's team", chromedp.OuterHTML("main", &html, chromedp.ByQuery))
	if !strings.Contains(html, s1ID) || strings.Contains(html, s2ID) || strings.Contains(html, s2Email) || strings.Contains(html, owner.MemberID) {
		t.Fatalf("the manager's team page shows the wrong members: %s", html)
	}
	b.check("manager-team")
	b.run("open another store's member", chromedp.Navigate(e.URL+"/portal/members/"+s2ID))
	b.wantHeading("Member not found")
	b.check("member-not-found")
	// The manager's invite page offers store s1 only, and no admin role.
	b.run("open the manager's invite page", chromedp.Navigate(e.URL+"/portal/invite"))
	b.wantHeading("Invite a member")
	b.run("read the manager's invite form", chromedp.OuterHTML("form.card", &html, chromedp.ByQuery))
	if !strings.Contains(html, `value="store:s1"`) || strings.Contains(html, `value="store:s2"`) || strings.Contains(html, `value="account"`) || strings.Contains(html, `value="administrator"`) {
		t.Fatalf("the manager is offered more than it may grant: %s", html)
	}
	b.check("manager-invite")

	// Signing out ends the session.
	b.run("sign out", chromedp.Click("form.signout button", chromedp.ByQuery))
	b.wantHeading("Signed out")
	b.check("signed-out")
	b.run("open the team page", chromedp.Navigate(e.URL+"/portal/team"))
	b.wantHeading("Sign in")
}

package portal

import (
	"errors"
	"github.com/a-h/templ"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
)

// stylesheetPath is the portal's one stylesheet.
const stylesheetPath = "/portal/static/portal.css"

// accentHex is an accent colour in the stylesheet's address (rrggbb).
var accentHex = regexp.MustCompile(`^[0-9a-fA-F]{6}$`)

// stylesheetHref is the stylesheet's address in an account's accent
// colour ("#rrggbb", or "" for the default).
func stylesheetHref(accent string) string {
	if a := strings.TrimPrefix(accent, "#"); accentHex.MatchString(a) {
		return stylesheetPath + "?accent=" + strings.ToLower(a)
	}
	return stylesheetPath
}

// defaultAccent and defaultProduct brand the portal until an account's
// settings name the host app's own.
const (
	defaultAccent  = "#1d4ed8"
	defaultProduct = "Steward"
)

// chrome is what every page's frame shows: the product, the signed-in
// member, the navigation and the page's messages.
type chrome struct {
	Title, Product, LogoURL string
	// Stylesheet is the stylesheet's address, in the account's accent.
	Stylesheet string
	// Account is the account's name; BackURL the host app's page the
	// session links back to.
	Account, BackURL string
	// Member is the signed-in member's name ("" before signing in).
	Member string
	// Impersonator names the administrator acting as Member.
	Impersonator string
	CSRF         string
	Nav          string
	MayInvite    bool
	// Links are the further sections the member may use (navFor).
	Links         []navLink
	Notice, Error string
}

// navLink is one section of the portal's navigation.
type navLink struct{ Nav, Href, Label string }

// fieldErrors are the messages next to the controls that caused them.
type fieldErrors map[string]string

type option struct{ Value, Label string }

var statusOptions = []option{{"", "Any status"}, {"active", "Active"}, {"invited", "Invited"}, {"suspended", "Suspended"}, {"inactive", "Inactive"}}

type (
	teamData struct {
		Query, Status string
		Members       []memberRow
		NextHref      string
		// Partial: the page stopped reading at teamScanBudget members
		// with fewer than a page of matches; the next link goes on.
		Partial bool
		// OnlySelf: the member may not view the team; its own row is shown.
		OnlySelf    bool
		ShowInvites bool
		Invites     []inviteRow
	}
	memberRow struct {
		ID, Name, Email, Status string
		Roles                   []string
	}
	inviteRow struct {
		ID, Email, Roles, Expires string
		Manage                    bool
	}
	inviteData struct {
		Email, Name, Role string
		// Grant is grantRole or grantPermissions: what the invitation
		// gives.
		Grant  string
		Roles  []roleOption
		Scopes []scopeOption
		// Toggles are the permissions the inviter may grant, by place.
		Toggles []toggleScope
		Errors  fieldErrors
	}
	roleOption  struct{ ID, Name string }
	scopeOption struct {
		Value, Label string
		Checked      bool
	}
	memberData struct {
		ID, Email, Status, Version string
		Admin, MayChange           bool
		Assignments                []assignmentRow
		Roles                      []roleOption
		Scopes                     []scopeOption
		Actions                    []statusAction
		Errors                     fieldErrors
		// Extra are the page's additions (memberHooks).
		Extra []templ.Component
	}
	assignmentRow struct{ Index, Role, Scope, Until string }
	statusAction  struct {
		Verb, Label string
		Danger      bool
	}
	confirmData struct {
		Question, Action, Button, Cancel string
		Hidden                           []hiddenField
		Reassign                         []option
	}
	hiddenField struct{ Name, Value string }
)

func current(nav, item string) string {
	if nav == item {
		return "page"
	}
	return ""
}

func invalid(errs fieldErrors, name string) string {
	if errs[name] != "" {
		return "true"
	}
	return ""
}

func describedBy(errs fieldErrors, name string) string {
	if errs[name] != "" {
		return name + "-error"
	}
	return ""
}

func scopeInputID(i int) string { return "scope-" + strconv.Itoa(i) }

func dateText(t time.Time) string {
	if t.IsZero() {
		return "No end"
	}
	return t.UTC().Format("2 Jan 2006 15:04 UTC")
}

// writePage writes a portal page with the pages' headers and PortalCSP.
func writePage(w http.ResponseWriter, r *http.Request, status int, page httpapi.Page) {
	httpapi.WriteHTMLWithCSP(w, r, status, page, httpapi.PortalCSP)
}

// writeMessage writes a page that only says something (410, 403, 500).
func writeMessage(w http.ResponseWriter, r *http.Request, status int, l chrome, message, href, text string) {
	writePage(w, r, status, messagePage(l, message, href, text))
}

// problemOf splits a refusal into the messages of its fields (keyed by
// the form's control names through rename) and the page's message.
func problemOf(err error, rename map[string]string) (fieldErrors, string, bool) {
	var e *fault.Error
	if !errors.As(err, &e) {
		return nil, "", false
	}
	errs := fieldErrors{}
	for _, f := range e.Fields {
		name := f.Field
		if i := strings.IndexByte(name, '['); i >= 0 {
			name = name[:i]
		}
		if n, ok := rename[name]; ok {
			name = n
		}
		errs[name] = f.Detail
	}
	msg := e.Detail
	if len(errs) > 0 && e.Kind == fault.Invalid {
		msg = "Check the fields marked below."
	}
	return errs, msg, true
}

// statusFor is the status of a refusal's page: the problem table's
// (httpapi.Status), 500 for anything else.
func statusFor(err error) int {
	var e *fault.Error
	if errors.As(err, &e) {
		return httpapi.Status(e.Kind)
	}
	return http.StatusInternalServerError
}

// stylesheet is the portal's one stylesheet; the accent colour is the
// account's.
func stylesheet(accent string) string {
	return ":root{--accent:" + accent + "}\n" + baseCSS
}

const baseCSS = `*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2933;background:#f7f8fa;line-height:1.5}
a{color:var(--accent)}
a:focus,button:focus,input:focus,select:focus{outline:3px solid var(--accent);outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5rem}
.skip:focus{left:.5rem}
.top{display:flex;flex-wrap:wrap;align-items:center;gap:1rem;padding:.75rem 1rem;background:#fff;border-bottom:3px solid var(--accent)}
.brand{font-weight:700;display:flex;align-items:center;gap:.5rem}
.top nav ul{display:flex;gap:1rem;list-style:none;margin:0;padding:0}
.top nav a{text-decoration:none;font-weight:600}
.top nav a[aria-current=page]{text-decoration:underline}
.signout{margin-left:auto;display:flex;gap:.5rem;align-items:center}
.who{color:#52606d}
.account{font-size:.9em}
main{max-width:60rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem}
h2{font-size:1.2rem;margin-top:2rem}
.card{background:#fff;border:1px solid #d9e2ec;border-radius:6px;padding:1rem;max-width:36rem}
.narrow{max-width:24rem}
.field{margin-bottom:1rem;border:0;padding:0}
.field label,.field legend{display:block;font-weight:600;margin-bottom:.25rem}
.part{border:1px solid #d9e2ec;border-radius:6px;padding:.75rem;margin:0 0 1rem}
.part>legend{font-weight:700;padding:0 .25rem}
.check{display:flex;gap:.5rem;align-items:center}
.check label{font-weight:400;margin:0}
input[type=text],input[type=email],input[type=password],input[type=search],input[type=date],input[type=datetime-local],select{font:inherit;padding:.45rem;border:1px solid #7b8794;border-radius:4px;width:100%;max-width:24rem;background:#fff}
button,.button{font:inherit;display:inline-block;padding:.45rem 1rem;border-radius:4px;border:1px solid #52606d;background:#fff;color:#1f2933;cursor:pointer;text-decoration:none}
.primary{background:var(--accent);border-color:var(--accent);color:#fff}
.danger{color:#b42318;border-color:#b42318}
button.link{border:0;background:none;color:var(--accent);text-decoration:underline;padding:0}
.buttons{display:flex;flex-wrap:wrap;gap:.75rem}
.filters{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-end}
.filters .field{margin:0}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:.5rem;border-bottom:1px solid #d9e2ec;vertical-align:top}
.actions form,.actions .button{display:inline-block;margin:0 .5rem .25rem 0}
ul.plain{list-style:none;margin:0;padding:0}
.status{font-size:.9em;padding:.1rem .5rem;border-radius:1rem;background:#e4e7eb}
.status-active{background:#d3f9d8;color:#0b5d1e}
.status-suspended{background:#fde2e1;color:#8a1c12}
.status-invited{background:#e0e8f9;color:#1e3a8a}
.details{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}
.details dt{color:#52606d}
.details dd{margin:0}
.notice{background:#e3f9e5;border-left:4px solid #1f7a3a;padding:.75rem}
.error{background:#fde2e1;border-left:4px solid #b42318;padding:.75rem}
.field-error{color:#b42318;margin:.25rem 0 0}
.banner{background:#fff3c4;border-bottom:2px solid #b7791f;margin:0;padding:.5rem 1rem;font-weight:600;display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center}
.banner p{margin:0}
.hint{color:#52606d}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:40rem){.signout{margin-left:0}th,td{padding:.35rem}}
`

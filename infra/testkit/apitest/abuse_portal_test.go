package apitest

import (
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/rbac"
)

// The admin portal's abuse cases (pkg/portal): CSRF on every form, forms
// that are forms, other tenants' and other stores' members hidden, the
// grant ceiling through the portal's forms, one person one vote on the
// approvals page, who may mint a portal link and where it may send, a
// session that ends with its membership, a throttled sign-in page, and a
// link that works once.
//
// Portal pages answer HTML: the refusal is a status (the code is "") and
// each case asserts on the way that nothing changed.

const (
	rulePortalCSRF          = "portal forms need their session's token"
	rulePortalForm          = "portal forms are forms"
	rulePortalTenant        = "portal: another tenant's member does not exist"
	rulePortalStore         = "portal: a store manager manages its store"
	rulePortalCeiling       = "portal: the grant ceiling decides"
	rulePortalMint          = "portal links open only what their minter holds"
	rulePortalSession       = "a portal session lasts while its membership does"
	rulePortalLogin         = "portal sign-in is throttled like the API's"
	rulePortalLink          = "a portal link works once"
	rulePortalEnter         = "a portal link signs in only the browser that continues"
	rulePortalImpersonation = "acting as a member: administrators, looking only"
)

// paSession opens a portal session of member id (minted with token, the
// member's own) and returns its cookie and the CSRF token of its forms.
func (e *Env) paSession(t *testing.T, token, id string) (cookie, csrf string) {
	t.Helper()
	cookie = e.enterPortal(t, e.mintPortalLink(t, token, id))
	_, csrf = e.portalPage(t, cookie, "/portal/team")
	return cookie, csrf
}

// paOwner signs up an account (stores s1-s3) and opens its owner's
// portal session.
func (e *Env) paOwner(t *testing.T, prefix string) (owner signedUp, ownerTk, cookie, csrf string) {
	t.Helper()
	owner = e.signup(t, newEmail(prefix))
	ownerTk = e.login(t, owner.Email, goodPassword, "").AccessToken
	cookie, csrf = e.paSession(t, ownerTk, owner.MemberID)
	return owner, ownerTk, cookie, csrf
}

// paMember reads member id through the API as token.
func (e *Env) paMember(t *testing.T, token, id string) memberView {
	t.Helper()
	var m memberView
	e.Call(t, "GET", "/v1/users/"+id, token, nil).Want(t, http.StatusOK, "").JSON(t, &m)
	return m
}

// paUnchanged fails the test when member id changed since before.
func (e *Env) paUnchanged(t *testing.T, token string, before memberView) {
	t.Helper()
	after := e.paMember(t, token, before.ID)
	if after.Version != before.Version || after.Status != before.Status || len(after.Assignments) != len(before.Assignments) || after.Admin != before.Admin {
		t.Errorf("a refused form changed member %s: %+v, was %+v", before.ID, after, before)
	}
}

// paNoAudit fails the test when the account's audit log grew from
// before: the refused request wrote nothing.
func (e *Env) paNoAudit(t *testing.T, account string, before int) {
	t.Helper()
	if after := e.auditCount(t, account); after != before {
		t.Errorf("the audit log went from %d to %d events: a refused request changed something", before, after)
	}
}

// paWantBody fails the test unless the page says want (HTML-unescaped).
func paWantBody(t *testing.T, r *Response, want string) {
	t.Helper()
	body := string(r.Body)
	if !strings.Contains(html.UnescapeString(body), want) {
		if i := strings.Index(body, "<main"); i >= 0 {
			body = body[i:] // the page's own content, past the chrome
		}
		t.Errorf("the %d page does not say %q: %.800s", r.Status, want, body)
	}
}

// noSuchMember is the member page's refusal, the same for a member that
// does not exist and one the caller may not see.
const noSuchMember = "There is no such member, or you may not see them."

// paInvite is the portal's invitation form for a fresh email.
func paInvite(csrf, role, scope string) url.Values {
	f := url.Values{"email": {newEmail("pa-inv")}, "role": {role}, "scope": {scope}}
	if csrf != "" {
		f.Set("csrf", csrf)
	}
	return f
}

// paAssign is the member page's form adding one assignment.
func paAssign(csrf string, version int64, role, scope string) url.Values {
	return url.Values{"csrf": {csrf}, "action": {"add"}, "version": {strconv.FormatInt(version, 10)}, "role": {role}, "scope": {scope}}
}

// paSuspend is the confirmed status form suspending a member.
func paSuspend(csrf string, version int64) url.Values {
	return url.Values{"csrf": {csrf}, "action": {"suspend"}, "confirm": {"yes"}, "version": {strconv.FormatInt(version, 10)}}
}

// paCookie is the value "name=value" of the cookie r sets, or "".
func paCookie(r *Response, name string) string {
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == name && c.Value != "" {
			return c.Name + "=" + c.Value
		}
	}
	return ""
}

// reopenPortalLink opens a minted link again, as a browser would: a GET
// of its path (the page that asks before the link is used).
func reopenPortalLink(t *testing.T, e *Env, link portalLink) *Response {
	t.Helper()
	return e.Call(t, "GET", strings.TrimPrefix(link.URL, e.URL), "", nil)
}

// paStoreTeam is an account with a manager at store s1 (its portal
// session open) and a team member at store s2.
type paStoreTeam struct {
	owner              signedUp
	ownerTk, mgrID     string
	mgrCookie, mgrCSRF string
	other              memberView // team_member at store:s2
}

func (e *Env) paStoreSetup(t *testing.T, prefix string) paStoreTeam {
	t.Helper()
	var st paStoreTeam
	st.owner = e.signup(t, newEmail(prefix))
	st.ownerTk = e.login(t, st.owner.Email, goodPassword, "").AccessToken
	mgrID, mgrTk := e.acctMember(t, st.owner, []rbac.Assignment{at("manager", "store:s1")})
	otherID, _ := e.acctMember(t, st.owner, []rbac.Assignment{at("team_member", "store:s2")})
	st.other = e.paMember(t, st.ownerTk, otherID)
	st.mgrID = mgrID
	st.mgrCookie, st.mgrCSRF = e.paSession(t, mgrTk, mgrID)
	return st
}

// paManagerSetup is an account with a manager at store s1 (its portal
// session open) and a team member at store s1 it manages.
func (e *Env) paManagerSetup(t *testing.T, prefix string) (st paStoreTeam, target memberView) {
	t.Helper()
	st = e.paStoreSetup(t, prefix)
	id, _ := e.acctMember(t, st.owner, []rbac.Assignment{at("team_member", "store:s1")})
	return st, e.paMember(t, st.ownerTk, id)
}

// paTwoTenants is tenant A with a member, and tenant B's owner in the
// portal.
func (e *Env) paTwoTenants(t *testing.T) (aTk string, aMember memberView, bCookie, bCSRF string) {
	t.Helper()
	a := e.signup(t, newEmail("pa-tenant-a"))
	aTk = e.login(t, a.Email, goodPassword, "").AccessToken
	id, _ := e.acctMember(t, a, []rbac.Assignment{at("team_member", "store:s1")})
	aMember = e.paMember(t, aTk, id)
	_, _, bCookie, bCSRF = e.paOwner(t, "pa-tenant-b")
	return aTk, aMember, bCookie, bCSRF
}

var _ = abuse(
	// CSRF: every portal POST carries its session's token.
	abuseCase{
		rule: rulePortalCSRF, who: "stranger", name: "a forged token on the invitation form",
		status: http.StatusForbidden,
		do: func(t *testing.T, e *Env) *Response {
			owner, _, cookie, csrf := e.paOwner(t, "pa-csrf-forged")
			before := e.auditCount(t, owner.AccountID)
			f := paInvite("forged"+csrf, "team_member", "store:s1")
			r := e.portalPost(t, cookie, "/portal/invite", f)
			paWantBody(t, r, "security token is missing or wrong")
			e.paNoAudit(t, owner.AccountID, before)
			// The same form with the session's token is accepted: the
			// token alone was refused.
			f.Set("csrf", csrf)
			e.portalPost(t, cookie, "/portal/invite", f).Want(t, http.StatusSeeOther, "")
			return r
		},
	},
	abuseCase{
		rule: rulePortalCSRF, who: "member", name: "another session's token on the owner's invitation form",
		status: http.StatusForbidden,
		do: func(t *testing.T, e *Env) *Response {
			owner, _, ownerCookie, _ := e.paOwner(t, "pa-csrf-other")
			mgrID, mgrTk := e.acctMember(t, owner, []rbac.Assignment{at("manager", "store:s1")})
			_, mgrCSRF := e.paSession(t, mgrTk, mgrID)
			before := e.auditCount(t, owner.AccountID)
			// The manager's own token, in a form posted with the owner's
			// cookie (a page the manager made the owner open), asking
			// for what only the owner may grant.
			r := e.portalPost(t, ownerCookie, "/portal/invite", paInvite(mgrCSRF, "administrator", "account"))
			paWantBody(t, r, "security token is missing or wrong")
			e.paNoAudit(t, owner.AccountID, before)
			return r
		},
	},
	abuseCase{
		rule: rulePortalCSRF, who: "stranger", name: "no token on a member's status form",
		status: http.StatusForbidden,
		do: func(t *testing.T, e *Env) *Response {
			owner, ownerTk, cookie, _ := e.paOwner(t, "pa-csrf-none")
			id, _ := e.acctMember(t, owner, []rbac.Assignment{at("team_member", "store:s1")})
			m := e.paMember(t, ownerTk, id)
			f := paSuspend("", m.Version)
			f.Del("csrf")
			r := e.portalPost(t, cookie, "/portal/members/"+id+"/status", f)
			paWantBody(t, r, "security token is missing or wrong")
			e.paUnchanged(t, ownerTk, m)
			return r
		},
	},
	abuseCase{
		rule: rulePortalCSRF, who: "stranger", name: "a signed-out session's token",
		status: http.StatusSeeOther,
		do: func(t *testing.T, e *Env) *Response {
			owner, _, cookie, csrf := e.paOwner(t, "pa-csrf-out")
			e.portalPost(t, cookie, "/portal/logout", url.Values{"csrf": {csrf}}).Want(t, http.StatusOK, "")
			before := e.auditCount(t, owner.AccountID)
			r := e.portalPost(t, cookie, "/portal/invite", paInvite(csrf, "team_member", "store:s1"))
			if loc := r.Header.Get("Location"); loc != "/portal/login" {
				t.Errorf("a signed-out session's form goes to %q, want /portal/login", loc)
			}
			e.paNoAudit(t, owner.AccountID, before)
			return r
		},
	},

	// Forms are forms: a body a cross-site page could send without a
	// preflight, or JSON, is refused before anything is read.
	abuseCase{
		rule: rulePortalForm, who: "stranger", name: "a JSON body with the right token",
		status: http.StatusUnsupportedMediaType,
		do: func(t *testing.T, e *Env) *Response {
			owner, _, cookie, csrf := e.paOwner(t, "pa-json")
			before := e.auditCount(t, owner.AccountID)
			r := e.portalRaw(t, cookie, "POST", "/portal/invite", "application/json",
				`{"csrf":"`+csrf+`","email":"`+newEmail("pa-json-x")+`","role":"team_member","scope":"store:s1"}`)
			paWantBody(t, r, "Submit the form on the portal's page.")
			e.paNoAudit(t, owner.AccountID, before)
			return r
		},
	},
	abuseCase{
		rule: rulePortalForm, who: "stranger", name: "a text/plain form with the right token",
		status: http.StatusUnsupportedMediaType,
		do: func(t *testing.T, e *Env) *Response {
			owner, _, cookie, csrf := e.paOwner(t, "pa-text")
			before := e.auditCount(t, owner.AccountID)
			r := e.portalRaw(t, cookie, "POST", "/portal/invite", "text/plain", paInvite(csrf, "team_member", "store:s1").Encode())
			paWantBody(t, r, "Submit the form on the portal's page.")
			e.paNoAudit(t, owner.AccountID, before)
			return r
		},
	},

	// Another tenant's member: the same page as a member that does not
	// exist.
	abuseCase{
		rule: rulePortalTenant, who: "other tenant", name: "opens the member's page",
		status: http.StatusNotFound,
		do: func(t *testing.T, e *Env) *Response {
			_, aMember, bCookie, _ := e.paTwoTenants(t)
			r := e.Call(t, "GET", "/portal/members/"+aMember.ID, "", nil, "Cookie", bCookie)
			unknown := e.Call(t, "GET", "/portal/members/m_"+strings.Repeat("z", 20), "", nil, "Cookie", bCookie)
			if r.Status != unknown.Status || string(r.Body) != string(unknown.Body) {
				t.Errorf("another tenant's member answers %d, an unknown one %d (or their pages differ)", r.Status, unknown.Status)
			}
			if strings.Contains(string(r.Body), aMember.Email) {
				t.Errorf("the page shows the other tenant's member's email")
			}
			return r
		},
	},
	abuseCase{
		rule: rulePortalTenant, who: "other tenant", name: "adds an assignment to the member",
		status: http.StatusNotFound,
		do: func(t *testing.T, e *Env) *Response {
			aTk, aMember, bCookie, bCSRF := e.paTwoTenants(t)
			r := e.portalPost(t, bCookie, "/portal/members/"+aMember.ID+"/assignments", paAssign(bCSRF, aMember.Version, "manager", "store:s1"))
			paWantBody(t, r, noSuchMember)
			e.paUnchanged(t, aTk, aMember)
			return r
		},
	},
	abuseCase{
		rule: rulePortalTenant, who: "other tenant", name: "suspends the member",
		status: http.StatusNotFound,
		do: func(t *testing.T, e *Env) *Response {
			aTk, aMember, bCookie, bCSRF := e.paTwoTenants(t)
			r := e.portalPost(t, bCookie, "/portal/members/"+aMember.ID+"/status", paSuspend(bCSRF, aMember.Version))
			paWantBody(t, r, noSuchMember)
			e.paUnchanged(t, aTk, aMember)
			return r
		},
	},

	// A manager at store s1 and a member at store s2.
	abuseCase{
		rule: rulePortalStore, who: "member", name: "opens another store's member's page",
		status: http.StatusNotFound,
		do: func(t *testing.T, e *Env) *Response {
			st := e.paStoreSetup(t, "pa-store-view")
			team, _ := e.portalPage(t, st.mgrCookie, "/portal/team")
			if strings.Contains(team, st.other.ID) {
				t.Errorf("the team page lists another store's member")
			}
			r := e.Call(t, "GET", "/portal/members/"+st.other.ID, "", nil, "Cookie", st.mgrCookie)
			paWantBody(t, r, noSuchMember)
			return r
		},
	},
	abuseCase{
		rule: rulePortalStore, who: "member", name: "moves another store's member into its store",
		status: http.StatusNotFound,
		do: func(t *testing.T, e *Env) *Response {
			st := e.paStoreSetup(t, "pa-store-asg")
			r := e.portalPost(t, st.mgrCookie, "/portal/members/"+st.other.ID+"/assignments", paAssign(st.mgrCSRF, st.other.Version, "team_member", "store:s1"))
			paWantBody(t, r, noSuchMember)
			e.paUnchanged(t, st.ownerTk, st.other)
			return r
		},
	},
	abuseCase{
		rule: rulePortalStore, who: "member", name: "suspends another store's member",
		status: http.StatusNotFound,
		do: func(t *testing.T, e *Env) *Response {
			st := e.paStoreSetup(t, "pa-store-susp")
			r := e.portalPost(t, st.mgrCookie, "/portal/members/"+st.other.ID+"/status", paSuspend(st.mgrCSRF, st.other.Version))
			paWantBody(t, r, noSuchMember)
			e.paUnchanged(t, st.ownerTk, st.other)
			return r
		},
	},
	abuseCase{
		rule: rulePortalStore, who: "member", name: "invites a member to another store",
		status: http.StatusForbidden,
		do: func(t *testing.T, e *Env) *Response {
			st := e.paStoreSetup(t, "pa-store-inv")
			before := e.auditCount(t, st.owner.AccountID)
			r := e.portalPost(t, st.mgrCookie, "/portal/invite", paInvite(st.mgrCSRF, "team_member", "store:s2"))
			paWantBody(t, r, "member outside the scopes you manage")
			e.paNoAudit(t, st.owner.AccountID, before)
			return r
		},
	},

	// The grant ceiling through the portal's forms (a manager at store
	// s1, its member at s1).
	abuseCase{
		rule: rulePortalCeiling, who: "member", name: "manager makes its member an administrator",
		status: http.StatusForbidden,
		do: func(t *testing.T, e *Env) *Response {
			st, target := e.paManagerSetup(t, "pa-ceil-admin")
			r := e.portalPost(t, st.mgrCookie, "/portal/members/"+target.ID+"/assignments", paAssign(st.mgrCSRF, target.Version, "administrator", "account"))
			paWantBody(t, r, "only administrators make or unmake administrators")
			e.paUnchanged(t, st.ownerTk, target)
			return r
		},
	},
	abuseCase{
		rule: rulePortalCeiling, who: "member", name: "manager grants full access at its store",
		status: http.StatusForbidden,
		do: func(t *testing.T, e *Env) *Response {
			st, target := e.paManagerSetup(t, "pa-ceil-full")
			r := e.portalPost(t, st.mgrCookie, "/portal/members/"+target.ID+"/assignments", paAssign(st.mgrCSRF, target.Version, "full_access", "store:s1"))
			paWantBody(t, r, "grant exceeds your own rights")
			e.paUnchanged(t, st.ownerTk, target)
			return r
		},
	},
	abuseCase{
		rule: rulePortalCeiling, who: "member", name: "manager grants its own role account-wide",
		status: http.StatusForbidden,
		do: func(t *testing.T, e *Env) *Response {
			st, target := e.paManagerSetup(t, "pa-ceil-acct")
			r := e.portalPost(t, st.mgrCookie, "/portal/members/"+target.ID+"/assignments", paAssign(st.mgrCSRF, target.Version, "manager", "account"))
			paWantBody(t, r, "member outside the scopes you manage")
			e.paUnchanged(t, st.ownerTk, target)
			return r
		},
	},
	paInviteRefused("manager invites an administrator", "pa-ceil-inv-admin", "administrator", "account", "only administrators make or unmake administrators"),
	paInviteRefused("manager invites a senior manager (admin-only role)", "pa-ceil-inv-sm", "senior_manager", "store:s1", "role granted by administrators only"),
	paInviteRefused("manager invites an accountant (rights it lacks)", "pa-ceil-inv-acc", "accountant", "store:s1", "grant exceeds your own rights"),
	abuseCase{
		rule: rulePortalCeiling, who: "demoted actor", name: "a manager demoted while signed in invites",
		status: http.StatusForbidden,
		do: func(t *testing.T, e *Env) *Response {
			st, _ := e.paManagerSetup(t, "pa-ceil-demoted")
			// The owner demotes the manager (team_member at s1) while its
			// session and form are open.
			e.mbDemote(t, st.ownerTk, st.mgrID)
			before := e.auditCount(t, st.owner.AccountID)
			r := e.portalPost(t, st.mgrCookie, "/portal/invite", paInvite(st.mgrCSRF, "team_member", "store:s1"))
			paWantBody(t, r, "You may not invite people to this account.")
			e.paNoAudit(t, st.owner.AccountID, before)
			return r
		},
	},
	abuseCase{
		rule: "the owner is the owner's", who: "admin", name: "admin changes the owner's assignments through the portal",
		status: http.StatusForbidden,
		do: func(t *testing.T, e *Env) *Response {
			owner := e.signup(t, newEmail("pa-own-asg"))
			ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
			adminID, adminTk := e.mbAdmin(t, owner)
			cookie, csrf := e.paSession(t, adminTk, adminID)
			o := e.paMember(t, ownerTk, owner.MemberID)
			r := e.portalPost(t, cookie, "/portal/members/"+owner.MemberID+"/assignments", paAssign(csrf, o.Version, "team_member", "store:s1"))
			paWantBody(t, r, "only the owner changes the owner")
			e.paUnchanged(t, ownerTk, o)
			return r
		},
	},
	abuseCase{
		rule: "the owner is the owner's", who: "admin", name: "admin suspends the owner through the portal",
		status: http.StatusForbidden,
		do: func(t *testing.T, e *Env) *Response {
			owner := e.signup(t, newEmail("pa-own-susp"))
			ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
			adminID, adminTk := e.mbAdmin(t, owner)
			cookie, csrf := e.paSession(t, adminTk, adminID)
			o := e.paMember(t, ownerTk, owner.MemberID)
			r := e.portalPost(t, cookie, "/portal/members/"+owner.MemberID+"/status", paSuspend(csrf, o.Version))
			paWantBody(t, r, "the account owner cannot be changed this way")
			e.paUnchanged(t, ownerTk, o)
			return r
		},
	},

	// One person, one vote, on the approvals page.
	abuseCase{
		rule: "one person, one vote", who: "requester", name: "approves their own request through the portal",
		status: http.StatusForbidden,
		do: func(t *testing.T, e *Env) *Response {
			// The requester may approve at store s1 too: only being the
			// requester refuses it.
			owner := e.signup(t, newEmail("pa-ap-owner"))
			ownerTk := e.login(t, owner.Email, goodPassword, owner.AccountID).AccessToken
			rq := e.apMember(t, owner, "Rita Requester", at("full_access", "store:s1"), at("manager", "store:s1"), at("approver", "store:s1"))
			e.Call(t, "PUT", "/v1/approval-policies/purchase_order", ownerTk, twoLevelPolicy()).Want(t, http.StatusOK, "")
			e.Call(t, "PUT", "/v1/documents/purchase_order/po-pa1", rq.Token, poBody(100)).Want(t, http.StatusCreated, "")
			req := e.requestApproval(t, rq.Token, "po-pa1", nil)
			e.waitRequest(t, rq.Token, req.ID, "level 1", func(r apRequest) bool { return r.CurrentLevel == 1 })
			cookie := e.apPortal(t, rq)
			page, csrf := e.portalPage(t, cookie, "/portal/approvals/requests/"+req.ID)
			if strings.Contains(page, `value="approve"`) {
				t.Errorf("the requester is offered a decision on their own request")
			}
			r := e.portalPost(t, cookie, "/portal/approvals/requests/"+req.ID+"/decision", url.Values{"csrf": {csrf}, "decision": {"approve"}})
			paWantBody(t, r, "You may not decide on this approval request")
			if got := e.getRequest(t, ownerTk, req.ID); got.Status != "pending" || len(got.Decisions) != 0 {
				t.Errorf("the requester decided their own request: %+v", got)
			}
			return r
		},
	},

	// Minting portal links.
	abuseCase{
		rule: rulePortalMint, who: "admin", name: "a full-access API key mints a link for an administrator",
		status: http.StatusForbidden, code: "exceeds_key_rights",
		do: func(t *testing.T, e *Env) *Response {
			owner := e.signup(t, newEmail("pa-mint-key"))
			ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
			adminID, _ := e.mbAdmin(t, owner)
			key := e.createKey(t, ownerTk, map[string]any{"name": "Backend", "permissions": fullAccessPermissions(t)})
			r := e.Call(t, "POST", "/v1/portal/sessions", key.Secret, map[string]any{"userId": adminID})
			if n := e.auditCountAction(t, owner.AccountID, "portal_link.create"); n != 0 {
				t.Errorf("portal_link.create events: %d, want 0", n)
			}
			return r
		},
	},
	abuseCase{
		rule: rulePortalMint, who: "member", name: "a manager mints a link for its own team member",
		status: http.StatusForbidden, code: "not_self",
		do: func(t *testing.T, e *Env) *Response {
			owner := e.signup(t, newEmail("pa-mint-self"))
			_, mgrTk := e.acctMember(t, owner, []rbac.Assignment{at("manager", "store:s1")})
			target, _ := e.acctMember(t, owner, []rbac.Assignment{at("team_member", "store:s1")})
			return e.Call(t, "POST", "/v1/portal/sessions", mgrTk, map[string]any{"userId": target})
		},
	},
	abuseCase{
		rule: rulePortalMint, who: "member", name: "returnUrl on a foreign origin",
		status: http.StatusBadRequest, code: "invalid_field",
		do: func(t *testing.T, e *Env) *Response {
			owner := e.signup(t, newEmail("pa-mint-ret"))
			id, tk := e.acctMember(t, owner, []rbac.Assignment{at("team_member", "store:s1")})
			return e.Call(t, "POST", "/v1/portal/sessions", tk, map[string]any{"userId": id, "returnUrl": "https://evil.example/portal/team"})
		},
	},
	abuseCase{
		rule: rulePortalMint, who: "member", name: "returnUrl protocol-relative to a foreign host",
		status: http.StatusBadRequest, code: "invalid_field",
		do: func(t *testing.T, e *Env) *Response {
			owner := e.signup(t, newEmail("pa-mint-ret2"))
			id, tk := e.acctMember(t, owner, []rbac.Assignment{at("team_member", "store:s1")})
			return e.Call(t, "POST", "/v1/portal/sessions", tk, map[string]any{"userId": id, "returnUrl": "//evil.example/portal/team"})
		},
	},
	abuseCase{
		rule: "impersonation is for looking", who: "impersonator", name: "mints a portal link as the member (a session without the impersonator)",
		status: http.StatusForbidden, code: "impersonation_forbidden",
		do: func(t *testing.T, e *Env) *Response {
			owner, _, memberID, imp := e.impersonating(t)
			r := e.Call(t, "POST", "/v1/portal/sessions", imp, map[string]any{"userId": memberID})
			if n := e.auditCountAction(t, owner.AccountID, "portal_link.create"); n != 0 {
				t.Errorf("portal_link.create events: %d, want 0", n)
			}
			return r
		},
	},

	// A session lasts while its membership does.
	abuseCase{
		rule: rulePortalSession, who: "member", name: "a suspended member's open session",
		status: http.StatusSeeOther,
		do: func(t *testing.T, e *Env) *Response {
			owner := e.signup(t, newEmail("pa-susp"))
			ownerTk := e.login(t, owner.Email, goodPassword, "").AccessToken
			mgrID, mgrTk := e.acctMember(t, owner, []rbac.Assignment{at("manager", "store:s1")})
			cookie, csrf := e.paSession(t, mgrTk, mgrID)
			e.Call(t, "POST", "/v1/users/"+mgrID+"/suspend", ownerTk, nil).Want(t, http.StatusOK, "")
			before := e.auditCount(t, owner.AccountID)
			post := e.portalPost(t, cookie, "/portal/invite", paInvite(csrf, "team_member", "store:s1")).Want(t, http.StatusSeeOther, "")
			e.paNoAudit(t, owner.AccountID, before)
			r := e.Call(t, "GET", "/portal/team", "", nil, "Cookie", cookie)
			for _, x := range []*Response{post, r} {
				if loc := x.Header.Get("Location"); loc != "/portal/login" {
					t.Errorf("a suspended member's session goes to %q, want /portal/login", loc)
				}
			}
			return r
		},
	},

	// The sign-in page's password guesses are throttled per (email,
	// address), and a guess past the limit is not compared.
	abuseCase{
		rule: rulePortalLogin, who: "stranger", name: "repeated wrong passwords at the portal's sign-in",
		status: http.StatusTooManyRequests,
		do: func(t *testing.T, e *Env) *Response {
			u := e.signup(t, newEmail("pa-login"))
			addr := NewTestAddress()
			page := e.Call(t, "GET", "/portal/login", "", nil, "X-Test-Client-Address", addr).Want(t, http.StatusOK, "")
			cookie := paCookie(page, "steward_portal_login")
			m := csrfField.FindStringSubmatch(string(page.Body))
			if cookie == "" || m == nil {
				t.Fatalf("login page: cookie %q, body %.300s", cookie, page.Body)
			}
			post := func(password string) *Response {
				f := url.Values{"csrf": {html.UnescapeString(m[1])}, "email": {u.Email}, "password": {password}}
				return e.Call(t, "POST", "/portal/login", "", f.Encode(), "Cookie", cookie,
					"Content-Type", "application/x-www-form-urlencoded", "X-Test-Client-Address", addr)
			}
			for i := range auth.DefaultLimits.PerPair {
				post("wrong-password-"+strconv.Itoa(i)).Want(t, http.StatusUnauthorized, "")
			}
			// The 429 says when to retry, as the API's does.
			throttled := post("wrong-password-again")
			wantRetryAfter(t, throttled)
			paWantBody(t, throttled, "Too many failed sign-ins")
			// Past the limit even the right password is not compared: no
			// session.
			r := post(goodPassword)
			if c := paCookie(r, "steward_portal"); c != "" {
				t.Errorf("a throttled sign-in set a session cookie")
			}
			return r
		},
	},

	// A minted link works once.
	abuseCase{
		rule: rulePortalLink, who: "stranger", name: "a used link opened again",
		status: http.StatusGone,
		do: func(t *testing.T, e *Env) *Response {
			owner := e.signup(t, newEmail("pa-link"))
			id, tk := e.acctMember(t, owner, []rbac.Assignment{at("manager", "store:s1")})
			link := e.mintPortalLink(t, tk, id)
			e.portalPage(t, e.enterPortal(t, link), "/portal/team")
			r := reopenPortalLink(t, e, link)
			paWantBody(t, r, "This link was used")
			if c := paCookie(r, "steward_portal"); c != "" {
				t.Errorf("a used link set a session cookie")
			}
			return r
		},
	},

	// Acting as a member is for looking only, and only administrators
	// act.
	abuseCase{
		rule: rulePortalImpersonation, who: "impersonator", name: "changes a member's status while acting",
		status: http.StatusForbidden,
		do: func(t *testing.T, e *Env) *Response {
			owner := e.signup(t, newEmail("pa-imp"))
			ownerTk := e.login(t, owner.Email, goodPassword, "")
			memberID, _ := e.join(t, ownerTk.AccessToken, newEmail("pa-imp-m"), store1("team_member"))
			otherID, _ := e.join(t, ownerTk.AccessToken, newEmail("pa-imp-o"), store1("team_member"))
			admin := e.enterPortal(t, e.mintPortalLink(t, ownerTk.AccessToken, owner.MemberID))
			_, csrf := e.portalPage(t, admin, "/portal/members/"+memberID)
			acting := paCookie(e.portalPost(t, admin, "/portal/members/"+memberID+"/impersonate", url.Values{"csrf": {csrf}}).Want(t, http.StatusSeeOther, ""), "steward_portal")
			_, actCSRF := e.portalPage(t, acting, "/portal/access")
			r := e.portalPost(t, acting, "/portal/members/"+otherID+"/status", url.Values{"csrf": {actCSRF}, "action": {"suspend"}, "version": {"1"}})
			paWantBody(t, r, "for looking only")
			var m struct{ Status string }
			e.Call(t, "GET", "/v1/users/"+otherID, ownerTk.AccessToken, nil).Want(t, http.StatusOK, "").JSON(t, &m)
			if m.Status != "active" {
				t.Errorf("the member is %s after a change while acting", m.Status)
			}
			return r
		},
	},
	abuseCase{
		rule: rulePortalImpersonation, who: "member", name: "a manager acts as its team member",
		status: http.StatusForbidden,
		do: func(t *testing.T, e *Env) *Response {
			owner := e.signup(t, newEmail("pa-imp2"))
			ownerTk := e.login(t, owner.Email, goodPassword, "")
			memberID, _ := e.join(t, ownerTk.AccessToken, newEmail("pa-imp2-m"), store1("team_member"))
			mgrID, mgrTk := e.join(t, ownerTk.AccessToken, newEmail("pa-imp2-g"), store1("manager"))
			mgr := e.enterPortal(t, e.mintPortalLink(t, mgrTk.AccessToken, mgrID))
			_, csrf := e.portalPage(t, mgr, "/portal/members/"+memberID)
			r := e.portalPost(t, mgr, "/portal/members/"+memberID+"/impersonate", url.Values{"csrf": {csrf}})
			if c := paCookie(r, "steward_portal"); c != "" {
				t.Errorf("a refused impersonation set a session cookie")
			}
			return r
		},
	},
	// A link someone else minted signs nobody in unseen: its page asks,
	// and another site's form cannot answer for the browser.
	abuseCase{
		rule: rulePortalEnter, who: "stranger", name: "another site posts the link's form",
		status: http.StatusForbidden,
		do: func(t *testing.T, e *Env) *Response {
			owner := e.signup(t, newEmail("pa-enter"))
			ownerTk := e.login(t, owner.Email, goodPassword, "")
			link := e.mintPortalLink(t, ownerTk.AccessToken, owner.MemberID)
			path := strings.TrimPrefix(link.URL, e.URL)
			_, csrf := e.portalLinkForm(t, path) // the attacker reads its own page
			r := e.portalPost(t, "", path, url.Values{"csrf": {csrf}})
			if c := paCookie(r, "steward_portal"); c != "" {
				t.Errorf("a forged form set a session cookie")
			}
			return r
		},
	},
)

// paInviteRefused is the case of a store manager inviting with a grant
// above its ceiling on the portal's invite page: 403 with the ceiling's
// message, nothing audited.
func paInviteRefused(name, slug, role, scope, msg string) abuseCase {
	return abuseCase{
		rule: rulePortalCeiling, who: "member", name: name,
		status: http.StatusForbidden,
		do: func(t *testing.T, e *Env) *Response {
			st, _ := e.paManagerSetup(t, slug)
			before := e.auditCount(t, st.owner.AccountID)
			r := e.portalPost(t, st.mgrCookie, "/portal/invite", paInvite(st.mgrCSRF, role, scope))
			paWantBody(t, r, msg)
			e.paNoAudit(t, st.owner.AccountID, before)
			return r
		},
	}
}

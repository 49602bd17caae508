package portal

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/invites"
	"github.com/stewardhq/steward/pkg/members"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/team"
	"github.com/stewardhq/steward/pkg/views"
)

// teamPageSize is the number of members read for one team page.
const teamPageSize = 25

// teamScanBudget bounds the members one team page reads looking for
// matches (teamPageSize at a time).
const teamScanBudget = 500

// mayInvite: the caller holds users.manage somewhere (the API's rule for
// inviting; the ceiling then decides what).
func mayInvite(p *auth.Principal) bool {
	for _, sp := range p.Authz.Effective() {
		if slices.Contains(sp.Permissions, rbac.PermUsersManage) {
			return true
		}
	}
	return false
}

// visible: the caller holds users.view over m: at account scope, or at
// every scope of m's assignments. Everyone sees themselves.
func visible(p *auth.Principal, m team.Member) bool {
	if m.ID == p.Member.ID || p.Authz.Holds("users.view", rbac.AccountScope) {
		return true
	}
	if len(m.Assignments) == 0 || m.Admin || m.Owner {
		return false
	}
	for _, a := range m.Assignments {
		if !p.Authz.Holds("users.view", a.Scope) {
			return false
		}
	}
	return true
}

// mayChange: the grant ceiling lets the caller change m at all (taking
// it out, the least change of its grants).
func mayChange(p *auth.Principal, m team.Member) bool {
	after := m
	after.Status = rbac.StatusDeleted
	return m.ID != p.Member.ID && p.Roles.CheckChange(p.Member.Authz(p.At), m.Authz(p.At), after.Authz(p.At)) == nil
}

func (s *Service) roleName(p *auth.Principal, id string) string {
	if r, ok := p.Roles.Role(id); ok {
		return r.Name
	}
	return id
}

// grantName names what an assignment grants: its role, or the keys of a
// permission assignment.
func (s *Service) grantName(p *auth.Principal, a rbac.Assignment) string {
	if a.IsPermissions() {
		return "Own permissions: " + strings.Join(a.Permissions, ", ")
	}
	return s.roleName(p, a.Role)
}

// scopeLabels names the account's stores, departments and suppliers.
func (s *Service) scopeLabels(ctx context.Context, account string) (map[rbac.Scope]string, []rbac.Scope, error) {
	labels := map[rbac.Scope]string{rbac.AccountScope: "Whole account"}
	order := []rbac.Scope{rbac.AccountScope}
	page, err := s.Store.ListStores(ctx, account, 100, "")
	if err != nil {
		return nil, nil, err
	}
	for _, st := range page.Items {
		sc := rbac.StoreScope(st.ID)
		name := st.Name
		if name == "" {
			name = st.ID
		}
		labels[sc] = "Store: " + name
		order = append(order, sc)
	}
	return labels, order, nil
}

func scopeLabel(labels map[rbac.Scope]string, sc rbac.Scope) string {
	if l, ok := labels[sc]; ok {
		return l
	}
	return sc.String()
}

// HandleTeam serves GET /portal/team: the members the caller may see,
// searched and filtered by status, a page at a time, and the pending
// invitations.
func (s *Service) HandleTeam(w http.ResponseWriter, r *http.Request) error {
	return s.view(func(w http.ResponseWriter, r *http.Request, q *req) {
		ctx := r.Context()
		qs := r.URL.Query()
		d := teamData{Query: strings.TrimSpace(qs.Get("q")), Status: qs.Get("status")}
		f := members.Filter{Status: rbac.Status(d.Status)}
		l := q.chrome("Team", "team")
		labels, _, err := s.scopeLabels(ctx, q.P.AccountID())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		// A search, a status or a store manager's partial view can leave a
		// store page with few rows: pages are read on until a page's worth
		// matches or teamScanBudget members were read (the next link goes
		// on from there), so a large account needs neither one request per
		// 25 members nor an unbounded scan.
		needle := strings.ToLower(d.Query)
		cursor, scanned := qs.Get("cursor"), 0
		var next string
		for {
			page, err := s.Members.List(ctx, q.P, f, teamPageSize, cursor)
			if err != nil {
				if statusFor(err) >= 500 {
					s.fail(w, r, err)
					return
				}
				if statusFor(err) == http.StatusForbidden && !q.P.IsAPIKey() {
					// A member who may not view the team sees itself.
					d.OnlySelf = true
					d.Members = s.teamRows(q, labels, "", []team.Member{q.P.Member})
					break
				}
				_, l.Error, _ = problemOf(err, nil)
				writePage(w, r, statusFor(err), teamPage(l, d))
				return
			}
			scanned += teamPageSize
			page.Items = slices.DeleteFunc(page.Items, func(m team.Member) bool { return !visible(q.P, m) })
			d.Members = append(d.Members, s.teamRows(q, labels, needle, page.Items)...)
			next = page.Next
			if next == "" || len(d.Members) >= teamPageSize || scanned >= teamScanBudget {
				break
			}
			cursor = next
		}
		d.Partial = next != "" && len(d.Members) < teamPageSize
		if next != "" {
			v := url.Values{"cursor": {next}}
			if d.Query != "" {
				v.Set("q", d.Query)
			}
			if d.Status != "" {
				v.Set("status", d.Status)
			}
			d.NextHref = "/portal/team?" + v.Encode()
		}
		if mayInvite(q.P) {
			invs, err := s.Invites.List(ctx, q.P, 50, "")
			if err == nil {
				d.ShowInvites = true
				now := q.P.At
				for _, inv := range invs.Items {
					if inv.StatusAt(now) != team.InvitationPending {
						continue
					}
					target := team.Member{ID: inv.MemberID, AccountID: inv.AccountID, Status: rbac.StatusInvited, Admin: inv.Admin, Assignments: inv.Assignments}
					if !visible(q.P, target) {
						continue
					}
					var roles []string
					for _, a := range inv.Assignments {
						roles = append(roles, s.grantName(q.P, a)+" · "+scopeLabel(labels, a.Scope))
					}
					if inv.Admin {
						roles = append([]string{"Administrator"}, roles...)
					}
					d.Invites = append(d.Invites, inviteRow{ID: inv.ID, Email: inv.Email, Roles: strings.Join(roles, ", "), Expires: dateText(inv.ExpiresAt), Manage: mayChange(q.P, target)})
				}
			}
		}
		writePage(w, r, http.StatusOK, teamPage(l, d))
	})(w, r)
}

// HandleResendInvitation serves POST /portal/invitations/{id}/resend
// (invites.Service.Resend, as POST /v1/invitations/{id}/resend).
func (s *Service) HandleResendInvitation(w http.ResponseWriter, r *http.Request) error {
	return s.action(func(w http.ResponseWriter, r *http.Request, q *req, _ url.Values) {
		inv, err := s.Invites.Resend(r.Context(), q.P, r.PathValue("id"), s.Auth.SourceIP(r))
		if err != nil {
			s.refuse(w, r, q, "The invitation was not re-sent", err)
			return
		}
		q.redirect(w, r, "/portal/team", "The invitation to "+inv.Email+" was sent again.")
	})(w, r)
}

// HandleRevokeInvitationPage serves GET /portal/invitations/{id}/revoke:
// the confirmation.
func (s *Service) HandleRevokeInvitationPage(w http.ResponseWriter, r *http.Request) error {
	return s.view(func(w http.ResponseWriter, r *http.Request, q *req) {
		id := r.PathValue("id")
		d := confirmData{Question: "Withdraw this invitation? Its link stops working.", Action: "/portal/invitations/" + id + "/revoke", Button: "Revoke the invitation", Cancel: "/portal/team"}
		writePage(w, r, http.StatusOK, confirmPage(q.chrome("Revoke the invitation", "team"), d))
	})(w, r)
}

// HandleRevokeInvitation serves POST /portal/invitations/{id}/revoke
// (invites.Service.Revoke, as DELETE /v1/invitations/{id}).
func (s *Service) HandleRevokeInvitation(w http.ResponseWriter, r *http.Request) error {
	return s.action(func(w http.ResponseWriter, r *http.Request, q *req, form url.Values) {
		if form.Get("confirm") != "yes" {
			http.Redirect(w, r, "/portal/invitations/"+url.PathEscape(r.PathValue("id"))+"/revoke", http.StatusSeeOther)
			return
		}
		if err := s.Invites.Revoke(r.Context(), q.P, r.PathValue("id")); err != nil {
			s.refuse(w, r, q, "The invitation was not revoked", err)
			return
		}
		q.redirect(w, r, "/portal/team", "The invitation was revoked.")
	})(w, r)
}

// grantable lists the roles and scopes the caller may grant: a pair is
// offered when the grant ceiling lets the caller invite a member with
// just that assignment.
func (s *Service) grantable(ctx context.Context, p *auth.Principal) ([]roleOption, []scopeOption, map[string]bool, error) {
	labels, order, err := s.scopeLabels(ctx, p.AccountID())
	if err != nil {
		return nil, nil, nil, err
	}
	var roles []roleOption
	scopeOK := map[rbac.Scope]bool{}
	pairs := map[string]bool{}
	actor := p.Member.Authz(p.At)
	for _, role := range p.Roles.Roles() {
		grantsSome := false
		for _, sc := range order {
			a := rbac.Assignment{Role: role.ID, Scope: sc}
			if p.Roles.ValidateAssignment(a) != nil {
				continue
			}
			probe := rbac.Member{ID: "m_probe", Account: p.AccountID(), Status: rbac.StatusInvited, Assignments: []rbac.Assignment{a}, At: p.At}
			if p.Roles.CheckChange(actor, rbac.Member{}, probe) == nil {
				grantsSome = true
				scopeOK[sc] = true
				pairs[role.ID+"|"+sc.String()] = true
			}
		}
		if grantsSome {
			roles = append(roles, roleOption{ID: role.ID, Name: role.Name})
		}
	}
	var scopes []scopeOption
	for _, sc := range order {
		if scopeOK[sc] {
			scopes = append(scopes, scopeOption{Value: sc.String(), Label: scopeLabel(labels, sc)})
		}
	}
	return roles, scopes, pairs, nil
}

// What an invitation made on the invite page gives: a role at the places
// chosen, or permissions of the member's own (permission assignments,
// {permissions, scope}), as POST /v1/invitations takes either.
const (
	grantRole        = "role"
	grantPermissions = "permissions"
	// permissionField + scope names the invite page's checkboxes of the
	// permissions at that scope.
	permissionField = "permission:"
)

// inviteOptions fills d with what the caller may grant: the roles and
// places (grantable) and the permissions by place (permissionToggles, as
// on the member page, for a member holding nothing yet), checked as in
// form.
func (s *Service) inviteOptions(r *http.Request, q *req, d *inviteData, form url.Values) error {
	roles, scopes, _, err := s.grantable(r.Context(), q.P)
	if err != nil {
		return err
	}
	toggles, err := s.permissionToggles(r, q, team.Member{})
	if err != nil {
		return err
	}
	d.Roles = roles
	chosen := form["scope"]
	for _, sc := range scopes {
		sc.Checked = slices.Contains(chosen, sc.Value)
		d.Scopes = append(d.Scopes, sc)
	}
	for _, t := range toggles {
		keys := form[permissionField+t.Scope]
		for _, g := range t.Groups {
			for i := range g.Perms {
				g.Perms[i].Checked = slices.Contains(keys, g.Perms[i].Key)
			}
		}
	}
	d.Toggles = toggles
	return nil
}

// toggleOpen: a place's permissions are shown unfolded when some are
// checked.
func toggleOpen(t toggleScope) bool {
	for _, g := range t.Groups {
		for _, p := range g.Perms {
			if p.Checked {
				return true
			}
		}
	}
	return false
}

// HandleInvitePage serves GET /portal/invite: the invitation form.
func (s *Service) HandleInvitePage(w http.ResponseWriter, r *http.Request) error {
	return s.view(func(w http.ResponseWriter, r *http.Request, q *req) {
		d := inviteData{Grant: grantRole, Errors: fieldErrors{}}
		if err := s.inviteOptions(r, q, &d, nil); err != nil {
			s.fail(w, r, err)
			return
		}
		writePage(w, r, http.StatusOK, invitePage(q.chrome("Invite a member", "invite"), d))
	})(w, r)
}

// invitePermissions are the permission assignments of the invite form:
// one per place with keys checked, decoded as the API decodes
// assignments (views.ParseAssignments).
func invitePermissions(form url.Values) ([]rbac.Assignment, error) {
	var in []views.Assignment
	for _, name := range slices.Sorted(maps.Keys(form)) {
		if sc, ok := strings.CutPrefix(name, permissionField); ok {
			in = append(in, views.Assignment{Permissions: form[name], Scope: sc})
		}
	}
	if len(in) == 0 {
		return nil, nil
	}
	return views.ParseAssignments(in)
}

// HandleInvite serves POST /portal/invite: invites.Service.Create, as
// POST /v1/invitations (the same ceiling, audit and email), with a role
// at the places chosen or with the permissions checked at each place.
func (s *Service) HandleInvite(w http.ResponseWriter, r *http.Request) error {
	return s.action(func(w http.ResponseWriter, r *http.Request, q *req, form url.Values) {
		d := inviteData{Email: form.Get("email"), Name: form.Get("name"), Role: form.Get("role"), Grant: form.Get("grant"), Errors: fieldErrors{}}
		in := invites.CreateInput{Email: d.Email, Name: d.Name}
		// The field the assignments' refusals are shown next to.
		field := "scope"
		var err error
		if d.Grant == grantPermissions {
			field = "permissions"
			in.Assignments, err = invitePermissions(form)
			if err == nil && len(in.Assignments) == 0 {
				// Never none: the API would give the preset's default grant.
				d.Errors[field] = "Choose at least one permission."
			}
		} else {
			d.Grant = grantRole
			chosen := form["scope"]
			if len(chosen) == 0 {
				d.Errors[field] = "Choose at least one place."
			}
			for _, v := range chosen {
				sc, perr := rbac.ParseScope(v)
				if perr != nil {
					d.Errors[field] = "Choose the places offered."
					break
				}
				in.Assignments = append(in.Assignments, rbac.Assignment{Role: d.Role, Scope: sc})
			}
		}
		l := q.chrome("Invite a member", "invite")
		status := http.StatusBadRequest
		switch {
		case len(d.Errors) > 0:
			l.Error = "Check the fields marked below."
		case err == nil:
			inv, cerr := s.Invites.Create(r.Context(), q.P, in)
			if cerr == nil {
				q.redirect(w, r, "/portal/team", "An invitation was sent to "+inv.Email+".")
				return
			}
			err = cerr
		}
		if err != nil {
			errs, msg, ok := problemOf(err, map[string]string{"assignments": field})
			if !ok || statusFor(err) >= 500 {
				s.fail(w, r, err)
				return
			}
			for k, v := range errs {
				d.Errors[k] = v
			}
			if d.Grant == grantPermissions && len(errs) == 0 {
				// A refusal of the grant (the ceiling): shown next to
				// the permissions too.
				d.Errors[field] = msg
			}
			l.Error, status = msg, statusFor(err)
		}
		if oerr := s.inviteOptions(r, q, &d, form); oerr != nil {
			s.fail(w, r, oerr)
			return
		}
		writePage(w, r, status, invitePage(l, d))
	})(w, r)
}

// loadMember reads a member the caller may see (404 page otherwise: the
// same answer as a member that does not exist).
func (s *Service) loadMember(w http.ResponseWriter, r *http.Request, q *req) (team.Member, bool) {
	m, err := s.Members.Get(r.Context(), q.P, r.PathValue("id"))
	if err != nil && statusFor(err) >= 500 {
		s.fail(w, r, err)
		return team.Member{}, false
	}
	if err != nil || !visible(q.P, m) {
		l := q.chrome("Member not found", "team")
		writeMessage(w, r, http.StatusNotFound, l, "There is no such member, or you may not see them.", "/portal/team", "Back to the team")
		return team.Member{}, false
	}
	return m, true
}

// memberActions are the status changes offered for m.
func memberActions(m team.Member) []statusAction {
	switch m.Status {
	case rbac.StatusActive:
		return []statusAction{{"suspend", "Suspend", true}, {"deactivate", "Deactivate", true}, {"delete", "Delete", true}}
	case rbac.StatusSuspended:
		return []statusAction{{"reactivate", "Reactivate", false}, {"deactivate", "Deactivate", true}, {"delete", "Delete", true}}
	case rbac.StatusInactive:
		return []statusAction{{"reactivate", "Reactivate", false}, {"delete", "Delete", true}}
	}
	return nil
}

func (s *Service) memberData(r *http.Request, q *req, m team.Member) (memberData, error) {
	labels, _, err := s.scopeLabels(r.Context(), q.P.AccountID())
	if err != nil {
		return memberData{}, err
	}
	d := memberData{ID: m.ID, Email: m.Email, Status: string(m.Status), Version: strconv.FormatInt(m.Version, 10), Admin: m.Admin || m.Owner, Errors: fieldErrors{}}
	d.MayChange = mayChange(q.P, m) && m.Status != rbac.StatusInvited
	for i, a := range m.Assignments {
		d.Assignments = append(d.Assignments, assignmentRow{Index: strconv.Itoa(i), Role: s.grantName(q.P, a), Scope: scopeLabel(labels, a.Scope), Until: dateText(a.ExpiresAt)})
	}
	if d.MayChange {
		d.Roles, d.Scopes, _, err = s.grantable(r.Context(), q.P)
		if err != nil {
			return memberData{}, err
		}
		d.Actions = memberActions(m)
	}
	if d.Extra, err = s.memberExtras(r, q, m, nil); err != nil {
		return memberData{}, err
	}
	return d, nil
}

func memberTitle(m team.Member) string {
	if m.Name != "" {
		return m.Name
	}
	return m.Email
}

// HandleMember serves GET /portal/members/{id}: details, assignments and
// what the caller may do to the member.
func (s *Service) HandleMember(w http.ResponseWriter, r *http.Request) error {
	return s.view(func(w http.ResponseWriter, r *http.Request, q *req) {
		m, ok := s.loadMember(w, r, q)
		if !ok {
			return
		}
		d, err := s.memberData(r, q, m)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		l := q.chrome(memberTitle(m), "team")
		writePage(w, r, http.StatusOK, memberPage(l, d))
	})(w, r)
}

// HandleAssignments serves POST /portal/members/{id}/assignments: add or
// remove one assignment through members.Service.Update, as PATCH
// /v1/users/{id} (the version read is the If-Match).
func (s *Service) HandleAssignments(w http.ResponseWriter, r *http.Request) error {
	return s.action(func(w http.ResponseWriter, r *http.Request, q *req, form url.Values) {
		m, ok := s.loadMember(w, r, q)
		if !ok {
			return
		}
		version, _ := strconv.ParseInt(form.Get("version"), 10, 64)
		as := slices.Clone(m.Assignments)
		errs := fieldErrors{}
		switch form.Get("action") {
		case "add":
			sc, err := rbac.ParseScope(form.Get("scope"))
			if err != nil {
				errs["scope"] = "Choose one of the places offered."
				break
			}
			a := rbac.Assignment{Role: form.Get("role"), Scope: sc}
			if v := form.Get("expiresAt"); v != "" {
				t, err := time.Parse(time.DateOnly, v)
				if err != nil {
					errs["expiresAt"] = "Give a date as YYYY-MM-DD, or none."
					break
				}
				a.ExpiresAt = t
			}
			as = append(as, a)
		case "remove":
			i, err := strconv.Atoi(form.Get("index"))
			if err != nil || i < 0 || i >= len(as) {
				errs["role"] = "That assignment is gone; reload the page."
				break
			}
			as = slices.Delete(as, i, i+1)
		default:
			errs["role"] = "Choose add or remove."
		}
		var err error
		if len(errs) == 0 {
			_, err = s.Members.Update(r.Context(), q.P, m.ID, version, members.Change{Assignments: &as})
			if err == nil {
				q.redirect(w, r, "/portal/members/"+m.ID, "The assignments were saved.")
				return
			}
			if statusFor(err) >= 500 {
				s.fail(w, r, err)
				return
			}
		}
		d, derr := s.memberData(r, q, m)
		if derr != nil {
			s.fail(w, r, derr)
			return
		}
		l := q.chrome(memberTitle(m), "team")
		status := http.StatusBadRequest
		if err != nil {
			var msg string
			errs2, msg, _ := problemOf(err, map[string]string{"assignments": "role"})
			for k, v := range errs2 {
				errs[k] = v
			}
			l.Error, status = msg, statusFor(err)
		} else {
			l.Error = "Check the fields marked below."
		}
		d.Errors = errs
		writePage(w, r, status, memberPage(l, d))
	})(w, r)
}

var verbText = map[string]struct{ question, button, done string }{
	"suspend":    {"Suspend %s? They are signed out and cannot sign in until reactivated.", "Suspend", "suspended"},
	"reactivate": {"Reactivate %s? They can sign in again with their grants.", "Reactivate", "reactivated"},
	"deactivate": {"Deactivate %s? They are signed out and keep no access until reactivated.", "Deactivate", "deactivated"},
	"delete":     {"Delete %s from the account? This cannot be undone: they lose every grant, and their email is freed.", "Delete", "deleted"},
}

// HandleStatusPage serves GET /portal/members/{id}/status?action=...: the
// confirmation of a status change.
func (s *Service) HandleStatusPage(w http.ResponseWriter, r *http.Request) error {
	return s.view(func(w http.ResponseWriter, r *http.Request, q *req) {
		m, ok := s.loadMember(w, r, q)
		if !ok {
			return
		}
		verb := r.URL.Query().Get("action")
		t, known := verbText[verb]
		if !known {
			http.Redirect(w, r, "/portal/members/"+m.ID, http.StatusSeeOther)
			return
		}
		d := confirmData{
			Question: strings.Replace(t.question, "%s", memberTitle(m), 1), Action: "/portal/members/" + m.ID + "/status", Button: t.button,
			Cancel: "/portal/members/" + m.ID, Hidden: []hiddenField{{"action", verb}, {"version", strconv.FormatInt(m.Version, 10)}},
		}
		if verb != "reactivate" {
			page, err := s.Members.List(r.Context(), q.P, members.Filter{Status: rbac.StatusActive}, 100, "")
			if err == nil {
				for _, o := range page.Items {
					if o.ID != m.ID && visible(q.P, o) {
						d.Reassign = append(d.Reassign, option{Value: o.ID, Label: memberTitle(o)})
					}
				}
			}
		}
		writePage(w, r, http.StatusOK, confirmPage(q.chrome(t.button+" "+memberTitle(m), "team"), d))
	})(w, r)
}

// HandleStatus serves POST /portal/members/{id}/status: the confirmed
// status change through members.Service.Offboard, as the API's suspend,
// reactivate, deactivate and DELETE /v1/users/{id}.
func (s *Service) HandleStatus(w http.ResponseWriter, r *http.Request) error {
	return s.action(func(w http.ResponseWriter, r *http.Request, q *req, form url.Values) {
		before, ok := s.loadMember(w, r, q)
		if !ok {
			return
		}
		id := before.ID
		verb := form.Get("action")
		t, known := verbText[verb]
		if !known || form.Get("confirm") != "yes" {
			http.Redirect(w, r, "/portal/members/"+url.PathEscape(id), http.StatusSeeOther)
			return
		}
		version, _ := strconv.ParseInt(form.Get("version"), 10, 64)
		o := members.OffboardOptions{Force: verb == "reactivate", ReassignTo: form.Get("reassignTo")}
		m, err := s.Members.Offboard(r.Context(), q.P, id, verb, version, o)
		if err != nil {
			s.refuse(w, r, q, "Nothing was changed", err)
			return
		}
		if verb == "delete" {
			q.redirect(w, r, "/portal/team", memberTitle(m)+" was deleted.")
			return
		}
		q.redirect(w, r, "/portal/members/"+m.ID, memberTitle(m)+" was "+t.done+".")
	})(w, r)
}

// teamRows are the team page's rows of items that match the search.
func (s *Service) teamRows(q *req, labels map[rbac.Scope]string, needle string, items []team.Member) []memberRow {
	var out []memberRow
	for _, m := range items {
		if needle != "" && !strings.Contains(strings.ToLower(m.Name), needle) && !strings.Contains(m.Email, needle) {
			continue
		}
		row := memberRow{ID: m.ID, Name: m.Name, Email: m.Email, Status: string(m.Status)}
		if row.Name == "" {
			row.Name = m.Email
		}
		if m.Owner {
			row.Roles = append(row.Roles, "Owner")
		} else if m.Admin {
			row.Roles = append(row.Roles, "Administrator")
		}
		for _, a := range m.Assignments {
			row.Roles = append(row.Roles, s.grantName(q.P, a)+" · "+scopeLabel(labels, a.Scope))
		}
		out = append(out, row)
	}
	return out
}

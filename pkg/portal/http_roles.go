package portal

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/a-h/templ"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/permissions"
	"github.com/stewardhq/steward/pkg/rbac"
)

// The roles section: the preset's built-in roles (read-only) and the
// account's custom roles, created, changed and deleted through the
// permissions service's CreateRole, UpdateRole and DeleteRole (as POST,
// PATCH and DELETE /v1/roles).

func init() {
	registerSection(10, section{nav: "roles", href: "/portal/roles", label: "Roles", may: mayManageRoles})
}

// permSettingsManage is what createRole needs at account scope.
const permSettingsManage = "settings.manage"

// mayManageRoles: the caller holds settings.manage at account scope, as
// the API's createRole, updateRole and deleteRole need. The section is
// for managing roles; the API's list of roles stays open to every member.
func mayManageRoles(p *auth.Principal) bool {
	return p.Authz.Holds(permSettingsManage, rbac.AccountScope)
}

// rolesGate answers 404 to a member who may not manage roles (the same
// page as an unknown role).
func rolesGate(w http.ResponseWriter, r *http.Request, q *req) bool {
	if mayManageRoles(q.P) {
		return true
	}
	writeMessage(w, r, http.StatusNotFound, q.chrome("Page not found", ""), "There is no such page, or you may not use it.", "/portal/team", "Back to the team")
	return false
}

// permGroups groups the preset's catalogue by area (rbac.Areas order):
// keep says which keys are listed, checked which are checked.
func permGroups(rs *rbac.RoleSet, keep, checked func(rbac.Permission) bool) []permGroup {
	cat := rs.Catalogue()
	var out []permGroup
	for _, a := range rbac.Areas() {
		g := permGroup{Area: a.Name}
		for _, p := range cat {
			if p.Area != a.ID || !keep(p) {
				continue
			}
			g.Perms = append(g.Perms, permItem{Key: p.Key, Description: p.Description, Checked: checked(p)})
		}
		if len(g.Perms) > 0 {
			out = append(out, g)
		}
	}
	return out
}

func kindsText(ks []rbac.ScopeKind) string {
	var s []string
	for _, k := range ks {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}

func (s *Service) roleCardOf(rs *rbac.RoleSet, role rbac.Role) roleCard {
	c := roleCard{ID: role.ID, Name: role.Name, Description: role.Description, Kinds: kindsText(role.ScopeKinds), AdminOnly: role.AdminOnly, Admin: role.Admin}
	if !role.Admin {
		in := func(p rbac.Permission) bool { return slices.Contains(role.Permissions, p.Key) }
		c.Groups = permGroups(rs, in, in)
	}
	return c
}

// HandleRoles serves GET /portal/roles: the built-in roles of the
// account's preset and the account's custom roles.
func (s *Service) HandleRoles(w http.ResponseWriter, r *http.Request) error {
	return s.view(func(w http.ResponseWriter, r *http.Request, q *req) {
		if !rolesGate(w, r, q) {
			return
		}
		roles, err := s.Roles.ListRoles(r.Context(), q.P)
		if err != nil {
			s.refuse(w, r, q, "The roles could not be read", err)
			return
		}
		var d rolesData
		for _, role := range q.P.Roles.Roles() {
			if role.BuiltIn {
				d.BuiltIn = append(d.BuiltIn, s.roleCardOf(q.P.Roles, role))
			}
		}
		for _, role := range roles.Roles {
			if role.BuiltIn {
				continue
			}
			c := s.roleCardOf(q.P.Roles, role)
			c.Deleting = roles.States[role.ID].Deleting
			d.Custom = append(d.Custom, c)
		}
		l := q.chrome("Roles", "roles")
		writePage(w, r, http.StatusOK, rolesPage(l, d))
	})(w, r)
}

var allKinds = []rbac.ScopeKind{rbac.ScopeAccount, rbac.ScopeStore, rbac.ScopeDepartment, rbac.ScopeSupplier}

// roleFormData builds the form of a role: the catalogue's keys the caller
// holds at account scope (the API's ceiling) and those the role has.
func roleFormData(q *req, role rbac.Role, isNew bool) roleForm {
	f := roleForm{New: isNew, ID: role.ID, Name: role.Name, Description: role.Description, AdminOnly: role.AdminOnly, MayAdminOnly: q.P.Authz.IsAdmin(), Errors: fieldErrors{}}
	has := func(p rbac.Permission) bool { return slices.Contains(role.Permissions, p.Key) }
	f.Groups = permGroups(q.P.Roles, func(p rbac.Permission) bool {
		return has(p) || (p.Tier != rbac.TierOwner && q.P.Authz.Holds(p.Key, rbac.AccountScope))
	}, has)
	for _, k := range allKinds {
		f.Kinds = append(f.Kinds, kindOption{Value: string(k), Checked: slices.Contains(role.ScopeKinds, k)})
	}
	return f
}

// roleFromForm reads a role form.
func roleFromForm(form url.Values) rbac.Role {
	role := rbac.Role{ID: strings.TrimSpace(form.Get("id")), Name: form.Get("name"), Description: form.Get("description"), Permissions: form["permission"], AdminOnly: form.Get("adminOnly") == "on"}
	for _, k := range form["scopeKind"] {
		role.ScopeKinds = append(role.ScopeKinds, rbac.ScopeKind(k))
	}
	return role
}

func kindStrings(ks []rbac.ScopeKind) []string {
	out := []string{}
	for _, k := range ks {
		out = append(out, string(k))
	}
	return out
}

// HandleNewRolePage serves GET /portal/roles/new: the form of a new
// custom role.
func (s *Service) HandleNewRolePage(w http.ResponseWriter, r *http.Request) error {
	return s.view(func(w http.ResponseWriter, r *http.Request, q *req) {
		if !rolesGate(w, r, q) {
			return
		}
		writePage(w, r, http.StatusOK, roleFormPage(q.chrome("New role", "roles"), roleFormData(q, rbac.Role{}, true)))
	})(w, r)
}

// roleRefused shows a refusal of the permissions service on the form,
// each field's message next to it.
func (s *Service) roleRefused(w http.ResponseWriter, r *http.Request, q *req, title string, f roleForm, err error) {
	errs, msg, ok := problemOf(err, map[string]string{"permissions": "permission", "scopeKinds": "scopeKind"})
	if !ok || statusFor(err) >= 500 {
		s.fail(w, r, err)
		return
	}
	for k, v := range errs {
		f.Errors[k] = v
	}
	var e *httpapi.Error
	if errors.As(err, &e) {
		switch e.Code {
		case "exceeds_own_rights", "unknown_permission", "reserved_permission":
			f.Errors["permission"] = e.Detail
		case "role_exists":
			f.Errors["id"] = e.Detail
		case "admin_only_role":
			f.Errors["adminOnly"] = e.Detail
		case "invalid_role":
			// rbac names the part of the role it refuses.
			switch {
			case f.New && strings.Contains(e.Detail, "id "+strconv.Quote(f.ID)):
				f.Errors["id"] = e.Detail
			case strings.Contains(e.Detail, "scope"):
				f.Errors["scopeKind"] = e.Detail
			default:
				f.Errors["permission"] = e.Detail
			}
		case "role_in_use":
			f.Errors["scopeKind"] = e.Detail
		}
	}
	l := q.chrome(title, "roles")
	l.Error = msg
	writePage(w, r, statusFor(err), roleFormPage(l, f))
}

// HandleCreateRole serves POST /portal/roles/new: permissions.Service
// CreateRole, as POST /v1/roles.
func (s *Service) HandleCreateRole(w http.ResponseWriter, r *http.Request) error {
	return s.action(func(w http.ResponseWriter, r *http.Request, q *req, form url.Values) {
		role := roleFromForm(form)
		in := permissions.RoleInput{ID: role.ID, Name: role.Name, Description: role.Description, Permissions: role.Permissions, ScopeKinds: kindStrings(role.ScopeKinds), AdminOnly: role.AdminOnly}
		ch, err := s.Roles.CreateRole(r.Context(), q.P, in)
		if err != nil {
			s.roleRefused(w, r, q, "New role", roleFormData(q, role, true), err)
			return
		}
		q.redirect(w, r, "/portal/roles", "The role "+ch.Role.Name+" was created.")
	})(w, r)
}

// loadCustomRole reads a custom role of the account with the version of
// the custom roles (404 page for built-in or unknown roles).
func (s *Service) loadCustomRole(w http.ResponseWriter, r *http.Request, q *req) (rbac.Role, int64, bool) {
	if !rolesGate(w, r, q) {
		return rbac.Role{}, 0, false
	}
	role, v, err := s.Roles.GetRole(r.Context(), q.P, r.PathValue("id"))
	if err != nil && statusFor(err) >= 500 {
		s.fail(w, r, err)
		return rbac.Role{}, 0, false
	}
	if err != nil || role.BuiltIn {
		writeMessage(w, r, http.StatusNotFound, q.chrome("Role not found", "roles"), "There is no such custom role; built-in roles cannot be changed.", "/portal/roles", "Back to the roles")
		return rbac.Role{}, 0, false
	}
	return role, v, true
}

// HandleRolePage serves GET /portal/roles/{id}/edit: the form of a custom
// role.
func (s *Service) HandleRolePage(w http.ResponseWriter, r *http.Request) error {
	return s.view(func(w http.ResponseWriter, r *http.Request, q *req) {
		role, v, ok := s.loadCustomRole(w, r, q)
		if !ok {
			return
		}
		f := roleFormData(q, role, false)
		f.Version = strconv.FormatInt(v, 10)
		writePage(w, r, http.StatusOK, roleFormPage(q.chrome("Edit "+role.Name, "roles"), f))
	})(w, r)
}

// HandleUpdateRole serves POST /portal/roles/{id}/edit: permissions
// Service UpdateRole, as PATCH /v1/roles/{id} (the version read is the
// If-Match).
func (s *Service) HandleUpdateRole(w http.ResponseWriter, r *http.Request) error {
	return s.action(func(w http.ResponseWriter, r *http.Request, q *req, form url.Values) {
		old, _, ok := s.loadCustomRole(w, r, q)
		if !ok {
			return
		}
		next := roleFromForm(form)
		next.ID = old.ID
		version, _ := strconv.ParseInt(form.Get("version"), 10, 64)
		kinds := kindStrings(next.ScopeKinds)
		patch := permissions.RolePatch{Name: &next.Name, Description: &next.Description, Permissions: &next.Permissions, ScopeKinds: &kinds}
		if next.AdminOnly != old.AdminOnly {
			patch.AdminOnly = &next.AdminOnly
		}
		if next.Permissions == nil {
			next.Permissions = []string{}
			patch.Permissions = &next.Permissions
		}
		_, err := s.Roles.UpdateRole(r.Context(), q.P, old.ID, httpapi.Precondition{Present: true, Versions: []int64{version}}, patch)
		if err != nil {
			f := roleFormData(q, next, false)
			f.Version = form.Get("version")
			s.roleRefused(w, r, q, "Edit "+old.Name, f, err)
			return
		}
		q.redirect(w, r, "/portal/roles", "The role "+next.Name+" was saved.")
	})(w, r)
}

// HandleDeleteRolePage serves GET /portal/roles/{id}/delete: the
// confirmation, with what happens to the members holding the role.
func (s *Service) HandleDeleteRolePage(w http.ResponseWriter, r *http.Request) error {
	return s.view(func(w http.ResponseWriter, r *http.Request, q *req) {
		role, _, ok := s.loadCustomRole(w, r, q)
		if !ok {
			return
		}
		writePage(w, r, http.StatusOK, deleteRolePage(q.chrome("Delete "+role.Name, "roles"), s.deleteForm(q, role, nil, "", "")))
	})(w, r)
}

func (s *Service) deleteForm(q *req, role rbac.Role, errs fieldErrors, members, to string) deleteRoleData {
	d := deleteRoleData{ID: role.ID, Name: role.Name, Members: members, To: to, Errors: errs}
	if d.Errors == nil {
		d.Errors = fieldErrors{}
	}
	if d.Members == "" {
		d.Members = permissions.MembersRemove
	}
	for _, o := range q.P.Roles.Roles() {
		if o.ID != role.ID && !o.Admin {
			d.Targets = append(d.Targets, roleOption{ID: o.ID, Name: o.Name})
		}
	}
	return d
}

// HandleDeleteRole serves POST /portal/roles/{id}/delete: the confirmed
// deletion through permissions.Service DeleteRole, as DELETE
// /v1/roles/{id}?members=remove or ?members=reassign&to=<role>.
func (s *Service) HandleDeleteRole(w http.ResponseWriter, r *http.Request) error {
	return s.action(func(w http.ResponseWriter, r *http.Request, q *req, form url.Values) {
		role, _, ok := s.loadCustomRole(w, r, q)
		if !ok {
			return
		}
		if form.Get("confirm") != "yes" {
			http.Redirect(w, r, "/portal/roles/"+url.PathEscape(role.ID)+"/delete", http.StatusSeeOther)
			return
		}
		opts := permissions.DeleteOptions{Members: form.Get("members")}
		if opts.Members == permissions.MembersReassign {
			opts.To = form.Get("to")
		}
		d, err := s.Roles.DeleteRole(r.Context(), q.P, role.ID, opts, httpapi.Precondition{})
		if err != nil {
			errs, msg, ok := problemOf(err, map[string]string{"members": "members", "to": "to"})
			if !ok || statusFor(err) >= 500 {
				s.fail(w, r, err)
				return
			}
			l := q.chrome("Delete "+role.Name, "roles")
			l.Error = msg
			writePage(w, r, statusFor(err), deleteRolePage(l, s.deleteForm(q, role, errs, opts.Members, opts.To)))
			return
		}
		if d.Pending {
			q.redirect(w, r, "/portal/roles", "The role "+role.Name+" is being deleted; its members are still being moved. Delete it again to continue.")
			return
		}
		q.redirect(w, r, "/portal/roles", "The role "+role.Name+" was deleted ("+strconv.Itoa(d.Members.Count)+" members changed).")
	})(w, r)
}

type (
	rolesData struct {
		BuiltIn, Custom []roleCard
	}
	roleCard struct {
		ID, Name, Description, Kinds string
		AdminOnly, Admin, Deleting   bool
		Groups                       []permGroup
	}
	permGroup struct {
		Area  string
		Perms []permItem
	}
	permItem struct {
		Key, Description string
		Checked          bool
	}
	roleForm struct {
		New                     bool
		ID, Name, Description   string
		AdminOnly, MayAdminOnly bool
		Groups                  []permGroup
		Kinds                   []kindOption
		Version                 string
		Errors                  fieldErrors
	}
	kindOption struct {
		Value   string
		Checked bool
	}
	deleteRoleData struct {
		ID, Name, Members, To string
		Targets               []roleOption
		Errors                fieldErrors
	}
)

// permInputID is the id of a permission's checkbox in form prefix.
func permInputID(prefix, key string) string {
	return prefix + "-" + strings.NewReplacer(".", "-", "_", "-").Replace(key)
}

func roleFormAction(f roleForm) templ.SafeURL {
	if f.New {
		return "/portal/roles/new"
	}
	return templ.SafeURL("/portal/roles/" + f.ID + "/edit")
}

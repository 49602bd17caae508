package portal

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/a-h/templ"
	"github.com/stewardhq/steward/pkg/members"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/team"
)

// The member page's additions of the roles section: per-member
// permission toggles (permission assignments {permissions, scope}) and
// the member's email notifications, both saved through
// members.Service.Update as PATCH /v1/users/{id}.

// memberHook adds a part to the member page (errs: the messages of the
// part's form after a refused POST).
type memberHook func(s *Service, r *http.Request, q *req, m team.Member, errs fieldErrors) (templ.Component, error)

// memberHooks are the member page's additions, in order.
var memberHooks = []memberHook{(*Service).memberExtra}

// memberExtras renders the member page's additions.
func (s *Service) memberExtras(r *http.Request, q *req, m team.Member, errs fieldErrors) ([]templ.Component, error) {
	var out []templ.Component
	for _, h := range memberHooks {
		c, err := h(s, r, q, m, errs)
		if err != nil {
			return nil, err
		}
		if c != nil {
			out = append(out, c)
		}
	}
	return out, nil
}

// permissionToggles are the toggles of m at each scope where the caller
// may grant some key of the preset's catalogue (the grant ceiling, as
// for an invitation with just that permission at that scope) or m holds a
// permission assignment.
func (s *Service) permissionToggles(r *http.Request, q *req, m team.Member) ([]toggleScope, error) {
	labels, order, err := s.scopeLabels(r.Context(), q.P.AccountID())
	if err != nil {
		return nil, err
	}
	actor := q.P.Member.Authz(q.P.At)
	cat := q.P.Roles.Catalogue()
	var out []toggleScope
	for i, sc := range order {
		var held []string
		for _, a := range m.Assignments {
			if a.IsPermissions() && a.Scope == sc {
				held = append(held, a.Permissions...)
			}
		}
		grantable := func(p rbac.Permission) bool {
			if slices.Contains(held, p.Key) {
				return true
			}
			if p.Tier != rbac.TierNormal {
				return false
			}
			a := rbac.Assignment{Permissions: []string{p.Key}, Scope: sc}
			if q.P.Roles.ValidateAssignment(a) != nil {
				return false
			}
			probe := rbac.Member{ID: "m_probe", Account: q.P.AccountID(), Status: rbac.StatusInvited, Assignments: []rbac.Assignment{a}, At: q.P.At}
			return q.P.Roles.CheckChange(actor, rbac.Member{}, probe) == nil
		}
		some := false
		for _, p := range cat {
			if grantable(p) {
				some = true
				break
			}
		}
		if !some {
			continue
		}
		prefix := "toggle-" + strconv.Itoa(i)
		groups := permGroups(q.P.Roles, grantable, func(p rbac.Permission) bool { return slices.Contains(held, p.Key) })
		out = append(out, toggleScope{Prefix: prefix, Scope: sc.String(), Label: scopeLabel(labels, sc), Groups: groups})
	}
	return out, nil
}

func (s *Service) memberExtra(r *http.Request, q *req, m team.Member, errs fieldErrors) (templ.Component, error) {
	d := memberExtraData{ID: m.ID, Version: strconv.FormatInt(m.Version, 10), Errors: errs}
	if d.Errors == nil {
		d.Errors = fieldErrors{}
	}
	mayChangeIt := mayChange(q.P, m) && m.Status != rbac.StatusInvited
	if mayChangeIt {
		var err error
		if d.Toggles, err = s.permissionToggles(r, q, m); err != nil {
			return nil, err
		}
	}
	if mayChangeIt || m.ID == q.P.Member.ID {
		n := m.Notifications
		d.Notifications = []notificationOption{
			{"lowStock", "Low stock", !n.LowStockOff},
			{"duePurchaseOrders", "Due purchase orders", !n.DuePurchaseOrderOff},
			{"dueSalesOrders", "Due sales orders", !n.DueSalesOrderOff},
			{"paymentReminders", "Payment reminders", !n.PaymentReminderOff},
			{"approvalReminders", "Approval reminders", !n.ApprovalReminderOff},
		}
	}
	if len(d.Toggles) == 0 && len(d.Notifications) == 0 {
		return nil, nil
	}
	return memberExtraPart(csrfFor(q), d), nil
}

func csrfFor(q *req) string { return csrfToken(q.cookie, "session") }

// refusedOnMember shows the member page again with the refusal's message
// (and errs next to the part's fields).
func (s *Service) refusedOnMember(w http.ResponseWriter, r *http.Request, q *req, m team.Member, errs fieldErrors, err error) {
	if err != nil && statusFor(err) >= 500 {
		s.fail(w, r, err)
		return
	}
	d, derr := s.memberData(r, q, m)
	if derr != nil {
		s.fail(w, r, derr)
		return
	}
	l := q.chrome(memberTitle(m), "team")
	status := http.StatusBadRequest
	l.Error = "Check the fields marked below."
	if err != nil {
		_, msg, _ := problemOf(err, nil)
		l.Error, status = msg, statusFor(err)
	}
	if d.Extra, derr = s.memberExtras(r, q, m, errs); derr != nil {
		s.fail(w, r, derr)
		return
	}
	writePage(w, r, status, memberPage(l, d))
}

// HandleMemberPermissions serves POST /portal/members/{id}/permissions:
// the member's permission assignment at one scope replaced by the keys
// checked (none: removed), through members.Service.Update as PATCH
// /v1/users/{id} (the version read is the If-Match).
func (s *Service) HandleMemberPermissions(w http.ResponseWriter, r *http.Request) error {
	return s.action(func(w http.ResponseWriter, r *http.Request, q *req, form url.Values) {
		m, ok := s.loadMember(w, r, q)
		if !ok {
			return
		}
		errs := fieldErrors{}
		sc, err := rbac.ParseScope(form.Get("scope"))
		if err != nil {
			errs["toggles"] = "Choose one of the places offered."
			s.refusedOnMember(w, r, q, m, errs, nil)
			return
		}
		version, _ := strconv.ParseInt(form.Get("version"), 10, 64)
		var as []rbac.Assignment
		var old *rbac.Assignment
		for _, a := range m.Assignments {
			if a.IsPermissions() && a.Scope == sc {
				if old == nil {
					a := a
					old = &a
				}
				continue
			}
			as = append(as, a)
		}
		if keys := form["permission"]; len(keys) > 0 {
			a := rbac.Assignment{Permissions: keys, Scope: sc}
			if old != nil {
				a.StartsAt, a.ExpiresAt = old.StartsAt, old.ExpiresAt
			}
			as = append(as, a)
		}
		if slices.EqualFunc(as, m.Assignments, rbac.Assignment.Equal) {
			q.redirect(w, r, "/portal/members/"+m.ID, "Nothing changed.")
			return
		}
		if as == nil {
			as = []rbac.Assignment{}
		}
		if _, err := s.Members.Update(r.Context(), q.P, m.ID, version, members.Change{Assignments: &as}); err != nil {
			errs["toggles-"+sc.String()], _, _ = problemMessage(err)
			s.refusedOnMember(w, r, q, m, errs, err)
			return
		}
		q.redirect(w, r, "/portal/members/"+m.ID, "The permissions were saved.")
	})(w, r)
}

// problemMessage is a refusal's message for a field.
func problemMessage(err error) (string, int, bool) {
	_, msg, ok := problemOf(err, nil)
	return msg, statusFor(err), ok
}

// HandleMemberNotifications serves POST /portal/members/{id}/notifications:
// the member's email notifications through members.Service.Update, as
// PATCH /v1/users/{id} with notifications.
func (s *Service) HandleMemberNotifications(w http.ResponseWriter, r *http.Request) error {
	return s.action(func(w http.ResponseWriter, r *http.Request, q *req, form url.Values) {
		m, ok := s.loadMember(w, r, q)
		if !ok {
			return
		}
		version, _ := strconv.ParseInt(form.Get("version"), 10, 64)
		on := func(k string) bool { return form.Get(k) == "on" }
		n := team.Notifications{
			LowStockOff: !on("lowStock"), DuePurchaseOrderOff: !on("duePurchaseOrders"), DueSalesOrderOff: !on("dueSalesOrders"),
			PaymentReminderOff: !on("paymentReminders"), ApprovalReminderOff: !on("approvalReminders"),
		}
		if form.Get("notifications") != "set" {
			s.refusedOnMember(w, r, q, m, fieldErrors{"notifications": "Submit the notification form of the page."}, nil)
			return
		}
		if n == m.Notifications {
			q.redirect(w, r, "/portal/members/"+m.ID, "Nothing changed.")
			return
		}
		if _, err := s.Members.Update(r.Context(), q.P, m.ID, version, members.Change{Notifications: &n}); err != nil {
			errs := fieldErrors{}
			errs["notifications"], _, _ = problemMessage(err)
			s.refusedOnMember(w, r, q, m, errs, err)
			return
		}
		q.redirect(w, r, "/portal/members/"+m.ID, "The notification settings were saved.")
	})(w, r)
}

type (
	memberExtraData struct {
		ID, Version   string
		Toggles       []toggleScope
		Notifications []notificationOption
		Errors        fieldErrors
	}
	toggleScope struct {
		Prefix, Scope, Label string
		Groups               []permGroup
	}
	notificationOption struct {
		Name, Label string
		On          bool
	}
)

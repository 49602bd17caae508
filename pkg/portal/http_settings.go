package portal

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/stewardhq/steward/pkg/accounts"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/team"
)

// The settings section: the account's settings (accounts.Handler
// UpdateAccount, as PATCH /v1/account) and its stores, departments and
// suppliers (accounts.Handler Put{Store,Department,Supplier}, as PUT
// /v1/{plural}/{id}). Shown to holders of settings.manage at account
// scope; the policies (accounts.MayPolicies) are read-only without
// policies.manage.

func init() {
	registerSection(20, section{nav: "settings", href: "/portal/settings", label: "Settings", may: func(p *auth.Principal) bool {
		return accounts.MaySettings(p)
	}})
}

// settingsListSize is the number of items of each kind the settings page
// lists.
const settingsListSize = 100

// accountFields maps the API's field names of PATCH /v1/account to the
// settings form's controls.
var accountFields = map[string]string{
	"name":                                          "name",
	"settings.invitationTtlHours":                   "invitationTtlHours",
	"settings.timeZone":                             "timeZone",
	"settings.alertHour":                            "alertHour",
	"settings.selfRegistration":                     "srEnabled",
	"settings.selfRegistration.enabled":             "srEnabled",
	"settings.selfRegistration.open":                "srOpen",
	"settings.selfRegistration.domains":             "srDomains",
	"settings.selfRegistration.defaultRole":         "srDefaultRole",
	"settings.selfRegistration.firstRegistrantRole": "srFirstRole",
	"settings.portal.productName":                   "productName",
	"settings.portal.logoUrl":                       "logoUrl",
	"settings.portal.accentColor":                   "accentColor",
	"settings.portal.allowedOrigins":                "allowedOrigins",
	"settings.billing":                              "billing",
	"settings.lockAfterDays":                        "lockAfterDays",
}

// errFormStale is the settings pages' message for a stale form.
const errFormStale = "This was changed meanwhile by someone else, so nothing was saved. Reload the page to see the current values and make your change again."

// errImpersonatedChange refuses a change from an impersonated session
// (the API's routes refuse them too).
var errImpersonatedChange = fault.New(fault.Forbidden, "impersonation_forbidden", "An impersonated session is for looking only: it cannot change settings.")

func stale(err error) bool {
	var e *fault.Error
	return errors.As(err, &e) && e.Kind == fault.Stale
}

// settingsFromAccount fills the form from the account.
func settingsFromAccount(a team.Account) settingsForm {
	st := a.Settings
	f := settingsForm{
		Version: strconv.FormatInt(a.Version, 10), Name: a.Name,
		InvitationTTLHours: strconv.Itoa(int(st.InvitationTTL.Hours())), TimeZone: st.TimeZone, AlertHour: strconv.Itoa(st.AlertHour),
		SREnabled: st.SelfRegistration.Enabled, SROpen: st.SelfRegistration.Open, SRDomains: strings.Join(st.SelfRegistration.Domains, ", "),
		SRDefaultRole: st.SelfRegistration.DefaultRole, SRFirstRole: st.SelfRegistration.FirstRegistrantRole,
		ProductName: st.Portal.ProductName, LogoURL: st.Portal.LogoURL, AccentColor: st.Portal.AccentColor,
		AllowedOrigins: strings.Join(st.Portal.AllowedOrigins, "\n"), Billing: string(st.Billing), LockAfterDays: strconv.Itoa(st.LockAfterDays),
	}
	if f.Billing == "" {
		f.Billing = "per_store"
	}
	return f
}

// settingsFromForm reads the submitted form.
func settingsFromForm(form url.Values) settingsForm {
	return settingsForm{
		Version: form.Get("version"), Name: form.Get("name"),
		InvitationTTLHours: strings.TrimSpace(form.Get("invitationTtlHours")), TimeZone: strings.TrimSpace(form.Get("timeZone")), AlertHour: strings.TrimSpace(form.Get("alertHour")),
		SREnabled: form.Get("srEnabled") == "on", SROpen: form.Get("srOpen") == "on", SRDomains: form.Get("srDomains"),
		SRDefaultRole: form.Get("srDefaultRole"), SRFirstRole: form.Get("srFirstRole"),
		ProductName: form.Get("productName"), LogoURL: strings.TrimSpace(form.Get("logoUrl")), AccentColor: strings.TrimSpace(form.Get("accentColor")),
		AllowedOrigins: form.Get("allowedOrigins"), Billing: form.Get("billing"), LockAfterDays: strings.TrimSpace(form.Get("lockAfterDays")),
	}
}

// splitList splits a list typed one per line or separated by commas.
func splitList(s string) []string {
	return append([]string{}, strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' || r == ' ' || r == '\t' })...)
}

// patch is the PATCH /v1/account body the form asks for; the policies
// only when the member may change them (otherwise they are shown, not
// submitted). A number that is not one is a field error.
func (f settingsForm) patch(policies bool) (accounts.AccountPatch, fieldErrors) {
	errs := fieldErrors{}
	num := func(field, v string) *int {
		n, err := strconv.Atoi(v)
		if err != nil {
			errs[field] = "must be a whole number"
			return nil
		}
		return &n
	}
	name, tz := f.Name, f.TimeZone
	sp := &accounts.SettingsPatch{TimeZone: &tz, AlertHour: num("alertHour", f.AlertHour)}
	pp := &accounts.PortalPatch{ProductName: &f.ProductName, LogoURL: &f.LogoURL, AccentColor: &f.AccentColor}
	sp.Portal = pp
	if policies {
		sp.InvitationTTLHours = num("invitationTtlHours", f.InvitationTTLHours)
		sp.LockAfterDays = num("lockAfterDays", f.LockAfterDays)
		billing := f.Billing
		sp.Billing = &billing
		domains, origins := splitList(f.SRDomains), splitList(f.AllowedOrigins)
		enabled, open := f.SREnabled, f.SROpen
		def, first := f.SRDefaultRole, f.SRFirstRole
		sp.SelfRegistration = &accounts.SelfRegistrationPatch{Enabled: &enabled, Open: &open, Domains: &domains, DefaultRole: &def, FirstRegistrantRole: &first}
		pp.AllowedOrigins = &origins
	}
	return accounts.AccountPatch{Name: &name, Settings: sp}, errs
}

// mayPolicies: the member may change the account's policies.
func mayPolicies(p *auth.Principal) bool { return accounts.MayPolicies(p) }

// settingsDenied answers a member without settings.manage: the page does
// not exist for them.
func settingsDenied(w http.ResponseWriter, r *http.Request, q *req) {
	writeMessage(w, r, http.StatusForbidden, q.chrome("Not allowed", ""), "Changing the account's settings needs settings.manage.", "/portal/team", "Back to the team")
}

// HandleSettings serves GET /portal/settings: the account's settings and
// its stores, departments and suppliers.
func (s *Service) HandleSettings(w http.ResponseWriter, r *http.Request) error {
	return s.view(func(w http.ResponseWriter, r *http.Request, q *req) {
		if !accounts.MaySettings(q.P) {
			settingsDenied(w, r, q)
			return
		}
		l := q.chrome("Settings", "settings")
		s.writeSettings(w, r, q, l, http.StatusOK, settingsFromAccount(q.Account), nil)
	})(w, r)
}

func (s *Service) writeSettings(w http.ResponseWriter, r *http.Request, q *req, l chrome, status int, f settingsForm, errs fieldErrors) {
	d := settingsData{Form: f, Errors: errs, MayPolicies: mayPolicies(q.P), Impersonated: q.P.Impersonated()}
	for _, role := range q.P.Roles.Roles() {
		d.Roles = append(d.Roles, option{role.ID, role.Name})
	}
	if err := s.loadItems(r.Context(), q.P, &d); err != nil {
		s.fail(w, r, err)
		return
	}
	writePage(w, r, status, settingsPage(l, d))
}

// loadItems lists the stores, departments and suppliers (as the API's
// lists do).
func (s *Service) loadItems(ctx context.Context, p *auth.Principal, d *settingsData) error {
	st, err := s.Accounts.ListStores(ctx, p, settingsListSize, "")
	if err != nil {
		return err
	}
	for _, v := range st.Items {
		d.Stores = append(d.Stores, itemRow{ID: v.ID, Name: v.Name, Detail: strings.TrimSpace(v.Address + " " + v.TimeZone)})
	}
	dp, err := s.Accounts.ListDepartments(ctx, p, settingsListSize, "")
	if err != nil {
		return err
	}
	for _, v := range dp.Items {
		d.Departments = append(d.Departments, itemRow{ID: v.ID, Name: v.Name, Detail: string(v.Kind)})
	}
	sp, err := s.Accounts.ListSuppliers(ctx, p, settingsListSize, "")
	if err != nil {
		return err
	}
	for _, v := range sp.Items {
		d.Suppliers = append(d.Suppliers, itemRow{ID: v.ID, Name: v.Name})
	}
	return nil
}

// HandleSettingsUpdate serves POST /portal/settings: the form through
// accounts.Handler UpdateAccount at the form's version (as PATCH
// /v1/account with If-Match).
func (s *Service) HandleSettingsUpdate(w http.ResponseWriter, r *http.Request) error {
	return s.action(func(w http.ResponseWriter, r *http.Request, q *req, form url.Values) {
		if !accounts.MaySettings(q.P) {
			settingsDenied(w, r, q)
			return
		}
		f := settingsFromForm(form)
		l := q.chrome("Settings", "settings")
		if q.P.Impersonated() {
			l.Error = errImpersonatedChange.Detail
			s.writeSettings(w, r, q, l, http.StatusForbidden, f, nil)
			return
		}
		policies := mayPolicies(q.P)
		patch, errs := f.patch(policies)
		if len(errs) > 0 {
			l.Error = "Check the fields marked below."
			s.writeSettings(w, r, q, l, http.StatusBadRequest, f, errs)
			return
		}
		version, err := strconv.ParseInt(f.Version, 10, 64)
		if err != nil || version <= 0 {
			version = -1
		}
		_, err = s.Accounts.UpdateAccount(r.Context(), q.P, func(body any) (int64, error) {
			*(body.(*accounts.AccountPatch)) = patch
			return version, nil
		})
		if err != nil {
			errs, msg, ok := problemOf(err, accountFields)
			if !ok || statusFor(err) >= 500 {
				s.fail(w, r, err)
				return
			}
			if stale(err) {
				msg = errFormStale
			}
			l.Error = msg
			s.writeSettings(w, r, q, l, statusFor(err), f, errs)
			return
		}
		q.redirect(w, r, "/portal/settings", "The settings were saved.")
	})(w, r)
}

// portalItemKind names the kinds of scope item of the settings pages.
type portalItemKind struct{ Plural, Name, Title string }

var portalItemKinds = map[string]portalItemKind{
	"stores":      {"stores", "store", "Store"},
	"departments": {"departments", "department", "Department"},
	"suppliers":   {"suppliers", "supplier", "Supplier"},
}

// departmentKinds are the kinds a department may be.
var departmentKinds = []option{{"sales", "Sales"}, {"purchase", "Purchase"}, {"manufacturing", "Manufacturing"}, {"logistics", "Logistics"}, {"accounts", "Accounts"}, {"custom", "Custom"}}

// HandleItemNew serves GET /portal/settings/items?kind={stores,departments,suppliers}: the form adding a
// store, department or supplier.
func (s *Service) HandleItemNew(w http.ResponseWriter, r *http.Request) error {
	return s.view(func(w http.ResponseWriter, r *http.Request, q *req) {
		k, ok := portalItemKinds[r.URL.Query().Get("kind")]
		if !ok {
			writeMessage(w, r, http.StatusNotFound, q.chrome("Not found", ""), "This page does not exist.", "/portal/settings", "Back to the settings")
			return
		}
		if !accounts.MaySettings(q.P) {
			settingsDenied(w, r, q)
			return
		}
		d := itemData{Kind: k.Plural, New: true, DeptKind: "sales"}
		writePage(w, r, http.StatusOK, itemPage(q.chrome("Add a "+k.Name, "settings"), d))
	})(w, r)
}

// HandleItem serves GET /portal/settings/items/{id}?kind=: the form editing a
// store, department or supplier.
func (s *Service) HandleItem(w http.ResponseWriter, r *http.Request) error {
	return s.view(func(w http.ResponseWriter, r *http.Request, q *req) {
		k, ok := portalItemKinds[r.URL.Query().Get("kind")]
		if !ok {
			writeMessage(w, r, http.StatusNotFound, q.chrome("Not found", ""), "This page does not exist.", "/portal/settings", "Back to the settings")
			return
		}
		if !accounts.MaySettings(q.P) {
			settingsDenied(w, r, q)
			return
		}
		d, err := s.readItem(r.Context(), q.P, k, r.PathValue("id"))
		if err != nil {
			s.refuse(w, r, q, "Not found", err)
			return
		}
		l := q.chrome("Edit the "+k.Name+" "+d.Name, "settings")
		writePage(w, r, http.StatusOK, itemPage(l, d))
	})(w, r)
}

func (s *Service) readItem(ctx context.Context, p *auth.Principal, k portalItemKind, id string) (itemData, error) {
	d := itemData{Kind: k.Plural, ID: id}
	var version int64
	switch k.Plural {
	case "stores":
		v, err := s.Accounts.GetStore(ctx, p, id)
		if err != nil {
			return d, err
		}
		d.Name, d.Address, d.TimeZone, version = v.Name, v.Address, v.TimeZone, v.Version
	case "departments":
		v, err := s.Accounts.GetDepartment(ctx, p, id)
		if err != nil {
			return d, err
		}
		d.Name, d.DeptKind, version = v.Name, string(v.Kind), v.Version
	default:
		v, err := s.Accounts.GetSupplier(ctx, p, id)
		if err != nil {
			return d, err
		}
		d.Name, version = v.Name, v.Version
	}
	d.Version = strconv.FormatInt(version, 10)
	return d, nil
}

// HandleItemCreate serves POST /portal/settings/items?kind=: a new store,
// department or supplier (as PUT /v1/{plural}/{id} without If-Match).
func (s *Service) HandleItemCreate(w http.ResponseWriter, r *http.Request) error {
	return s.action(func(w http.ResponseWriter, r *http.Request, q *req, form url.Values) {
		s.putItem(w, r, q, form, strings.TrimSpace(form.Get("id")), true)
	})(w, r)
}

// HandleItemUpdate serves POST /portal/settings/items/{id}?kind=: the item
// replaced at the form's version (as PUT /v1/{plural}/{id} with
// If-Match).
func (s *Service) HandleItemUpdate(w http.ResponseWriter, r *http.Request) error {
	return s.action(func(w http.ResponseWriter, r *http.Request, q *req, form url.Values) {
		s.putItem(w, r, q, form, r.PathValue("id"), false)
	})(w, r)
}

func (s *Service) putItem(w http.ResponseWriter, r *http.Request, q *req, form url.Values, id string, create bool) {
	k, ok := portalItemKinds[r.URL.Query().Get("kind")]
	if !ok {
		writeMessage(w, r, http.StatusNotFound, q.chrome("Not found", ""), "This page does not exist.", "/portal/settings", "Back to the settings")
		return
	}
	if !accounts.MaySettings(q.P) {
		settingsDenied(w, r, q)
		return
	}
	d := itemData{Kind: k.Plural, ID: id, New: create, Name: form.Get("name"), Address: form.Get("address"), TimeZone: strings.TrimSpace(form.Get("timeZone")), DeptKind: form.Get("kind"), Version: form.Get("version")}
	title := "Edit the " + k.Name
	if create {
		title = "Add a " + k.Name
	}
	l := q.chrome(title, "settings")
	if q.P.Impersonated() {
		l.Error = errImpersonatedChange.Detail
		writePage(w, r, http.StatusForbidden, itemPage(l, d))
		return
	}
	var version int64
	if !create {
		v, err := strconv.ParseInt(d.Version, 10, 64)
		if err != nil || v <= 0 {
			v = -1
		}
		version = v
	}
	read := func(body any) (int64, error) {
		switch b := body.(type) {
		case *accounts.StoreBody:
			*b = accounts.StoreBody{Name: d.Name, Address: d.Address, TimeZone: d.TimeZone}
		case *accounts.DepartmentBody:
			*b = accounts.DepartmentBody{Name: d.Name, Kind: d.DeptKind}
		case *accounts.SupplierBody:
			*b = accounts.SupplierBody{Name: d.Name}
		}
		return version, nil
	}
	var err error
	ctx := r.Context()
	switch k.Plural {
	case "stores":
		_, _, err = s.Accounts.PutStore(ctx, q.P, id, read)
	case "departments":
		_, _, err = s.Accounts.PutDepartment(ctx, q.P, id, read)
	default:
		_, _, err = s.Accounts.PutSupplier(ctx, q.P, id, read)
	}
	if err != nil {
		errs, msg, ok := problemOf(err, nil)
		if !ok || statusFor(err) >= 500 {
			s.fail(w, r, err)
			return
		}
		var e *fault.Error
		switch {
		case stale(err):
			msg = errFormStale
		case create && errors.As(err, &e) && e.Kind == fault.PreconditionRequired:
			msg, errs = "", fieldErrors{"id": "This id is taken: choose another, or edit the existing " + k.Name + "."}
		}
		if msg == "" {
			msg = "Check the fields marked below."
		}
		l.Error = msg
		d.Errors = errs
		writePage(w, r, statusFor(err), itemPage(l, d))
		return
	}
	if create {
		q.redirect(w, r, "/portal/settings", "The "+k.Name+" "+d.Name+" was added.")
		return
	}
	q.redirect(w, r, "/portal/settings", "The "+k.Name+" "+d.Name+" was saved.")
}

type (
	// settingsForm is the account settings form's values.
	settingsForm struct {
		Version, Name, InvitationTTLHours, TimeZone, AlertHour string
		SREnabled, SROpen                                      bool
		SRDomains, SRDefaultRole, SRFirstRole                  string
		ProductName, LogoURL, AccentColor, AllowedOrigins      string
		Billing, LockAfterDays                                 string
	}
	settingsData struct {
		Form                      settingsForm
		Errors                    fieldErrors
		MayPolicies, Impersonated bool
		Roles                     []option
		Stores, Departments       []itemRow
		Suppliers                 []itemRow
	}
	itemRow  struct{ ID, Name, Detail string }
	itemData struct {
		// Kind is the plural ("stores").
		Kind, ID, Name, Address, TimeZone, DeptKind, Version string
		New                                                  bool
		Errors                                               fieldErrors
	}
)

// describedByHint names a control's hint and error.
func describedByHint(errs fieldErrors, name string, hint bool) string {
	ids := describedBy(errs, name)
	if hint {
		ids = strings.TrimSpace(name + "-hint " + ids)
	}
	return ids
}

func itoa(i int) string { return strconv.Itoa(i) }

package accounts

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // time zones resolve the same in Lambda, whose image may lack a zone database

	"github.com/stewardhq/steward/pkg/audit"
	"github.com/stewardhq/steward/pkg/fault"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/team"
)

// Limits of the inputs.
const (
	// MaxNameLen bounds account, store and department names.
	MaxNameLen = 120
	// MaxAddressLen bounds a store's address.
	MaxAddressLen = 300
	// MaxDomains bounds each domain list of the settings.
	MaxDomains = 50
	// MinInvitationTTLHours and MaxInvitationTTLHours bound the invitation
	// lifetime: an hour to 30 days.
	MinInvitationTTLHours = 1
	MaxInvitationTTLHours = 720
)

// ValidateID checks a store, department or supplier id from the path.
func ValidateID(id string) error {
	if !validScopeID(id) {
		return httpapi.InvalidField("id", "must be 1 to 64 letters, digits, '-' or '_'")
	}
	return nil
}

// ValidTimeZone checks an IANA time zone name such as Europe/Berlin. "UTC"
// is valid; "Local" and the empty name are not (they mean the server's
// zone, not a place).
func ValidTimeZone(field, tz string) error {
	if tz == "" || tz == "Local" || len(tz) > 64 {
		return httpapi.InvalidField(field, "must be an IANA time zone such as Europe/Berlin")
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return httpapi.InvalidField(field, fmt.Sprintf("%q is not an IANA time zone such as Europe/Berlin", tz))
	}
	return nil
}

// NormalizeDomain trims and lower-cases an email domain and checks it: at
// least two labels of letters, digits and inner hyphens, each at most 63
// characters, 253 in all, and a top-level label that is not all digits.
// Internationalized domains are given in their xn-- form.
func NormalizeDomain(field, d string) (string, error) {
	d = strings.ToLower(strings.TrimSpace(d))
	bad := func() (string, error) {
		return "", httpapi.InvalidField(field, fmt.Sprintf("%q is not a domain such as example.com", d))
	}
	if d == "" || len(d) > 253 {
		return bad()
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return bad()
	}
	for _, l := range labels {
		if !validDomainLabel(l) {
			return bad()
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return bad()
	}
	return d, nil
}

// NormalizeDomains normalizes a domain list (see NormalizeDomain): at most
// MaxDomains, duplicates dropped, in the given order. Errors name the
// element, e.g. "settings.externalApproverDomains[2]".
func NormalizeDomains(field string, in []string) ([]string, error) {
	if len(in) > MaxDomains {
		return nil, httpapi.InvalidField(field, fmt.Sprintf("at most %d domains", MaxDomains))
	}
	out := make([]string, 0, len(in))
	for i, d := range in {
		n, err := NormalizeDomain(httpapi.Indexed(field, i), d)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// AccountPatch is the body of PATCH /v1/account. Absent (or null) fields
// stay as they are.
type AccountPatch struct {
	Name     *string        `json:"name,omitempty"`
	Settings *SettingsPatch `json:"settings,omitempty"`
}

// SettingsPatch changes some settings.
type SettingsPatch struct {
	InvitationTTLHours      *int                   `json:"invitationTtlHours,omitempty"`
	TimeZone                *string                `json:"timeZone,omitempty"`
	AlertHour               *int                   `json:"alertHour,omitempty"`
	ExternalApproverDomains *[]string              `json:"externalApproverDomains,omitempty"`
	SelfRegistration        *SelfRegistrationPatch `json:"selfRegistration,omitempty"`
	AuditRetentionDays      *int                   `json:"auditRetentionDays,omitempty"`
	DocumentRetentionDays   *int                   `json:"documentRetentionDays,omitempty"`
	GrantExpiryNoticeDays   *int                   `json:"grantExpiryNoticeDays,omitempty"`
	Billing                 *string                `json:"billing,omitempty"`
	LockAfterDays           *int                   `json:"lockAfterDays,omitempty"`
	Portal                  *PortalPatch           `json:"portal,omitempty"`
}

// PortalPatch changes the admin portal's settings.
type PortalPatch struct {
	ProductName    *string   `json:"productName,omitempty"`
	LogoURL        *string   `json:"logoUrl,omitempty"`
	AccentColor    *string   `json:"accentColor,omitempty"`
	AllowedOrigins *[]string `json:"allowedOrigins,omitempty"`
}

// SelfRegistrationPatch changes the self-registration setting.
type SelfRegistrationPatch struct {
	Enabled             *bool     `json:"enabled,omitempty"`
	Open                *bool     `json:"open,omitempty"`
	Domains             *[]string `json:"domains,omitempty"`
	DefaultRole         *string   `json:"defaultRole,omitempty"`
	FirstRegistrantRole *string   `json:"firstRegistrantRole,omitempty"`
}

// ApplyPatch returns the account with the patch applied and checked, or a
// 400 problem naming the first bad field, or a 403 problem when the
// self-registration default role would grant more than actor holds at
// account scope (people who register themselves get that role
// account-wide, so choosing it is granting it). roles is the account's role
// set. The result keeps the account's id, owner, version and times.
func ApplyPatch(a team.Account, p AccountPatch, roles *rbac.RoleSet, actor *rbac.Principal) (team.Account, error) {
	if p.Name != nil {
		name, err := httpapi.CleanName("name", *p.Name, MaxNameLen, true)
		if err != nil {
			return team.Account{}, err
		}
		a.Name = name
	}
	if p.Settings == nil {
		return a, nil
	}
	s := p.Settings
	st := a.Settings
	st.ExternalApproverDomains = slices.Clone(st.ExternalApproverDomains)
	st.SelfRegistration.Domains = slices.Clone(st.SelfRegistration.Domains)
	st.Portal.AllowedOrigins = slices.Clone(st.Portal.AllowedOrigins)
	if pp := s.Portal; pp != nil {
		if err := applyPortal(&st.Portal, *pp); err != nil {
			return team.Account{}, err
		}
	}
	if s.InvitationTTLHours != nil {
		h := *s.InvitationTTLHours
		if h < MinInvitationTTLHours || h > MaxInvitationTTLHours {
			return team.Account{}, httpapi.InvalidField("settings.invitationTtlHours", fmt.Sprintf("must be a whole number of hours from %d to %d", MinInvitationTTLHours, MaxInvitationTTLHours))
		}
		st.InvitationTTL = time.Duration(h) * time.Hour
	}
	if s.TimeZone != nil {
		if err := ValidTimeZone("settings.timeZone", *s.TimeZone); err != nil {
			return team.Account{}, err
		}
		st.TimeZone = *s.TimeZone
	}
	if s.AlertHour != nil {
		if *s.AlertHour < 0 || *s.AlertHour > 23 {
			return team.Account{}, httpapi.InvalidField("settings.alertHour", "must be an hour from 0 to 23")
		}
		st.AlertHour = *s.AlertHour
	}
	if d := s.AuditRetentionDays; d != nil {
		if *d < team.MinAuditRetentionDays || *d > team.MaxAuditRetentionDays {
			return team.Account{}, httpapi.InvalidField("settings.auditRetentionDays", fmt.Sprintf("must be a whole number of days from %d to %d", team.MinAuditRetentionDays, team.MaxAuditRetentionDays))
		}
		st.AuditRetentionDays = *d
	}
	if d := s.DocumentRetentionDays; d != nil {
		if *d < team.MinDocumentRetentionDays || *d > team.MaxDocumentRetentionDays {
			return team.Account{}, httpapi.InvalidField("settings.documentRetentionDays", fmt.Sprintf("must be a whole number of days from %d to %d", team.MinDocumentRetentionDays, team.MaxDocumentRetentionDays))
		}
		st.DocumentRetentionDays = *d
	}
	if d := s.GrantExpiryNoticeDays; d != nil {
		if *d < 0 || *d > team.MaxGrantExpiryNoticeDays {
			return team.Account{}, httpapi.InvalidField("settings.grantExpiryNoticeDays", fmt.Sprintf("must be a whole number of days from 0 (off) to %d", team.MaxGrantExpiryNoticeDays))
		}
		st.GrantExpiryNoticeDays = *d
	}
	if b := s.Billing; b != nil {
		if *b != string(rbac.BillingPerStore) && *b != string(rbac.BillingSingle) {
			return team.Account{}, httpapi.InvalidField("settings.billing", `must be "per_store" (billed and settled per store) or "single" (single billing and settlement)`)
		}
		st.Billing = rbac.Billing(*b)
	}
	if d := s.LockAfterDays; d != nil {
		if *d < 0 || *d > rbac.MaxLockAfterDays {
			return team.Account{}, httpapi.InvalidField("settings.lockAfterDays", fmt.Sprintf("must be a whole number of days from 0 (off) to %d", rbac.MaxLockAfterDays))
		}
		st.LockAfterDays = *d
	}
	if s.ExternalApproverDomains != nil {
		ds, err := NormalizeDomains("settings.externalApproverDomains", *s.ExternalApproverDomains)
		if err != nil {
			return team.Account{}, err
		}
		st.ExternalApproverDomains = ds
	}
	if sr := s.SelfRegistration; sr != nil {
		if sr.Enabled != nil {
			st.SelfRegistration.Enabled = *sr.Enabled
		}
		if sr.Domains != nil {
			ds, err := NormalizeDomains("settings.selfRegistration.domains", *sr.Domains)
			if err != nil {
				return team.Account{}, err
			}
			st.SelfRegistration.Domains = ds
		}
		if sr.Open != nil {
			st.SelfRegistration.Open = *sr.Open
		}
		if sr.DefaultRole != nil {
			if *sr.DefaultRole != "" {
				if err := checkDefaultRole("settings.selfRegistration.defaultRole", *sr.DefaultRole, roles, actor); err != nil {
					return team.Account{}, err
				}
			}
			st.SelfRegistration.DefaultRole = *sr.DefaultRole
		}
		if sr.FirstRegistrantRole != nil {
			if *sr.FirstRegistrantRole != "" {
				if err := checkDefaultRole("settings.selfRegistration.firstRegistrantRole", *sr.FirstRegistrantRole, roles, actor); err != nil {
					return team.Account{}, err
				}
			}
			st.SelfRegistration.FirstRegistrantRole = *sr.FirstRegistrantRole
		}
		if st.SelfRegistration.Open && len(st.SelfRegistration.Domains) > 0 {
			return team.Account{}, httpapi.InvalidField("settings.selfRegistration.domains", "must be empty when self-registration is open to every domain: send \"domains\": [] with \"open\": true")
		}
		if st.SelfRegistration.Enabled {
			if len(st.SelfRegistration.Domains) == 0 && !st.SelfRegistration.Open {
				return team.Account{}, httpapi.InvalidField("settings.selfRegistration.domains", "name at least one domain when self-registration is enabled (or set open)")
			}
			if st.SelfRegistration.DefaultRole == "" {
				return team.Account{}, httpapi.InvalidField("settings.selfRegistration.defaultRole", "is required when self-registration is enabled")
			}
		}
	}
	a.Settings = st
	return a, nil
}

// checkDefaultRole checks a self-registration role (the default role, or
// the first registrant's role), named by field: a role of the account
// (built-in or custom), assignable at account scope, not the
// administrator role, and within what actor holds at account scope.
func checkDefaultRole(field, id string, roles *rbac.RoleSet, actor *rbac.Principal) error {
	what := "the default role"
	if strings.HasSuffix(field, "firstRegistrantRole") {
		what = "the first registrant's role"
	}
	if !validRoleID(id) {
		return httpapi.InvalidField(field, fmt.Sprintf("%q is not a role id", id))
	}
	r, ok := roles.Role(id)
	if !ok {
		return httpapi.InvalidField(field, fmt.Sprintf("%q is not a role of this account", id))
	}
	if r.Admin {
		return httpapi.InvalidField(field, "people who register themselves cannot become administrators")
	}
	if err := roles.ValidateAssignment(rbac.Assignment{Role: id, Scope: rbac.AccountScope}); err != nil {
		return httpapi.InvalidField(field, fmt.Sprintf("role %q cannot be given account-wide", id))
	}
	for _, k := range r.Permissions {
		if !actor.Holds(k, rbac.AccountScope) {
			return fault.New(fault.Forbidden, "exceeds_own_rights",
				fmt.Sprintf("Role %q grants %s, which you do not hold account-wide, so you cannot make it %s.", id, k, what))
		}
	}
	return nil
}

// StoreBody is the body of PUT /v1/stores/{id}.
type StoreBody struct {
	Name     string `json:"name"`
	Address  string `json:"address,omitempty"`
	TimeZone string `json:"timeZone,omitempty"`
}

// Store checks the body and returns the store it describes (id, name,
// address, time zone; no version or times).
func (b StoreBody) Store(id string) (team.Store, error) {
	if err := ValidateID(id); err != nil {
		return team.Store{}, err
	}
	name, err := httpapi.CleanName("name", b.Name, MaxNameLen, true)
	if err != nil {
		return team.Store{}, err
	}
	addr, err := httpapi.CleanName("address", b.Address, MaxAddressLen, false)
	if err != nil {
		return team.Store{}, err
	}
	if b.TimeZone != "" {
		if err := ValidTimeZone("timeZone", b.TimeZone); err != nil {
			return team.Store{}, err
		}
	}
	return team.Store{ID: id, Name: name, Address: addr, TimeZone: b.TimeZone}, nil
}

// DepartmentBody is the body of PUT /v1/departments/{id}.
type DepartmentBody struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
}

// Department checks the body and returns the department it describes.
func (b DepartmentBody) Department(id string) (team.Department, error) {
	if err := ValidateID(id); err != nil {
		return team.Department{}, err
	}
	name, err := httpapi.CleanName("name", b.Name, MaxNameLen, true)
	if err != nil {
		return team.Department{}, err
	}
	kind := team.DepartmentKind(b.Kind)
	if !kind.Valid() {
		return team.Department{}, httpapi.InvalidField("kind", "must be one of sales, purchase, manufacturing, logistics, accounts, custom")
	}
	return team.Department{ID: id, Name: name, Kind: kind}, nil
}

// SupplierBody is the body of PUT /v1/suppliers/{id}.
type SupplierBody struct {
	Name string `json:"name"`
}

// Supplier checks the body and returns the supplier it describes.
func (b SupplierBody) Supplier(id string) (team.Supplier, error) {
	if err := ValidateID(id); err != nil {
		return team.Supplier{}, err
	}
	name, err := httpapi.CleanName("name", b.Name, MaxNameLen, true)
	if err != nil {
		return team.Supplier{}, err
	}
	return team.Supplier{ID: id, Name: name}, nil
}

// The formats of the audit filters (format.go) are plain: they are
// matched exactly, so they need no separators and no control characters.

// ParseAuditFilter reads the filters of GET /v1/audit: actor, target
// ("type:id") or targetType and targetId together, action, from and to
// (RFC 3339, inclusive). Bad values are 400 problems naming the parameter.
func ParseAuditFilter(q url.Values) (audit.Filter, error) {
	var f audit.Filter
	if v := q.Get("actor"); v != "" {
		if !validAuditActor(v) {
			return f, httpapi.InvalidField("actor", "must be an actor id such as m_1f2e…")
		}
		f.ActorID = v
	}
	target, tt, tid := q.Get("target"), q.Get("targetType"), q.Get("targetId")
	switch {
	case target != "" && (tt != "" || tid != ""):
		return f, httpapi.InvalidField("target", "give either target or targetType and targetId, not both")
	case target != "":
		var ok bool
		tt, tid, ok = strings.Cut(target, ":")
		if !ok {
			return f, httpapi.InvalidField("target", `must be "type:id", e.g. "store:s1"`)
		}
	case (tt == "") != (tid == ""):
		return f, httpapi.InvalidField("targetType", "targetType and targetId go together")
	}
	if tt != "" {
		param := "targetType"
		if target != "" {
			param = "target"
		}
		if !validAuditTargetType(tt) {
			return f, httpapi.InvalidField(param, "the type must be lower-case letters, digits and '_', e.g. store")
		}
		if param == "targetType" {
			param = "targetId"
		}
		if !validAuditTargetID(tid) {
			return f, httpapi.InvalidField(param, "the id must be 1 to 200 letters, digits or . _ : @ -")
		}
		f.TargetType, f.TargetID = tt, tid
	}
	if v := q.Get("action"); v != "" {
		if !validAuditAction(v) {
			return f, httpapi.InvalidField("action", "must be an action such as store.create")
		}
		f.Action = v
	}
	for _, x := range []struct {
		name string
		to   *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		v := q.Get(x.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return f, httpapi.InvalidField(x.name, "must be an RFC 3339 time such as 2025-01-31T09:00:00Z")
		}
		*x.to = t.UTC()
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return f, httpapi.InvalidField("to", "must not be before from")
	}
	return f, nil
}

// Package views holds the JSON shapes the API answers with for domain
// objects shared by several routes, and their named converters. Field
// names are camelCase and part of the API contract.
package views

import (
	"fmt"
	"slices"
	"time"

	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/rbac"

	"github.com/stewardhq/steward/pkg/team"
)

// Assignment is {"role": "manager", "scope": "store:s1"}, optionally
// time-bound: {"role": "manager", "scope": "store:s1", "expiresAt":
// "2027-01-31T18:00:00Z"}. In answers, expired (the window has ended; it
// grants nothing and stays until removed) and pending (the window has not
// started) say how it stands, and grantedBy names who added it.
type Assignment struct {
	// Role, or Permissions for a member's own permission set.
	Role        string   `json:"role,omitempty"`
	Permissions []string `json:"permissions,omitempty"`
	Scope       string   `json:"scope"`
	StartsAt    string   `json:"startsAt,omitempty"`
	ExpiresAt   string   `json:"expiresAt,omitempty"`
	GrantedBy   string   `json:"grantedBy,omitempty"`
	Expired     bool     `json:"expired,omitempty"`
	Pending     bool     `json:"pending,omitempty"`
}

// AssignmentOf converts an assignment as it stands at now (a zero now
// leaves out expired and pending: the audit snapshots, which must not
// change with the time they are written at).
func AssignmentOf(a rbac.Assignment, now time.Time) Assignment {
	v := Assignment{Role: a.Role, Permissions: slices.Clone(a.Permissions), Scope: a.Scope.String(), GrantedBy: a.GrantedBy}
	if !a.StartsAt.IsZero() {
		v.StartsAt = a.StartsAt.UTC().Format(time.RFC3339Nano)
	}
	if !a.ExpiresAt.IsZero() {
		v.ExpiresAt = a.ExpiresAt.UTC().Format(time.RFC3339Nano)
	}
	if !now.IsZero() {
		v.Expired, v.Pending = a.Expired(now), a.Pending(now)
	}
	return v
}

// Notifications are a member's email preferences (true = receives).
type Notifications struct {
	LowStock         bool `json:"lowStock"`
	DuePurchaseOrder bool `json:"duePurchaseOrders"`
	DueSalesOrder    bool `json:"dueSalesOrders"`
	PaymentReminder  bool `json:"paymentReminders"`
	ApprovalReminder bool `json:"approvalReminders"`
}

// Member is a member as the API shows it.
type Member struct {
	ID            string        `json:"id"`
	Email         string        `json:"email"`
	Name          string        `json:"name"`
	Status        string        `json:"status"`
	Admin         bool          `json:"admin"`
	Owner         bool          `json:"owner"`
	Assignments   []Assignment  `json:"assignments"`
	Notifications Notifications `json:"notifications"`
	Version       int64         `json:"version"`
	CreatedAt     time.Time     `json:"createdAt"`
	UpdatedAt     time.Time     `json:"updatedAt"`
}

// ScopePermissions are the permissions held at one scope.
type ScopePermissions struct {
	Scope       string   `json:"scope"`
	Permissions []string `json:"permissions"`
}

// EffectiveOf lists a compiled member's effective permissions per scope
// (rbac.Principal.Effective), never nil.
func EffectiveOf(p *rbac.Principal) []ScopePermissions {
	out := []ScopePermissions{}
	for _, sp := range p.Effective() {
		out = append(out, ScopePermissions{Scope: sp.Scope.String(), Permissions: nonNil(sp.Permissions)})
	}
	return out
}

// MemberDetail is one member as GET /v1/users/{id} shows it: the member
// and what its assignments give at each scope now (per-user toggles).
type MemberDetail struct {
	Member
	EffectivePermissions []ScopePermissions `json:"effectivePermissions"`
}

// FromMember converts a member as it stands now (the wall clock: whether
// each time-bound assignment is expired or pending).
func FromMember(m team.Member) Member { return FromMemberAt(m, time.Now()) }

// FromMemberAt converts a member as it stands at now (see AssignmentOf).
func FromMemberAt(m team.Member, now time.Time) Member {
	v := Member{
		ID: m.ID, Email: m.Email, Name: m.Name, Status: string(m.Status), Admin: m.Admin, Owner: m.Owner,
		Assignments: make([]Assignment, 0, len(m.Assignments)),
		Notifications: Notifications{
			LowStock: !m.Notifications.LowStockOff, DuePurchaseOrder: !m.Notifications.DuePurchaseOrderOff,
			DueSalesOrder:   !m.Notifications.DueSalesOrderOff,
			PaymentReminder: !m.Notifications.PaymentReminderOff, ApprovalReminder: !m.Notifications.ApprovalReminderOff,
		},
		Version: m.Version, CreatedAt: m.CreatedAt.UTC(), UpdatedAt: m.UpdatedAt.UTC(),
	}
	for _, a := range m.Assignments {
		v.Assignments = append(v.Assignments, AssignmentOf(a, now))
	}
	return v
}

// MemberRef names a member briefly.
type MemberRef struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// RefOf converts a member to a reference.
func RefOf(m team.Member) MemberRef { return MemberRef{ID: m.ID, Name: m.Name, Email: m.Email} }

// Account is an account as the API shows it.
type Account struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	OwnerID string `json:"ownerId"`
	// Preset is the product preset the account was created with.
	Preset    string    `json:"preset"`
	Settings  Settings  `json:"settings"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"createdAt"`
}

// Settings are an account's settings as the API shows them.
type Settings struct {
	InvitationTTLHours      int              `json:"invitationTtlHours"`
	TimeZone                string           `json:"timeZone"`
	AlertHour               int              `json:"alertHour"`
	ExternalApproverDomains []string         `json:"externalApproverDomains"`
	SelfRegistration        SelfRegistration `json:"selfRegistration"`
	AuditRetentionDays      int              `json:"auditRetentionDays"`
	DocumentRetentionDays   int              `json:"documentRetentionDays"`
	GrantExpiryNoticeDays   int              `json:"grantExpiryNoticeDays"`
	Billing                 string           `json:"billing"`
	LockAfterDays           int              `json:"lockAfterDays"`
	Portal                  PortalSettings   `json:"portal"`
}

// PortalSettings are the admin portal's branding and the origins a
// portal link's returnUrl may point at.
type PortalSettings struct {
	ProductName    string   `json:"productName"`
	LogoURL        string   `json:"logoUrl"`
	AccentColor    string   `json:"accentColor"`
	AllowedOrigins []string `json:"allowedOrigins"`
}

// SelfRegistration is the account's self-registration setting.
type SelfRegistration struct {
	Enabled             bool     `json:"enabled"`
	Open                bool     `json:"open"`
	Domains             []string `json:"domains"`
	DefaultRole         string   `json:"defaultRole,omitempty"`
	FirstRegistrantRole string   `json:"firstRegistrantRole,omitempty"`
}

// FromAccount converts an account.
func FromAccount(a team.Account) Account {
	s := a.Settings
	preset := a.Preset
	if preset == "" {
		preset = rbac.PresetGeneral
	}
	billing := s.Billing
	if billing == "" {
		billing = rbac.BillingPerStore
	}
	return Account{
		ID: a.ID, Name: a.Name, OwnerID: a.OwnerID, Preset: preset, Version: a.Version, CreatedAt: a.CreatedAt.UTC(),
		Settings: Settings{
			InvitationTTLHours: int(s.InvitationTTL / time.Hour), TimeZone: s.TimeZone, AlertHour: s.AlertHour,
			ExternalApproverDomains: nonNil(s.ExternalApproverDomains),
			SelfRegistration: SelfRegistration{
				Enabled: s.SelfRegistration.Enabled, Domains: nonNil(s.SelfRegistration.Domains), DefaultRole: s.SelfRegistration.DefaultRole,
				Open: s.SelfRegistration.Open, FirstRegistrantRole: s.SelfRegistration.FirstRegistrantRole,
			},
			AuditRetentionDays: s.AuditRetentionDays, DocumentRetentionDays: s.DocumentRetentionDays,
			GrantExpiryNoticeDays: s.GrantExpiryNoticeDays,
			Billing:               string(billing), LockAfterDays: s.LockAfterDays,
			Portal: PortalSettings{
				ProductName: s.Portal.ProductName, LogoURL: s.Portal.LogoURL, AccentColor: s.Portal.AccentColor,
				AllowedOrigins: nonNil(s.Portal.AllowedOrigins),
			},
		},
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// MaxAssignments bounds a member's assignments.
const MaxAssignments = 100

// MaxTimeBound bounds a member's time-bound assignments: each one with an
// expiry writes a small index item with the member (store.ExpiringGrant),
// in the member's transaction.
const MaxTimeBound = 20

// MaxGrantWindow is how far ahead an added assignment's startsAt and
// expiresAt may be.
const MaxGrantWindow = 10 * 366 * 24 * time.Hour

// ParseAssignments converts API assignments to the engine's, naming the
// first bad one in a 400 problem. startsAt and expiresAt are RFC 3339
// instants; expiresAt must be after
// startsAt. Whether an added window lies in the future is
// StampAssignments' business (an assignment sent back as it is stored may
// have expired meanwhile). grantedBy, expired and pending are ignored.
func ParseAssignments(in []Assignment) ([]rbac.Assignment, error) {
	if len(in) > MaxAssignments {
		return nil, httpapi.InvalidField("assignments", fmt.Sprintf("at most %d", MaxAssignments))
	}
	out := make([]rbac.Assignment, 0, len(in))
	bound := 0
	for i, a := range in {
		field := httpapi.Indexed("assignments", i)
		switch {
		case a.Role == "" && len(a.Permissions) == 0:
			return nil, httpapi.InvalidField(field+".role", "give a role, or permissions")
		case a.Role != "" && len(a.Permissions) > 0:
			return nil, httpapi.InvalidField(field+".permissions", "give a role or permissions, not both")
		case len(a.Permissions) > rbac.MaxAssignmentPermissions:
			return nil, httpapi.InvalidField(field+".permissions", fmt.Sprintf("at most %d", rbac.MaxAssignmentPermissions))
		}
		for j, k := range a.Permissions {
			if err := rbac.ValidatePermissionKey(k); err != nil {
				return nil, httpapi.InvalidField(httpapi.Indexed(field+".permissions", j), err.Error())
			}
			if slices.Index(a.Permissions, k) != j {
				return nil, httpapi.InvalidField(httpapi.Indexed(field+".permissions", j), fmt.Sprintf("%q is listed twice", k))
			}
		}
		sc, err := rbac.ParseScope(a.Scope)
		if err != nil {
			return nil, httpapi.InvalidField(field+".scope", err.Error())
		}
		x := rbac.Assignment{Role: a.Role, Permissions: slices.Clone(a.Permissions), Scope: sc}
		if x.StartsAt, err = parseInstant(field+".startsAt", a.StartsAt); err != nil {
			return nil, err
		}
		if x.ExpiresAt, err = parseInstant(field+".expiresAt", a.ExpiresAt); err != nil {
			return nil, err
		}
		if !x.StartsAt.IsZero() && !x.ExpiresAt.IsZero() && !x.ExpiresAt.After(x.StartsAt) {
			return nil, httpapi.InvalidField(field+".expiresAt", "must be after startsAt")
		}
		if x.TimeBound() {
			if bound++; bound > MaxTimeBound {
				return nil, httpapi.InvalidField(field, fmt.Sprintf("at most %d assignments may have startsAt or expiresAt", MaxTimeBound))
			}
		}
		out = append(out, x)
	}
	return out, nil
}

// parseInstant reads an RFC 3339 instant ("" is none).
func parseInstant(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, httpapi.InvalidField(field, "must be an RFC 3339 date-time, e.g. 2027-01-31T18:00:00Z")
	}
	return t.UTC(), nil
}

// StampAssignments prepares after, the assignments a member will have
// (before: those it has, nil when creating), for saving at now by actor:
// an assignment kept as it was (rbac.Assignment.Equal) keeps its
// grantedBy; an added one records actor as its grantor, and its window
// must lie ahead: expiresAt after now, startsAt and expiresAt within
// MaxGrantWindow. A kept assignment may have expired: it stays until
// removed.
func StampAssignments(before, after []rbac.Assignment, actor string, now time.Time) ([]rbac.Assignment, error) {
	out := make([]rbac.Assignment, len(after))
next:
	for i, a := range after {
		for _, b := range before {
			if b.Equal(a) {
				a.GrantedBy = b.GrantedBy
				out[i] = a
				continue next
			}
		}
		field := httpapi.Indexed("assignments", i)
		if !a.ExpiresAt.IsZero() && !a.ExpiresAt.After(now) {
			return nil, httpapi.InvalidField(field+".expiresAt", "must be in the future")
		}
		for _, w := range []struct {
			name string
			t    time.Time
		}{{"startsAt", a.StartsAt}, {"expiresAt", a.ExpiresAt}} {
			if !w.t.IsZero() && w.t.After(now.Add(MaxGrantWindow)) {
				return nil, httpapi.InvalidField(field+"."+w.name, "must be within 10 years")
			}
		}
		a.GrantedBy = actor
		out[i] = a
	}
	return out, nil
}

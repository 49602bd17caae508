// Package team holds Steward's tenant domain types: accounts, identities
// (a person's email and password, shared across accounts) and members (a
// person's place in one account, with status, admin flag and role
// assignments), with the account's stores, departments, suppliers, invitations and
// access requests (a member asking for a role at a scope). They carry no storage or JSON tags: the store and the API convert them
// with named converters. Documents, approval policies and approval
// requests live in pkg/documents.
package team

import (
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/stewardhq/steward/pkg/rbac"
)

// Account is a tenant.
type Account struct {
	ID   string
	Name string
	// OwnerID is the member id of the one owner.
	OwnerID string
	// Preset is the product preset the account was created with
	// (rbac.Presets; "" is the general preset). It never changes.
	Preset    string
	Settings  Settings
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Settings are an account's settings.
type Settings struct {
	// InvitationTTL is how long an invitation link works (default 7 days).
	InvitationTTL time.Duration
	// TimeZone is an IANA zone name for the alert schedule (default UTC).
	TimeZone string
	// AlertHour is the local hour (0-23) the daily alerts run (default 7).
	AlertHour int
	// ExternalApproverDomains limit whom a requester may nominate as an
	// external approver (empty: any domain, when a policy allows them).
	ExternalApproverDomains []string
	// SelfRegistration lets people of allowed domains join by themselves.
	SelfRegistration SelfRegistration
	// AuditRetentionDays is how long an audit event is kept (default
	// DefaultAuditRetentionDays); each event carries the expiry computed
	// at its write, so a change applies to events written afterwards.
	AuditRetentionDays int
	// DocumentRetentionDays is how long a closed document, its approval
	// requests and their decisions are kept after closing (default
	// DefaultDocumentRetentionDays); open ones never expire.
	DocumentRetentionDays int
	// GrantExpiryNoticeDays: a member's grant that expires within this
	// many days is announced by email to the member and its grantor, once
	// (default DefaultGrantExpiryNoticeDays; 0 turns the notice off).
	GrantExpiryNoticeDays int
	// Billing is how the account is billed and settled (seed 004):
	// rbac.BillingPerStore (the default) or rbac.BillingSingle. The
	// decision engine reads it (rbac.Options).
	Billing rbac.Billing
	// LockAfterDays, when positive, makes documents dated that many days
	// ago or more read-only without locked.edit (seed 001 "Read only
	// access to old data"); 0 turns it off.
	LockAfterDays int
	// Portal brands the admin portal (pkg/portal) as the host app and
	// names where a portal link may send the member back to.
	Portal PortalSettings
}

// PortalSettings are the admin portal's settings: the host app's product
// name, logo and accent colour (empty: Steward's), and the origins of the
// host app a portal link's returnUrl may point at (no open redirect).
type PortalSettings struct {
	ProductName    string
	LogoURL        string
	AccentColor    string
	AllowedOrigins []string
}

// RoleOptions returns what the account's role set depends on.
func (a Account) RoleOptions() rbac.Options {
	return rbac.Options{Preset: a.Preset, Billing: a.Settings.Billing, LockAfterDays: a.Settings.LockAfterDays}
}

// Grant expiry notice bounds and default, in days.
const (
	DefaultGrantExpiryNoticeDays = 3
	MaxGrantExpiryNoticeDays     = 30
)

// Retention bounds and defaults, in days.
const (
	DefaultAuditRetentionDays    = 400
	MinAuditRetentionDays        = 30
	MaxAuditRetentionDays        = 3650
	DefaultDocumentRetentionDays = 730
	MinDocumentRetentionDays     = 30
	MaxDocumentRetentionDays     = 3650
)

// SelfRegistration is off by default.
type SelfRegistration struct {
	Enabled bool
	// Open lets every email domain join (Domains is then empty); joining
	// is confirmed by email all the same.
	Open        bool
	Domains     []string
	DefaultRole string
	// FirstRegistrantRole, when set, is the role (at account scope) of
	// the first person who completes self-registration in the account,
	// instead of DefaultRole; exactly one person ever gets it (seed 003:
	// senior managers are the client users who first register).
	FirstRegistrantRole string
}

// DefaultSettings are a new account's settings.
func DefaultSettings() Settings {
	return Settings{InvitationTTL: 7 * 24 * time.Hour, TimeZone: "UTC", AlertHour: 7,
		AuditRetentionDays: DefaultAuditRetentionDays, DocumentRetentionDays: DefaultDocumentRetentionDays,
		GrantExpiryNoticeDays: DefaultGrantExpiryNoticeDays, Billing: rbac.BillingPerStore}
}

// PresetSettings are a new account's settings under preset p: the
// defaults with the preset's billing, lock-by-age and self-registration.
func PresetSettings(p rbac.Preset) Settings {
	s := DefaultSettings()
	s.Billing = p.Settings.Billing
	s.LockAfterDays = p.Settings.LockAfterDays
	sr := p.Settings.SelfRegistration
	s.SelfRegistration = SelfRegistration{Enabled: sr.Enabled, Open: sr.Open, Domains: sr.Domains, DefaultRole: sr.DefaultRole, FirstRegistrantRole: sr.FirstRegistrantRole}
	return s
}

// Identity is a person: one email, one password, any number of accounts.
type Identity struct {
	ID    string
	Email string
	// PasswordHash is the argon2id PHC string; empty until a password is
	// set.
	PasswordHash  string
	EmailVerified bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
	Version       int64
}

// Member is a person's membership in one account.
type Member struct {
	ID        string
	AccountID string
	// IdentityID is empty for an inactive member created without invite.
	IdentityID    string
	Email         string
	Name          string
	Status        rbac.Status
	Admin         bool
	Owner         bool
	Assignments   []rbac.Assignment
	Notifications Notifications
	Version       int64
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Notifications are a member's email preferences; all on by default.
type Notifications struct {
	LowStockOff         bool
	DuePurchaseOrderOff bool
	DueSalesOrderOff    bool
	PaymentReminderOff  bool
	ApprovalReminderOff bool
}

// NotificationsFor returns a new member's email preferences under preset
// p: the alert kinds the preset lists are on, the others off.
func NotificationsFor(p rbac.Preset) Notifications {
	on := func(kind string) bool { return slices.Contains(p.Settings.AlertKinds, kind) }
	return Notifications{
		LowStockOff:         !on("lowStock"),
		DuePurchaseOrderOff: !on("duePurchaseOrder"),
		DueSalesOrderOff:    !on("dueSalesOrder"),
		PaymentReminderOff:  !on("paymentReminder"),
		ApprovalReminderOff: !on("approvalReminder"),
	}
}

// Authz returns the member as the decision engine sees it at now: its
// time-bound assignments count only when now is within their windows
// (rbac.Member.At). Pass the caller's clock, never a cached instant.
func (m Member) Authz(now time.Time) rbac.Member {
	return rbac.Member{ID: m.ID, Account: m.AccountID, Status: m.Status, Admin: m.Admin, Owner: m.Owner, Assignments: m.Assignments, At: now}
}

// Domain errors shared by the services.
var (
	ErrAccountNotFound  = errors.New("account not found")
	ErrMemberNotFound   = errors.New("member not found")
	ErrIdentityNotFound = errors.New("identity not found")
	ErrEmailTaken       = errors.New("email already registered")
	ErrAlreadyMember    = errors.New("email is already a member of this account")
	ErrStaleVersion     = errors.New("the resource changed since it was read")
	ErrInvalidEmail     = errors.New("invalid email address")
)

// maxEmailLen is RFC 5321's limit on a path.
const maxEmailLen = 254

// NormalizeEmail trims and lower-cases an email address and checks it is a
// plain address (no display name, one @, a dotted domain).
func NormalizeEmail(s string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(s))
	if e == "" || len(e) > maxEmailLen {
		return "", fmt.Errorf("%w: must be 1 to %d characters", ErrInvalidEmail, maxEmailLen)
	}
	// ASCII only, no controls: mail is sent through SES, which takes no
	// internationalized local part (a domain goes in its xn-- form).
	for i := 0; i < len(e); i++ {
		if e[i] <= ' ' || e[i] >= 0x7f {
			return "", fmt.Errorf("%w: %q must be ASCII letters, digits and punctuation (an internationalized domain in its xn-- form)", ErrInvalidEmail, s)
		}
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" {
		return "", fmt.Errorf("%w: %q is not a plain address like name@example.com", ErrInvalidEmail, s)
	}
	at := strings.LastIndexByte(e, '@')
	domain := e[at+1:]
	if at < 1 || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.ContainsAny(e, " \t\r\n<>()[]\\,;:\"") {
		return "", fmt.Errorf("%w: %q is not a plain address like name@example.com", ErrInvalidEmail, s)
	}
	return e, nil
}

// EmailDomain returns the domain of a normalized email.
func EmailDomain(email string) string { return email[strings.LastIndexByte(email, '@')+1:] }

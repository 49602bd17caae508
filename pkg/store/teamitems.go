package store

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stewardhq/steward/pkg/rbac"
	"github.com/stewardhq/steward/pkg/team"
)

// Items of the team domain, with their converters. These structs are the
// DynamoDB shape; nothing outside this package sees them.

type accountItem struct {
	PK                   string   `dynamodbav:"pk"`
	SK                   string   `dynamodbav:"sk"`
	GSI1PK               string   `dynamodbav:"gsi1pk,omitempty"`
	GSI1SK               string   `dynamodbav:"gsi1sk,omitempty"`
	Type                 string   `dynamodbav:"type"`
	ID                   string   `dynamodbav:"id"`
	Name                 string   `dynamodbav:"name"`
	OwnerID              string   `dynamodbav:"ownerId"`
	InvitationTTLSeconds int64    `dynamodbav:"invitationTtlSeconds"`
	TimeZone             string   `dynamodbav:"timeZone"`
	AlertHour            int      `dynamodbav:"alertHour"`
	ExternalDomains      []string `dynamodbav:"externalApproverDomains,omitempty"`
	SelfRegEnabled       bool     `dynamodbav:"selfRegistrationEnabled"`
	SelfRegDomains       []string `dynamodbav:"selfRegistrationDomains,omitempty"`
	SelfRegDefaultRole   string   `dynamodbav:"selfRegistrationDefaultRole,omitempty"`
	SelfRegOpen          bool     `dynamodbav:"selfRegistrationOpen,omitempty"`
	SelfRegFirstRole     string   `dynamodbav:"selfRegistrationFirstRole,omitempty"`
	AuditRetentionDays   int      `dynamodbav:"auditRetentionDays,omitempty"`
	DocRetentionDays     int      `dynamodbav:"documentRetentionDays,omitempty"`
	// GrantNoticeDays is absent on accounts written before the setting
	// (the default applies); 0 is "off".
	GrantNoticeDays *int      `dynamodbav:"grantExpiryNoticeDays,omitempty"`
	Preset          string    `dynamodbav:"preset,omitempty"`
	Billing         string    `dynamodbav:"billing,omitempty"`
	LockAfterDays   int       `dynamodbav:"lockAfterDays,omitempty"`
	PortalProduct   string    `dynamodbav:"portalProductName,omitempty"`
	PortalLogo      string    `dynamodbav:"portalLogoUrl,omitempty"`
	PortalAccent    string    `dynamodbav:"portalAccentColor,omitempty"`
	PortalOrigins   []string  `dynamodbav:"portalAllowedOrigins,omitempty"`
	Version         int64     `dynamodbav:"version"`
	CreatedAt       time.Time `dynamodbav:"createdAt"`
	UpdatedAt       time.Time `dynamodbav:"updatedAt"`
}

func toAccountItem(a team.Account) accountItem {
	return accountItem{
		PK: accountPK(a.ID), SK: skAccount, Type: typeAccount,
		GSI1PK: accountsPK, GSI1SK: a.ID, // ListAccounts (alerts.go)
		ID: a.ID, Name: a.Name, OwnerID: a.OwnerID,
		InvitationTTLSeconds: int64(a.Settings.InvitationTTL / time.Second),
		TimeZone:             a.Settings.TimeZone, AlertHour: a.Settings.AlertHour,
		ExternalDomains:    a.Settings.ExternalApproverDomains,
		SelfRegEnabled:     a.Settings.SelfRegistration.Enabled,
		SelfRegDomains:     a.Settings.SelfRegistration.Domains,
		SelfRegDefaultRole: a.Settings.SelfRegistration.DefaultRole,
		SelfRegOpen:        a.Settings.SelfRegistration.Open,
		SelfRegFirstRole:   a.Settings.SelfRegistration.FirstRegistrantRole,
		AuditRetentionDays: a.Settings.AuditRetentionDays,
		DocRetentionDays:   a.Settings.DocumentRetentionDays,
		GrantNoticeDays:    &a.Settings.GrantExpiryNoticeDays,
		Preset:             a.Preset, Billing: string(a.Settings.Billing), LockAfterDays: a.Settings.LockAfterDays,
		PortalProduct: a.Settings.Portal.ProductName,
		PortalLogo:    a.Settings.Portal.LogoURL,
		PortalAccent:  a.Settings.Portal.AccentColor,
		PortalOrigins: a.Settings.Portal.AllowedOrigins,
		Version:       a.Version, CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC(),
	}
}

func (it accountItem) account() team.Account {
	a := it.accountFields()
	if it.GrantNoticeDays != nil {
		a.Settings.GrantExpiryNoticeDays = *it.GrantNoticeDays
	}
	return a
}

func (it accountItem) accountFields() team.Account {
	billing := rbac.Billing(it.Billing)
	if billing == "" {
		billing = rbac.BillingPerStore
	}
	return team.Account{
		ID: it.ID, Name: it.Name, OwnerID: it.OwnerID, Preset: it.Preset,
		Settings: team.Settings{
			Billing: billing, LockAfterDays: it.LockAfterDays,
			InvitationTTL: time.Duration(it.InvitationTTLSeconds) * time.Second,
			TimeZone:      it.TimeZone, AlertHour: it.AlertHour,
			ExternalApproverDomains: it.ExternalDomains,
			SelfRegistration: team.SelfRegistration{
				Enabled: it.SelfRegEnabled, Domains: it.SelfRegDomains, DefaultRole: it.SelfRegDefaultRole,
				Open: it.SelfRegOpen, FirstRegistrantRole: it.SelfRegFirstRole,
			},
			// Accounts written before the retention settings read the defaults.
			AuditRetentionDays:    orDefault(it.AuditRetentionDays, team.DefaultAuditRetentionDays),
			DocumentRetentionDays: orDefault(it.DocRetentionDays, team.DefaultDocumentRetentionDays),
			GrantExpiryNoticeDays: team.DefaultGrantExpiryNoticeDays,
			Portal: team.PortalSettings{
				ProductName: it.PortalProduct, LogoURL: it.PortalLogo, AccentColor: it.PortalAccent, AllowedOrigins: it.PortalOrigins,
			},
		},
		Version: it.Version, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt,
	}
}

type assignmentItem struct {
	Role      string `dynamodbav:"role"`
	Scope     string `dynamodbav:"scope"`
	StartsAt  string `dynamodbav:"startsAt,omitempty"`
	ExpiresAt string `dynamodbav:"expiresAt,omitempty"`
	GrantedBy string `dynamodbav:"grantedBy,omitempty"`
	// Permissions are a permission assignment's keys (Role empty).
	Permissions []string `dynamodbav:"permissions,omitempty"`
}

func toAssignmentItem(a rbac.Assignment) assignmentItem {
	it := assignmentItem{Role: a.Role, Permissions: a.Permissions, Scope: a.Scope.String(), GrantedBy: a.GrantedBy}
	if !a.StartsAt.IsZero() {
		it.StartsAt = a.StartsAt.UTC().Format(time.RFC3339Nano)
	}
	if !a.ExpiresAt.IsZero() {
		it.ExpiresAt = a.ExpiresAt.UTC().Format(time.RFC3339Nano)
	}
	return it
}

// assignment reads a stored assignment; owner names its member or
// invitation in errors.
func (it assignmentItem) assignment(owner string) (rbac.Assignment, error) {
	sc, err := rbac.ParseScope(it.Scope)
	if err != nil {
		return rbac.Assignment{}, fmt.Errorf("%s: stored scope %q: %w", owner, it.Scope, err)
	}
	a := rbac.Assignment{Role: it.Role, Permissions: it.Permissions, Scope: sc, GrantedBy: it.GrantedBy}
	for _, f := range []struct {
		s string
		t *time.Time
	}{{it.StartsAt, &a.StartsAt}, {it.ExpiresAt, &a.ExpiresAt}} {
		if f.s == "" {
			continue
		}
		if *f.t, err = time.Parse(time.RFC3339Nano, f.s); err != nil {
			return rbac.Assignment{}, fmt.Errorf("%s: stored assignment time %q: %w", owner, f.s, err)
		}
	}
	return a, nil
}

type memberItem struct {
	PK                  string           `dynamodbav:"pk"`
	SK                  string           `dynamodbav:"sk"`
	Type                string           `dynamodbav:"type"`
	ID                  string           `dynamodbav:"id"`
	AccountID           string           `dynamodbav:"accountId"`
	IdentityID          string           `dynamodbav:"identityId,omitempty"`
	Email               string           `dynamodbav:"email"`
	Name                string           `dynamodbav:"name"`
	Status              string           `dynamodbav:"status"`
	Admin               bool             `dynamodbav:"admin"`
	Owner               bool             `dynamodbav:"owner"`
	Assignments         []assignmentItem `dynamodbav:"assignments"`
	LowStockOff         bool             `dynamodbav:"lowStockOff,omitempty"`
	DuePurchaseOrderOff bool             `dynamodbav:"duePurchaseOrderOff,omitempty"`
	DueSalesOrderOff    bool             `dynamodbav:"dueSalesOrderOff,omitempty"`
	PaymentReminderOff  bool             `dynamodbav:"paymentReminderOff,omitempty"`
	ApprovalReminderOff bool             `dynamodbav:"approvalReminderOff,omitempty"`
	Version             int64            `dynamodbav:"version"`
	CreatedAt           time.Time        `dynamodbav:"createdAt"`
	UpdatedAt           time.Time        `dynamodbav:"updatedAt"`
}

func toMemberItem(m team.Member) memberItem {
	it := memberItem{
		PK: accountPK(m.AccountID), SK: memberSK(m.ID), Type: typeMember,
		ID: m.ID, AccountID: m.AccountID, IdentityID: m.IdentityID, Email: m.Email, Name: m.Name,
		Status: string(m.Status), Admin: m.Admin, Owner: m.Owner,
		Assignments:         make([]assignmentItem, 0, len(m.Assignments)),
		LowStockOff:         m.Notifications.LowStockOff,
		DuePurchaseOrderOff: m.Notifications.DuePurchaseOrderOff,
		DueSalesOrderOff:    m.Notifications.DueSalesOrderOff,
		PaymentReminderOff:  m.Notifications.PaymentReminderOff,
		ApprovalReminderOff: m.Notifications.ApprovalReminderOff,
		Version:             m.Version, CreatedAt: m.CreatedAt.UTC(), UpdatedAt: m.UpdatedAt.UTC(),
	}
	for _, a := range m.Assignments {
		it.Assignments = append(it.Assignments, toAssignmentItem(a))
	}
	return it
}

func (it memberItem) member() (team.Member, error) {
	m := team.Member{
		ID: it.ID, AccountID: it.AccountID, IdentityID: it.IdentityID, Email: it.Email, Name: it.Name,
		Status: rbac.Status(it.Status), Admin: it.Admin, Owner: it.Owner,
		Notifications: team.Notifications{
			LowStockOff: it.LowStockOff, DuePurchaseOrderOff: it.DuePurchaseOrderOff, DueSalesOrderOff: it.DueSalesOrderOff,
			PaymentReminderOff: it.PaymentReminderOff, ApprovalReminderOff: it.ApprovalReminderOff,
		},
		Version: it.Version, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt,
	}
	for _, x := range it.Assignments {
		a, err := x.assignment("member " + it.ID)
		if err != nil {
			return team.Member{}, err
		}
		m.Assignments = append(m.Assignments, a)
	}
	return m, nil
}

type identityItem struct {
	PK            string    `dynamodbav:"pk"`
	SK            string    `dynamodbav:"sk"`
	Type          string    `dynamodbav:"type"`
	ID            string    `dynamodbav:"id"`
	Email         string    `dynamodbav:"email"`
	PasswordHash  string    `dynamodbav:"passwordHash,omitempty"`
	EmailVerified bool      `dynamodbav:"emailVerified"`
	Version       int64     `dynamodbav:"version"`
	CreatedAt     time.Time `dynamodbav:"createdAt"`
	UpdatedAt     time.Time `dynamodbav:"updatedAt"`
}

func toIdentityItem(i team.Identity) identityItem {
	return identityItem{
		PK: identityPK(i.ID), SK: prefixIdentity, Type: typeIdentity,
		ID: i.ID, Email: i.Email, PasswordHash: i.PasswordHash, EmailVerified: i.EmailVerified,
		Version: i.Version, CreatedAt: i.CreatedAt.UTC(), UpdatedAt: i.UpdatedAt.UTC(),
	}
}

func (it identityItem) identity() team.Identity {
	return team.Identity{
		ID: it.ID, Email: it.Email, PasswordHash: it.PasswordHash, EmailVerified: it.EmailVerified,
		Version: it.Version, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt,
	}
}

// pointerItem is a small item that points at another: an email at its
// identity, a member email at its member, a membership at its member.
type pointerItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Type      string `dynamodbav:"type"`
	Target    string `dynamodbav:"target"`
	AccountID string `dynamodbav:"accountId,omitempty"`
}

func marshal(v any) map[string]types.AttributeValue {
	m, err := attributevalue.MarshalMap(v)
	if err != nil {
		// The item structs above always marshal; a failure is a bug.
		panic(fmt.Sprintf("store: marshal %T: %v", v, err))
	}
	return m
}

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

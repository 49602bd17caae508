// Package views holds the JSON shapes the API answers with for domain
// objects shared by several routes, and their named converters. Field
// names are camelCase and part of the API contract.
package views

import (
	"fmt"
	"time"

	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/rbac"

	"github.com/stewardhq/steward/pkg/team"
)

// Assignment is {"role": "manager", "scope": "store:s1"}.
type Assignment struct {
	Role  string `json:"role"`
	Scope string `json:"scope"`
}

// Notifications are a member's email preferences (true = receives).
type Notifications struct {
	LowStock         bool `json:"lowStock"`
	DuePurchaseOrder bool `json:"duePurchaseOrders"`
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

// FromMember converts a member.
func FromMember(m team.Member) Member {
	v := Member{
		ID: m.ID, Email: m.Email, Name: m.Name, Status: string(m.Status), Admin: m.Admin, Owner: m.Owner,
		Assignments: make([]Assignment, 0, len(m.Assignments)),
		Notifications: Notifications{
			LowStock: !m.Notifications.LowStockOff, DuePurchaseOrder: !m.Notifications.DuePurchaseOrderOff,
			PaymentReminder: !m.Notifications.PaymentReminderOff, ApprovalReminder: !m.Notifications.ApprovalReminderOff,
		},
		Version: m.Version, CreatedAt: m.CreatedAt.UTC(), UpdatedAt: m.UpdatedAt.UTC(),
	}
	for _, a := range m.Assignments {
		v.Assignments = append(v.Assignments, Assignment{Role: a.Role, Scope: a.Scope.String()})
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
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	OwnerID   string    `json:"ownerId"`
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
}

// SelfRegistration is the account's self-registration setting.
type SelfRegistration struct {
	Enabled     bool     `json:"enabled"`
	Domains     []string `json:"domains"`
	DefaultRole string   `json:"defaultRole,omitempty"`
}

// FromAccount converts an account.
func FromAccount(a team.Account) Account {
	s := a.Settings
	return Account{
		ID: a.ID, Name: a.Name, OwnerID: a.OwnerID, Version: a.Version, CreatedAt: a.CreatedAt.UTC(),
		Settings: Settings{
			InvitationTTLHours: int(s.InvitationTTL / time.Hour), TimeZone: s.TimeZone, AlertHour: s.AlertHour,
			ExternalApproverDomains: nonNil(s.ExternalApproverDomains),
			SelfRegistration: SelfRegistration{
				Enabled: s.SelfRegistration.Enabled, Domains: nonNil(s.SelfRegistration.Domains), DefaultRole: s.SelfRegistration.DefaultRole,
			},
			AuditRetentionDays: s.AuditRetentionDays, DocumentRetentionDays: s.DocumentRetentionDays,
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

// ParseAssignments converts API assignments to the engine's, naming the
// first bad one in a 400 problem.
func ParseAssignments(in []Assignment) ([]rbac.Assignment, error) {
	if len(in) > MaxAssignments {
		return nil, httpapi.InvalidField("assignments", fmt.Sprintf("at most %d", MaxAssignments))
	}
	out := make([]rbac.Assignment, 0, len(in))
	for i, a := range in {
		if a.Role == "" {
			return nil, httpapi.InvalidField(httpapi.Indexed("assignments", i)+".role", "is required")
		}
		sc, err := rbac.ParseScope(a.Scope)
		if err != nil {
			return nil, httpapi.InvalidField(httpapi.Indexed("assignments", i)+".scope", err.Error())
		}
		out = append(out, rbac.Assignment{Role: a.Role, Scope: sc})
	}
	return out, nil
}

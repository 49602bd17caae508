package team

import (
	"time"

	"github.com/stewardhq/steward/pkg/rbac"
)

// InvitationStatus is where an invitation stands. Expired is not stored:
// it is a pending invitation past its expiry.
type InvitationStatus string

// Invitation statuses.
const (
	InvitationPending  InvitationStatus = "pending"
	InvitationExpired  InvitationStatus = "expired"
	InvitationAccepted InvitationStatus = "accepted"
	InvitationRevoked  InvitationStatus = "revoked"
)

// Invitation asks a person, by email, to join an account. The member it
// creates (status invited) becomes active when the person accepts.
type Invitation struct {
	ID          string
	AccountID   string
	MemberID    string
	Email       string
	Name        string
	Admin       bool
	Assignments []rbac.Assignment
	InviterID   string
	InviterName string
	Status      InvitationStatus
	ExpiresAt   time.Time
	CreatedAt   time.Time
	AcceptedAt  time.Time
	Version     int64
	// ExistingMember marks an invitation for a member that existed before
	// it (an inactive member, e.g. an imported one): that member stays as
	// it is until the invitation is accepted, which makes it active with
	// the invitation's grants; revoking leaves it as it was.
	ExistingMember bool
}

// StatusAt is the invitation's status at now, expired included.
func (i Invitation) StatusAt(now time.Time) InvitationStatus {
	if i.Status == InvitationPending && !now.Before(i.ExpiresAt) {
		return InvitationExpired
	}
	return i.Status
}

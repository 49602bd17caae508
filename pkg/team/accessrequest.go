package team

import (
	"errors"
	"time"

	"github.com/stewardhq/steward/pkg/rbac"
)

// AccessStatus is an access request's status.
type AccessStatus string

// The statuses of an access request: pending until it is approved,
// denied, cancelled by its requester, or expired.
const (
	AccessPending   AccessStatus = "pending"
	AccessApproved  AccessStatus = "approved"
	AccessDenied    AccessStatus = "denied"
	AccessCancelled AccessStatus = "cancelled"
	AccessExpired   AccessStatus = "expired"
)

// Valid reports whether s is one of the statuses.
func (s AccessStatus) Valid() bool {
	switch s {
	case AccessPending, AccessApproved, AccessDenied, AccessCancelled, AccessExpired:
		return true
	}
	return false
}

// AccessApprover is a member asked to decide an access request.
type AccessApprover struct {
	MemberID, Name, Email string
	AskedAt               time.Time
}

// AccessRequest is a member's request for a role at a scope (pkg/access).
type AccessRequest struct {
	ID        string
	AccountID string
	// Requester is the member asking (for themselves).
	RequesterID, RequesterName, RequesterEmail string
	// Role and Scope are the assignment asked for; Reason says why.
	Role   string
	Scope  rbac.Scope
	Reason string
	// ExpiresAt is when the asked grant would end (zero: no end).
	ExpiresAt time.Time
	Status    AccessStatus
	// DecideBy is when the request expires undecided.
	DecideBy time.Time
	// Asked are the members asked to decide (snapshot when the workflow
	// starts waiting).
	Asked []AccessApprover
	// TaskToken is the workflow's task token of the wait (empty until
	// then).
	TaskToken string
	// The decision: who decided (and the administrator impersonating
	// them, if any), the comment, by link or not, and the grant's end as
	// approved (it may be earlier than ExpiresAt).
	DeciderID, DeciderName, ImpersonatorID string
	// OnBehalfOfID and OnBehalfOfName are set when the decider decided as
	// a delegate: the member whose authority the decision rests on (and
	// who granted the assignment).
	OnBehalfOfID, OnBehalfOfName     string
	Comment                          string
	ByLink                           bool
	GrantExpiresAt                   time.Time
	CreatedAt, UpdatedAt, FinishedAt time.Time
}

// Assignment is the assignment the request asks for, with an expiry
// (the approved one once decided) and its grantor.
func (r AccessRequest) Assignment(expires time.Time, grantedBy string) rbac.Assignment {
	return rbac.Assignment{Role: r.Role, Scope: r.Scope, ExpiresAt: expires, GrantedBy: grantedBy}
}

// Errors of access requests' storage.
var (
	// ErrAccessRequestNotFound: no such request in the account.
	ErrAccessRequestNotFound = errors.New("access request not found")
	// ErrAccessRequestNotPending: the request was decided, cancelled or
	// expired meanwhile.
	ErrAccessRequestNotPending = errors.New("access request no longer pending")
	// ErrAccessRequestDuplicate: the member has a pending request for the
	// same role at the same scope.
	ErrAccessRequestDuplicate = errors.New("a pending access request for this role and scope exists")
)

package team

import (
	"errors"
	"time"
)

// Delegation is a member's stand-in while away: from From (inclusive)
// until Until (exclusive) the approval and access-request emails meant for
// MemberID go to DelegateID, who decides those items with the member's
// authority. A member has at most one delegation.
type Delegation struct {
	AccountID  string
	MemberID   string
	DelegateID string
	From       time.Time
	Until      time.Time
	Note       string
	Version    int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// ActiveAt reports whether the delegation applies at t: From <= t < Until.
// At Until the member's own email and authority apply again.
func (d Delegation) ActiveAt(t time.Time) bool {
	return d.DelegateID != "" && !t.Before(d.From) && t.Before(d.Until)
}

// Delegation errors.
var (
	ErrDelegationNotFound = errors.New("delegation not found")
	// ErrDelegationChanged: the delegation was set or removed since it
	// was read.
	ErrDelegationChanged = errors.New("delegation changed meanwhile")
	// ErrDelegateNotActive: the delegate is not an active member of the
	// account (when the delegation is written).
	ErrDelegateNotActive = errors.New("delegate is not an active member")
)

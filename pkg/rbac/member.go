package rbac

import (
	"slices"
	"strings"
	"time"
)

// Status is a member's status in an account. Only active members have
// permissions.
type Status string

// The member statuses.
const (
	// StatusInvited: invited, has not accepted yet; cannot log in.
	StatusInvited Status = "invited"
	// StatusActive: can log in and holds its grants.
	StatusActive Status = "active"
	// StatusInactive: cannot log in; exists so others can act on its
	// behalf (e.g. order for it).
	StatusInactive Status = "inactive"
	// StatusSuspended: cannot log in; reactivation restores everything.
	StatusSuspended Status = "suspended"
	// StatusDeleted: cannot log in; name and email stay on history.
	StatusDeleted Status = "deleted"
)

// Valid reports whether s is one of the member statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusInvited, StatusActive, StatusInactive, StatusSuspended, StatusDeleted:
		return true
	}
	return false
}

// Assignment grants one role at one scope, for ever or within a window,
// or (Permissions instead of Role) a member's own permission set at one
// scope: the per-user toggles of a host app, granted under the same
// ceiling as a role holding exactly those permissions.
type Assignment struct {
	// Role is a built-in or custom role id; empty for a permission
	// assignment.
	Role string
	// Permissions, for a permission assignment (Role empty), are the
	// normal-tier permission keys granted at Scope (at most
	// MaxAssignmentPermissions, in the account's catalogue; see
	// RoleSet.ValidateAssignment). Compare with Equal: order does not
	// matter.
	Permissions []string `json:",omitempty"`
	// Scope is where the role applies.
	Scope Scope
	// StartsAt, when set, is the instant the assignment starts to count.
	StartsAt time.Time `json:",omitzero"`
	// ExpiresAt, when set, is the instant it stops counting.
	ExpiresAt time.Time `json:",omitzero"`
	// GrantedBy is the member (or "apikey:{id}") who added the
	// assignment, when recorded. It is not part of the assignment's
	// identity (Equal) and decides nothing.
	GrantedBy string `json:",omitempty"`
}

// TimeBound reports whether the assignment has a window (StartsAt or
// ExpiresAt set).
func (a Assignment) TimeBound() bool { return !a.StartsAt.IsZero() || !a.ExpiresAt.IsZero() }

// ActiveAt reports whether the assignment counts at t:
// StartsAt <= t < ExpiresAt, each bound only when set. A time-bound
// assignment never counts at the zero time (a caller that did not say
// when decides without it: fail closed).
func (a Assignment) ActiveAt(t time.Time) bool {
	if !a.TimeBound() {
		return true
	}
	if t.IsZero() {
		return false
	}
	return (a.StartsAt.IsZero() || !t.Before(a.StartsAt)) && (a.ExpiresAt.IsZero() || t.Before(a.ExpiresAt))
}

// Expired reports whether the assignment's window ended at or before t.
func (a Assignment) Expired(t time.Time) bool { return !a.ExpiresAt.IsZero() && !t.Before(a.ExpiresAt) }

// Pending reports whether the assignment's window starts after t.
func (a Assignment) Pending(t time.Time) bool { return !a.StartsAt.IsZero() && t.Before(a.StartsAt) }

// Equal reports whether a and b are the same grant: role, scope and
// window (instants compared with time.Time.Equal). GrantedBy is ignored.
// Changing a window is a new grant, so the grant ceiling checks it as
// one.
func (a Assignment) Equal(b Assignment) bool {
	return a.Role == b.Role && a.Scope == b.Scope && a.StartsAt.Equal(b.StartsAt) && a.ExpiresAt.Equal(b.ExpiresAt) &&
		samePermissions(a.Permissions, b.Permissions)
}

// samePermissions compares two permission lists as sets.
func samePermissions(a, b []string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	for _, k := range a {
		if !slices.Contains(b, k) {
			return false
		}
	}
	for _, k := range b {
		if !slices.Contains(a, k) {
			return false
		}
	}
	return true
}

// IsPermissions reports whether a is a permission assignment (no role).
func (a Assignment) IsPermissions() bool { return a.Role == "" && len(a.Permissions) > 0 }

// String returns "role@scope", e.g. "manager@store:s1", or for a
// permission assignment the keys joined by "+", e.g.
// "stock.view+orders.view@store:s1".
func (a Assignment) String() string {
	if a.Role == "" && len(a.Permissions) > 0 {
		return strings.Join(a.Permissions, "+") + "@" + a.Scope.String()
	}
	return a.Role + "@" + a.Scope.String()
}

// Member is the part of an account member the engine decides on.
type Member struct {
	// ID is the member id.
	ID string
	// Account is the member's account (tenant) id.
	Account string
	// Status is the member's status; only active members hold permissions.
	Status Status
	// Admin members hold every permission at every scope except the
	// owner-only ones.
	Admin bool
	// Owner marks the account owner: an admin who also holds the
	// owner-only permissions. Exactly one member per account.
	Owner bool
	// Assignments are the member's role grants.
	Assignments []Assignment
	// At is the instant decisions on the member are made at: a
	// time-bound assignment counts only when At is within its window
	// (Assignment.ActiveAt), and never when At is zero. Callers set it
	// from their clock (team.Member.Authz). Permanent assignments do not
	// depend on it.
	At time.Time
}

// active returns the assignments that count at m.At.
func (m Member) active(yield func(Assignment) bool) {
	for _, a := range m.Assignments {
		if a.ActiveAt(m.At) && !yield(a) {
			return
		}
	}
}

// sameAssignments reports whether a and b hold the same set of
// assignments, ignoring order and duplicates.
func sameAssignments(a, b []Assignment) bool {
	for _, x := range a {
		if !hasAssignment(b, x) {
			return false
		}
	}
	for _, x := range b {
		if !hasAssignment(a, x) {
			return false
		}
	}
	return true
}

func hasAssignment(list []Assignment, a Assignment) bool {
	for _, x := range list {
		if x.Equal(a) {
			return true
		}
	}
	return false
}

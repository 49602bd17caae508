package rbac

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

// Assignment grants one role at one scope.
type Assignment struct {
	// Role is a built-in or custom role id.
	Role string
	// Scope is where the role applies.
	Scope Scope
}

// String returns "role@scope", e.g. "manager@store:s1".
func (a Assignment) String() string { return a.Role + "@" + a.Scope.String() }

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
		if x == a {
			return true
		}
	}
	return false
}

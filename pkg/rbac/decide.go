package rbac

import (
	"strconv"
	"time"
)

// grant is one compiled assignment.
type grant struct {
	scope Scope
	role  string
	bits  permSet
}

// covers reports whether a store, department or supplier grant applies to
// the resource.
func (g *grant) covers(r *Resource) bool {
	switch g.scope.Kind {
	case ScopeStore:
		return r.Store == g.scope.ID
	case ScopeDepartment:
		return r.Department == g.scope.ID
	case ScopeSupplier:
		return r.Supplier == g.scope.ID
	}
	return false
}

// Principal is a member compiled against a role set: its grants as
// bitsets, ready for fast decisions. It is immutable and safe for
// concurrent use. Compile once per request: it holds the grants that
// count at the member's At.
type Principal struct {
	id      string
	account string
	status  Status
	admin   bool // admin or owner flag
	owner   bool
	isAdmin bool // admin flag, owner flag or administrator role at account

	// acct holds the account-scope grants plus the account-wide
	// permissions of scoped grants.
	acct       permSet
	acctGrants []grant
	scoped     []grant

	// at is the member's decision instant and lockAfter the role set's
	// lock-by-age (0: off).
	at        time.Time
	lockAfter time.Duration
}

// Compile compiles a member against the role set at m.At: assignments
// whose window does not hold m.At are left out (Assignment.ActiveAt), so
// a Principal is good for one instant: compile per request (or per job
// run), never cache one past the earliest window bound of its member.
// Assignments that cannot apply (unknown role, e.g. a deleted custom role; malformed scope; role
// not assignable at that kind of scope) grant nothing: decisions fail
// closed. Validate assignments on write with ValidateAssignment.
func (rs *RoleSet) Compile(m Member) *Principal {
	p := &Principal{
		id:      m.ID,
		account: m.Account,
		status:  m.Status,
		admin:   m.Admin || m.Owner,
		owner:   m.Owner,
	}
	p.isAdmin = p.admin
	p.at, p.lockAfter = m.At, rs.lockAfter
	for a := range m.active {
		if a.Scope.Validate() != nil {
			continue
		}
		var g grant
		accountWide := a.Scope.Kind == ScopeAccount
		if a.Role == "" {
			bits, err := rs.permissionBits(a.Permissions)
			if err != nil {
				continue
			}
			g = grant{scope: a.Scope, bits: bits}
		} else {
			r, ok := rs.roles[a.Role]
			if !ok || !r.allowedAt(a.Scope.Kind) {
				continue
			}
			g = grant{scope: a.Scope, role: a.Role, bits: r.bits}
			if r.role.Admin && accountWide {
				p.isAdmin = true
			}
			accountWide = accountWide || r.accountWide()
		}
		if accountWide {
			p.acct = p.acct.or(g.bits)
			p.acctGrants = append(p.acctGrants, g)
			continue
		}
		p.acct = p.acct.or(g.bits.and(cat().accountWide))
		p.scoped = append(p.scoped, g)
	}
	return p
}

// ID returns the member id.
func (p *Principal) ID() string { return p.id }

// Account returns the member's account id.
func (p *Principal) Account() string { return p.account }

// Status returns the member's status.
func (p *Principal) Status() Status { return p.status }

// IsAdmin reports whether the member is an administrator (admin flag,
// owner, or administrator role at account scope), whatever its status.
func (p *Principal) IsAdmin() bool { return p.isAdmin }

// IsOwner reports whether the member is the account owner.
func (p *Principal) IsOwner() bool { return p.owner }

// union returns the permissions the member's grants give on r, before
// dependency checks.
func (p *Principal) union(r *Resource) permSet {
	u := p.acct
	for i := range p.scoped {
		if p.scoped[i].covers(r) {
			u = u.or(p.scoped[i].bits)
		}
	}
	return u
}

// grantFor finds the assignment that grants perm on r, for the decision's
// explanation.
func (p *Principal) grantFor(perm int, r *Resource) *grant {
	for i := range p.acctGrants {
		if p.acctGrants[i].bits.has(perm) {
			return &p.acctGrants[i]
		}
	}
	for i := range p.scoped {
		if p.scoped[i].covers(r) && p.scoped[i].bits.has(perm) {
			return &p.scoped[i]
		}
	}
	for i := range p.scoped { // account-wide permission granted elsewhere
		if p.scoped[i].bits.has(perm) {
			return &p.scoped[i]
		}
	}
	return nil
}

// Code is the machine-readable outcome of a decision. Allowed codes:
// CodeOwner, CodeAdmin, CodeRole; every other code is a denial.
type Code string

// Decision codes.
const (
	// CodeOwner: allowed because the member is the account owner.
	CodeOwner Code = "owner"
	// CodeAdmin: allowed because the member has the admin flag.
	CodeAdmin Code = "admin"
	// CodeRole: allowed by Decision.Role at Decision.Scope.
	CodeRole Code = "role"

	// CodeNotActive: the member is not active (Decision.MemberStatus).
	CodeNotActive Code = "member_not_active"
	// CodeNoAccount: the resource names no account.
	CodeNoAccount Code = "resource_without_account"
	// CodeCrossTenant: the resource belongs to another account.
	CodeCrossTenant Code = "cross_tenant"
	// CodeUnknownAction: the action is neither a permission key nor a
	// document action.
	CodeUnknownAction Code = "unknown_action"
	// CodeUnknownDocType: the resource's document type is not known.
	CodeUnknownDocType Code = "unknown_document_type"
	// CodeUnknownDocStatus: the resource's document status is not known.
	CodeUnknownDocStatus Code = "unknown_document_status"
	// CodeDocumentTypeRequired: a document action on a resource without a
	// document type.
	CodeDocumentTypeRequired Code = "document_type_required"
	// CodeNoApproval: documents.approve on a type without approvals
	// (invoice, bill).
	CodeNoApproval Code = "no_approval_step"
	// CodeOwnerOnly: an owner-only permission asked by someone else.
	CodeOwnerOnly Code = "owner_only"
	// CodeAdminOnly: a critical permission asked by a non-administrator.
	CodeAdminOnly Code = "admin_only"
	// CodeNoGrant: no assignment grants Decision.Missing at
	// Decision.Scope.
	CodeNoGrant Code = "no_grant"
	// CodeMissingDependency: the permission is granted but its dependency
	// Decision.Missing is not, at Decision.Scope.
	CodeMissingDependency Code = "missing_dependency"
	// CodeDocumentPending: the document is pending_approval.
	CodeDocumentPending Code = "document_pending_approval"
	// CodeNotApproved: documents.use on a document that needs approval and
	// is not approved.
	CodeNotApproved Code = "document_not_approved"
	// CodeDocumentStatus: the action is not possible in the document's
	// status.
	CodeDocumentStatus Code = "document_status"
	// CodeDocumentLocked: changing a completed document needs locked.edit
	// (Decision.Missing) at Decision.Scope.
	CodeDocumentLocked Code = "document_locked"
	// CodeDocumentAgeLocked: the document is dated before the account's
	// lock-by-age (Options.LockAfterDays): changing, using or sending it
	// for approval needs locked.edit (Decision.Missing) at Decision.Scope.
	CodeDocumentAgeLocked Code = "document_age_locked"
)

// Decision is the outcome of Decide, with the structured facts behind it.
// Reason renders them as text on demand, so deciding allocates nothing.
type Decision struct {
	// Allowed is the answer.
	Allowed bool
	// Code says why.
	Code Code
	// Action is the action asked.
	Action string
	// Permission is the permission the action needed, once resolved.
	Permission string
	// Role is the granting role (CodeRole).
	Role string
	// Scope is the granting assignment's scope (CodeRole), or the
	// resource scope where Missing is missing (CodeNoGrant,
	// CodeMissingDependency, CodeDocumentLocked).
	Scope Scope
	// Missing is the permission that is missing.
	Missing string
	// MemberStatus is the member's status.
	MemberStatus Status
	// DocType and DocStatus echo the resource's document fields.
	DocType DocType
	// DocStatus is the resource's document status.
	DocStatus DocStatus
}

// Decide decides whether the member may perform action on r. It is pure
// and allocation-free. The checks, in order: the member is active; the
// resource is of the member's account; the action is known (and, for a
// document action, resolves through r.DocType); owner-only permissions
// need the owner; otherwise the admin flag, or a grant covering r with
// the permission and its dependencies; then the document state rules.
func (p *Principal) Decide(action string, r Resource) Decision {
	d := Decision{Action: action, MemberStatus: p.status, DocType: r.DocType, DocStatus: r.DocStatus}
	if p.status != StatusActive {
		d.Code = CodeNotActive
		return d
	}
	if r.Account == "" {
		d.Code = CodeNoAccount
		return d
	}
	if r.Account != p.account {
		d.Code = CodeCrossTenant
		return d
	}
	ref, ok := cat().actions[action]
	if !ok {
		d.Code = CodeUnknownAction
		return d
	}
	if r.DocType != "" && !r.DocType.Valid() {
		d.Code = CodeUnknownDocType
		return d
	}
	if r.DocStatus != "" && !r.DocStatus.Valid() {
		d.Code = CodeUnknownDocStatus
		return d
	}
	perm, verb := int(ref.perm), ref.verb
	if verb != verbNone {
		if r.DocType == "" {
			d.Code = CodeDocumentTypeRequired
			return d
		}
		info := cat().docTypes[r.DocType]
		switch verb {
		case verbView:
			perm = int(info.view)
		case verbApprove:
			perm = int(info.approve)
			if perm < 0 {
				d.Code = CodeNoApproval
				return d
			}
		default:
			perm = int(info.edit)
		}
	} else if cat().kinds[perm] == KindEdit && (r.DocStatus != "" || r.DocType != "") {
		verb = verbEdit // a plain edit permission on a document obeys the edit rules
	}
	d.Permission = cat().perms[perm].Key

	if cat().tiers[perm] == TierOwner {
		if p.owner {
			d.Allowed, d.Code = true, CodeOwner
		} else {
			d.Code = CodeOwnerOnly
		}
		return d
	}

	var u permSet
	if !p.admin {
		u = p.union(&r)
		if !u.has(perm) {
			d.Code = CodeNoGrant
			if cat().tiers[perm] == TierCritical {
				d.Code = CodeAdminOnly
			}
			d.Missing, d.Scope = d.Permission, r.scope()
			return d
		}
		if missing := cat().deps[perm].andNot(u); !missing.empty() {
			d.Code = CodeMissingDependency
			d.Missing, d.Scope = cat().perms[missing.first()].Key, r.scope()
			return d
		}
	}

	if verb == verbEdit || verb == verbUse || verb == verbRequestApproval {
		if p.ageLocked(&r) && !p.admin && !u.has(cat().lockedEdit) {
			d.Code = CodeDocumentAgeLocked
			d.Missing, d.Scope = PermLockedEdit, r.scope()
			return d
		}
	}
	switch verb {
	case verbEdit:
		if r.DocStatus == DocPendingApproval {
			d.Code = CodeDocumentPending
			return d
		}
		if r.DocStatus == DocCompleted && !p.admin && !u.has(cat().lockedEdit) {
			d.Code = CodeDocumentLocked
			d.Missing, d.Scope = PermLockedEdit, r.scope()
			return d
		}
	case verbUse:
		switch {
		case r.ApprovalRequired && r.DocStatus != DocApproved:
			d.Code = CodeNotApproved
			return d
		case r.DocStatus == DocPendingApproval:
			d.Code = CodeDocumentPending
			return d
		case r.DocStatus == DocDenied, r.DocStatus == DocExpired, r.DocStatus == DocCompleted:
			d.Code = CodeDocumentStatus
			return d
		}
	case verbRequestApproval:
		switch r.DocStatus {
		case DocPendingApproval:
			d.Code = CodeDocumentPending
			return d
		case DocApproved, DocCompleted:
			d.Code = CodeDocumentStatus
			return d
		}
	case verbApprove:
		if r.DocStatus != "" && r.DocStatus != DocPendingApproval {
			d.Code = CodeDocumentStatus
			return d
		}
	}

	d.Allowed = true
	switch {
	case p.owner:
		d.Code = CodeOwner
	case p.admin:
		d.Code = CodeAdmin
	default:
		d.Code = CodeRole
		if g := p.grantFor(perm, &r); g != nil {
			d.Role, d.Scope = g.role, g.scope
		}
	}
	return d
}

// ageLocked reports whether r is a dated document older than the role
// set's lock-by-age at the member's instant. Without an instant (At zero)
// every dated document counts as old: decisions fail closed.
func (p *Principal) ageLocked(r *Resource) bool {
	if p.lockAfter <= 0 || r.Date.IsZero() {
		return false
	}
	return p.at.IsZero() || !r.Date.After(p.at.Add(-p.lockAfter))
}

// Decide compiles m and decides; use Compile and Principal.Decide to
// decide many times for one member.
func (rs *RoleSet) Decide(m Member, action string, r Resource) Decision {
	return rs.Compile(m).Decide(action, r)
}

// String returns Reason.
func (d Decision) String() string { return d.Reason() }

// Reason explains the decision in one line, e.g.
// `allowed by role "manager" at store:s1`,
// `denied: no role grants purchases.edit at store:s2` or
// `denied: member is suspended`. It starts with "allowed" or "denied".
func (d Decision) Reason() string {
	doc := string(d.DocType)
	if doc == "" {
		doc = "document"
	}
	switch d.Code {
	case CodeRole:
		if d.Role == "" {
			return "allowed by a permission assignment at " + d.Scope.String()
		}
		return "allowed by role " + strconv.Quote(d.Role) + " at " + d.Scope.String()
	case CodeAdmin:
		return "allowed: member is an administrator"
	case CodeOwner:
		return "allowed: member is the account owner"
	case CodeNotActive:
		if d.MemberStatus.Valid() {
			return "denied: member is " + string(d.MemberStatus)
		}
		return "denied: member status " + strconv.Quote(string(d.MemberStatus)) + " is not active"
	case CodeNoAccount:
		return "denied: resource has no account"
	case CodeCrossTenant:
		return "denied: resource belongs to another account"
	case CodeUnknownAction:
		return "denied: unknown action " + strconv.Quote(d.Action)
	case CodeUnknownDocType:
		return "denied: unknown document type " + strconv.Quote(string(d.DocType))
	case CodeUnknownDocStatus:
		return "denied: unknown document status " + strconv.Quote(string(d.DocStatus))
	case CodeDocumentTypeRequired:
		return "denied: " + d.Action + " needs a document type"
	case CodeNoApproval:
		return "denied: " + doc + " documents have no approval step"
	case CodeOwnerOnly:
		return "denied: only the account owner may " + d.Permission
	case CodeAdminOnly:
		return "denied: " + d.Permission + " is reserved to administrators"
	case CodeNoGrant:
		return "denied: no role grants " + d.Missing + " at " + d.Scope.String()
	case CodeMissingDependency:
		return "denied: " + d.Permission + " needs " + d.Missing + " at " + d.Scope.String()
	case CodeDocumentPending:
		switch d.Action {
		case ActionDocumentUse:
			return "denied: " + doc + " is pending_approval and cannot be used until approved"
		case ActionDocumentRequestApproval:
			return "denied: " + doc + " is already pending_approval"
		}
		return "denied: " + doc + " is pending_approval and cannot be changed"
	case CodeNotApproved:
		st := string(d.DocStatus)
		if st == "" {
			st = "unknown"
		}
		return "denied: " + doc + " must be approved before use (status " + st + ")"
	case CodeDocumentStatus:
		return "denied: " + d.Action + " is not possible on a " + doc + " in status " + string(d.DocStatus)
	case CodeDocumentLocked:
		return "denied: completed " + doc + " is locked: changing it needs " + d.Missing + " at " + d.Scope.String()
	case CodeDocumentAgeLocked:
		return "denied: " + doc + " is older than the account's lock-by-age and read-only: changing it needs " + d.Missing + " at " + d.Scope.String()
	}
	if d.Allowed {
		return "allowed"
	}
	return "denied"
}

package rbac

import (
	"bytes"
	_ "embed" // for the embedded data file
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

//go:embed roles.json
var rolesJSON []byte

// Built-in role ids.
const (
	RoleFullAccess        = "full_access"
	RoleAdministrator     = "administrator"
	RoleJuniorAdmin       = "junior_admin"
	RoleAccountant        = "accountant"
	RoleManager           = "manager"
	RoleTeamMember        = "team_member"
	RoleSeniorManager     = "senior_manager"
	RoleDepartmentManager = "department_manager"
	RoleApprover          = "approver"
	RoleSupplier          = "supplier"
)

// Role is a named permission set.
type Role struct {
	// ID is the role id used in assignments.
	ID string
	// Name is the display name.
	Name string
	// Description explains the role for people.
	Description string
	// Permissions are the permission keys the role grants at the scope it
	// is assigned at, in catalogue order for built-in roles.
	Permissions []string
	// ScopeKinds are the kinds of scope the role may be assigned at. For a
	// custom role, empty means account, store and department.
	ScopeKinds []ScopeKind
	// Admin marks the administrator role: assigning it at account scope
	// makes an administrator, like the admin flag. Built-in only.
	Admin bool
	// BuiltIn marks the built-in templates.
	BuiltIn bool
	// AdminOnly marks a role that only administrators (the owner or an
	// administrator) may grant, whatever permissions the granter holds:
	// the built-in junior admin, senior manager and department manager
	// (seed 003: administrators create those), and custom roles flagged so.
	AdminOnly bool
	// AccountWide marks a preset role whose grants, at any scope, hold for
	// every resource of the account (the payments preset's accountant
	// under single billing: seed 004 "they will view all information
	// regardless of store access permissions"). Built-in only.
	AccountWide bool
}

// defaultScopeKinds apply to a custom role that names none.
var defaultScopeKinds = []ScopeKind{ScopeAccount, ScopeStore, ScopeDepartment}

// compiledRole is a role with its permissions as a bitset.
type compiledRole struct {
	role  Role
	bits  permSet
	kinds uint8 // bit per ScopeKind, see kindBit
}

// accountWide reports whether the role's grants hold account-wide.
func (r *compiledRole) accountWide() bool { return r.role.AccountWide }

func kindBit(k ScopeKind) uint8 {
	switch k {
	case ScopeAccount:
		return 1
	case ScopeStore:
		return 2
	case ScopeDepartment:
		return 4
	case ScopeSupplier:
		return 8
	}
	return 0
}

func (r *compiledRole) allowedAt(k ScopeKind) bool { return r.kinds&kindBit(k) != 0 }

// RoleSet is the compiled set of roles one account uses: its preset's
// roles (the built-in roles for the general preset) plus the account's
// custom roles, under the account's settings (Options). It is immutable
// and safe for concurrent use. Build it once per account (or cache it)
// and compile members against it.
type RoleSet struct {
	roles map[string]*compiledRole
	order []string
	// preset is the preset's data; nil for the general preset.
	preset *loadedPreset
	// lockAfter, when positive, is the age past which a dated document
	// is read-only without locked.edit.
	lockAfter time.Duration
}

// builtins returns the built-in role set, compiled on first use (like
// cat, not at package init).
var builtins = sync.OnceValue(mustLoadBuiltins)

// BuiltIns returns the role set of the built-in roles only.
func BuiltIns() *RoleSet { return builtins() }

// BuiltInRoles returns the built-in role templates, in display order.
func BuiltInRoles() []Role { return builtins().Roles() }

// IsBuiltInRole reports whether id is the id of a built-in role of any
// preset: an id no custom role may take, and whose grants no custom-role
// bookkeeping follows.
func IsBuiltInRole(id string) bool {
	return allPresetRoleIDs()[id]
}

// roleEntry is one role of a role file (roles.json, or a preset's roles).
type roleEntry struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Admin       bool     `json:"admin"`
	AdminOnly   bool     `json:"adminOnly"`
	Permissions []string `json:"permissions"`
	Exclude     []string `json:"exclude"`
	ScopeKinds  []string `json:"scopeKinds"`
	// NeedsCombining marks a role that is useless on its own by design
	// (seed 002: "Modify shared presets ... Must be combined with other
	// permissions which grant access to reports"): its permissions'
	// dependencies are not required of it.
	NeedsCombining bool `json:"needsCombining"`
	// Billing holds the role's variant under a billing setting (see
	// Billing): permissions removed, or its grants counting account-wide.
	Billing map[Billing]billingVariant `json:"billing"`
}

// billingVariant is how a role differs under one billing setting.
type billingVariant struct {
	// Exclude removes permissions from the role.
	Exclude []string `json:"exclude"`
	// AccountWide makes the role's grants, at any scope, hold for every
	// resource of the account.
	AccountWide bool `json:"accountWide"`
}

type rolesFile struct {
	Roles []roleEntry `json:"roles"`
}

func mustLoadBuiltins() *RoleSet {
	rs, err := loadBuiltins(rolesJSON)
	if err != nil {
		panic("rbac: embedded roles.json: " + err.Error())
	}
	return rs
}

// loadBuiltins parses the built-in roles (the general preset's).
func loadBuiltins(data []byte) (*RoleSet, error) {
	var f rolesFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	return buildRoles(f.Roles, "", permSet{}, false)
}

// buildRoles compiles a role file's entries under a billing setting. In
// the file, "*" stands for every normal-tier permission (of the preset's
// catalogue when subset applies; in the admin role: every non-owner one)
// and "exclude" removes keys from the list. It checks ids, known keys
// (within the catalogue subset), scope kinds, that critical permissions
// appear only in the admin role, that no role lists owner-only
// permissions, and that every role holds the dependencies of its
// permissions (unless it needs combining).
func buildRoles(entries []roleEntry, billing Billing, subset permSet, useSubset bool) (*RoleSet, error) {
	rs := &RoleSet{roles: map[string]*compiledRole{}}
	admins := 0
	for _, fr := range entries {
		if err := checkRoleID(fr.ID); err != nil {
			return nil, err
		}
		if _, dup := rs.roles[fr.ID]; dup {
			return nil, fmt.Errorf("role %q listed twice", fr.ID)
		}
		if fr.Name == "" || fr.Description == "" {
			return nil, fmt.Errorf("role %q: name and description are required", fr.ID)
		}
		var bits permSet
		for _, k := range fr.Permissions {
			if k == "*" {
				switch {
				case fr.Admin:
					bits = bits.or(cat().all) // the admin role: critical ones too
				case useSubset:
					bits = bits.or(cat().normal.and(subset))
				default:
					bits = bits.or(cat().normal)
				}
				continue
			}
			i, ok := cat().index[k]
			if !ok {
				return nil, fmt.Errorf("role %q: unknown permission %q", fr.ID, k)
			}
			if useSubset && !fr.Admin && !subset.has(i) {
				return nil, fmt.Errorf("role %q: permission %q is not in the preset's catalogue", fr.ID, k)
			}
			if bits.has(i) {
				return nil, fmt.Errorf("role %q: permission %q listed twice", fr.ID, k)
			}
			bits.add(i)
		}
		exclude := fr.Exclude
		variant, hasVariant := fr.Billing[billing]
		if hasVariant {
			exclude = append(slices.Clone(exclude), variant.Exclude...)
		}
		for b := range fr.Billing {
			if !b.Valid() || b == "" {
				return nil, fmt.Errorf("role %q: unknown billing setting %q", fr.ID, b)
			}
		}
		for _, k := range exclude {
			i, ok := cat().index[k]
			if !ok {
				return nil, fmt.Errorf("role %q: unknown excluded permission %q", fr.ID, k)
			}
			var s permSet
			s.add(i)
			bits = bits.andNot(s)
		}
		if bits.empty() {
			return nil, fmt.Errorf("role %q grants nothing", fr.ID)
		}
		if !bits.and(cat().owner).empty() {
			return nil, fmt.Errorf("role %q lists owner-only permissions %v", fr.ID, cat().keys(bits.and(cat().owner)))
		}
		if fr.Admin {
			admins++
			if bits != cat().all {
				return nil, fmt.Errorf("admin role %q must grant every non-owner permission; missing %v", fr.ID, cat().keys(cat().all.andNot(bits)))
			}
			if len(fr.Billing) > 0 {
				return nil, fmt.Errorf("admin role %q cannot vary by billing", fr.ID)
			}
		} else if !bits.and(cat().critical).empty() {
			return nil, fmt.Errorf("role %q lists critical permissions %v reserved to administrators", fr.ID, cat().keys(bits.and(cat().critical)))
		}
		if !fr.NeedsCombining {
			for _, i := range bits.indexes() {
				if !bits.containsAll(cat().deps[i]) {
					return nil, fmt.Errorf("role %q: %s needs %v", fr.ID, cat().perms[i].Key, cat().keys(cat().deps[i].andNot(bits)))
				}
			}
		}
		kinds, sk, err := parseScopeKinds(fr.ScopeKinds)
		if err != nil {
			return nil, fmt.Errorf("role %q: %w", fr.ID, err)
		}
		if len(sk) == 0 {
			return nil, fmt.Errorf("role %q: no scope kinds", fr.ID)
		}
		if fr.Admin && (len(sk) != 1 || sk[0] != ScopeAccount) {
			return nil, fmt.Errorf("admin role %q must be assignable at account scope only", fr.ID)
		}
		accountWide := hasVariant && variant.AccountWide
		if accountWide && !fr.AdminOnly {
			// Its grant at a store reaches the whole account: only an
			// administrator may make one (see CheckChange).
			return nil, fmt.Errorf("role %q: an account-wide billing variant needs adminOnly", fr.ID)
		}
		rs.roles[fr.ID] = &compiledRole{
			role: Role{
				ID: fr.ID, Name: fr.Name, Description: fr.Description,
				Permissions: cat().keys(bits), ScopeKinds: sk, Admin: fr.Admin, BuiltIn: true,
				AdminOnly: fr.AdminOnly || fr.Admin, AccountWide: accountWide,
			},
			bits:  bits,
			kinds: kinds,
		}
		rs.order = append(rs.order, fr.ID)
	}
	if admins != 1 {
		return nil, fmt.Errorf("want exactly one admin role, have %d", admins)
	}
	if r, ok := rs.roles[RoleAdministrator]; !ok || !r.role.Admin {
		return nil, fmt.Errorf("the admin role must be %q", RoleAdministrator)
	}
	return rs, nil
}

func parseScopeKinds(in []string) (uint8, []ScopeKind, error) {
	var mask uint8
	var out []ScopeKind
	for _, s := range in {
		k := ScopeKind(s)
		if !k.Valid() {
			return 0, nil, fmt.Errorf("%w: unknown scope kind %q (want account, store, department or supplier)", ErrInvalidRole, s)
		}
		if mask&kindBit(k) != 0 {
			return 0, nil, fmt.Errorf("%w: scope kind %q listed twice", ErrInvalidRole, s)
		}
		mask |= kindBit(k)
		out = append(out, k)
	}
	return mask, out, nil
}

// maxRoleIDLen bounds a role id.
const maxRoleIDLen = 48

// checkRoleID checks the id format: a lower-case letter, then 1 to 47
// lower-case letters, digits or '_'.
func checkRoleID(id string) error {
	if len(id) < 2 || len(id) > maxRoleIDLen {
		return fmt.Errorf("%w: id %q must be 2 to %d characters", ErrInvalidRole, id, maxRoleIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '_')) {
			return fmt.Errorf("%w: id %q: use lower-case letters, digits and '_', starting with a letter", ErrInvalidRole, id)
		}
	}
	return nil
}

// Warning is a non-fatal finding about a custom role: a permission whose
// dependencies the role does not hold. The role still validates (it may be
// combined with another role), but the permission counts only where the
// member holds its dependencies too.
type Warning struct {
	// Permission is the permission key that is useless on its own.
	Permission string
	// Needs lists the missing dependencies.
	Needs []string
}

// String says e.g. "presets.edit_shared is useless without reports.view".
func (w Warning) String() string {
	return w.Permission + " is useless without " + strings.Join(w.Needs, ", ")
}

// maxRoleNameLen and maxRoleDescriptionLen bound a custom role's texts.
const (
	maxRoleNameLen        = 100
	maxRoleDescriptionLen = 1000
)

// ValidateRole checks a custom role definition: id format (lower-case
// letters, digits and '_', 2 to 48 characters, starting with a letter), no
// collision with a built-in role id, a name of at most 100 characters, at
// least one permission, every key well formed and in the catalogue, no
// duplicates, no critical or owner-only permission, valid scope kinds, not
// an admin role. Errors wrap ErrInvalidRole, ErrRoleCollision,
// ErrInvalidPermissionKey, ErrUnknownPermission or ErrReservedPermission.
// Missing dependencies are returned as warnings, not errors.
func ValidateRole(r Role) ([]Warning, error) {
	if IsBuiltInRole(r.ID) {
		return nil, fmt.Errorf("%w: %q is a built-in role", ErrRoleCollision, r.ID)
	}
	_, warnings, err := compileCustom(r)
	return warnings, err
}

func compileCustom(r Role) (*compiledRole, []Warning, error) {
	if err := checkRoleID(r.ID); err != nil {
		return nil, nil, err
	}
	if len(r.Name) > maxRoleNameLen {
		return nil, nil, fmt.Errorf("%w: role %q: name longer than %d characters", ErrInvalidRole, r.ID, maxRoleNameLen)
	}
	if len(r.Description) > maxRoleDescriptionLen {
		return nil, nil, fmt.Errorf("%w: role %q: description longer than %d characters", ErrInvalidRole, r.ID, maxRoleDescriptionLen)
	}
	if r.Admin {
		return nil, nil, fmt.Errorf("%w: role %q: custom roles cannot be administrator roles; use the admin flag", ErrInvalidRole, r.ID)
	}
	if len(r.Permissions) == 0 {
		return nil, nil, fmt.Errorf("%w: role %q grants no permission", ErrInvalidRole, r.ID)
	}
	var bits permSet
	for _, k := range r.Permissions {
		if err := ValidatePermissionKey(k); err != nil {
			return nil, nil, fmt.Errorf("role %q: %w", r.ID, err)
		}
		i := cat().index[k]
		if cat().tiers[i] != TierNormal {
			who := "administrators"
			if cat().tiers[i] == TierOwner {
				who = "the account owner"
			}
			return nil, nil, fmt.Errorf("%w: role %q: %s is held only by %s", ErrReservedPermission, r.ID, k, who)
		}
		if bits.has(i) {
			return nil, nil, fmt.Errorf("%w: role %q: permission %q listed twice", ErrInvalidRole, r.ID, k)
		}
		bits.add(i)
	}
	kinds, sk, err := parseScopeKinds(scopeKindStrings(r.ScopeKinds))
	if err != nil {
		return nil, nil, fmt.Errorf("role %q: %w", r.ID, err)
	}
	if len(sk) == 0 {
		sk = slices.Clone(defaultScopeKinds)
		for _, k := range sk {
			kinds |= kindBit(k)
		}
	}
	var warnings []Warning
	for _, i := range bits.indexes() {
		if missing := cat().deps[i].andNot(bits); !missing.empty() {
			warnings = append(warnings, Warning{Permission: cat().perms[i].Key, Needs: cat().keys(missing)})
		}
	}
	role := Role{
		ID: r.ID, Name: r.Name, Description: r.Description,
		Permissions: cat().keys(bits), ScopeKinds: sk, AdminOnly: r.AdminOnly,
	}
	return &compiledRole{role: role, bits: bits, kinds: kinds}, warnings, nil
}

func scopeKindStrings(in []ScopeKind) []string {
	out := make([]string, len(in))
	for i, k := range in {
		out[i] = string(k)
	}
	return out
}

// NewRoleSet returns the built-in roles (the general preset's) merged
// with an account's custom roles: NewRoleSetFor with zero Options. Each
// custom role must pass ValidateRole (warnings are allowed) and ids must
// be unique. Custom roles' permission lists are normalised to catalogue
// order.
func NewRoleSet(custom ...Role) (*RoleSet, error) {
	return NewRoleSetFor(Options{}, custom...)
}

// Role returns the role with the given id.
func (rs *RoleSet) Role(id string) (Role, bool) {
	r, ok := rs.roles[id]
	if !ok {
		return Role{}, false
	}
	return cloneRole(r.role), true
}

// Roles returns every role: built-ins first, then custom roles, in
// definition order.
func (rs *RoleSet) Roles() []Role {
	out := make([]Role, 0, len(rs.order))
	for _, id := range rs.order {
		out = append(out, cloneRole(rs.roles[id].role))
	}
	return out
}

func cloneRole(r Role) Role {
	r.Permissions = slices.Clone(r.Permissions)
	r.ScopeKinds = slices.Clone(r.ScopeKinds)
	return r
}

// MaxAssignmentPermissions bounds a permission assignment's keys.
const MaxAssignmentPermissions = 64

// ValidateAssignment checks that the scope is well formed and that the
// role exists and may be assigned at that kind of scope; or, for a
// permission assignment (Role empty), that it lists 1 to
// MaxAssignmentPermissions well-formed, distinct, normal-tier keys of the
// preset's catalogue (any scope kind). Errors wrap ErrInvalidScope,
// ErrUnknownRole, ErrScopeNotAllowed, ErrInvalidAssignment,
// ErrInvalidPermissionKey, ErrUnknownPermission or ErrReservedPermission.
func (rs *RoleSet) ValidateAssignment(a Assignment) error {
	if err := a.Scope.Validate(); err != nil {
		return err
	}
	if a.Role == "" {
		_, err := rs.permissionBits(a.Permissions)
		return err
	}
	if len(a.Permissions) > 0 {
		return fmt.Errorf("%w: give a role or permissions, not both", ErrInvalidAssignment)
	}
	r, ok := rs.roles[a.Role]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownRole, a.Role)
	}
	if !r.allowedAt(a.Scope.Kind) {
		return fmt.Errorf("%w: role %q cannot be assigned at %s (allowed: %s)", ErrScopeNotAllowed, a.Role, a.Scope, joinKinds(r.role.ScopeKinds))
	}
	return nil
}

// permissionBits checks a permission assignment's keys and returns them
// as a set.
func (rs *RoleSet) permissionBits(keys []string) (permSet, error) {
	var bits permSet
	if len(keys) == 0 {
		return bits, fmt.Errorf("%w: give a role or at least one permission", ErrInvalidAssignment)
	}
	if len(keys) > MaxAssignmentPermissions {
		return bits, fmt.Errorf("%w: at most %d permissions in one assignment", ErrInvalidAssignment, MaxAssignmentPermissions)
	}
	for _, k := range keys {
		if err := ValidatePermissionKey(k); err != nil {
			return bits, err
		}
		i := cat().index[k]
		if cat().tiers[i] != TierNormal {
			return bits, fmt.Errorf("%w: %s cannot be granted to a member; it comes with being an administrator or the owner", ErrReservedPermission, k)
		}
		if !rs.inCatalogue(i) {
			return bits, fmt.Errorf("%w: %q is not in the %s preset's catalogue", ErrUnknownPermission, k, rs.presetID())
		}
		if bits.has(i) {
			return bits, fmt.Errorf("%w: permission %q listed twice", ErrInvalidAssignment, k)
		}
		bits.add(i)
	}
	return bits, nil
}

func joinKinds(ks []ScopeKind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// IsAdmin reports whether m is an administrator: the admin flag, the owner
// flag, or the administrator role at account scope counting at m.At.
// Status is not considered.
func (rs *RoleSet) IsAdmin(m Member) bool {
	return rs.isAdmin(m, false)
}

// isAdmin is IsAdmin; anyWindow counts administrator assignments whatever
// their window (the grant ceiling's view of a target: an expired or future
// administrator grant still takes an administrator to change).
func (rs *RoleSet) isAdmin(m Member, anyWindow bool) bool {
	if m.Admin || m.Owner {
		return true
	}
	for _, a := range m.Assignments {
		if !anyWindow && !a.ActiveAt(m.At) {
			continue
		}
		if a.Scope.Kind == ScopeAccount && a.Scope.ID == "" {
			if r, ok := rs.roles[a.Role]; ok && r.role.Admin {
				return true
			}
		}
	}
	return false
}

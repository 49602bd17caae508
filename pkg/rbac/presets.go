package rbac

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// Presets: a product preset is one data file (presets/{id}.json) saying
// what an account created with it offers: the roles (with the product's
// own names, and which of them only administrators grant), the default
// grant of an invitation, the settings a new account starts with and the
// part of the permission catalogue the product uses. The general preset
// (id "general", and an account created without a preset) is the
// built-in roles of roles.json with the whole catalogue.
//
// A preset never weakens the engine's rules: its roles pass the same
// checks as the built-ins (critical permissions only in the admin role,
// no owner-only permission in any role, dependencies held unless a role
// needs combining by design), the grant ceiling and trust rules are the
// same code for every preset, and a role whose grants count account-wide
// must be admin-only.

//go:embed presets/*.json
var presetFiles embed.FS

// Billing is an account's billing setting (seed 004): "per_store" (the
// default: billed and settled per store) or "single" (single billing and
// settlement for the whole account). A preset's roles may vary with it.
type Billing string

// The billing settings.
const (
	BillingPerStore Billing = "per_store"
	BillingSingle   Billing = "single"
)

// Valid reports whether b is a billing setting ("" counts as per_store).
func (b Billing) Valid() bool { return b == "" || b == BillingPerStore || b == BillingSingle }

func (b Billing) norm() Billing {
	if b == "" {
		return BillingPerStore
	}
	return b
}

// PresetGeneral is the general preset's id.
const PresetGeneral = "general"

// Options are the account facts a role set depends on, besides its custom
// roles: the preset it was created with and the settings decisions read.
type Options struct {
	// Preset is the preset id ("" is the general preset).
	Preset string
	// Billing selects the preset roles' billing variants.
	Billing Billing
	// LockAfterDays, when positive, makes documents dated more than that
	// many days before the decision's instant read-only without
	// locked.edit (Resource.Date; seed 001 "Read only access to old
	// data").
	LockAfterDays int
}

// MaxLockAfterDays bounds Options.LockAfterDays.
const MaxLockAfterDays = 3650

// Preset is a product preset.
type Preset struct {
	// ID is the preset id: general, inventory, planning, storefront or
	// payments.
	ID string
	// Name and Description are for people.
	Name        string
	Description string
	// Seeds names the source documents the preset reproduces.
	Seeds []string
	// Catalogue lists the permission keys the product uses, in catalogue
	// order (every key for the general preset). Roles, custom roles and
	// permission assignments of the account draw from it;
	// administrators still hold every permission.
	Catalogue []string
	// DefaultGrant is what an invitation without assignments grants.
	DefaultGrant Assignment
	// Settings are a new account's settings.
	Settings PresetSettings
}

// PresetSettings are the settings an account created with a preset starts
// with.
type PresetSettings struct {
	// Billing is the billing setting.
	Billing Billing
	// LockAfterDays is the lock-by-age setting (0: off).
	LockAfterDays int
	// SelfRegistration is the self-registration setting.
	SelfRegistration PresetSelfRegistration
	// AlertKinds are the email alerts new members receive by default
	// (the others start turned off), in the alert job's names.
	AlertKinds []string
}

// PresetSelfRegistration is a preset's self-registration default.
type PresetSelfRegistration struct {
	Enabled bool
	// Open lets any email domain join (still confirmed by email).
	Open    bool
	Domains []string
	// DefaultRole is granted at account scope to people who join.
	DefaultRole string
	// FirstRegistrantRole, when set, is granted instead of DefaultRole to
	// the first person who joins by self-registration (seed 003).
	FirstRegistrantRole string
}

type presetFile struct {
	ID           string      `json:"id"`
	Name         string      `json:"name"`
	Description  string      `json:"description"`
	Seeds        []string    `json:"seeds"`
	Catalogue    []string    `json:"catalogue"`
	Roles        []roleEntry `json:"roles"`
	DefaultGrant struct {
		Role        string   `json:"role"`
		Permissions []string `json:"permissions"`
		Scope       string   `json:"scope"`
	} `json:"defaultGrant"`
	Settings struct {
		Billing          Billing `json:"billing"`
		LockAfterDays    int     `json:"lockAfterDays"`
		SelfRegistration struct {
			Enabled             bool     `json:"enabled"`
			Open                bool     `json:"open"`
			Domains             []string `json:"domains"`
			DefaultRole         string   `json:"defaultRole"`
			FirstRegistrantRole string   `json:"firstRegistrantRole"`
		} `json:"selfRegistration"`
		AlertKinds []string `json:"alertKinds"`
	} `json:"settings"`
}

// loadedPreset is a preset with its role sets, one per billing setting.
type loadedPreset struct {
	preset Preset
	subset permSet
	sets   map[Billing]*RoleSet
}

// presetOrder is the display order of the presets.
var presetOrder = []string{PresetGeneral, "inventory", "planning", "storefront", "payments"}

var presets = sync.OnceValue(mustLoadPresets)

func mustLoadPresets() map[string]*loadedPreset {
	out := map[string]*loadedPreset{}
	for _, id := range presetOrder {
		data, err := presetFiles.ReadFile("presets/" + id + ".json")
		if err != nil {
			panic("rbac: preset " + id + ": " + err.Error())
		}
		lp, err := loadPreset(id, data)
		if err != nil {
			panic("rbac: presets/" + id + ".json: " + err.Error())
		}
		out[id] = lp
	}
	return out
}

// loadPreset parses and checks one preset file.
func loadPreset(id string, data []byte) (*loadedPreset, error) {
	var f presetFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if f.ID != id {
		return nil, fmt.Errorf("id %q does not match the file name %q", f.ID, id)
	}
	if f.Name == "" || f.Description == "" || len(f.Seeds) == 0 {
		return nil, fmt.Errorf("name, description and seeds are required")
	}
	lp := &loadedPreset{sets: map[Billing]*RoleSet{}}
	useSubset := len(f.Catalogue) > 0
	if useSubset {
		for _, k := range f.Catalogue {
			i, ok := cat().index[k]
			if !ok {
				return nil, fmt.Errorf("catalogue: unknown permission %q", k)
			}
			if lp.subset.has(i) {
				return nil, fmt.Errorf("catalogue: %q listed twice", k)
			}
			lp.subset.add(i)
		}
		for _, i := range lp.subset.indexes() {
			if !lp.subset.containsAll(cat().deps[i]) {
				return nil, fmt.Errorf("catalogue: %s needs %v", cat().perms[i].Key, cat().keys(cat().deps[i].andNot(lp.subset)))
			}
		}
	} else {
		lp.subset = cat().all.or(cat().owner)
	}
	for _, b := range []Billing{BillingPerStore, BillingSingle} {
		var rs *RoleSet
		var err error
		if id == PresetGeneral {
			if len(f.Roles) > 0 || useSubset {
				return nil, fmt.Errorf("the general preset takes its roles from roles.json and uses the whole catalogue")
			}
			rs = builtins()
		} else if rs, err = buildRoles(f.Roles, b, lp.subset, useSubset); err != nil {
			return nil, err
		}
		lp.sets[b] = rs
	}
	p := Preset{ID: id, Name: f.Name, Description: f.Description, Seeds: f.Seeds, Catalogue: cat().keys(lp.subset)}
	scope, err := ParseScope(f.DefaultGrant.Scope)
	if err != nil {
		return nil, fmt.Errorf("defaultGrant: %w", err)
	}
	p.DefaultGrant = Assignment{Role: f.DefaultGrant.Role, Permissions: f.DefaultGrant.Permissions, Scope: scope}
	base := lp.sets[BillingPerStore]
	if err := base.ValidateAssignment(p.DefaultGrant); err != nil {
		return nil, fmt.Errorf("defaultGrant: %w", err)
	}
	if r, ok := base.roles[p.DefaultGrant.Role]; ok && r.role.Admin && id != "planning" {
		return nil, fmt.Errorf("defaultGrant: only a preset whose seed says so may invite administrators by default")
	}
	st := f.Settings
	if !st.Billing.Valid() || st.LockAfterDays < 0 || st.LockAfterDays > MaxLockAfterDays {
		return nil, fmt.Errorf("settings: billing %q or lockAfterDays %d out of range", st.Billing, st.LockAfterDays)
	}
	sr := st.SelfRegistration
	for _, role := range []string{sr.DefaultRole, sr.FirstRegistrantRole} {
		if role == "" {
			continue
		}
		r, ok := base.roles[role]
		if !ok || r.role.Admin || !r.allowedAt(ScopeAccount) {
			return nil, fmt.Errorf("settings: self-registration role %q must be a non-admin role assignable at account", role)
		}
	}
	if sr.Open && len(sr.Domains) > 0 {
		return nil, fmt.Errorf("settings: open self-registration takes no domains")
	}
	p.Settings = PresetSettings{
		Billing: st.Billing.norm(), LockAfterDays: st.LockAfterDays, AlertKinds: st.AlertKinds,
		SelfRegistration: PresetSelfRegistration{
			Enabled: sr.Enabled, Open: sr.Open, Domains: sr.Domains,
			DefaultRole: sr.DefaultRole, FirstRegistrantRole: sr.FirstRegistrantRole,
		},
	}
	lp.preset = p
	for _, rs := range lp.sets {
		if id != PresetGeneral {
			rs.preset = lp
		}
	}
	return lp, nil
}

// Presets returns every preset, the general one first.
func Presets() []Preset {
	out := make([]Preset, 0, len(presetOrder))
	for _, id := range presetOrder {
		out = append(out, clonePreset(presets()[id].preset))
	}
	return out
}

// LookupPreset returns the preset with the given id ("" is the general
// preset).
func LookupPreset(id string) (Preset, bool) {
	if id == "" {
		id = PresetGeneral
	}
	lp, ok := presets()[id]
	if !ok {
		return Preset{}, false
	}
	return clonePreset(lp.preset), true
}

// PresetIDs lists the preset ids in display order.
func PresetIDs() []string { return slices.Clone(presetOrder) }

func clonePreset(p Preset) Preset {
	p.Seeds = slices.Clone(p.Seeds)
	p.Catalogue = slices.Clone(p.Catalogue)
	p.DefaultGrant.Permissions = slices.Clone(p.DefaultGrant.Permissions)
	p.Settings.AlertKinds = slices.Clone(p.Settings.AlertKinds)
	p.Settings.SelfRegistration.Domains = slices.Clone(p.Settings.SelfRegistration.Domains)
	return p
}

// ValidateOptions checks role set options: a known preset, a billing
// setting, a lock-by-age within bounds.
func ValidateOptions(o Options) error {
	if o.Preset != "" {
		if _, ok := presets()[o.Preset]; !ok {
			return fmt.Errorf("%w: unknown preset %q (want one of %v)", ErrInvalidOptions, o.Preset, presetOrder)
		}
	}
	if !o.Billing.Valid() {
		return fmt.Errorf("%w: unknown billing %q (want per_store or single)", ErrInvalidOptions, o.Billing)
	}
	if o.LockAfterDays < 0 || o.LockAfterDays > MaxLockAfterDays {
		return fmt.Errorf("%w: lockAfterDays must be 0 to %d", ErrInvalidOptions, MaxLockAfterDays)
	}
	return nil
}

// baseSet returns the compiled preset roles for o, without custom roles.
func baseSet(o Options) (*RoleSet, error) {
	if err := ValidateOptions(o); err != nil {
		return nil, err
	}
	id := o.Preset
	if id == "" {
		id = PresetGeneral
	}
	return presets()[id].sets[o.Billing.norm()], nil
}

// NewRoleSetFor returns the role set of an account created with preset
// o.Preset under its settings o: the preset's roles (the built-ins for
// the general preset) merged with the account's custom roles, which must
// pass ValidateRole and draw their permissions from the preset's
// catalogue.
func NewRoleSetFor(o Options, custom ...Role) (*RoleSet, error) {
	base, err := baseSet(o)
	if err != nil {
		return nil, err
	}
	if len(custom) == 0 && o.LockAfterDays == 0 {
		return base, nil
	}
	rs := base.clone(len(custom))
	rs.lockAfter = time.Duration(o.LockAfterDays) * 24 * time.Hour
	for _, r := range custom {
		cr, _, err := compileCustom(r)
		if err != nil {
			return nil, err
		}
		if _, dup := rs.roles[r.ID]; dup {
			return nil, fmt.Errorf("%w: custom role %q defined twice", ErrRoleCollision, r.ID)
		}
		rs.roles[r.ID] = cr
		rs.order = append(rs.order, r.ID)
	}
	return rs, nil
}

// clone copies rs (its maps and slices) with room for extra roles.
func (rs *RoleSet) clone(extra int) *RoleSet {
	out := *rs
	out.roles = make(map[string]*compiledRole, len(rs.roles)+extra)
	maps.Copy(out.roles, rs.roles)
	out.order = slices.Clone(rs.order)
	return &out
}

// Preset returns the preset the role set was built for.
func (rs *RoleSet) Preset() Preset {
	if rs.preset == nil {
		return clonePreset(presets()[PresetGeneral].preset)
	}
	return clonePreset(rs.preset.preset)
}

// presetID is the preset's id, without loading the presets.
func (rs *RoleSet) presetID() string {
	if rs.preset == nil {
		return PresetGeneral
	}
	return rs.preset.preset.ID
}

// inCatalogue reports whether permission index i is in the preset's
// catalogue (always, for the general preset).
func (rs *RoleSet) inCatalogue(i int) bool {
	return rs.preset == nil || rs.preset.subset.has(i)
}

// Catalogue returns the permissions of the preset's catalogue, in
// catalogue order (the whole catalogue for the general preset).
func (rs *RoleSet) Catalogue() []Permission {
	var out []Permission
	for i, p := range cat().perms {
		if rs.inCatalogue(i) {
			p.DependsOn = slices.Clone(p.DependsOn)
			out = append(out, p)
		}
	}
	return out
}

// CheckCatalogue returns an error (ErrUnknownPermission) naming the first
// of keys outside the preset's catalogue; keys must be valid.
func (rs *RoleSet) CheckCatalogue(keys []string) error {
	for _, k := range keys {
		if i, ok := cat().index[k]; ok && !rs.inCatalogue(i) {
			return fmt.Errorf("%w: %q is not in the %s preset's catalogue", ErrUnknownPermission, k, rs.presetID())
		}
	}
	return nil
}

// allPresetRoleIDs is every role id of every preset: ids a custom role
// may not take.
var allPresetRoleIDs = sync.OnceValue(func() map[string]bool {
	out := map[string]bool{}
	for _, lp := range presets() {
		for id := range lp.sets[BillingPerStore].roles {
			out[id] = true
		}
	}
	return out
})

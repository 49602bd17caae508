package rbac

import (
	"bytes"
	_ "embed" // for the embedded data file
	"encoding/json"
	"fmt"
	"slices"
	"sync"
)

//go:embed catalogue.json
var catalogueJSON []byte

// Tier says who can hold a permission at all.
type Tier string

// The permission tiers.
const (
	// TierNormal permissions can be in any role.
	TierNormal Tier = "normal"
	// TierCritical permissions (disconnect a store, sync on/off, billing,
	// log in as) are held only by administrators: the admin flag or the
	// administrator role. Custom roles cannot list them.
	TierCritical Tier = "critical"
	// TierOwner permissions (transfer ownership, sign documents, close the
	// account) are held only by the account owner. No role lists them.
	TierOwner Tier = "owner"
)

// Kind classifies what a permission does. Document state rules apply to
// KindEdit permissions: an edit on a pending_approval document is denied,
// an edit on a completed document also needs locked.edit.
type Kind string

// The permission kinds.
const (
	// KindView permissions read data.
	KindView Kind = "view"
	// KindEdit permissions change data; document state rules apply.
	KindEdit Kind = "edit"
	// KindApprove permissions approve or deny documents.
	KindApprove Kind = "approve"
	// KindManage permissions administer users, settings and the account.
	KindManage Kind = "manage"
)

// Permission is one entry of the permission catalogue.
type Permission struct {
	// Key is the stable key, e.g. "purchases.edit".
	Key string
	// Area groups permissions for display, e.g. "purchases".
	Area string
	// Kind says whether the permission views, edits, approves or manages.
	Kind Kind
	// Tier says who can hold it: anyone, administrators only, or the owner.
	Tier Tier
	// Description is a one-sentence explanation for people.
	Description string
	// DependsOn lists the permissions it is useless without, directly
	// (e.g. presets.edit_shared depends on reports.view). Decisions enforce
	// them: a permission counts only where its dependencies are held too.
	DependsOn []string
	// AccountWide permissions, granted at any scope, hold for every
	// resource of the account (e.g. directory.view: a store manager sees
	// the whole team directory).
	AccountWide bool
}

// Area is a display group of permissions.
type Area struct {
	// ID is the area id used in Permission.Area.
	ID string
	// Name is the display name.
	Name string
}

// permission bitsets: index in the catalogue -> bit.
const setWords = 2

// maxPermissions is the catalogue size the bitsets hold.
const maxPermissions = setWords * 64

type permSet [setWords]uint64

func (s *permSet) add(i int)     { s[i>>6] |= 1 << uint(i&63) }
func (s permSet) has(i int) bool { return s[i>>6]&(1<<uint(i&63)) != 0 }

func (s permSet) or(o permSet) permSet {
	for i := range s {
		s[i] |= o[i]
	}
	return s
}

func (s permSet) and(o permSet) permSet {
	for i := range s {
		s[i] &= o[i]
	}
	return s
}

func (s permSet) andNot(o permSet) permSet {
	for i := range s {
		s[i] &^= o[i]
	}
	return s
}

func (s permSet) containsAll(o permSet) bool {
	for i := range s {
		if o[i]&^s[i] != 0 {
			return false
		}
	}
	return true
}

func (s permSet) empty() bool {
	for _, w := range s {
		if w != 0 {
			return false
		}
	}
	return true
}

// first returns the lowest index in s, or -1.
func (s permSet) first() int {
	for w, word := range s {
		if word != 0 {
			for b := 0; b < 64; b++ {
				if word&(1<<uint(b)) != 0 {
					return w*64 + b
				}
			}
		}
	}
	return -1
}

// indexes lists the indexes in s in catalogue order.
func (s permSet) indexes() []int {
	var out []int
	for i := 0; i < maxPermissions; i++ {
		if s.has(i) {
			out = append(out, i)
		}
	}
	return out
}

// docVerb is what a document action does to a document.
type docVerb uint8

const (
	verbNone docVerb = iota
	verbView
	verbEdit
	verbUse
	verbRequestApproval
	verbApprove
)

// actionRef is the resolved form of an action name.
type actionRef struct {
	perm int16 // permission index, or -1 for document actions
	verb docVerb
}

// docTypeInfo maps a document type to its area permissions.
type docTypeInfo struct {
	view, edit, approve int16 // -1: none
}

// catalogue is the compiled permission catalogue.
type catalogue struct {
	areas       []Area
	perms       []Permission
	index       map[string]int
	deps        []permSet // transitive dependencies, without the permission itself
	kinds       []Kind
	tiers       []Tier
	accountWide permSet
	normal      permSet
	critical    permSet
	owner       permSet
	all         permSet // every permission but owner-only: what an admin holds
	actions     map[string]actionRef
	docTypes    map[DocType]docTypeInfo
	lockedEdit  int
}

// cat returns the embedded catalogue, compiled on first use rather than
// at package init: parsing and checking catalogue.json would cost every
// cold start of every function that links rbac, including those whose
// request never reaches a decision (health, the JWKS, an unauthenticated
// request answered 401).
var cat = sync.OnceValue(mustLoadCatalogue)

type catalogueFile struct {
	Areas []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"areas"`
	Permissions []struct {
		Key         string   `json:"key"`
		Area        string   `json:"area"`
		Kind        string   `json:"kind"`
		Tier        string   `json:"tier"`
		Description string   `json:"description"`
		DependsOn   []string `json:"dependsOn"`
		AccountWide bool     `json:"accountWide"`
	} `json:"permissions"`
	DocumentTypes []struct {
		Type    string `json:"type"`
		View    string `json:"view"`
		Edit    string `json:"edit"`
		Approve string `json:"approve"`
	} `json:"documentTypes"`
}

func mustLoadCatalogue() *catalogue {
	c, err := loadCatalogue(catalogueJSON)
	if err != nil {
		panic("rbac: embedded catalogue.json: " + err.Error())
	}
	return c
}

// loadCatalogue parses and checks a catalogue file: key formats, unique
// keys, known areas, kinds and tiers, known and acyclic dependencies, no
// normal permission depending on a reserved one, document types mapping
// to known permissions of the right kind.
func loadCatalogue(data []byte) (*catalogue, error) {
	var f catalogueFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if len(f.Permissions) > maxPermissions {
		return nil, fmt.Errorf("%d permissions; the bitsets hold %d (raise setWords)", len(f.Permissions), maxPermissions)
	}
	c := &catalogue{
		index:    map[string]int{},
		actions:  map[string]actionRef{},
		docTypes: map[DocType]docTypeInfo{},
	}
	areas := map[string]bool{}
	for _, a := range f.Areas {
		if a.ID == "" || a.Name == "" || areas[a.ID] {
			return nil, fmt.Errorf("area %q: empty or duplicate", a.ID)
		}
		areas[a.ID] = true
		c.areas = append(c.areas, Area{ID: a.ID, Name: a.Name})
	}
	for i, p := range f.Permissions {
		if err := checkKeyFormat(p.Key); err != nil {
			return nil, err
		}
		if _, dup := c.index[p.Key]; dup {
			return nil, fmt.Errorf("permission %q listed twice", p.Key)
		}
		if !areas[p.Area] {
			return nil, fmt.Errorf("permission %q: unknown area %q", p.Key, p.Area)
		}
		if p.Description == "" {
			return nil, fmt.Errorf("permission %q: no description", p.Key)
		}
		kind := Kind(p.Kind)
		switch kind {
		case KindView, KindEdit, KindApprove, KindManage:
		default:
			return nil, fmt.Errorf("permission %q: unknown kind %q", p.Key, p.Kind)
		}
		tier := Tier(p.Tier)
		switch tier {
		case "":
			tier = TierNormal
		case TierNormal, TierCritical, TierOwner:
		default:
			return nil, fmt.Errorf("permission %q: unknown tier %q", p.Key, p.Tier)
		}
		c.index[p.Key] = i
		c.perms = append(c.perms, Permission{
			Key: p.Key, Area: p.Area, Kind: kind, Tier: tier, Description: p.Description,
			DependsOn: slices.Clone(p.DependsOn), AccountWide: p.AccountWide,
		})
		c.kinds = append(c.kinds, kind)
		c.tiers = append(c.tiers, tier)
		switch tier {
		case TierNormal:
			c.normal.add(i)
			c.all.add(i)
		case TierCritical:
			c.critical.add(i)
			c.all.add(i)
		case TierOwner:
			c.owner.add(i)
		}
		if p.AccountWide {
			c.accountWide.add(i)
		}
		c.actions[p.Key] = actionRef{perm: int16(i)}
	}
	// Direct dependencies, then the transitive closure.
	direct := make([]permSet, len(c.perms))
	for i, p := range c.perms {
		for _, d := range p.DependsOn {
			j, ok := c.index[d]
			if !ok {
				return nil, fmt.Errorf("permission %q depends on unknown %q", p.Key, d)
			}
			if j == i {
				return nil, fmt.Errorf("permission %q depends on itself", p.Key)
			}
			if c.tiers[i] == TierNormal && c.tiers[j] != TierNormal {
				return nil, fmt.Errorf("normal permission %q depends on %s permission %q", p.Key, c.tiers[j], d)
			}
			direct[i].add(j)
		}
	}
	c.deps = make([]permSet, len(c.perms))
	for i := range c.perms {
		closure := direct[i]
		for {
			next := closure
			for _, j := range closure.indexes() {
				next = next.or(direct[j])
			}
			if next == closure {
				break
			}
			closure = next
		}
		if closure.has(i) {
			return nil, fmt.Errorf("permission %q has a dependency cycle", c.perms[i].Key)
		}
		c.deps[i] = closure
	}
	c.lockedEdit = -1
	if j, ok := c.index[PermLockedEdit]; ok {
		c.lockedEdit = j
	} else {
		return nil, fmt.Errorf("catalogue lacks %q", PermLockedEdit)
	}
	lookup := func(dt, verb, key string, want Kind, required bool) (int16, error) {
		if key == "" {
			if required {
				return -1, fmt.Errorf("document type %q: no %s permission", dt, verb)
			}
			return -1, nil
		}
		j, ok := c.index[key]
		if !ok {
			return -1, fmt.Errorf("document type %q: %s permission %q unknown", dt, verb, key)
		}
		if c.kinds[j] != want {
			return -1, fmt.Errorf("document type %q: %s permission %q is of kind %s, want %s", dt, verb, key, c.kinds[j], want)
		}
		return int16(j), nil
	}
	for _, d := range f.DocumentTypes {
		dt := DocType(d.Type)
		if !dt.Valid() {
			return nil, fmt.Errorf("document type %q is not one of the vocabulary", d.Type)
		}
		if _, dup := c.docTypes[dt]; dup {
			return nil, fmt.Errorf("document type %q listed twice", d.Type)
		}
		var info docTypeInfo
		var err error
		if info.view, err = lookup(d.Type, "view", d.View, KindView, true); err != nil {
			return nil, err
		}
		if info.edit, err = lookup(d.Type, "edit", d.Edit, KindEdit, true); err != nil {
			return nil, err
		}
		if info.approve, err = lookup(d.Type, "approve", d.Approve, KindApprove, false); err != nil {
			return nil, err
		}
		c.docTypes[dt] = info
	}
	for _, dt := range docTypes {
		if _, ok := c.docTypes[dt]; !ok {
			return nil, fmt.Errorf("document type %q has no permissions", dt)
		}
	}
	for name, verb := range documentActions {
		if _, clash := c.actions[name]; clash {
			return nil, fmt.Errorf("document action %q is also a permission key", name)
		}
		c.actions[name] = actionRef{perm: -1, verb: verb}
	}
	return c, nil
}

// PermLockedEdit is the permission that, in addition to a document's edit
// permission, allows changing a completed (locked) document.
const PermLockedEdit = "locked.edit"

// Permissions returns the catalogue in its canonical order.
func Permissions() []Permission {
	out := make([]Permission, len(cat().perms))
	for i, p := range cat().perms {
		p.DependsOn = slices.Clone(p.DependsOn)
		out[i] = p
	}
	return out
}

// Areas returns the display areas of the catalogue, in order.
func Areas() []Area { return slices.Clone(cat().areas) }

// LookupPermission returns the catalogue entry for key.
func LookupPermission(key string) (Permission, bool) {
	i, ok := cat().index[key]
	if !ok {
		return Permission{}, false
	}
	p := cat().perms[i]
	p.DependsOn = slices.Clone(p.DependsOn)
	return p, true
}

// Dependencies returns every permission key that key needs to be useful,
// transitively, in catalogue order. It is nil for an unknown key.
func Dependencies(key string) []string {
	i, ok := cat().index[key]
	if !ok {
		return nil
	}
	return cat().keys(cat().deps[i])
}

// keys lists the keys of a set in catalogue order.
func (c *catalogue) keys(s permSet) []string {
	var out []string
	for _, i := range s.indexes() {
		if i < len(c.perms) {
			out = append(out, c.perms[i].Key)
		}
	}
	return out
}

// ValidatePermissionKey checks that key is well formed (lower-case words
// of letters, digits and '_', separated by dots, e.g. "orders.view") and
// in the catalogue. Errors wrap ErrInvalidPermissionKey or
// ErrUnknownPermission.
func ValidatePermissionKey(key string) error {
	if err := checkKeyFormat(key); err != nil {
		return err
	}
	if _, ok := cat().index[key]; !ok {
		return fmt.Errorf("%w: %q is not in the catalogue", ErrUnknownPermission, key)
	}
	return nil
}

// maxKeyLen bounds a permission key.
const maxKeyLen = 64

func checkKeyFormat(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty key", ErrInvalidPermissionKey)
	}
	if len(key) > maxKeyLen {
		return fmt.Errorf("%w: longer than %d characters", ErrInvalidPermissionKey, maxKeyLen)
	}
	dots := 0
	start := true
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == '.':
			if start {
				return fmt.Errorf("%w: %q has an empty word (want e.g. %q)", ErrInvalidPermissionKey, key, "orders.view")
			}
			dots++
			start = true
		case c >= 'a' && c <= 'z':
			start = false
		case (c >= '0' && c <= '9' || c == '_') && !start:
		default:
			return fmt.Errorf("%w: %q: words are lower-case letters, digits and '_', starting with a letter (e.g. %q)", ErrInvalidPermissionKey, key, "orders.view")
		}
	}
	if start || dots == 0 {
		return fmt.Errorf("%w: %q is not dotted words (want e.g. %q)", ErrInvalidPermissionKey, key, "orders.view")
	}
	return nil
}

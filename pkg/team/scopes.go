package team

import (
	"errors"
	"time"
)

// Store is a storefront or location of an account: the "store:{id}" scope
// that role assignments name.
type Store struct {
	// ID is chosen by the account (the host app's own store id), letters,
	// digits, '-' and '_', 1 to 64 characters.
	ID   string
	Name string
	// Address is the postal address, when given.
	Address string
	// TimeZone is the store's IANA time zone, when it differs from the
	// account's.
	TimeZone  string
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// DepartmentKind is what a department does.
type DepartmentKind string

// The department kinds. A department that fits none is DepartmentCustom,
// and its name says what it is.
const (
	DepartmentSales         DepartmentKind = "sales"
	DepartmentPurchase      DepartmentKind = "purchase"
	DepartmentManufacturing DepartmentKind = "manufacturing"
	DepartmentLogistics     DepartmentKind = "logistics"
	DepartmentAccounts      DepartmentKind = "accounts"
	DepartmentCustom        DepartmentKind = "custom"
)

// DepartmentKinds lists the department kinds.
func DepartmentKinds() []DepartmentKind {
	return []DepartmentKind{DepartmentSales, DepartmentPurchase, DepartmentManufacturing, DepartmentLogistics, DepartmentAccounts, DepartmentCustom}
}

// Valid reports whether k is one of the department kinds.
func (k DepartmentKind) Valid() bool {
	switch k {
	case DepartmentSales, DepartmentPurchase, DepartmentManufacturing, DepartmentLogistics, DepartmentAccounts, DepartmentCustom:
		return true
	}
	return false
}

// Department is a department of an account: the "department:{id}" scope
// that role assignments name.
type Department struct {
	// ID is chosen by the account, like a store id.
	ID        string
	Name      string
	Kind      DepartmentKind
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Supplier is a supplier of an account: the "supplier:{id}" scope that
// role assignments name (a supplier's users are assigned there).
type Supplier struct {
	// ID is chosen by the account (the host app's own supplier id), like a
	// store id.
	ID        string
	Name      string
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Stamps are what the store stamps on every write of a scope item: its
// version (1 on creation, one more on each replacement) and its creation
// and update times.
type Stamps struct {
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ScopeItem is a managed kind of scope item (Store, Department, Supplier): a value
// with an id and stamps, compared whole to tell whether a replacement
// changes anything. pkg/store and pkg/accounts serve every kind with one
// implementation through it.
type ScopeItem[T any] interface {
	comparable
	// ScopeID is the item's id, the {id} of its "kind:{id}" scope.
	ScopeID() string
	// Stamps returns the item's stamps; WithStamps the item with others.
	Stamps() Stamps
	WithStamps(Stamps) T
}

// ScopeID is the store's id.
func (s Store) ScopeID() string { return s.ID }

// Stamps returns the store's version and times.
func (s Store) Stamps() Stamps { return Stamps{s.Version, s.CreatedAt, s.UpdatedAt} }

// WithStamps returns the store with the version and times st.
func (s Store) WithStamps(st Stamps) Store {
	s.Version, s.CreatedAt, s.UpdatedAt = st.Version, st.CreatedAt, st.UpdatedAt
	return s
}

// ScopeID is the department's id.
func (d Department) ScopeID() string { return d.ID }

// Stamps returns the department's version and times.
func (d Department) Stamps() Stamps { return Stamps{d.Version, d.CreatedAt, d.UpdatedAt} }

// WithStamps returns the department with the version and times st.
func (d Department) WithStamps(st Stamps) Department {
	d.Version, d.CreatedAt, d.UpdatedAt = st.Version, st.CreatedAt, st.UpdatedAt
	return d
}

// ScopeID is the supplier's id.
func (p Supplier) ScopeID() string { return p.ID }

// Stamps returns the supplier's version and times.
func (p Supplier) Stamps() Stamps { return Stamps{p.Version, p.CreatedAt, p.UpdatedAt} }

// WithStamps returns the supplier with the version and times st.
func (p Supplier) WithStamps(st Stamps) Supplier {
	p.Version, p.CreatedAt, p.UpdatedAt = st.Version, st.CreatedAt, st.UpdatedAt
	return p
}

// Scope errors.
var (
	ErrStoreNotFound      = errors.New("store not found")
	ErrDepartmentNotFound = errors.New("department not found")
	ErrSupplierNotFound   = errors.New("supplier not found")
	// ErrScopeExists: a store, department or supplier with that id
	// already exists (a create lost to another, or a create that should
	// have been a replacement).
	ErrScopeExists = errors.New("a store, department or supplier with this id already exists")
)

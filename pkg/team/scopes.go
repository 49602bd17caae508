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

// Scope errors.
var (
	ErrStoreNotFound      = errors.New("store not found")
	ErrDepartmentNotFound = errors.New("department not found")
	// ErrScopeExists: a store or department with that id already exists
	// (a create lost to another, or a create that should have been a
	// replacement).
	ErrScopeExists = errors.New("a store or department with this id already exists")
)

package rbac

import (
	"fmt"
	"strings"
)

// ScopeKind is the kind of a scope: the whole account, one store, one
// department or one supplier.
type ScopeKind string

// The scope kinds.
const (
	ScopeAccount    ScopeKind = "account"
	ScopeStore      ScopeKind = "store"
	ScopeDepartment ScopeKind = "department"
	ScopeSupplier   ScopeKind = "supplier"
)

// Valid reports whether k is one of the four scope kinds.
func (k ScopeKind) Valid() bool {
	switch k {
	case ScopeAccount, ScopeStore, ScopeDepartment, ScopeSupplier:
		return true
	}
	return false
}

// maxScopeIDLen bounds the id part of a scope.
const maxScopeIDLen = 128

// Scope is where a role assignment applies. Its text form is "account",
// "store:{id}", "department:{id}" or "supplier:{id}". The zero Scope is
// invalid; use AccountScope for the account.
type Scope struct {
	// Kind is the scope kind.
	Kind ScopeKind
	// ID is the store, department or supplier id; empty for the account.
	ID string
}

// AccountScope is the account-wide scope: a grant here covers every store,
// department and supplier of the account.
var AccountScope = Scope{Kind: ScopeAccount}

// StoreScope returns the scope of one store.
func StoreScope(id string) Scope { return Scope{Kind: ScopeStore, ID: id} }

// DepartmentScope returns the scope of one department.
func DepartmentScope(id string) Scope { return Scope{Kind: ScopeDepartment, ID: id} }

// SupplierScope returns the scope of one supplier.
func SupplierScope(id string) Scope { return Scope{Kind: ScopeSupplier, ID: id} }

// String returns the text form, e.g. "store:s1".
func (s Scope) String() string {
	if s.Kind == ScopeAccount || s.Kind == "" {
		return string(s.Kind)
	}
	return string(s.Kind) + ":" + s.ID
}

// IsAccount reports whether s is the account scope.
func (s Scope) IsAccount() bool { return s.Kind == ScopeAccount }

// Validate reports whether s is well formed, with the same errors as
// ParseScope.
func (s Scope) Validate() error {
	switch s.Kind {
	case ScopeAccount:
		if s.ID != "" {
			return fmt.Errorf("%w: %q takes no id", ErrInvalidScope, "account")
		}
		return nil
	case ScopeStore, ScopeDepartment, ScopeSupplier:
		return validateScopeID(s.Kind, s.ID)
	case "":
		return fmt.Errorf("%w: empty scope (want account, store:{id}, department:{id} or supplier:{id})", ErrInvalidScope)
	default:
		return fmt.Errorf("%w: unknown scope kind %q (want account, store:{id}, department:{id} or supplier:{id})", ErrInvalidScope, string(s.Kind))
	}
}

// ParseScope parses the text form of a scope: "account", "store:{id}",
// "department:{id}" or "supplier:{id}". Ids are 1 to 128 characters of
// letters, digits, '-', '_' and '.'. Errors wrap ErrInvalidScope.
func ParseScope(text string) (Scope, error) {
	if text == "account" {
		return AccountScope, nil
	}
	kind, id, found := strings.Cut(text, ":")
	if !found {
		if text == "" {
			return Scope{}, fmt.Errorf("%w: empty scope (want account, store:{id}, department:{id} or supplier:{id})", ErrInvalidScope)
		}
		switch ScopeKind(text) {
		case ScopeStore, ScopeDepartment, ScopeSupplier:
			return Scope{}, fmt.Errorf("%w: %q needs an id, e.g. %q", ErrInvalidScope, text, text+":s1")
		}
		return Scope{}, fmt.Errorf("%w: unknown scope %q (want account, store:{id}, department:{id} or supplier:{id})", ErrInvalidScope, text)
	}
	s := Scope{Kind: ScopeKind(kind), ID: id}
	if s.Kind == ScopeAccount {
		return Scope{}, fmt.Errorf("%w: %q takes no id", ErrInvalidScope, "account")
	}
	if err := s.Validate(); err != nil {
		return Scope{}, err
	}
	return s, nil
}

func validateScopeID(kind ScopeKind, id string) error {
	if id == "" {
		return fmt.Errorf("%w: missing id after %q", ErrInvalidScope, string(kind)+":")
	}
	if len(id) > maxScopeIDLen {
		return fmt.Errorf("%w: %s id longer than %d characters", ErrInvalidScope, kind, maxScopeIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("%w: %s id %q has character %q (allowed: letters, digits, '-', '_', '.')", ErrInvalidScope, kind, id, rune(c))
		}
	}
	return nil
}

// MarshalText implements encoding.TextMarshaler, so a Scope is its text
// form in JSON.
func (s Scope) MarshalText() ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return []byte(s.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseScope.
func (s *Scope) UnmarshalText(text []byte) error {
	p, err := ParseScope(string(text))
	if err != nil {
		return err
	}
	*s = p
	return nil
}

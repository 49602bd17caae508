package accounts

import (
	"context"

	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/team"
)

// The scope items' operations for callers other than the API's handlers
// (the admin portal, pkg/portal): the same decisions, audit and version
// checks as GET /v1/{plural}, GET and PUT /v1/{plural}/{id}.

var (
	storeKind      = scopeKinds[0].(scopeKind[team.Store, StoreBody])
	departmentKind = scopeKinds[1].(scopeKind[team.Department, DepartmentBody])
	supplierKind   = scopeKinds[2].(scopeKind[team.Supplier, SupplierBody])
)

// ListStores lists the stores p may see (GET /v1/stores).
func (h *Handler) ListStores(ctx context.Context, p *auth.Principal, limit int, cursor string) (store.Page[team.Store], error) {
	return storeKind.List(ctx, h, p, limit, cursor)
}

// GetStore reads a store p may see (GET /v1/stores/{id}).
func (h *Handler) GetStore(ctx context.Context, p *auth.Principal, id string) (team.Store, error) {
	return storeKind.Get(ctx, h, p, id)
}

// PutStore creates or replaces a store (PUT /v1/stores/{id}).
func (h *Handler) PutStore(ctx context.Context, p *auth.Principal, id string, read ReadRequest) (team.Store, bool, error) {
	return storeKind.Put(ctx, h, p, id, read)
}

// ListDepartments lists the departments p may see (GET /v1/departments).
func (h *Handler) ListDepartments(ctx context.Context, p *auth.Principal, limit int, cursor string) (store.Page[team.Department], error) {
	return departmentKind.List(ctx, h, p, limit, cursor)
}

// GetDepartment reads a department p may see (GET /v1/departments/{id}).
func (h *Handler) GetDepartment(ctx context.Context, p *auth.Principal, id string) (team.Department, error) {
	return departmentKind.Get(ctx, h, p, id)
}

// PutDepartment creates or replaces a department (PUT
// /v1/departments/{id}).
func (h *Handler) PutDepartment(ctx context.Context, p *auth.Principal, id string, read ReadRequest) (team.Department, bool, error) {
	return departmentKind.Put(ctx, h, p, id, read)
}

// ListSuppliers lists the suppliers p may see (GET /v1/suppliers).
func (h *Handler) ListSuppliers(ctx context.Context, p *auth.Principal, limit int, cursor string) (store.Page[team.Supplier], error) {
	return supplierKind.List(ctx, h, p, limit, cursor)
}

// GetSupplier reads a supplier p may see (GET /v1/suppliers/{id}).
func (h *Handler) GetSupplier(ctx context.Context, p *auth.Principal, id string) (team.Supplier, error) {
	return supplierKind.Get(ctx, h, p, id)
}

// PutSupplier creates or replaces a supplier (PUT /v1/suppliers/{id}).
func (h *Handler) PutSupplier(ctx context.Context, p *auth.Principal, id string, read ReadRequest) (team.Supplier, bool, error) {
	return supplierKind.Put(ctx, h, p, id, read)
}

// MaySettings reports whether p may change the account and its stores,
// departments and suppliers (settings.manage at account scope).
func MaySettings(p *auth.Principal) bool { return requireSettings(p) == nil }

// MayPolicies reports whether p may change the account's policies
// (policies.manage at account scope).
func MayPolicies(p *auth.Principal) bool { return allowed(p, permPolicies, accountResource(p)) }

// MayAudit reports whether p may read the audit log (audit.view at
// account scope).
func MayAudit(p *auth.Principal) bool { return allowed(p, permAudit, accountResource(p)) }

package accounts

import "github.com/stewardhq/steward/pkg/httpapi"

// Operations binds the operation ids of the route table (pkg/routes) that
// this handler answers to their handlers: infra/localstack/server mounts them with every
// route, a function's main with its own routes. Each kind of scope item
// (scopeKinds) adds its list, get and put operations.
func (acc *Handler) Operations() map[string]httpapi.HandlerFunc {
	ops := map[string]httpapi.HandlerFunc{
		"getAccount":     acc.HandleGetAccount,
		"updateAccount":  acc.HandleUpdateAccount,
		"listAudit":      acc.HandleListAudit,
		"recordActivity": acc.HandleRecordActivity,
	}
	for _, k := range scopeKinds {
		k.addOperations(acc, ops)
	}
	return ops
}

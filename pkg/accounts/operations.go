package accounts

import "github.com/stewardhq/steward/pkg/httpapi"

// Operations binds the operation ids of the route table (pkg/routes) that
// this handler answers to their handlers: infra/localstack/server mounts them with every
// route, a function's main with its own routes.
func (acc *Handler) Operations() map[string]httpapi.HandlerFunc {
	return map[string]httpapi.HandlerFunc{
		"getAccount":      acc.HandleGetAccount,
		"updateAccount":   acc.HandleUpdateAccount,
		"listStores":      acc.HandleListStores,
		"getStore":        acc.HandleGetStore,
		"putStore":        acc.HandlePutStore,
		"listDepartments": acc.HandleListDepartments,
		"getDepartment":   acc.HandleGetDepartment,
		"putDepartment":   acc.HandlePutDepartment,
		"listAudit":       acc.HandleListAudit,
	}
}

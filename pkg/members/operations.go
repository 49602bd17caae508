package members

import "github.com/stewardhq/steward/pkg/httpapi"

// Operations binds the operation ids of the route table (pkg/routes) that
// this service answers to their handlers: infra/localstack/server mounts
// them with every route, a function's main with its own routes.
func (mem *Service) Operations() map[string]httpapi.HandlerFunc {
	return map[string]httpapi.HandlerFunc{
		"listUsers":         mem.HandleList,
		"createUser":        mem.HandleCreate,
		"importUsers":       mem.HandleImport,
		"getUser":           mem.HandleGet,
		"updateUser":        mem.HandlePatch,
		"deleteUser":        mem.HandleDelete,
		"suspendUser":       mem.HandleSuspend,
		"reactivateUser":    mem.HandleReactivate,
		"deactivateUser":    mem.HandleDeactivate,
		"transferOwnership": mem.HandleTransferOwnership,
	}
}

package permissions

import "github.com/stewardhq/steward/pkg/httpapi"

// Operations binds the operation ids of the route table (pkg/routes) that
// this service answers to their handlers (http.go): infra/localstack/server
// mounts them with every route, the permissions function's main with its
// own routes.
func (s *Service) Operations() map[string]httpapi.HandlerFunc {
	return map[string]httpapi.HandlerFunc{
		"listPermissions":      s.HandleListPermissions,
		"listRoles":            s.HandleListRoles,
		"createRole":           s.HandleCreateRole,
		"getRole":              s.HandleGetRole,
		"updateRole":           s.HandleUpdateRole,
		"deleteRole":           s.HandleDeleteRole,
		"checkPermission":      s.HandleCheck,
		"checkPermissionBatch": s.HandleCheckBatch,
		"myPermissions":        s.HandleMyPermissions,
		"whoCan":               s.HandleWhoCan,
	}
}

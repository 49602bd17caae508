package apikeys

import "github.com/stewardhq/steward/pkg/httpapi"

// Operations binds the operation ids of the route table (pkg/routes) that
// this service answers to their handlers: infra/localstack/server mounts
// them with every route, a function's main with its own routes.
func (ak *Service) Operations() map[string]httpapi.HandlerFunc {
	return map[string]httpapi.HandlerFunc{
		"createApiKey": ak.HandleCreate,
		"listApiKeys":  ak.HandleList,
		"revokeApiKey": ak.HandleRevoke,
	}
}

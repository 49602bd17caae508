package health

import (
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/openapi"
)

// Operations binds the health function's operation ids of the route table
// (pkg/routes): the health check over db and the OpenAPI document.
func Operations(db Pinger, version string) map[string]httpapi.HandlerFunc {
	return map[string]httpapi.HandlerFunc{
		"getHealth":  Handler{DB: db, Version: version}.Get,
		"getOpenAPI": openapi.Get,
	}
}

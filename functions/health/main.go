// Command health is the Lambda function serving GET /v1/health and the
// OpenAPI document: no signing keys, no mail, no other service.
package main

import (
	"context"
	"net/http"

	"github.com/stewardhq/steward/pkg/app/boot"
	"github.com/stewardhq/steward/pkg/health"
	"github.com/stewardhq/steward/pkg/router"
	"github.com/stewardhq/steward/pkg/routes"
	"github.com/stewardhq/steward/pkg/version"
)

func main() {
	boot.StartAPI(routes.FunctionHealth, func(_ context.Context, e *boot.Env) (http.Handler, error) {
		// health lists nothing: a per-process cursor key will do.
		st, err := e.Store(nil)
		if err != nil {
			return nil, err
		}
		return e.Handler(health.Operations(st, version.Version), router.Options{})
	})
}

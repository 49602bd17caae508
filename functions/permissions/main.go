// Command permissions is the Lambda function serving the permissions routes of the route
// table (pkg/routes).
package main

import (
	"github.com/stewardhq/steward/pkg/app/authboot"
	"github.com/stewardhq/steward/pkg/permissions"
	"github.com/stewardhq/steward/pkg/router"
	"github.com/stewardhq/steward/pkg/routes"
)

func main() {
	authboot.StartAPI(routes.FunctionPermissions, func(b *authboot.Base) ([]router.Operations, error) {
		return []router.Operations{(&permissions.Service{Store: b.Store}).Operations()}, nil
	})
}

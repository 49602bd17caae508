// Command users is the Lambda function serving the users routes of the route
// table (pkg/routes).
package main

import (
	"github.com/stewardhq/steward/pkg/app/authboot"
	"github.com/stewardhq/steward/pkg/members"
	"github.com/stewardhq/steward/pkg/router"
	"github.com/stewardhq/steward/pkg/routes"
)

func main() {
	authboot.StartAPI(routes.FunctionUsers, func(b *authboot.Base) ([]router.Operations, error) {
		// getMe and impersonateUser are the auth service's (impersonation
		// signs a token); this function sends no email.
		return []router.Operations{b.Auth.Operations(), (&members.Service{Store: b.Store}).Operations()}, nil
	})
}

// Command auth is the Lambda function serving the auth routes of the route
// table (pkg/routes).
package main

import (
	"github.com/stewardhq/steward/pkg/app/authboot"
	"github.com/stewardhq/steward/pkg/app/mailboot"
	"github.com/stewardhq/steward/pkg/router"
	"github.com/stewardhq/steward/pkg/routes"
)

func main() {
	authboot.StartAPI(routes.FunctionAuth, func(b *authboot.Base) ([]router.Operations, error) {
		var err error
		if b.Auth.Mail, err = mailboot.Outbox(b.Env, b.Store); err != nil {
			return nil, err
		}
		return []router.Operations{b.Auth.Operations()}, nil
	})
}

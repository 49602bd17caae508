// Command invites is the Lambda function serving the invites routes of the route
// table (pkg/routes).
package main

import (
	"github.com/stewardhq/steward/pkg/app/authboot"
	"github.com/stewardhq/steward/pkg/app/mailboot"
	"github.com/stewardhq/steward/pkg/invites"
	"github.com/stewardhq/steward/pkg/router"
	"github.com/stewardhq/steward/pkg/routes"
)

func main() {
	authboot.StartAPI(routes.FunctionInvites, func(b *authboot.Base) ([]router.Operations, error) {
		// Accepting signs in; joining sends the verification email
		// through the auth service.
		var err error
		if b.Auth.Mail, err = mailboot.Outbox(b.Env, b.Store); err != nil {
			return nil, err
		}
		svc := &invites.Service{Store: b.Store, Auth: b.Auth, Mail: b.Auth.Mail, PublicURL: b.Config.PublicURL}
		return []router.Operations{svc.Operations()}, nil
	})
}

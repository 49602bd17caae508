// Command users is the Lambda function serving the users routes of the route
// table (pkg/routes), the portal link (POST /v1/portal/sessions) and the
// admin portal's pages (pkg/portal).
package main

import (
	"github.com/stewardhq/steward/pkg/access"
	"github.com/stewardhq/steward/pkg/app/authboot"
	"github.com/stewardhq/steward/pkg/app/mailboot"
	"github.com/stewardhq/steward/pkg/approvals"
	"github.com/stewardhq/steward/pkg/invites"
	"github.com/stewardhq/steward/pkg/members"
	"github.com/stewardhq/steward/pkg/portal"
	"github.com/stewardhq/steward/pkg/router"
	"github.com/stewardhq/steward/pkg/routes"
)

func main() {
	authboot.StartAPI(routes.FunctionUsers, func(b *authboot.Base) ([]router.Operations, error) {
		// getMe and impersonateUser are the auth service's (impersonation
		// signs a token). Its only email: offboarding with reassignTo
		// sends the reassignee the approval and access-request emails of the
		// duties it took.
		outbox, err := mailboot.Outbox(b.Env, b.Store)
		if err != nil {
			return nil, err
		}
		handover := &approvals.Service{Store: b.Store, Mail: outbox, PublicURL: b.Config.PublicURL, Logger: b.Logger}
		// Access-request decisions are handed over too, and a leaver's own
		// pending access requests cancelled (no workflow engine here: a
		// cancelled request's workflow times out and leaves it alone).
		acc := &access.Service{Store: b.Store, Mail: outbox, PublicURL: b.Config.PublicURL, Logger: b.Logger}
		mem := &members.Service{Store: b.Store, Approvals: handover, Access: acc}
		// The admin portal's pages (pkg/portal) call the members and
		// invitations services, as the API does; inviting sends the
		// invitation email.
		inv := &invites.Service{Store: b.Store, Auth: b.Auth, Mail: outbox, PublicURL: b.Config.PublicURL}
		pt := &portal.Service{Store: b.Store, Auth: b.Auth, Members: mem, Invites: inv, PublicURL: b.Config.PublicURL}
		return []router.Operations{b.Auth.Operations(), mem.Operations(), pt.Operations()}, nil
	})
}

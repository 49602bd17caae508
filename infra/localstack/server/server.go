// Package server assembles Steward's whole HTTP API from the route table:
// it binds every route's operation to its service's handler (each
// service's Operations) and mounts them with pkg/router. The local
// server, the load generator and the API tests build every service and
// mount here; a Lambda function's main builds only its own services and
// mounts their operations with the same router (pkg/app/boot), so that it
// does not link the others.
package server

import (
	"fmt"
	"log/slog"
	"maps"
	"net/http"

	"github.com/stewardhq/steward/pkg/access"
	"github.com/stewardhq/steward/pkg/accounts"
	"github.com/stewardhq/steward/pkg/alerts"
	"github.com/stewardhq/steward/pkg/apikeys"
	"github.com/stewardhq/steward/pkg/app/authboot"
	"github.com/stewardhq/steward/pkg/approvals"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/events"
	"github.com/stewardhq/steward/pkg/health"
	"github.com/stewardhq/steward/pkg/invites"
	"github.com/stewardhq/steward/pkg/members"
	"github.com/stewardhq/steward/pkg/permissions"
	"github.com/stewardhq/steward/pkg/portal"
	"github.com/stewardhq/steward/pkg/router"
	"github.com/stewardhq/steward/pkg/routes"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/webhooks"
)

// Deps are the dependencies the handlers share, built once at start.
type Deps struct {
	Store   *store.Store
	Auth    *auth.Service
	Invites *invites.Service
	APIKeys *apikeys.Service
	Members *members.Service
	// Permissions serves the catalogue, roles and decisions.
	Permissions *permissions.Service
	// Approvals serves documents, approval policies and requests, and
	// the approval pages.
	Approvals *approvals.Service
	// Access serves access requests and their decision page (on the
	// approvals function; the same workflow engine).
	Access *access.Service
	// Alerts serves stock levels, the alert preview and the unsubscribe
	// page; its Run is the scheduled job.
	Alerts *alerts.Service
	// Events serves the events feed.
	Events *events.Feed
	// Webhooks serves the webhook endpoints, their deliveries and replays.
	Webhooks *webhooks.Service
	Logger   *slog.Logger
	Version  string
	// Throttle is each account's share of the API; nil means none.
	Throttle router.Throttle
}

// operations binds every operation id of the route table to its handler.
func operations(d Deps) router.Operations {
	ops := router.Operations{}
	for _, m := range []router.Operations{
		health.Operations(d.Store, d.Version),
		d.Auth.Operations(),
		d.Members.Operations(),
		d.Invites.Operations(),
		d.APIKeys.Operations(),
		(&accounts.Handler{Store: d.Store}).Operations(),
		d.Events.Operations(),
		d.Permissions.Operations(),
		d.Approvals.Operations(),
		d.Access.Operations(),
		d.Alerts.Operations(),
		d.Webhooks.Operations(),
		portalService(d).Operations(),
	} {
		maps.Copy(ops, m)
	}
	return ops
}

// portalService is the admin portal over the API's services; its cookies
// are Secure when the auth service's public URL is HTTPS.
func portalService(d Deps) *portal.Service {
	pt := &portal.Service{Store: d.Store, Auth: d.Auth, Members: d.Members, Invites: d.Invites, Roles: d.Permissions, Accounts: &accounts.Handler{Store: d.Store}, Webhooks: d.Webhooks, Approvals: d.Approvals, Access: d.Access}
	if d.Auth != nil {
		pt.PublicURL = d.Auth.PublicURL
	}
	return pt
}

// Handler returns the API for one function's routes (all routes when
// function is ""). It fails when a route has no handler.
func Handler(d Deps, function string) (http.Handler, error) {
	rs := routes.ForFunction(function)
	if len(rs) == 0 {
		return nil, fmt.Errorf("no routes for function %q", function)
	}
	return router.New(rs, operations(d), router.Options{Logger: d.Logger, Store: d.Store, Guard: authboot.Guard{Auth: d.Auth}, Throttle: d.Throttle})
}

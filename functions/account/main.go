// Command account is the Lambda function serving the account routes of the
// route table (pkg/routes): the account and its settings, stores,
// departments, the audit log and the events feed.
package main

import (
	"github.com/stewardhq/steward/pkg/accounts"
	"github.com/stewardhq/steward/pkg/app/authboot"
	"github.com/stewardhq/steward/pkg/events"
	"github.com/stewardhq/steward/pkg/router"
	"github.com/stewardhq/steward/pkg/routes"
)

func main() {
	authboot.StartAPI(routes.FunctionAccount, func(b *authboot.Base) ([]router.Operations, error) {
		return []router.Operations{(&accounts.Handler{Store: b.Store}).Operations(), (&events.Feed{Store: b.Store, Settle: b.Env.Config.EventsSettle}).Operations()}, nil
	})
}

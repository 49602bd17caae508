// Command alerts is the Lambda function serving the alerts routes of the
// route table (pkg/routes): stock-level pushes, the alert preview and the
// public unsubscribe page.
package main

import (
	"github.com/stewardhq/steward/pkg/alerts"
	"github.com/stewardhq/steward/pkg/app/authboot"
	"github.com/stewardhq/steward/pkg/router"
	"github.com/stewardhq/steward/pkg/routes"
)

func main() {
	authboot.StartAPI(routes.FunctionAlerts, func(b *authboot.Base) ([]router.Operations, error) {
		// The routes send no email: the digests are the alert job's.
		svc := &alerts.Service{Store: b.Store, PublicURL: b.Config.PublicURL, Logger: b.Logger}
		return []router.Operations{svc.Operations()}, nil
	})
}

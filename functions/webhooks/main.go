// Command webhooks is the Lambda function serving the webhook routes of
// the route table (pkg/routes): endpoints, their deliveries and replays.
package main

import (
	"github.com/stewardhq/steward/pkg/app/authboot"
	"github.com/stewardhq/steward/pkg/events"
	"github.com/stewardhq/steward/pkg/router"
	"github.com/stewardhq/steward/pkg/routes"
	"github.com/stewardhq/steward/pkg/webhooks"
)

func main() {
	authboot.StartAPI(routes.FunctionWebhooks, func(b *authboot.Base) ([]router.Operations, error) {
		cfg := b.Env.Config
		svc := &webhooks.Service{Store: b.Store, URLs: webhooks.PolicyFor(cfg.Stage)}
		if cfg.WebhookQueueURL != "" {
			svc.Queue = webhooks.NewSQSQueue(b.Env.AWS, cfg.WebhookQueueURL)
		}
		// Replays read the account's events from the audit log.
		svc.Source = &events.Feed{Store: b.Store}
		return []router.Operations{svc.Operations()}, nil
	})
}

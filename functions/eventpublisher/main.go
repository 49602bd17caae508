// Command eventpublisher is the change events' Lambda
// (pkg/app/eventpublisher): the table's stream, filtered to new audit
// items, invokes it; it puts their events on the EventBridge bus
// (STEWARD_EVENT_BUS) and sends the first delivery task of each matching
// webhook endpoint to the delivery queue (STEWARD_WEBHOOK_QUEUE_URL).
package main

import (
	"errors"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/stewardhq/steward/pkg/app/boot"
	"github.com/stewardhq/steward/pkg/app/eventpublisher"
	"github.com/stewardhq/steward/pkg/events"
	"github.com/stewardhq/steward/pkg/routes"
	"github.com/stewardhq/steward/pkg/webhooks"
)

func main() {
	e := boot.FromEnv(routes.FunctionEventPublisher)
	// It reads endpoints without their secrets: no cursor key needed.
	st, err := e.Store(nil)
	if err != nil {
		boot.Fail(err)
	}
	if e.Config.WebhookQueueURL == "" {
		boot.Fail(errors.New("STEWARD_WEBHOOK_QUEUE_URL must be set"))
	}
	pub := &events.Publisher{
		Bus:         eventpublisher.Bus(e),
		Subscribers: &webhooks.Scheduler{Store: st, Queue: webhooks.NewSQSQueue(e.AWS, e.Config.WebhookQueueURL)},
		Logger:      e.Logger,
	}
	lambda.Start(eventpublisher.Handler(pub))
}

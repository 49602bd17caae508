// Command webhookdelivery is the webhook delivery Lambda (pkg/webhooks):
// the delivery queue (SQS, STEWARD_WEBHOOK_QUEUE_URL) invokes it with
// delivery tasks; it signs and posts each event, records the delivery,
// queues the next attempt after a failure and reports the records whose
// task failed (partial batch failures).
package main

import (
	"context"
	"errors"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/stewardhq/steward/pkg/app/authboot"
	"github.com/stewardhq/steward/pkg/app/boot"
	"github.com/stewardhq/steward/pkg/app/mailboot"
	stevents "github.com/stewardhq/steward/pkg/events"
	"github.com/stewardhq/steward/pkg/routes"
	"github.com/stewardhq/steward/pkg/webhooks"
)

func main() {
	e := boot.FromEnv(routes.FunctionWebhookDelivery)
	// The store must open the endpoints' secrets, sealed under a key
	// derived from the shared cursor key: authboot loads it (verify-key
	// secret).
	b, err := authboot.New(context.Background(), e, nil)
	if err != nil {
		boot.Fail(err)
	}
	if e.Config.WebhookQueueURL == "" {
		boot.Fail(errors.New("STEWARD_WEBHOOK_QUEUE_URL must be set"))
	}
	outbox, err := mailboot.Outbox(e, b.Store)
	if err != nil {
		boot.Fail(err)
	}
	d := &webhooks.Deliverer{
		Store:  b.Store,
		Queue:  webhooks.NewSQSQueue(e.AWS, e.Config.WebhookQueueURL),
		Policy: webhooks.PolicyFor(e.Config.Stage),
		Logger: e.Logger,
		Notify: &webhooks.MailNotifier{Store: b.Store, Mail: outbox},
		// Each task's event is read again from the audit log.
		Events: &stevents.Feed{Store: b.Store},
	}
	lambda.Start(func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		return webhooks.Work(ctx, d, ev.Records), nil
	})
}

package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/stewardhq/steward/pkg/routes"
	"github.com/stewardhq/steward/pkg/store"
)

// Environment of the change events' functions.
const (
	// EnvEventBus names the EventBridge bus the event publisher puts the
	// change events on (config.Config.EventBus).
	EnvEventBus = "STEWARD_EVENT_BUS"
	// EnvWebhookQueueURL is the webhook delivery queue's URL: the event
	// publisher enqueues deliveries there, the delivery function re-sends
	// a failed attempt's retry there, and the functions that replay
	// deliveries (functionNeeds.WebhookQueue: webhooks for the API's
	// replay route, users for the admin portal's) enqueue replays there.
	EnvWebhookQueueURL = "STEWARD_WEBHOOK_QUEUE_URL"
)

// EventBusName is the name of the stage's EventBridge bus, which host
// applications subscribe to with rules (source "steward", detail-type the
// event's type).
func EventBusName(stage string) string { return "steward-" + stage }

// The event publisher's stream event source:
//   - publisherBatchSize records (audit items) per invocation, gathered
//     for at most publisherBatchWindow seconds;
//   - a failed batch is split in two and retried, each record at most
//     publisherRetryAttempts times and while younger than
//     publisherMaxRecordAge, then described in the dead-letter queue
//     (the stream keeps the records 24 hours).
const (
	publisherBatchSize     = 100
	publisherBatchWindow   = 1     // seconds
	publisherRetryAttempts = 10    // retries of a failed batch
	publisherMaxRecordAge  = 86400 // seconds
)

// The webhook delivery queue: one message per delivery attempt (the
// publisher's first attempts, the delivery function's delayed retries,
// the API's replays).
//   - deliveryBatchSize messages per invocation; a failed one is reported
//     alone (ReportBatchItemFailures) and received again after the
//     visibility timeout;
//   - at most deliveryConcurrency invocations at once, which bounds the
//     outbound requests and the table's share;
//   - a message received deliveryMaxReceives times (the function failed
//     to record its outcome) moves to the dead-letter queue;
//   - messages live deliveryRetention (a delivery's own retries span a
//     day at most, each hop delayed at most 15 minutes).
const (
	deliveryBatchSize   = 10
	deliveryConcurrency = 20
	deliveryMaxReceives = 5
	deliveryRetention   = 4 * 24 * 3600 // seconds
	// deadLetterRetention is how long both dead-letter queues keep a
	// message (SQS's maximum).
	deadLetterRetention = 14 * 24 * 3600 // seconds
)

// deliveryVisibility is the delivery queue's visibility timeout: six
// times the function's timeout, as Lambda advises for SQS event sources
// (a batch's retries by the poller must not see the message again).
func deliveryVisibility() float64 {
	return 6 * SettingsFor(routes.FunctionWebhookDelivery).TimeoutSeconds
}

// hasEvents reports whether the stack deploys the change events'
// pipeline: it does when the table keeps a stream (store.Definition).
func (p *StewardStackProps) hasEvents() bool { return p.tableDefinition().Stream }

// eventPublisherGrant: the publisher reads only the webhook endpoints of
// the accounts whose events it publishes (one Query per account) on the
// table itself; it writes nothing (deliveries are queued, not stored).
// Reading the stream is granted by its event source.
func eventPublisherGrant(table awsdynamodb.ITable, fn awslambda.IFunction) {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("dynamodb:Query"),
		Resources: jsii.Strings(*table.TableArn()),
	}))
}

// sendMessageStatement allows sqs:SendMessage (SendMessageBatch too) on
// one queue, and nothing else: the functions have the queue's URL.
func sendMessageStatement(q awssqs.IQueue) awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("sqs:SendMessage"),
		Resources: &[]*string{q.QueueArn()},
	})
}

// eventsPipeline is the change events' bus, functions and queues. Every
// field is nil when the stack has no events (hasEvents).
type eventsPipeline struct {
	bus           awsevents.EventBus
	publisher     awslambda.Function
	publisherDLQ  awssqs.Queue
	deliveryQueue awssqs.Queue
	deliveryDLQ   awssqs.Queue
	delivery      awslambda.Function
}

// newQueue builds an encrypted (SSE-SQS), TLS-only queue.
func newQueue(scope constructs.Construct, id string, props awssqs.QueueProps) awssqs.Queue {
	props.Encryption = awssqs.QueueEncryption_SQS_MANAGED
	props.EnforceSSL = jsii.Bool(true)
	return awssqs.NewQueue(scope, jsii.String(id), &props)
}

// newEventsPipeline builds the change events' pipeline (pkg/events):
//
//   - the EventBridge bus steward-<stage>, where every event is put
//     (source "steward", detail-type the event type) for host
//     applications' rules;
//   - the event publisher (pkg/app/eventpublisher), invoked by the
//     table's stream with new audit items only (an event source filter:
//     INSERT of items whose type is store.AuditItemType); it puts their
//     events on the bus and enqueues one delivery per subscribed webhook
//     endpoint. A batch that keeps failing is split, retried and finally
//     described in its dead-letter queue;
//   - the webhook delivery queue and the delivery function it invokes
//     (pkg/webhooks), which sends one attempt per message, records it,
//     re-sends a failed attempt's retry to the queue with a delay and
//     emails the account when an endpoint is disabled; a message the
//     function cannot process moves to its dead-letter queue.
//
// All queues are encrypted (SSE-SQS) and refuse non-TLS requests; the
// dead-letter queues keep messages 14 days and have alarms
// (monitoring.go). workerEnv is the environment of the workers (table,
// stage, mail settings). The delivery function reads verifyKeys: endpoint
// secrets are sealed under a key derived from the cursor key it holds.
func newEventsPipeline(scope constructs.Construct, props *StewardStackProps, table awsdynamodb.Table, retention awslogs.RetentionDays, mail mailSettings, workerEnv map[string]*string, verifyKeys awssecretsmanager.ISecret) eventsPipeline {
	stage := props.stage()
	bus := awsevents.NewEventBus(scope, jsii.String("EventBus"), &awsevents.EventBusProps{
		EventBusName: jsii.String(EventBusName(stage)),
		Description:  jsii.String("Steward change events (" + stage + "): source steward, detail-type the event type"),
	})

	deliveryDLQ := newQueue(scope, "WebhookDelivery-DLQ", awssqs.QueueProps{
		RetentionPeriod: duration(deadLetterRetention),
	})
	deliveryQueue := newQueue(scope, "WebhookDelivery", awssqs.QueueProps{
		RetentionPeriod:   duration(deliveryRetention),
		VisibilityTimeout: duration(deliveryVisibility()),
		DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: deliveryDLQ, MaxReceiveCount: jsii.Number(deliveryMaxReceives)},
	})

	// The publisher.
	publisherDLQ := newQueue(scope, "EventPublisher-DLQ", awssqs.QueueProps{
		RetentionPeriod: duration(deadLetterRetention),
	})
	publisher := newFunction(scope, routes.FunctionEventPublisher, props, retention, map[string]*string{
		EnvTable:           table.TableName(),
		EnvStage:           jsii.String(stage),
		EnvEventBus:        bus.EventBusName(),
		EnvWebhookQueueURL: deliveryQueue.QueueUrl(),
	})
	if err := grantTable(routes.FunctionEventPublisher, table, publisher); err != nil {
		panic(err) // unreachable: functionGrants has it
	}
	bus.GrantPutEventsTo(publisher, nil)
	publisher.AddToRolePolicy(sendMessageStatement(deliveryQueue))
	publisher.AddEventSource(awslambdaeventsources.NewDynamoEventSource(table, &awslambdaeventsources.DynamoEventSourceProps{
		StartingPosition:   awslambda.StartingPosition_TRIM_HORIZON,
		BatchSize:          jsii.Number(publisherBatchSize),
		MaxBatchingWindow:  duration(publisherBatchWindow),
		BisectBatchOnError: jsii.Bool(true),
		RetryAttempts:      jsii.Number(publisherRetryAttempts),
		MaxRecordAge:       duration(publisherMaxRecordAge),
		OnFailure:          awslambdaeventsources.NewSqsDlq(publisherDLQ),
		Filters:            &[]*map[string]any{awslambda.FilterCriteria_Filter(auditInsertFilter())},
	}))

	// The delivery function.
	env := map[string]*string{EnvWebhookQueueURL: deliveryQueue.QueueUrl(), EnvVerifyKeysSecret: verifyKeys.SecretArn()}
	for k, v := range workerEnv {
		env[k] = v
	}
	delivery := newFunction(scope, routes.FunctionWebhookDelivery, props, retention, env)
	if err := grantTable(routes.FunctionWebhookDelivery, table, delivery); err != nil {
		panic(err) // unreachable: functionGrants has it
	}
	delivery.AddToRolePolicy(mail.sendStatement())
	delivery.AddToRolePolicy(readSecretStatement(verifyKeys))
	// Retries go back to the queue with a delay; the event source mapping
	// receives and deletes (its grant).
	delivery.AddToRolePolicy(sendMessageStatement(deliveryQueue))
	delivery.AddEventSource(awslambdaeventsources.NewSqsEventSource(deliveryQueue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(deliveryBatchSize),
		MaxConcurrency:          jsii.Number(deliveryConcurrency),
		ReportBatchItemFailures: jsii.Bool(true),
	}))

	return eventsPipeline{
		bus: bus, publisher: publisher, publisherDLQ: publisherDLQ,
		deliveryQueue: deliveryQueue, deliveryDLQ: deliveryDLQ, delivery: delivery,
	}
}

// auditInsertFilter is the publisher's event source filter: inserts of
// audit items (their NEW_IMAGE's type attribute is store.AuditItemType).
// Every other change of the table never invokes it.
func auditInsertFilter() *map[string]any {
	return &map[string]any{
		"eventName": []string{"INSERT"},
		"dynamodb": map[string]any{
			"NewImage": map[string]any{
				store.AttrType: map[string]any{"S": []string{store.AuditItemType}},
			},
		},
	}
}

// grantWebhookReplays lets the functions that replay webhook deliveries
// (functionNeeds.WebhookQueue: webhooks, users for the admin portal's
// webhooks page), when the route table has them, enqueue deliveries
// (replays of past events) to the delivery queue, whose URL they get as
// EnvWebhookQueueURL: sqs:SendMessage on that queue alone.
func grantWebhookReplays(deployed []deployedFunction, ev eventsPipeline) {
	if ev.deliveryQueue == nil {
		return
	}
	for _, f := range deployed {
		if !needsOf(f.name).WebhookQueue {
			continue
		}
		f.fn.AddEnvironment(jsii.String(EnvWebhookQueueURL), ev.deliveryQueue.QueueUrl(), nil)
		f.fn.AddToRolePolicy(sendMessageStatement(ev.deliveryQueue))
	}
}

// addEventsOutputs adds the bus's name and ARN to the stack's outputs:
// host applications subscribe to the events with EventBridge rules on it.
func addEventsOutputs(stack awscdk.Stack, ev eventsPipeline) {
	if ev.bus == nil {
		return
	}
	awscdk.NewCfnOutput(stack, jsii.String("EventBusName"), &awscdk.CfnOutputProps{
		Description: jsii.String("EventBridge bus of Steward's change events (source steward, detail-type the event type): subscribe with rules on it"),
		Value:       ev.bus.EventBusName(),
	})
	awscdk.NewCfnOutput(stack, jsii.String("EventBusArn"), &awscdk.CfnOutputProps{
		Description: jsii.String("ARN of the change events' EventBridge bus"),
		Value:       ev.bus.EventBusArn(),
	})
}

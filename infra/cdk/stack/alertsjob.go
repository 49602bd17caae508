package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/stewardhq/steward/pkg/routes"
	"github.com/stewardhq/steward/pkg/store"
)

// AlertsSchedule is the alert job's EventBridge schedule: at minute 0 of
// every hour; each run enqueues a task for each account whose local time
// is at its alert hour.
const AlertsSchedule = "cron(0 * * * ? *)"

// EnvAlertsQueueURL names the job's work queue in its environment
// (config.Config.AlertsQueueURL).
const EnvAlertsQueueURL = "STEWARD_ALERTS_QUEUE_URL"

// The work queue: one message per due account (alerts.Task), delayed
// within the first 15 minutes of the hour by the scheduled run.
//   - alertsWorkBatchSize: one account per invocation, so that an
//     account's failure or timeout never retries another's.
//   - alertsWorkConcurrency: at most this many accounts at once, which
//     bounds the job's share of the table's and SES's throughput.
//   - alertsWorkMaxReceives: a task runs at most this many times before it
//     moves to the dead-letter queue (and its alarm).
//   - The visibility timeout is twice the function's timeout (a task is
//     retried that long after a failure); messages live a day.
const (
	alertsWorkBatchSize   = 1
	alertsWorkConcurrency = 20
	alertsWorkMaxReceives = 5
	alertsWorkRetention   = 24 * 3600 // seconds
)

func alertsWorkVisibility() float64 {
	return 2 * float64(SettingsFor(routes.FunctionAlertsJob).TimeoutSeconds)
}

// hasAlerts reports whether the deployed routes include the alerts
// routes, which come with the scheduled job.
func (p *StewardStackProps) hasAlerts() bool {
	for _, fn := range p.functions() {
		if fn == routes.FunctionAlerts {
			return true
		}
	}
	return false
}

// alertsJobGrant: the job reads the table (accounts, members, roles,
// stores, low stock, documents, requests, the outbox) and writes only the
// outbox records of its digests and unsubscribe tokens, which are the
// only partitions its writes may touch (store.AlertsJobLeadingKeys:
// OUTBOX#digest/..., TOKEN#unsubscribe#...): it cannot write a token of
// another kind (an invitation, a password reset) nor another sender's
// outbox record.
func alertsJobGrant(table awsdynamodb.ITable, fn awslambda.IFunction) {
	fn.AddToRolePolicy(tableStatement(table, tableReadActions))
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"),
		Resources: jsii.Strings(*table.TableArn()),
		Conditions: &map[string]any{
			"ForAllValues:StringLike": map[string]any{"dynamodb:LeadingKeys": store.AlertsJobLeadingKeys},
		},
	}))
}

// alertsJob is the job's function, its work queue and its dead-letter
// queue.
type alertsJob struct {
	fn    awslambda.Function
	queue awssqs.Queue
	dlq   awssqs.Queue
}

// Retry policy of the alert job's scheduled run (EventBridge delivering
// to Lambda, then Lambda running it): a run is idempotent (the outbox
// sends each member one digest a day; a task enqueued twice sends
// nothing more), it lists the accounts due at its event's time, and a run
// older than an hour is superseded by the next scheduled one.
const (
	alertsJobRetryAttempts = 2
	alertsJobMaxEventAge   = 3600 // seconds
)

// newAlertsJob builds the job function, the hourly rule that invokes it
// with the event's time (the scheduled run, not forced), and the work
// queue that invokes it with one task per due account.
//
// The scheduled run only lists accounts and sends messages (seconds for
// thousands of accounts); each account's digests are sent by its own
// invocation from the queue, which reports a failed task
// (ReportBatchItemFailures) so SQS retries it alone, up to
// alertsWorkMaxReceives times, then moves it to the dead-letter queue.
//
// EventBridge invokes the function asynchronously, so a failure would
// otherwise vanish: events EventBridge cannot deliver (throttling,
// permissions) go to the rule target's dead-letter queue, and runs that
// fail after Lambda's retries go to the same queue through the function's
// on-failure destination, as do tasks that failed every receive. Both
// queues are encrypted (SSE-SQS) and refuse non-TLS requests; the
// dead-letter queue keeps messages 14 days and has an alarm on any
// visible message (monitoring.go).
func newAlertsJob(scope constructs.Construct, props *StewardStackProps, table awsdynamodb.ITable, retention awslogs.RetentionDays, mail mailSettings, env map[string]*string) alertsJob {
	fn := newFunction(scope, routes.FunctionAlertsJob, props, retention, env)
	if err := grantTable(routes.FunctionAlertsJob, table, fn); err != nil {
		panic(err) // unreachable: functionGrants has it
	}
	fn.AddToRolePolicy(mail.sendStatement())
	dlq := awssqs.NewQueue(scope, jsii.String("AlertsJob-DLQ"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	fn.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
		OnFailure:     awslambdadestinations.NewSqsDestination(dlq),
		RetryAttempts: jsii.Number(alertsJobRetryAttempts),
		MaxEventAge:   duration(alertsJobMaxEventAge),
	})
	queue := awssqs.NewQueue(scope, jsii.String("AlertsWork"), &awssqs.QueueProps{
		Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		RetentionPeriod:   duration(alertsWorkRetention),
		VisibilityTimeout: duration(alertsWorkVisibility()),
		DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: dlq, MaxReceiveCount: jsii.Number(alertsWorkMaxReceives)},
	})
	// The scheduled run sends the tasks; the event source mapping receives
	// and deletes them (its grant).
	queue.GrantSendMessages(fn)
	fn.AddEnvironment(jsii.String(EnvAlertsQueueURL), queue.QueueUrl(), nil)
	fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(queue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(alertsWorkBatchSize),
		MaxConcurrency:          jsii.Number(alertsWorkConcurrency),
		ReportBatchItemFailures: jsii.Bool(true),
	}))
	rule := awsevents.NewRule(scope, jsii.String("AlertsSchedule"), &awsevents.RuleProps{
		Description: jsii.String("Hourly: enqueue the daily alert digests of the accounts at their alert hour"),
		Schedule:    awsevents.Schedule_Expression(jsii.String(AlertsSchedule)),
	})
	rule.AddTarget(awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
		Event:           awsevents.RuleTargetInput_FromObject(map[string]any{"time": awsevents.EventField_Time()}),
		RetryAttempts:   jsii.Number(alertsJobRetryAttempts),
		MaxEventAge:     duration(alertsJobMaxEventAge),
		DeadLetterQueue: dlq,
	}))
	return alertsJob{fn: fn, queue: queue, dlq: dlq}
}

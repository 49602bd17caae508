package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/stewardhq/steward/pkg/routes"
	"github.com/stewardhq/steward/pkg/store"
)

// AlertsSchedule is the alert job's EventBridge schedule: at minute 0 of
// every hour; each run sends for the accounts whose local time is at
// their alert hour.
const AlertsSchedule = "cron(0 * * * ? *)"

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

// alertsJob is the scheduled job's function and its dead-letter queue.
type alertsJob struct {
	fn  awslambda.Function
	dlq awssqs.Queue
}

// Retry policy of the alert job's asynchronous invocations (EventBridge
// delivering to Lambda, then Lambda running the job): a run is idempotent
// (the outbox sends each member one digest a day), and a run older than
// an hour is superseded by the next scheduled one.
const (
	alertsJobRetryAttempts = 2
	alertsJobMaxEventAge   = 3600 // seconds
)

// newAlertsJob builds the job function and the hourly rule that invokes
// it with an empty event (the scheduled run, not forced).
//
// EventBridge invokes the function asynchronously, so a failure would
// otherwise vanish: events EventBridge cannot deliver (throttling,
// permissions) go to the rule target's dead-letter queue, and runs that
// fail after Lambda's retries go to the same queue through the function's
// on-failure destination. The queue is encrypted (SSE-SQS), refuses
// non-TLS requests, keeps messages 14 days, and has an alarm on any
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
	rule := awsevents.NewRule(scope, jsii.String("AlertsSchedule"), &awsevents.RuleProps{
		Description: jsii.String("Hourly: email the daily alert digests of the accounts at their alert hour"),
		Schedule:    awsevents.Schedule_Expression(jsii.String(AlertsSchedule)),
	})
	rule.AddTarget(awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
		Event:           awsevents.RuleTargetInput_FromObject(map[string]any{}),
		RetryAttempts:   jsii.Number(alertsJobRetryAttempts),
		MaxEventAge:     duration(alertsJobMaxEventAge),
		DeadLetterQueue: dlq,
	}))
	return alertsJob{fn: fn, dlq: dlq}
}

package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/stewardhq/steward/pkg/routes"
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
// outbox records and the unsubscribe tokens, which are the only partitions
// (OUTBOX#..., TOKEN#...) its writes may touch.
func alertsJobGrant(table awsdynamodb.ITable, fn awslambda.IFunction) {
	fn.AddToRolePolicy(tableStatement(table, tableReadActions))
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"),
		Resources: jsii.Strings(*table.TableArn()),
		Conditions: &map[string]any{
			"ForAllValues:StringLike": map[string]any{"dynamodb:LeadingKeys": []string{"OUTBOX#*", "TOKEN#*"}},
		},
	}))
}

// newAlertsJob builds the job function and the hourly rule that invokes
// it with an empty event (the scheduled run, not forced).
func newAlertsJob(scope constructs.Construct, props *StewardStackProps, table awsdynamodb.ITable, retention awslogs.RetentionDays, env map[string]*string) awslambda.Function {
	fn := newFunction(scope, routes.FunctionAlertsJob, props.AssetsDir, retention, env)
	if err := grantTable(routes.FunctionAlertsJob, table, fn); err != nil {
		panic(err) // unreachable: functionGrants has it
	}
	fn.AddToRolePolicy(sendEmailStatement(scope, props.MailFrom))
	rule := awsevents.NewRule(scope, jsii.String("AlertsSchedule"), &awsevents.RuleProps{
		Description: jsii.String("Hourly: email the daily alert digests of the accounts at their alert hour"),
		Schedule:    awsevents.Schedule_Expression(jsii.String(AlertsSchedule)),
	})
	rule.AddTarget(awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
		Event:         awsevents.RuleTargetInput_FromObject(map[string]any{}),
		RetryAttempts: jsii.Number(2),
	}))
	return fn
}

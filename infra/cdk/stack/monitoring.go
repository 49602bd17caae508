package stack

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Alarm thresholds. Every alarm treats missing data as OK (no traffic is
// not a failure) and notifies the alarm topic when it fires and when it
// recovers.
const (
	// alarmPeriodSeconds is the evaluation period of the operational
	// alarms (one period of five minutes).
	alarmPeriodSeconds = 300
	// api5xxThreshold: server errors of the API in one period. A single
	// 5xx is already in the function's logs; a handful is an incident.
	api5xxThreshold = 5
	// sesBounceRatePercent: bounces per send of Steward's configuration
	// set over an hour, once at least sesMinSends were sent. SES reviews
	// an account at a 5% bounce rate (and pauses it at 10%).
	sesBounceRatePercent = 5
	sesMinSends          = 20
	// sesReputationBounceRate and sesReputationComplaintRate are the
	// account-wide rates SES publishes (Reputation.*), at SES's warning
	// levels (5% and 0.1%).
	sesReputationBounceRate    = 0.05
	sesReputationComplaintRate = 0.001
	// publisherIteratorAgeMs: the age of the newest record the event
	// publisher has read (IteratorAge, ms). Beyond five minutes the events
	// fall behind the changes (a failing batch blocks its shard while it
	// is retried), and records older than a day are lost to the stream.
	publisherIteratorAgeMs = 5 * 60 * 1000
	// deliveryOldestMessageSeconds: the age of the oldest message of the
	// webhook delivery queue. A retry waits at most 15 minutes per hop
	// (SQS's longest delay), so an hour-old message means the delivery
	// function is not consuming the queue.
	deliveryOldestMessageSeconds = 3600
)

// monitored is what the alarms and the dashboard watch. stateMachine and
// alertsDLQ are nil when the route table has no approvals / alerts.
type monitored struct {
	functions    []deployedFunction
	api          deployedAPI
	table        awsdynamodb.Table
	stateMachine awsstepfunctions.StateMachine
	alertsDLQ    awssqs.Queue
	// events is the change events' pipeline (nil fields without it).
	events eventsPipeline
	mail   mailSettings
}

// monitoring is the alarm topic and the alarms.
type monitoring struct {
	topic  awssns.Topic
	alarms []awscloudwatch.Alarm
}

// newMonitoring builds the alarm topic (KMS-encrypted with its own key,
// TLS only, optionally an email subscription), one alarm per failure
// signal and the stage's dashboard.
//
// The topic has a customer managed key because CloudWatch cannot publish
// to a topic encrypted with the AWS managed key (alias/aws/sns): that
// key's policy cannot grant cloudwatch.amazonaws.com its use.
func newMonitoring(scope constructs.Construct, props *StewardStackProps, m monitored) monitoring {
	stage := props.stage()
	stack := awscdk.Stack_Of(scope)
	key := awskms.NewKey(scope, jsii.String("AlarmTopicKey"), &awskms.KeyProps{
		Description:       jsii.String("Steward alarm topic (" + stage + ")"),
		EnableKeyRotation: jsii.Bool(true),
		// It only encrypts alarm notifications in transit.
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		PendingWindow: awscdk.Duration_Days(jsii.Number(7)),
	})
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublish"),
		Effect:     awsiam.Effect_ALLOW,
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"),
	}), nil)
	topic := awssns.NewTopic(scope, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("Steward alarms (" + stage + ")"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublish"),
		Effect:     awsiam.Effect_ALLOW,
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{topic.TopicArn()},
		Conditions: &map[string]any{
			"ArnLike":      map[string]any{"aws:SourceArn": fmt.Sprintf("arn:%s:cloudwatch:%s:%s:alarm:*", *stack.Partition(), *stack.Region(), *stack.Account())},
			"StringEquals": map[string]any{"aws:SourceAccount": *stack.Account()},
		},
	}))
	if props.AlarmEmail != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(props.AlarmEmail), nil))
	}
	action := awscloudwatchactions.NewSnsAction(topic)
	mon := monitoring{topic: topic}
	period := duration(alarmPeriodSeconds)
	hour := duration(3600)

	alarm := func(id, description string, metric awscloudwatch.IMetric, threshold float64, cmp awscloudwatch.ComparisonOperator) {
		a := awscloudwatch.NewAlarm(scope, jsii.String("Alarm-"+id), &awscloudwatch.AlarmProps{
			AlarmName:          jsii.String(StackName(stage) + "-" + id),
			AlarmDescription:   jsii.String(description),
			Metric:             metric,
			Threshold:          jsii.Number(threshold),
			ComparisonOperator: cmp,
			EvaluationPeriods:  jsii.Number(1),
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
		a.AddOkAction(action)
		mon.alarms = append(mon.alarms, a)
	}
	atLeast := awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD
	sum := func(o *awscloudwatch.MetricOptions) *awscloudwatch.MetricOptions {
		o.Statistic = jsii.String("Sum")
		if o.Period == nil {
			o.Period = period
		}
		return o
	}

	for _, f := range m.functions {
		alarm("Function-"+f.name+"-Errors", "The "+f.name+" function failed (an error or a timeout); see its log group",
			f.fn.MetricErrors(sum(&awscloudwatch.MetricOptions{})), 1, atLeast)
		alarm("Function-"+f.name+"-Throttles", "The "+f.name+" function was throttled (account concurrency exhausted)",
			f.fn.MetricThrottles(sum(&awscloudwatch.MetricOptions{})), 1, atLeast)
	}
	if m.stateMachine != nil {
		alarm("ApprovalWorkflow-ExecutionsFailed", "An approval execution failed: a step failed beyond its retries; the request stays pending (see the execution history)",
			m.stateMachine.MetricFailed(sum(&awscloudwatch.MetricOptions{})), 1, atLeast)
		alarm("ApprovalWorkflow-ExecutionsTimedOut", "An approval execution timed out",
			m.stateMachine.MetricTimedOut(sum(&awscloudwatch.MetricOptions{})), 1, atLeast)
	}
	alarm("Api-5xx", fmt.Sprintf("The API answered at least %d server errors in %d minutes", api5xxThreshold, alarmPeriodSeconds/60),
		apiMetric(m.api, "5xx", "Sum", period), api5xxThreshold, atLeast)
	if m.alertsDLQ != nil {
		alarm("AlertsJob-DLQ", "An alert job run, or an account's task, failed after its retries (or could not be delivered): its event is in the dead-letter queue",
			m.alertsDLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: period}),
			0, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD)
	}
	if ev := m.events; ev.publisher != nil {
		greater := awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD
		maximum := &awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: period}
		alarm("EventPublisher-IteratorAge", fmt.Sprintf("The event publisher is more than %d minutes behind the table's stream: events and webhooks are late (a failing batch is being retried; see its log group)", publisherIteratorAgeMs/60000),
			ev.publisher.Metric(jsii.String("IteratorAge"), maximum), publisherIteratorAgeMs, greater)
		alarm("EventPublisher-DLQ", "A batch of the table's stream failed every retry of the event publisher: its events were not published (the dead-letter queue describes the records' shard and sequence numbers)",
			ev.publisherDLQ.MetricApproximateNumberOfMessagesVisible(maximum), 0, greater)
		alarm("WebhookDelivery-DLQ", "A webhook delivery task failed every receive of the delivery function: it is in the dead-letter queue",
			ev.deliveryDLQ.MetricApproximateNumberOfMessagesVisible(maximum), 0, greater)
		alarm("WebhookDelivery-OldestMessage", fmt.Sprintf("The webhook delivery queue holds a message older than %d minutes: the delivery function is not consuming it (a retry waits at most 15 minutes)", deliveryOldestMessageSeconds/60),
			ev.deliveryQueue.MetricApproximateAgeOfOldestMessage(maximum), deliveryOldestMessageSeconds, greater)
	}
	alarm("SES-BounceRate", fmt.Sprintf("At least %d%% of Steward's emails bounced in the last hour (configuration set %s)", sesBounceRatePercent, m.mail.configurationSet),
		awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression: jsii.String(fmt.Sprintf("IF(sends >= %d, 100 * bounces / sends, 0)", sesMinSends)),
			UsingMetrics: &map[string]awscloudwatch.IMetric{
				"sends":   m.mail.metric("Send", hour),
				"bounces": m.mail.metric("Bounce", hour),
			},
			Label:  jsii.String("Bounce rate (%)"),
			Period: hour,
		}), sesBounceRatePercent, atLeast)
	alarm("SES-Complaints", "A recipient marked a Steward email as spam in the last hour (configuration set "+m.mail.configurationSet+")",
		m.mail.metric("Complaint", hour), 1, atLeast)
	alarm("SES-ReputationBounceRate", "The account's SES bounce rate reached SES's warning level (5%)",
		sesReputationMetric("Reputation.BounceRate", hour), sesReputationBounceRate, atLeast)
	alarm("SES-ReputationComplaintRate", "The account's SES complaint rate reached SES's warning level (0.1%)",
		sesReputationMetric("Reputation.ComplaintRate", hour), sesReputationComplaintRate, atLeast)

	newDashboard(scope, stage, m, mon)
	return mon
}

// apiMetric is one of the HTTP API's metrics of the $default stage.
func apiMetric(api deployedAPI, name, statistic string, period awscdk.Duration) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:  jsii.String("AWS/ApiGateway"),
		MetricName: jsii.String(name),
		DimensionsMap: &map[string]*string{
			"ApiId": api.api.ApiId(),
			"Stage": api.stage.StageName(),
		},
		Statistic: jsii.String(statistic),
		Period:    period,
	})
}

// sesReputationMetric is an account-wide SES reputation rate.
func sesReputationMetric(name string, period awscdk.Duration) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:  jsii.String("AWS/SES"),
		MetricName: jsii.String(name),
		Statistic:  jsii.String("Maximum"),
		Period:     period,
	})
}

// newDashboard builds the stage's dashboard "Steward-<stage>": alarm
// states, the API, the functions, the approval workflow, the table and
// email.
func newDashboard(scope constructs.Construct, stage string, m monitored, mon monitoring) awscloudwatch.Dashboard {
	period := duration(alarmPeriodSeconds)
	graph := func(title string, left []awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Left: &left, Width: jsii.Number(8), Height: jsii.Number(6),
		})
	}
	perFunction := func(metric func(deployedFunction) awscloudwatch.IMetric) []awscloudwatch.IMetric {
		var out []awscloudwatch.IMetric
		for _, f := range m.functions {
			out = append(out, metric(f))
		}
		return out
	}
	alarms := make([]awscloudwatch.IAlarm, 0, len(mon.alarms))
	for _, a := range mon.alarms {
		alarms = append(alarms, a)
	}
	rows := [][]awscloudwatch.IWidget{
		{awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
			Title: jsii.String("Alarms"), Alarms: &alarms, Width: jsii.Number(24), Height: jsii.Number(4),
		})},
		{
			graph("API requests", []awscloudwatch.IMetric{apiMetric(m.api, "Count", "Sum", period)}),
			graph("API errors", []awscloudwatch.IMetric{apiMetric(m.api, "4xx", "Sum", period), apiMetric(m.api, "5xx", "Sum", period)}),
			graph("API latency (ms)", []awscloudwatch.IMetric{
				apiMetric(m.api, "Latency", "p50", period), apiMetric(m.api, "Latency", "p99", period),
				apiMetric(m.api, "IntegrationLatency", "p99", period),
			}),
		},
		{
			graph("Function errors", perFunction(func(f deployedFunction) awscloudwatch.IMetric {
				return f.fn.MetricErrors(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: period, Label: jsii.String(f.name)})
			})),
			graph("Function duration p99 (ms)", perFunction(func(f deployedFunction) awscloudwatch.IMetric {
				return f.fn.MetricDuration(&awscloudwatch.MetricOptions{Statistic: jsii.String("p99"), Period: period, Label: jsii.String(f.name)})
			})),
			graph("Function throttles", perFunction(func(f deployedFunction) awscloudwatch.IMetric {
				return f.fn.MetricThrottles(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: period, Label: jsii.String(f.name)})
			})),
		},
	}
	tableMetric := func(name string) awscloudwatch.IMetric {
		return m.table.Metric(jsii.String(name), &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: period, Label: jsii.String(name)})
	}
	third := []awscloudwatch.IWidget{
		graph("DynamoDB consumed capacity", []awscloudwatch.IMetric{tableMetric("ConsumedReadCapacityUnits"), tableMetric("ConsumedWriteCapacityUnits")}),
		graph("DynamoDB throttles", []awscloudwatch.IMetric{tableMetric("ReadThrottleEvents"), tableMetric("WriteThrottleEvents")}),
	}
	if m.stateMachine != nil {
		sm := func(name string) awscloudwatch.IMetric {
			return m.stateMachine.Metric(jsii.String(name), &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: period, Label: jsii.String(name)})
		}
		third = append([]awscloudwatch.IWidget{graph("Approval executions", []awscloudwatch.IMetric{
			sm("ExecutionsStarted"), sm("ExecutionsSucceeded"), sm("ExecutionsFailed"), sm("ExecutionsTimedOut"), sm("ExecutionsAborted"),
		})}, third...)
	}
	rows = append(rows, third)
	var mail []awscloudwatch.IMetric
	for _, name := range []string{"Send", "Delivery", "Bounce", "Complaint", "Reject"} {
		mail = append(mail, m.mail.metric(name, duration(3600)))
	}
	email := []awscloudwatch.IWidget{graph("Email (per hour)", mail)}
	if m.alertsDLQ != nil {
		email = append(email, graph("Alert job dead letters", []awscloudwatch.IMetric{
			m.alertsDLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: period}),
		}))
	}
	rows = append(rows, email)
	if ev := m.events; ev.publisher != nil {
		maximum := func(label string) *awscloudwatch.MetricOptions {
			return &awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: period, Label: jsii.String(label)}
		}
		rows = append(rows, []awscloudwatch.IWidget{
			graph("Event publisher iterator age (ms)", []awscloudwatch.IMetric{ev.publisher.Metric(jsii.String("IteratorAge"), maximum("IteratorAge"))}),
			graph("Webhook deliveries queued", []awscloudwatch.IMetric{
				ev.deliveryQueue.MetricApproximateNumberOfMessagesVisible(maximum("visible")),
				ev.deliveryQueue.MetricApproximateNumberOfMessagesNotVisible(maximum("in flight")),
				ev.deliveryQueue.MetricApproximateAgeOfOldestMessage(maximum("oldest (s)")),
			}),
			graph("Events dead letters", []awscloudwatch.IMetric{
				ev.publisherDLQ.MetricApproximateNumberOfMessagesVisible(maximum("publisher")),
				ev.deliveryDLQ.MetricApproximateNumberOfMessagesVisible(maximum("delivery")),
			}),
		})
	}

	widgets := make([]*[]awscloudwatch.IWidget, len(rows))
	for i := range rows {
		widgets[i] = &rows[i]
	}
	return awscloudwatch.NewDashboard(scope, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String(StackName(stage)),
		Widgets:       &widgets,
	})
}

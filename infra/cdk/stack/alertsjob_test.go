package stack

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/stewardhq/steward/pkg/routes"
)

// childLogicalID returns the logical id of the stack's construct id (its
// default child).
func (s *synthesized) childLogicalID(t *testing.T, id string) string {
	t.Helper()
	c := s.stack.Node().TryFindChild(jsii.String(id))
	if c == nil {
		t.Fatalf("no construct %s", id)
	}
	el, ok := c.Node().DefaultChild().(awscdk.CfnElement)
	if !ok {
		t.Fatalf("%s: default child is not a CfnElement", id)
	}
	return *s.stack.GetLogicalId(el)
}

// TestAlertsJobScheduleAndIAM: an hourly rule invokes the alert job with
// the event's time, whose role reads the table, writes only outbox and
// token partitions, sends email from the sender's identity through the
// configuration set, may send tasks to its work queue and its failed runs
// to its dead-letter queue, and consumes the work queue; nothing else.
func TestAlertsJobScheduleAndIAM(t *testing.T) {
	s := defaultStack(t)
	tableID, _ := theTable(t, s)
	fnID := s.functionLogicalID(t, routes.FunctionAlertsJob)

	ruleID := s.onlyOfType(t, "AWS::Events::Rule")
	rule := props(s.res[ruleID])
	equal(t, "schedule", rule["ScheduleExpression"], AlertsSchedule)
	equal(t, "state", rule["State"], "ENABLED")
	targets := rule["Targets"].([]any)
	if len(targets) != 1 {
		t.Fatalf("rule targets = %v", targets)
	}
	equal(t, "target", targets[0].(map[string]any)["Arn"], map[string]any{"Fn::GetAtt": []string{fnID, "Arn"}})
	equal(t, "target input", targets[0].(map[string]any)["InputTransformer"], map[string]any{
		"InputPathsMap": map[string]any{"time": "$.time"},
		"InputTemplate": `{"time":<time>}`,
	})
	perms := 0
	for _, p := range s.ofType("AWS::Lambda::Permission") {
		pp := props(p)
		if pp["Principal"] == "events.amazonaws.com" {
			perms++
			equal(t, "permission function", pp["FunctionName"], map[string]any{"Fn::GetAtt": []string{fnID, "Arn"}})
		}
	}
	if perms != 1 {
		t.Fatalf("want one EventBridge invoke permission, got %d", perms)
	}

	roleID := props(s.res[fnID])["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
	var statements []any
	for _, pol := range s.ofType("AWS::IAM::Policy") {
		for _, r := range props(pol)["Roles"].([]any) {
			if r.(map[string]any)["Ref"] == roleID {
				statements = append(statements, props(pol)["PolicyDocument"].(map[string]any)["Statement"].([]any)...)
			}
		}
	}
	raw := string(must(json.Marshal(statements)))
	if len(statements) != 5 {
		t.Fatalf("job statements = %s", raw)
	}
	tableArn := map[string]any{"Fn::GetAtt": []string{tableID, "Arn"}}
	equal(t, "reads", statements[0].(map[string]any)["Action"], []string{"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"})
	w := statements[1].(map[string]any)
	equal(t, "writes", w["Action"], []string{"dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"})
	equal(t, "write resource", w["Resource"], tableArn)
	equal(t, "write condition", w["Condition"], map[string]any{
		"ForAllValues:StringLike": map[string]any{"dynamodb:LeadingKeys": []string{"OUTBOX#digest/*", "TOKEN#unsubscribe#*"}},
	})
	equal(t, "send", statements[2].(map[string]any)["Action"], "ses:SendEmail")
	dlqID := s.childLogicalID(t, "AlertsJob-DLQ")
	workID := s.childLogicalID(t, "AlertsWork")
	equal(t, "dead letters and tasks", statements[3], map[string]any{
		"Action":   []string{"sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"},
		"Effect":   "Allow",
		"Resource": []any{map[string]any{"Fn::GetAtt": []string{dlqID, "Arn"}}, map[string]any{"Fn::GetAtt": []string{workID, "Arn"}}},
	})
	equal(t, "consume tasks", statements[4], map[string]any{
		"Action":   []string{"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage"},
		"Effect":   "Allow",
		"Resource": map[string]any{"Fn::GetAtt": []string{workID, "Arn"}},
	})
	for _, forbidden := range []string{"secretsmanager", "states:", "dynamodb:*", "\"*\""} {
		if strings.Contains(raw, forbidden) {
			t.Errorf("job role has %s: %s", forbidden, raw)
		}
	}
	equal(t, "job memory", props(s.res[fnID])["MemorySize"], SettingsFor(routes.FunctionAlertsJob).MemoryMB)
}

// TestAlertsJobDeadLetters: both asynchronous hops of the job keep their
// failures: the rule target (EventBridge to Lambda) and the function's
// own retries end in one encrypted, TLS-only queue, with bounded retries.
func TestAlertsJobDeadLetters(t *testing.T) {
	s := defaultStack(t)
	fnID := s.functionLogicalID(t, routes.FunctionAlertsJob)
	dlqID := s.childLogicalID(t, "AlertsJob-DLQ")
	dlqArn := map[string]any{"Fn::GetAtt": []string{dlqID, "Arn"}}

	q := props(s.res[dlqID])
	equal(t, "queue encryption", q["SqsManagedSseEnabled"], true)
	equal(t, "queue retention", q["MessageRetentionPeriod"], 14*24*3600)

	target := props(s.res[s.onlyOfType(t, "AWS::Events::Rule")])["Targets"].([]any)[0].(map[string]any)
	equal(t, "target DLQ", target["DeadLetterConfig"], map[string]any{"Arn": dlqArn})
	equal(t, "target retry", target["RetryPolicy"], map[string]any{
		"MaximumRetryAttempts": alertsJobRetryAttempts, "MaximumEventAgeInSeconds": alertsJobMaxEventAge,
	})

	cfg := props(s.res[s.onlyOfType(t, "AWS::Lambda::EventInvokeConfig")])
	equal(t, "invoke config function", cfg["FunctionName"], map[string]any{"Ref": fnID})
	equal(t, "on failure", cfg["DestinationConfig"], map[string]any{"OnFailure": map[string]any{"Destination": dlqArn}})
	equal(t, "lambda retries", cfg["MaximumRetryAttempts"], alertsJobRetryAttempts)
	equal(t, "lambda max age", cfg["MaximumEventAgeInSeconds"], alertsJobMaxEventAge)

	// TLS only, and only the rule may send to it besides the job's role.
	var pol map[string]any
	for _, p := range s.ofType("AWS::SQS::QueuePolicy") {
		for _, q := range props(p)["Queues"].([]any) {
			if q.(map[string]any)["Ref"] == dlqID {
				pol = props(p)
			}
		}
	}
	raw := string(must(json.Marshal(pol)))
	if !strings.Contains(raw, `"aws:SecureTransport":"false"`) || !strings.Contains(raw, "events.amazonaws.com") {
		t.Errorf("queue policy lacks the TLS deny or the EventBridge grant: %s", raw)
	}
}

// TestAlertsWorkQueue: the scheduled run's tasks go to an encrypted,
// TLS-only queue whose messages invoke the job one account at a time, at
// most alertsWorkConcurrency at once, reporting failed items; a task that
// fails alertsWorkMaxReceives times moves to the job's dead-letter queue
// (and its alarm). A task stays hidden longer than the function may run.
func TestAlertsWorkQueue(t *testing.T) {
	s := defaultStack(t)
	fnID := s.functionLogicalID(t, routes.FunctionAlertsJob)
	workID := s.childLogicalID(t, "AlertsWork")
	dlqID := s.childLogicalID(t, "AlertsJob-DLQ")
	// Besides the change events' three (events.go).
	if n := len(s.ofType("AWS::SQS::Queue")); n != 2+3 {
		t.Fatalf("want the work queue and the dead-letter queue (and the events' three), got %d queues", n)
	}

	q := props(s.res[workID])
	equal(t, "queue encryption", q["SqsManagedSseEnabled"], true)
	equal(t, "queue retention", q["MessageRetentionPeriod"], alertsWorkRetention)
	equal(t, "redrive", q["RedrivePolicy"], map[string]any{
		"deadLetterTargetArn": map[string]any{"Fn::GetAtt": []string{dlqID, "Arn"}},
		"maxReceiveCount":     alertsWorkMaxReceives,
	})
	timeout := SettingsFor(routes.FunctionAlertsJob).TimeoutSeconds
	if v, _ := q["VisibilityTimeout"].(float64); v < float64(timeout) {
		t.Fatalf("visibility timeout %v is shorter than the function's timeout %v", q["VisibilityTimeout"], timeout)
	}
	var tls bool
	for _, p := range s.ofType("AWS::SQS::QueuePolicy") {
		for _, qq := range props(p)["Queues"].([]any) {
			if qq.(map[string]any)["Ref"] == workID {
				tls = strings.Contains(string(must(json.Marshal(props(p)))), `"aws:SecureTransport":"false"`)
			}
		}
	}
	if !tls {
		t.Error("the work queue does not refuse non-TLS requests")
	}

	esm := eventSourceMappingOf(t, s, fnID)
	equal(t, "source", esm["EventSourceArn"], map[string]any{"Fn::GetAtt": []string{workID, "Arn"}})
	equal(t, "function", esm["FunctionName"], map[string]any{"Ref": fnID})
	equal(t, "batch size", esm["BatchSize"], alertsWorkBatchSize)
	equal(t, "partial failures", esm["FunctionResponseTypes"], []string{"ReportBatchItemFailures"})
	equal(t, "concurrency", esm["ScalingConfig"], map[string]any{"MaximumConcurrency": alertsWorkConcurrency})

	env := props(s.res[fnID])["Environment"].(map[string]any)["Variables"].(map[string]any)
	equal(t, "queue url", env[EnvAlertsQueueURL], map[string]any{"Ref": workID})
}

package stack

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stewardhq/steward/pkg/routes"
)

// TestAlertsJobScheduleAndIAM: an hourly rule invokes the alert job, whose
// role reads the table, writes only outbox and token partitions, sends
// email from the sender's identity through the configuration set, and may
// send its failed runs to its dead-letter queue; nothing else.
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
	if len(statements) != 4 {
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
	dlqID := s.onlyOfType(t, "AWS::SQS::Queue")
	equal(t, "dead letters", statements[3], map[string]any{
		"Action":   []string{"sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"},
		"Effect":   "Allow",
		"Resource": map[string]any{"Fn::GetAtt": []string{dlqID, "Arn"}},
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
	dlqID := s.onlyOfType(t, "AWS::SQS::Queue")
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
	pol := props(s.res[s.onlyOfType(t, "AWS::SQS::QueuePolicy")])
	raw := string(must(json.Marshal(pol)))
	if !strings.Contains(raw, `"aws:SecureTransport":"false"`) || !strings.Contains(raw, "events.amazonaws.com") {
		t.Errorf("queue policy lacks the TLS deny or the EventBridge grant: %s", raw)
	}
}

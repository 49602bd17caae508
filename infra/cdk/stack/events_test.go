package stack

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/stewardhq/steward/pkg/routes"
	"github.com/stewardhq/steward/pkg/store"
)

// eventSourceMappingOf returns the properties of the one event source
// mapping that invokes the function with logical id fnID.
func eventSourceMappingOf(t *testing.T, s *synthesized, fnID string) map[string]any {
	t.Helper()
	var out []map[string]any
	for _, m := range s.ofType("AWS::Lambda::EventSourceMapping") {
		if p := props(m); normalizeRef(p["FunctionName"]) == fnID {
			out = append(out, p)
		}
	}
	if len(out) != 1 {
		t.Fatalf("want one event source mapping of %s, got %d", fnID, len(out))
	}
	return out[0]
}

// normalizeRef is the logical id a {"Ref": id} names, or "".
func normalizeRef(v any) string {
	m, _ := v.(map[string]any)
	ref, _ := m["Ref"].(string)
	return ref
}

// roleStatements returns the statements of every policy of the role of the
// function with logical id fnID.
func roleStatements(s *synthesized, fnID string) []any {
	roleID := props(s.res[fnID])["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
	var out []any
	for _, pol := range s.ofType("AWS::IAM::Policy") {
		for _, r := range asList(props(pol)["Roles"]) {
			if r.(map[string]any)["Ref"] == roleID {
				out = append(out, asList(props(pol)["PolicyDocument"].(map[string]any)["Statement"])...)
			}
		}
	}
	return out
}

// queueRefusesPlainHTTP reports whether a queue policy of the queue with
// logical id id denies non-TLS requests.
func queueRefusesPlainHTTP(s *synthesized, id string) bool {
	for _, p := range s.ofType("AWS::SQS::QueuePolicy") {
		for _, q := range asList(props(p)["Queues"]) {
			if q.(map[string]any)["Ref"] == id && strings.Contains(string(must(json.Marshal(props(p)))), `"aws:SecureTransport":"false"`) {
				return true
			}
		}
	}
	return false
}

// TestTableStream: the table keeps a stream of new item images
// (store.Definition.Stream), which the event publisher reads.
func TestTableStream(t *testing.T) {
	if !store.Definition.Stream {
		t.Fatal("store.Definition has no stream: the change events need it")
	}
	s := defaultStack(t)
	_, tbl := theTable(t, s)
	equal(t, "stream", props(tbl)["StreamSpecification"], map[string]any{"StreamViewType": "NEW_IMAGE"})
}

// TestEventBus: the stage's custom bus is named steward-<stage>, and the
// stack's outputs give its name and ARN for host applications' rules.
func TestEventBus(t *testing.T) {
	s := defaultStack(t)
	busID := s.onlyOfType(t, "AWS::Events::EventBus")
	equal(t, "bus name", props(s.res[busID])["Name"], EventBusName(DefaultStage))
	equal(t, "default name", EventBusName(DefaultStage), "steward-dev")

	outputs := (*s.template.ToJSON())["Outputs"].(map[string]any)
	equal(t, "output name", outputs["EventBusName"].(map[string]any)["Value"], map[string]any{"Ref": busID})
	equal(t, "output arn", outputs["EventBusArn"].(map[string]any)["Value"], map[string]any{"Fn::GetAtt": []string{busID, "Arn"}})

	custom := customStack(t)
	equal(t, "prod bus name", props(custom.res[custom.onlyOfType(t, "AWS::Events::EventBus")])["Name"], "steward-prod")
}

// TestEventPublisher: the table's stream invokes the publisher with new
// audit items only, from the oldest record, in batches of up to 100
// gathered for a second; a failing batch is split and retried 10 times
// within a day, then described in the publisher's encrypted, TLS-only
// dead-letter queue. The publisher knows the bus and the delivery queue.
func TestEventPublisher(t *testing.T) {
	s := defaultStack(t)
	tableID, _ := theTable(t, s)
	fnID := s.functionLogicalID(t, routes.FunctionEventPublisher)
	dlqID := s.childLogicalID(t, "EventPublisher-DLQ")

	esm := eventSourceMappingOf(t, s, fnID)
	equal(t, "source", esm["EventSourceArn"], map[string]any{"Fn::GetAtt": []string{tableID, "StreamArn"}})
	equal(t, "starting position", esm["StartingPosition"], "TRIM_HORIZON")
	equal(t, "batch size", esm["BatchSize"], 100)
	equal(t, "batching window", esm["MaximumBatchingWindowInSeconds"], 1)
	equal(t, "bisect", esm["BisectBatchOnFunctionError"], true)
	equal(t, "retries", esm["MaximumRetryAttempts"], 10)
	equal(t, "record age", esm["MaximumRecordAgeInSeconds"], 24*3600)
	equal(t, "on failure", esm["DestinationConfig"], map[string]any{
		"OnFailure": map[string]any{"Destination": map[string]any{"Fn::GetAtt": []string{dlqID, "Arn"}}},
	})
	filters := asList(esm["FilterCriteria"].(map[string]any)["Filters"])
	if len(filters) != 1 {
		t.Fatalf("filters = %v", filters)
	}
	var pattern any
	if err := json.Unmarshal([]byte(filters[0].(map[string]any)["Pattern"].(string)), &pattern); err != nil {
		t.Fatal(err)
	}
	equal(t, "filter", pattern, map[string]any{
		"eventName": []string{"INSERT"},
		"dynamodb":  map[string]any{"NewImage": map[string]any{"type": map[string]any{"S": []string{"audit"}}}},
	})
	equal(t, "audit item type", store.AuditItemType, "audit")
	equal(t, "type attribute", store.AttrType, "type")

	q := props(s.res[dlqID])
	equal(t, "dlq encryption", q["SqsManagedSseEnabled"], true)
	equal(t, "dlq retention", q["MessageRetentionPeriod"], 14*24*3600)
	if !queueRefusesPlainHTTP(s, dlqID) {
		t.Error("the publisher's dead-letter queue does not refuse non-TLS requests")
	}

	fn := props(s.res[fnID])
	equal(t, "memory", fn["MemorySize"], 256)
	equal(t, "timeout", fn["Timeout"], 60)
	equal(t, "sizing", SettingsFor(routes.FunctionEventPublisher), FunctionSettings{MemoryMB: 256, TimeoutSeconds: 60})
	equal(t, "environment", fn["Environment"], map[string]any{"Variables": map[string]any{
		EnvTable:           map[string]any{"Ref": tableID},
		EnvStage:           DefaultStage,
		EnvEventBus:        map[string]any{"Ref": s.onlyOfType(t, "AWS::Events::EventBus")},
		EnvWebhookQueueURL: map[string]any{"Ref": s.childLogicalID(t, "WebhookDelivery")},
	}})
	equal(t, "event bus variable", EnvEventBus, "STEWARD_EVENT_BUS")
}

// TestWebhookDelivery: the delivery queue is encrypted, TLS-only, hides a
// message six times the function's timeout, keeps it 4 days and moves it
// to an encrypted, TLS-only dead-letter queue (14 days) after 5 receives;
// it invokes the delivery function 10 messages at a time, at most 20
// invocations at once, reporting failed items.
func TestWebhookDelivery(t *testing.T) {
	s := defaultStack(t)
	tableID, _ := theTable(t, s)
	fnID := s.functionLogicalID(t, routes.FunctionWebhookDelivery)
	queueID := s.childLogicalID(t, "WebhookDelivery")
	dlqID := s.childLogicalID(t, "WebhookDelivery-DLQ")

	q := props(s.res[queueID])
	equal(t, "queue encryption", q["SqsManagedSseEnabled"], true)
	equal(t, "queue retention", q["MessageRetentionPeriod"], 4*24*3600)
	equal(t, "redrive", q["RedrivePolicy"], map[string]any{
		"deadLetterTargetArn": map[string]any{"Fn::GetAtt": []string{dlqID, "Arn"}},
		"maxReceiveCount":     5,
	})
	timeout := SettingsFor(routes.FunctionWebhookDelivery).TimeoutSeconds
	if v, _ := q["VisibilityTimeout"].(float64); v < 6*timeout {
		t.Errorf("visibility timeout %v is shorter than six times the function's timeout %v", q["VisibilityTimeout"], timeout)
	}
	d := props(s.res[dlqID])
	equal(t, "dlq encryption", d["SqsManagedSseEnabled"], true)
	equal(t, "dlq retention", d["MessageRetentionPeriod"], 14*24*3600)
	for _, id := range []string{queueID, dlqID} {
		if !queueRefusesPlainHTTP(s, id) {
			t.Errorf("%s does not refuse non-TLS requests", id)
		}
	}

	esm := eventSourceMappingOf(t, s, fnID)
	equal(t, "source", esm["EventSourceArn"], map[string]any{"Fn::GetAtt": []string{queueID, "Arn"}})
	equal(t, "batch size", esm["BatchSize"], 10)
	equal(t, "partial failures", esm["FunctionResponseTypes"], []string{"ReportBatchItemFailures"})
	equal(t, "concurrency", esm["ScalingConfig"], map[string]any{"MaximumConcurrency": 20})

	fn := props(s.res[fnID])
	equal(t, "memory", fn["MemorySize"], 256)
	equal(t, "timeout", fn["Timeout"], 30)
	equal(t, "sizing", SettingsFor(routes.FunctionWebhookDelivery), FunctionSettings{MemoryMB: 256, TimeoutSeconds: 30})
	// The workers' environment (it emails an account whose endpoint it
	// disables) and the queue it re-sends retries to.
	equal(t, "environment", fn["Environment"], map[string]any{"Variables": map[string]any{
		EnvTable:               map[string]any{"Ref": tableID},
		EnvStage:               DefaultStage,
		EnvPublicURL:           "https://steward.example.com",
		EnvMailFrom:            "Steward <no-reply@steward.example.com>",
		EnvSESConfigurationSet: "steward-" + DefaultStage,
		EnvWebhookQueueURL:     map[string]any{"Ref": queueID},
		// The cursor key (in the verify-key secret) opens endpoint secrets.
		EnvVerifyKeysSecret: map[string]any{"Ref": secretID(t, s, "VerifyKeys")},
	}})
	equal(t, "queue variable", EnvWebhookQueueURL, "STEWARD_WEBHOOK_QUEUE_URL")
}

// sqsStatements returns the statements of the role of the function with
// logical id fnID that name an SQS action.
func sqsStatements(s *synthesized, fnID string) []any {
	var out []any
	for _, st := range roleStatements(s, fnID) {
		if strings.Contains(string(must(json.Marshal(st))), "sqs:") {
			out = append(out, st)
		}
	}
	return out
}

// functionEnv returns the environment variables of the function with
// logical id fnID.
func functionEnv(s *synthesized, fnID string) map[string]any {
	env, _ := props(s.res[fnID])["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	return vars
}

// TestReplayFunctionsSendToTheDeliveryQueue: the functions that replay
// webhook deliveries, webhooks (POST /v1/webhooks/{id}/replay) and users
// (the admin portal's POST /portal/webhooks/{id}/replay), get the
// delivery queue's URL and may send to that queue, and nothing more on
// SQS; no other API function has either.
func TestReplayFunctionsSendToTheDeliveryQueue(t *testing.T) {
	s := defaultStack(t)
	queueID := s.childLogicalID(t, "WebhookDelivery")
	replays := []string{routes.FunctionWebhooks, routes.FunctionUsers}
	for _, name := range routes.Functions() {
		fnID := s.functionLogicalID(t, name)
		url, hasURL := functionEnv(s, fnID)[EnvWebhookQueueURL]
		sqs := sqsStatements(s, fnID)
		if !slices.Contains(replays, name) {
			if hasURL || len(sqs) > 0 {
				t.Errorf("%s does not replay, yet has %s = %v and SQS statements %v", name, EnvWebhookQueueURL, url, sqs)
			}
			continue
		}
		equal(t, name+" queue url", url, map[string]any{"Ref": queueID})
		equal(t, name+" sqs statements", sqs, []any{map[string]any{
			"Action":   "sqs:SendMessage",
			"Effect":   "Allow",
			"Resource": map[string]any{"Fn::GetAtt": []string{queueID, "Arn"}},
		}})
	}
}

// TestNoStreamNoEvents: a table definition without a stream deploys no
// events pipeline (no bus, no publisher, no delivery queue).
func TestNoStreamNoEvents(t *testing.T) {
	def := store.Definition
	def.Stream = false
	s := synth(t, nil, func(p *StewardStackProps) { p.Table = &def })
	_, tbl := theTable(t, s)
	if v, ok := props(tbl)["StreamSpecification"]; ok {
		t.Errorf("stream = %v", v)
	}
	if n := len(s.ofType("AWS::Events::EventBus")); n != 0 {
		t.Errorf("%d event buses", n)
	}
	// Only the alert job's work queue invokes a function.
	if n := len(s.ofType("AWS::Lambda::EventSourceMapping")); n != 1 {
		t.Errorf("%d event source mappings, want the alert job's", n)
	}
	for _, fn := range []string{functionID(routes.FunctionEventPublisher), functionID(routes.FunctionWebhookDelivery), "WebhookDelivery", "EventBus"} {
		if s.stack.Node().TryFindChild(&fn) != nil {
			t.Errorf("construct %s exists", fn)
		}
	}
	if _, ok := (*s.template.ToJSON())["Outputs"].(map[string]any)["EventBusName"]; ok {
		t.Error("an EventBusName output without a bus")
	}
}

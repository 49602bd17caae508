package stack

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/stewardhq/steward/pkg/routes"
)

// alarmsByName returns the stack's alarms by AlarmName.
func alarmsByName(s *synthesized) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, a := range s.ofType("AWS::CloudWatch::Alarm") {
		out[props(a)["AlarmName"].(string)] = props(a)
	}
	return out
}

// dims renders an alarm's dimensions as name -> value.
func dims(p map[string]any) map[string]any {
	out := map[string]any{}
	for _, d := range asList(p["Dimensions"]) {
		dm := d.(map[string]any)
		out[dm["Name"].(string)] = dm["Value"]
	}
	return out
}

func TestAlarms(t *testing.T) {
	s := defaultStack(t)
	topic := map[string]any{"Ref": s.onlyOfType(t, "AWS::SNS::Topic")}
	alarms := alarmsByName(s)
	prefix := StackName(DefaultStage) + "-"

	// Every alarm notifies the one topic, firing and recovering, and
	// treats missing data as OK.
	for name, a := range alarms {
		equal(t, name+" AlarmActions", a["AlarmActions"], []any{topic})
		equal(t, name+" OKActions", a["OKActions"], []any{topic})
		equal(t, name+" TreatMissingData", a["TreatMissingData"], "notBreaching")
	}

	want := map[string]bool{}
	check := func(name, namespace, metric string, threshold float64, dimensions map[string]any) {
		t.Helper()
		want[prefix+name] = true
		a, ok := alarms[prefix+name]
		if !ok {
			t.Errorf("no alarm %s", prefix+name)
			return
		}
		equal(t, name+" metric", []any{a["Namespace"], a["MetricName"]}, []any{namespace, metric})
		equal(t, name+" threshold", a["Threshold"], threshold)
		equal(t, name+" dimensions", dims(a), dimensions)
	}
	fns := append(routes.Functions(), routes.FunctionWorkflow, routes.FunctionAlertsJob, routes.FunctionEventPublisher, routes.FunctionWebhookDelivery)
	for _, fn := range fns {
		d := map[string]any{"FunctionName": map[string]any{"Ref": s.functionLogicalID(t, fn)}}
		check("Function-"+fn+"-Errors", "AWS/Lambda", "Errors", 1, d)
		check("Function-"+fn+"-Throttles", "AWS/Lambda", "Throttles", 1, d)
	}
	sm := map[string]any{"StateMachineArn": map[string]any{"Ref": s.onlyOfType(t, "AWS::StepFunctions::StateMachine")}}
	check("ApprovalWorkflow-ExecutionsFailed", "AWS/States", "ExecutionsFailed", 1, sm)
	check("ApprovalWorkflow-ExecutionsTimedOut", "AWS/States", "ExecutionsTimedOut", 1, sm)
	check("Api-5xx", "AWS/ApiGateway", "5xx", api5xxThreshold, map[string]any{
		"ApiId": map[string]any{"Ref": s.onlyOfType(t, "AWS::ApiGatewayV2::Api")},
		"Stage": "$default",
	})
	check("AlertsJob-DLQ", "AWS/SQS", "ApproximateNumberOfMessagesVisible", 0, map[string]any{
		"QueueName": map[string]any{"Fn::GetAtt": []string{s.childLogicalID(t, "AlertsJob-DLQ"), "QueueName"}},
	})
	equal(t, "DLQ alarm comparison", alarms[prefix+"AlertsJob-DLQ"]["ComparisonOperator"], "GreaterThanThreshold")
	// The change events' pipeline (events.go).
	queue := func(id string) map[string]any {
		return map[string]any{"QueueName": map[string]any{"Fn::GetAtt": []string{s.childLogicalID(t, id), "QueueName"}}}
	}
	check("EventPublisher-IteratorAge", "AWS/Lambda", "IteratorAge", publisherIteratorAgeMs,
		map[string]any{"FunctionName": map[string]any{"Ref": s.functionLogicalID(t, routes.FunctionEventPublisher)}})
	check("EventPublisher-DLQ", "AWS/SQS", "ApproximateNumberOfMessagesVisible", 0, queue("EventPublisher-DLQ"))
	check("WebhookDelivery-DLQ", "AWS/SQS", "ApproximateNumberOfMessagesVisible", 0, queue("WebhookDelivery-DLQ"))
	check("WebhookDelivery-OldestMessage", "AWS/SQS", "ApproximateAgeOfOldestMessage", deliveryOldestMessageSeconds, queue("WebhookDelivery"))
	for _, name := range []string{"EventPublisher-IteratorAge", "EventPublisher-DLQ", "WebhookDelivery-DLQ", "WebhookDelivery-OldestMessage"} {
		a := alarms[prefix+name]
		equal(t, name+" comparison", a["ComparisonOperator"], "GreaterThanThreshold")
		equal(t, name+" statistic", a["Statistic"], "Maximum")
		equal(t, name+" period", a["Period"], alarmPeriodSeconds)
	}
	if publisherIteratorAgeMs != 5*60*1000 || deliveryOldestMessageSeconds != 3600 {
		t.Errorf("thresholds: iterator age %d ms, oldest message %d s; want 5 minutes and an hour", publisherIteratorAgeMs, deliveryOldestMessageSeconds)
	}

	cs := map[string]any{SESDimension: "steward-" + DefaultStage}
	check("SES-Complaints", "AWS/SES", "Complaint", 1, cs)
	check("SES-ReputationBounceRate", "AWS/SES", "Reputation.BounceRate", sesReputationBounceRate, map[string]any{})
	check("SES-ReputationComplaintRate", "AWS/SES", "Reputation.ComplaintRate", sesReputationComplaintRate, map[string]any{})

	// The bounce rate is metric math over the configuration set's metrics.
	want[prefix+"SES-BounceRate"] = true
	br := alarms[prefix+"SES-BounceRate"]
	raw := string(must(json.Marshal(br["Metrics"])))
	for _, s := range []string{`"MetricName":"Bounce"`, `"MetricName":"Send"`, `"Name":"ses:configuration-set"`, "100 * bounces / sends"} {
		if !strings.Contains(raw, s) {
			t.Errorf("SES-BounceRate metrics lack %s: %s", s, raw)
		}
	}
	equal(t, "SES-BounceRate threshold", br["Threshold"], sesBounceRatePercent)

	for name := range alarms {
		if !want[name] {
			t.Errorf("unexpected alarm %s", name)
		}
	}
}

func TestAlarmTopicEncryptedTLSOnly(t *testing.T) {
	s := defaultStack(t)
	keyID := s.onlyOfType(t, "AWS::KMS::Key")
	key := props(s.res[keyID])
	equal(t, "key rotation", key["EnableKeyRotation"], true)
	if !strings.Contains(string(must(json.Marshal(key["KeyPolicy"]))), `"Service":"cloudwatch.amazonaws.com"`) {
		t.Errorf("the key policy does not let CloudWatch use the key: %v", key["KeyPolicy"])
	}
	topic := props(s.res[s.onlyOfType(t, "AWS::SNS::Topic")])
	equal(t, "topic key", topic["KmsMasterKeyId"], map[string]any{"Fn::GetAtt": []string{keyID, "Arn"}})
	pol := string(must(json.Marshal(props(s.res[s.onlyOfType(t, "AWS::SNS::TopicPolicy")]))))
	for _, want := range []string{`"aws:SecureTransport":"false"`, `"Effect":"Deny"`, `"Service":"cloudwatch.amazonaws.com"`, `"aws:SourceArn"`} {
		if !strings.Contains(pol, want) {
			t.Errorf("topic policy lacks %s: %s", want, pol)
		}
	}
	// No alarmEmail in cdk.json: no subscription.
	s.template.ResourceCountIs(jsii.String("AWS::SNS::Subscription"), jsii.Number(0))
}

// TestEveryLogGroupHasRetention: the functions', the state machine's and
// the API access log group.
func TestEveryLogGroupHasRetention(t *testing.T) {
	s := defaultStack(t)
	groups := s.ofType("AWS::Logs::LogGroup")
	if want := len(routes.Functions()) + 4 + 2; len(groups) != want {
		t.Errorf("want %d log groups (functions, state machine, API), got %d", want, len(groups))
	}
	for id, g := range groups {
		equal(t, id+" retention", props(g)["RetentionInDays"], DefaultLogRetentionDays)
	}
}

func TestAPIAccessLogs(t *testing.T) {
	s := defaultStack(t)
	st := props(s.res[s.onlyOfType(t, "AWS::ApiGatewayV2::Stage")])
	als := st["AccessLogSettings"].(map[string]any)
	lg := als["DestinationArn"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
	if s.res[lg]["Type"] != "AWS::Logs::LogGroup" {
		t.Fatalf("access logs go to %s", lg)
	}
	var format map[string]string
	if err := json.Unmarshal([]byte(als["Format"].(string)), &format); err != nil {
		t.Fatalf("format is not JSON: %v", err)
	}
	equal(t, "request id", format["requestId"], "$context.requestId")
	equal(t, "route key", format["routeKey"], "$context.routeKey")
	// Tokens travel in paths and queries: never log them.
	if strings.Contains(als["Format"].(string), "$context.path") {
		t.Errorf("access log format logs the path: %s", als["Format"])
	}
}

func TestSESConfigurationSet(t *testing.T) {
	s := defaultStack(t)
	csID := s.onlyOfType(t, "AWS::SES::ConfigurationSet")
	cs := props(s.res[csID])
	equal(t, "name", cs["Name"], "steward-"+DefaultStage)
	equal(t, "suppression", cs["SuppressionOptions"], map[string]any{"SuppressedReasons": []string{"BOUNCE", "COMPLAINT"}})
	ed := props(s.res[s.onlyOfType(t, "AWS::SES::ConfigurationSetEventDestination")])
	equal(t, "event destination set", ed["ConfigurationSetName"], map[string]any{"Ref": csID})
	d := ed["EventDestination"].(map[string]any)
	equal(t, "enabled", d["Enabled"], true)
	events := asList(d["MatchingEventTypes"])
	for _, e := range []string{"send", "delivery", "bounce", "complaint", "reject"} {
		if !slices.Contains(events, any(e)) {
			t.Errorf("event destination lacks %s: %v", e, events)
		}
	}
	equal(t, "dimension", d["CloudWatchDestination"], map[string]any{"DimensionConfigurations": []any{map[string]any{
		"DimensionName": SESDimension, "DimensionValueSource": "messageTag", "DefaultDimensionValue": "steward-" + DefaultStage,
	}}})
}

func TestDashboard(t *testing.T) {
	s := defaultStack(t)
	d := props(s.res[s.onlyOfType(t, "AWS::CloudWatch::Dashboard")])
	equal(t, "name", d["DashboardName"], StackName(DefaultStage))
	body := string(must(json.Marshal(d["DashboardBody"])))
	for _, w := range []string{
		`\"5xx\"`, `\"Latency\"`, `\"Count\"`, // API
		`\"Errors\"`, `\"Duration\"`, `\"Throttles\"`, // functions
		`\"ExecutionsFailed\"`, `\"ExecutionsStarted\"`, // state machine
		`\"ConsumedReadCapacityUnits\"`, `\"WriteThrottleEvents\"`, // table
		`\"Bounce\"`, `\"Complaint\"`, `\"Send\"`, // email
		`\"alarm\"`, // alarm status
	} {
		if !strings.Contains(body, w) {
			t.Errorf("dashboard lacks %s", w)
		}
	}
}

var (
	customOnce  sync.Once
	customSynth *synthesized
)

// customStack is the stack with every optional context key set.
func customStack(t *testing.T) *synthesized {
	t.Helper()
	customOnce.Do(func() {
		customSynth = synth(t, map[string]any{
			ContextStage:               "prod",
			ContextAlarmEmail:          "ops@example.com",
			ContextSESConfigurationSet: "steward-mail",
			ContextLogRetentionDays:    "90",
			ContextFunctionMemory:      "auth:1024, users=512",
		}, nil)
	})
	if customSynth == nil {
		t.Fatal("custom stack failed to synthesize")
	}
	return customSynth
}

func TestContextSettings(t *testing.T) {
	s := customStack(t)
	s.template.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), &map[string]any{
		"Protocol": "email", "Endpoint": "ops@example.com",
	})
	equal(t, "configuration set", props(s.res[s.onlyOfType(t, "AWS::SES::ConfigurationSet")])["Name"], "steward-mail")
	for id, g := range s.ofType("AWS::Logs::LogGroup") {
		equal(t, id+" retention", props(g)["RetentionInDays"], 90)
	}
	for fn, mb := range map[string]float64{routes.FunctionAuth: 1024, routes.FunctionUsers: 512, routes.FunctionHealth: 128} {
		equal(t, fn+" memory", props(s.res[s.functionLogicalID(t, fn)])["MemorySize"], mb)
	}
	equal(t, "state machine", props(s.res[s.onlyOfType(t, "AWS::StepFunctions::StateMachine")])["StateMachineName"], StateMachineName("prod"))
	if _, ok := alarmsByName(s)["Steward-prod-Api-5xx"]; !ok {
		t.Error("alarm names do not carry the stage")
	}
	raw := string(must(json.Marshal(props(s.res[s.functionLogicalID(t, routes.FunctionAuth)])["Environment"])))
	if !strings.Contains(raw, `"STEWARD_SES_CONFIGURATION_SET":"steward-mail"`) || !strings.Contains(raw, `"STEWARD_STAGE":"prod"`) {
		t.Errorf("auth environment: %s", raw)
	}
}

func TestContextValidation(t *testing.T) {
	ctx := func(kv map[string]any) error {
		app := awscdk.NewApp(&awscdk.AppProps{Context: &kv})
		_, err := PropsFromContext(app, "/repo")
		return err
	}
	for _, bad := range []map[string]any{
		{ContextLogRetentionDays: 31.0},
		{ContextLogRetentionDays: "x"},
		{ContextFunctionMemory: "auth"},
		{ContextFunctionMemory: []any{"auth"}},
	} {
		if err := ctx(bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{
		ContextFunctionMemory:   map[string]any{"auth": 512.0, "users": "256"},
		ContextLogRetentionDays: 0.0,
		ContextNag:              "true",
	}})
	p, err := PropsFromContext(app, "/repo")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "memory", p.FunctionMemory, map[string]float64{"auth": 512, "users": 256})
	equal(t, "retention", p.LogRetention, "INFINITE")
	if nag, err := ContextBool(app, ContextNag); err != nil || !nag {
		t.Errorf("nag = %v, %v", nag, err)
	}

	p = &StewardStackProps{AssetsDir: t.TempDir(), FunctionMemory: map[string]float64{"nosuch": 256, routes.FunctionHealth: 64}}
	err = p.Validate()
	if err == nil || !strings.Contains(err.Error(), `"nosuch"`) || !strings.Contains(err.Error(), "health = 64") {
		t.Errorf("Validate = %v, want errors for an unknown function and a too small size", err)
	}
}

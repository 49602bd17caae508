package workflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/stewardhq/steward/pkg/workflow"
)

var update = flag.Bool("update", false, "rewrite testdata/definition.asl.json")

// TestDefinitionGolden keeps the generated ASL (with the CDK placeholder)
// in testdata/definition.asl.json for review; -update rewrites it.
func TestDefinitionGolden(t *testing.T) {
	def, err := workflow.Definition(workflow.FunctionARNPlaceholder)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := workflow.Definition(workflow.FunctionARNPlaceholder)
	if def != again {
		t.Fatal("Definition is not deterministic")
	}
	const golden = "testdata/definition.asl.json"
	if *update {
		if err := os.WriteFile(golden, []byte(def), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if def != string(want) {
		t.Errorf("Definition differs from %s (run go test -run TestDefinitionGolden -update):\n%s", golden, def)
	}
	if strings.Count(def, `"${FunctionArn}"`) != 8 {
		t.Errorf("the placeholder should name the function of the 8 Lambda tasks:\n%s", def)
	}
	if _, err := workflow.Definition(""); err == nil {
		t.Error("Definition accepted an empty ARN")
	}
}

// TestDefinitionShape checks the graph: every Next exists, every state is
// reachable, and the ASL fields the issue asks for are there.
func TestDefinitionShape(t *testing.T) {
	def, err := workflow.Definition("arn:aws:lambda:us-east-1:123456789012:function:approvals-workflow")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		StartAt string
		States  map[string]map[string]any
	}
	if err := json.Unmarshal([]byte(def), &m); err != nil {
		t.Fatal(err)
	}
	targets := func(s map[string]any) []string {
		var out []string
		var walk func(v any)
		walk = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				for k, e := range x {
					if s, ok := e.(string); ok && (k == "Next" || k == "Default") {
						out = append(out, s)
					} else {
						walk(e)
					}
				}
			case []any:
				for _, e := range x {
					walk(e)
				}
			}
		}
		walk(map[string]any{"Choices": s["Choices"], "Catch": s["Catch"], "Next": s["Next"], "Default": s["Default"]})
		var keep []string
		for _, x := range out {
			if x != "" {
				keep = append(keep, x)
			}
		}
		return keep
	}
	seen := map[string]bool{}
	var visit func(string)
	visit = func(name string) {
		if seen[name] {
			return
		}
		s, ok := m.States[name]
		if !ok {
			t.Fatalf("state %q does not exist", name)
		}
		seen[name] = true
		for _, n := range targets(s) {
			visit(n)
		}
	}
	visit(m.StartAt)
	for name := range m.States {
		if !seen[name] {
			t.Errorf("state %q is unreachable", name)
		}
	}
	// Nested states: the Level's branches and the Notify Map's iteration.
	nested := map[string]map[string]any{}
	var collect func(states map[string]map[string]any)
	collect = func(states map[string]map[string]any) {
		for name, s := range states {
			nested[name] = s
			raw, _ := json.Marshal(s)
			var inner struct {
				Branches []struct {
					States map[string]map[string]any
				}
				ItemProcessor struct {
					States map[string]map[string]any
				}
			}
			if err := json.Unmarshal(raw, &inner); err != nil {
				t.Fatal(err)
			}
			for _, b := range inner.Branches {
				collect(b.States)
			}
			collect(inner.ItemProcessor.States)
		}
	}
	collect(m.States)
	await := nested["AwaitLevel"]
	if await["Resource"] != "arn:aws:states:::lambda:invoke.waitForTaskToken" || await["TimeoutSecondsPath"] != "$.tick.seconds" {
		t.Errorf("AwaitLevel: %v", await)
	}
	for name, s := range nested {
		if s["Type"] != "Task" {
			continue
		}
		retry, _ := json.Marshal(s["Retry"])
		for _, e := range []string{"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException", workflow.ErrorTransient} {
			if !strings.Contains(string(retry), `"`+e+`"`) {
				t.Errorf("%s does not retry %s: %s", name, e, retry)
			}
		}
	}
	// The await runs in the Level's first branch: it catches its timeout
	// (the level's result is then timed_out, and CheckDecision expires
	// the request); the Level catches the cancellation.
	catch, _ := json.Marshal(await["Catch"])
	for _, e := range []string{workflow.ErrorTimeout, workflow.ErrorHeartbeatTimeout} {
		if !strings.Contains(string(catch), `"`+e+`"`) {
			t.Errorf("AwaitLevel does not catch %s: %s", e, catch)
		}
	}
	if catch, _ := json.Marshal(m.States["Level"]["Catch"]); !strings.Contains(string(catch), `"`+workflow.ErrorCancelled+`"`) {
		t.Errorf("Level (AwaitLevel's Parallel) does not catch %s: %s", workflow.ErrorCancelled, catch)
	}
	// The fan-out: a Map with bounded concurrency whose iteration retries
	// and catches everything, so that one batch never stops the others.
	notify := nested["Notify"]
	if notify["Type"] != "Map" || notify["MaxConcurrency"] != float64(workflow.NotifyMaxConcurrency) || notify["ItemsPath"] != "$.notify.batches" {
		t.Errorf("Notify: %v", notify)
	}
	batch, _ := json.Marshal(nested["NotifyBatch"])
	if !strings.Contains(string(batch), `"States.ALL"`) || !strings.Contains(string(batch), `"ResultPath":null`) {
		t.Errorf("NotifyBatch does not catch every error: %s", batch)
	}
	if plan, _ := json.Marshal(nested["PlanNotify"]["Catch"]); !strings.Contains(string(plan), `"States.ALL"`) {
		t.Errorf("PlanNotify does not catch every error: %s", plan)
	}
}

func TestStartInputValidate(t *testing.T) {
	ok := workflow.StartInput{RequestID: "req-1", AccountID: "a1", Levels: 1, TimeoutSeconds: 60}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*workflow.StartInput){
		"empty id":    func(in *workflow.StartInput) { in.RequestID = "" },
		"long id":     func(in *workflow.StartInput) { in.RequestID = strings.Repeat("x", 81) },
		"slash":       func(in *workflow.StartInput) { in.RequestID = "a/b" },
		"space":       func(in *workflow.StartInput) { in.RequestID = "a b" },
		"no account":  func(in *workflow.StartInput) { in.AccountID = "" },
		"zero levels": func(in *workflow.StartInput) { in.Levels = 0 },
		"no timeout":  func(in *workflow.StartInput) { in.TimeoutSeconds = 0 },
		"huge":        func(in *workflow.StartInput) { in.TimeoutSeconds = workflow.MaxTimeoutSeconds + 1 },
	} {
		in := ok
		mut(&in)
		if err := in.Validate(); err == nil {
			t.Errorf("%s: accepted %+v", name, in)
		}
	}
	if err := (workflow.Decision{Outcome: workflow.Cancelled}).Validate(); err == nil {
		t.Error("a cancelled decision was accepted (cancel with SendTaskFailure)")
	}
}

// TestLambdaHandler checks the error types the ASL's Retry expects.
func TestLambdaHandler(t *testing.T) {
	rec := newRecorder()
	h := workflow.LambdaHandler(rec)
	ctx := context.Background()
	in := workflow.StepInput{Step: workflow.Prepare, RequestID: "r1", AccountID: "a1", Levels: 2}
	out, err := h(ctx, in)
	if err != nil || out.Level != 1 {
		t.Fatalf("prepare: %+v %v", out, err)
	}
	rec.failNext("r1", workflow.Expire, workflow.Transient(errBoom), errBoom)
	exp := workflow.StepInput{Step: workflow.Expire, RequestID: "r1", AccountID: "a1", Levels: 2, Level: 1}
	for _, want := range []string{workflow.ErrorTransient, workflow.ErrorStepFailed} {
		_, err := h(ctx, exp)
		var ie messages.InvokeResponse_Error
		if !errors.As(err, &ie) || ie.Type != want {
			t.Errorf("error %#v, want type %s", err, want)
		}
	}
	for _, bad := range []workflow.StepInput{
		{Step: "nope", RequestID: "r1", AccountID: "a1", Levels: 1},
		{Step: workflow.Await, RequestID: "r1", AccountID: "a1", Levels: 1, Level: 1}, // no token
		{Step: workflow.Finalize, RequestID: "r1", AccountID: "a1", Levels: 1, Level: 1, Outcome: "maybe"},
		{Step: workflow.Prepare, RequestID: "r1", Levels: 1},
	} {
		if _, err := h(ctx, bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestDispatchTick: Tick's output is checked (a known action, batches of
// 1 to NotifyBatchSize ids) and its wait kept within 1 s and
// MaxTimeoutSeconds; a Notify's kind is a reminder's or an escalation's.
func TestDispatchTick(t *testing.T) {
	ctx := context.Background()
	in := workflow.StepInput{Step: workflow.Tick, RequestID: "r1", AccountID: "a1", Levels: 1, Level: 1}
	for _, c := range []struct {
		out  workflow.StepOutput
		ok   bool
		secs int
	}{
		{workflow.StepOutput{Action: workflow.ActionWait, Seconds: 30}, true, 30},
		{workflow.StepOutput{Action: workflow.ActionExpire}, true, 1},
		{workflow.StepOutput{Action: workflow.ActionRemind, Seconds: workflow.MaxTimeoutSeconds + 5, Batches: [][]string{{"m1"}}}, true, workflow.MaxTimeoutSeconds},
		{workflow.StepOutput{Action: "nap", Seconds: 3}, false, 0},
		{workflow.StepOutput{Action: workflow.ActionEscalate, Seconds: 3, Batches: [][]string{{}}}, false, 0},
	} {
		rec := newRecorder()
		rec.ticks = []workflow.StepOutput{c.out}
		out, err := workflow.Dispatch(ctx, rec, in)
		if (err == nil) != c.ok {
			t.Errorf("%+v: error %v", c.out, err)
			continue
		}
		if c.ok && (out.Seconds != c.secs || out.Level != 1 || out.Batches == nil) {
			t.Errorf("%+v: output %+v", c.out, out)
		}
	}
	if _, err := workflow.Dispatch(ctx, newRecorder(), workflow.StepInput{Step: workflow.Tick, RequestID: "r1", AccountID: "a1", Levels: 1}); err == nil {
		t.Error("a tick without a level was accepted")
	}
	notify := workflow.StepInput{Step: workflow.Notify, RequestID: "r1", AccountID: "a1", Levels: 1, Level: 1, Approvers: []string{"m1"}, Kind: "nag"}
	if _, err := workflow.Dispatch(ctx, newRecorder(), notify); err == nil {
		t.Error("a notify of an unknown kind was accepted")
	}
	notify.Kind = workflow.ActionRemind
	if _, err := workflow.Dispatch(ctx, newRecorder(), notify); err != nil {
		t.Errorf("a reminder's notify: %v", err)
	}
}

package workflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/workflow"
)

// scenario is one entry of testdata/scenarios.json.
type scenario struct {
	Name  string `json:"name"`
	About string `json:"about"`
	// Input is the start input; the test fills in requestId and accountId.
	Input workflow.StartInput `json:"input"`
	// Actions are done in order, each once level's await task is running.
	Actions []action `json:"actions"`
	// Steps are the expected step calls (requestId, accountId, levels and
	// taskToken are filled in or checked by the test).
	Steps []workflow.StepInput `json:"steps"`
	// Status, Outcome and FinalLevel are the expected end: the output is
	// {requestId, outcome, level} when Status is SUCCEEDED.
	Status     workflow.Status  `json:"status"`
	Outcome    workflow.Outcome `json:"outcome"`
	FinalLevel int              `json:"finalLevel"`
	// Batches are what every PlanNotify returns (none if empty).
	Batches [][]string `json:"batches,omitempty"`
	// Ticks are what the Tick calls return, in order (input timers).
	Ticks []tickResult `json:"ticks,omitempty"`
}

// tickResult is what one Tick call of a level returns.
type tickResult struct {
	Level   int             `json:"level"`
	Action  workflow.Action `json:"action"`
	Seconds int             `json:"seconds,omitempty"`
	Batches [][]string      `json:"batches,omitempty"`
}

func (tr tickResult) output() workflow.StepOutput {
	b := tr.Batches
	if b == nil {
		b = [][]string{}
	}
	return workflow.StepOutput{Level: tr.Level, Action: tr.Action, Seconds: max(1, tr.Seconds), Batches: b}
}

// action is what a scenario does while a level awaits: approve, deny,
// cancel (SendTaskFailure Steward.Cancelled) or timeout (let the level's
// timeout pass: Seconds, or the input's timeoutSeconds). Stop is tested
// apart: moto 5.2.1 cannot stop an execution that waits for a task token
// (TestSFNStop).
type action struct {
	Level   int    `json:"level"`
	Do      string `json:"do"`
	Seconds int    `json:"seconds,omitempty"`
}

// result is how a scenario ended on one engine, comparable across
// engines.
type result struct {
	Status workflow.Status
	Output any // parsed JSON, nil unless SUCCEEDED
	Steps  []workflow.StepInput
	// ReusedToken is the error of a second use of the last token used.
	ReusedToken string
	Took        time.Duration
}

func loadScenarios(t *testing.T) []scenario {
	t.Helper()
	b, err := os.ReadFile("testdata/scenarios.json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var out []scenario
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("testdata/scenarios.json: %v", err)
	}
	return out
}

// harness drives one engine for the scenario driver.
type harness interface {
	engine() workflow.Engine
	// beforeStart prepares sc's run (moto: queue the Lambda results).
	beforeStart(t *testing.T, sc scenario)
	// stepCall waits for the nth call of step for request and returns
	// its step input (with the token, for an await).
	stepCall(t *testing.T, request string, step workflow.Step, nth int) workflow.StepInput
	// elapse lets the level's timeout pass.
	elapse(t *testing.T, timeoutSeconds int)
	// end waits for request's execution to end.
	end(t *testing.T, request string) (workflow.Status, json.RawMessage)
	// steps returns the step inputs request's execution sent.
	steps(t *testing.T, request string) []workflow.StepInput
}

// runScenario runs sc on h and returns how it ended.
func runScenario(t *testing.T, h harness, sc scenario) result {
	t.Helper()
	ctx := context.Background()
	in := sc.Input
	in.RequestID = testenv.NewID("req-" + sc.Name)
	in.AccountID = testenv.NewID("acct")
	h.beforeStart(t, sc)
	began := time.Now()
	if err := h.engine().Start(ctx, in); err != nil {
		t.Fatalf("start: %v", err)
	}
	// Like Step Functions, a start with the same name and input while the
	// execution runs succeeds and starts nothing; another input is refused.
	if err := h.engine().Start(ctx, in); err != nil {
		t.Errorf("same start again while running: %v", err)
	}
	other := in
	other.Levels++
	if err := h.engine().Start(ctx, other); !errors.Is(err, workflow.ErrExecutionExists) {
		t.Errorf("start with the same name, other input: %v, want ErrExecutionExists", err)
	}
	var lastToken string
	awaits := 0
	for _, a := range sc.Actions {
		awaits++
		call := h.stepCall(t, in.RequestID, workflow.Await, awaits)
		if call.Level != a.Level {
			t.Fatalf("await %d is for level %d, the scenario acts on level %d", awaits, call.Level, a.Level)
		}
		// The level's fan-out branch runs beside the await, and the level
		// ends when both branches have (a decision or a timeout), or at
		// once on a cancellation: cancel once it has planned, so that
		// both engines made the same calls.
		if a.Do == "cancel" {
			if plan := h.stepCall(t, in.RequestID, workflow.PlanNotify, awaits); plan.Level != a.Level {
				t.Fatalf("plan %d is for level %d, the scenario acts on level %d", awaits, plan.Level, a.Level)
			}
		}
		var err error
		switch a.Do {
		case "approve":
			err = h.engine().SendTaskSuccess(ctx, call.TaskToken, workflow.Decision{Outcome: workflow.Approved})
		case "deny":
			err = h.engine().SendTaskSuccess(ctx, call.TaskToken, workflow.Decision{Outcome: workflow.Denied})
		case "cancel":
			err = h.engine().SendTaskFailure(ctx, call.TaskToken, workflow.ErrorCancelled)
		case "timeout":
			secs := in.TimeoutSeconds
			if a.Seconds > 0 {
				secs = a.Seconds
			}
			h.elapse(t, secs)
		default:
			t.Fatalf("unknown action %q", a.Do)
		}
		if err != nil {
			t.Fatalf("action %s at level %d: %v", a.Do, a.Level, err)
		}
		lastToken = call.TaskToken
	}
	status, output := h.end(t, in.RequestID)
	res := result{Status: status, Steps: h.steps(t, in.RequestID), Took: time.Since(began)}
	if output != nil {
		if err := json.Unmarshal(output, &res.Output); err != nil {
			t.Fatalf("output %s: %v", output, err)
		}
	}
	// A token works once: its task is over whatever the action was.
	err := h.engine().SendTaskSuccess(ctx, lastToken, workflow.Decision{Outcome: workflow.Approved})
	switch {
	case errors.Is(err, workflow.ErrTaskNotFound):
		res.ReusedToken = "ErrTaskNotFound"
	case err == nil:
		res.ReusedToken = "accepted"
	default:
		res.ReusedToken = err.Error()
	}
	// Starting the same name again once it ended is refused.
	if err := h.engine().Start(ctx, in); !errors.Is(err, workflow.ErrExecutionExists) {
		t.Errorf("second start: %v, want ErrExecutionExists", err)
	}

	// Check against the scenario. A level's await and its fan-out run at
	// once: compare the calls in the order level, step, batch.
	sortSteps(res.Steps)
	for i := range res.Steps {
		got := &res.Steps[i]
		if got.RequestID != in.RequestID || got.AccountID != in.AccountID || got.Levels != in.Levels {
			t.Errorf("step %d: ids/levels %q %q %d, want %q %q %d", i, got.RequestID, got.AccountID, got.Levels, in.RequestID, in.AccountID, in.Levels)
		}
		if (got.Step == workflow.Await) != (got.TaskToken != "") {
			t.Errorf("step %d (%s): task token %q", i, got.Step, got.TaskToken)
		}
		// Normalize for comparison.
		got.RequestID, got.AccountID, got.Levels, got.TaskToken = "", "", 0, ""
	}
	if !reflect.DeepEqual(res.Steps, sc.Steps) && !(len(res.Steps) == 0 && len(sc.Steps) == 0) {
		t.Errorf("steps:\n got %+v\nwant %+v", res.Steps, sc.Steps)
	}
	if res.Status != sc.Status {
		t.Errorf("status %s, want %s", res.Status, sc.Status)
	}
	var want any
	if sc.Status == workflow.Succeeded {
		want = map[string]any{"requestId": in.RequestID, "outcome": string(sc.Outcome), "level": float64(sc.FinalLevel)}
	}
	if !reflect.DeepEqual(res.Output, want) {
		t.Errorf("output %v, want %v", res.Output, want)
	}
	if res.ReusedToken != "ErrTaskNotFound" {
		t.Errorf("second use of the last token: %s, want ErrTaskNotFound", res.ReusedToken)
	}
	// Request ids differ per run; compare outputs without them.
	if m, ok := res.Output.(map[string]any); ok {
		delete(m, "requestId")
	}
	return res
}

// stepRank orders a level's calls.
var stepRank = map[workflow.Step]int{workflow.Prepare: 0, workflow.Tick: 1, workflow.Await: 2, workflow.PlanNotify: 3, workflow.Notify: 4, workflow.Expire: 5, workflow.Finalize: 6}

// kindRank orders a level's Notify calls: its approval emails, then the
// reminders and escalations (in call order).
var kindRank = map[workflow.Action]int{"": 0, workflow.ActionRemind: 1, workflow.ActionEscalate: 1}

// sortSteps sorts step calls by level, step and first approver: the
// order of a sequential run, whatever the order of the fan-out's calls.
func sortSteps(steps []workflow.StepInput) {
	first := func(s workflow.StepInput) string {
		if len(s.Approvers) == 0 {
			return ""
		}
		return s.Approvers[0]
	}
	slices.SortStableFunc(steps, func(a, b workflow.StepInput) int {
		if a.Level != b.Level {
			return a.Level - b.Level
		}
		if stepRank[a.Step] != stepRank[b.Step] {
			return stepRank[a.Step] - stepRank[b.Step]
		}
		if kindRank[a.Kind] != kindRank[b.Kind] {
			return kindRank[a.Kind] - kindRank[b.Kind]
		}
		return strings.Compare(first(a), first(b))
	})
}

// TestScenarios runs every scenario against moto's ASL engine with the
// generated definition and against Runner, and asserts that both agree.
func TestScenarios(t *testing.T) {
	scenarios := loadScenarios(t)
	if len(scenarios) < 6 {
		t.Fatalf("%d scenarios", len(scenarios))
	}
	var mu sync.Mutex
	results := map[string]map[string]result{} // engine -> scenario -> result
	keep := func(engine, name string, r result) {
		mu.Lock()
		defer mu.Unlock()
		if results[engine] == nil {
			results[engine] = map[string]result{}
		}
		results[engine][name] = r
	}

	t.Run("moto", func(t *testing.T) {
		h := newMotoHarness(t)
		for _, sc := range scenarios {
			t.Run(sc.Name, func(t *testing.T) {
				r := runScenario(t, h, sc)
				t.Logf("moto %-24s %s in %s", sc.Name, r.Status, r.Took.Round(time.Millisecond))
				keep("moto", sc.Name, r)
			})
		}
	})
	t.Run("runner", func(t *testing.T) {
		for _, sc := range scenarios {
			t.Run(sc.Name, func(t *testing.T) {
				t.Parallel()
				h := newRunnerHarness(t)
				r := runScenario(t, h, sc)
				t.Logf("runner %-24s %s in %s", sc.Name, r.Status, r.Took.Round(time.Millisecond))
				keep("runner", sc.Name, r)
			})
		}
	})

	// Both engines ran every scenario and agree.
	for _, sc := range scenarios {
		m, okm := results["moto"][sc.Name]
		r, okr := results["runner"][sc.Name]
		if !okm || !okr {
			t.Errorf("%s: ran on moto %v, runner %v", sc.Name, okm, okr)
			continue
		}
		m.Took, r.Took = 0, 0
		if !reflect.DeepEqual(m, r) {
			t.Errorf("%s: moto and runner disagree:\n moto   %+v\n runner %+v", sc.Name, m, r)
		}
	}
}

// motoHarness runs scenarios in moto with the generated definition.
type motoHarness struct {
	moto *testenv.MotoEmulator
	eng  *workflow.SFN
	sm   string
}

func newMotoHarness(t *testing.T) *motoHarness {
	m := testenv.Moto(t)
	m.Exclusive(t) // the scenarios queue Lambda results
	def, err := workflow.Definition("arn:aws:lambda:" + testenv.Region + ":" + testenv.MotoAccountID + ":function:approvals-workflow")
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.SFN.CreateStateMachine(context.Background(), &sfn.CreateStateMachineInput{
		Name:       aws.String(testenv.NewID("approvals")),
		RoleArn:    aws.String(m.RoleARN("steward-approvals")),
		Definition: aws.String(def),
		Type:       sfntypes.StateMachineTypeStandard,
	})
	if err != nil {
		t.Fatalf("CreateStateMachine: %v", err)
	}
	return &motoHarness{moto: m, eng: workflow.NewSFN(m.SFN, aws.ToString(out.StateMachineArn)), sm: aws.ToString(out.StateMachineArn)}
}

func (h *motoHarness) engine() workflow.Engine { return h.eng }

// beforeStart queues one Lambda result per expected step, in call
// order: Prepare's {level: 1}, then {level: n, batches} for the others
// (only PlanNotify's batches are used; the calls of a level's two
// branches come in any order, so they all get the same result). The
// await task's invocation takes one too; its result comes from the
// token. A level with ticks: its first Tick runs beside PlanNotify and
// the level's Notify batches, so they all get that tick's result (with
// the scenario's batches, for PlanNotify); each later Tick runs alone,
// followed by its own Notify batches (a remind or an escalate) and the
// next await, which get its result too.
func (h *motoHarness) beforeStart(t *testing.T, sc scenario) {
	var results []any
	batches := sc.Batches
	if batches == nil {
		batches = [][]string{}
	}
	ticks := map[int][]tickResult{}
	for _, tr := range sc.Ticks {
		ticks[tr.Level] = append(ticks[tr.Level], tr)
	}
	// sc.Steps are sorted by level: Prepare (level 0) first.
	for i, s := range sc.Steps {
		ts := ticks[s.Level]
		if len(ts) > 0 && s.Step != workflow.Expire && s.Step != workflow.Finalize {
			if i+1 == len(sc.Steps) || sc.Steps[i+1].Level != s.Level || sc.Steps[i+1].Step == workflow.Expire || sc.Steps[i+1].Step == workflow.Finalize {
				results = append(results, h.tickResults(ts, batches)...)
			}
			continue // the level's calls up to its expiry: its ticks' results
		}
		out := workflow.StepOutput{Level: s.Level, Batches: batches}
		if s.Step == workflow.Prepare {
			out.Level = 1
		}
		results = append(results, out)
	}
	h.moto.QueueLambdaResults(t, results...)
}

// tickResults are the results of a level's calls from its first Tick
// on, in call order (see beforeStart).
func (h *motoHarness) tickResults(ts []tickResult, batches [][]string) []any {
	var out []any
	first := ts[0].output()
	first.Batches = batches
	// Tick, await, PlanNotify and the level's Notify batches.
	for range 3 + len(batches) {
		out = append(out, first)
	}
	for _, tr := range ts[1:] {
		o := tr.output()
		n := 1 // the Tick
		if tr.Action == workflow.ActionRemind || tr.Action == workflow.ActionEscalate {
			n += len(o.Batches)
		}
		if tr.Action != workflow.ActionExpire {
			n++ // the await
		}
		for range n {
			out = append(out, o)
		}
	}
	return out
}

func (h *motoHarness) arn(t *testing.T, request string) string {
	arn, err := workflow.ExecutionARN(h.sm, request)
	if err != nil {
		t.Fatal(err)
	}
	return arn
}

// history returns the execution's events.
func (h *motoHarness) history(t *testing.T, request string) []sfntypes.HistoryEvent {
	var events []sfntypes.HistoryEvent
	p := sfn.NewGetExecutionHistoryPaginator(h.moto.SFN, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(h.arn(t, request))})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("GetExecutionHistory: %v", err)
		}
		events = append(events, page.Events...)
	}
	return events
}

// steps reads the Lambda payloads from the TaskScheduled events.
func (h *motoHarness) steps(t *testing.T, request string) []workflow.StepInput {
	var out []workflow.StepInput
	for _, e := range h.history(t, request) {
		if e.Type != sfntypes.HistoryEventTypeTaskScheduled || e.TaskScheduledEventDetails == nil {
			continue
		}
		var params struct {
			FunctionName string
			Payload      workflow.StepInput
		}
		raw := aws.ToString(e.TaskScheduledEventDetails.Parameters)
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&params); err != nil {
			t.Fatalf("TaskScheduled parameters %s: %v", raw, err)
		}
		out = append(out, params.Payload)
	}
	return out
}

func (h *motoHarness) stepCall(t *testing.T, request string, step workflow.Step, nth int) workflow.StepInput {
	if os.Getenv("DEBUG_HISTORY") != "" {
		defer func() {
			if t.Failed() {
				h.dump(t, request)
			}
		}()
	}
	var got workflow.StepInput
	waitFor(t, 60*time.Second, string(step)+" task in moto's history", func() bool {
		n := 0
		for _, s := range h.steps(t, request) {
			if s.Step == step {
				if n++; n == nth {
					got = s
					return true
				}
			}
		}
		return false
	})
	return got
}

func (h *motoHarness) elapse(*testing.T, int) {} // moto's clock is real: end waits

func (h *motoHarness) end(t *testing.T, request string) (workflow.Status, json.RawMessage) {
	var d *sfn.DescribeExecutionOutput
	waitFor(t, 60*time.Second, "moto execution to end", func() bool {
		var err error
		d, err = h.moto.SFN.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(h.arn(t, request))})
		if err != nil {
			t.Fatalf("DescribeExecution: %v", err)
		}
		return d.Status != sfntypes.ExecutionStatusRunning
	})
	if d.Status != sfntypes.ExecutionStatusSucceeded {
		var failed []string
		for _, e := range h.history(t, request) {
			if e.ExecutionFailedEventDetails != nil {
				failed = append(failed, aws.ToString(e.ExecutionFailedEventDetails.Error)+": "+aws.ToString(e.ExecutionFailedEventDetails.Cause))
			}
		}
		if len(failed) > 0 {
			t.Logf("execution failed: %s", strings.Join(failed, "; "))
		}
		if os.Getenv("DEBUG_HISTORY") != "" {
			h.dump(t, request)
		}
		return workflow.Status(d.Status), nil
	}
	return workflow.Status(d.Status), json.RawMessage(aws.ToString(d.Output))
}

// dump logs request's history (DEBUG_HISTORY set).
func (h *motoHarness) dump(t *testing.T, request string) {
	{
		{
			for _, e := range h.history(t, request) {
				var m map[string]any
				b, _ := json.Marshal(e)
				_ = json.Unmarshal(b, &m)
				for k, v := range m {
					if v == nil || k == "Timestamp" {
						delete(m, k)
					}
				}
				b, _ = json.Marshal(m)
				t.Logf("%s", b)
			}
		}
	}
}

// runnerHarness runs scenarios in a Runner on a fake clock.
type runnerHarness struct {
	rec    *recorder
	clock  *fakeClock
	runner *workflow.Runner
}

func newRunnerHarness(t *testing.T) *runnerHarness {
	h := &runnerHarness{rec: newRecorder(), clock: newFakeClock()}
	r, err := workflow.NewRunner(h.rec, workflow.RunnerOptions{Clock: h.clock, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	h.runner = r
	return h
}

func (h *runnerHarness) engine() workflow.Engine { return h.runner }

func (h *runnerHarness) beforeStart(_ *testing.T, sc scenario) {
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	h.rec.batches = sc.Batches
	h.rec.ticks = nil
	for _, tr := range sc.Ticks {
		h.rec.ticks = append(h.rec.ticks, tr.output())
	}
}

func (h *runnerHarness) stepCall(t *testing.T, request string, step workflow.Step, nth int) workflow.StepInput {
	return h.rec.stepCall(t, request, step, nth)
}

// elapse advances the fake clock past the timeout; the await's timer is
// set before its step runs, so it is pending by now.
func (h *runnerHarness) elapse(t *testing.T, seconds int) {
	want := time.Duration(seconds) * time.Second
	waitFor(t, 5*time.Second, "the await timer", func() bool { return slices.Contains(h.clock.Pending(), want) })
	h.clock.Advance(want)
}

func (h *runnerHarness) end(t *testing.T, request string) (workflow.Status, json.RawMessage) {
	var e workflow.Execution
	waitFor(t, 10*time.Second, "runner execution to end", func() bool {
		var err error
		if e, err = h.runner.Describe(request); err != nil {
			t.Fatal(err)
		}
		return e.Status != workflow.Running
	})
	if e.Status == workflow.Failed {
		t.Logf("execution failed: %s: %s", e.Error, e.Cause)
	}
	return e.Status, e.Output
}

func (h *runnerHarness) steps(_ *testing.T, request string) []workflow.StepInput {
	return h.rec.Calls(request)
}

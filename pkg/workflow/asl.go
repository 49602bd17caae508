package workflow

import (
	"bytes"
	"encoding/json"
	"errors"
)

// FunctionARNPlaceholder is the function ARN to give Definition when the
// CDK app fills it in through the state machine's DefinitionSubstitutions
// (key "FunctionArn").
const FunctionARNPlaceholder = "${FunctionArn}"

// The resources of the workflow's tasks.
const (
	resourceInvoke     = "arn:aws:states:::lambda:invoke"
	resourceInvokeWait = "arn:aws:states:::lambda:invoke.waitForTaskToken"
)

// The state names.
const (
	statePrepare         = "Prepare"
	stateAwaitDecided    = "AwaitDecided"
	stateAwaitTimedOut   = "AwaitTimedOut"
	stateAwaitLevel      = "AwaitLevel"
	stateCheckDecision   = "CheckDecision"
	stateNextLevel       = "NextLevel"
	stateApproved        = "Approved"
	stateDenied          = "Denied"
	stateCancelled       = "Cancelled"
	stateExpire          = "Expire"
	stateExpired         = "Expired"
	stateFinalize        = "Finalize"
	stateDone            = "Done"
	stateInvalidDecision = "InvalidDecision"
	stateLevel           = "Level"
	statePlanNotify      = "PlanNotify"
	statePlanFailed      = "PlanFailed"
	stateNotify          = "Notify"
	stateNotifyBatch     = "NotifyBatch"
	stateNotifyFailed    = "NotifyFailed"
	stateLevelTimers     = "LevelTimers"
	stateNoTimers        = "NoTimers"
	stateTick            = "Tick"
	stateTickAction      = "TickAction"
	stateAwaitTimeout    = "AwaitTimeout"
	stateRemind          = "Remind"
	stateRemindBatch     = "RemindBatch"
	stateRemindFailed    = "RemindFailed"
)

// The approval emails' fan-out: PlanNotify splits a level's approvers
// into batches of NotifyBatchSize ids, and the Notify Map sends at most
// NotifyMaxConcurrency batches at once; each batch's step paces its
// sends (see pkg/approvals), so that the level's emails stay under
// SES's sending rate however many approvers it has.
const (
	// NotifyBatchSize is how many approvers one notify step emails.
	NotifyBatchSize = 10
	// NotifyMaxConcurrency is the Notify Map's MaxConcurrency.
	NotifyMaxConcurrency = 2
)

// timedOut is the level's result when its await timed out.
const timedOut = "timed_out"

// The retry policies of every Lambda task.
var (
	// lambdaErrors are Lambda's own transient failures.
	lambdaErrors = []string{
		"Lambda.ServiceException", "Lambda.AWSLambdaException",
		"Lambda.SdkClientException", "Lambda.TooManyRequestsException",
	}
	lambdaRetry    = retrier{ErrorEquals: lambdaErrors, IntervalSeconds: 2, BackoffRate: 2, MaxAttempts: 6}
	transientRetry = retrier{ErrorEquals: []string{ErrorTransient}, IntervalSeconds: 1, BackoffRate: 2, MaxAttempts: 3}
	// notifyRetry retries a batch whose sends were throttled or failed
	// (the sent ones are skipped on the retry) for about two minutes.
	notifyRetry = retrier{ErrorEquals: []string{ErrorTransient}, IntervalSeconds: 2, BackoffRate: 2, MaxAttempts: 6}
)

// stateMachine is an ASL document. Its types hold exactly the fields
// Runner interprets.
type stateMachine struct {
	Comment string            `json:"Comment,omitempty"`
	StartAt string            `json:"StartAt"`
	States  map[string]*state `json:"States"`
}

// state is one ASL state (JSONPath query language).
type state struct {
	Type               string         `json:"Type"`
	Comment            string         `json:"Comment,omitempty"`
	Resource           string         `json:"Resource,omitempty"`
	Parameters         map[string]any `json:"Parameters,omitempty"`
	Result             any            `json:"Result,omitempty"`
	ResultSelector     map[string]any `json:"ResultSelector,omitempty"`
	ResultPath         resultPath     `json:"ResultPath,omitzero"`
	OutputPath         string         `json:"OutputPath,omitempty"`
	TimeoutSecondsPath string         `json:"TimeoutSecondsPath,omitempty"`
	Retry              []retrier      `json:"Retry,omitempty"`
	Catch              []catcher      `json:"Catch,omitempty"`
	Choices            []choiceRule   `json:"Choices,omitempty"`
	Default            string         `json:"Default,omitempty"`
	Error              string         `json:"Error,omitempty"`
	Cause              string         `json:"Cause,omitempty"`
	Next               string         `json:"Next,omitempty"`
	End                bool           `json:"End,omitempty"`
	// Branches are a Parallel state's branches.
	Branches []*stateMachine `json:"Branches,omitempty"`
	// ItemsPath, ItemSelector, MaxConcurrency and ItemProcessor are a
	// Map state's (inline mode).
	ItemsPath      string         `json:"ItemsPath,omitempty"`
	ItemSelector   map[string]any `json:"ItemSelector,omitempty"`
	MaxConcurrency int            `json:"MaxConcurrency,omitempty"`
	ItemProcessor  *itemProcessor `json:"ItemProcessor,omitempty"`
}

// itemProcessor is an inline Map state's iteration.
type itemProcessor struct {
	ProcessorConfig processorConfig   `json:"ProcessorConfig"`
	StartAt         string            `json:"StartAt"`
	States          map[string]*state `json:"States"`
}

// processorConfig is an ItemProcessor's mode: INLINE.
type processorConfig struct {
	Mode string `json:"Mode"`
}

// resultPath is a state's ResultPath: absent (the zero value, meaning
// "$"), a path, or null (discard the result).
type resultPath struct {
	path    string
	discard bool
}

// at is ResultPath path; discard is ResultPath null.
func at(path string) resultPath { return resultPath{path: path} }

var discard = resultPath{discard: true}

// IsZero reports an absent ResultPath.
func (p resultPath) IsZero() bool { return p.path == "" && !p.discard }

// MarshalJSON writes the path or null.
func (p resultPath) MarshalJSON() ([]byte, error) {
	if p.discard {
		return []byte("null"), nil
	}
	return json.Marshal(p.path)
}

// retrier is one Retry entry.
type retrier struct {
	ErrorEquals     []string `json:"ErrorEquals"`
	IntervalSeconds int      `json:"IntervalSeconds"`
	BackoffRate     float64  `json:"BackoffRate"`
	MaxAttempts     int      `json:"MaxAttempts"`
}

// catcher is one Catch entry.
type catcher struct {
	ErrorEquals []string   `json:"ErrorEquals"`
	ResultPath  resultPath `json:"ResultPath,omitzero"`
	Next        string     `json:"Next"`
}

// choiceRule is a Choice rule: a comparison on Variable, or And.
type choiceRule struct {
	And                 []choiceRule `json:"And,omitempty"`
	Variable            string       `json:"Variable,omitempty"`
	BooleanEquals       *bool        `json:"BooleanEquals,omitempty"`
	StringEquals        string       `json:"StringEquals,omitempty"`
	NumericLessThanPath string       `json:"NumericLessThanPath,omitempty"`
	Next                string       `json:"Next,omitempty"`
}

// lambdaTask is a Lambda task state invoking functionARN with payload.
func lambdaTask(resource, functionARN string, payload map[string]any, next string) *state {
	return &state{
		Type:       "Task",
		Resource:   resource,
		Parameters: map[string]any{"FunctionName": functionARN, "Payload": payload},
		Retry:      []retrier{lambdaRetry, transientRetry},
		Next:       next,
	}
}

// stepPayload is the Payload of step s's task: the request's ids, its
// levels, and the fields given in extra (ASL "key.$" entries).
func stepPayload(s Step, extra map[string]any) map[string]any {
	p := map[string]any{
		"step":        string(s),
		"requestId.$": "$.requestId",
		"accountId.$": "$.accountId",
		"levels.$":    "$.levels",
	}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

// outcomePass is the Pass state that sets the final outcome o.
func outcomePass(o Outcome) *state {
	return &state{
		Type: "Pass",
		Parameters: map[string]any{
			"requestId.$": "$.requestId",
			"outcome":     string(o),
			"level.$":     "$.cursor.level",
		},
		ResultPath: at("$.final"),
		Next:       stateFinalize,
	}
}

// notifyMap is an inline Map state over the batches at itemsPath that
// runs the Notify step per batch (kindPath, when set, gives its Kind),
// with NotifyMaxConcurrency batches at once: a batch that fails after its
// retries is recorded (the Pass state failed) and the others go on.
func notifyMap(functionARN, itemsPath, kindPath, batch, failed, next string) *state {
	extra := map[string]any{"level.$": "$.level", "approvers.$": "$.approvers"}
	sel := map[string]any{
		"requestId.$": "$.requestId",
		"accountId.$": "$.accountId",
		"levels.$":    "$.levels",
		"level.$":     "$.cursor.level",
		"approvers.$": "$$.Map.Item.Value",
	}
	if kindPath != "" {
		extra["kind.$"] = "$.kind"
		sel["kind.$"] = kindPath
	}
	task := lambdaTask(resourceInvoke, functionARN, stepPayload(Notify, extra), "")
	task.Retry = []retrier{lambdaRetry, notifyRetry}
	task.ResultPath = discard
	task.End = true
	task.Catch = []catcher{{ErrorEquals: []string{"States.ALL"}, ResultPath: at("$.error"), Next: failed}}
	m := &state{
		Type:           "Map",
		ItemsPath:      itemsPath,
		ItemSelector:   sel,
		MaxConcurrency: NotifyMaxConcurrency,
		ItemProcessor: &itemProcessor{
			ProcessorConfig: processorConfig{Mode: "INLINE"},
			StartAt:         batch,
			States: map[string]*state{
				batch:  task,
				failed: {Type: "Pass", Parameters: map[string]any{"failed": true}, End: true},
			},
		},
		ResultPath: discard,
		Next:       next,
	}
	if next == "" {
		m.End = true
	}
	return m
}

// machine builds the workflow for the step Lambda functionARN.
//
// The execution's data is the StartInput plus: cursor {level} (set by
// Prepare, advanced by NextLevel), decision {outcome} (the Level's
// result: AwaitLevel's), error {Error, Cause} (a caught error) and final
// {requestId, outcome, level} (the output). The await's branch adds tick
// {action, seconds, batches} (Tick's, or NoTimers') and the fan-out
// branch notify {batches} to their own copies only.
func machine(functionARN string) *stateMachine {
	prepare := lambdaTask(resourceInvoke, functionARN, stepPayload(Prepare, nil), stateLevel)
	prepare.ResultSelector = map[string]any{"level.$": "$.Payload.level"}
	prepare.ResultPath = at("$.cursor")

	// A level: the await task (branch 0) stores the level's task token
	// and waits for the decision while the approvers are emailed
	// (branch 1). The level's result is branch 0's.
	await := lambdaTask(resourceInvokeWait, functionARN, stepPayload(Await, map[string]any{
		"level.$":     "$.cursor.level",
		"taskToken.$": "$$.Task.Token",
	}), "")
	await.TimeoutSecondsPath = "$.tick.seconds"
	await.ResultSelector = map[string]any{"outcome.$": "$.outcome"}
	await.ResultPath = at("$.decision")
	// The timeout is caught in the branch: moto 5.2.1 cannot fail a
	// Parallel state with a States.* error of a branch.
	await.Catch = []catcher{{ErrorEquals: []string{ErrorTimeout, ErrorHeartbeatTimeout}, ResultPath: at("$.error"), Next: stateAwaitTimeout}}
	await.Next = stateAwaitDecided

	// With timers, the await's branch loops: Tick says what is due (a
	// reminder or the escalation, emailed by the Remind Map; the expiry;
	// or nothing) and how long the await then waits; on its timeout,
	// Tick again. Without, the await waits timeoutSeconds once.
	tick := lambdaTask(resourceInvoke, functionARN, stepPayload(Tick, map[string]any{
		"level.$": "$.cursor.level",
	}), stateTickAction)
	tick.ResultSelector = map[string]any{
		"action.$":  "$.Payload.action",
		"seconds.$": "$.Payload.seconds",
		"batches.$": "$.Payload.batches",
	}
	tick.ResultPath = at("$.tick")
	yes := true
	timers := func(next string) []choiceRule {
		return []choiceRule{{Variable: "$.timers", BooleanEquals: &yes, Next: next}}
	}

	// The fan-out: PlanNotify (once the await stored the level) returns
	// the approvers' ids in batches; the Notify Map emails each batch. A
	// batch that fails after its retries is recorded (NotifyFailed) and
	// the others go on; nothing here fails the level.
	plan := lambdaTask(resourceInvoke, functionARN, stepPayload(PlanNotify, map[string]any{
		"level.$": "$.cursor.level",
	}), stateNotify)
	plan.ResultSelector = map[string]any{"batches.$": "$.Payload.batches"}
	plan.ResultPath = at("$.notify")
	plan.Catch = []catcher{{ErrorEquals: []string{"States.ALL"}, ResultPath: at("$.error"), Next: statePlanFailed}}
	notify := notifyMap(functionARN, "$.notify.batches", "", stateNotifyBatch, stateNotifyFailed, "")
	level := &state{
		Type: "Parallel",
		Branches: []*stateMachine{
			{StartAt: stateLevelTimers, States: map[string]*state{
				stateLevelTimers: {Type: "Choice", Choices: timers(stateTick), Default: stateNoTimers},
				stateNoTimers: {
					Type:       "Pass",
					Parameters: map[string]any{"action": string(ActionWait), "seconds.$": "$.timeoutSeconds"},
					ResultPath: at("$.tick"),
					Next:       stateAwaitLevel,
				},
				stateTick: tick,
				stateTickAction: {
					Type: "Choice",
					Choices: []choiceRule{
						{Variable: "$.tick.action", StringEquals: string(ActionExpire), Next: stateAwaitTimedOut},
						{Variable: "$.tick.action", StringEquals: string(ActionRemind), Next: stateRemind},
						{Variable: "$.tick.action", StringEquals: string(ActionEscalate), Next: stateRemind},
					},
					Default: stateAwaitLevel,
				},
				stateRemind:       notifyMap(functionARN, "$.tick.batches", "$.tick.action", stateRemindBatch, stateRemindFailed, stateAwaitLevel),
				stateAwaitLevel:   await,
				stateAwaitTimeout: {Type: "Choice", Choices: timers(stateTick), Default: stateAwaitTimedOut},
				// The branch's output is the outcome alone.
				stateAwaitDecided:  {Type: "Pass", OutputPath: "$.decision.outcome", End: true},
				stateAwaitTimedOut: {Type: "Pass", Result: timedOut, End: true},
			}},
			{StartAt: statePlanNotify, States: map[string]*state{
				statePlanNotify: plan,
				statePlanFailed: {Type: "Pass", Parameters: map[string]any{"failed": true}, End: true},
				stateNotify:     notify,
			}},
		},
		// "$[0]", not "$[0].outcome": moto 5.2.1 makes the latter a list.
		ResultSelector: map[string]any{"outcome.$": "$[0]"},
		ResultPath:     at("$.decision"),
		Catch: []catcher{
			{ErrorEquals: []string{ErrorCancelled}, ResultPath: at("$.error"), Next: stateCancelled},
		},
		Next: stateCheckDecision,
	}

	expire := lambdaTask(resourceInvoke, functionARN, stepPayload(Expire, map[string]any{
		"level.$": "$.cursor.level",
	}), stateExpired)
	expire.ResultPath = discard

	finalize := lambdaTask(resourceInvoke, functionARN, stepPayload(Finalize, map[string]any{
		"level.$":   "$.final.level",
		"outcome.$": "$.final.outcome",
	}), stateDone)
	finalize.ResultPath = discard

	return &stateMachine{
		Comment: "Steward approval workflow (generated by github.com/stewardhq/steward/pkg/workflow; do not edit)",
		StartAt: statePrepare,
		States: map[string]*state{
			statePrepare: prepare,
			stateLevel:   level,
			stateCheckDecision: {
				Type: "Choice",
				Choices: []choiceRule{
					{Variable: "$.decision.outcome", StringEquals: timedOut, Next: stateExpire},
					{Variable: "$.decision.outcome", StringEquals: string(Denied), Next: stateDenied},
					{And: []choiceRule{
						{Variable: "$.decision.outcome", StringEquals: string(Approved)},
						{Variable: "$.cursor.level", NumericLessThanPath: "$.levels"},
					}, Next: stateNextLevel},
					{Variable: "$.decision.outcome", StringEquals: string(Approved), Next: stateApproved},
				},
				Default: stateInvalidDecision,
			},
			stateNextLevel: {
				Type:       "Pass",
				Parameters: map[string]any{"level.$": "States.MathAdd($.cursor.level, 1)"},
				ResultPath: at("$.cursor"),
				Next:       stateLevel,
			},
			stateApproved:  outcomePass(Approved),
			stateDenied:    outcomePass(Denied),
			stateCancelled: outcomePass(Cancelled),
			stateExpire:    expire,
			stateExpired:   outcomePass(Expired),
			stateFinalize:  finalize,
			stateDone:      {Type: "Succeed", OutputPath: "$.final"},
			stateInvalidDecision: {
				Type:  "Fail",
				Error: ErrorInvalidDecision,
				Cause: "the await task's result is neither approved nor denied",
			},
		},
	}
}

// Definition returns the workflow's Amazon States Language definition
// (indented JSON, deterministic) with functionARN as the step Lambda's
// ARN. Pass FunctionARNPlaceholder to have the CDK app substitute it.
func Definition(functionARN string) (string, error) {
	if functionARN == "" {
		return "", errors.New("workflow: empty function ARN")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(machine(functionARN)); err != nil {
		return "", err
	}
	return buf.String(), nil
}

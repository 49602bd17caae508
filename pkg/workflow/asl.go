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
)

// The retry policies of every Lambda task.
var (
	// lambdaErrors are Lambda's own transient failures.
	lambdaErrors = []string{
		"Lambda.ServiceException", "Lambda.AWSLambdaException",
		"Lambda.SdkClientException", "Lambda.TooManyRequestsException",
	}
	lambdaRetry    = retrier{ErrorEquals: lambdaErrors, IntervalSeconds: 2, BackoffRate: 2, MaxAttempts: 6}
	transientRetry = retrier{ErrorEquals: []string{ErrorTransient}, IntervalSeconds: 1, BackoffRate: 2, MaxAttempts: 3}
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
	Result             map[string]any `json:"Result,omitempty"`
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

// machine builds the workflow for the step Lambda functionARN.
//
// The execution's data is the StartInput plus: cursor {level} (set by
// Prepare, advanced by NextLevel), decision {outcome} (AwaitLevel's
// result), error {Error, Cause} (a caught error) and final {requestId,
// outcome, level} (the output).
func machine(functionARN string) *stateMachine {
	prepare := lambdaTask(resourceInvoke, functionARN, stepPayload(Prepare, nil), stateAwaitLevel)
	prepare.ResultSelector = map[string]any{"level.$": "$.Payload.level"}
	prepare.ResultPath = at("$.cursor")

	await := lambdaTask(resourceInvokeWait, functionARN, stepPayload(Await, map[string]any{
		"level.$":     "$.cursor.level",
		"taskToken.$": "$$.Task.Token",
	}), stateCheckDecision)
	await.TimeoutSecondsPath = "$.timeoutSeconds"
	await.ResultSelector = map[string]any{"outcome.$": "$.outcome"}
	await.ResultPath = at("$.decision")
	await.Catch = []catcher{
		{ErrorEquals: []string{ErrorTimeout, ErrorHeartbeatTimeout}, ResultPath: at("$.error"), Next: stateExpire},
		{ErrorEquals: []string{ErrorCancelled}, ResultPath: at("$.error"), Next: stateCancelled},
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
			statePrepare:    prepare,
			stateAwaitLevel: await,
			stateCheckDecision: {
				Type: "Choice",
				Choices: []choiceRule{
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
				Next:       stateAwaitLevel,
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

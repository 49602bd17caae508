package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/aws/aws-lambda-go/lambda/messages"
)

// Step names one step of the workflow; the step Lambda switches on it.
type Step string

// The workflow's steps.
const (
	// Prepare starts the request; it returns the first level to await.
	Prepare Step = "prepare"
	// Await stores the level's task token and who is asked; it sends no
	// email (PlanNotify and Notify do, while the level waits).
	Await Step = "await"
	// Tick plans a level's reminders, escalation and expiry (requests
	// whose StartInput has Timers): it returns the next Action and how
	// long the level then waits.
	Tick Step = "tick"
	// PlanNotify returns the ids of the level's approvers to email, in
	// batches of at most NotifyBatchSize, once Await stored the level.
	PlanNotify Step = "plan"
	// Notify mints the one-time link of each approver of a batch not yet
	// emailed and sends the approval email.
	Notify Step = "notify"
	// Expire marks the request expired after a level's timeout.
	Expire Step = "expire"
	// Finalize records the outcome (document status, audit event) and
	// emails the requester.
	Finalize Step = "finalize"
)

// Outcome is how an approval request ends, or what a decision says.
type Outcome string

// The outcomes.
const (
	// Approved: every level approved.
	Approved Outcome = "approved"
	// Denied: a level denied.
	Denied Outcome = "denied"
	// Expired: a level was not decided within its timeout.
	Expired Outcome = "expired"
	// Cancelled: the request was cancelled (SendTaskFailure with
	// ErrorCancelled).
	Cancelled Outcome = "cancelled"
)

// Error names the workflow uses (ASL error names, matched by Retry and
// Catch).
const (
	// ErrorCancelled is the error code to pass to SendTaskFailure to cancel
	// a pending request; the workflow then finalizes it as cancelled.
	ErrorCancelled = "Steward.Cancelled"
	// ErrorTransient is the error a step reports for a transient failure
	// (see Transient); the workflow retries it.
	ErrorTransient = "Steward.Transient"
	// ErrorStepFailed is the error a step reports for any other failure;
	// it fails the execution.
	ErrorStepFailed = "Steward.StepFailed"
	// ErrorInvalidDecision fails an execution whose await task got a
	// result that is neither approved nor denied.
	ErrorInvalidDecision = "Steward.InvalidDecision"
	// ErrorTimeout is what a task that ran out of time raises.
	ErrorTimeout = "States.Timeout"
	// ErrorHeartbeatTimeout is what AWS raises for a missed heartbeat
	// (moto raises States.Timeout instead).
	ErrorHeartbeatTimeout = "States.HeartbeatTimeout"
)

// StartInput is an execution's input. The execution's name is RequestID.
type StartInput struct {
	// RequestID is the approval request's id, also the execution's name.
	RequestID string `json:"requestId"`
	// AccountID is the tenant the request belongs to.
	AccountID string `json:"accountId"`
	// Levels is how many levels must approve, at least 1.
	Levels int `json:"levels"`
	// TimeoutSeconds is how long each level may take to decide before
	// the request expires, at least 1. With Timers it caps nothing: the
	// Tick step counts the expiry (normally the same TimeoutSeconds).
	TimeoutSeconds int `json:"timeoutSeconds"`
	// Timers: a level may remind its approvers or escalate, so each level
	// waits between Tick steps (see Tick) rather than TimeoutSeconds at
	// once. Without it no Tick runs (the workflow of before).
	Timers bool `json:"timers"`
}

// MaxTimeoutSeconds is the largest TimeoutSeconds Step Functions accepts.
const MaxTimeoutSeconds = 99999999

// Validate reports whether in can start an execution: a request id that
// is a valid execution name, an account id, Levels >= 1 and
// 1 <= TimeoutSeconds <= MaxTimeoutSeconds.
func (in StartInput) Validate() error {
	if err := validName(in.RequestID); err != nil {
		return fmt.Errorf("workflow: request id: %w", err)
	}
	switch {
	case in.AccountID == "":
		return errors.New("workflow: account id is empty")
	case in.Levels < 1:
		return fmt.Errorf("workflow: levels %d: at least 1", in.Levels)
	case in.TimeoutSeconds < 1 || in.TimeoutSeconds > MaxTimeoutSeconds:
		return fmt.Errorf("workflow: timeout %d s: between 1 and %d", in.TimeoutSeconds, MaxTimeoutSeconds)
	}
	return nil
}

// validName applies Step Functions' rules for execution names: 1 to 80
// characters, no white space, no control characters, none of
// < > { } [ ] ? * " # % \ ^ | ~ ` $ & , ; : /.
func validName(s string) error {
	if s == "" || len(s) > 80 {
		return fmt.Errorf("%q: 1 to 80 characters", s)
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(`<>{}[]?*"#%\^|~`+"`"+`$&,;:/`, r) {
			return fmt.Errorf("%q: character %q not allowed in an execution name", s, r)
		}
	}
	return nil
}

// StepInput is the payload the state machine sends the step Lambda.
type StepInput struct {
	// Step is the step to run.
	Step Step `json:"step"`
	// RequestID is the approval request's id.
	RequestID string `json:"requestId"`
	// AccountID is the tenant the request belongs to.
	AccountID string `json:"accountId"`
	// Levels is the request's number of levels.
	Levels int `json:"levels"`
	// Level is the level concerned (not set for Prepare).
	Level int `json:"level,omitempty"`
	// TaskToken is the level's task token (Await only): the decision
	// handler sends the level's Decision with it.
	TaskToken string `json:"taskToken,omitempty"`
	// Outcome is the request's outcome (Finalize only).
	Outcome Outcome `json:"outcome,omitempty"`
	// Approvers are the ids of the batch of approvers to email (Notify
	// only): ids, never addresses or links.
	Approvers []string `json:"approvers,omitempty"`
	// Kind is why a Notify batch is emailed: empty for the level's
	// approval emails, ActionRemind for a reminder, ActionEscalate for the
	// approvers an escalation added.
	Kind Action `json:"kind,omitempty"`
}

// Action is what a Tick step decided.
type Action string

// The Tick actions.
const (
	// ActionWait: nothing is due; the level waits Seconds more.
	ActionWait Action = "wait"
	// ActionRemind: a reminder is due; Batches are the approvers to remind
	// (Notify with Kind ActionRemind), then the level waits Seconds.
	ActionRemind Action = "remind"
	// ActionEscalate: the escalation was recorded; Batches are the
	// approvers it added (Notify with Kind ActionEscalate), then the level
	// waits Seconds.
	ActionEscalate Action = "escalate"
	// ActionExpire: the level's time is up; the request expires.
	ActionExpire Action = "expire"
)

// StepOutput is what the step Lambda returns. Only Prepare's,
// PlanNotify's and Tick's are used.
type StepOutput struct {
	// Level is the first level to await (Prepare), normally 1.
	Level int `json:"level"`
	// Batches are the approver ids to email, in batches (PlanNotify, and
	// Tick's remind and escalate).
	Batches [][]string `json:"batches"`
	// Action is what Tick decided.
	Action Action `json:"action,omitempty"`
	// Seconds is how long the level waits next (Tick), 1 to
	// MaxTimeoutSeconds.
	Seconds int `json:"seconds,omitempty"`
}

// Decision is a level's result, sent with SendTaskSuccess.
type Decision struct {
	// Outcome is Approved or Denied.
	Outcome Outcome `json:"outcome"`
}

// Validate reports whether d is a decision the workflow accepts.
func (d Decision) Validate() error {
	if d.Outcome != Approved && d.Outcome != Denied {
		return fmt.Errorf("workflow: decision outcome %q: want %q or %q", d.Outcome, Approved, Denied)
	}
	return nil
}

// Steps are the workflow's steps, implemented by the approvals package
// (document approvals) and the access package (access requests); Mux
// runs both on the one state machine, by request id prefix. Each must be idempotent: run twice with the same input, it sends no
// second email and writes no second record.
type Steps interface {
	// Prepare starts the request and returns the first level to await.
	Prepare(ctx context.Context, in StepInput) (StepOutput, error)
	// Await stores in.TaskToken for in.Level and who is asked. A level
	// already decided (its approvals, or a denial) is finished at once
	// with the token: a decision that raced a Tick sent its result to the
	// level's previous token.
	Await(ctx context.Context, in StepInput) error
	// Tick decides what is due at in.Level (counted from the level's
	// start, which its first Tick records): a reminder, the escalation
	// (recorded by Tick), the expiry, or nothing; see Action. Run again,
	// it does not repeat an action it recorded.
	Tick(ctx context.Context, in StepInput) (StepOutput, error)
	// PlanNotify returns the approvers of in.Level to email, in batches
	// of at most NotifyBatchSize ids (none when the request ended).
	PlanNotify(ctx context.Context, in StepInput) (StepOutput, error)
	// Notify emails the approvers in.Approvers of in.Level not yet
	// emailed (for in.Kind: see StepInput.Kind).
	Notify(ctx context.Context, in StepInput) error
	// Expire marks the request expired.
	Expire(ctx context.Context, in StepInput) error
	// Finalize records in.Outcome and notifies the requester.
	Finalize(ctx context.Context, in StepInput) error
}

// TransientError marks a step failure worth retrying (a throttled or
// unavailable dependency). Make one with Transient.
type TransientError struct {
	// Err is the failure.
	Err error
}

// Error returns the failure's message.
func (e *TransientError) Error() string { return "transient: " + e.Err.Error() }

// Unwrap returns the failure.
func (e *TransientError) Unwrap() error { return e.Err }

// Transient marks err as transient: the workflow retries the step
// (error name ErrorTransient). Transient(nil) is nil.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return &TransientError{Err: err}
}

// ErrorName is the ASL error name a step error is reported as:
// ErrorTransient for a Transient error, ErrorStepFailed for any other.
func ErrorName(err error) string {
	var te *TransientError
	if errors.As(err, &te) {
		return ErrorTransient
	}
	return ErrorStepFailed
}

// Dispatch runs the step in.Step names. It checks the input and
// Prepare's output (1 <= level <= levels).
func Dispatch(ctx context.Context, steps Steps, in StepInput) (StepOutput, error) {
	if in.RequestID == "" || in.AccountID == "" || in.Levels < 1 {
		return StepOutput{}, fmt.Errorf("workflow: step %q: incomplete input %+v", in.Step, in)
	}
	switch in.Step {
	case Prepare:
		out, err := steps.Prepare(ctx, in)
		if err != nil {
			return StepOutput{}, err
		}
		if out.Level < 1 || out.Level > in.Levels {
			return StepOutput{}, fmt.Errorf("workflow: prepare returned level %d of %d", out.Level, in.Levels)
		}
		return out, nil
	case Await:
		if in.TaskToken == "" || in.Level < 1 {
			return StepOutput{}, fmt.Errorf("workflow: await without task token or level: %+v", in)
		}
		return StepOutput{Level: in.Level}, steps.Await(ctx, in)
	case PlanNotify:
		if in.Level < 1 {
			return StepOutput{}, fmt.Errorf("workflow: plan without level: %+v", in)
		}
		out, err := steps.PlanNotify(ctx, in)
		if err != nil {
			return StepOutput{}, err
		}
		for _, b := range out.Batches {
			if len(b) == 0 || len(b) > NotifyBatchSize {
				return StepOutput{}, fmt.Errorf("workflow: plan returned a batch of %d approvers", len(b))
			}
		}
		out.Level = in.Level
		if out.Batches == nil {
			out.Batches = [][]string{}
		}
		return out, nil
	case Tick:
		if in.Level < 1 {
			return StepOutput{}, fmt.Errorf("workflow: tick without level: %+v", in)
		}
		out, err := steps.Tick(ctx, in)
		if err != nil {
			return StepOutput{}, err
		}
		switch out.Action {
		case ActionWait, ActionRemind, ActionEscalate, ActionExpire:
		default:
			return StepOutput{}, fmt.Errorf("workflow: tick returned action %q", out.Action)
		}
		for _, b := range out.Batches {
			if len(b) == 0 || len(b) > NotifyBatchSize {
				return StepOutput{}, fmt.Errorf("workflow: tick returned a batch of %d approvers", len(b))
			}
		}
		// The next wait: at least 1 s (Step Functions' least timeout).
		out.Seconds = max(1, min(out.Seconds, MaxTimeoutSeconds))
		out.Level = in.Level
		if out.Batches == nil {
			out.Batches = [][]string{}
		}
		return out, nil
	case Notify:
		if in.Level < 1 || len(in.Approvers) == 0 {
			return StepOutput{}, fmt.Errorf("workflow: notify without level or approvers: %+v", in)
		}
		switch in.Kind {
		case "", ActionRemind, ActionEscalate:
		default:
			return StepOutput{}, fmt.Errorf("workflow: notify of kind %q", in.Kind)
		}
		return StepOutput{Level: in.Level}, steps.Notify(ctx, in)
	case Expire:
		return StepOutput{Level: in.Level}, steps.Expire(ctx, in)
	case Finalize:
		switch in.Outcome {
		case Approved, Denied, Expired, Cancelled:
		default:
			return StepOutput{}, fmt.Errorf("workflow: finalize with outcome %q", in.Outcome)
		}
		return StepOutput{Level: in.Level}, steps.Finalize(ctx, in)
	}
	return StepOutput{}, fmt.Errorf("workflow: unknown step %q", in.Step)
}

// LambdaHandler returns the step Lambda's handler (for lambda.Start): it
// runs Dispatch and reports errors as the workflow's Retry and Catch
// expect them, with the error type ErrorTransient or ErrorStepFailed.
func LambdaHandler(steps Steps) func(context.Context, StepInput) (StepOutput, error) {
	return func(ctx context.Context, in StepInput) (StepOutput, error) {
		out, err := Dispatch(ctx, steps, in)
		if err != nil {
			return StepOutput{}, messages.InvokeResponse_Error{Type: ErrorName(err), Message: err.Error()}
		}
		return out, nil
	}
}

package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// Errors both engines return (test with errors.Is).
var (
	// ErrExecutionExists: an execution with that name ran, or runs with
	// another input (Step Functions' ExecutionAlreadyExists). The
	// request's workflow was started: treat it as success.
	ErrExecutionExists = errors.New("workflow: execution already exists")
	// ErrExecutionNotFound: no execution has that name.
	ErrExecutionNotFound = errors.New("workflow: execution does not exist")
	// ErrTaskNotFound: the task token is unknown, already used, or its
	// task is over (timed out, retried, execution stopped): Step
	// Functions' InvalidToken, TaskDoesNotExist and TaskTimedOut.
	ErrTaskNotFound = errors.New("workflow: task token is invalid, used or expired")
)

// Engine runs approval workflows: Step Functions (SFN) in AWS, Runner
// locally. The API uses it without knowing which.
type Engine interface {
	// Start starts the workflow for in.RequestID, the execution's name.
	// Starting a name again returns nil while it runs with the same
	// input (nothing more starts), else ErrExecutionExists. Callers treat
	// both as "started".
	Start(ctx context.Context, in StartInput) error
	// SendTaskSuccess sends a level's decision. The token works once.
	SendTaskSuccess(ctx context.Context, token string, d Decision) error
	// SendTaskFailure fails the awaiting task with errorCode;
	// ErrorCancelled cancels the request (Finalize runs as cancelled).
	SendTaskFailure(ctx context.Context, token, errorCode string) error
	// Stop aborts the execution named name; Finalize does not run. Stopping
	// a finished execution does nothing.
	Stop(ctx context.Context, name string) error
}

// SFN is the Engine over AWS Step Functions (or moto).
type SFN struct {
	client          *sfn.Client
	stateMachineARN string
}

var _ Engine = (*SFN)(nil)

// NewSFN returns the Engine running the state machine stateMachineARN
// (created from Definition) with client.
func NewSFN(client *sfn.Client, stateMachineARN string) *SFN {
	return &SFN{client: client, stateMachineARN: stateMachineARN}
}

// Start calls StartExecution with the request id as the name; it maps
// ExecutionAlreadyExists to ErrExecutionExists.
func (s *SFN) Start(ctx context.Context, in StartInput) error {
	if err := in.Validate(); err != nil {
		return err
	}
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	_, err = s.client.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(s.stateMachineARN),
		Name:            aws.String(in.RequestID),
		Input:           aws.String(string(b)),
	})
	if err != nil {
		return fmt.Errorf("workflow: start %s: %w", in.RequestID, mapError(err))
	}
	return nil
}

// SendTaskSuccess sends d (validated first) as the task's result.
func (s *SFN) SendTaskSuccess(ctx context.Context, token string, d Decision) error {
	if err := d.Validate(); err != nil {
		return err
	}
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	_, err = s.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(string(b))})
	if err != nil {
		return fmt.Errorf("workflow: send task success: %w", mapError(err))
	}
	return nil
}

// SendTaskFailure fails the task with errorCode (no cause: moto drops it).
func (s *SFN) SendTaskFailure(ctx context.Context, token, errorCode string) error {
	if errorCode == "" {
		return errors.New("workflow: empty error code")
	}
	_, err := s.client.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String(token), Error: aws.String(errorCode)})
	if err != nil {
		return fmt.Errorf("workflow: send task failure: %w", mapError(err))
	}
	return nil
}

// Stop calls StopExecution on the execution named name.
func (s *SFN) Stop(ctx context.Context, name string) error {
	arn, err := ExecutionARN(s.stateMachineARN, name)
	if err != nil {
		return err
	}
	_, err = s.client.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		return fmt.Errorf("workflow: stop %s: %w", name, mapError(err))
	}
	return nil
}

// ExecutionARN returns the ARN of the execution named name of the
// Standard state machine stateMachineARN
// (arn:…:stateMachine:M → arn:…:execution:M:name).
func ExecutionARN(stateMachineARN, name string) (string, error) {
	prefix, machineName, ok := strings.Cut(stateMachineARN, ":stateMachine:")
	if !ok || machineName == "" {
		return "", fmt.Errorf("workflow: %q is not a state machine ARN", stateMachineARN)
	}
	return prefix + ":execution:" + machineName + ":" + name, nil
}

// mapError wraps err with the engine-neutral error it stands for.
func mapError(err error) error {
	var (
		exists  *types.ExecutionAlreadyExists
		noExec  *types.ExecutionDoesNotExist
		invalid *types.InvalidToken
		noTask  *types.TaskDoesNotExist
		timeout *types.TaskTimedOut
	)
	switch {
	case errors.As(err, &exists):
		return fmt.Errorf("%w: %w", ErrExecutionExists, err)
	case errors.As(err, &noExec):
		return fmt.Errorf("%w: %w", ErrExecutionNotFound, err)
	case errors.As(err, &invalid), errors.As(err, &noTask), errors.As(err, &timeout):
		return fmt.Errorf("%w: %w", ErrTaskNotFound, err)
	}
	return err
}

// Command workflow is the approval state machine's step Lambda: Step
// Functions invokes it for every step (prepare, await, plan, notify,
// expire, finalize) of pkg/workflow, which runs pkg/approvals' steps, and
// pkg/access' steps for access requests (workflow.Mux, by request id
// prefix).
package main

import (
	"context"
	"errors"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/stewardhq/steward/pkg/access"
	"github.com/stewardhq/steward/pkg/app/boot"
	"github.com/stewardhq/steward/pkg/app/mailboot"
	"github.com/stewardhq/steward/pkg/approvals"
	"github.com/stewardhq/steward/pkg/awsclient/sfnclient"
	"github.com/stewardhq/steward/pkg/routes"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/workflow"
)

func main() {
	e := boot.FromEnv(routes.FunctionWorkflow)
	// The steps page within one invocation only: a per-process cursor
	// key will do.
	st, err := e.Store(nil)
	if err != nil {
		boot.Fail(err)
	}
	outbox, err := mailboot.Outbox(e, st)
	if err != nil {
		boot.Fail(err)
	}
	svc := &approvals.Service{Store: st, Mail: outbox, PublicURL: e.Config.PublicURL, Logger: e.Logger, Engine: noEngine{}}
	// Step Functions, to fail a cancelled request's task.
	if arn := e.Config.StateMachineARN; arn != "" {
		svc.Engine = workflow.NewSFN(sfnclient.New(e.AWS, e.Config.Endpoints.StepFunctions), arn)
	}
	acc := &access.Service{Store: st, Mail: outbox, PublicURL: e.Config.PublicURL, Logger: e.Logger, Engine: svc.Engine}
	lambda.Start(workflow.LambdaHandler(workflow.Mux{
		Default:  approvals.Steps{Service: svc},
		ByPrefix: map[string]workflow.Steps{store.AccessRequestIDPrefix: access.Steps{Service: acc}},
	}))
}

// noEngine is the engine when the steps may not call Step Functions: a
// step that would fail a cancelled request's task reports the task gone,
// and the await times out instead.
type noEngine struct{}

func (noEngine) Start(context.Context, workflow.StartInput) error {
	return errors.New("workflow: no workflow engine")
}
func (noEngine) SendTaskSuccess(context.Context, string, workflow.Decision) error {
	return workflow.ErrTaskNotFound
}
func (noEngine) SendTaskFailure(context.Context, string, string) error {
	return workflow.ErrTaskNotFound
}
func (noEngine) Stop(context.Context, string) error { return nil }

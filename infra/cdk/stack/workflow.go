package stack

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/stewardhq/steward/pkg/routes"
	"github.com/stewardhq/steward/pkg/workflow"
)

// EnvStateMachineARN holds the approval state machine's ARN.
const EnvStateMachineARN = "STEWARD_STATE_MACHINE_ARN"

// approvalWorkflow is the state machine that runs each approval and the
// function that runs its steps.
type approvalWorkflow struct {
	stateMachine awsstepfunctions.StateMachine
	steps        awslambda.Function
}

// hasApprovals reports whether the deployed routes include the approval
// routes, which need the workflow.
func (p *StewardStackProps) hasApprovals() bool {
	for _, fn := range p.functions() {
		if fn == routes.FunctionApprovals {
			return true
		}
	}
	return false
}

// newApprovalWorkflow builds the step function and the Standard state
// machine from the one definition in pkg/workflow, with logging and
// tracing. Only the state machine may invoke the step function.
func newApprovalWorkflow(scope constructs.Construct, props *StewardStackProps, table awsdynamodb.ITable, retention awslogs.RetentionDays, env map[string]*string) approvalWorkflow {
	fn := newFunction(scope, routes.FunctionWorkflow, props.AssetsDir, retention, env)
	if err := grantTable(routes.FunctionWorkflow, table, fn); err != nil {
		panic(err) // unreachable: functionGrants has it
	}
	fn.AddToRolePolicy(sendEmailStatement(scope, props.MailFrom))
	asl, err := workflow.Definition(workflow.FunctionARNPlaceholder)
	if err != nil {
		panic(fmt.Sprintf("stack: approval workflow definition: %v", err))
	}
	logs := awslogs.NewLogGroup(scope, jsii.String("ApprovalWorkflow-Logs"), &awslogs.LogGroupProps{Retention: retention})
	sm := awsstepfunctions.NewStateMachine(scope, jsii.String("ApprovalWorkflow"), &awsstepfunctions.StateMachineProps{
		StateMachineType:        awsstepfunctions.StateMachineType_STANDARD,
		DefinitionBody:          awsstepfunctions.DefinitionBody_FromString(jsii.String(asl)),
		DefinitionSubstitutions: &map[string]*string{"FunctionArn": fn.FunctionArn()},
		TracingEnabled:          jsii.Bool(true),
		Logs: &awsstepfunctions.LogOptions{
			Destination:          logs,
			Level:                awsstepfunctions.LogLevel_ERROR,
			IncludeExecutionData: jsii.Bool(false),
		},
	})
	fn.GrantInvoke(sm.Role())
	return approvalWorkflow{stateMachine: sm, steps: fn}
}

// grantClient lets an API function start approvals, send their task
// results and stop them; nothing else on Step Functions.
func (w approvalWorkflow) grantClient(fn awslambda.IFunction) {
	w.stateMachine.GrantStartExecution(fn)
	w.stateMachine.GrantTaskResponse(fn)
	w.stateMachine.GrantExecution(fn, jsii.String("states:StopExecution"))
}

package stack

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
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

// StateMachineName is the approval state machine's name in a stage. It is
// fixed so that the step function can be told the machine's ARN (to fail a
// cancelled request's await task) without a CloudFormation cycle: the
// machine's definition names the function, so the function cannot name the
// machine by reference. Renaming it replaces the machine, which ends the
// approvals in flight: keep it stable.
func StateMachineName(stage string) string { return "steward-" + stage + "-approvals" }

// newApprovalWorkflow builds the step function and the Standard state
// machine from the one definition in pkg/workflow, with logging (every
// event, without execution data: inputs hold email addresses) and X-Ray
// tracing. Only the state machine may invoke the step function.
//
// No dead-letter queue: Step Functions invokes the step function
// synchronously (a Task state with lambda:invoke), so there is no
// asynchronous event to lose. A failed invocation is the task's error:
// the definition retries Lambda's transient errors and Steward.Transient
// (pkg/workflow/asl.go). The approval emails go out through the level's
// Notify Map (batches of approver ids, bounded concurrency, paced sends):
// a batch that still fails after its retries is recorded in the history
// and the level goes on. Any other failure fails the execution, which the
// ExecutionsFailed alarm reports (monitoring.go); the request stays
// pending in DynamoDB and the execution's history keeps its input.
func newApprovalWorkflow(scope constructs.Construct, props *StewardStackProps, table awsdynamodb.ITable, retention awslogs.RetentionDays, mail mailSettings, env map[string]*string) approvalWorkflow {
	name := StateMachineName(props.stage())
	arn := awscdk.Stack_Of(scope).FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("states"),
		Resource:     jsii.String("stateMachine"),
		ResourceName: jsii.String(name),
		ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
	env[EnvStateMachineARN] = arn
	fn := newFunction(scope, routes.FunctionWorkflow, props, retention, env)
	if err := grantTable(routes.FunctionWorkflow, table, fn); err != nil {
		panic(err) // unreachable: functionGrants has it
	}
	fn.AddToRolePolicy(mail.sendStatement())
	// The await step fails a cancelled request's task and finishes a level
	// already decided (pkg/approvals/steps.go): task results only; it
	// neither starts nor stops executions.
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("states:SendTaskSuccess", "states:SendTaskFailure"),
		Resources: &[]*string{arn},
	}))
	asl, err := workflow.Definition(workflow.FunctionARNPlaceholder)
	if err != nil {
		panic(fmt.Sprintf("stack: approval workflow definition: %v", err))
	}
	logs := awslogs.NewLogGroup(scope, jsii.String("ApprovalWorkflow-Logs"), &awslogs.LogGroupProps{Retention: retention})
	sm := awsstepfunctions.NewStateMachine(scope, jsii.String("ApprovalWorkflow"), &awsstepfunctions.StateMachineProps{
		StateMachineName:        jsii.String(name),
		StateMachineType:        awsstepfunctions.StateMachineType_STANDARD,
		DefinitionBody:          awsstepfunctions.DefinitionBody_FromString(jsii.String(asl)),
		DefinitionSubstitutions: &map[string]*string{"FunctionArn": fn.FunctionArn()},
		TracingEnabled:          jsii.Bool(true),
		Logs: &awsstepfunctions.LogOptions{
			Destination:          logs,
			Level:                awsstepfunctions.LogLevel_ALL,
			IncludeExecutionData: jsii.Bool(false),
		},
	})
	fn.GrantInvoke(sm.Role())
	return approvalWorkflow{stateMachine: sm, steps: fn}
}

// grantClient lets an API function start approvals, send their task
// results (success, or failure to cancel) and stop them; nothing else on
// Step Functions (no SendTaskHeartbeat: the await task has no heartbeat).
func (w approvalWorkflow) grantClient(fn awslambda.IFunction) {
	w.stateMachine.GrantStartExecution(fn)
	w.stateMachine.Grant(fn, jsii.String("states:SendTaskSuccess"), jsii.String("states:SendTaskFailure"))
	w.stateMachine.GrantExecution(fn, jsii.String("states:StopExecution"))
}

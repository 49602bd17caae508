package stack

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"

	"github.com/stewardhq/steward/pkg/routes"
)

// withApprovals synthesizes the stack with an approvals route, whatever
// the route table holds today.
func withApprovals(t *testing.T) *synthesized {
	return synth(t, nil, func(p *StewardStackProps) {
		rs := slices.Clone(routes.Table)
		if !slices.ContainsFunc(rs, func(r routes.Route) bool { return r.Function == routes.FunctionApprovals }) {
			rs = append(rs, routes.Route{Method: "GET", Path: "/v1/test-approvals", Function: routes.FunctionApprovals, Operation: "testApprovals"})
		}
		p.Routes = rs
	})
}

func TestApprovalStateMachine(t *testing.T) {
	s := withApprovals(t)
	s.template.ResourceCountIs(jsii.String("AWS::StepFunctions::StateMachine"), jsii.Number(1))
	sm := props(s.res[s.onlyOfType(t, "AWS::StepFunctions::StateMachine")])
	equal(t, "StateMachineType", sm["StateMachineType"], "STANDARD")
	equal(t, "TracingConfiguration", sm["TracingConfiguration"], map[string]any{"Enabled": true})
	// Logging: every event, without execution data, to a log group with
	// the stage's retention.
	lc, _ := sm["LoggingConfiguration"].(map[string]any)
	equal(t, "log level", lc["Level"], "ALL")
	equal(t, "log execution data", lc["IncludeExecutionData"], false)
	lg := lc["Destinations"].([]any)[0].(map[string]any)["CloudWatchLogsLogGroup"].(map[string]any)["LogGroupArn"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
	equal(t, "state machine log retention", props(s.res[lg])["RetentionInDays"], 30)
	raw, _ := json.Marshal(sm["DefinitionString"])
	if !strings.Contains(string(raw), "waitForTaskToken") || !strings.Contains(string(raw), "TimeoutSecondsPath") {
		t.Errorf("definition lacks the await task: %s", raw)
	}
	workflowFn := s.functionLogicalID(t, routes.FunctionWorkflow)
	subs, _ := json.Marshal(sm["DefinitionSubstitutions"])
	if !strings.Contains(string(subs), workflowFn) {
		t.Errorf("definition substitutions %s do not name the workflow function %s", subs, workflowFn)
	}
}

// Only the approvals function may start and stop approvals; it and the
// step function (which fails a cancelled request's await task) are the
// only ones that send task results; only the state machine may invoke the
// step function.
func TestOnlyApprovalsSendsTaskResults(t *testing.T) {
	s := withApprovals(t)
	senders := map[string]bool{}
	for id, pol := range s.ofType("AWS::IAM::Policy") {
		raw, _ := json.Marshal(props(pol))
		roles, _ := json.Marshal(props(pol)["Roles"])
		approvals := strings.Contains(string(roles), "Functionapprovals")
		steps := strings.Contains(string(roles), "Functionworkflow")
		if strings.Contains(string(raw), "states:SendTaskSuccess") || strings.Contains(string(raw), "states:SendTaskFailure") {
			if !approvals && !steps {
				t.Errorf("policy %s of %s sends task results", id, roles)
			}
			senders[string(roles)] = true
		}
		for _, a := range []string{"states:StartExecution", "states:StopExecution"} {
			if strings.Contains(string(raw), a) && !approvals {
				t.Errorf("policy %s of %s has %s", id, roles, a)
			}
		}
		if strings.Contains(string(raw), `"states:*"`) || strings.Contains(string(raw), `"dynamodb:*"`) || strings.Contains(string(raw), `"*"`) && !strings.Contains(string(roles), "ApprovalWorkflowRole") {
			t.Errorf("policy %s has a wildcard: %s", id, raw)
		}
	}
	if len(senders) != 2 {
		t.Errorf("roles sending task results: %v; want the approvals and workflow functions'", senders)
	}
	invokers := 0
	for _, perm := range s.ofType("AWS::IAM::Policy") {
		raw, _ := json.Marshal(props(perm))
		if strings.Contains(string(raw), "lambda:InvokeFunction") {
			invokers++
			roles, _ := json.Marshal(props(perm)["Roles"])
			if !strings.Contains(string(roles), "ApprovalWorkflowRole") {
				t.Errorf("lambda:InvokeFunction granted to %s", roles)
			}
		}
	}
	if invokers != 1 {
		t.Errorf("%d policies invoke the step function; want exactly one", invokers)
	}

	// The step function knows the machine by its fixed name (no
	// CloudFormation cycle), and its task-result grant is on that machine.
	wf := props(s.res[s.functionLogicalID(t, routes.FunctionWorkflow)])
	arn, _ := json.Marshal(wf["Environment"].(map[string]any)["Variables"].(map[string]any)[EnvStateMachineARN])
	if !strings.Contains(string(arn), ":stateMachine:"+StateMachineName(DefaultStage)) {
		t.Errorf("workflow %s = %s", EnvStateMachineARN, arn)
	}
	equal(t, "state machine name", props(s.res[s.onlyOfType(t, "AWS::StepFunctions::StateMachine")])["StateMachineName"], StateMachineName(DefaultStage))
}

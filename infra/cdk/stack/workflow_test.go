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
	if sm["LoggingConfiguration"] == nil {
		t.Error("the state machine has no logging")
	}
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

// Only the approvals function may start approvals and send task results;
// only the state machine may invoke the step function.
func TestOnlyApprovalsSendsTaskResults(t *testing.T) {
	s := withApprovals(t)
	for id, pol := range s.ofType("AWS::IAM::Policy") {
		raw, _ := json.Marshal(props(pol))
		sends := strings.Contains(string(raw), "states:SendTaskSuccess")
		roles, _ := json.Marshal(props(pol)["Roles"])
		approvals := strings.Contains(string(roles), "Functionapprovals")
		if sends != approvals {
			t.Errorf("policy %s: SendTaskSuccess=%v but belongs to approvals=%v (%s)", id, sends, approvals, roles)
		}
		if strings.Contains(string(raw), `"states:*"`) || strings.Contains(string(raw), `"dynamodb:*"`) {
			t.Errorf("policy %s has a wildcard action: %s", id, raw)
		}
	}
	invokers, senders := 0, 0
	for _, perm := range s.ofType("AWS::IAM::Policy") {
		raw, _ := json.Marshal(props(perm))
		if strings.Contains(string(raw), "states:SendTaskSuccess") {
			senders++
		}
		if strings.Contains(string(raw), "lambda:InvokeFunction") {
			invokers++
			roles, _ := json.Marshal(props(perm)["Roles"])
			if !strings.Contains(string(roles), "ApprovalWorkflowRole") {
				t.Errorf("lambda:InvokeFunction granted to %s", roles)
			}
		}
	}
	if invokers != 1 || senders != 1 {
		t.Errorf("%d policies invoke the step function and %d send task results; want exactly one each", invokers, senders)
	}
}

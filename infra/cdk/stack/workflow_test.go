package stack

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/jsii-runtime-go"

	"github.com/stewardhq/steward/pkg/routes"
	"github.com/stewardhq/steward/pkg/workflow"
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
		// The event publisher's stream listing is the one "*" resource of
		// a function (dynamodb:ListStreams takes no ARN; iam_test.go).
		if strings.Contains(string(roles), "Functioneventpublisher") {
			raw = []byte(strings.Replace(string(raw), `{"Action":"dynamodb:ListStreams","Effect":"Allow","Resource":"*"}`, "", 1))
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

// TestApprovalFanOut: the deployed definition emails a level's approvers
// through the Notify Map (bounded concurrency, a Retry of Lambda's and
// the step's transient errors, a Catch that records a batch's failure
// without failing the level), and the step function's timeout leaves
// room for a batch's paced sends and for the plan's wait.
func TestApprovalFanOut(t *testing.T) {
	s := withApprovals(t)
	sm := props(s.res[s.onlyOfType(t, "AWS::StepFunctions::StateMachine")])
	def, ok := sm["DefinitionString"].(string)
	if !ok {
		t.Fatalf("DefinitionString is not a plain string: %v", sm["DefinitionString"])
	}
	var m struct {
		States map[string]struct {
			Type     string
			Branches []struct {
				States map[string]json.RawMessage
			}
			Catch []struct{ ErrorEquals []string }
		}
	}
	if err := json.Unmarshal([]byte(def), &m); err != nil {
		t.Fatal(err)
	}
	level := m.States["Level"]
	if level.Type != "Parallel" || len(level.Branches) != 2 {
		t.Fatalf("Level: %+v", level)
	}
	if _, ok := level.Branches[0].States["AwaitLevel"]; !ok {
		t.Errorf("the Level's first branch is not the await: %v", level.Branches[0].States)
	}
	var notify struct {
		Type           string
		ItemsPath      string
		MaxConcurrency int
		ResultPath     *string
		ItemProcessor  struct {
			ProcessorConfig struct{ Mode string }
			StartAt         string
			States          map[string]struct {
				Type     string
				Resource string
				Retry    []struct {
					ErrorEquals []string
					MaxAttempts int
				}
				Catch []struct {
					ErrorEquals []string
					Next        string
				}
			}
		}
	}
	if err := json.Unmarshal(level.Branches[1].States["Notify"], &notify); err != nil {
		t.Fatal(err)
	}
	equal(t, "Notify type", notify.Type, "Map")
	equal(t, "Notify MaxConcurrency", notify.MaxConcurrency, workflow.NotifyMaxConcurrency)
	equal(t, "Notify mode", notify.ItemProcessor.ProcessorConfig.Mode, "INLINE")
	if notify.ResultPath != nil {
		t.Errorf("the Map's results are kept (ResultPath %q): the state payload would grow with the approvers", *notify.ResultPath)
	}
	batch := notify.ItemProcessor.States[notify.ItemProcessor.StartAt]
	if batch.Type != "Task" || batch.Resource != "arn:aws:states:::lambda:invoke" {
		t.Fatalf("iteration: %+v", batch)
	}
	retried := map[string]int{}
	for _, r := range batch.Retry {
		for _, e := range r.ErrorEquals {
			retried[e] = r.MaxAttempts
		}
	}
	for _, e := range []string{workflow.ErrorTransient, "Lambda.TooManyRequestsException", "Lambda.ServiceException"} {
		if retried[e] < 3 {
			t.Errorf("the batch retries %s %d times", e, retried[e])
		}
	}
	if len(batch.Catch) != 1 || !slices.Equal(batch.Catch[0].ErrorEquals, []string{"States.ALL"}) || notify.ItemProcessor.States[batch.Catch[0].Next].Type != "Pass" {
		t.Errorf("the batch's failure is not recorded by a Pass state: %+v", batch.Catch)
	}

	// Rates and timeouts: the batches at once stay under SES's default
	// 14 emails a second; one batch's paced sends and the plan's wait fit
	// well within the step function's timeout.
	if rate := float64(workflow.NotifyMaxConcurrency) / workflow.DefaultSendInterval.Seconds(); rate > 14 {
		t.Errorf("the fan-out sends up to %.1f emails a second", rate)
	}
	fn := props(s.res[s.functionLogicalID(t, routes.FunctionWorkflow)])
	timeout, _ := fn["Timeout"].(float64)
	sends := time.Duration(workflow.NotifyBatchSize) * workflow.DefaultSendInterval
	if time.Duration(timeout)*time.Second < 3*sends {
		t.Errorf("the step function's timeout %v s leaves no room for a batch's %v of paced sends", timeout, sends)
	}
	if time.Duration(timeout)*time.Second < 2*workflow.PlanWait {
		t.Errorf("the step function's timeout %v s is short of twice the plan's wait %v", timeout, workflow.PlanWait)
	}
}

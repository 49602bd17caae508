package stack

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stewardhq/steward/pkg/routes"
)

// expectedIAM is every role of the default stack and everything it may
// do: per principal, one line per resource set, "service:Action,Action on
// resource, resource [if condition]", sorted. Resources are rendered with
// logical ids stripped of their hash (<Table> is the table's ARN) and
// "arn:<partition>:<service>:<region>:<account>:" shortened to
// "<service>:". managed: lines are AWS managed policies.
//
// TestIAMPolicies fails when a policy grows (or shrinks): update this
// table only together with the code that needs the change.
//
// Least privilege, as the table states it: only auth, users and invites,
// which sign access tokens (routes.SignsTokens), read the private
// <SigningKeys>; the other API functions read <VerifyKeys> (public keys
// and the cursor key). Only the functions whose code sends mail may
// (auth, invites, users for the approval emails of an offboarding's
// handover, the workflow steps, the alert job; not approvals, whose
// emails the workflow steps send), and only functions
// that delete items may DeleteItem (not apikeys, account, alerts). The alert job writes
// only its digests' outbox records and unsubscribe tokens
// (store.AlertsJobLeadingKeys); its only queue rights are sending tasks to
// its work queue (and failures to its dead-letter queue) and consuming
// the work queue. The event publisher reads the table's stream (its event
// source's grant: ListStreams, which has no resource-level permission, on
// *, the only wildcard resource of a function), queries the table itself
// (webhook endpoints; no index, no write), puts events on the stage's bus
// only, and sends to the delivery queue and its dead-letter queue; the
// webhook delivery function reads and writes the table, sends email,
// consumes its queue and sends (delayed retries) to it only. The
// functions that replay webhook deliveries (webhooks for the API's route,
// users for the admin portal's webhooks page) may only send to the
// delivery queue; no other API function has any SQS right.
var expectedIAM = map[string][]string{
	"function " + routes.FunctionAccount: {
		"dynamodb:BatchGetItem,ConditionCheckItem,GetItem,PutItem,Query,UpdateItem on <Table>, <Table>/index/*",
		"managed: AWSLambdaBasicExecutionRole",
		"secretsmanager:GetSecretValue on <VerifyKeys>",
	},
	"function " + routes.FunctionAlerts: {
		"dynamodb:BatchGetItem,ConditionCheckItem,GetItem,PutItem,Query,UpdateItem on <Table>, <Table>/index/*",
		"managed: AWSLambdaBasicExecutionRole",
		"secretsmanager:GetSecretValue on <VerifyKeys>",
	},
	"function " + routes.FunctionAlertsJob: {
		"dynamodb:BatchGetItem,GetItem,Query on <Table>, <Table>/index/*",
		`dynamodb:DeleteItem,PutItem,UpdateItem on <Table> if {"ForAllValues:StringLike":{"dynamodb:LeadingKeys":["OUTBOX#digest/*","TOKEN#unsubscribe#*"]}}`,
		"managed: AWSLambdaBasicExecutionRole",
		"ses:SendEmail on ses:configuration-set/steward-dev, ses:identity/no-reply@steward.example.com, ses:identity/steward.example.com",
		"sqs:ChangeMessageVisibility,DeleteMessage,GetQueueAttributes,GetQueueUrl,ReceiveMessage on <AlertsWork>",
		"sqs:GetQueueAttributes,GetQueueUrl,SendMessage on <AlertsJobDLQ>, <AlertsWork>",
	},
	"function " + routes.FunctionAPIKeys: {
		"dynamodb:BatchGetItem,ConditionCheckItem,GetItem,PutItem,Query,UpdateItem on <Table>, <Table>/index/*",
		"managed: AWSLambdaBasicExecutionRole",
		"secretsmanager:GetSecretValue on <VerifyKeys>",
	},
	"function " + routes.FunctionWebhooks: {
		"dynamodb:BatchGetItem,ConditionCheckItem,DeleteItem,GetItem,PutItem,Query,UpdateItem on <Table>, <Table>/index/*",
		"managed: AWSLambdaBasicExecutionRole",
		"secretsmanager:GetSecretValue on <VerifyKeys>",
		"sqs:SendMessage on <WebhookDelivery>",
	},
	"function " + routes.FunctionApprovals: {
		"dynamodb:BatchGetItem,ConditionCheckItem,DeleteItem,GetItem,PutItem,Query,UpdateItem on <Table>, <Table>/index/*",
		"managed: AWSLambdaBasicExecutionRole",
		"secretsmanager:GetSecretValue on <VerifyKeys>",
		"states:SendTaskFailure,SendTaskSuccess,StartExecution on <ApprovalWorkflow>",
		"states:StopExecution on states:execution:<ApprovalWorkflow.name>:*",
	},
	"function " + routes.FunctionAuth: {
		"dynamodb:BatchGetItem,ConditionCheckItem,DeleteItem,GetItem,PutItem,Query,UpdateItem on <Table>, <Table>/index/*",
		"managed: AWSLambdaBasicExecutionRole",
		"secretsmanager:GetSecretValue on <SigningKeys>",
		"ses:SendEmail on ses:configuration-set/steward-dev, ses:identity/no-reply@steward.example.com, ses:identity/steward.example.com",
	},
	"function " + routes.FunctionEventPublisher: {
		"dynamodb:DescribeStream,GetRecords,GetShardIterator on <Table.StreamArn>",
		"dynamodb:ListStreams on *",
		"dynamodb:Query on <Table>",
		"events:PutEvents on <EventBus>",
		"managed: AWSLambdaBasicExecutionRole",
		"sqs:GetQueueAttributes,GetQueueUrl,SendMessage on <EventPublisherDLQ>",
		"sqs:SendMessage on <WebhookDelivery>",
	},
	"function " + routes.FunctionHealth: {
		"dynamodb:DescribeTable on <Table>",
		"managed: AWSLambdaBasicExecutionRole",
	},
	"function " + routes.FunctionInvites: {
		"dynamodb:BatchGetItem,ConditionCheckItem,DeleteItem,GetItem,PutItem,Query,UpdateItem on <Table>, <Table>/index/*",
		"managed: AWSLambdaBasicExecutionRole",
		"secretsmanager:GetSecretValue on <SigningKeys>",
		"ses:SendEmail on ses:configuration-set/steward-dev, ses:identity/no-reply@steward.example.com, ses:identity/steward.example.com",
	},
	"function " + routes.FunctionPermissions: {
		"dynamodb:BatchGetItem,ConditionCheckItem,DeleteItem,GetItem,PutItem,Query,UpdateItem on <Table>, <Table>/index/*",
		"managed: AWSLambdaBasicExecutionRole",
		"secretsmanager:GetSecretValue on <VerifyKeys>",
	},
	"function " + routes.FunctionUsers: {
		"dynamodb:BatchGetItem,ConditionCheckItem,DeleteItem,GetItem,PutItem,Query,UpdateItem on <Table>, <Table>/index/*",
		"managed: AWSLambdaBasicExecutionRole",
		"secretsmanager:GetSecretValue on <SigningKeys>",
		"ses:SendEmail on ses:configuration-set/steward-dev, ses:identity/no-reply@steward.example.com, ses:identity/steward.example.com",
		"sqs:SendMessage on <WebhookDelivery>",
	},
	"function " + routes.FunctionWebhookDelivery: {
		"dynamodb:BatchGetItem,ConditionCheckItem,DeleteItem,GetItem,PutItem,Query,UpdateItem on <Table>, <Table>/index/*",
		"managed: AWSLambdaBasicExecutionRole",
		"secretsmanager:GetSecretValue on <VerifyKeys>",
		"ses:SendEmail on ses:configuration-set/steward-dev, ses:identity/no-reply@steward.example.com, ses:identity/steward.example.com",
		"sqs:ChangeMessageVisibility,DeleteMessage,GetQueueAttributes,GetQueueUrl,ReceiveMessage,SendMessage on <WebhookDelivery>",
	},
	"function " + routes.FunctionWorkflow: {
		"dynamodb:BatchGetItem,ConditionCheckItem,DeleteItem,GetItem,PutItem,Query,UpdateItem on <Table>, <Table>/index/*",
		"managed: AWSLambdaBasicExecutionRole",
		"ses:SendEmail on ses:configuration-set/steward-dev, ses:identity/no-reply@steward.example.com, ses:identity/steward.example.com",
		"states:SendTaskFailure,SendTaskSuccess on states:stateMachine:steward-dev-approvals",
	},
	"state machine ApprovalWorkflow": {
		"lambda:InvokeFunction on <Functionworkflow>, <Functionworkflow>:*",
		"logs:CreateLogDelivery,DeleteLogDelivery,DescribeLogGroups,DescribeResourcePolicies,GetLogDelivery,ListLogDeliveries,PutResourcePolicy,UpdateLogDelivery on *",
		"xray:GetSamplingRules,GetSamplingTargets,PutTelemetryRecords,PutTraceSegments on *",
	},
}

// TestIAMPolicies renders every role's permissions and compares them with
// expectedIAM, so that no function's policy grows beyond what it uses.
func TestIAMPolicies(t *testing.T) {
	s := defaultStack(t)
	got := renderIAM(t, s)
	t.Logf("IAM actions per principal:\n%s", formatIAM(got))
	for _, p := range sortedKeys(expectedIAM) {
		if _, ok := got[p]; !ok {
			t.Errorf("%s: no such role in the stack", p)
		}
	}
	for _, p := range sortedKeys(got) {
		want, ok := expectedIAM[p]
		if !ok {
			t.Errorf("unexpected role %s:\n  %s", p, strings.Join(got[p], "\n  "))
			continue
		}
		if !slices.Equal(got[p], want) {
			t.Errorf("%s:\n got  %q\n want %q", p, got[p], want)
		}
	}
	if t.Failed() {
		t.Logf("the stack's IAM as Go data (paste into expectedIAM only if every line is needed):\n%s", goIAM(got))
	}
	// No wildcard action anywhere, and no table action on "*" but the
	// event publisher's stream listing (dynamodb:ListStreams takes no
	// resource ARN; it lists stream ARNs, no data).
	for p, lines := range got {
		for _, l := range lines {
			if p == "function "+routes.FunctionEventPublisher && l == "dynamodb:ListStreams on *" {
				continue
			}
			if strings.Contains(l, ":*,") || strings.Contains(l, ":* on") || strings.HasPrefix(l, "dynamodb:") && strings.Contains(l, "on *") {
				t.Errorf("%s has a wildcard: %s", p, l)
			}
		}
	}
}

// renderIAM renders the permissions of every role of the stack, keyed by
// "function <name>" or "state machine <id>".
func renderIAM(t *testing.T, s *synthesized) map[string][]string {
	t.Helper()
	principal := map[string]string{} // role logical id -> principal
	fns := append(routes.Functions(), routes.FunctionWorkflow, routes.FunctionAlertsJob, routes.FunctionEventPublisher, routes.FunctionWebhookDelivery)
	for _, name := range fns {
		fn := props(s.res[s.functionLogicalID(t, name)])
		if fn == nil {
			continue
		}
		principal[fn["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)] = "function " + name
	}
	for _, sm := range s.ofType("AWS::StepFunctions::StateMachine") {
		role := props(sm)["RoleArn"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
		principal[role] = "state machine ApprovalWorkflow"
	}
	groups := map[string]map[string]map[string]bool{} // principal -> "resources|condition" -> actions
	out := map[string][]string{}
	for id, role := range s.ofType("AWS::IAM::Role") {
		p, ok := principal[id]
		if !ok {
			p = "role " + stripHash(id)
			principal[id] = p
		}
		groups[p] = map[string]map[string]bool{}
		for _, m := range asList(props(role)["ManagedPolicyArns"]) {
			raw := renderValue(m)
			out[p] = append(out[p], "managed: "+raw[strings.LastIndex(raw, "/")+1:])
		}
		for _, inline := range asList(props(role)["Policies"]) {
			t.Errorf("%s has an inline policy: %v", p, inline)
		}
	}
	for _, pol := range s.ofType("AWS::IAM::Policy") {
		for _, r := range asList(props(pol)["Roles"]) {
			p, ok := principal[r.(map[string]any)["Ref"].(string)]
			if !ok {
				t.Fatalf("policy of an unknown role %v", r)
			}
			for _, st := range asList(props(pol)["PolicyDocument"].(map[string]any)["Statement"]) {
				stm := st.(map[string]any)
				if stm["Effect"] != "Allow" {
					t.Errorf("%s: unexpected statement %v", p, stm)
					continue
				}
				var res []string
				for _, r := range asList(stm["Resource"]) {
					res = append(res, renderValue(r))
				}
				sort.Strings(res)
				key := strings.Join(slices.Compact(res), ", ")
				if c, ok := stm["Condition"]; ok {
					key += " if " + string(must(json.Marshal(c)))
				}
				for _, a := range asList(stm["Action"]) {
					// One line per service and resource set.
					svc, _, _ := strings.Cut(a.(string), ":")
					k := svc + "\x00" + key
					if groups[p][k] == nil {
						groups[p][k] = map[string]bool{}
					}
					groups[p][k][a.(string)] = true
				}
			}
		}
	}
	for p, byRes := range groups {
		for k, actions := range byRes {
			_, res, _ := strings.Cut(k, "\x00")
			out[p] = append(out[p], joinActions(sortedKeys(actions))+" on "+res)
		}
		sort.Strings(out[p])
	}
	return out
}

// joinActions writes sorted actions as "svc:A,B other:C".
func joinActions(actions []string) string {
	var parts []string
	prev := ""
	for _, a := range actions {
		svc, name, _ := strings.Cut(a, ":")
		if svc == prev {
			parts[len(parts)-1] += "," + name
			continue
		}
		parts = append(parts, a)
		prev = svc
	}
	return strings.Join(parts, " ")
}

var (
	cdkHash   = regexp.MustCompile(`[0-9A-F]{8}$`)
	arnPrefix = regexp.MustCompile(`^arn:\$\{AWS::Partition\}:([a-z0-9-]+):\$\{AWS::Region\}:\$\{AWS::AccountId\}:`)
)

func stripHash(id string) string { return cdkHash.ReplaceAllString(id, "") }

// renderValue renders a template value (string, Ref, Fn::GetAtt Arn,
// Fn::Join, the state machine name's Fn::Select/Fn::Split) as text.
func renderValue(v any) string {
	switch v := v.(type) {
	case string:
		return arnPrefix.ReplaceAllString(v, "$1:")
	case map[string]any:
		if ref, ok := v["Ref"].(string); ok {
			if strings.HasPrefix(ref, "AWS::") {
				return "${" + ref + "}"
			}
			return "<" + stripHash(ref) + ">"
		}
		if ga, ok := v["Fn::GetAtt"].([]any); ok {
			if ga[1] == "Arn" {
				return "<" + stripHash(ga[0].(string)) + ">"
			}
			return "<" + stripHash(ga[0].(string)) + "." + ga[1].(string) + ">"
		}
		if j, ok := v["Fn::Join"].([]any); ok {
			var b strings.Builder
			for i, part := range j[1].([]any) {
				if i > 0 {
					b.WriteString(j[0].(string))
				}
				if s, ok := part.(string); ok {
					b.WriteString(s)
				} else {
					b.WriteString(renderValue(part))
				}
			}
			return renderValue(b.String())
		}
		if sel, ok := v["Fn::Select"].([]any); ok {
			// The name in a state machine ARN: Select(6, Split(":", Ref)).
			if sp, ok := sel[1].(map[string]any)["Fn::Split"].([]any); ok {
				inner := renderValue(sp[1])
				return strings.TrimSuffix(inner, ">") + ".name>"
			}
		}
	}
	return string(must(json.Marshal(v)))
}

func asList(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	default:
		return []any{v}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// formatIAM renders the table for humans (the closing note, t.Log).
func formatIAM(m map[string][]string) string {
	var b strings.Builder
	for _, p := range sortedKeys(m) {
		fmt.Fprintf(&b, "%s\n", p)
		for _, l := range m[p] {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	return b.String()
}

// goIAM renders the table as Go data for expectedIAM.
func goIAM(m map[string][]string) string {
	var b strings.Builder
	for _, p := range sortedKeys(m) {
		fmt.Fprintf(&b, "\t%q: {\n", p)
		for _, l := range m[p] {
			fmt.Fprintf(&b, "\t\t%q,\n", l)
		}
		b.WriteString("\t},\n")
	}
	return b.String()
}

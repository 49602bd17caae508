package stack

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/stewardhq/steward/infra/sizing"
	"github.com/stewardhq/steward/pkg/routes"
)

// FunctionSettings are the sizing of one Lambda function (infra/sizing:
// shared with infra/coldstart, which measures with the same settings).
type FunctionSettings = sizing.Function

// DefaultFunctionSettings apply to a function sizing.For does not list.
var DefaultFunctionSettings = sizing.Default

// SettingsFor returns the sizing of the named function.
func SettingsFor(function string) FunctionSettings { return sizing.For(function) }

// grantFunc gives one function exactly the access it needs to the table.
type grantFunc func(table awsdynamodb.ITable, fn awslambda.IFunction)

// functionGrants lists, per function, its access to the table. There is
// deliberately no default: a function added to the route table without an
// entry here fails synth, so nobody ends up with read/write access by
// accident (least privilege is decided per function, explicitly).
var functionGrants = map[string]grantFunc{
	// health only checks that the table answers (DescribeTable). It gets
	// that one action on the table itself, not on its indexes and not
	// GrantReadWriteData.
	routes.FunctionHealth: func(table awsdynamodb.ITable, fn awslambda.IFunction) {
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Effect:    awsiam.Effect_ALLOW,
			Actions:   jsii.Strings("dynamodb:DescribeTable"),
			Resources: jsii.Strings(*table.TableArn()),
		}))
	},
	routes.FunctionAuth:        readWrite,
	routes.FunctionApprovals:   readWrite,
	routes.FunctionWorkflow:    readWrite,
	routes.FunctionUsers:       readWrite,
	routes.FunctionPermissions: readWrite,
	routes.FunctionInvites:     readWrite,
	routes.FunctionAPIKeys:     readWriteNoDelete,
	routes.FunctionAccount:     readWriteNoDelete,
	routes.FunctionAlerts:      readWriteNoDelete,
	routes.FunctionAlertsJob:   alertsJobGrant,
	// The event publisher only queries the webhook endpoints of an account
	// (events.go); the delivery function reads and writes the table
	// (delivery attempts, endpoint state: it may disable an endpoint and
	// email the account).
	routes.FunctionEventPublisher: eventPublisherGrant,
	// webhooks deletes endpoints; the delivery function releases failed
	// outbox claims (the disabled-endpoint email).
	routes.FunctionWebhooks:        readWrite,
	routes.FunctionWebhookDelivery: readWrite,
}

// tableActions name what the data functions do to the table; never a
// wildcard.
var (
	tableReadActions  = []string{"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}
	tableWriteActions = []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"}
)

func tableStatement(table awsdynamodb.ITable, actions []string) awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings(actions...),
		Resources: jsii.Strings(*table.TableArn(), *table.TableArn()+"/index/*"),
	})
}

// readWrite: the table's item reads and writes, transactions included
// (TransactWriteItems is authorized per item by PutItem, UpdateItem,
// DeleteItem and ConditionCheckItem).
func readWrite(table awsdynamodb.ITable, fn awslambda.IFunction) {
	fn.AddToRolePolicy(tableStatement(table, append(append([]string{}, tableReadActions...), tableWriteActions...)))
}

// readWriteNoDelete: readWrite without dynamodb:DeleteItem, for the
// functions whose code deletes nothing. Steward deletes items only for
// idempotency records (routes with Idempotent: invites, permissions,
// users, approvals), failed outbox claims (the functions that send mail),
// sign-in counters (auth, invites), invitations and member guards
// (invites, users); apikeys, account and alerts do none of these.
func readWriteNoDelete(table awsdynamodb.ITable, fn awslambda.IFunction) {
	var write []string
	for _, a := range tableWriteActions {
		if a != "dynamodb:DeleteItem" {
			write = append(write, a)
		}
	}
	fn.AddToRolePolicy(tableStatement(table, append(append([]string{}, tableReadActions...), write...)))
}

// grantTable applies the function's grant, or fails if it has none.
func grantTable(function string, table awsdynamodb.ITable, fn awslambda.IFunction) error {
	g, ok := functionGrants[function]
	if !ok {
		return fmt.Errorf("stack: function %q has no table permissions defined; add it to functionGrants in infra/cdk/stack/functions.go", function)
	}
	g(table, fn)
	return nil
}

// functionID is the construct id of a function; its log group and
// integration ids derive from the same name.
func functionID(function string) string { return "Function-" + function }

// duration converts whole seconds to a CDK duration.
func duration(seconds float64) awscdk.Duration { return awscdk.Duration_Seconds(jsii.Number(seconds)) }

// functionNeeds are what a function uses besides the table.
type functionNeeds struct {
	// Authenticates: verifies access tokens (every API function but
	// health). A function that also signs tokens (routes.SignsTokens)
	// reads the private signing-key secret; every other one reads only
	// the verify-key secret (public keys and the cursor key).
	Authenticates bool
	// SendEmail: sends email through SES from MailFrom.
	SendEmail bool
	// Workflow: starts approvals and sends their task results.
	Workflow bool
	// WebhookQueue: queues webhook deliveries (replays) on the delivery
	// queue: the function gets its URL (EnvWebhookQueueURL) and
	// sqs:SendMessage on it alone (events.go, grantWebhookReplays). Every
	// function serving a route whose handler replays has it
	// (TestRoutesThatReplayGetTheDeliveryQueue).
	WebhookQueue bool
}

// SignsTokens reports whether the function reads the private signing keys.
func (n functionNeeds) signs(function string) bool {
	return n.Authenticates && routes.SignsTokens(function)
}

// needs lists what each API function calls. SendEmail only where a
// handler of the function sends mail: auth (verification, password
// reset), invites (invitations, self-registration) and users (the
// approval emails of the seats an offboarding with reassignTo hands
// over); the other approval emails are sent by the workflow steps and
// alert digests by the alert job. WebhookQueue where a route replays
// webhook deliveries: webhooks (POST /v1/webhooks/{id}/replay) and users
// (the admin portal's webhooks page, POST /portal/webhooks/{id}/replay).
var needs = map[string]functionNeeds{
	routes.FunctionApprovals:   {Authenticates: true, Workflow: true},
	routes.FunctionAuth:        {Authenticates: true, SendEmail: true},
	routes.FunctionUsers:       {Authenticates: true, SendEmail: true, WebhookQueue: true},
	routes.FunctionPermissions: {Authenticates: true},
	routes.FunctionInvites:     {Authenticates: true, SendEmail: true},
	routes.FunctionAPIKeys:     {Authenticates: true},
	routes.FunctionAccount:     {Authenticates: true},
	routes.FunctionAlerts:      {Authenticates: true},
	routes.FunctionWebhooks:    {Authenticates: true, WebhookQueue: true},
}

func needsOf(function string) functionNeeds { return needs[function] }

package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// AddNagChecks applies cdk-nag's AWS Solutions checks to scope (the app,
// or a stack): every unsuppressed finding becomes an error annotation,
// which fails `cdk synth -c nag=true` and the template test
// TestNagAwsSolutions.
//
// Fixed rather than suppressed: API access logs (APIG1), the state
// machine's logging of ALL events and X-Ray tracing (SF1, SF2), the
// dead-letter queue's encryption and TLS-only policy (SQS2, SQS4), the
// alarm topic's KMS encryption and TLS-only policy (SNS2, SNS3), KMS key
// rotation (KMS5), the table's point-in-time recovery (DDB3). What is
// left is suppressed below, each with its reason.
func AddNagChecks(scope constructs.IConstruct) {
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}

// nagResources are the constructs whose findings are suppressed.
type nagResources struct {
	api         deployedAPI
	functions   []deployedFunction
	approvals   approvalWorkflow
	alertsJob   alertsJob
	events      eventsPipeline
	signingKeys awssecretsmanager.Secret
	verifyKeys  awssecretsmanager.Secret
}

// suppression is one cdk-nag suppression; appliesTo entries are regular
// expressions over the finding's resource ("Resource::...", "Policy::...").
func suppression(id, reason string, appliesTo ...string) *cdknag.NagPackSuppression {
	s := &cdknag.NagPackSuppression{Id: jsii.String(id), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		a := make([]any, len(appliesTo))
		for i, re := range appliesTo {
			a[i] = &cdknag.RegexAppliesTo{Regex: jsii.String(re)}
		}
		s.AppliesTo = &a
	}
	return s
}

// suppress adds suppressions to a construct and its children.
func suppress(c constructs.IConstruct, s ...*cdknag.NagPackSuppression) {
	cdknag.NagSuppressions_AddResourceSuppressions(c, &s, jsii.Bool(true))
}

// suppressNagFindings records, on each resource, why a cdk-nag AWS
// Solutions rule does not apply to it. Suppressions are scoped to the
// resource and, for IAM4/IAM5, to the exact policy or resource pattern,
// so a new wildcard elsewhere still fails the test.
func suppressNagFindings(r nagResources) {
	for _, f := range r.functions {
		suppress(f.fn,
			suppression("AwsSolutions-IAM4",
				"AWSLambdaBasicExecutionRole only lets the function write its own logs (logs:CreateLogGroup, CreateLogStream, PutLogEvents); it is the standard Lambda logging policy.",
				`/^Policy::arn:<AWS::Partition>:iam::aws:policy\/service-role\/AWSLambdaBasicExecutionRole$/g`),
			suppression("AwsSolutions-IAM5",
				"Queries of the single table's global secondary indexes: index/* covers the table's own indexes (store.Definition), with the same explicit item actions as the table (never dynamodb:*).",
				`/^Resource::<Table[0-9A-F]+\.Arn>\/index\/\*$/g`),
		)
	}
	if r.approvals.stateMachine != nil {
		suppress(r.approvals.stateMachine.Role(), suppression("AwsSolutions-IAM5",
			"Resource * only for CloudWatch Logs log delivery (logs:CreateLogDelivery and the other *LogDelivery/ResourcePolicy actions) and X-Ray (xray:PutTraceSegments, ...), which have no resource-level permissions; <fn>.Arn:* is lambda:InvokeFunction on the step function's own versions.",
			`/^Resource::\*$/g`, `/^Resource::<Functionworkflow[0-9A-F]+\.Arn>:\*$/g`))
		for _, f := range r.functions {
			if needsOf(f.name).Workflow {
				suppress(f.fn, suppression("AwsSolutions-IAM5",
					"states:StopExecution on this state machine's executions only; an execution is named by its approval request id at run time, hence execution:<machine>:*.",
					`/^Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:.*:\*$/g`))
			}
		}
	}
	if r.alertsJob.dlq != nil {
		suppress(r.alertsJob.dlq, suppression("AwsSolutions-SQS3",
			"This queue is the dead-letter queue itself: of the alert job's EventBridge target, of the function's asynchronous on-failure destination, and of its work queue."))
	}
	if r.events.publisher != nil {
		suppress(r.events.publisherDLQ, suppression("AwsSolutions-SQS3",
			"This queue is the dead-letter queue itself: the on-failure destination of the event publisher's stream event source (records of batches that failed every retry)."))
		suppress(r.events.deliveryDLQ, suppression("AwsSolutions-SQS3",
			"This queue is the dead-letter queue itself: of the webhook delivery queue (messages received five times without being processed)."))
		suppress(r.events.publisher, suppression("AwsSolutions-IAM5",
			"dynamodb:ListStreams, which the stream event source needs (CDK's grantStreamRead), has no resource-level permissions and only lists stream ARNs; the stream's records are read with DescribeStream, GetShardIterator and GetRecords on this table's stream ARN only.",
			`/^Resource::\*$/g`))
	}
	suppress(r.signingKeys, suppression("AwsSolutions-SMG4",
		"Rotated by `make keys SECRET=<arn> VERIFY_SECRET=<arn> ROTATE=1`, which adds a new signing key and keeps the previous ones so issued tokens stay valid; a Secrets Manager rotation Lambda cannot publish the new public key to clients ahead of use."))
	suppress(r.verifyKeys, suppression("AwsSolutions-SMG4",
		"Holds the public half of the signing keys (and the cursor key); `make keys` rewrites it with every rotation of the signing keys, before the private set."))

	// APIG4 (no authorization) only: COG4 (Cognito authorizer) does not
	// fire on HTTP API routes in cdk-nag v2.35.
	for _, dr := range r.api.routes {
		if !dr.route.Public && r.api.authorizer != nil {
			continue
		}
		reason := "Public by design (" + dr.route.Pattern() + "): sign-up, sign-in, token refresh, password reset, JWKS/OpenID discovery, health, the OpenAPI document and one-time token links (invitation, approval, unsubscribe) are reached without an access token; the function checks the credentials or one-time token itself."
		if !dr.route.Public {
			reason = "Authenticated by the function itself (Steward access token or API key, session reloaded per request, pkg/auth); the gateway JWT authorizer is added when context key jwtIssuer names the issuer's stable public URL."
		}
		suppress(dr.http.Node().DefaultChild(), suppression("AwsSolutions-APIG4", reason))
	}
}

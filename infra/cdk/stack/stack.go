// Package stack is Steward's CDK stack: the single DynamoDB table built
// from store.Definition, one Lambda function per function of the route
// table (routes.Functions), and an API Gateway HTTP API with one route per
// routes.Table entry. The table definition and the route table are shared
// with the local stack, so what is deployed and what runs locally cannot
// drift.
package stack

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/stewardhq/steward/pkg/routes"
	"github.com/stewardhq/steward/pkg/store"
)

// Environment variables every function receives.
const (
	// EnvTable holds the DynamoDB table name.
	EnvTable = "STEWARD_TABLE"
	// EnvStage holds the stage name (dev, prod, ...).
	EnvStage = "STEWARD_STAGE"
	// EnvPublicURL holds the base URL of links in emails.
	EnvPublicURL = "STEWARD_PUBLIC_URL"
	// EnvMailFrom holds the sender address.
	EnvMailFrom = "STEWARD_MAIL_FROM"
	// EnvSigningKeysSecret holds the ARN of the signing-key secret (the
	// private key set); only functions that sign tokens get it.
	EnvSigningKeysSecret = "STEWARD_SIGNING_KEYS_SECRET"
	// EnvVerifyKeysSecret holds the ARN of the verify-key secret (public
	// keys and the cursor key), for the functions that only verify.
	EnvVerifyKeysSecret = "STEWARD_VERIFY_KEYS_SECRET"
	// EnvIssuer and EnvAudience hold the access tokens' "iss" and "aud"
	// (context jwtIssuer, default the public URL; jwtAudience, its first
	// value), so that the tokens the functions issue are the ones API
	// Gateway's JWT authorizer accepts.
	EnvIssuer   = "STEWARD_ISSUER"
	EnvAudience = "STEWARD_AUDIENCE"
	// EnvSESConfigurationSet holds the SES configuration set's name.
	EnvSESConfigurationSet = "STEWARD_SES_CONFIGURATION_SET"
)

// Defaults for the optional props.
const (
	// DefaultStage is the stage when none is given.
	DefaultStage = "dev"
	// DefaultThrottleRateLimit is the steady-state request rate (per
	// second) of each authenticated route of the API's default stage: the
	// deployment's safety net, sized for many tenants (a 5,000-member
	// tenant peaks near 50 checks a second) and still a tenth of the
	// account-wide API Gateway limit (10,000/s) that other APIs in the
	// customer's account share. Tenants are kept apart by the functions'
	// per-account throttle (pkg/throttle, STEWARD_ACCOUNT_RATE_LIMIT,
	// default 100 requests a second per account), not by this number.
	DefaultThrottleRateLimit = 1000
	// DefaultThrottleBurstLimit is the burst size of the default stage.
	DefaultThrottleBurstLimit = 2000
	// DefaultPublicThrottleRateLimit and DefaultPublicThrottleBurstLimit
	// throttle each public route (no access token: sign-up, sign-in,
	// password reset, one-time links...), a tenth of the stage's, so that
	// anonymous clients hammering one of them cannot spend the stage's
	// budget that every tenant's signed-in requests share. Steward's own
	// per-address and per-recipient limits (pkg/auth) apply within them.
	DefaultPublicThrottleRateLimit  = 10
	DefaultPublicThrottleBurstLimit = 20
)

// StewardStackProps configures the Steward stack.
type StewardStackProps struct {
	awscdk.StackProps
	// Stage names the deployment (dev, prod); it is passed to the functions
	// as STEWARD_STAGE. Empty means DefaultStage.
	Stage string
	// AssetsDir holds one directory per function, each with the built
	// Lambda executable `bootstrap` (<AssetsDir>/<function>/bootstrap).
	// Required; a relative path is relative to the working directory.
	AssetsDir string
	// JWTIssuer is the issuer URL of the access tokens. API Gateway fetches
	// <issuer>/.well-known/openid-configuration and its jwks_uri to verify
	// them. Required as soon as one route is not public.
	JWTIssuer string
	// PublicURL is the base URL of links in emails (https://...).
	PublicURL string
	// MailFrom is the sender of every email, e.g. "Steward
	// <no-reply@example.com>"; its domain must be a verified SES identity.
	MailFrom string
	// JWTAudience lists the accepted "aud" values of the access tokens.
	// Required as soon as one route is not public.
	JWTAudience []string
	// ThrottleRateLimit and ThrottleBurstLimit throttle the API's default
	// stage; zero means DefaultThrottleRateLimit / DefaultThrottleBurstLimit.
	ThrottleRateLimit  float64
	ThrottleBurstLimit float64
	// PublicThrottleRateLimit and PublicThrottleBurstLimit throttle each
	// public route (route-level settings of the stage); zero means
	// DefaultPublicThrottleRateLimit / DefaultPublicThrottleBurstLimit.
	// They may not exceed the stage's limits.
	PublicThrottleRateLimit  float64
	PublicThrottleBurstLimit float64
	// LogRetention is the retention of every log group (functions, state
	// machine, API access log); empty means one month.
	LogRetention awslogs.RetentionDays
	// SESConfigurationSet names the SES configuration set the stack
	// creates; empty means "steward-<stage>".
	SESConfigurationSet string
	// AlarmEmail, when set, is subscribed to the alarm topic.
	AlarmEmail string
	// FunctionMemory overrides the memory (MB) of the named functions.
	FunctionMemory map[string]float64
	// Routes is the route table; nil means routes.Table. Tests set it to
	// cover authenticated routes before the real table has any.
	Routes []routes.Route
	// Table is the table definition; nil means store.Definition.
	Table *store.TableDefinition
}

// routeTable returns the routes the stack deploys.
func (p *StewardStackProps) routeTable() []routes.Route {
	if p.Routes == nil {
		return routes.Table
	}
	return p.Routes
}

// tableDefinition returns the table definition the stack deploys.
func (p *StewardStackProps) tableDefinition() store.TableDefinition {
	if p.Table == nil {
		return store.Definition
	}
	return *p.Table
}

// functions lists the distinct functions of the route table, in order.
func (p *StewardStackProps) functions() []string {
	if p.Routes == nil {
		return routes.Functions()
	}
	var out []string
	seen := map[string]bool{}
	for _, r := range p.Routes {
		if !seen[r.Function] {
			seen[r.Function] = true
			out = append(out, r.Function)
		}
	}
	return out
}

// retention is the log retention of every log group.
func (p *StewardStackProps) retention() awslogs.RetentionDays {
	if p.LogRetention == "" {
		return awslogs.RetentionDays_ONE_MONTH
	}
	return p.LogRetention
}

// settingsFor is the sizing of a function with the memory override of
// the props applied.
func (p *StewardStackProps) settingsFor(function string) FunctionSettings {
	s := SettingsFor(function)
	if mb, ok := p.FunctionMemory[function]; ok {
		s.MemoryMB = mb
	}
	return s
}

// sesConfigurationSet is the configuration set's name.
func (p *StewardStackProps) sesConfigurationSet() string {
	if p.SESConfigurationSet == "" {
		return "steward-" + p.stage()
	}
	return p.SESConfigurationSet
}

// throttle is the default stage's rate and burst limits.
func (p *StewardStackProps) throttle() (rate, burst float64) {
	rate, burst = p.ThrottleRateLimit, p.ThrottleBurstLimit
	if rate == 0 {
		rate = DefaultThrottleRateLimit
	}
	if burst == 0 {
		burst = DefaultThrottleBurstLimit
	}
	return rate, burst
}

// publicThrottle is each public route's rate and burst limits.
func (p *StewardStackProps) publicThrottle() (rate, burst float64) {
	rate, burst = p.PublicThrottleRateLimit, p.PublicThrottleBurstLimit
	if rate == 0 {
		rate = DefaultPublicThrottleRateLimit
	}
	if burst == 0 {
		burst = DefaultPublicThrottleBurstLimit
	}
	return rate, burst
}

// stage returns the stage name.
func (p *StewardStackProps) stage() string {
	if p.Stage == "" {
		return DefaultStage
	}
	return p.Stage
}

// Validate reports every problem that would make the stack wrong or make
// synth fail: a missing Lambda asset, a function without table
// permissions, an authenticated route without a JWT issuer or audience.
func (p *StewardStackProps) Validate() error {
	var errs []error
	if p.AssetsDir == "" {
		errs = append(errs, errors.New("stack: AssetsDir is empty (context key assetsDir)"))
	}
	fns := p.functions()
	if p.hasApprovals() {
		fns = append(fns, routes.FunctionWorkflow)
	}
	if p.hasAlerts() {
		fns = append(fns, routes.FunctionAlertsJob)
	}
	if p.hasEvents() {
		fns = append(fns, routes.FunctionEventPublisher, routes.FunctionWebhookDelivery)
	}
	for _, fn := range fns {
		if p.AssetsDir != "" {
			bootstrap := filepath.Join(p.AssetsDir, fn, "bootstrap")
			if st, err := os.Stat(bootstrap); err != nil || !st.Mode().IsRegular() {
				errs = append(errs, fmt.Errorf("stack: Lambda asset %s is missing: build the functions first (make build) or point context key assetsDir at them", bootstrap))
			}
		}
		if _, ok := functionGrants[fn]; !ok {
			errs = append(errs, fmt.Errorf("stack: function %q has no table permissions defined; add it to functionGrants in infra/cdk/stack/functions.go", fn))
		}
	}
	for _, fn := range p.functions() {
		if needsOf(fn).SendEmail && (p.PublicURL == "" || p.MailFrom == "") {
			errs = append(errs, fmt.Errorf("stack: function %q sends email: set context keys %s and %s", fn, ContextPublicURL, ContextMailFrom))
			break
		}
	}
	known := map[string]bool{}
	for _, fn := range fns {
		known[fn] = true
	}
	for fn, mb := range p.FunctionMemory {
		if !known[fn] {
			errs = append(errs, fmt.Errorf("stack: context %s names %q, which is not a deployed function", ContextFunctionMemory, fn))
		}
		if mb < 128 || mb > 10240 || mb != float64(int(mb)) {
			errs = append(errs, fmt.Errorf("stack: context %s: %s = %v MB; Lambda allows whole MB from 128 to 10240", ContextFunctionMemory, fn, mb))
		}
	}
	rate, burst := p.throttle()
	pubRate, pubBurst := p.publicThrottle()
	if pubRate > rate || pubBurst > burst || pubRate < 0 || pubBurst < 0 {
		errs = append(errs, fmt.Errorf("stack: public route throttle %v/s burst %v must lie between 0 and the stage's %v/s burst %v (context keys %s, %s)",
			pubRate, pubBurst, rate, burst, ContextPublicThrottleRateLimit, ContextPublicThrottleBurstLimit))
	}
	if p.JWTIssuer != "" && len(p.JWTAudience) == 0 {
		errs = append(errs, fmt.Errorf("stack: a JWT issuer is configured but no audience (context key %s)", ContextJWTAudience))
	}
	return errors.Join(errs...)
}

// NewStewardStack builds the Steward stack in scope. It panics with the
// error of props.Validate when the props are incomplete; callers that want
// a clean error message call Validate first.
//
// Besides the table, the functions and the API it deploys: the signing-key
// secret and the verify-key secret (both hold the cursor key), the SES configuration set (ses.go), the approval
// state machine (workflow.go), the alert job with its schedule, work
// queue and dead-letter queue (alertsjob.go), the change events' bus,
// publisher, webhook delivery queue and function (events.go), and the
// alarms, their SNS topic and the dashboard (monitoring.go).
func NewStewardStack(scope constructs.Construct, id string, props *StewardStackProps) awscdk.Stack {
	if props == nil {
		props = &StewardStackProps{}
	}
	if err := props.Validate(); err != nil {
		panic(err)
	}
	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	stage := props.stage()

	table := newTable(stack, props.tableDefinition())

	retention := props.retention()
	// The access-token signing keys. Their value (a key set: the current
	// key and the previous ones) is written by `make keys` after the first
	// deployment, and on rotation; CloudFormation never sees it.
	signingKeys := awssecretsmanager.NewSecret(stack, jsii.String("SigningKeys"), &awssecretsmanager.SecretProps{
		Description:   jsii.String("Steward access-token signing keys (" + stage + ")"),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	// Their public half and the cursor key, for the functions that only
	// verify tokens (make keys writes both).
	verifyKeys := awssecretsmanager.NewSecret(stack, jsii.String("VerifyKeys"), &awssecretsmanager.SecretProps{
		Description:   jsii.String("Steward access-token public keys and cursor key (" + stage + ")"),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	mail := newMailSettings(stack, props)

	// workerEnv is what the functions outside the API (workflow steps,
	// alert job) get: they send email and page within one invocation, so
	// they need no cursor key and no signing keys.
	workerEnv := func() map[string]*string {
		env := map[string]*string{EnvTable: table.TableName(), EnvStage: jsii.String(stage)}
		mail.addEnv(env)
		return env
	}
	var deployed []deployedFunction
	var approvals approvalWorkflow
	if props.hasApprovals() {
		approvals = newApprovalWorkflow(stack, props, table, retention, mail, workerEnv())
		deployed = append(deployed, deployedFunction{routes.FunctionWorkflow, approvals.steps})
	}
	var alertsJob alertsJob
	if props.hasAlerts() {
		alertsJob = newAlertsJob(stack, props, table, retention, mail, workerEnv())
		deployed = append(deployed, deployedFunction{routes.FunctionAlertsJob, alertsJob.fn})
	}
	var events eventsPipeline
	if props.hasEvents() {
		events = newEventsPipeline(stack, props, table, retention, mail, workerEnv(), verifyKeys)
		deployed = append(deployed,
			deployedFunction{routes.FunctionEventPublisher, events.publisher},
			deployedFunction{routes.FunctionWebhookDelivery, events.delivery})
	}
	integrations := map[string]awsapigatewayv2.HttpRouteIntegration{}
	for _, name := range props.functions() {
		env := map[string]*string{
			EnvTable: table.TableName(),
			EnvStage: jsii.String(stage),
			// List cursors are sealed with the cursor key that travels in
			// the signing-key secret (pkg/accesstoken.KeySet), so no key
			// sits in the functions' configuration.
		}
		need := needsOf(name)
		// The secret the function reads: the private key set when it
		// signs tokens, else the public keys only.
		var keySecret awssecretsmanager.Secret
		switch {
		case need.signs(name):
			keySecret = signingKeys
			env[EnvSigningKeysSecret] = signingKeys.SecretArn()
		case need.Authenticates:
			keySecret = verifyKeys
			env[EnvVerifyKeysSecret] = verifyKeys.SecretArn()
		}
		if need.Authenticates || need.SendEmail {
			// Every function that authenticates builds the auth service:
			// the issuer defaults to the public URL, and the (unused) mail
			// sender needs the sender address. Sending needs the SES grant,
			// which only SendEmail functions get.
			mail.addEnv(env)
			if props.JWTIssuer != "" {
				env[EnvIssuer] = jsii.String(props.JWTIssuer)
			}
			if len(props.JWTAudience) > 0 {
				env[EnvAudience] = jsii.String(props.JWTAudience[0])
			}
		}
		if need.Workflow {
			env[EnvStateMachineARN] = approvals.stateMachine.StateMachineArn()
		}
		fn := newFunction(stack, name, props, retention, env)
		if need.Workflow {
			approvals.grantClient(fn)
		}
		if err := grantTable(name, table, fn); err != nil {
			panic(err) // unreachable: Validate checked it
		}
		if keySecret != nil {
			fn.AddToRolePolicy(readSecretStatement(keySecret))
		}
		if need.SendEmail {
			fn.AddToRolePolicy(mail.sendStatement())
		}
		deployed = append(deployed, deployedFunction{name, fn})
		// One integration per function, shared by its routes.
		integrations[name] = awsapigatewayv2integrations.NewHttpLambdaIntegration(
			jsii.String(functionID(name)+"-Integration"), fn,
			&awsapigatewayv2integrations.HttpLambdaIntegrationProps{
				PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
			})
	}

	grantWebhookReplays(deployed, events)
	api := newAPI(stack, stage, props, retention, integrations)

	newMonitoring(stack, props, monitored{
		functions:    deployed,
		api:          api,
		table:        table,
		stateMachine: approvals.stateMachine,
		alertsDLQ:    alertsJob.dlq,
		events:       events,
		mail:         mail,
	})
	suppressNagFindings(nagResources{
		api: api, functions: deployed, approvals: approvals, alertsJob: alertsJob, events: events,
		signingKeys: signingKeys, verifyKeys: verifyKeys,
	})

	awscdk.NewCfnOutput(stack, jsii.String("ApiUrl"), &awscdk.CfnOutputProps{
		Description: jsii.String("Base URL of the Steward API"),
		Value:       api.api.ApiEndpoint(),
	})
	awscdk.NewCfnOutput(stack, jsii.String("SigningKeysSecret"), &awscdk.CfnOutputProps{
		Description: jsii.String("Secret holding the access-token signing keys: fill it with make keys SECRET=<this> VERIFY_SECRET=<VerifyKeysSecret>"),
		Value:       signingKeys.SecretArn(),
	})
	awscdk.NewCfnOutput(stack, jsii.String("VerifyKeysSecret"), &awscdk.CfnOutputProps{
		Description: jsii.String("Secret holding the access-token public keys and the cursor key: make keys VERIFY_SECRET=<this> fills it"),
		Value:       verifyKeys.SecretArn(),
	})
	awscdk.NewCfnOutput(stack, jsii.String("TableName"), &awscdk.CfnOutputProps{
		Description: jsii.String("Name of the Steward DynamoDB table"),
		Value:       table.TableName(),
	})
	awscdk.NewCfnOutput(stack, jsii.String("SESConfigurationSet"), &awscdk.CfnOutputProps{
		Description: jsii.String("SES configuration set every email is sent through"),
		Value:       jsii.String(mail.configurationSet),
	})
	addEventsOutputs(stack, events)
	return stack
}

// deployedFunction is one function of the stack, for the alarms and the
// dashboard.
type deployedFunction struct {
	name string
	fn   awslambda.Function
}

// newTable builds the single table from its definition.
//
// It uses awsdynamodb.Table (AWS::DynamoDB::Table), not TableV2
// (AWS::DynamoDB::GlobalTable): Steward is deployed into one region of the
// customer's account and needs no replicas; the plain table resource is
// what every tool, IAM example and DynamoDB Local's CreateTable mirror
// speak; and switching the resource type later is a retain-and-import
// migration either way, so we choose the simpler resource on purpose.
func newTable(scope constructs.Construct, def store.TableDefinition) awsdynamodb.Table {
	str := func(name string) *awsdynamodb.Attribute {
		return &awsdynamodb.Attribute{Name: jsii.String(name), Type: awsdynamodb.AttributeType_STRING}
	}
	props := &awsdynamodb.TableProps{
		PartitionKey: str(def.PartitionKey),
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		// The table holds every account's data: never delete it with the
		// stack.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	}
	if def.SortKey != "" {
		props.SortKey = str(def.SortKey)
	}
	if def.TTLAttribute != "" {
		props.TimeToLiveAttribute = jsii.String(def.TTLAttribute)
	}
	if def.Stream {
		// New item images, for the change events' publisher (events.go).
		props.Stream = awsdynamodb.StreamViewType_NEW_IMAGE
	}
	table := awsdynamodb.NewTable(scope, jsii.String("Table"), props)
	for _, ix := range def.Indexes {
		gsi := &awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(ix.Name),
			PartitionKey:   str(ix.PartitionKey),
			ProjectionType: awsdynamodb.ProjectionType_ALL,
		}
		if ix.SortKey != "" {
			gsi.SortKey = str(ix.SortKey)
		}
		table.AddGlobalSecondaryIndex(gsi)
	}
	return table
}

// newFunction builds one Go Lambda function (custom runtime on Graviton)
// with its own log group, sized by props.settingsFor.
func newFunction(scope constructs.Construct, name string, props *StewardStackProps, retention awslogs.RetentionDays, env map[string]*string) awslambda.Function {
	id := functionID(name)
	logs := awslogs.NewLogGroup(scope, jsii.String(id+"-Logs"), &awslogs.LogGroupProps{
		Retention: retention,
	})
	s := props.settingsFor(name)
	return awslambda.NewFunction(scope, jsii.String(id), &awslambda.FunctionProps{
		Description:  jsii.String("Steward " + name + " function"),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(filepath.Join(props.AssetsDir, name)), nil),
		MemorySize:   jsii.Number(s.MemoryMB),
		Timeout:      duration(s.TimeoutSeconds),
		LogGroup:     logs,
		Environment:  &env,
	})
}

// deployedAPI is the HTTP API, its stage and its routes.
type deployedAPI struct {
	api   awsapigatewayv2.HttpApi
	stage awsapigatewayv2.HttpStage
	// routes pairs each route table entry with its API Gateway route.
	routes []deployedRoute
	// authorizer is nil when no route has the JWT authorizer.
	authorizer awsapigatewayv2.IHttpRouteAuthorizer
}

// deployedRoute is one route of the API.
type deployedRoute struct {
	route routes.Route
	http  awsapigatewayv2.HttpRoute
}

// accessLogFormat is the API access log line (JSON). It names the route
// key (the pattern), never the path or query string: one-time tokens
// travel in both (/approve/{token}, ?token=).
var accessLogFormat = map[string]string{
	"requestId":          "$context.requestId",
	"requestTime":        "$context.requestTimeEpoch",
	"sourceIp":           "$context.identity.sourceIp",
	"routeKey":           "$context.routeKey",
	"status":             "$context.status",
	"protocol":           "$context.protocol",
	"responseLength":     "$context.responseLength",
	"responseLatency":    "$context.responseLatency",
	"integrationLatency": "$context.integrationLatency",
	"integrationError":   "$context.integrationErrorMessage",
	"authorizerError":    "$context.authorizer.error",
}

// newAPI builds the HTTP API with one route per route table entry, a
// throttled auto-deployed $default stage with JSON access logs and, when a
// route is not public, a JWT authorizer on that route.
func newAPI(scope constructs.Construct, stage string, props *StewardStackProps, retention awslogs.RetentionDays, integrations map[string]awsapigatewayv2.HttpRouteIntegration) deployedAPI {
	api := awsapigatewayv2.NewHttpApi(scope, jsii.String("Api"), &awsapigatewayv2.HttpApiProps{
		ApiName:     jsii.String("steward-" + stage),
		Description: jsii.String("Steward API (" + stage + ")"),
		// The default stage is built below, to set its throttling.
		CreateDefaultStage: jsii.Bool(false),
	})

	rate, burst := props.throttle()
	httpStage := awsapigatewayv2.NewHttpStage(scope, jsii.String("ApiDefaultStage"), &awsapigatewayv2.HttpStageProps{
		HttpApi:    api,
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(rate),
			BurstLimit: jsii.Number(burst),
		},
	})
	// Access logs, through the L1 stage (HTTP APIs write them with their
	// service-linked role: no IAM role to create).
	accessLogs := awslogs.NewLogGroup(scope, jsii.String("Api-AccessLogs"), &awslogs.LogGroupProps{Retention: retention})
	format, err := json.Marshal(accessLogFormat)
	if err != nil {
		panic(err)
	}
	httpStage.Node().DefaultChild().(awsapigatewayv2.CfnStage).SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: accessLogs.LogGroupArn(),
		Format:         jsii.String(string(format)),
	})

	// API Gateway's JWT authorizer is an optional first line: it needs
	// Steward's issuer at a stable public URL (a custom domain, context key
	// jwtIssuer), which a first deployment does not have yet. Without it the
	// functions alone authenticate, as they always do anyway: every
	// authenticated request reloads the member and session, which no
	// authorizer can. It refuses API keys (opaque stk_ tokens, not JWTs),
	// so it is for deployments whose clients use access tokens only; a
	// Lambda authorizer that knew API keys would add a cold start and a
	// second DynamoDB read to every request for no decision the function
	// does not make again.
	var authorizer awsapigatewayv2.IHttpRouteAuthorizer
	for _, r := range props.routeTable() {
		if r.Public || props.JWTIssuer == "" {
			continue
		}
		authorizer = awsapigatewayv2authorizers.NewHttpJwtAuthorizer(
			jsii.String("JwtAuthorizer"), jsii.String(props.JWTIssuer),
			&awsapigatewayv2authorizers.HttpJwtAuthorizerProps{
				AuthorizerName: jsii.String("steward-jwt"),
				JwtAudience:    jsii.Strings(props.JWTAudience...),
			})
		break
	}

	out := deployedAPI{api: api, stage: httpStage, authorizer: authorizer}
	for _, r := range props.routeTable() {
		opts := &awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(r.Path),
			Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(r.Method)},
			Integration: integrations[r.Function],
		}
		if !r.Public && authorizer != nil {
			opts.Authorizer = authorizer
		}
		for _, hr := range *api.AddRoutes(opts) {
			out.routes = append(out.routes, deployedRoute{route: r, http: hr})
		}
	}

	// Public routes get their own, lower throttle (route settings of the
	// stage, keyed by route key). The stage must be updated after the
	// routes exist, or CloudFormation cannot find the route keys.
	pubRate, pubBurst := props.publicThrottle()
	settings := map[string]any{}
	for _, dr := range out.routes {
		if !dr.route.Public {
			continue
		}
		// RouteSettings is a JSON property: CloudFormation's own spelling.
		settings[dr.route.Pattern()] = map[string]any{
			"ThrottlingRateLimit":  pubRate,
			"ThrottlingBurstLimit": pubBurst,
		}
		httpStage.Node().AddDependency(dr.http)
	}
	if len(settings) > 0 {
		httpStage.Node().DefaultChild().(awsapigatewayv2.CfnStage).SetRouteSettings(settings)
	}
	return out
}

// readSecretStatement lets a function read a secret: GetSecretValue only
// (Secret.GrantRead would add DescribeSecret, which Steward never calls).
func readSecretStatement(secret awssecretsmanager.ISecret) awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("secretsmanager:GetSecretValue"),
		Resources: &[]*string{secret.SecretArn()},
	})
}

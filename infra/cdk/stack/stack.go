// Package stack is Steward's CDK stack: the single DynamoDB table built
// from store.Definition, one Lambda function per function of the route
// table (routes.Functions), and an API Gateway HTTP API with one route per
// routes.Table entry. The table definition and the route table are shared
// with the local stack, so what is deployed and what runs locally cannot
// drift.
package stack

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
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
	// EnvSigningKeysSecret holds the ARN of the signing-key secret.
	EnvSigningKeysSecret = "STEWARD_SIGNING_KEYS_SECRET"
)

// Defaults for the optional props.
const (
	// DefaultStage is the stage when none is given.
	DefaultStage = "dev"
	// DefaultThrottleRateLimit is the steady-state request rate (per
	// second) of the API's default stage. It caps a runaway client well
	// below the account-wide API Gateway limit (10,000/s) that other APIs
	// in the customer's account share.
	DefaultThrottleRateLimit = 100
	// DefaultThrottleBurstLimit is the burst size of the default stage.
	DefaultThrottleBurstLimit = 200
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
	// LogRetention is the retention of the functions' log groups; empty
	// means one month.
	LogRetention awslogs.RetentionDays
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
	if p.JWTIssuer != "" && len(p.JWTAudience) == 0 {
		errs = append(errs, fmt.Errorf("stack: a JWT issuer is configured but no audience (context key %s)", ContextJWTAudience))
	}
	return errors.Join(errs...)
}

// NewStewardStack builds the Steward stack in scope. It panics with the
// error of props.Validate when the props are incomplete; callers that want
// a clean error message call Validate first.
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

	retention := props.LogRetention
	if retention == "" {
		retention = awslogs.RetentionDays_ONE_MONTH
	}
	// The access-token signing keys. Their value (a key set: the current
	// key and the previous ones) is written by `make keys` after the first
	// deployment, and on rotation; CloudFormation never sees it.
	signingKeys := awssecretsmanager.NewSecret(stack, jsii.String("SigningKeys"), &awssecretsmanager.SecretProps{
		Description:   jsii.String("Steward access-token signing keys (" + stage + ")"),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	var approvals approvalWorkflow
	if props.hasApprovals() {
		approvals = newApprovalWorkflow(stack, props, table, retention, map[string]*string{
			EnvTable: table.TableName(), EnvStage: jsii.String(stage),
			EnvPublicURL: jsii.String(props.PublicURL), EnvMailFrom: jsii.String(props.MailFrom),
		})
	}
	if props.hasAlerts() {
		newAlertsJob(stack, props, table, retention, map[string]*string{
			EnvTable: table.TableName(), EnvStage: jsii.String(stage),
			EnvPublicURL: jsii.String(props.PublicURL), EnvMailFrom: jsii.String(props.MailFrom),
		})
	}
	integrations := map[string]awsapigatewayv2.HttpRouteIntegration{}
	for _, name := range props.functions() {
		env := map[string]*string{
			EnvTable: table.TableName(),
			EnvStage: jsii.String(stage),
		}
		need := needsOf(name)
		if need.SigningKeys {
			env[EnvSigningKeysSecret] = signingKeys.SecretArn()
		}
		if need.SendEmail {
			env[EnvPublicURL] = jsii.String(props.PublicURL)
			env[EnvMailFrom] = jsii.String(props.MailFrom)
		}
		if need.Workflow {
			env[EnvStateMachineARN] = approvals.stateMachine.StateMachineArn()
		}
		fn := newFunction(stack, name, props.AssetsDir, retention, env)
		if need.Workflow {
			approvals.grantClient(fn)
		}
		if err := grantTable(name, table, fn); err != nil {
			panic(err) // unreachable: Validate checked it
		}
		if need.SigningKeys {
			signingKeys.GrantRead(fn, nil)
		}
		if need.SendEmail {
			fn.AddToRolePolicy(sendEmailStatement(stack, props.MailFrom))
		}
		// One integration per function, shared by its routes.
		integrations[name] = awsapigatewayv2integrations.NewHttpLambdaIntegration(
			jsii.String(functionID(name)+"-Integration"), fn,
			&awsapigatewayv2integrations.HttpLambdaIntegrationProps{
				PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
			})
	}

	api := newAPI(stack, stage, props, integrations)

	awscdk.NewCfnOutput(stack, jsii.String("ApiUrl"), &awscdk.CfnOutputProps{
		Description: jsii.String("Base URL of the Steward API"),
		Value:       api.ApiEndpoint(),
	})
	awscdk.NewCfnOutput(stack, jsii.String("SigningKeysSecret"), &awscdk.CfnOutputProps{
		Description: jsii.String("Secret holding the access-token signing keys: fill it with make keys SECRET=<this>"),
		Value:       signingKeys.SecretArn(),
	})
	awscdk.NewCfnOutput(stack, jsii.String("TableName"), &awscdk.CfnOutputProps{
		Description: jsii.String("Name of the Steward DynamoDB table"),
		Value:       table.TableName(),
	})
	return stack
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
// with its own log group.
func newFunction(scope constructs.Construct, name, assetsDir string, retention awslogs.RetentionDays, env map[string]*string) awslambda.Function {
	id := functionID(name)
	logs := awslogs.NewLogGroup(scope, jsii.String(id+"-Logs"), &awslogs.LogGroupProps{
		Retention: retention,
	})
	s := SettingsFor(name)
	return awslambda.NewFunction(scope, jsii.String(id), &awslambda.FunctionProps{
		Description:  jsii.String("Steward " + name + " function"),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(filepath.Join(assetsDir, name)), nil),
		MemorySize:   jsii.Number(s.MemoryMB),
		Timeout:      duration(s.TimeoutSeconds),
		LogGroup:     logs,
		Environment:  &env,
	})
}

// newAPI builds the HTTP API with one route per route table entry, a
// throttled auto-deployed $default stage and, when a route is not public,
// a JWT authorizer on that route.
func newAPI(scope constructs.Construct, stage string, props *StewardStackProps, integrations map[string]awsapigatewayv2.HttpRouteIntegration) awsapigatewayv2.HttpApi {
	api := awsapigatewayv2.NewHttpApi(scope, jsii.String("Api"), &awsapigatewayv2.HttpApiProps{
		ApiName:     jsii.String("steward-" + stage),
		Description: jsii.String("Steward API (" + stage + ")"),
		// The default stage is built below, to set its throttling.
		CreateDefaultStage: jsii.Bool(false),
	})

	rate, burst := props.ThrottleRateLimit, props.ThrottleBurstLimit
	if rate == 0 {
		rate = DefaultThrottleRateLimit
	}
	if burst == 0 {
		burst = DefaultThrottleBurstLimit
	}
	awsapigatewayv2.NewHttpStage(scope, jsii.String("ApiDefaultStage"), &awsapigatewayv2.HttpStageProps{
		HttpApi:    api,
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(rate),
			BurstLimit: jsii.Number(burst),
		},
	})

	// API Gateway's JWT authorizer is an optional first line: it needs
	// Steward's issuer at a stable public URL (a custom domain, context key
	// jwtIssuer), which a first deployment does not have yet. Without it the
	// functions alone authenticate, as they always do anyway: every
	// authenticated request reloads the member and session, which no
	// authorizer can.
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

	for _, r := range props.routeTable() {
		opts := &awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(r.Path),
			Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(r.Method)},
			Integration: integrations[r.Function],
		}
		if !r.Public && authorizer != nil {
			opts.Authorizer = authorizer
		}
		api.AddRoutes(opts)
	}
	return api
}

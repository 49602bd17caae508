package stack

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/stewardhq/steward/pkg/routes"
	"github.com/stewardhq/steward/pkg/store"
)

// tempRoot holds the synthesized stacks' assets and outputs. It outlives
// single tests because the stack synthesized once is shared by several,
// and reading its annotations synthesizes it again into its outdir.
var tempRoot string

func TestMain(m *testing.M) {
	var err error
	if tempRoot, err = os.MkdirTemp("", "steward-cdk-test-"); err != nil {
		panic(err)
	}
	code := m.Run()
	jsii.Close()
	_ = os.RemoveAll(tempRoot)
	os.Exit(code)
}

// tempDir is a new folder under tempRoot.
func tempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp(tempRoot, "synth-")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// repoRootForTest is the repository root, three levels above this package.
const repoRootForTest = "../../.."

// synthesized is one synthesized stack and its template.
type synthesized struct {
	stack    awscdk.Stack
	template assertions.Template
	res      map[string]map[string]any // logical id -> resource
}

// synth builds the stack the way `cdk synth` does (cdk.json's context,
// then extra context), with dummy bootstrap files in a temp assets dir
// passed through the assetsDir context key. mutate edits the props.
func synth(t *testing.T, extra map[string]any, mutate func(*StewardStackProps)) *synthesized {
	t.Helper()
	ctx, err := CDKJSONContext(filepath.Join(repoRootForTest, "cdk.json"))
	if err != nil {
		t.Fatal(err)
	}
	assets := tempDir(t)
	for _, fn := range append(routes.Functions(), routes.FunctionWorkflow, routes.FunctionApprovals, routes.FunctionAlertsJob,
		routes.FunctionEventPublisher, routes.FunctionWebhookDelivery, routes.FunctionWebhooks) {
		if err := os.MkdirAll(filepath.Join(assets, fn), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(assets, fn, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ctx[ContextAssetsDir] = assets
	for k, v := range extra {
		ctx[k] = v
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(tempDir(t))})
	// As in the app (main.go): nag=true applies cdk-nag's checks.
	if nag, err := ContextBool(app, ContextNag); err != nil {
		t.Fatal(err)
	} else if nag {
		AddNagChecks(app)
	}
	props, err := PropsFromContext(app, repoRootForTest)
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(props)
	}
	stack := NewStewardStack(app, StackName(props.Stage), props)
	tpl := assertions.Template_FromStack(stack, nil)
	s := &synthesized{stack: stack, template: tpl, res: map[string]map[string]any{}}
	resources := (*tpl.ToJSON())["Resources"].(map[string]any)
	for id, r := range resources {
		s.res[id] = r.(map[string]any)
	}
	return s
}

var (
	defaultOnce  sync.Once
	defaultSynth *synthesized
)

// defaultStack is the stack of the real route table and table definition,
// synthesized once (with cdk-nag's checks) for the tests that only read it.
func defaultStack(t *testing.T) *synthesized {
	t.Helper()
	defaultOnce.Do(func() { defaultSynth = synth(t, map[string]any{ContextNag: true}, nil) })
	if defaultSynth == nil {
		t.Fatal("default stack failed to synthesize")
	}
	return defaultSynth
}

// ofType returns the resources of one type by logical id.
func (s *synthesized) ofType(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range s.res {
		if r["Type"] == typ {
			out[id] = r
		}
	}
	return out
}

// onlyOfType returns the logical id of the one resource of a type.
func (s *synthesized) onlyOfType(t *testing.T, typ string) string {
	t.Helper()
	rs := s.ofType(typ)
	if len(rs) != 1 {
		t.Fatalf("want one %s, got %d", typ, len(rs))
	}
	for id := range rs {
		return id
	}
	return ""
}

// props returns a resource's Properties.
func props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

// functionLogicalID finds the logical id of a function's CfnFunction
// through the construct tree.
func (s *synthesized) functionLogicalID(t *testing.T, name string) string {
	t.Helper()
	c := s.stack.Node().TryFindChild(jsii.String(functionID(name)))
	if c == nil {
		t.Fatalf("no construct %s", functionID(name))
	}
	el, ok := c.Node().DefaultChild().(awscdk.CfnElement)
	if !ok {
		t.Fatalf("%s: default child is not a CfnElement", functionID(name))
	}
	return *s.stack.GetLogicalId(el)
}

// secretID is the logical id of the secret with construct id id.
func secretID(t *testing.T, s *synthesized, id string) string {
	t.Helper()
	c := s.stack.Node().TryFindChild(jsii.String(id))
	if c == nil {
		t.Fatalf("no construct %s", id)
	}
	return *s.stack.GetLogicalId(c.Node().DefaultChild().(awscdk.CfnElement))
}

// normalize turns v into the generic JSON shape of template values.
func normalize(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// equal fails the test when got and want differ as JSON values.
func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	g, w := normalize(t, got), normalize(t, want)
	if !reflect.DeepEqual(g, w) {
		gj, _ := json.Marshal(g)
		wj, _ := json.Marshal(w)
		t.Errorf("%s:\n got  %s\n want %s", what, gj, wj)
	}
}

// keySchema is the expected KeySchema of a partition (and sort) key.
func keySchema(pk, sk string) []map[string]string {
	out := []map[string]string{{"AttributeName": pk, "KeyType": "HASH"}}
	if sk != "" {
		out = append(out, map[string]string{"AttributeName": sk, "KeyType": "RANGE"})
	}
	return out
}

// theTable returns the one DynamoDB table of the stack.
func theTable(t *testing.T, s *synthesized) (string, map[string]any) {
	t.Helper()
	tables := s.ofType("AWS::DynamoDB::Table")
	if len(tables) != 1 {
		t.Fatalf("want 1 table, got %d", len(tables))
	}
	for id, r := range tables {
		return id, r
	}
	panic("unreachable")
}

func TestTableMatchesDefinition(t *testing.T) {
	s := defaultStack(t)
	_, tbl := theTable(t, s)
	p := props(tbl)
	def := store.Definition

	equal(t, "KeySchema", p["KeySchema"], keySchema(def.PartitionKey, def.SortKey))

	// Every key attribute is a string; order is irrelevant to DynamoDB.
	var wantAttrs []map[string]string
	seen := map[string]bool{}
	for _, a := range def.KeyAttributes() {
		if a != "" && !seen[a] {
			seen[a] = true
			wantAttrs = append(wantAttrs, map[string]string{"AttributeName": a, "AttributeType": "S"})
		}
	}
	sort.Slice(wantAttrs, func(i, j int) bool { return wantAttrs[i]["AttributeName"] < wantAttrs[j]["AttributeName"] })
	gotAttrs, _ := p["AttributeDefinitions"].([]any)
	sort.Slice(gotAttrs, func(i, j int) bool {
		return gotAttrs[i].(map[string]any)["AttributeName"].(string) < gotAttrs[j].(map[string]any)["AttributeName"].(string)
	})
	equal(t, "AttributeDefinitions", gotAttrs, wantAttrs)

	wantGSIs := map[string]any{}
	for _, ix := range def.Indexes {
		wantGSIs[ix.Name] = map[string]any{
			"IndexName":  ix.Name,
			"KeySchema":  keySchema(ix.PartitionKey, ix.SortKey),
			"Projection": map[string]string{"ProjectionType": "ALL"},
		}
	}
	gotGSIs := map[string]any{}
	gsis, _ := p["GlobalSecondaryIndexes"].([]any)
	for _, g := range gsis {
		gm := g.(map[string]any)
		gotGSIs[gm["IndexName"].(string)] = gm
	}
	equal(t, "GlobalSecondaryIndexes", gotGSIs, wantGSIs)

	equal(t, "TimeToLiveSpecification", p["TimeToLiveSpecification"],
		map[string]any{"AttributeName": def.TTLAttribute, "Enabled": true})
}

func TestTableSettings(t *testing.T) {
	s := defaultStack(t)
	s.template.HasResource(jsii.String("AWS::DynamoDB::Table"), &map[string]any{
		"DeletionPolicy":      "Retain",
		"UpdateReplacePolicy": "Retain",
		"Properties": map[string]any{
			"BillingMode": "PAY_PER_REQUEST",
			"PointInTimeRecoverySpecification": map[string]any{
				"PointInTimeRecoveryEnabled": true,
			},
		},
	})
}

func TestOneFunctionPerRouteFunction(t *testing.T) {
	s := defaultStack(t)
	tableID, _ := theTable(t, s)
	fns := s.ofType("AWS::Lambda::Function")
	// Plus the approval workflow's step function, the alert job, the
	// event publisher and the webhook delivery function, which serve no
	// route.
	if want := len(routes.Functions()) + 4; len(fns) != want {
		t.Fatalf("want %d functions (routes.Functions, the workflow's, the alert job, the event publisher and webhook delivery), got %d", want, len(fns))
	}
	for _, name := range routes.Functions() {
		id := s.functionLogicalID(t, name)
		p := props(fns[id])
		if p == nil {
			t.Fatalf("%s: no Lambda function %s", name, id)
		}
		set := SettingsFor(name)
		equal(t, name+" Architectures", p["Architectures"], []string{"arm64"})
		equal(t, name+" Runtime", p["Runtime"], "provided.al2023")
		equal(t, name+" Handler", p["Handler"], "bootstrap")
		equal(t, name+" MemorySize", p["MemorySize"], set.MemoryMB)
		equal(t, name+" Timeout", p["Timeout"], set.TimeoutSeconds)
		vars := map[string]any{
			EnvTable: map[string]any{"Ref": tableID},
			EnvStage: DefaultStage,
		}
		// Only the functions that sign tokens get the private signing
		// keys; the others get the public keys.
		switch name {
		case routes.FunctionAuth, routes.FunctionUsers, routes.FunctionInvites:
			vars[EnvSigningKeysSecret] = map[string]any{"Ref": secretID(t, s, "SigningKeys")}
		case routes.FunctionHealth:
		default:
			vars[EnvVerifyKeysSecret] = map[string]any{"Ref": secretID(t, s, "VerifyKeys")}
		}
		// Every function that authenticates needs the public URL (the
		// default issuer) and the sender (pkg/app builds the auth service
		// with its mail sender): without them it fails at cold start.
		if needsOf(name).SendEmail || needsOf(name).Authenticates {
			vars[EnvPublicURL] = "https://steward.example.com"
			vars[EnvMailFrom] = "Steward <no-reply@steward.example.com>"
			vars[EnvSESConfigurationSet] = "steward-" + DefaultStage
			vars[EnvAudience] = "steward"
		}
		if needsOf(name).Workflow {
			vars[EnvStateMachineARN] = map[string]any{"Ref": s.onlyOfType(t, "AWS::StepFunctions::StateMachine")}
		}
		// The webhooks function (the API's replay route) and users (the
		// admin portal's replay form) enqueue replays (events.go).
		switch name {
		case routes.FunctionWebhooks, routes.FunctionUsers:
			vars[EnvWebhookQueueURL] = map[string]any{"Ref": s.childLogicalID(t, "WebhookDelivery")}
		}
		equal(t, name+" Environment", p["Environment"], map[string]any{"Variables": vars})
		// Its log group is explicit, with a retention.
		lg := p["LoggingConfig"].(map[string]any)["LogGroup"].(map[string]any)["Ref"].(string)
		equal(t, name+" log retention", props(s.res[lg])["RetentionInDays"], 30)
	}
	if got := SettingsFor(routes.FunctionHealth); got != (FunctionSettings{MemoryMB: 128, TimeoutSeconds: 5}) {
		t.Errorf("health settings = %+v, want 128 MB / 5 s", got)
	}
}

func TestRoutesMatchTable(t *testing.T) {
	s := defaultStack(t)
	rs := s.ofType("AWS::ApiGatewayV2::Route")
	if len(rs) != len(routes.Table) {
		t.Fatalf("want %d routes (routes.Table), got %d", len(routes.Table), len(rs))
	}
	byKey := map[string]map[string]any{}
	for _, r := range rs {
		byKey[props(r)["RouteKey"].(string)] = props(r)
	}
	for _, r := range routes.Table {
		p, ok := byKey[r.Pattern()]
		if !ok {
			t.Errorf("no API Gateway route %q", r.Pattern())
			continue
		}
		// Target is "integrations/<Ref>"; the integration invokes the
		// route's function with payload format 2.0.
		parts := p["Target"].(map[string]any)["Fn::Join"].([]any)[1].([]any)
		integID := parts[1].(map[string]any)["Ref"].(string)
		ip := props(s.res[integID])
		equal(t, r.Pattern()+" IntegrationUri", ip["IntegrationUri"],
			map[string]any{"Fn::GetAtt": []string{s.functionLogicalID(t, r.Function), "Arn"}})
		equal(t, r.Pattern()+" PayloadFormatVersion", ip["PayloadFormatVersion"], "2.0")
		if r.Public {
			equal(t, r.Pattern()+" AuthorizationType", p["AuthorizationType"], "NONE")
		}
	}
}

func TestDefaultStageThrottledAndAutoDeployed(t *testing.T) {
	s := defaultStack(t)
	s.template.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Stage"), jsii.Number(1))
	s.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), &map[string]any{
		"StageName":  "$default",
		"AutoDeploy": true,
		"DefaultRouteSettings": map[string]any{
			"ThrottlingRateLimit":  DefaultThrottleRateLimit,
			"ThrottlingBurstLimit": DefaultThrottleBurstLimit,
		},
	})
	// No authorizer while every route is public.
	if !slices.ContainsFunc(routes.Table, func(r routes.Route) bool { return !r.Public }) {
		s.template.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Authorizer"), jsii.Number(0))
	}
}

func TestHealthPolicyIsDescribeTableOnly(t *testing.T) {
	s := defaultStack(t)
	tableID, _ := theTable(t, s)
	fnID := s.functionLogicalID(t, routes.FunctionHealth)
	roleID := props(s.res[fnID])["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)

	var statements []any
	for _, pol := range s.ofType("AWS::IAM::Policy") {
		for _, r := range props(pol)["Roles"].([]any) {
			if r.(map[string]any)["Ref"] == roleID {
				statements = append(statements, props(pol)["PolicyDocument"].(map[string]any)["Statement"].([]any)...)
			}
		}
	}
	equal(t, "health role statements", statements, []any{map[string]any{
		"Action":   "dynamodb:DescribeTable",
		"Effect":   "Allow",
		"Resource": map[string]any{"Fn::GetAtt": []string{tableID, "Arn"}},
	}})

	// Its only managed policy is the basic execution role (logs).
	managed := props(s.res[roleID])["ManagedPolicyArns"].([]any)
	if len(managed) != 1 || !strings.Contains(string(must(json.Marshal(managed[0]))), "AWSLambdaBasicExecutionRole") {
		t.Errorf("health role managed policies = %v, want only AWSLambdaBasicExecutionRole", managed)
	}
}

// must returns b or panics.
func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestEveryFunctionHasExplicitGrants(t *testing.T) {
	for _, fn := range routes.Functions() {
		if _, ok := functionGrants[fn]; !ok {
			t.Errorf("function %q has no entry in functionGrants", fn)
		}
	}
}

func TestAuthenticatedRouteGetsJWTAuthorizer(t *testing.T) {
	private := routes.Route{Method: "GET", Path: "/v1/test-private", Function: routes.FunctionHealth, Operation: "testPrivate"}
	s := synth(t, map[string]any{
		ContextJWTIssuer:   "https://auth.example.com",
		ContextJWTAudience: "steward, steward-admin",
	}, func(p *StewardStackProps) {
		p.Routes = append(slices.Clone(routes.Table), private)
	})
	s.template.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Authorizer"), jsii.Number(1))
	s.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Authorizer"), &map[string]any{
		"AuthorizerType": "JWT",
		"IdentitySource": []string{"$request.header.Authorization"},
		"JwtConfiguration": map[string]any{
			"Issuer":   "https://auth.example.com",
			"Audience": []string{"steward", "steward-admin"},
		},
	})
	var authID string
	for id := range s.ofType("AWS::ApiGatewayV2::Authorizer") {
		authID = id
	}
	public := map[string]bool{}
	for _, r := range routes.Table {
		public[r.Pattern()] = r.Public
	}
	for _, r := range s.ofType("AWS::ApiGatewayV2::Route") {
		p := props(r)
		key := p["RouteKey"].(string)
		if public[key] {
			equal(t, key+" AuthorizationType", p["AuthorizationType"], "NONE")
			continue
		}
		equal(t, key+" AuthorizationType", p["AuthorizationType"], "JWT")
		equal(t, key+" AuthorizerId", p["AuthorizerId"], map[string]any{"Ref": authID})
	}
}

func TestAuthenticatedRouteWithoutIssuerHasNoAuthorizer(t *testing.T) {
	s := synth(t, nil, nil)
	s.template.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Authorizer"), jsii.Number(0))
	for _, r := range s.ofType("AWS::ApiGatewayV2::Route") {
		p := props(r)
		equal(t, p["RouteKey"].(string)+" AuthorizationType", p["AuthorizationType"], "NONE")
	}
	p := &StewardStackProps{AssetsDir: t.TempDir(), JWTIssuer: "https://auth.example.com"}
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), ContextJWTAudience) {
		t.Fatalf("issuer without audience: Validate = %v, want an error naming %s", err, ContextJWTAudience)
	}
}

func TestMissingAssetOrGrantFails(t *testing.T) {
	p := &StewardStackProps{
		AssetsDir: t.TempDir(),
		Routes:    []routes.Route{{Method: "GET", Path: "/v1/x", Function: "nogrant", Public: true}},
	}
	err := p.Validate()
	if err == nil || !strings.Contains(err.Error(), "make build") || !strings.Contains(err.Error(), "functionGrants") {
		t.Fatalf("Validate = %v, want a missing-asset and a missing-grant error", err)
	}
}

func TestPropsFromContext(t *testing.T) {
	app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{
		ContextStage:              "prod",
		ContextJWTAudience:        []any{"a", " b "},
		ContextThrottleRateLimit:  "50",
		ContextThrottleBurstLimit: 75.0,
	}})
	p, err := PropsFromContext(app, "/repo")
	if err != nil {
		t.Fatal(err)
	}
	if p.Stage != "prod" || *p.StackName != "Steward-prod" {
		t.Errorf("stage %q stack %q", p.Stage, *p.StackName)
	}
	if p.AssetsDir != filepath.Join("/repo", DefaultAssetsDir) {
		t.Errorf("AssetsDir = %q", p.AssetsDir)
	}
	if !slices.Equal(p.JWTAudience, []string{"a", "b"}) || p.JWTIssuer != "" {
		t.Errorf("jwt = %q %q", p.JWTIssuer, p.JWTAudience)
	}
	if p.ThrottleRateLimit != 50 || p.ThrottleBurstLimit != 75 {
		t.Errorf("throttle = %v/%v", p.ThrottleRateLimit, p.ThrottleBurstLimit)
	}
}

package stack

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// CDK context keys read by PropsFromContext. Defaults live in cdk.json
// (every key below has an entry there, possibly empty); override them with
// `cdk synth -c key=value` (or make deploy CDK_ARGS="-c key=value").
const (
	// ContextStage is the stage name ("dev").
	ContextStage = "stage"
	// ContextAssetsDir is the folder of built functions
	// (<dir>/<function>/bootstrap), "bin" by default.
	ContextAssetsDir = "assetsDir"
	// ContextJWTIssuer is the access tokens' issuer URL. Setting it puts
	// API Gateway's JWT authorizer in front of every authenticated route,
	// which then refuses anything but Steward's access tokens: API keys
	// (Bearer stk_...) stop working. Leave it empty when a backend uses
	// API keys; the functions authenticate every request either way.
	ContextJWTIssuer = "jwtIssuer"
	// ContextJWTAudience is the accepted audience: a string (comma
	// separated for several) or a JSON array of strings.
	ContextJWTAudience = "jwtAudience"
	// ContextThrottleRateLimit is the default stage's rate limit (req/s).
	ContextThrottleRateLimit = "throttleRateLimit"
	// ContextThrottleBurstLimit is the default stage's burst limit.
	ContextThrottleBurstLimit = "throttleBurstLimit"
	// ContextPublicThrottleRateLimit is the rate limit (req/s) of each
	// public route (routes.Table entries with Public: sign-up, sign-in,
	// refresh, password reset, invitation lookup and accept, join, the
	// one-time link pages, JWKS, health). API Gateway applies it to the
	// route as a whole, below the stage's, so that anonymous traffic on one
	// public route cannot spend the budget of every tenant's signed-in
	// requests. It must not exceed throttleRateLimit.
	ContextPublicThrottleRateLimit = "publicThrottleRateLimit"
	// ContextPublicThrottleBurstLimit is each public route's burst limit;
	// it must not exceed throttleBurstLimit.
	ContextPublicThrottleBurstLimit = "publicThrottleBurstLimit"
	// ContextPublicURL is the base URL of links in emails (the API's
	// custom domain).
	ContextPublicURL = "publicUrl"
	// ContextMailFrom is the sender address of every email; its domain
	// (or the address) must be a verified SES identity.
	ContextMailFrom = "mailFrom"
	// ContextSESConfigurationSet names the SES configuration set the stack
	// creates and every email is sent through (bounce, complaint and
	// delivery metrics); empty means "steward-<stage>".
	ContextSESConfigurationSet = "sesConfigurationSet"
	// ContextAlarmEmail, when set, subscribes that address to the alarm
	// topic (the subscription must be confirmed from the email).
	ContextAlarmEmail = "alarmEmail"
	// ContextLogRetentionDays is the retention of every log group (the
	// functions', the state machine's, the API access log), in days: one
	// of CloudWatch Logs' values (1, 3, 5, 7, 14, 30, 60, 90, 120, 150,
	// 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653),
	// or 0 to keep logs forever. Absent means 30.
	ContextLogRetentionDays = "logRetentionDays"
	// ContextFunctionMemory overrides the memory of some functions: a JSON
	// object {"auth": 512} (cdk.json) or "auth:512,users:256" (-c; "="
	// works too as the pair separator).
	ContextFunctionMemory = "functionMemory"
	// ContextNag=true makes the app (not only the tests) run cdk-nag's
	// AWS Solutions checks and fail on an unsuppressed finding. Read by
	// infra/cdk/main.go.
	ContextNag = "nag"
)

// DefaultLogRetentionDays is the log retention when the context has none.
const DefaultLogRetentionDays = 30

// retentionByDays maps CloudWatch Logs' retention values to the CDK enum.
var retentionByDays = map[int]awslogs.RetentionDays{
	0: awslogs.RetentionDays_INFINITE, 1: awslogs.RetentionDays_ONE_DAY,
	3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS,
	30: awslogs.RetentionDays_ONE_MONTH, 60: awslogs.RetentionDays_TWO_MONTHS,
	90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS,
	365: awslogs.RetentionDays_ONE_YEAR, 400: awslogs.RetentionDays_THIRTEEN_MONTHS,
	545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS,
	2192: awslogs.RetentionDays_SIX_YEARS, 2557: awslogs.RetentionDays_SEVEN_YEARS,
	2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

// RetentionFromDays converts a retention in days to the CDK enum.
func RetentionFromDays(days int) (awslogs.RetentionDays, error) {
	r, ok := retentionByDays[days]
	if !ok {
		valid := make([]int, 0, len(retentionByDays))
		for d := range retentionByDays {
			valid = append(valid, d)
		}
		sort.Ints(valid)
		return "", fmt.Errorf("context %s: %d is not a CloudWatch Logs retention; use one of %v (0 = forever)", ContextLogRetentionDays, days, valid)
	}
	return r, nil
}

// DefaultAssetsDir is the assets folder when the context has none: the
// Makefile builds bin/<function>/bootstrap.
const DefaultAssetsDir = "bin"

// PropsFromContext reads the stack props from the CDK context of scope. A
// relative assetsDir is resolved against baseDir (the repository root).
// The stack name is "Steward-<stage>".
func PropsFromContext(scope constructs.Construct, baseDir string) (*StewardStackProps, error) {
	get := func(key string) any { return scope.Node().TryGetContext(jsii.String(key)) }

	p := &StewardStackProps{}
	var err error
	if p.Stage, err = contextString(get(ContextStage), ContextStage); err != nil {
		return nil, err
	}
	if p.Stage == "" {
		p.Stage = DefaultStage
	}
	p.StackName = jsii.String(StackName(p.Stage))

	if p.AssetsDir, err = contextString(get(ContextAssetsDir), ContextAssetsDir); err != nil {
		return nil, err
	}
	if p.AssetsDir == "" {
		p.AssetsDir = DefaultAssetsDir
	}
	if !filepath.IsAbs(p.AssetsDir) {
		p.AssetsDir = filepath.Join(baseDir, p.AssetsDir)
	}

	if p.JWTIssuer, err = contextString(get(ContextJWTIssuer), ContextJWTIssuer); err != nil {
		return nil, err
	}
	if p.JWTAudience, err = contextStrings(get(ContextJWTAudience), ContextJWTAudience); err != nil {
		return nil, err
	}
	if p.PublicURL, err = contextString(get(ContextPublicURL), ContextPublicURL); err != nil {
		return nil, err
	}
	if p.MailFrom, err = contextString(get(ContextMailFrom), ContextMailFrom); err != nil {
		return nil, err
	}
	if p.ThrottleRateLimit, err = contextNumber(get(ContextThrottleRateLimit), ContextThrottleRateLimit); err != nil {
		return nil, err
	}
	if p.ThrottleBurstLimit, err = contextNumber(get(ContextThrottleBurstLimit), ContextThrottleBurstLimit); err != nil {
		return nil, err
	}
	if p.PublicThrottleRateLimit, err = contextNumber(get(ContextPublicThrottleRateLimit), ContextPublicThrottleRateLimit); err != nil {
		return nil, err
	}
	if p.PublicThrottleBurstLimit, err = contextNumber(get(ContextPublicThrottleBurstLimit), ContextPublicThrottleBurstLimit); err != nil {
		return nil, err
	}
	if p.SESConfigurationSet, err = contextString(get(ContextSESConfigurationSet), ContextSESConfigurationSet); err != nil {
		return nil, err
	}
	if p.AlarmEmail, err = contextString(get(ContextAlarmEmail), ContextAlarmEmail); err != nil {
		return nil, err
	}
	days := float64(DefaultLogRetentionDays)
	if v := get(ContextLogRetentionDays); v != nil && v != "" {
		if days, err = contextNumber(v, ContextLogRetentionDays); err != nil {
			return nil, err
		}
	}
	if days != float64(int(days)) {
		return nil, fmt.Errorf("context %s: want whole days, got %v", ContextLogRetentionDays, days)
	}
	if p.LogRetention, err = RetentionFromDays(int(days)); err != nil {
		return nil, err
	}
	if p.FunctionMemory, err = contextMemory(get(ContextFunctionMemory)); err != nil {
		return nil, err
	}
	return p, nil
}

// contextMemory reads the per-function memory overrides: a JSON object of
// numbers (or numeric strings), or "fn:MB,fn:MB" ("fn=MB" too).
func contextMemory(v any) (map[string]float64, error) {
	out := map[string]float64{}
	switch v := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		for fn, mb := range v {
			n, err := contextNumber(mb, ContextFunctionMemory+"."+fn)
			if err != nil {
				return nil, err
			}
			out[strings.TrimSpace(fn)] = n
		}
	case string:
		for _, pair := range strings.Split(v, ",") {
			if strings.TrimSpace(pair) == "" {
				continue
			}
			fn, mb, ok := strings.Cut(pair, ":")
			if !ok {
				fn, mb, ok = strings.Cut(pair, "=")
			}
			if !ok {
				return nil, fmt.Errorf("context %s: want fn:MB pairs, got %q", ContextFunctionMemory, pair)
			}
			n, err := contextNumber(mb, ContextFunctionMemory+"."+strings.TrimSpace(fn))
			if err != nil {
				return nil, err
			}
			out[strings.TrimSpace(fn)] = n
		}
	default:
		return nil, fmt.Errorf("context %s: want an object or fn:MB pairs, got %T", ContextFunctionMemory, v)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// ContextBool reads a boolean context value given as a JSON boolean or a
// string (-c nag=true); nil is false.
func ContextBool(scope constructs.Construct, key string) (bool, error) {
	switch v := scope.Node().TryGetContext(jsii.String(key)).(type) {
	case nil:
		return false, nil
	case bool:
		return v, nil
	case string:
		if strings.TrimSpace(v) == "" {
			return false, nil
		}
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return false, fmt.Errorf("context %s: %w", key, err)
		}
		return b, nil
	default:
		return false, fmt.Errorf("context %s: want true or false, got %T", key, v)
	}
}

// StackName is the CloudFormation stack name of a stage.
func StackName(stage string) string { return "Steward-" + stage }

// contextString reads a string context value; nil is "".
func contextString(v any, key string) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return strings.TrimSpace(v), nil
	default:
		return "", fmt.Errorf("context %s: want a string, got %T", key, v)
	}
}

// contextStrings reads a list: a JSON array of strings, or one string
// holding comma-separated values.
func contextStrings(v any, key string) ([]string, error) {
	var raw []string
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		raw = strings.Split(v, ",")
	case []any:
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("context %s: want strings, got %T", key, e)
			}
			raw = append(raw, s)
		}
	default:
		return nil, fmt.Errorf("context %s: want a string or a list of strings, got %T", key, v)
	}
	var out []string
	for _, s := range raw {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// contextNumber reads a number given as a JSON number (cdk.json) or a
// string (-c key=value); nil or "" is 0.
func contextNumber(v any, key string) (float64, error) {
	switch v := v.(type) {
	case nil:
		return 0, nil
	case float64:
		return v, nil
	case string:
		if strings.TrimSpace(v) == "" {
			return 0, nil
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 0, fmt.Errorf("context %s: %w", key, err)
		}
		return n, nil
	default:
		return 0, fmt.Errorf("context %s: want a number, got %T", key, v)
	}
}

// CDKJSONContext returns the "context" object of a cdk.json file: the
// defaults and feature flags the CDK CLI passes to the app. The app reads
// it itself when run without the CLI, and the tests read it so they check
// the template that `cdk synth` produces.
func CDKJSONContext(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f.Context, nil
}

package stack

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// CDK context keys read by PropsFromContext. Defaults live in cdk.json;
// override them with `cdk synth -c key=value`.
const (
	// ContextStage is the stage name ("dev").
	ContextStage = "stage"
	// ContextAssetsDir is the folder of built functions
	// (<dir>/<function>/bootstrap), "bin" by default.
	ContextAssetsDir = "assetsDir"
	// ContextJWTIssuer is the access tokens' issuer URL.
	ContextJWTIssuer = "jwtIssuer"
	// ContextJWTAudience is the accepted audience: a string (comma
	// separated for several) or a JSON array of strings.
	ContextJWTAudience = "jwtAudience"
	// ContextThrottleRateLimit is the default stage's rate limit (req/s).
	ContextThrottleRateLimit = "throttleRateLimit"
	// ContextThrottleBurstLimit is the default stage's burst limit.
	ContextThrottleBurstLimit = "throttleBurstLimit"
	// ContextPublicURL is the base URL of links in emails (the API's
	// custom domain).
	ContextPublicURL = "publicUrl"
	// ContextMailFrom is the sender address of every email; its domain
	// (or the address) must be a verified SES identity.
	ContextMailFrom = "mailFrom"
)

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
	return p, nil
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

// Package awsclient builds the AWS SDK clients Steward uses, once per cold
// start, from an aws.Config and optional endpoint overrides: the
// configuration and DynamoDB (every function) here, SES and Step
// Functions in sesclient and sfnclient, so that a function links only the
// clients it uses. Endpoint
// overrides point the clients at the local emulators (DynamoDB Local,
// aws-ses-v2-local, moto); in AWS they are empty.
package awsclient

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/logging"
)

// Endpoints overrides service endpoints. An empty field means the AWS
// default.
type Endpoints struct {
	DynamoDB      string
	SES           string
	StepFunctions string
}

// Local reports whether any endpoint is overridden (the emulators).
func (e Endpoints) Local() bool { return e.DynamoDB != "" || e.SES != "" || e.StepFunctions != "" }

// LoadConfig returns the AWS configuration from the environment, as the
// SDK's default chain resolves it in Lambda: the region (region, else
// AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1), the credentials
// of AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (the
// function role's, which Lambda sets), and the endpoint variables
// AWS_ENDPOINT_URL (unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true) and
// AWS_ENDPOINT_URL_<SERVICE>. When endpoints point at
// local emulators it uses static dummy credentials so that the emulators
// accept the requests. Shared configuration files, profiles, SSO, web
// identity, container and instance credentials are not read: none exist
// in Lambda, and the local stack, the tools and the tests use the
// emulators (infra/keys and infra/cdk/awscheck, which call AWS from a
// developer's machine, use the SDK's config package themselves). Every
// client built from it shares one HTTP client.
func LoadConfig(_ context.Context, region string, ep Endpoints) (aws.Config, error) {
	return configFrom(os.Getenv, region, ep)
}

// configFrom is LoadConfig over getenv.
func configFrom(getenv func(string) string, region string, ep Endpoints) (aws.Config, error) {
	cfg := aws.Config{
		Region:        firstOf(region, getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"), "us-east-1"),
		HTTPClient:    awshttp.NewBuildableClient(),
		Logger:        logging.NewStandardLogger(os.Stderr),
		ConfigSources: []any{envEndpoints{getenv}},
	}
	if ep.Local() {
		cfg.Credentials = credentials.NewStaticCredentialsProvider("local", "local", "")
	} else {
		creds := aws.Credentials{
			AccessKeyID:     firstOf(getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_ACCESS_KEY")),
			SecretAccessKey: firstOf(getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SECRET_KEY")),
			SessionToken:    getenv("AWS_SESSION_TOKEN"),
			AccountID:       getenv("AWS_ACCOUNT_ID"),
			Source:          "EnvConfigCredentials",
		}
		if !creds.HasKeys() {
			return aws.Config{}, errors.New("load aws config: no credentials in the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, which Lambda sets)")
		}
		cfg.Credentials = aws.NewCredentialsCache(credentials.StaticCredentialsProvider{Value: creds})
	}
	if !ignoreEndpointVars(getenv) {
		if u := getenv("AWS_ENDPOINT_URL"); u != "" {
			cfg.BaseEndpoint = aws.String(u)
		}
	}
	return cfg, nil
}

// envEndpoints is the clients' source of service-specific endpoints
// (AWS_ENDPOINT_URL_<SERVICE>, e.g. AWS_ENDPOINT_URL_SECRETS_MANAGER), as
// the SDK's environment configuration provides them.
type envEndpoints struct{ getenv func(string) string }

// GetServiceBaseEndpoint returns AWS_ENDPOINT_URL_<sdkID in upper case,
// spaces as underscores>.
func (e envEndpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	u := e.getenv("AWS_ENDPOINT_URL_" + strings.ReplaceAll(strings.ToUpper(sdkID), " ", "_"))
	return u, u != "", nil
}

func ignoreEndpointVars(getenv func(string) string) bool {
	ignore, err := strconv.ParseBool(getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"))
	return err == nil && ignore
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// DynamoDB returns a DynamoDB client; endpoint may be empty.
func DynamoDB(cfg aws.Config, endpoint string, extra ...func(*dynamodb.Options)) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, append([]func(*dynamodb.Options){func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			// DynamoDB Local sends no X-Amz-Crc32 on errors.
			o.DisableValidateResponseChecksum = true
		}
	}}, extra...)...)
}

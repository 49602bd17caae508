package awsclient

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// The configuration is what the SDK's default chain resolves in Lambda,
// from the environment alone.
func TestConfigFromTheEnvironment(t *testing.T) {
	ctx := context.Background()
	env := map[string]string{
		"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-central-1",
		"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "SECRET", "AWS_SESSION_TOKEN": "TOKEN",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://127.0.0.1:5000",
	}
	getenv := func(k string) string { return env[k] }
	cfg, err := configFrom(getenv, "", Endpoints{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-1" || cfg.HTTPClient == nil || cfg.BaseEndpoint != nil {
		t.Errorf("region %q, http client %v, base endpoint %v", cfg.Region, cfg.HTTPClient, cfg.BaseEndpoint)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil || creds.AccessKeyID != "AKID" || creds.SecretAccessKey != "SECRET" || creds.SessionToken != "TOKEN" {
		t.Errorf("credentials %+v, %v", creds, err)
	}
	src := cfg.ConfigSources[0].(interface {
		GetServiceBaseEndpoint(context.Context, string) (string, bool, error)
	})
	if u, ok, _ := src.GetServiceBaseEndpoint(ctx, "Secrets Manager"); !ok || u != "http://127.0.0.1:5000" {
		t.Errorf("secrets manager endpoint %q %v", u, ok)
	}
	if _, ok, _ := src.GetServiceBaseEndpoint(ctx, "DynamoDB"); ok {
		t.Error("dynamodb endpoint set")
	}

	delete(env, "AWS_REGION")
	env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:4566"
	if cfg, _ = configFrom(getenv, "", Endpoints{}); cfg.Region != "eu-central-1" || aws.ToString(cfg.BaseEndpoint) != "http://127.0.0.1:4566" {
		t.Errorf("region %q, base endpoint %v", cfg.Region, aws.ToString(cfg.BaseEndpoint))
	}
	env["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true"
	if cfg, _ = configFrom(getenv, "ap-south-1", Endpoints{}); cfg.Region != "ap-south-1" || cfg.BaseEndpoint != nil {
		t.Errorf("region %q, base endpoint %v", cfg.Region, aws.ToString(cfg.BaseEndpoint))
	}

	// No credentials: an error at start, not at the first call.
	none := func(string) string { return "" }
	if _, err := configFrom(none, "", Endpoints{}); err == nil {
		t.Error("no error without credentials")
	}
	// The emulators: dummy credentials, us-east-1 by default.
	cfg, err = configFrom(none, "", Endpoints{DynamoDB: "http://127.0.0.1:8000"})
	if err != nil || cfg.Region != "us-east-1" {
		t.Fatalf("region %q, %v", cfg.Region, err)
	}
	if creds, err := cfg.Credentials.Retrieve(ctx); err != nil || creds.AccessKeyID != "local" {
		t.Errorf("credentials %+v, %v", creds, err)
	}
}

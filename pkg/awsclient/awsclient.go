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
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
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

// LoadConfig loads the default AWS configuration. When endpoints point at
// local emulators and no credentials are configured, it uses static dummy
// credentials so that the emulators accept the requests.
func LoadConfig(ctx context.Context, region string, ep Endpoints) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if ep.Local() {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load aws config: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return cfg, nil
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

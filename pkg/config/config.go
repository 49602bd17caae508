// Package config reads Steward's settings from the environment, once per
// cold start (Lambda) or process start (local server). Every setting and its
// default is listed in Config and in the README.
package config

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/stewardhq/steward/pkg/awsclient"
)

// Config is Steward's runtime configuration.
type Config struct {
	// Stage names the deployment ("local", "dev", "prod").
	Stage string
	// Table is the DynamoDB table name (STEWARD_TABLE, default "steward").
	Table string
	// Region is the AWS region (AWS_REGION, default us-east-1 locally).
	Region string
	// Endpoints point the AWS clients at local emulators
	// (STEWARD_DYNAMODB_ENDPOINT, STEWARD_SES_ENDPOINT,
	// STEWARD_SFN_ENDPOINT); empty in AWS.
	Endpoints awsclient.Endpoints
	// PublicURL is the base of every link in an email
	// (STEWARD_PUBLIC_URL).
	PublicURL string
	// CursorKey seals pagination cursors (STEWARD_CURSOR_KEY, base64 of
	// 32 bytes). Functions that list need it.
	CursorKey []byte
	// LogLevel is debug, info, warn or error (STEWARD_LOG_LEVEL).
	LogLevel slog.Level
	// MailFrom is the sender of every email (STEWARD_MAIL_FROM).
	MailFrom string
	// SESConfigurationSet names the SES configuration set
	// (STEWARD_SES_CONFIGURATION_SET), optional.
	SESConfigurationSet string
	// SigningKeysSecret is the ARN of the Secrets Manager secret holding
	// the access-token key set (STEWARD_SIGNING_KEYS_SECRET). Locally the
	// key set lives in the data folder instead.
	SigningKeysSecret string
	// VerifyKeysSecret is the ARN of the secret holding the public keys
	// and the cursor key (STEWARD_VERIFY_KEYS_SECRET): what the functions
	// that only verify tokens read instead of SigningKeysSecret.
	VerifyKeysSecret string
	// Issuer is the access tokens' "iss" (STEWARD_ISSUER, default
	// PublicURL).
	Issuer string
	// Audience is the access tokens' "aud" (STEWARD_AUDIENCE, default
	// "steward").
	Audience string
	// StateMachineARN is the approval workflow's state machine
	// (STEWARD_STATE_MACHINE_ARN). Empty runs the workflow in-process
	// (the local stack and the tests).
	StateMachineARN string
}

// FromEnv reads the configuration from the process environment.
func FromEnv() (Config, error) { return Parse(os.Getenv) }

// Parse reads the configuration through getenv.
func Parse(getenv func(string) string) (Config, error) {
	c := Config{
		Stage:     or(getenv("STEWARD_STAGE"), "local"),
		Table:     or(getenv("STEWARD_TABLE"), "steward"),
		Region:    getenv("AWS_REGION"),
		PublicURL: strings.TrimRight(getenv("STEWARD_PUBLIC_URL"), "/"),
		Endpoints: awsclient.Endpoints{
			DynamoDB:      getenv("STEWARD_DYNAMODB_ENDPOINT"),
			SES:           getenv("STEWARD_SES_ENDPOINT"),
			StepFunctions: getenv("STEWARD_SFN_ENDPOINT"),
		},
	}
	c.MailFrom = or(getenv("STEWARD_MAIL_FROM"), "Steward <no-reply@steward.local>")
	c.SESConfigurationSet = getenv("STEWARD_SES_CONFIGURATION_SET")
	c.SigningKeysSecret = getenv("STEWARD_SIGNING_KEYS_SECRET")
	c.VerifyKeysSecret = getenv("STEWARD_VERIFY_KEYS_SECRET")
	c.Issuer = or(getenv("STEWARD_ISSUER"), c.PublicURL)
	c.Audience = or(getenv("STEWARD_AUDIENCE"), "steward")
	c.StateMachineARN = getenv("STEWARD_STATE_MACHINE_ARN")
	if k := getenv("STEWARD_CURSOR_KEY"); k != "" {
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil || len(b) != 32 {
			return Config{}, fmt.Errorf("STEWARD_CURSOR_KEY must be the base64 of 32 bytes")
		}
		c.CursorKey = b
	}
	if err := c.LogLevel.UnmarshalText([]byte(or(getenv("STEWARD_LOG_LEVEL"), "info"))); err != nil {
		return Config{}, fmt.Errorf("STEWARD_LOG_LEVEL: %w", err)
	}
	return c, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

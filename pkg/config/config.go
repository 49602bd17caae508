// Package config reads Steward's settings from the environment, once per
// cold start (Lambda) or process start (local server). Every setting and its
// default is listed in Config and in the README.
package config

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

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
	// AlertsQueueURL is the alert job's work queue
	// (STEWARD_ALERTS_QUEUE_URL): the hourly run enqueues one task per
	// due account there, and SQS invokes the job with them. Empty runs
	// every task in the same process (the local stack and the tests).
	AlertsQueueURL string
	// WebhookQueueURL is the webhook delivery queue
	// (STEWARD_WEBHOOK_QUEUE_URL): delivery tasks wait there until due,
	// and SQS invokes the delivery function with them. Empty: no queue
	// (replays answer 503 unless the process wires one).
	WebhookQueueURL string
	// SessionLifetime is a session's absolute life from sign-in
	// (STEWARD_SESSION_LIFETIME, default 30 days); SessionIdle ends a
	// session not refreshed for that long (STEWARD_SESSION_IDLE, default
	// 7 days). Both are Go durations ("720h") or whole days ("30d"); zero
	// means the default.
	SessionLifetime, SessionIdle time.Duration
	// EventBus is the EventBridge bus the change events are put on
	// (STEWARD_EVENT_BUS, steward-<stage> in AWS; "" for none).
	EventBus string
	// EventsSettle is how old a change must be before GET /v1/events
	// lists it (STEWARD_EVENTS_SETTLE; default events.Settle, 5 s).
	EventsSettle time.Duration
	// MailCapPerRecipient and MailCapPerAddress bound the emails of the
	// mail-sending routes per hour: of one kind to one recipient
	// (STEWARD_MAIL_CAP_PER_RECIPIENT, default 3) and of all kinds for
	// one source address (STEWARD_MAIL_CAP_PER_ADDRESS, default 20); 0
	// means the default.
	MailCapPerRecipient, MailCapPerAddress int
	// AccountRateLimit is the requests a second one account may make to
	// the authenticated routes, on average over 10-second windows
	// (STEWARD_ACCOUNT_RATE_LIMIT, default 100; "off" turns the per-account
	// throttle off, stored as -1); 0 means the default.
	AccountRateLimit int
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
	c.AlertsQueueURL = getenv("STEWARD_ALERTS_QUEUE_URL")
	c.EventBus = getenv("STEWARD_EVENT_BUS")
	c.WebhookQueueURL = getenv("STEWARD_WEBHOOK_QUEUE_URL")
	for _, d := range []struct {
		name string
		to   *time.Duration
	}{{"STEWARD_SESSION_LIFETIME", &c.SessionLifetime}, {"STEWARD_SESSION_IDLE", &c.SessionIdle}, {"STEWARD_EVENTS_SETTLE", &c.EventsSettle}} {
		v, err := parseDuration(getenv(d.name))
		if err != nil {
			return Config{}, fmt.Errorf("%s: %w", d.name, err)
		}
		*d.to = v
	}
	if k := getenv("STEWARD_CURSOR_KEY"); k != "" {
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil || len(b) != 32 {
			return Config{}, fmt.Errorf("STEWARD_CURSOR_KEY must be the base64 of 32 bytes")
		}
		c.CursorKey = b
	}
	for _, v := range []struct {
		name string
		to   *int
	}{{"STEWARD_MAIL_CAP_PER_RECIPIENT", &c.MailCapPerRecipient}, {"STEWARD_MAIL_CAP_PER_ADDRESS", &c.MailCapPerAddress}} {
		if raw := getenv(v.name); raw != "" {
			n, err := strconv.Atoi(raw)
			if err != nil || n < 1 {
				return Config{}, fmt.Errorf("%s must be a positive whole number", v.name)
			}
			*v.to = n
		}
	}
	switch raw := getenv("STEWARD_ACCOUNT_RATE_LIMIT"); raw {
	case "":
	case "off":
		c.AccountRateLimit = -1
	default:
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 {
			return Config{}, fmt.Errorf("STEWARD_ACCOUNT_RATE_LIMIT must be a positive whole number (requests a second) or off")
		}
		c.AccountRateLimit = n
	}
	if err := c.LogLevel.UnmarshalText([]byte(or(getenv("STEWARD_LOG_LEVEL"), "info"))); err != nil {
		return Config{}, fmt.Errorf("STEWARD_LOG_LEVEL: %w", err)
	}
	return c, nil
}

// parseDuration reads a positive Go duration or a whole number of days
// ("30d"); "" is zero.
func parseDuration(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration", v)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return 0, fmt.Errorf("%q is not a duration", v)
		}
	}
	if d < time.Minute {
		return 0, fmt.Errorf("%q is shorter than a minute", v)
	}
	return d, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

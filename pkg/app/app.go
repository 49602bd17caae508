// Package app wires Steward from its configuration: AWS clients, the store,
// the logger and the HTTP handler of a function. Lambda mains, the local
// server and `make invoke` all build through it, once per cold start.
package app

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/akrylysov/algnhsa"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/stewardhq/steward/pkg/accesstoken"
	"github.com/stewardhq/steward/pkg/alerts"
	"github.com/stewardhq/steward/pkg/apikeys"
	"github.com/stewardhq/steward/pkg/approvals"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/awsclient"
	"github.com/stewardhq/steward/pkg/awsclient/sesclient"
	"github.com/stewardhq/steward/pkg/awsclient/sfnclient"
	"github.com/stewardhq/steward/pkg/config"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/invites"
	"github.com/stewardhq/steward/pkg/mail"
	"github.com/stewardhq/steward/pkg/members"
	"github.com/stewardhq/steward/pkg/permissions"
	"github.com/stewardhq/steward/pkg/routes"
	"github.com/stewardhq/steward/pkg/server"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/version"
	"github.com/stewardhq/steward/pkg/workflow"
)

// NewLogger returns the JSON logger every Steward process uses.
func NewLogger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// Secrets are what the local stack hands over instead of Secrets Manager.
type Secrets struct {
	// SigningKeys, when set, are used instead of the key set in the
	// secret named by config.SigningKeysSecret.
	SigningKeys *accesstoken.KeySet
	// WorkflowDir, when set, is where the in-process approval workflow
	// runner journals its executions (the local stack's data folder), so
	// that they survive a restart.
	WorkflowDir string
}

// Deps builds the shared dependencies of one function ("" for all) from
// cfg. Only functions that serve authenticated or sign-in routes load the
// signing keys and build the mail sender.
func Deps(ctx context.Context, cfg config.Config, log *slog.Logger, function string, sec Secrets) (server.Deps, error) {
	awsCfg, err := awsclient.LoadConfig(ctx, cfg.Region, cfg.Endpoints)
	if err != nil {
		return server.Deps{}, err
	}
	db := awsclient.DynamoDB(awsCfg, cfg.Endpoints.DynamoDB)
	if !needsAuth(function) {
		// health lists nothing: a per-process cursor key will do.
		st, err := store.New(db, cfg.Table, randomCursorKey(cfg.CursorKey))
		if err != nil {
			return server.Deps{}, err
		}
		return server.Deps{Store: st, Logger: log, Version: version.Version}, nil
	}
	keys, err := loadKeys(ctx, cfg, function, sec, func() SecretReader { return secretsmanager.NewFromConfig(awsCfg) })
	if err != nil {
		return server.Deps{}, err
	}
	verifier, err := accesstoken.NewPublicVerifier(keys.public, cfg.Issuer, cfg.Audience)
	if err != nil {
		return server.Deps{}, err
	}
	// Cursors must open in every function and every instance: the key
	// comes from the configuration (the local stack) or the key secret.
	cursorKey := cfg.CursorKey
	if len(cursorKey) == 0 {
		if cursorKey = keys.public.CursorKey; len(cursorKey) == 0 {
			return server.Deps{}, errors.New("the key secret holds no cursor key: run make keys SECRET=<arn> VERIFY_SECRET=<arn>")
		}
	}
	st, err := store.New(db, cfg.Table, cursorKey)
	if err != nil {
		return server.Deps{}, err
	}
	d := server.Deps{Store: st, Logger: log, Version: version.Version}
	from, err := mail.ParseAddress(cfg.MailFrom)
	if err != nil {
		return server.Deps{}, fmt.Errorf("STEWARD_MAIL_FROM: %w", err)
	}
	sender, err := mail.NewSES(sesclient.New(awsCfg, cfg.Endpoints.SES), from, cfg.SESConfigurationSet)
	if err != nil {
		return server.Deps{}, err
	}
	if cfg.Issuer == "" || cfg.PublicURL == "" {
		return server.Deps{}, errors.New("STEWARD_PUBLIC_URL (and STEWARD_ISSUER, which defaults to it) must be set")
	}
	d.Auth = &auth.Service{
		Store:     st,
		Issuer:    &accesstoken.Issuer{Keys: keys.signing, Issuer: cfg.Issuer, Audience: cfg.Audience},
		Verifier:  verifier,
		Mail:      &mail.Outbox{Sender: sender, Deduper: st.Outbox(), Logger: log},
		PublicURL: cfg.PublicURL,
		// Zero means the defaults.
		SessionLifetime: cfg.SessionLifetime,
		SessionIdle:     cfg.SessionIdle,
		MailCaps:        auth.MailCaps{PerRecipient: cfg.MailCapPerRecipient, PerAddress: cfg.MailCapPerAddress},
	}
	d.Invites = &invites.Service{Store: st, Auth: d.Auth, Mail: d.Auth.Mail, PublicURL: cfg.PublicURL}
	d.APIKeys = &apikeys.Service{Store: st}
	d.Members = &members.Service{Store: st}
	d.Permissions = &permissions.Service{Store: st}
	if function == "" || function == routes.FunctionAlerts {
		d.Alerts = &alerts.Service{Store: st, Mail: d.Auth.Mail, PublicURL: cfg.PublicURL, Logger: log}
	}
	if function == "" || function == routes.FunctionApprovals {
		d.Approvals = &approvals.Service{Store: st, Mail: d.Auth.Mail, PublicURL: cfg.PublicURL, Logger: log}
		if d.Approvals.Engine, err = engine(cfg, awsCfg, log, function, d.Approvals, sec); err != nil {
			return server.Deps{}, err
		}
	}
	return d, nil
}

// engine returns the approval workflow's engine: Step Functions when a
// state machine is configured, else (the local server and tests only) an
// in-process workflow.Runner over the same steps, journaled under
// sec.WorkflowDir when set. Close the Runner (an io.Closer) when done.
func engine(cfg config.Config, awsCfg aws.Config, log *slog.Logger, function string, svc *approvals.Service, sec Secrets) (workflow.Engine, error) {
	if cfg.StateMachineARN != "" {
		return workflow.NewSFN(sfnclient.New(awsCfg, cfg.Endpoints.StepFunctions), cfg.StateMachineARN), nil
	}
	if function != "" {
		return nil, errors.New("STEWARD_STATE_MACHINE_ARN must be set for the approvals function")
	}
	opts := workflow.RunnerOptions{Logger: log}
	if sec.WorkflowDir != "" {
		j, err := workflow.NewDirJournal(sec.WorkflowDir)
		if err != nil {
			return nil, err
		}
		opts.Journal = j
	}
	return workflow.NewRunner(approvals.Steps{Service: svc}, opts)
}

// WorkflowSteps builds the approval workflow's steps for the step Lambda
// (functions/workflow): the store, the mail outbox and, to fail a
// cancelled request's task, the Step Functions engine.
func WorkflowSteps(ctx context.Context, cfg config.Config, log *slog.Logger) (workflow.Steps, error) {
	awsCfg, st, outbox, err := workerDeps(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	svc := &approvals.Service{Store: st, Mail: outbox, PublicURL: cfg.PublicURL, Logger: log}
	if cfg.StateMachineARN != "" {
		svc.Engine = workflow.NewSFN(sfnclient.New(awsCfg, cfg.Endpoints.StepFunctions), cfg.StateMachineARN)
	} else {
		svc.Engine = noEngine{}
	}
	return approvals.Steps{Service: svc}, nil
}

// noEngine is the step Lambda's engine when it may not call Step
// Functions: a step that would fail a cancelled request's task reports
// the task gone, and the await times out instead.
type noEngine struct{}

func (noEngine) Start(context.Context, workflow.StartInput) error {
	return errors.New("app: no workflow engine")
}
func (noEngine) SendTaskSuccess(context.Context, string, workflow.Decision) error {
	return workflow.ErrTaskNotFound
}
func (noEngine) SendTaskFailure(context.Context, string, string) error {
	return workflow.ErrTaskNotFound
}
func (noEngine) Stop(context.Context, string) error { return nil }

// StartWorkflowLambda is the whole main of the approval workflow's step
// Lambda.
func StartWorkflowLambda() {
	cfg, err := config.FromEnv()
	if err != nil {
		fail(err)
	}
	log := NewLogger(cfg.LogLevel).With("function", routes.FunctionWorkflow)
	steps, err := WorkflowSteps(context.Background(), cfg, log)
	if err != nil {
		fail(err)
	}
	lambda.Start(workflow.LambdaHandler(steps))
}

var _ mail.Deduper = (*store.Outbox)(nil)

// needsAuth reports whether a function ("" = all) serves a route that
// authenticates or signs in: every function but health.
func needsAuth(function string) bool {
	for _, r := range routes.ForFunction(function) {
		if r.Function != routes.FunctionHealth {
			return true
		}
	}
	return false
}

// SecretReader is the one Secrets Manager call Steward makes.
type SecretReader interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// tokenKeys are the access-token keys a function holds: the private key
// set only when it signs tokens (routes.SignsTokens), the public keys and
// the cursor key always.
type tokenKeys struct {
	signing accesstoken.KeySet
	public  accesstoken.PublicKeys
}

// loadKeys returns the function's token keys. A function that signs reads
// the private key set (the local one when given, else the secret
// STEWARD_SIGNING_KEYS_SECRET); every other function reads only the public
// keys (derived from the local key set, else the secret
// STEWARD_VERIFY_KEYS_SECRET), so that a function that only verifies never
// holds a private key, locally (make invoke) as in AWS.
func loadKeys(ctx context.Context, cfg config.Config, function string, sec Secrets, client func() SecretReader) (tokenKeys, error) {
	signs := routes.SignsTokens(function)
	if sec.SigningKeys != nil {
		if signs {
			return tokenKeys{signing: *sec.SigningKeys, public: sec.SigningKeys.Public()}, nil
		}
		return tokenKeys{public: sec.SigningKeys.Public()}, nil
	}
	if signs {
		if cfg.SigningKeysSecret == "" {
			return tokenKeys{}, errors.New("STEWARD_SIGNING_KEYS_SECRET is not set")
		}
		var ks accesstoken.KeySet
		if err := readSecret(ctx, client(), cfg.SigningKeysSecret, &ks); err != nil {
			return tokenKeys{}, fmt.Errorf("signing keys: %w", err)
		}
		return tokenKeys{signing: ks, public: ks.Public()}, nil
	}
	if cfg.VerifyKeysSecret == "" {
		return tokenKeys{}, errors.New("STEWARD_VERIFY_KEYS_SECRET is not set")
	}
	var pk accesstoken.PublicKeys
	if err := readSecret(ctx, client(), cfg.VerifyKeysSecret, &pk); err != nil {
		return tokenKeys{}, fmt.Errorf("verify keys: %w", err)
	}
	return tokenKeys{public: pk}, nil
}

// readSecret decodes the JSON value of a secret into v.
func readSecret(ctx context.Context, sm SecretReader, id string, v any) error {
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return fmt.Errorf("read %s: %w", id, err)
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), v); err != nil {
		return fmt.Errorf("the secret %s holds no key set (run make keys): %w", id, err)
	}
	return nil
}

// Handler builds the HTTP handler of one function ("" for every route).
func Handler(ctx context.Context, cfg config.Config, log *slog.Logger, function string, sec Secrets) (http.Handler, error) {
	d, err := Deps(ctx, cfg, log, function, sec)
	if err != nil {
		return nil, err
	}
	return server.Handler(d, function)
}

// LambdaHandler adapts h to API Gateway HTTP API (payload 2.0) events.
// The API Gateway request id becomes the request id (unless the client
// sent one), so API Gateway's access logs and Steward's line up.
func LambdaHandler(h http.Handler) lambda.Handler {
	withID := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ev, ok := algnhsa.APIGatewayV2RequestFromContext(r.Context()); ok && r.Header.Get(httpapi.RequestIDHeader) == "" {
			r.Header.Set(httpapi.RequestIDHeader, ev.RequestContext.RequestID)
		}
		h.ServeHTTP(w, r)
	})
	return algnhsa.New(withID, &algnhsa.Options{RequestType: algnhsa.RequestTypeAPIGatewayV2})
}

// StartLambda is the whole main of an API function: configuration from the
// environment, dependencies built once, then the Lambda runtime loop. It
// exits with a logged error when the configuration is unusable.
func StartLambda(function string) {
	cfg, err := config.FromEnv()
	if err != nil {
		fail(err)
	}
	log := NewLogger(cfg.LogLevel).With("function", function)
	h, err := Handler(context.Background(), cfg, log, function, Secrets{})
	if err != nil {
		fail(err)
	}
	lambda.Start(LambdaHandler(h))
}

// randomCursorKey returns key, or a new random cursor key when key is
// empty: for the functions whose cursors never leave the process.
func randomCursorKey(key []byte) []byte {
	if len(key) != 0 {
		return key
	}
	key = make([]byte, store.CursorKeySize)
	_, _ = rand.Read(key) // crypto/rand.Read never fails (Go 1.24+)
	return key
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "steward: start:", err)
	os.Exit(1)
}

// workerDeps builds what the functions that are not behind the API (the
// workflow steps, the alert job) share: the AWS config, the store and the
// mail outbox over SES.
func workerDeps(ctx context.Context, cfg config.Config, log *slog.Logger) (aws.Config, *store.Store, *mail.Outbox, error) {
	awsCfg, err := awsclient.LoadConfig(ctx, cfg.Region, cfg.Endpoints)
	if err != nil {
		return aws.Config{}, nil, nil, err
	}
	// Workers page within one invocation only: a per-process key will do.
	st, err := store.New(awsclient.DynamoDB(awsCfg, cfg.Endpoints.DynamoDB), cfg.Table, randomCursorKey(cfg.CursorKey))
	if err != nil {
		return aws.Config{}, nil, nil, err
	}
	from, err := mail.ParseAddress(cfg.MailFrom)
	if err != nil {
		return aws.Config{}, nil, nil, fmt.Errorf("STEWARD_MAIL_FROM: %w", err)
	}
	sender, err := mail.NewSES(sesclient.New(awsCfg, cfg.Endpoints.SES), from, cfg.SESConfigurationSet)
	if err != nil {
		return aws.Config{}, nil, nil, err
	}
	if cfg.PublicURL == "" {
		return aws.Config{}, nil, nil, errors.New("STEWARD_PUBLIC_URL must be set")
	}
	return awsCfg, st, &mail.Outbox{Sender: sender, Deduper: st.Outbox(), Logger: log}, nil
}

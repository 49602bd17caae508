// Package app wires Steward from its configuration: AWS clients, the store,
// the logger and the HTTP handler of a function. Lambda mains, the local
// server and `make invoke` all build through it, once per cold start.
package app

import (
	"context"
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
	"github.com/stewardhq/steward/pkg/apikeys"
	"github.com/stewardhq/steward/pkg/auth"
	"github.com/stewardhq/steward/pkg/awsclient"
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
	st, err := store.New(db, cfg.Table, cfg.CursorKey)
	if err != nil {
		return server.Deps{}, err
	}
	d := server.Deps{Store: st, Logger: log, Version: version.Version}
	if !needsAuth(function) {
		return d, nil
	}
	keys, err := signingKeys(ctx, cfg, awsCfg, sec)
	if err != nil {
		return server.Deps{}, err
	}
	from, err := mail.ParseAddress(cfg.MailFrom)
	if err != nil {
		return server.Deps{}, fmt.Errorf("STEWARD_MAIL_FROM: %w", err)
	}
	sender, err := mail.NewSES(awsclient.SES(awsCfg, cfg.Endpoints.SES), from, cfg.SESConfigurationSet)
	if err != nil {
		return server.Deps{}, err
	}
	if cfg.Issuer == "" || cfg.PublicURL == "" {
		return server.Deps{}, errors.New("STEWARD_PUBLIC_URL (and STEWARD_ISSUER, which defaults to it) must be set")
	}
	d.Auth = &auth.Service{
		Store:     st,
		Issuer:    &accesstoken.Issuer{Keys: keys, Issuer: cfg.Issuer, Audience: cfg.Audience},
		Verifier:  accesstoken.NewVerifier(keys, cfg.Issuer, cfg.Audience),
		Mail:      &mail.Outbox{Sender: sender, Deduper: st.Outbox(), Logger: log},
		PublicURL: cfg.PublicURL,
	}
	d.Invites = &invites.Service{Store: st, Auth: d.Auth, Mail: d.Auth.Mail, PublicURL: cfg.PublicURL}
	d.APIKeys = &apikeys.Service{Store: st}
	d.Members = &members.Service{Store: st}
	d.Permissions = &permissions.Service{Store: st}
	return d, nil
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

// signingKeys returns the access-token key set: the local one when given,
// else the one in Secrets Manager.
func signingKeys(ctx context.Context, cfg config.Config, awsCfg aws.Config, sec Secrets) (accesstoken.KeySet, error) {
	if sec.SigningKeys != nil {
		return *sec.SigningKeys, nil
	}
	if cfg.SigningKeysSecret == "" {
		return accesstoken.KeySet{}, errors.New("STEWARD_SIGNING_KEYS_SECRET is not set")
	}
	out, err := secretsmanager.NewFromConfig(awsCfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(cfg.SigningKeysSecret)})
	if err != nil {
		return accesstoken.KeySet{}, fmt.Errorf("read signing keys: %w", err)
	}
	var ks accesstoken.KeySet
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &ks); err != nil {
		return accesstoken.KeySet{}, fmt.Errorf("signing keys secret holds no key set (run make keys): %w", err)
	}
	return ks, nil
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

func fail(err error) {
	fmt.Fprintln(os.Stderr, "steward: start:", err)
	os.Exit(1)
}

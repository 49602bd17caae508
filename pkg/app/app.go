// Package app wires Steward from its configuration: AWS clients, the store,
// the logger and the HTTP handler of a function. Lambda mains, the local
// server and `make invoke` all build through it, once per cold start.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/akrylysov/algnhsa"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/stewardhq/steward/pkg/awsclient"
	"github.com/stewardhq/steward/pkg/config"
	"github.com/stewardhq/steward/pkg/server"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/version"
)

// NewLogger returns the JSON logger every Steward process uses.
func NewLogger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// Deps builds the shared dependencies from cfg.
func Deps(ctx context.Context, cfg config.Config, log *slog.Logger) (server.Deps, error) {
	awsCfg, err := awsclient.LoadConfig(ctx, cfg.Region, cfg.Endpoints)
	if err != nil {
		return server.Deps{}, err
	}
	db := awsclient.DynamoDB(awsCfg, cfg.Endpoints.DynamoDB)
	st, err := store.New(db, cfg.Table, cfg.CursorKey)
	if err != nil {
		return server.Deps{}, err
	}
	return server.Deps{Store: st, Logger: log, Version: version.Version}, nil
}

// Handler builds the HTTP handler of one function ("" for every route).
func Handler(ctx context.Context, cfg config.Config, log *slog.Logger, function string) (http.Handler, error) {
	d, err := Deps(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	return server.Handler(d, function)
}

// LambdaHandler adapts h to API Gateway HTTP API (payload 2.0) events.
func LambdaHandler(h http.Handler) lambda.Handler {
	return algnhsa.New(h, &algnhsa.Options{RequestType: algnhsa.RequestTypeAPIGatewayV2})
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
	h, err := Handler(context.Background(), cfg, log, function)
	if err != nil {
		fail(err)
	}
	lambda.Start(LambdaHandler(h))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "steward: start:", err)
	os.Exit(1)
}

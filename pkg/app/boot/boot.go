// Package boot is what every Steward function builds once per cold start:
// its configuration, logger, AWS configuration, DynamoDB client and store,
// and the Lambda runtime loop around its handler. It links no service and
// no AWS client but DynamoDB: a function's main adds the pieces it uses
// (pkg/app/authboot for authenticated routes, pkg/app/mailboot for email,
// pkg/awsclient/sfnclient for Step Functions) and builds only its own
// services, so that it links only what it serves.
package boot

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/akrylysov/algnhsa"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stewardhq/steward/pkg/awsclient"
	"github.com/stewardhq/steward/pkg/config"
	"github.com/stewardhq/steward/pkg/httpapi"
	"github.com/stewardhq/steward/pkg/router"
	"github.com/stewardhq/steward/pkg/routes"
	"github.com/stewardhq/steward/pkg/store"
)

// Env is what a function builds first: its configuration, logger, the AWS
// configuration and the DynamoDB client.
type Env struct {
	// Function is the function's name ("" for the local server, which
	// serves every route).
	Function string
	Config   config.Config
	Logger   *slog.Logger
	AWS      aws.Config
	DynamoDB *dynamodb.Client
}

// New loads the AWS configuration and builds the DynamoDB client.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, function string) (*Env, error) {
	awsCfg, err := awsclient.LoadConfig(ctx, cfg.Region, cfg.Endpoints)
	if err != nil {
		return nil, err
	}
	return &Env{
		Function: function, Config: cfg, Logger: log, AWS: awsCfg,
		DynamoDB: awsclient.DynamoDB(awsCfg, cfg.Endpoints.DynamoDB),
	}, nil
}

// FromEnv is New from the process environment (config.FromEnv), with the
// logger naming the function; it exits with the error when either fails.
func FromEnv(function string) *Env {
	cfg, err := config.FromEnv()
	if err != nil {
		Fail(err)
	}
	e, err := New(context.Background(), cfg, NewLogger(cfg.LogLevel).With("function", function), function)
	if err != nil {
		Fail(err)
	}
	return e
}

// Store returns the store over the table with cursorKey, or with a new
// per-process key when cursorKey is empty: for the functions whose
// cursors never leave the process (health, the workers).
func (e *Env) Store(cursorKey []byte) (*store.Store, error) {
	if len(cursorKey) == 0 {
		cursorKey = make([]byte, store.CursorKeySize)
		_, _ = rand.Read(cursorKey) // crypto/rand.Read never fails (Go 1.24+)
	}
	return store.New(e.DynamoDB, e.Config.Table, cursorKey)
}

// Handler mounts the function's routes (every route for "") with ops.
func (e *Env) Handler(ops router.Operations, o router.Options) (http.Handler, error) {
	rs := routes.ForFunction(e.Function)
	if len(rs) == 0 {
		return nil, fmt.Errorf("no routes for function %q", e.Function)
	}
	if o.Logger == nil {
		o.Logger = e.Logger
	}
	return router.New(rs, ops, o)
}

// NewLogger returns the JSON logger every Steward process uses.
func NewLogger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
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

// StartAPI is the whole main of an API function: the environment, then
// wire (the function's own services and their operations), built once,
// then the Lambda runtime loop over the function's routes. It exits with
// a logged error when the configuration is unusable.
func StartAPI(function string, wire func(ctx context.Context, e *Env) (http.Handler, error)) {
	e := FromEnv(function)
	h, err := wire(context.Background(), e)
	if err != nil {
		Fail(err)
	}
	lambda.Start(LambdaHandler(h))
}

// Fail reports a start-up error and exits.
func Fail(err error) {
	fmt.Fprintln(os.Stderr, "steward: start:", err)
	os.Exit(1)
}

// Package app wires the whole of Steward in one process: every service,
// every route (or one function's routes, with every service built), the
// in-process approval workflow and the alert job. The local server
// (make run), make invoke, the load generator and the API tests build
// through it. A Lambda function does not: its main builds only its own
// services from pkg/app/boot, authboot and mailboot, so that it links
// only what it serves.
package app

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/stewardhq/steward/infra/localstack/server"
	"github.com/stewardhq/steward/pkg/access"
	"github.com/stewardhq/steward/pkg/accesstoken"
	"github.com/stewardhq/steward/pkg/alerts"
	"github.com/stewardhq/steward/pkg/apikeys"
	"github.com/stewardhq/steward/pkg/app/authboot"
	"github.com/stewardhq/steward/pkg/app/boot"
	"github.com/stewardhq/steward/pkg/app/mailboot"
	"github.com/stewardhq/steward/pkg/approvals"
	"github.com/stewardhq/steward/pkg/awsclient/sfnclient"
	"github.com/stewardhq/steward/pkg/config"
	"github.com/stewardhq/steward/pkg/events"
	"github.com/stewardhq/steward/pkg/invites"
	"github.com/stewardhq/steward/pkg/members"
	"github.com/stewardhq/steward/pkg/permissions"
	"github.com/stewardhq/steward/pkg/routes"
	"github.com/stewardhq/steward/pkg/store"
	"github.com/stewardhq/steward/pkg/version"
	"github.com/stewardhq/steward/pkg/webhooks"
	"github.com/stewardhq/steward/pkg/workflow"
)

// NewLogger returns the JSON logger every Steward process uses.
func NewLogger(level slog.Level) *slog.Logger { return boot.NewLogger(level) }

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

// Deps builds every service from cfg, for the routes of one function (""
// for all). Health alone needs no signing keys and no mail sender. Every
// service shares one store and one mail outbox.
func Deps(ctx context.Context, cfg config.Config, log *slog.Logger, function string, sec Secrets) (server.Deps, error) {
	e, err := boot.New(ctx, cfg, log, function)
	if err != nil {
		return server.Deps{}, err
	}
	if function == routes.FunctionHealth {
		// health lists nothing: a per-process cursor key will do.
		st, err := e.Store(nil)
		if err != nil {
			return server.Deps{}, err
		}
		return server.Deps{Store: st, Logger: log, Version: version.Version}, nil
	}
	b, err := authboot.New(ctx, e, sec.SigningKeys)
	if err != nil {
		return server.Deps{}, err
	}
	st := b.Store
	if b.Auth.Mail, err = mailboot.Outbox(e, st); err != nil {
		return server.Deps{}, err
	}
	d := server.Deps{Store: st, Auth: b.Auth, Logger: log, Version: version.Version}
	if b.Throttle != nil {
		d.Throttle = b.Throttle
	}
	d.Invites = &invites.Service{Store: st, Auth: d.Auth, Mail: d.Auth.Mail, PublicURL: cfg.PublicURL}
	d.APIKeys = &apikeys.Service{Store: st}
	// Offboarding with reassignTo emails the reassignee its approval and
	// access-request links (no workflow engine needed for that), and
	// cancels the leaver's own access requests (telling the workflow
	// where an engine runs: see below).
	d.Members = &members.Service{
		Store: st, Approvals: &approvals.Service{Store: st, Mail: d.Auth.Mail, PublicURL: cfg.PublicURL, Logger: log},
		Access: &access.Service{Store: st, Mail: d.Auth.Mail, PublicURL: cfg.PublicURL, Logger: log},
	}
	d.Permissions = &permissions.Service{Store: st}
	d.Events = &events.Feed{Store: st, Settle: cfg.EventsSettle}
	d.Webhooks = &webhooks.Service{Store: st, URLs: webhooks.PolicyFor(cfg.Stage)}
	if cfg.WebhookQueueURL != "" {
		d.Webhooks.Queue = webhooks.NewSQSQueue(e.AWS, cfg.WebhookQueueURL)
	}
	if function == "" || function == routes.FunctionAlerts {
		d.Alerts = &alerts.Service{Store: st, Mail: d.Auth.Mail, PublicURL: cfg.PublicURL, Logger: log}
	}
	if function == "" || function == routes.FunctionApprovals {
		d.Approvals = &approvals.Service{Store: st, Mail: d.Auth.Mail, PublicURL: cfg.PublicURL, Logger: log}
		d.Access = &access.Service{Store: st, Mail: d.Auth.Mail, PublicURL: cfg.PublicURL, Logger: log}
		if d.Approvals.Engine, err = engine(e, d.Approvals, d.Access, sec); err != nil {
			return server.Deps{}, err
		}
		d.Access.Engine = d.Approvals.Engine
		d.Members.Access = d.Access
	}
	return d, nil
}

// engine returns the approval workflow's engine: Step Functions when a
// state machine is configured, else (the local server and tests only) an
// in-process workflow.Runner over the same steps (Steps: document
// approvals and access requests), journaled under sec.WorkflowDir when
// set. Close the Runner (an io.Closer) when done.
func engine(e *boot.Env, svc *approvals.Service, acc *access.Service, sec Secrets) (workflow.Engine, error) {
	if arn := e.Config.StateMachineARN; arn != "" {
		return workflow.NewSFN(sfnclient.New(e.AWS, e.Config.Endpoints.StepFunctions), arn), nil
	}
	if e.Function != "" {
		return nil, errors.New("STEWARD_STATE_MACHINE_ARN must be set for the approvals function")
	}
	opts := workflow.RunnerOptions{Logger: e.Logger}
	if sec.WorkflowDir != "" {
		j, err := workflow.NewDirJournal(sec.WorkflowDir)
		if err != nil {
			return nil, err
		}
		opts.Journal = j
	}
	return workflow.NewRunner(Steps(svc, acc), opts)
}

// Steps are the workflow's steps of every kind of request: document
// approvals, and access requests by their id prefix. The step Lambda
// (functions/workflow) builds the same.
func Steps(ap *approvals.Service, acc *access.Service) workflow.Mux {
	return workflow.Mux{
		Default:  approvals.Steps{Service: ap},
		ByPrefix: map[string]workflow.Steps{store.AccessRequestIDPrefix: access.Steps{Service: acc}},
	}
}

// Handler builds the HTTP handler of one function ("" for every route)
// with every service.
func Handler(ctx context.Context, cfg config.Config, log *slog.Logger, function string, sec Secrets) (http.Handler, error) {
	d, err := Deps(ctx, cfg, log, function, sec)
	if err != nil {
		return nil, err
	}
	return server.Handler(d, function)
}

// LambdaHandler adapts h to API Gateway HTTP API (payload 2.0) events
// (boot.LambdaHandler).
func LambdaHandler(h http.Handler) lambda.Handler { return boot.LambdaHandler(h) }

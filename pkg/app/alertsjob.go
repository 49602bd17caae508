package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/stewardhq/steward/pkg/alerts"
	"github.com/stewardhq/steward/pkg/config"
	"github.com/stewardhq/steward/pkg/routes"
)

// AlertsJob builds the scheduled alert job's service: the store and the
// mail outbox over SES. It needs no signing keys.
func AlertsJob(ctx context.Context, cfg config.Config, log *slog.Logger) (*alerts.Service, error) {
	_, st, outbox, err := workerDeps(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	return &alerts.Service{Store: st, Mail: outbox, PublicURL: cfg.PublicURL, Logger: log}, nil
}

// JobEvent is what invokes the alert job: the EventBridge scheduled event
// (its fields are ignored) or {"force": true} to run every account now.
type JobEvent struct {
	Force bool `json:"force"`
}

// AlertsJobHandler is the job Lambda's handler: one run over the accounts
// due this hour (every account when the event says force).
func AlertsJobHandler(svc *alerts.Service) func(context.Context, json.RawMessage) (alerts.RunReport, error) {
	return func(ctx context.Context, raw json.RawMessage) (alerts.RunReport, error) {
		var ev JobEvent
		_ = json.Unmarshal(raw, &ev) // a scheduled event has no "force"
		return svc.Run(ctx, alerts.RunOptions{Force: ev.Force})
	}
}

// StartAlertsJobLambda is the whole main of the alert job's Lambda.
func StartAlertsJobLambda() {
	cfg, err := config.FromEnv()
	if err != nil {
		fail(err)
	}
	log := NewLogger(cfg.LogLevel).With("function", routes.FunctionAlertsJob)
	svc, err := AlertsJob(context.Background(), cfg, log)
	if err != nil {
		fail(err)
	}
	lambda.Start(AlertsJobHandler(svc))
}

// RunAlertsTicker runs the alert job every interval until ctx ends: the
// local stack's stand-in for the hourly EventBridge rule. Each run sends
// only for accounts at their alert hour, and the outbox keeps it to one
// digest per member per day, so checking every minute is safe.
func RunAlertsTicker(ctx context.Context, svc *alerts.Service, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := svc.Run(ctx, alerts.RunOptions{}); err != nil && ctx.Err() == nil {
			log.Error("alerts: scheduled run failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

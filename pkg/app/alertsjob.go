package app

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/stewardhq/steward/pkg/alerts"
	"github.com/stewardhq/steward/pkg/awsclient"
	"github.com/stewardhq/steward/pkg/config"
	"github.com/stewardhq/steward/pkg/mail"
	"github.com/stewardhq/steward/pkg/routes"
	"github.com/stewardhq/steward/pkg/store"
)

// AlertsJob builds the scheduled alert job's service: the store and the
// mail outbox over SES. It needs no signing keys.
func AlertsJob(ctx context.Context, cfg config.Config, log *slog.Logger) (*alerts.Service, error) {
	awsCfg, err := awsclient.LoadConfig(ctx, cfg.Region, cfg.Endpoints)
	if err != nil {
		return nil, err
	}
	cursorKey := cfg.CursorKey
	if len(cursorKey) == 0 {
		// The job pages within one invocation only.
		cursorKey = make([]byte, store.CursorKeySize)
		_, _ = rand.Read(cursorKey)
	}
	st, err := store.New(awsclient.DynamoDB(awsCfg, cfg.Endpoints.DynamoDB), cfg.Table, cursorKey)
	if err != nil {
		return nil, err
	}
	from, err := mail.ParseAddress(cfg.MailFrom)
	if err != nil {
		return nil, fmt.Errorf("STEWARD_MAIL_FROM: %w", err)
	}
	sender, err := mail.NewSES(awsclient.SES(awsCfg, cfg.Endpoints.SES), from, cfg.SESConfigurationSet)
	if err != nil {
		return nil, err
	}
	if cfg.PublicURL == "" {
		return nil, errors.New("STEWARD_PUBLIC_URL must be set")
	}
	return &alerts.Service{Store: st, Mail: &mail.Outbox{Sender: sender, Deduper: st.Outbox(), Logger: log}, PublicURL: cfg.PublicURL, Logger: log}, nil
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

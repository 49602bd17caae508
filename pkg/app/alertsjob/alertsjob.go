// Package alertsjob wires the scheduled alert job (pkg/alerts' Run): the
// store and the SES outbox, no signing keys and no API. The job's Lambda
// (functions/alertsjob) and the local stack's ticker build it here.
package alertsjob

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/stewardhq/steward/pkg/alerts"
	"github.com/stewardhq/steward/pkg/app/boot"
	"github.com/stewardhq/steward/pkg/app/mailboot"
)

// New builds the job's service. The job pages within one invocation
// only: a per-process cursor key will do.
func New(e *boot.Env) (*alerts.Service, error) {
	st, err := e.Store(nil)
	if err != nil {
		return nil, err
	}
	outbox, err := mailboot.Outbox(e, st)
	if err != nil {
		return nil, err
	}
	return &alerts.Service{Store: st, Mail: outbox, PublicURL: e.Config.PublicURL, Logger: e.Logger}, nil
}

// Event is what invokes the alert job: the EventBridge scheduled event
// (its fields are ignored) or {"force": true} to run every account now.
type Event struct {
	Force bool `json:"force"`
}

// Handler is the job Lambda's handler: one run over the accounts due this
// hour (every account when the event says force).
func Handler(svc *alerts.Service) func(context.Context, json.RawMessage) (alerts.RunReport, error) {
	return func(ctx context.Context, raw json.RawMessage) (alerts.RunReport, error) {
		var ev Event
		_ = json.Unmarshal(raw, &ev) // a scheduled event has no "force"
		return svc.Run(ctx, alerts.RunOptions{Force: ev.Force})
	}
}

// RunTicker runs the alert job every interval until ctx ends: the local
// stack's stand-in for the hourly EventBridge rule. Each run sends only
// for accounts at their alert hour, and the outbox keeps it to one digest
// per member per day, so checking every minute is safe.
func RunTicker(ctx context.Context, svc *alerts.Service, every time.Duration, log *slog.Logger) {
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

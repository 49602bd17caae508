package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/stewardhq/steward/pkg/alerts"
	"github.com/stewardhq/steward/pkg/app/alertsjob"
	"github.com/stewardhq/steward/pkg/app/boot"
	"github.com/stewardhq/steward/pkg/config"
	"github.com/stewardhq/steward/pkg/routes"
)

// AlertsJob builds the scheduled alert job's service (pkg/app/alertsjob):
// the store and the mail outbox over SES. It needs no signing keys.
func AlertsJob(ctx context.Context, cfg config.Config, log *slog.Logger) (*alerts.Service, error) {
	e, err := boot.New(ctx, cfg, log, routes.FunctionAlertsJob)
	if err != nil {
		return nil, err
	}
	return alertsjob.New(e)
}

// JobEvent is what invokes the alert job (alertsjob.Event).
type JobEvent = alertsjob.Event

// AlertsJobHandler is the job Lambda's handler (alertsjob.Handler)
// without a work queue: a run sends the due accounts' digests itself.
func AlertsJobHandler(svc *alerts.Service) func(context.Context, json.RawMessage) (any, error) {
	return alertsjob.Handler(svc, nil)
}

// RunAlertsTicker runs the alert job every interval until ctx ends
// (alertsjob.RunTicker).
func RunAlertsTicker(ctx context.Context, svc *alerts.Service, every time.Duration, log *slog.Logger) {
	alertsjob.RunTicker(ctx, svc, every, log)
}

// Command invoke runs one function's handler on a sample API Gateway event,
// against the running local stack (`make run`), and prints the Lambda
// response: `make invoke FN=health EVENT=events/health.json`. A job's name
// (alerts, alertsjob) runs the job once instead, now, for every account
// whatever its configured hour (`make invoke FN=alerts`); its once-a-day
// rule still holds, so a second run that day sends nothing new.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/stewardhq/steward/infra/localstack"
	"github.com/stewardhq/steward/infra/localstack/app"
	"github.com/stewardhq/steward/pkg/routes"
)

func main() {
	fn := flag.String("fn", "", "function name: one of the route table's functions")
	event := flag.String("event", "", "path of the event JSON (default events/<fn>.json)")
	flag.Parse()
	if err := run(*fn, *event); err != nil {
		fmt.Fprintln(os.Stderr, "invoke:", err)
		os.Exit(1)
	}
}

// jobs are the function names that run a scheduled job, not an HTTP
// event.
var jobs = map[string]bool{routes.FunctionAlerts: true, routes.FunctionAlertsJob: true}

func run(fn, eventPath string) error {
	if jobs[fn] {
		return runJob()
	}
	if len(routes.ForFunction(fn)) == 0 || fn == "" {
		return fmt.Errorf("unknown function %q; functions: %v", fn, routes.Functions())
	}
	if eventPath == "" {
		eventPath = "events/" + fn + ".json"
	}
	payload, err := os.ReadFile(eventPath)
	if err != nil {
		return fmt.Errorf("read event: %w", err)
	}
	stack, err := localstack.LoadProject()
	if err != nil {
		return err
	}
	cfg := stack.Config
	ctx := context.Background()
	h, err := app.Handler(ctx, cfg, app.NewLogger(cfg.LogLevel), fn, app.Secrets{SigningKeys: &stack.Secrets.SigningKeys})
	if err != nil {
		return err
	}
	out, err := app.LambdaHandler(h).Invoke(ctx, payload)
	if err != nil {
		return fmt.Errorf("handler: %w", err)
	}
	var pretty any
	if json.Unmarshal(out, &pretty) == nil {
		out, _ = json.MarshalIndent(pretty, "", "  ")
	}
	fmt.Println(string(out))
	return nil
}

// runJob runs the alert job once, forced, against the local stack.
func runJob() error {
	stack, err := localstack.LoadProject()
	if err != nil {
		return err
	}
	cfg := stack.Config
	ctx := context.Background()
	svc, err := app.AlertsJob(ctx, cfg, app.NewLogger(cfg.LogLevel))
	if err != nil {
		return err
	}
	rep, err := app.AlertsJobHandler(svc)(ctx, json.RawMessage(`{"force":true}`))
	out, _ := json.MarshalIndent(rep, "", "  ")
	fmt.Println(string(out))
	return err
}

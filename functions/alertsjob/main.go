// Command alertsjob is the scheduled alert job's Lambda: an hourly
// EventBridge rule invokes it, and it emails the day's digests of every
// account whose local time is at its alert hour (pkg/alerts).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/stewardhq/steward/pkg/app/alertsjob"
	"github.com/stewardhq/steward/pkg/app/boot"
	"github.com/stewardhq/steward/pkg/routes"
)

func main() {
	svc, err := alertsjob.New(boot.FromEnv(routes.FunctionAlertsJob))
	if err != nil {
		boot.Fail(err)
	}
	lambda.Start(alertsjob.Handler(svc))
}

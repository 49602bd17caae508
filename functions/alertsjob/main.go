// Command alertsjob is the alert job's Lambda (pkg/alerts,
// pkg/app/alertsjob): an hourly EventBridge rule invokes it to enqueue one
// task per account whose local time is at its alert hour, and the work
// queue invokes it with those tasks to email each account's digests.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/stewardhq/steward/pkg/app/alertsjob"
	"github.com/stewardhq/steward/pkg/app/boot"
	"github.com/stewardhq/steward/pkg/routes"
)

func main() {
	e := boot.FromEnv(routes.FunctionAlertsJob)
	svc, err := alertsjob.New(e)
	if err != nil {
		boot.Fail(err)
	}
	lambda.Start(alertsjob.Handler(svc, alertsjob.Queue(e)))
}

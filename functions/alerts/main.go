// Command alerts is the Lambda function serving the alerts routes of the
// route table (pkg/routes): stock-level pushes, the alert preview and the
// public unsubscribe page.
package main

import (
	"github.com/stewardhq/steward/pkg/app"
	"github.com/stewardhq/steward/pkg/routes"
)

func main() { app.StartLambda(routes.FunctionAlerts) }

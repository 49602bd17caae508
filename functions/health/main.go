// Command health is the Lambda function serving GET /v1/health.
package main

import (
	"github.com/stewardhq/steward/pkg/app"
	"github.com/stewardhq/steward/pkg/routes"
)

func main() { app.StartLambda(routes.FunctionHealth) }

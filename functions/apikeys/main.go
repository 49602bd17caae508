// Command apikeys is the Lambda function serving the API key routes of the
// route table (pkg/routes).
package main

import (
	"github.com/stewardhq/steward/pkg/app"
	"github.com/stewardhq/steward/pkg/routes"
)

func main() { app.StartLambda(routes.FunctionAPIKeys) }

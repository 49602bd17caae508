// Command permissions is the Lambda function serving the permissions routes of the route
// table (pkg/routes).
package main

import (
	"github.com/stewardhq/steward/pkg/app"
	"github.com/stewardhq/steward/pkg/routes"
)

func main() { app.StartLambda(routes.FunctionPermissions) }

// Command account is the Lambda function serving the account routes of the
// route table (pkg/routes): the account and its settings, stores,
// departments and the audit log.
package main

import (
	"github.com/stewardhq/steward/pkg/app"
	"github.com/stewardhq/steward/pkg/routes"
)

func main() { app.StartLambda(routes.FunctionAccount) }

// Command approvals is the Lambda function serving the approvals routes of
// the route table (pkg/routes): documents, approval policies, approval
// requests and the public approval pages.
package main

import (
	"github.com/stewardhq/steward/pkg/app"
	"github.com/stewardhq/steward/pkg/routes"
)

func main() { app.StartLambda(routes.FunctionApprovals) }

// Command approvals is the Lambda function serving the approvals routes of
// the route table (pkg/routes): documents, approval policies, approval
// requests and the public approval pages, and access requests (pkg/access)
// with their decision page, and the admin portal's approvals and access
// pages (pkg/portal).
package main

import (
	"errors"

	"github.com/stewardhq/steward/pkg/access"
	"github.com/stewardhq/steward/pkg/app/authboot"
	"github.com/stewardhq/steward/pkg/approvals"
	"github.com/stewardhq/steward/pkg/awsclient/sfnclient"
	"github.com/stewardhq/steward/pkg/members"
	"github.com/stewardhq/steward/pkg/portal"
	"github.com/stewardhq/steward/pkg/router"
	"github.com/stewardhq/steward/pkg/routes"
	"github.com/stewardhq/steward/pkg/workflow"
)

func main() {
	authboot.StartAPI(routes.FunctionApprovals, func(b *authboot.Base) ([]router.Operations, error) {
		// The routes start, answer and stop workflows; the emails are the
		// workflow steps' (functions/workflow).
		arn := b.Config.StateMachineARN
		if arn == "" {
			return nil, errors.New("STEWARD_STATE_MACHINE_ARN must be set for the approvals function")
		}
		engine := workflow.NewSFN(sfnclient.New(b.AWS, b.Config.Endpoints.StepFunctions), arn)
		svc := &approvals.Service{Store: b.Store, PublicURL: b.Config.PublicURL, Logger: b.Logger, Engine: engine}
		acc := &access.Service{Store: b.Store, PublicURL: b.Config.PublicURL, Logger: b.Logger, Engine: engine}
		// The portal's approvals and access pages (pkg/portal) call the
		// same services.
		pt := &portal.Service{Store: b.Store, Auth: b.Auth, Members: &members.Service{Store: b.Store}, Approvals: svc, Access: acc, PublicURL: b.Config.PublicURL}
		return []router.Operations{svc.Operations(), acc.Operations(), pt.Operations()}, nil
	})
}

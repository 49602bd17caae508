// Command apikeys is the Lambda function serving the API key routes of the
// route table (pkg/routes).
package main

import (
	"github.com/stewardhq/steward/pkg/apikeys"
	"github.com/stewardhq/steward/pkg/app/authboot"
	"github.com/stewardhq/steward/pkg/router"
	"github.com/stewardhq/steward/pkg/routes"
)

func main() {
	authboot.StartAPI(routes.FunctionAPIKeys, func(b *authboot.Base) ([]router.Operations, error) {
		return []router.Operations{(&apikeys.Service{Store: b.Store}).Operations()}, nil
	})
}

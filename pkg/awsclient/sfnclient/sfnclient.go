// Package sfnclient builds the Step Functions client, apart from
// pkg/awsclient so that only the functions that start or answer approval
// workflows link the Step Functions SDK.
package sfnclient

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
)

// New returns a Step Functions client; endpoint may be empty (the AWS
// default).
func New(cfg aws.Config, endpoint string) *sfn.Client {
	return sfn.NewFromConfig(cfg, func(o *sfn.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}

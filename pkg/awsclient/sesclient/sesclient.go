// Package sesclient builds the SES v2 client, apart from pkg/awsclient so
// that only the functions that send email link the SES SDK.
package sesclient

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
)

// New returns an SES v2 client; endpoint may be empty (the AWS default).
func New(cfg aws.Config, endpoint string) *sesv2.Client {
	return sesv2.NewFromConfig(cfg, func(o *sesv2.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}

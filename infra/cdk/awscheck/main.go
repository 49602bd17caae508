// Command awscheck is the guard of make deploy, diff and destroy: it asks
// STS who the current AWS credentials are and prints the account, region
// and identity the CDK CLI is about to use, or a clear error (exit status 1)
// when there are no usable credentials or no region. It reads the standard
// chain (AWS_PROFILE, AWS_ACCESS_KEY_ID..., SSO, instance roles).
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fail("cannot load the AWS configuration: %v", err)
	}
	if cfg.Region == "" {
		fail("no AWS region: set AWS_REGION (or a region in your AWS profile)")
	}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		fail("no usable AWS credentials (%v).\nSet AWS_PROFILE (and run aws sso login), or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY[/AWS_SESSION_TOKEN], then retry", err)
	}
	fmt.Printf("AWS account %s, region %s, as %s\n", aws.ToString(out.Account), cfg.Region, aws.ToString(out.Arn))
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "awscheck: "+format+"\n", args...)
	os.Exit(1)
}
